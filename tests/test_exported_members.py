"""Each package's ``__all__`` lists exactly its public names, once each."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


@pytest.mark.parametrize(
    "package", ["parallel_nodes", "parallel_nodes.modes", "parallel_nodes.monitoring"]
)
def test_all_is_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    for name in exported:  # the packages import lazily: resolve every name first
        getattr(module, name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType) and name != "annotations"
    }
    assert set(exported) == public
    assert len(set(exported)) == len(exported)


def test_core_surface_matches_the_issue() -> None:
    from parallel_nodes import (  # noqa: F401
        ParallelBaseWorkflow,
        Task,
        TaskStatus,
        Tier,
        parallel_node,
        run_tier,
    )
