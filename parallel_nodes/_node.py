"""``parallel_node``: a tier as a LangGraph node."""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from types import UnionType
from typing import (
    Annotated,
    Any,
    Literal,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from langchain_core.runnables.config import var_child_runnable_config
from langgraph._internal._runnable import RunnableCallable
from langgraph.runtime import Runtime
from langgraph.types import Command

from ._deprecated import adapt_observers, metadata_with_mode
from ._engine import Engine
from ._errors import ConfigError
from ._metadata import freeze_metadata
from ._observe import TierObserver
from ._results import TierResult
from ._run import run_tier
from ._sync import run_sync
from ._tier import Tier

__all__ = [
    "ParallelNode",
    "ParallelState",
    "both_apis",
    "merge_tier_records",
    "parallel_node",
    "state_update",
]

META_KEY = "parallel"


def _merge_record(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """Two runs of one tier in one step (``Send`` instances, nodes sharing a tier name)."""
    degraded = list(left.get("degraded", ()))
    degraded += [d for d in right.get("degraded", ()) if d not in degraded]
    tasks = dict(left.get("tasks", {}))
    for name, entry in right.get("tasks", {}).items():
        # A degraded instance's entry wins, so the record never hides a fallback.
        if name not in tasks or entry.get("status") != "ok":
            tasks[name] = entry
    return {
        **left,
        "wall_time": max(left.get("wall_time", 0.0), right.get("wall_time", 0.0)),
        "speedup": max(left.get("speedup", 0.0), right.get("speedup", 0.0)),
        "deadline_exceeded": bool(left.get("deadline_exceeded") or right.get("deadline_exceeded")),
        "winner": left.get("winner") or right.get("winner"),
        "degraded": degraded,
        "tasks": tasks,
        "instances": left.get("instances", 1) + right.get("instances", 1),
    }


def merge_tier_records(
    left: Mapping[str, Any] | None, right: Mapping[str, Any] | None
) -> dict[str, Any]:
    """State reducer: each tier's record replaces only its own entry.

    Records of one tier written in the same step (by ``Send`` instances of a node, or by two
    nodes that share a tier name) merge instead: ``degraded`` is their union, a task's entry is
    a degraded instance's when any degraded, and ``instances`` counts them. A record from a
    later step replaces the entry.
    """
    merged = dict(left or {})
    for name, record in (right or {}).items():
        earlier = merged.get(name)
        if (
            isinstance(earlier, Mapping)
            and isinstance(record, Mapping)
            and record.get("step") is not None
            and earlier.get("step") == record.get("step")
        ):
            merged[name] = _merge_record(earlier, record)
        else:
            merged[name] = record
    return merged


def _as_command(value: Any) -> list[Command[Any]]:
    """A node's return value as ``Command``s, so several tasks' updates apply one by one."""
    if value is None:
        return []
    if isinstance(value, Command):
        return [value]
    if isinstance(value, list | tuple):
        return [c for v in value for c in _as_command(v)]
    return [Command(update=value)]


def state_update(
    result: TierResult, meta_key: str | None = META_KEY, tier: Tier | None = None
) -> Any:
    """A tier result as a graph state update: each value under its key, plus the tier's record.

    A task that degraded with no default writes nothing (its key keeps its value, and a
    reducer never sees ``None``). A ``returns="update"`` task's own update is applied as the
    node's: the result is then a list of ``Command``s, which LangGraph applies in order.
    """
    tasks = {t.name: t for t in tier.tasks} if tier is not None else {}
    update: dict[str, Any] = {}
    commands: list[Command[Any]] = []
    own: list[Any] = []  # the update tasks' values, as they returned them
    for r in result.tasks.values():
        task = tasks.get(r.name)
        if task is not None and task.returns == "update":
            if r.ok:
                own.append(r.value)
                commands.extend(_as_command(r.value))
        elif r.ok or task is None or task.has_default:
            update[r.output_key or r.name] = r.value
    if len(own) == 1 and not update and meta_key is None:
        # One node's update and nothing else: returned as the node returned it, so a state
        # that is not a dict (a root channel's value) and the streams see the same thing.
        return own[0]
    if meta_key is not None:
        record = result.to_record()
        config = var_child_runnable_config.get()
        if config is not None:
            record["step"] = config.get("metadata", {}).get("langgraph_step")
        update[meta_key] = {result.tier: record}
    if not commands:
        return update
    return [Command(update=update), *commands]


def _subgraph_of(tier: Tier) -> Any:
    """The first compiled graph a task calls, found the way LangGraph finds a node's.

    LangGraph's own look-up (``langgraph.pregel._utils``, private: see guarantees.md) reads
    the function's bytecode; langchain-core's reads its source, and finds other graphs.
    """
    from langgraph.pregel import Pregel
    from langgraph.pregel._utils import get_function_nonlocals
    from langgraph.pregel.protocol import PregelProtocol

    def usable(c: Any) -> bool:
        return isinstance(c, PregelProtocol) and (
            not isinstance(c, Pregel) or c.checkpointer is not False
        )

    for task in tier.tasks:
        for fn in (task.fn, *task.replicas):
            candidates = [getattr(fn, "__self__", fn)]
            if not usable(candidates[0]):
                try:
                    candidates = [getattr(n, "__self__", n) for n in get_function_nonlocals(fn)]
                except Exception:  # a callable object without code: nothing to find
                    candidates = []
            for c in candidates:
                if usable(c):
                    return c
    return None


class ParallelNode(RunnableCallable):
    """What ``parallel_node`` returns: a LangGraph node with a sync and an async entry point.

    ``graph.invoke``/``graph.stream`` call the sync one, ``ainvoke``/``astream`` the async
    one; both run the same tier. Calling it directly, ``await node(state, runtime=...)``,
    runs the async one.
    """

    def __call__(self, state: Any, *, runtime: Runtime[Any] | None = None) -> Awaitable[Any]:
        afunc = self.afunc
        assert afunc is not None
        result: Awaitable[Any] = afunc(state, runtime=runtime)
        return result


class ParallelState(TypedDict, total=False):
    """Mix into your graph's state to keep every tier's record (statuses, timings, degraded).

    ``state["parallel"]["retrieval"]["degraded"]`` lists the tasks that fell back to defaults.
    """

    parallel: Annotated[dict[str, Any], merge_tier_records]


def parallel_node(
    tier: Tier,
    *,
    metadata: Mapping[str, str] | None = None,
    meta_key: str | None = META_KEY,
    observers: Iterable[TierObserver] | None = None,
    engine: Engine | None = None,
    mode: str | None = None,
) -> ParallelNode:
    """Make a LangGraph node that runs ``tier`` and writes each task's value to state.

    Args:
        tier: The tier to run.
        metadata: Labels for the observers of every run of this node (see ``run_tier``),
            e.g. ``{"mode": "research"}`` for the metrics' ``mode`` label.
        meta_key: The state key for the tier's record (see ``ParallelState``); ``None`` writes
            no record.
        observers: Observers for this node instead of the engine's; ``()`` for none.
        engine: What runs the tier (see ``run_tier``); ``None``: the default engine.
        mode: Deprecated: pass ``metadata={"mode": ...}``.

    Returns:
        A node for ``StateGraph.add_node``, for the sync API (``graph.invoke``) and the async
        one alike; ``await node(state, runtime=...)`` runs it directly. With
        ``Tier(..., stream_events=True)`` it streams ``task_started`` / ``task_finished``
        events to LangGraph's ``custom`` stream mode. A compiled graph that
        a task calls is a subgraph of this node for LangGraph (its checkpoints,
        ``get_state(subgraphs=True)``, its interrupts).

    Example:
        >>> from langgraph.graph import StateGraph, START, END
        >>> from parallel_nodes import Task, Tier
        >>> tier = Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)
        >>> builder = StateGraph(dict)  # doctest: +SKIP
        >>> node = parallel_node(tier, metadata={"mode": "research"})
        >>> builder.add_node("fanout", node)  # doctest: +SKIP
    """
    if not isinstance(tier, Tier):
        raise TypeError(f"tier: expected a Tier, got {type(tier).__name__}; build one with Tier()")
    if meta_key is not None and (not isinstance(meta_key, str) or not meta_key):
        raise ConfigError("meta_key", "must be a non-empty state key, or None for no record")
    # Checked here, once per graph, not on each run.
    frozen = freeze_metadata(metadata) if mode is None else metadata_with_mode(mode, metadata)
    observer_tuple = None if observers is None else adapt_observers(observers)
    name = tier.name

    async def node(state: Any, *, runtime: Runtime[Any] | None = None) -> Any:
        result = await run_tier(
            tier, state, runtime, engine=engine, metadata=frozen, observers=observer_tuple
        )
        return state_update(result, meta_key, tier)

    subgraph = _subgraph_of(tier)

    def node_sync(state: Any, *, runtime: Runtime[Any] | None = None) -> Any:
        # Naming `subgraph` here lets LangGraph find the compiled graph a task calls (it reads
        # a node function's nonlocals), so its checkpoints, state and interrupts stay visible
        # as from a plain node that calls it.
        if subgraph is not None:
            pass
        return run_sync(lambda: node(state, runtime=runtime))

    node.__name__ = f"parallel_{name}"
    node.__qualname__ = node.__name__
    built = ParallelNode(node_sync, node, name=node.__name__, trace=False, recurse=False)
    _annotate(built, tier)
    return built


def _hints(fn: Any) -> dict[str, Any]:
    try:
        return get_type_hints(fn)
    except Exception:  # unresolvable names: LangGraph infers nothing from them either
        return {}


def _annotate(node: ParallelNode, tier: Tier) -> None:
    """Give ``node`` what LangGraph reads from a plain node's function at ``add_node``.

    LangGraph takes a node's input schema from its first parameter's annotation, and its
    ``Command[Literal[...]]`` destinations from its return annotation (for ``get_graph()``).
    The ``returns="update"`` tasks are the node's functions: their destinations are the node's,
    and their input schema is when they agree on one. LangGraph reads ``node.__call__``.
    """
    schemas: set[Any] = set()
    ends: list[Any] = []
    for task in tier.tasks:
        if task.returns != "update":
            schemas.add(None)  # a value task takes the graph's whole state
            continue
        hints = _hints(task.fn)
        try:
            first = next(iter(inspect.signature(task.fn).parameters))
        except (StopIteration, TypeError, ValueError):
            first = ""
        schema = hints.get(first)
        schemas.add(schema if isinstance(schema, type) and _hints(schema) else None)
        ret = hints.get("return")
        options = get_args(ret) if get_origin(ret) in (Union, UnionType) else (ret,)
        for option in options:
            args = get_args(option) if get_origin(option) is Command else ()
            if args and get_origin(args[0]) is Literal:
                ends.extend(e for e in get_args(args[0]) if e not in ends)
    annotations: dict[str, Any] = {}
    if len(schemas) == 1 and (schema := schemas.pop()) is not None:
        annotations["state"] = schema
    if ends:
        annotations["return"] = Command[Literal[tuple(ends)]]  # type: ignore[misc]
    if not annotations:
        return

    def __call__(self: ParallelNode, state: Any, *, runtime: Any = None) -> Any:
        return ParallelNode.__call__(self, state, runtime=runtime)

    __call__.__annotations__ = annotations
    node.__dict__["__call__"] = types.MethodType(__call__, node)


def both_apis(afn: Callable[..., Coroutine[Any, Any, Any]], name: str) -> ParallelNode:
    """An async node method ``afn(state, runtime)`` as a node for ``invoke`` and ``ainvoke``."""

    async def node(state: Any, *, runtime: Runtime[Any] | None = None) -> Any:
        return await afn(state, runtime)

    def node_sync(state: Any, *, runtime: Runtime[Any] | None = None) -> Any:
        return run_sync(lambda: afn(state, runtime))

    return ParallelNode(node_sync, node, name=name, trace=False, recurse=False)
