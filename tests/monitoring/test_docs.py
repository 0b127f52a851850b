"""docs/monitoring.md: its Python examples run, and its tables name every metric."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parallel_nodes.monitoring import METRIC_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_examples_run(index: int, no_default_observers: None) -> None:
    exec(compile(_python_blocks()[index], f"{DOC}:block{index}", "exec"), {})


def test_seed_mapping_table_covers_the_six_metrics() -> None:
    text = DOC.read_text(encoding="utf-8")
    mapping = text.split("### From the seed's metrics", 1)[1].split("##", 1)[0]
    rows = [line for line in mapping.splitlines() if line.startswith("| `")]
    pairs = {tuple(re.findall(r"`([a-z_]+)`", row)[:2]) for row in rows}
    assert ("parallel_execution_duration_ms", "parallel_execution_duration_seconds") in pairs
    assert ("parallel_task_duration_ms", "parallel_task_duration_seconds") in pairs
    assert {new for _, new in pairs} == set(METRIC_NAMES)
    assert len(pairs) == 6
