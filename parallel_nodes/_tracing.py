"""Tasks in tracers: a LangChain child run per task, and OpenTelemetry spans (``_otel``).

The engine's whole hook is four calls, each at one place::

    trace = start_tier(tier.name, metadata, config, timeout=...)  # None: nothing listens
    t = trace.task(task, state, deadline_left=...)  # at launch; pass t.config to the task
    coro = t.wrap(coro)                              # before create_task
    t.end(result, atask)                             # where the task's result is recorded
    trace.end(tier_result); await trace.flush()    # where the tier ends (None: cancelled)

A child run is started through the node's callback manager (``config["callbacks"]``), named after
the task, as a ``retriever``, ``tool`` or ``chain`` run, and the task receives a config whose
callbacks are that run's children: a chat model or retriever the task calls nests under it (by
the ``config`` parameter, or by LangChain's context variable for a call made without one).

Why the run is started inside the task's coroutine but created at launch: the run id and the
child config must exist before the task's coroutine is built, while the callback events are
coroutines. The task waits for its start event, so no handler sees a child before its parent.
Its end is recorded by the scheduler, which alone knows whether a task timed out, was abandoned
or fell back, even for a task that swallows its cancellation and never returns.

Cost when nothing listens: ``start_tier`` reads the config's callbacks and the OTel provider, and
returns ``None``; the scheduler then does nothing more per task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Final
from uuid import uuid4

from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import (
    get_async_callback_manager_for_config,
    patch_config,
    var_child_runnable_config,
)

from ._callbacks import MANAGERS, RunManager, fire_end, fire_start
from ._errors import TaskTimeoutError
from ._otel import OPERATIONS, SPAN_KINDS, otel_tracer, start_straggler, trace_ids
from ._results import TaskResult, TaskStatus, TierResult

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "RUN_TYPES",
    "TaskTrace",
    "TierTrace",
    "fallback_note",
    "log_extra",
    "run_type_of",
    "start_tier",
    "tier_outcome",
]

_log = logging.getLogger("parallel_nodes")
_environ = os.environ
_OFF: Final = frozenset(("0", "false", "no", "off"))

RUN_TYPES: Final = ("chain", "retriever", "tool")
"""The LangChain run types a task run can have."""


def run_type_of(task: Any) -> str:
    """The run type a task is traced as: its own ``run_type`` if it has one, else from its name.

    Names ending in ``retrieval``, ``retriever`` or ``search`` are retrievers, names holding
    ``tool`` are tools (the RAG template's ``rag_retrieval`` and ``tool_suggestion``), the rest
    chains.

    Example:
        >>> from types import SimpleNamespace
        >>> [run_type_of(SimpleNamespace(name=n)) for n in ("rag_retrieval", "tool_x", "score")]
        ['retriever', 'tool', 'chain']
    """
    declared = getattr(task, "run_type", None)
    if declared in RUN_TYPES:
        return str(declared)
    name = str(task.name).lower()
    if name.endswith(("retrieval", "retriever", "search")):
        return "retriever"
    if "tool" in name:
        return "tool"
    return "chain"


def _listening(config: Mapping[str, Any] | None) -> bool:
    if not config:
        return False
    callbacks = config.get("callbacks")
    if not callbacks:
        return False
    return not isinstance(callbacks, BaseCallbackManager) or bool(callbacks.handlers)


def start_tier(
    tier: str,
    metadata: Mapping[str, str],
    config: RunnableConfig | None = None,
    *,
    timeout: float = 0.0,
) -> TierTrace | None:
    """Begin tracing a tier run, or ``None`` when no callback handler and no OTel provider listen.

    Args:
        tier: The tier's name.
        metadata: The run's metadata, set on the tier's and each task's span as
            ``parallel_nodes.metadata.<key>`` (``parallel_nodes_metadata_<key>`` on runs).
        config: The node's config; ``None`` reads LangChain's current one (set inside a node).
        timeout: The tier's deadline in seconds, for the span's attributes.

    Must be called inside the coroutine that runs the tier: the tier span becomes the current
    OTel span there until :meth:`TierTrace.end`. ``PARALLEL_NODES_TRACING=0`` switches both off.
    """
    if config is None:
        config = var_child_runnable_config.get()
    listening = config is not None and _listening(config)
    tracer = otel_tracer()
    # The switch is read only when something listens: a run nobody traces pays no lookup.
    if not listening and tracer is None:
        return None
    if _environ.get("PARALLEL_NODES_TRACING", "1").strip().lower() in _OFF:
        return None
    manager = None
    if listening and config is not None:
        manager = get_async_callback_manager_for_config(config)
    return TierTrace(tier, metadata, config, manager, tracer, timeout)


def fallback_note(result: TaskResult) -> str:
    """What a degraded task's run says: why it ended, and that it fell back to its default."""
    error = result.error
    if isinstance(error, TaskTimeoutError):
        if error.deadline == "tier":
            why = f"abandoned at the tier deadline after {error.elapsed:.3f}s"
        else:
            why = f"timed out after {error.timeout:.3f}s ({error.deadline} budget)"
    elif result.status is TaskStatus.CANCELLED:
        why = "cancelled: the tier finished without it"
    else:
        why = f"ended as {result.status.value}"
    return (
        f"parallel_nodes: task {result.name!r} {why}; fell back to its default "
        f"(attempts: {result.attempts})"
    )


_TIER_ERRORS: Final = {
    "deadline": "the tier deadline cut the run off",
    "cancelled_by_caller": "the caller cancelled the tier run",
}


def tier_outcome(result: TierResult | None) -> str:
    """``ok``, ``degraded``, ``deadline``, or ``cancelled_by_caller`` (no result)."""
    if result is None:
        return "cancelled_by_caller"
    if result.deadline_exceeded:
        return "deadline"
    if any(r.degraded for r in result.tasks.values()):
        return "degraded"
    return "ok"


class _Cancelled(Exception):
    """Stands for a task the tier cancelled (a strategy's loser): it raised nothing itself."""


class TierTrace:
    """One tier run's tracing: the node's callback manager and the tier's OTel span."""

    __slots__ = (
        "_token",
        "config",
        "manager",
        "pending",
        "run_metadata",
        "span",
        "span_metadata",
        "tasks",
        "tier",
        "tracer",
    )

    def __init__(
        self,
        tier: str,
        metadata: Mapping[str, str],
        config: RunnableConfig | None,
        manager: AsyncCallbackManager | None,
        tracer: Tracer | None,
        timeout: float,
    ) -> None:
        self.tier = tier
        # Prefixed once per tier, not per task: the metadata's keys are the caller's, and a
        # prefix keeps them from clashing with the attributes and run metadata set here.
        self.span_metadata = {f"parallel_nodes.metadata.{k}": v for k, v in metadata.items()}
        self.run_metadata = {f"parallel_nodes_metadata_{k}": v for k, v in metadata.items()}
        self.config = config
        self.manager = manager
        self.tracer = tracer
        self.pending: set[asyncio.Task[None]] = set()
        self.tasks: list[TaskTrace] = []
        self.span: Span | None = None
        self._token: object = None
        if tracer is not None:
            from opentelemetry import context, trace

            self.span = tracer.start_span(
                f"parallel_tier {tier}",
                attributes={
                    "gen_ai.operation.name": "parallel_tier",
                    "openinference.span.kind": "CHAIN",
                    "parallel_nodes.tier": tier,
                    "parallel_nodes.timeout_s": timeout,
                    **self.span_metadata,
                },
            )
            self._token = context.attach(trace.set_span_in_context(self.span))

    def task(
        self,
        task: Any,
        state: Any,
        *,
        deadline_left: float,
        config: RunnableConfig | None = None,
    ) -> TaskTrace:
        """Start tracing a task at its launch: a run and a span, children of the tier's."""
        traced = TaskTrace(self, task, state, deadline_left, config)
        self.tasks.append(traced)
        return traced

    def end(self, result: TierResult | None, *, outcome: str | None = None) -> None:
        """End the tier span with its outcome; ``None`` when it ends without a result.

        Without a result (the caller cancelled the run, or a task raised an interrupt), every
        task run still open ends with an error naming the outcome.
        """
        outcome = outcome or tier_outcome(result)
        if result is None:
            for traced in self.tasks:
                traced.end_without_result(outcome)
        span = self.span
        if span is None:
            return
        from opentelemetry import context
        from opentelemetry.trace import StatusCode

        span.set_attribute("parallel_nodes.outcome", outcome)
        if result is not None:
            degraded = [r.name for r in result.tasks.values() if r.degraded]
            span.set_attribute("parallel_nodes.degraded", degraded)
            span.set_attribute("parallel_nodes.wall_time_s", result.wall_time)
            if result.winner is not None:
                span.set_attribute("parallel_nodes.winner", result.winner)
        if outcome in ("deadline", "cancelled_by_caller"):
            span.set_attribute("error.type", outcome)
            span.set_status(StatusCode.ERROR, _TIER_ERRORS[outcome])
        with contextlib.suppress(Exception):  # ended in another context (caller cancelled)
            context.detach(self._token)  # type: ignore[arg-type]
        span.end()

    async def flush(self) -> None:
        """Wait for the task runs' end events, so they reach handlers before the node's end."""
        while self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)


