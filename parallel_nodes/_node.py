"""``parallel_node``: a tier as a LangGraph node."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Annotated, Any, Protocol, TypedDict

from langgraph.runtime import Runtime

from ._errors import ConfigError
from ._observe import TierObserver
from ._results import TierResult
from ._run import run_tier
from ._tier import Tier

__all__ = [
    "ParallelNode",
    "ParallelState",
    "merge_tier_records",
    "parallel_node",
    "state_update",
]

META_KEY = "parallel"


def merge_tier_records(
    left: Mapping[str, Any] | None, right: Mapping[str, Any] | None
) -> dict[str, Any]:
    """State reducer: each tier's record replaces only its own entry."""
    return {**(left or {}), **(right or {})}


def state_update(result: TierResult, meta_key: str | None = META_KEY) -> dict[str, Any]:
    """A tier result as a graph state update: each value under its key, plus the tier's record."""
    update = result.values
    if meta_key is not None:
        update[meta_key] = {result.tier: result.to_record()}
    return update


class ParallelNode(Protocol):
    """What ``parallel_node`` returns: an async node taking the state and LangGraph's runtime."""

    def __call__(self, state: Any, *, runtime: Runtime[Any]) -> Awaitable[dict[str, Any]]: ...


class ParallelState(TypedDict, total=False):
    """Mix into your graph's state to keep every tier's record (statuses, timings, degraded).

    ``state["parallel"]["retrieval"]["degraded"]`` lists the tasks that fell back to defaults.
    """

    parallel: Annotated[dict[str, Any], merge_tier_records]


def parallel_node(
    tier: Tier,
    *,
    mode: str = "default",
    meta_key: str | None = META_KEY,
    observers: tuple[TierObserver, ...] | None = None,
) -> ParallelNode:
    """Make an async LangGraph node that runs ``tier`` and writes each task's value to state.

    Args:
        tier: The tier to run.
        mode: The metrics label for this graph (declared in code).
        meta_key: The state key for the tier's record (see ``ParallelState``); ``None`` writes
            no record.
        observers: Observers for this node; ``None`` means the process-wide defaults.

    Returns:
        A node for ``StateGraph.add_node``. It streams ``task_started`` / ``task_finished``
        events to LangGraph's ``custom`` stream mode.

    Example:
        >>> from langgraph.graph import StateGraph, START, END
        >>> from parallel_nodes import Task, Tier
        >>> tier = Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)
        >>> builder = StateGraph(dict)  # doctest: +SKIP
        >>> builder.add_node("fanout", parallel_node(tier))  # doctest: +SKIP
    """
    if not isinstance(tier, Tier):
        raise TypeError(f"tier: expected a Tier, got {type(tier).__name__}; build one with Tier()")
    if meta_key is not None and (not isinstance(meta_key, str) or not meta_key):
        raise ConfigError("meta_key", "must be a non-empty state key, or None for no record")
    observer_tuple = None if observers is None else tuple(observers)
    name = tier.name

    async def node(state: Any, *, runtime: Runtime[Any]) -> dict[str, Any]:
        result = await run_tier(tier, state, runtime, mode=mode, observers=observer_tuple)
        return state_update(result, meta_key)

    node.__name__ = f"parallel_{name}"
    node.__qualname__ = node.__name__
    return node
