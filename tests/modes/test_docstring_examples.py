"""The runnable examples in the component modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "modes._text",
    "modes._corpus",
    "modes._offline_model",
    "modes._tool_ranking",
    "modes._scoring",
    "modes._citations",
    "modes._cost",
    "modes._memory",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
