"""Each package's ``__all__`` lists exactly its public names, once each."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


@pytest.mark.parametrize(
    "package",
    [
        "parallel_nodes",
        "parallel_nodes.errors",
        "parallel_nodes.diagnostics",
        "parallel_nodes.modes",
        "parallel_nodes.monitoring",
    ],
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


def test_the_breaker_types_in_public_signatures_are_exported() -> None:
    import parallel_nodes
    from parallel_nodes import BreakerSnapshot, BreakerStore, InMemoryBreakerStore

    assert {"BreakerSnapshot", "BreakerStore"} <= set(parallel_nodes.__all__)
    assert isinstance(InMemoryBreakerStore(), BreakerStore)
    assert BreakerSnapshot().consecutive_failures == 0


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("TaskTimeoutError", "import it from parallel_nodes.errors"),
        ("straggler_count", "import it from parallel_nodes.diagnostics"),
        ("set_default_observers", "import it from parallel_nodes.diagnostics"),
        ("TIER1_TASKS", "read ParallelBaseWorkflow.TIER1_TASKS"),
        ("HedgeState", "it is internal run state"),
        ("StrategyKind", "it is internal"),
    ],
)
def test_a_name_that_left_the_top_level_says_where_it_went(name: str, hint: str) -> None:
    import parallel_nodes

    assert name not in parallel_nodes.__all__
    with pytest.raises(AttributeError, match=hint):
        getattr(parallel_nodes, name)


def test_the_moved_names_are_where_the_error_says() -> None:
    from parallel_nodes import ParallelBaseWorkflow
    from parallel_nodes.diagnostics import get_default_observers, set_default_observers
    from parallel_nodes.errors import ParallelNodesError, TaskTimeoutError

    assert issubclass(TaskTimeoutError, ParallelNodesError)
    saved = get_default_observers()
    set_default_observers(())
    try:
        assert get_default_observers() == ()
    finally:
        set_default_observers(saved)
    assert ParallelBaseWorkflow.TIER1_TASKS == (
        "rag_retrieval",
        "tool_suggestion",
        "memory_retrieval",
    )
