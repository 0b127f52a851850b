"""Build wheels and fresh virtual environments with uv, for the packaging tests.

uv comes from the ``tools`` dependency group. Without it the tests that need it skip, and under
``CI=true`` they fail (see ``tests/_servers.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests._servers import unavailable

REPO = Path(__file__).resolve().parents[2]

# Never copied into the build's source tree: a stale build/ would put deleted files in the wheel.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".ci",
    ".venv",
    "build",
    "dist",
    "site",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "results",
)


def uv() -> str:
    """The uv executable: beside this interpreter, from the ``uv`` package, or on PATH."""
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file():
        return str(beside)
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found is None:
        unavailable("uv is not installed; pip install -e '.[all]' --group dev (its tools group)")
    return found


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> str:
    """Run a command; its combined output, or a failure that shows it."""
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def clean_env() -> dict[str, str]:
    """This environment without what would put the checkout or another venv on ``sys.path``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PARALLEL_NODES_METRICS"] = "1"
    return env


def build_wheel(out: Path) -> Path:
    """Build the checkout's wheel from a copy of its sources (so no build/ is left in it)."""
    source = out / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE, symlinks=True)
    run(uv(), "build", "--wheel", "--quiet", "--out-dir", out, source)
    (wheel,) = out.glob("*.whl")
    return wheel


def make_venv(path: Path, *requirements: str | Path) -> Path:
    """A fresh venv at ``path`` on this interpreter, with ``requirements``; its python."""
    run(uv(), "venv", "--quiet", "--python", sys.executable, path)
    python = path / "bin" / "python"
    run(uv(), "pip", "install", "--quiet", "--python", python, *requirements)
    return python