class TaskTrace:
    """One task's run and span; :attr:`config` is what the task must receive."""

    __slots__ = ("_start", "config", "ended", "manager", "name", "run_type", "span", "tier")

    def __init__(
        self,
        tier: TierTrace,
        task: Any,
        state: Any,
        deadline_left: float,
        config: RunnableConfig | None = None,
    ) -> None:
        self.tier = tier
        self.name: str = task.name
        self.run_type = run_type = run_type_of(task)
        self.ended = False
        base = tier.config if config is None else config
        self.config: RunnableConfig | None = base
        self.manager: RunManager | None = None
        self._start: asyncio.Task[None] | None = None
        self.span: Span | None = None
        hedged = getattr(task, "hedge", None) is not None
        if tier.manager is not None:
            # A config of the task's own (the engine's, with its own callbacks) is honoured.
            parent = tier.manager
            if base is not tier.config and base is not None and _listening(base):
                parent = get_async_callback_manager_for_config(base)
            run_id = uuid4()
            self.manager = MANAGERS[run_type](
                run_id=run_id,
                handlers=parent.handlers,
                inheritable_handlers=parent.inheritable_handlers,
                parent_run_id=parent.parent_run_id,
                tags=parent.tags,
                inheritable_tags=parent.inheritable_tags,
                metadata=parent.metadata,
                inheritable_metadata=parent.inheritable_metadata,
            )
            self.config = patch_config(base, callbacks=self.manager.get_child())
            metadata = {
                "parallel_nodes_tier": tier.tier,
                "parallel_nodes_task": self.name,
                "parallel_nodes_hedged": hedged,
                "parallel_nodes_deadline_left_s": round(deadline_left, 6),
                **tier.run_metadata,
            }
            self._start = asyncio.get_running_loop().create_task(
                fire_start(parent, run_type, run_id, self.name, state, metadata)
            )
        if tier.tracer is not None:
            from opentelemetry import trace

            assert tier.span is not None
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": OPERATIONS[run_type],
                "openinference.span.kind": SPAN_KINDS[run_type],
                "parallel_nodes.tier": tier.tier,
                "parallel_nodes.task": self.name,
                "parallel_nodes.hedged": hedged,
                "parallel_nodes.deadline_left_s": deadline_left,
                **tier.span_metadata,
            }
            if run_type == "tool":
                attributes["gen_ai.tool.name"] = self.name
            self.span = tier.tracer.start_span(
                f"{OPERATIONS[run_type]} {self.name}",
                context=trace.set_span_in_context(tier.span),
                attributes=attributes,
            )

    def wrap(self, coro: Coroutine[Any, Any, Any]) -> Coroutine[Any, Any, Any]:
        """The task's coroutine, run after its start event and inside its run and span."""
        return self._run(coro)

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        start = self._start
        if start is not None:
            try:
                await asyncio.shield(start)
            except BaseException:
                coro.close()  # abandoned before it began: it must not warn "never awaited"
                raise
            var_child_runnable_config.set(self.config)
        if self.span is not None:
            from opentelemetry import context, trace

            # This asyncio task's own context (and the sync worker's copy of it): no detach.
            context.attach(trace.set_span_in_context(self.span))
        return await coro

    def end(self, result: TaskResult, atask: asyncio.Future[Any] | None = None) -> None:
        """Record how the task ended; ``atask`` is its asyncio task if it was abandoned running."""
        if self.ended:
            return
        self.ended = True
        error: BaseException | None = None
        if not result.ok:
            error = result.error if result.error is not None else _Cancelled(result.status.value)
            note = fallback_note(result)
            if note not in getattr(error, "__notes__", ()):
                error.add_note(note)
        if self.span is not None:
            self._end_span(result, error, atask)
        if self.manager is not None:
            end = asyncio.get_running_loop().create_task(self._fire_end(result, error))
            pending = self.tier.pending
            pending.add(end)
            end.add_done_callback(pending.discard)

    def end_without_result(self, outcome: str) -> None:
        """End a run the tier dropped without recording it (caller cancelled, interrupt)."""
        if self.ended:
            return
        self.ended = True
        error = _Cancelled(f"parallel_nodes: task {self.name!r} stopped: {outcome}")
        if self.span is not None:
            from opentelemetry.trace import StatusCode

            self.span.set_attribute("error.type", outcome)
            self.span.set_status(StatusCode.ERROR, str(error))
            self.span.end()
        if self.manager is not None:
            result = TaskResult(self.name, TaskStatus.CANCELLED, None, 0.0, 0, error)
            end = asyncio.get_running_loop().create_task(self._fire_end(result, error))
            pending = self.tier.pending
            pending.add(end)
            end.add_done_callback(pending.discard)

    def _end_span(
        self, result: TaskResult, error: BaseException | None, atask: asyncio.Future[Any] | None
    ) -> None:
        from opentelemetry.trace import StatusCode

        span = self.span
        assert span is not None
        span.set_attribute("parallel_nodes.status", result.status.value)
        span.set_attribute("parallel_nodes.attempts", result.attempts)
        if error is not None:
            failure = result.status.value
            if result.status is TaskStatus.ERROR:
                failure = type(error).__qualname__
            span.set_attribute("error.type", failure)
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, fallback_note(result))
        span.end()
        tier = self.tier
        if atask is not None and not atask.done() and tier.tracer and tier.span:
            start_straggler(
                tier.tracer,
                tier.span,
                self.name,
                {"parallel_nodes.tier": tier.tier, "parallel_nodes.task": self.name},
                atask,
            )

    async def _fire_end(self, result: TaskResult, error: BaseException | None) -> None:
        if self._start is not None:
            await self._start
        try:
            await fire_end(self.manager, result, error)
        except Exception:  # tracing must never fail a tier
            _log.exception("could not end the trace run of task %r", self.name)


def log_extra(tier: str, task: str | None = None) -> dict[str, Any]:
    """``extra=`` fields for a log record: the tier, the task and, when a span is current, its ids.

    Example:
        >>> log_extra("retrieval", "rag")["task"]
        'rag'
    """
    extra: dict[str, Any] = {"tier": tier, "task": task}
    ids = trace_ids()
    if ids is not None:
        extra["trace_id"], extra["span_id"] = ids
    return extra
