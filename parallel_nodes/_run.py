"""``run_tier``: run a tier's tasks at once and return within its deadline.

The run itself is a ``TierRun`` (``_scheduler``); this module checks the arguments, picks the
engine, and finds the node's runtime and config.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

from ._deprecated import adapt_observers, metadata_with_mode
from ._durable import open_memo
from ._engine import CURRENT_ENGINE, Engine, default_engine
from ._inject import CONF, EMPTY, RUNTIME_KEY
from ._metadata import freeze_metadata
from ._observe import TierObserver, notify_task, notify_tier
from ._outcome import task_result
from ._results import TaskStatus, TierResult
from ._scheduler import TierRun
from ._tier import Tier

__all__ = ["run_tier"]


async def run_tier(
    tier: Tier,
    state: Any,
    runtime: Any = None,
    *,
    engine: Engine | None = None,
    metadata: Mapping[str, str] | None = None,
    observers: Iterable[TierObserver] | None = None,
    mode: str | None = None,
) -> TierResult:
    """Run a tier's tasks at once and return within its deadline, whatever the tasks do.

    Args:
        tier: The tier to run.
        state: What the node received: the graph state (a dict, a Pydantic model, a
            dataclass, a list...) or a ``Send`` payload of any type; each task receives it.
        runtime: LangGraph's ``Runtime``, passed to tasks that take it; inside a graph node it
            defaults to the node's own. The node's ``config`` is read from the context, as
            ``langgraph.config.get_config()`` does. When the tier has
            ``stream_events=True`` and the runtime a ``stream_writer``, a ``task_started`` and a
            ``task_finished`` event per task go to LangGraph's ``custom`` stream.
        engine: What runs it: observers, worker pool, stragglers, each task's run state. By
            default the engine of the run this one is nested in, else ``default_engine()``.
            A ``durable`` tier also needs the runtime's store and execution info.
        metadata: Labels for the observers, ``str`` to ``str``, passed to them unread and
            read-only (and set on the tier's spans). The Prometheus observer takes its
            ``mode`` label from ``metadata["mode"]``: keep such values declared in code,
            never user text.
        observers: Observers for this run instead of the engine's; ``()`` for none.
        mode: Deprecated: pass ``metadata={"mode": ...}``.

    Returns:
        Every task's result; failed, timed-out and disabled tasks carry their defaults.

    Raises:
        TypeError: If ``tier`` is not a ``Tier``.
        ConfigError: ``metadata`` is not a mapping of ``str`` to ``str``, or a ``durable``
            tier runs without a store or checkpointer.
        GraphBubbleUp: A task's ``interrupt()`` or ``Command(graph=Command.PARENT)``, re-raised
            untouched (the tier's other tasks are cancelled), as from a plain node.
        KeyboardInterrupt, SystemExit: Re-raised from a task; they are never swallowed.

    Example:
        >>> import asyncio
        >>> tier = Tier("t", [Task("a", lambda s: s["x"] + 1, timeout=1.0)], timeout=1.0)
        >>> asyncio.run(run_tier(tier, {"x": 1}, observers=())).values
        {'a': 2}
        >>> asyncio.run(run_tier(tier, {"x": 1}, metadata={"mode": "chat"}, observers=())).metadata
        {'mode': 'chat'}
    """
    if not isinstance(tier, Tier):
        raise TypeError(f"tier: expected a Tier, got {type(tier).__name__}; build one with Tier()")
    metadata = freeze_metadata(metadata) if mode is None else metadata_with_mode(mode, metadata)
    inherited = CURRENT_ENGINE.get() or default_engine()
    if engine is None:
        engine = inherited
    obs = engine.observers if observers is None else adapt_observers(observers)
    if not tier.enabled:
        return _skip_all(tier, metadata, obs)
    config = var_child_runnable_config.get()
    if runtime is None and config is not None:
        runtime = config.get(CONF, EMPTY).get(RUNTIME_KEY)
    memo = open_memo(tier.name, runtime) if tier.durable else None
    run = TierRun(
        tier, state, runtime, metadata, obs, asyncio.get_running_loop(), engine, memo, config
    )
    if engine is inherited:  # a run nested in its tasks finds this engine already
        return await run.execute()
    token = CURRENT_ENGINE.set(engine)
    try:
        return await run.execute()
    finally:
        CURRENT_ENGINE.reset(token)


def _skip_all(
    tier: Tier, metadata: Mapping[str, str], observers: tuple[TierObserver, ...]
) -> TierResult:
    results = {t.name: task_result(t, TaskStatus.SKIPPED) for t in tier.tasks}
    if observers:
        for r in results.values():
            notify_task(observers, tier.name, r, metadata)
    result = TierResult(tier=tier.name, tasks=results, wall_time=0.0, metadata=metadata)
    if observers:
        notify_tier(observers, result)
    return result
