"""A user's ``monitoring`` and ``modes`` are never imported; ours never leak under those names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.packaging._user_app import run_user_app
from tests.packaging._venv import clean_env

_IMPORT_EVERYTHING = """\
import importlib, json, pkgutil, sys
import parallel_nodes, parallel_nodes.modes, parallel_nodes.monitoring
names = [m.name for m in pkgutil.walk_packages(parallel_nodes.__path__, "parallel_nodes.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "imported": names,
    "bare": sorted(n for n in ("modes", "monitoring") if n in sys.modules),
}))
"""


def test_a_users_monitoring_and_modes_beside_the_script_are_never_imported(
    tmp_path: Path,
) -> None:
    found = run_user_app(
        sys.executable, tmp_path, "parallel_nodes.modes", "parallel_nodes.monitoring"
    )
    assert found["path0"] == str(tmp_path)
    assert found["value"] == ["doc"]
    assert found["markers"] == []
    assert found["count"] == 1.0, "our default metrics did not record the tier"
    assert found["bare"] == []


def test_importing_every_module_leaves_no_bare_modes_or_monitoring(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=True,
    )
    found = json.loads(done.stdout)
    assert {"parallel_nodes.modes._server", "parallel_nodes.monitoring._metrics"} <= set(
        found["imported"]
    )
    assert found["bare"] == []
