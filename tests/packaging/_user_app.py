"""A user's app folder: its own ``monitoring.py`` and ``modes/`` beside a script that runs a tier.

Each of the user's modules writes a marker file when it is imported, so a test can tell that the
engine never imported it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.packaging._venv import clean_env

MARKERS = ("monitoring.imported", "modes.imported")

_MARK = """\
from pathlib import Path

Path(__file__).resolve().parents[{up}].joinpath({name!r}).write_text("imported")
"""

_APP = '''\
"""Runs one tier; then imports the modules named on the command line; prints what it saw."""

import asyncio
import importlib
import json
import sys

from prometheus_client import REGISTRY

from parallel_nodes import Task, Tier, run_tier

tier = Tier("retrieval", [Task("rag", lambda state: ["doc"], timeout=1.0)], timeout=2.0)
result = asyncio.run(run_tier(tier, {}))
for name in sys.argv[1:]:
    importlib.import_module(name)
count = REGISTRY.get_sample_value(
    "parallel_task_duration_seconds_count", {"task_name": "rag", "mode": "default"}
)
print(json.dumps({
    "value": result.tasks["rag"].value,
    "count": count,
    "bare": sorted(name for name in ("modes", "monitoring") if name in sys.modules),
    "path0": sys.path[0],
}))
'''


def write_user_app(folder: Path) -> Path:
    """Write the app into ``folder``; the path of its script."""
    (folder / "monitoring.py").write_text(_MARK.format(up=0, name=MARKERS[0]), encoding="utf-8")
    (folder / "modes").mkdir()
    (folder / "modes" / "__init__.py").write_text(
        _MARK.format(up=1, name=MARKERS[1]), encoding="utf-8"
    )
    script = folder / "app.py"
    script.write_text(_APP, encoding="utf-8")
    return script


def run_user_app(python: Path | str, folder: Path, *imports: str) -> dict[str, Any]:
    """Run the app with ``python`` from ``folder`` (so the checkout is not on ``sys.path``)."""
    script = write_user_app(folder)
    done = subprocess.run(
        [str(python), str(script), *imports],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    found["markers"] = sorted(m for m in MARKERS if (folder / m).exists())
    return found
