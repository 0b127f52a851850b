"""Each package's ``__all__`` lists exactly its public names, sorted."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["parallel_nodes", "modes", "monitoring"])
def test_all_is_complete_and_sorted(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    public = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", package).startswith(package)
        and not isinstance(value, type(module))
    )
    assert sorted(exported, key=str.casefold) == sorted(public, key=str.casefold)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(module, name), name


def test_core_surface_matches_the_issue() -> None:
    from parallel_nodes import (  # noqa: F401
        ParallelBaseWorkflow,
        Task,
        TaskStatus,
        Tier,
        parallel_node,
        run_tier,
    )
