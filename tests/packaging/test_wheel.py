"""What the built wheel holds: one top-level package, the data files, no development tools."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_the_wheel_installs_only_parallel_nodes_at_top_level(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    (dist_info,) = top - {"parallel_nodes"}
    assert dist_info.startswith("langgraph_parallel_nodes-")
    assert dist_info.endswith(".dist-info")
    assert "parallel_nodes/modes/__init__.py" in names
    assert "parallel_nodes/monitoring/__init__.py" in names


def test_the_wheel_ships_the_corpus_and_dashboard_json_but_not_the_generator(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("parallel_nodes/modes/sample_corpus/") for n in names)
    assert "parallel_nodes/monitoring/dashboard.json" in names
    assert "parallel_nodes/monitoring/alerts.yml" in names
    assert {"parallel_nodes/py.typed", "parallel_nodes/modes/py.typed"} <= set(names)
    assert not [n for n in names if n.endswith("dashboard.py") or "grafana" in n.lower()]
    assert not [n for n in names if n.startswith(("parallel_nodes/tests", "benchmarks"))]


def test_the_wheel_declares_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        (entry_points,) = [n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = whl.read(entry_points).decode()
    assert "parallel-nodes = parallel_nodes._entry:main" in text
