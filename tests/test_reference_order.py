"""The API reference lists every public name once, in the order a user needs them."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"
PAGES = {
    "parallel_nodes.md": "parallel_nodes",
    "errors.md": "parallel_nodes.errors",
    "executors.md": "parallel_nodes.executors",
    "breakers.md": "parallel_nodes.breakers",
    "diagnostics.md": "parallel_nodes.diagnostics",
    "modes.md": "parallel_nodes.modes",
    "monitoring.md": "parallel_nodes.monitoring",
}


def _members(page: str) -> list[str]:
    text = (REFERENCE / page).read_text(encoding="utf-8")
    assert "group_by_category: false" in text, "grouping would put the constants first"
    block = text.split("members:\n", 1)[1]
    return re.findall(r"^        - (\w+)$", block, flags=re.MULTILINE)


@pytest.mark.parametrize(("page", "module"), PAGES.items())
def test_the_reference_lists_every_public_name_once(page: str, module: str) -> None:
    members = _members(page)
    assert len(members) == len(set(members))
    assert set(members) == set(importlib.import_module(module).__all__)


def test_the_core_reference_opens_with_what_a_user_needs_first() -> None:
    assert _members("parallel_nodes.md")[:6] == [
        "Task",
        "Tier",
        "run_tier",
        "parallel_node",
        "ParallelBaseWorkflow",
        "ParallelConfig",
    ]
    assert _members("modes.md")[0] == "Mode2AutomaticWorkflow"
