"""The runnable examples in the component modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "parallel_nodes.modes._text",
    "parallel_nodes.modes._corpus",
    "parallel_nodes.modes._offline_model",
    "parallel_nodes.modes._tool_ranking",
    "parallel_nodes.modes._scoring",
    "parallel_nodes.modes._citations",
    "parallel_nodes.modes._cost",
    "parallel_nodes.modes._memory",
    "parallel_nodes.modes._markup",
    "parallel_nodes.modes._corpus_files",
    "parallel_nodes.modes._index",
    "parallel_nodes.modes._index_cache",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
