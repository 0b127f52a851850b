"""``run_tier``: the scheduler that runs a tier's tasks and holds its deadline.

One asyncio task per task, and timers instead of waiting: every task has a timer at its own
timeout, the tier has one at its deadline, and when a timer fires the task is cancelled and
*abandoned* — never awaited. That is what keeps the deadline for tasks that swallow
``CancelledError`` or block in a thread. Abandoned tasks are held in ``_STRAGGLERS`` until they
end, so none is garbage-collected while pending.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import pickle
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.errors import GraphBubbleUp
from langgraph.pregel._messages import StreamMessagesHandler  # private: see guarantees.md
from langgraph.runtime import Runtime

from ._call import invoke, raise_later, status_of, with_values
from ._durable import LOAD_SHARE, TaskMemo, open_memo
from ._errors import (
    ConfigError,
    TaskTimeoutError,
    UnserializableOutputError,
)
from ._executors import EXECUTORS, note_halt
from ._observe import (
    TierObserver,
    get_default_observers,
    notify_cancelled,
    notify_task,
    notify_tier,
)
from ._results import TaskResult, TaskStatus, TierResult
from ._strategy import StrategyKind
from ._task import Task
from ._threads import pool_saturated
from ._tier import Tier
from ._tracing import TaskTrace, TierTrace, log_extra, start_tier

__all__ = ["abandoned_total", "run_tier", "starved_total", "straggler_count"]

_log = logging.getLogger("parallel_nodes")

_STRAGGLERS: set[asyncio.Task[Any]] = set()
_abandoned = 0
_starved = 0

ENCLOSING_DEADLINE: Final[contextvars.ContextVar[float | None]] = contextvars.ContextVar(
    "parallel_nodes_enclosing_deadline", default=None
)
"""The loop time by which the task this code runs in must end (its timeout or its tier's
deadline, whichever is first). A tier run inside a task ends a little before it, so what
finished is returned before the outer timer throws it all away."""
_TIMEOUTS: Final = ("task", "tier", "idle")
"""The budgets whose end abandons a task as timed out (not as a strategy's loser)."""
_LAG_WARNING: Final = 0.05
"""A timer this late (seconds) means something held the event loop: it is reported."""
_OWN_SHARE: Final = 0.05
_BUSY_SHARE: Final = 0.2
"""A sync task's wall time over the process's CPU time tells the machine's load only when the
task ran at least ``_OWN_SHARE`` of that CPU time, and the process was on the CPU for at least
``_BUSY_SHARE`` of the task's wall time."""
_NESTED_MARGIN: Final = 0.05
_NESTED_SHARE: Final = 0.2
"""A nested tier ends this much earlier than the enclosing deadline (seconds, at most this
share of the time left): the loop turns it needs to return, on a loaded machine too."""
_EMPTY: Final[dict[str, Any]] = {}
_CONF: Final = "configurable"
_RUNTIME_KEY: Final = "__pregel_runtime"
_CHECKPOINTER_KEY: Final = "__pregel_checkpointer"
_READ_KEY: Final = "__pregel_read"
"""Where LangGraph keeps a node's ``Runtime``, saver and state reader in its config (private
there, so named here)."""
_REFUSALS: Final = (TypeError, OverflowError, pickle.PicklingError, RecursionError)
"""What a serializer raises for a value it cannot encode (msgpack, JSON and pickle alike)."""


def _channels_of(config: Any) -> Mapping[str, Any] | None:
    """The graph's channels, from the state reader LangGraph puts in a node's config.

    The reader is ``partial(local_read, scratchpad, channels, ...)``, private to LangGraph
    (see guarantees.md); ``None`` when it is not there or not of that shape.
    """
    read = config.get(_CONF, _EMPTY).get(_READ_KEY) if config else None
    args: tuple[Any, ...] = getattr(read, "args", ())
    channels = args[1] if len(args) > 1 else None
    return channels if isinstance(channels, Mapping) else None


def _no_writer(_: Any) -> None:
    """LangGraph's stand-in when nothing streams custom events."""


def _quiet_messages(callbacks: Any, slot: _Slot) -> BaseCallbackManager | None:
    """The node's callbacks with LangGraph's token streamer silenced once ``slot`` closes.

    Tokens an abandoned sync task's chat model streams (``stream_mode="messages"``) would
    otherwise reach the stream while the next node runs. ``None`` when nothing streams them.
    """
    if not isinstance(callbacks, BaseCallbackManager):
        return None
    streamers = (StreamMessagesHandler,)
    if not any(isinstance(h, streamers) for h in callbacks.handlers):
        return None

    def quiet(handler: Any) -> Any:
        if not isinstance(handler, streamers):
            return handler
        stream = handler.stream

        def gated(chunk: Any) -> None:
            if not slot.closed:
                stream(chunk)

        twin = copy.copy(handler)  # shares what it has seen, so nothing is emitted twice
        twin.stream = gated
        return twin

    manager = callbacks.copy()
    manager.handlers = [quiet(h) for h in manager.handlers]
    manager.inheritable_handlers = [quiet(h) for h in manager.inheritable_handlers]
    return manager


def straggler_count() -> int:
    """Abandoned tasks that have not ended yet (a task that ignores cancellation stays here)."""
    return len(_STRAGGLERS)


def abandoned_total() -> int:
    """Tasks abandoned at a timeout or deadline since the process started."""
    return _abandoned


def starved_total() -> int:
    """Sync tasks timed out while every sync worker thread was busy, since the process started.

    A rise means workers are held by blocked tasks (give their backends client timeouts); the
    pool recovers when they return.
    """
    return _starved


def _forget(atask: asyncio.Task[Any]) -> None:
    _STRAGGLERS.discard(atask)
    if not atask.cancelled():
        atask.exception()  # mark it retrieved: an abandoned failure is already recorded


class _Slot:
    """One running task: its asyncio task, its timer, and whether its result is recorded."""

    __slots__ = (
        "atask",
        "attempts",
        "beat",
        "closed",
        "cpu",
        "cpu0",
        "idle_timer",
        "index",
        "kwargs",
        "run",
        "started",
        "state",
        "timed_out",
        "timer",
    )

    def __init__(
        self, run: _TierRun, index: int, started: float, state: Any, kwargs: dict[str, Any]
    ) -> None:
        self.run = run
        self.state = state
        self.kwargs = kwargs
        self.cpu: list[float] | None = None
        self.cpu0 = 0.0
        self.beat = started
        self.idle_timer: asyncio.TimerHandle | None = None
        self.index = index
        self.started = started
        self.attempts = 1
        self.closed = False
        self.timed_out = False
        self.atask: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def on_done(self, atask: asyncio.Task[Any]) -> None:
        try:
            if self.closed:
                _forget(atask)
            else:
                self.run.finish(self, atask)
        finally:
            # The task's context holds the node's config, whose runtime holds this slot's
            # writer: the references back to the task would make a cycle that keeps
            # LangGraph's whole loop alive until the garbage collector runs.
            self.atask = None
            self.kwargs = _EMPTY
            self.state = None

    def on_idle(self) -> None:
        """The idle timer: abandon a task silent for its idle timeout, else look again later."""
        if self.closed:
            return
        run = self.run
        idle = run.tier.tasks[self.index].idle_timeout
        assert idle is not None
        due = self.beat + idle
        if run.loop.time() >= due:
            run.abandon(self, idle, "idle")
        else:
            self.idle_timer = run.loop.call_at(due, self.on_idle)

    def on_timeout(self) -> None:
        if self.atask is not None and self.atask.done():
            return  # it ended in the same loop turn: its result is on the way, not late
        if not self.closed:
            run = self.run
            task = run.tier.tasks[self.index]
            suspects = run.lag_suspects(self.started + task.timeout, (self.index,))
            run.abandon(self, task.timeout, "task")
            if suspects is not None:
                run.blame(suspects, (self.index,))


class _TierRun:
    __slots__ = (
        "blocking",
        "channels",
        "closing",
        "deadline",
        "deadline_hit",
        "done",
        "emit",
        "events",
        "fatal",
        "finished",
        "kept",
        "kind",
        "lag",
        "limit",
        "loop",
        "memo",
        "mode",
        "observers",
        "ok",
        "open",
        "queue",
        "required_open",
        "results",
        "running",
        "runtime",
        "serde",
        "soft_passed",
        "sources",
        "start",
        "state",
        "tier",
        "trace",
        "traced",
        "values",
        "waiting",
        "winner",
    )

    def __init__(
        self,
        tier: Tier,
        state: Any,
        runtime: Any,
        mode: str,
        observers: tuple[TierObserver, ...],
        loop: asyncio.AbstractEventLoop,
        memo: TaskMemo | None = None,
        config: Any = None,
    ) -> None:
        self.tier = tier
        self.memo = memo
        self.kept: dict[str, Any] = {}
        self.state = state
        self.runtime = runtime
        self.mode = mode
        self.observers = observers
        self.loop = loop
        n = len(tier.tasks)
        self.results: list[TaskResult | None] = [None] * n
        self.values: dict[str, Any] = {}
        self.waiting = [len(t.depends_on) for t in tier.tasks]
        self.queue: deque[int] = deque(i for i in tier.order if not self.waiting[i])
        self.running: dict[int, _Slot] = {}
        self.open = n
        self.limit = tier.max_concurrency
        self.kind = tier.strategy.kind
        self.ok = 0
        self.finished = 0
        self.required_open = sum(1 for t in tier.tasks if t.required and t.enabled)
        self.soft_passed = False
        self.winner: str | None = None
        self.closing = False
        self.deadline_hit = False
        self.fatal: BaseException | None = None
        self.lag = 0.0
        self.blocking: list[str] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self.start = loop.time()
        self.deadline = self.start + tier.timeout
        enclosing = ENCLOSING_DEADLINE.get()
        if enclosing is not None:
            margin = min(_NESTED_MARGIN, _NESTED_SHARE * max(enclosing - self.start, 0.0))
            self.deadline = min(self.deadline, enclosing - margin)
        writer = getattr(runtime, "stream_writer", None) if runtime is not None else None
        self.emit: Callable[[Any], None] | None = writer
        self.events: Callable[[Any], None] | None = writer if tier.stream_events else None
        self.trace: TierTrace | None = None
        self.traced: dict[int, tuple[TaskTrace, _Slot]] = {}
        checkpointer = config.get(_CONF, _EMPTY).get(_CHECKPOINTER_KEY) if config else None
        self.serde: Any = getattr(checkpointer, "serde", None)
        self.channels: Mapping[str, Any] | None = _channels_of(config)
        self.sources: dict[str, Any] = {
            "runtime": runtime,
            "config": config,
            "writer": writer or _no_writer,
            "store": getattr(runtime, "store", None) if runtime is not None else None,
        }

    # -- scheduling -------------------------------------------------------------------------

    def pump(self) -> None:
        queue, running, tasks = self.queue, self.running, self.tier.tasks
        while queue and len(running) < self.limit and not self.closing:
            i = queue.popleft()
            task = tasks[i]
            if self.kept and task.name in self.kept:
                self.record(
                    i,
                    TaskResult(
                        task.name,
                        TaskStatus.OK,
                        self.kept[task.name],
                        0.0,
                        0,
                        None,
                        task.output_key,
                        resumed=True,
                    ),
                )
            elif task.enabled:
                self.launch(i, task)
            else:
                self.record(
                    i,
                    TaskResult(
                        task.name,
                        TaskStatus.SKIPPED,
                        task.make_default(),
                        0.0,
                        0,
                        None,
                        task.output_key,
                    ),
                )

    def launch(self, i: int, task: Task) -> None:
        loop = self.loop
        state = self.state
        if task.depends_on:
            values = self.values
            state = with_values(state, {key: values[d] for d, key in self.tier.dependency_keys[i]})
        now = loop.time()
        slot = _Slot(self, i, now, state, _EMPTY)
        self.running[i] = slot
        if self.tier.has_sync:
            slot.cpu0 = time.process_time()
            if not task.is_async:
                slot.cpu = [0.0]
        sources = self.sources
        config = sources["config"]
        gate = (not task.is_async and self.emit is not None) or task.idle_timeout is not None
        if gate:
            sources = self.task_sources(slot, task)
            if config is not None:
                conf = {**config.get(_CONF, _EMPTY), _RUNTIME_KEY: sources["runtime"]}
                config = {**config, _CONF: conf}
                if not task.is_async:
                    callbacks = _quiet_messages(config.get("callbacks"), slot)
                    if callbacks is not None:
                        config["callbacks"] = callbacks
        traced = None
        if self.trace is not None:  # a LangChain child run and/or a span for this task
            traced = self.trace.task(task, state, deadline_left=self.deadline - now, config=config)
            self.traced[i] = (traced, slot)
            sources = {**sources, "config": traced.config}
        if task.inject:
            slot.kwargs = {
                param: value
                for param, source, has_default in task.inject
                if (value := sources[source]) is not None or not has_default
            }
        if self.events is not None:
            self.events(
                {"parallel_nodes": "task_started", "tier": self.tier.name, "task": task.name}
            )
        if (
            task.is_async
            and task.retry is None
            and task.output_type is None
            and task.breaker is None
            and task.hedge_state is None
            and task.executor is None
            and task.returns == "value"
        ):
            try:
                coro = task.fn(state, **slot.kwargs)  # the fast path: no wrapper coroutine at all
            except Exception as exc:  # raised before its first await: this task's failure only
                coro = raise_later(exc)
        else:
            coro = invoke(task, slot)
        if traced is not None:
            coro = traced.wrap(coro)
        # The task's own end, for a tier run inside it (map_task, a nested run_tier).
        token = ENCLOSING_DEADLINE.set(min(now + task.timeout, self.deadline))
        config_token = var_child_runnable_config.set(config) if gate else None
        try:
            atask = loop.create_task(coro)
        finally:
            if config_token is not None:
                var_child_runnable_config.reset(config_token)
            ENCLOSING_DEADLINE.reset(token)
        slot.atask = atask
        atask.add_done_callback(slot.on_done)
        if now + task.timeout < self.deadline:
            slot.timer = loop.call_at(now + task.timeout, slot.on_timeout)
        idle = task.idle_timeout
        if idle is not None and now + idle < self.deadline:
            slot.beat = now
            slot.idle_timer = loop.call_at(now + idle, slot.on_idle)

    def task_sources(self, slot: _Slot, task: Task) -> dict[str, Any]:
        """The injected values for one task, when its stream writer or heartbeat must differ.

        An abandoned sync task runs on in its thread: what it writes to the stream after the
        tier has moved on is dropped, as a cancelled node writes nothing more. A task with an
        idle timeout gets a ``runtime.heartbeat`` (and, under ``refresh_on="auto"``, a stream
        writer) that refreshes its idle timer, and still reaches the node's own.
        """
        emit = self.emit or _no_writer
        quiet_when_closed = not task.is_async
        beat_on_write = task.idle_timeout is not None and task.refresh_on == "auto"
        clock = self.loop.time  # the loop's monotonic clock, safe to read from a worker thread

        def writer(chunk: Any) -> None:
            if quiet_when_closed and slot.closed:
                return
            if beat_on_write:
                slot.beat = clock()
            emit(chunk)

        runtime = self.sources["runtime"]
        if isinstance(runtime, Runtime):
            overrides: dict[str, Any] = {"stream_writer": writer}
            if task.idle_timeout is not None:
                node_heartbeat = runtime.heartbeat

                def heartbeat() -> None:
                    slot.beat = clock()
                    node_heartbeat()

                overrides["heartbeat"] = heartbeat
            runtime = runtime.override(**overrides)
        return {**self.sources, "writer": writer, "runtime": runtime}

    def contended(self, slot: _Slot, duration: float) -> float:
        """Seconds of the task's duration that other work of the process held the CPU.

        The process's CPU time over the task's run, less the task's own (measured in its
        worker thread), is what others ran while it waited. When the task itself was busy on
        the CPU, a machine that other processes load stretched that CPU time into more wall
        time, by the task's duration over the process's CPU time: that stretch counts too.
        Only in tiers with a sync task.
        """
        if not self.tier.has_sync:
            return 0.0
        window = time.process_time() - slot.cpu0
        others = window
        stretch = 1.0
        if slot.cpu is not None:
            own = slot.cpu[0]
            others -= own
            # Only a task busy on the CPU, in a busy process, tells the machine's load; one
            # mostly asleep on I/O says nothing of it.
            if own > _OWN_SHARE * window and window > _BUSY_SHARE * duration:
                stretch = max(1.0, duration / window)
        return min(max(others, 0.0) * stretch, duration)

    def close_slot(self, slot: _Slot) -> tuple[int, Task]:
        """Mark a running task as ended: its timer off, its place free."""
        slot.closed = True
        if slot.timer is not None:
            slot.timer.cancel()
        if slot.idle_timer is not None:
            slot.idle_timer.cancel()
        i = slot.index
        del self.running[i]
        return i, self.tier.tasks[i]

    def finish(self, slot: _Slot, atask: asyncio.Task[Any]) -> None:
        i, task = self.close_slot(slot)
        duration = self.loop.time() - slot.started
        value: Any = None
        error: BaseException | None = None
        if atask.cancelled():  # the task raised CancelledError itself: ours close the slot first
            status = TaskStatus.CANCELLED
            if task.on_error == "raise":
                try:
                    atask.result()
                except asyncio.CancelledError as exc:  # with the task's own message
                    self.propagate(task, exc)
                return
        else:
            error = atask.exception()
            if error is None:
                status = TaskStatus.OK
                value = atask.result()
                if self.serde is not None and task.returns == "value" and self.saves(task):
                    error = self.unserializable(task, value)
                    if error is not None:
                        status = TaskStatus.INVALID_OUTPUT
                if self.memo is not None and error is None:
                    self.memo.save(task.name, value)
            else:
                if isinstance(error, GraphBubbleUp | KeyboardInterrupt | SystemExit):
                    # An interrupt or a hand-off ends the node, as LangGraph ends a node: the
                    # tier re-raises it untouched and its other tasks are cancelled. Not a
                    # failure, so no observer hears of it.
                    self.fatal = error
                    if not self.done.done():
                        self.done.set_result(None)
                    return
                status = status_of(error)
        if error is not None and task.on_error == "raise":
            self.propagate(task, error)
            return
        result = TaskResult(
            task.name,
            status,
            value if status is TaskStatus.OK else task.make_default(),
            duration,
            slot.attempts,
            error,
            task.output_key,
            started=slot.started - self.start,
            contended=self.contended(slot, duration),
        )
        self.record(i, result)

    def saves(self, task: Task) -> bool:
        """Whether LangGraph would checkpoint ``task``'s value: its key is a tracked channel.

        An ``UntrackedValue`` channel is never saved, and a key that is no channel at all (a
        ``run_tier`` whose caller uses the values itself) is not saved as such. When the
        channels cannot be read, the value is checked.
        """
        channels = self.channels
        if channels is None:
            return True
        channel = channels.get(task.output_key)
        return channel is not None and not isinstance(channel, UntrackedValue)

    def propagate(self, task: Task, error: BaseException) -> None:
        """End the tier with a ``on_error="raise"`` task's error, as it would end a node."""
        error.add_note(
            f"raised by task {task.name!r} of tier {self.tier.name!r} (on_error='raise')"
        )
        self.fatal = error
        if not self.done.done():
            self.done.set_result(None)

    def unserializable(self, task: Task, value: Any) -> UnserializableOutputError | None:
        """The error for a value the graph's checkpointer could not save, if it cannot.

        Costs one serialisation per task value, and only in graphs with a checkpointer: the
        price of failing this task alone instead of the whole graph at checkpoint time. Only
        the serializer's refusal of the value's type counts; any other error of the serializer
        is its own, and LangGraph raises it at checkpoint time as it would for a plain node.
        """
        try:
            self.serde.dumps_typed(value)
        except _REFUSALS as exc:
            return UnserializableOutputError(
                task=task.name, key=task.output_key, got=type(value), reason=str(exc)
            )
        return None

    def abandon(self, slot: _Slot, budget: float, which: str) -> None:
        global _abandoned, _starved
        i, task = self.close_slot(slot)
        atask = slot.atask
        slot.timed_out = which in _TIMEOUTS
        if atask is not None:
            atask.cancel()
            _STRAGGLERS.add(atask)
        elapsed = self.loop.time() - slot.started
        if which not in _TIMEOUTS:  # a strategy's loser, or the caller was cancelled
            self.record(
                i,
                TaskResult(
                    task.name,
                    TaskStatus.CANCELLED,
                    task.make_default(),
                    elapsed,
                    slot.attempts,
                    None,
                    task.output_key,
                    started=slot.started - self.start,
                ),
            )
            return
        _abandoned += 1
        if not task.is_async and task.executor is None and pool_saturated():
            _starved += 1
            _log.warning(
                "abandoned sync task %s in tier %s after %.3fs (%s budget): every sync worker "
                "thread is busy with blocked tasks, so it may not have started; give those "
                "tasks client timeouts their backends honour",
                task.name,
                self.tier.name,
                elapsed,
                which,
                extra=log_extra(self.tier.name, task.name),
            )
        else:
            _log.warning(
                "abandoned task %s in tier %s after %.3fs (%s budget)",
                task.name,
                self.tier.name,
                elapsed,
                which,
                extra=log_extra(self.tier.name, task.name),
            )
        error = TaskTimeoutError(
            task=task.name,
            tier=self.tier.name,
            timeout=budget,
            elapsed=elapsed,
            attempt=slot.attempts,
            deadline=which,
        )
        if task.executor is not None:
            note_halt(error, EXECUTORS.resolve(task.executor), task.fn)
        if task.on_error == "raise":
            self.propagate(task, error)
            return
        self.record(
            i,
            TaskResult(
                task.name,
                TaskStatus.TIMEOUT,
                task.make_default(),
                elapsed,
                slot.attempts,
                error,
                task.output_key,
                started=slot.started - self.start,
                contended=self.contended(slot, elapsed),
            ),
        )

    def record(self, i: int, result: TaskResult) -> None:
        self.results[i] = result
        task = self.tier.tasks[i]
        if self.traced:
            traced = self.traced.pop(i, None)
            if traced is not None:
                traced[0].end(result, traced[1].atask)
        self.values[task.name] = result.value
        if self.observers and not result.resumed:  # it did not run: nothing to measure
            notify_task(self.observers, self.tier.name, self.mode, result)
        if self.events is not None:
            self.events(
                {
                    "parallel_nodes": "task_finished",
                    "tier": self.tier.name,
                    "task": task.name,
                    "status": result.status.value,
                    "duration": result.duration,
                }
            )
        self.open -= 1
        status = result.status
        if status is TaskStatus.OK:
            self.ok += 1
            if self.winner is None:
                self.winner = task.name
        if status is not TaskStatus.SKIPPED:
            self.finished += 1
        if task.required and task.enabled:
            self.required_open -= 1
        if self.open == 0 or self.fatal is not None:
            if not self.done.done():
                self.done.set_result(None)
            return
        if self.kind is not StrategyKind.ALL and not self.closing and self.satisfied():
            self.close("strategy")
            return
        waiting, queue = self.waiting, self.queue
        for j in self.tier.dependents[i]:
            waiting[j] -= 1
            if not waiting[j]:
                queue.append(j)
        self.pump()

    def satisfied(self) -> bool:
        kind = self.kind
        if kind is StrategyKind.FIRST_SUCCESS:
            return self.ok >= 1
        if kind is StrategyKind.RACE:
            return self.finished >= 1
        if kind is StrategyKind.QUORUM:
            return self.ok >= self.tier.strategy.k
        return self.soft_passed and self.required_open == 0  # GOOD_ENOUGH

    def on_soft_deadline(self) -> None:
        self.soft_passed = True
        if self.open and not self.closing and self.required_open == 0:
            self.close("strategy")

    # -- the deadline -----------------------------------------------------------------------

    def on_deadline(self) -> None:
        if self.open == 0:
            return
        self.deadline_hit = True
        victims = tuple(self.running)
        suspects = self.lag_suspects(self.deadline, victims)
        self.close("tier")
        if suspects is not None:
            self.blame(suspects, victims)

    # -- a blocked loop ---------------------------------------------------------------------

    def lag_suspects(self, due: float, victims: tuple[int, ...]) -> list[str] | None:
        """When a timer fires late, the tasks that may have held the loop; else ``None``.

        A timer runs late only when a callback ran long: an async task doing sync work. The
        culprit is a task that ended at or after the timer was due (its last step was the long
        one), or an async task still running; never the task whose timer it is.
        """
        lag = self.loop.time() - due
        if lag < _LAG_WARNING:
            return None
        self.lag = max(self.lag, lag)
        tasks = self.tier.tasks
        suspects = [
            r.name
            for r in self.results
            if r is not None
            and r.status is TaskStatus.OK
            and self.start + r.started + r.duration >= due
        ]
        suspects += [tasks[i].name for i in self.running if i not in victims and tasks[i].is_async]
        return suspects

    def blame(self, suspects: list[str], victims: tuple[int, ...]) -> None:
        """Name the suspects in the record, a log line, and each victim's error."""
        self.blocking.extend(n for n in suspects if n not in self.blocking)
        names = [self.tier.tasks[i].name for i in victims]
        note = (
            f"the event loop was blocked for {self.lag:.3f}s before this timeout could fire, "
            f"likely by {suspects or 'code outside this tier'}; an async task doing sync work "
            "should be a sync task (it then runs in a thread)"
        )
        _log.warning("tier %s: %s; timed out because of it: %s", self.tier.name, note, names)
        for i in victims:
            result = self.results[i]
            if result is not None and result.error is not None:
                result.error.add_note(note)

    def close(self, which: str) -> None:
        """Give every task without a result its default: abandon the running, drop the rest."""
        self.closing = True
        for slot in list(self.running.values()):
            atask = slot.atask
            if atask is not None and atask.done():  # ended in this very loop turn: not late
                self.finish(slot, atask)
            else:
                self.abandon(slot, self.tier.timeout, which)
        for i, task in enumerate(self.tier.tasks):
            if self.results[i] is None:
                if not task.enabled:
                    status = TaskStatus.SKIPPED
                elif which in ("task", "tier"):
                    status = TaskStatus.TIMEOUT
                else:
                    status = TaskStatus.CANCELLED
                error = None
                if status is TaskStatus.TIMEOUT:
                    error = TaskTimeoutError(
                        task=task.name,
                        tier=self.tier.name,
                        timeout=self.tier.timeout,
                        elapsed=0.0,
                        attempt=0,
                        deadline=which,
                    )
                self.record(
                    i,
                    TaskResult(
                        task.name, status, task.make_default(), 0.0, 0, error, task.output_key
                    ),
                )

    def halt(self) -> None:
        """Cancel every running task and record nothing: the node is ending without a result
        (the caller was cancelled, or a task raised an interrupt or ``KeyboardInterrupt``)."""
        self.closing = True
        for slot in list(self.running.values()):
            self.close_slot(slot)
            if slot.atask is not None:
                slot.atask.cancel()
                _STRAGGLERS.add(slot.atask)

    async def execute(self) -> TierResult:
        config = self.sources["config"]
        trace = self.trace = start_tier(
            self.tier.name, self.mode, config, timeout=self.tier.timeout
        )
        timer = self.loop.call_at(self.deadline, self.on_deadline)
        soft = None
        if self.kind is StrategyKind.GOOD_ENOUGH:
            soft = self.loop.call_at(
                self.start + self.tier.strategy.soft_timeout, self.on_soft_deadline
            )
        try:
            if self.memo is not None:
                self.kept = await self.memo.load(self.tier.timeout * LOAD_SHARE)
            self.pump()
            if self.open:
                await self.done
        except asyncio.CancelledError:
            self.halt()  # the caller's choice, not the tasks' failure: nothing is recorded
            notify_cancelled(self.observers, self.tier.name, self.mode)
            if trace is not None:
                trace.end(None)
            raise
        finally:
            timer.cancel()
            if soft is not None:
                soft.cancel()
        if self.fatal is not None:
            self.halt()
            if trace is not None:
                trace.end(None, outcome="interrupted")
            raise self.fatal
        if self.memo is not None:
            await self.memo.clear(self.deadline - self.loop.time())
        tasks = self.tier.tasks
        result = TierResult(
            tier=self.tier.name,
            mode=self.mode,
            tasks={tasks[i].name: r for i, r in enumerate(self.results) if r is not None},
            wall_time=self.loop.time() - self.start,
            deadline_exceeded=self.deadline_hit,
            winner=self.winner,
            loop_lag=self.lag,
            blocking=tuple(self.blocking),
        )
        if self.observers:
            notify_tier(self.observers, result)
        if trace is not None:
            trace.end(result)
            await trace.flush()
        return result


async def run_tier(
    tier: Tier,
    state: Any,
    runtime: Any = None,
    *,
    mode: str = "default",
    observers: tuple[TierObserver, ...] | list[TierObserver] | None = None,
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
        mode: A label for metrics (a mode name declared in code, never user text).
            A ``durable`` tier also needs the runtime's store and execution info.
        observers: Observers for this run; ``None`` means the process-wide defaults.

    Returns:
        Every task's result; failed, timed-out and disabled tasks carry their defaults.

    Raises:
        TypeError: If ``tier`` is not a ``Tier``.
        ConfigError: A ``durable`` tier runs without a store or checkpointer.
        GraphBubbleUp: A task's ``interrupt()`` or ``Command(graph=Command.PARENT)``, re-raised
            untouched (the tier's other tasks are cancelled), as from a plain node.
        KeyboardInterrupt, SystemExit: Re-raised from a task; they are never swallowed.

    Example:
        >>> import asyncio
        >>> tier = Tier("t", [Task("a", lambda s: s["x"] + 1, timeout=1.0)], timeout=1.0)
        >>> asyncio.run(run_tier(tier, {"x": 1}, observers=())).values
        {'a': 2}
    """
    if not isinstance(tier, Tier):
        raise TypeError(f"tier: expected a Tier, got {type(tier).__name__}; build one with Tier()")
    if not isinstance(mode, str) or not mode:
        raise ConfigError("mode", "must be a non-empty label declared in code, e.g. 'research'")
    obs = get_default_observers() if observers is None else tuple(observers)
    loop = asyncio.get_running_loop()
    if not tier.enabled:
        return _skip_all(tier, mode, obs)
    config = var_child_runnable_config.get()
    if runtime is None and config is not None:
        runtime = config.get(_CONF, _EMPTY).get(_RUNTIME_KEY)
    memo = open_memo(tier.name, runtime) if tier.durable else None
    return await _TierRun(tier, state, runtime, mode, obs, loop, memo, config).execute()


def _skip_all(tier: Tier, mode: str, observers: tuple[TierObserver, ...]) -> TierResult:
    results = {
        t.name: TaskResult(t.name, TaskStatus.SKIPPED, t.make_default(), 0.0, 0, None, t.output_key)
        for t in tier.tasks
    }
    if observers:
        for r in results.values():
            notify_task(observers, tier.name, mode, r)
    result = TierResult(tier=tier.name, mode=mode, tasks=results, wall_time=0.0)
    if observers:
        notify_tier(observers, result)
    return result
