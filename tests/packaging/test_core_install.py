"""``pip install langgraph-parallel-nodes`` with no extras, in a fresh venv: tiers run, the command
names its extra; and the graphs in ``langgraph.json`` run with just what it lists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.packaging._user_app import run_user_app
from tests.packaging._venv import REPO, clean_env, make_venv

pytestmark = pytest.mark.slow

# What the extras bring; a core install has none of it.
_EXTRAS_ONLY = (
    *("typer", "rich", "bm25s", "langgraph.checkpoint.sqlite", "platformdirs"),
    *("langgraph.checkpoint.postgres", "psycopg", "redis", "starlette", "uvicorn"),
)

_GRAPHS = """\
import asyncio
from parallel_nodes.modes import _graphs
graphs = [_graphs.research(), _graphs.interactive(), _graphs.chat(), _graphs.chat_manual()]
out = asyncio.run(graphs[0].ainvoke({"question": "What does a circuit breaker do?"}))
assert out["answer"], out
"""


@pytest.fixture(scope="module")
def core_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("core") / "venv", wheel)


def test_the_core_install_has_nothing_an_extra_brings(core_python: Path) -> None:
    check = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    done = subprocess.run(
        [core_python, "-c", check, *_EXTRAS_ONLY], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_core_install_runs_a_tier_with_our_metrics(core_python: Path, tmp_path: Path) -> None:
    found = run_user_app(core_python, tmp_path, "parallel_nodes.monitoring")
    assert found["value"] == ["doc"]
    assert found["markers"] == []
    assert found["count"] == 1.0
    assert found["bare"] == []


def test_the_command_without_the_cli_extra_prints_one_line_and_exits_2(
    core_python: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [core_python.with_name("parallel-nodes"), "ask", "q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'langgraph-parallel-nodes[cli]'" in done.stderr


def test_langgraph_json_lists_what_the_four_graphs_import(wheel: Path, tmp_path: Path) -> None:
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    local = [dep for dep in config["dependencies"] if dep.startswith(".")]
    assert local == ["."]
    from_pypi = [dep for dep in config["dependencies"] if not dep.startswith(".")]
    python = make_venv(tmp_path / "venv", wheel, *from_pypi)
    done = subprocess.run(
        [python, "-c", _GRAPHS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
