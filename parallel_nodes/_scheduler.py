"""``TierRun``: one run of a tier. It launches tasks, times them, and records how they end.

One asyncio task per task, and timers instead of waiting: every task has a timer at its own
timeout, the tier has one at its deadline, and when a timer fires the task is cancelled and
*abandoned*, never awaited. That is what keeps the deadline for tasks that swallow
``CancelledError`` or block in a thread. Abandoned tasks are held by the engine's
``Stragglers`` until they end.

The flow, in the order a reader meets it:

* ``execute`` starts the deadline timers and ``pump``\\ s: tasks whose dependencies are done
  are launched, up to the tier's concurrency.
* ``launch`` builds what the task receives and starts its call (``_call`` makes the call).
* A task ends in one of three ways: it returns or raises (``Slot.on_done``), a timer fires
  (``on_task_timeout``, ``expire``), or the tier closes (``close``). Each way builds the
  task's ``TaskResult`` (``finish``/``abandon``, which only build) and ``settle``\\ s it.
* ``settle`` records the result (``Ledger.record`` only stores, counts and notifies), then
  decides once what comes next: the run is over, the strategy is satisfied (``close``), or the
  task's dependents are released and ``pump``\\ ed. Nothing it calls records again, except
  ``close``, which records every task still open and decides nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

from langchain_core.runnables.config import var_child_runnable_config
from langgraph.errors import GraphBubbleUp

from ._call import raise_later, status_of, with_values
from ._deadline import ENCLOSING_DEADLINE, tier_deadline
from ._durable import LOAD_SHARE, TaskMemo
from ._engine import Engine
from ._inject import channels_of, checkpointer_of, injected, node_sources, task_config, task_sources
from ._lag import LAG_WARNING, held_at_launch, late_suspects, name_blockers
from ._ledger import Ledger
from ._observe import TierObserver, notify_cancelled, notify_tier
from ._outcome import (
    contended,
    log_abandoned,
    saves,
    task_result,
    timeout_error,
    unserializable,
    unstarted_result,
)
from ._results import EndReason, TaskResult, TaskStatus, TierResult
from ._slot import EAGER, Slot, start_task
from ._strategy import StrategyKind
from ._task import Task
from ._tier import Tier
from ._tracing import TierTrace, start_tier

__all__ = ["TierRun"]

_ROOT: Final = "__root__"
"""The one channel of a graph whose state is a single value (LangGraph's name for it)."""


class TierRun:
    """The state of one tier run; built and executed by ``run_tier``."""

    __slots__ = (
        "blocking",
        "channels",
        "closing",
        "deadline",
        "deadline_hit",
        "done",
        "emit",
        "engine",
        "fatal",
        "kept",
        "lag",
        "ledger",
        "limit",
        "loop",
        "memo",
        "metadata",
        "queue",
        "root_state",
        "running",
        "serde",
        "sources",
        "start",
        "state",
        "stragglers",
        "tier",
        "trace",
        "until",
        "waiting",
    )

    def __init__(
        self,
        tier: Tier,
        state: Any,
        runtime: Any,
        metadata: Mapping[str, str],
        observers: tuple[TierObserver, ...],
        loop: asyncio.AbstractEventLoop,
        engine: Engine,
        memo: TaskMemo | None = None,
        config: Any = None,
    ) -> None:
        self.tier = tier
        self.state = state
        self.metadata = metadata
        self.loop = loop
        self.engine = engine
        self.stragglers = engine.stragglers
        self.memo = memo
        self.kept: dict[str, Any] = {}
        self.waiting = list(tier.waiting)
        self.queue: deque[int] = deque(tier.ready)
        self.running: dict[int, Slot] = {}
        self.limit = tier.limit
        # ALL never ends a tier early: no need to ask it after every result.
        self.until = None if tier.strategy.kind is StrategyKind.ALL else tier.strategy
        self.closing = False
        self.deadline_hit = False
        self.fatal: BaseException | None = None
        self.lag = 0.0
        self.blocking: list[str] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self.start = loop.time()
        self.deadline = tier_deadline(self.start, tier.timeout)
        self.sources = node_sources(runtime, config)
        writer = getattr(runtime, "stream_writer", None) if runtime is not None else None
        self.emit: Callable[[Any], None] | None = writer
        self.ledger = Ledger(tier, metadata, observers, writer if tier.stream_events else None)
        self.trace: TierTrace | None = None
        self.serde: Any = None
        self.channels: Mapping[str, Any] | None = None
        if config is not None:  # inside a graph: its checkpointer and channels
            self.serde = getattr(checkpointer_of(config), "serde", None)
            self.channels = channels_of(config)
        self.root_state = self.channels is not None and _ROOT in self.channels

    # -- launching --------------------------------------------------------------------------

    def pump(self) -> None:
        """Launch ready tasks up to the concurrency limit; a disabled or kept one just ends.
        Tasks that end within their eager first step are recorded once every ready task has
        launched, so the same tasks start as when each first step waits for the loop."""
        queue, running, tasks = self.queue, self.running, self.tier.tasks
        while True:
            ended: list[Slot] | None = None
            while queue and len(running) < self.limit and not self.closing:
                i = queue.popleft()
                task = tasks[i]
                if task.enabled and not (self.kept and task.name in self.kept):
                    if (slot := self.launch(i, task)) is not None:
                        ended = ended or []
                        ended.append(slot)
                    continue
                if task.enabled:
                    result = task_result(task, TaskStatus.OK, self.kept[task.name], resumed=True)
                else:
                    result = task_result(task, TaskStatus.SKIPPED)
                if not self.advance(i, result):
                    return
            if ended is None or not self.record_ended(ended):
                return

    def record_ended(self, ended: list[Slot]) -> bool:
        """Record tasks that ended within their first step; whether the run goes on."""
        for slot in ended:
            if slot.closed:  # the tier closed and recorded it already
                slot.release()
                continue
            assert slot.atask is not None
            result = self.finish(slot, slot.atask)  # None: it ended the tier
            goes_on = result is not None and self.advance(slot.index, result)
            slot.release()  # after recording: the tracer reads the slot's task
            if not goes_on:
                return False
        return True

    def launch(self, i: int, task: Task) -> Slot | None:
        """Start task ``i``; its slot when it already ended (started eagerly), else ``None``."""
        loop = self.loop
        state = self.state
        if task.depends_on:
            values = self.ledger.values
            state = with_values(state, {key: values[d] for d, key in self.tier.dependency_keys[i]})
        now = loop.time()
        slot = Slot(self, i, now, state)
        self.running[i] = slot
        if self.tier.has_sync:
            slot.cpu0 = time.process_time()
            if not task.is_async:
                slot.cpu = [0.0]
        sources = self.sources
        config = sources["config"]
        gate = task.idle_timeout is not None or (self.emit is not None and not task.is_async)
        if gate:
            sources = task_sources(sources, self.emit, slot, task, loop.time)
            config = task_config(config, sources, slot, task)
        traced = None
        if self.trace is not None:  # a LangChain child run and/or a span for this task
            traced = self.trace.task(task, state, deadline_left=self.deadline - now, config=config)
            self.ledger.traced[i] = (traced, slot)
            sources = {**sources, "config": traced.config}
        if task.inject:
            slot.kwargs = injected(task, sources)
        if self.ledger.events is not None:
            self.ledger.events(
                {"parallel_nodes": "task_started", "tier": self.tier.name, "task": task.name}
            )
        try:
            # The fast path is fn(state) itself: no wrapper coroutine at all.
            if not task.plain:
                coro = self.engine.call_for(task)(slot)
            elif task.inject:
                coro = task.fn(state, **slot.kwargs)
            else:
                coro = task.fn(state)
        except Exception as exc:  # raised before its first await: this task's failure only
            coro = raise_later(exc)
        if traced is not None:
            coro = traced.wrap(coro)
        # The task's own end, for a tier run inside it (map_task, a nested run_tier).
        token = ENCLOSING_DEADLINE.set(min(now + task.timeout, self.deadline))
        config_token = var_child_runnable_config.set(config) if gate else None
        try:
            atask = start_task(loop, coro)
        finally:
            if config_token is not None:
                var_child_runnable_config.reset(config_token)
            ENCLOSING_DEADLINE.reset(token)
        slot.atask = atask
        if EAGER:  # its first step ran just now: what it held the loop for is measured
            held = loop.time() - now
            if held >= LAG_WARNING:
                held_at_launch(self, task.name, held)
        if atask.done():
            return slot
        atask.add_done_callback(slot.on_done)
        if now + task.timeout < self.deadline:
            slot.timer = loop.call_at(now + task.timeout, slot.on_timeout)
        idle = task.idle_timeout
        if idle is not None and now + idle < self.deadline:
            slot.beat = now
            slot.idle_timer = loop.call_at(now + idle, slot.on_idle)
        return None

    # -- how a task ends --------------------------------------------------------------------

    def on_task_timeout(self, slot: Slot) -> None:
        """The task's own timeout fired."""
        task = self.tier.tasks[slot.index]
        suspects = late_suspects(self, slot.started + task.timeout, (slot.index,))
        self.expire(slot, task.timeout, EndReason.TASK)
        if suspects is not None:
            name_blockers(self, suspects, (slot.index,))

    def expire(self, slot: Slot, budget: float, reason: EndReason) -> None:
        """Abandon a task whose ``budget`` ran out, and settle it."""
        result = self.abandon(slot, budget, reason)
        if result is not None:
            self.settle(slot.index, result)

    def end_slot(self, slot: Slot) -> Task:
        """Mark a running task as ended: its timers off, its place free."""
        slot.closed = True
        if slot.timer is not None:
            slot.timer.cancel()
        if slot.idle_timer is not None:
            slot.idle_timer.cancel()
        del self.running[slot.index]
        return self.tier.tasks[slot.index]

    def finish(self, slot: Slot, atask: asyncio.Task[Any]) -> TaskResult | None:
        """The result of a task that ended on its own; ``None`` when it ends the tier."""
        task = self.end_slot(slot)
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
                return None
        else:
            error = atask.exception()
            if error is None:
                status = TaskStatus.OK
                value = atask.result()
                serde = self.serde
                if serde is not None and task.returns == "value" and saves(self.channels, task):
                    error = unserializable(serde, task, value)
                    if error is not None:
                        status = TaskStatus.INVALID_OUTPUT
                if self.memo is not None and error is None:
                    self.memo.save(task.name, value)
            elif isinstance(error, GraphBubbleUp | KeyboardInterrupt | SystemExit):
                # An interrupt or a hand-off ends the node, as LangGraph ends a node: the tier
                # re-raises it untouched and its other tasks are cancelled. Not a failure, so
                # no observer hears of it.
                self.fatal = error
                self.wake()
                return None
            else:
                status = status_of(error)
        if error is not None and task.on_error == "raise":
            self.propagate(task, error)
            return None
        return task_result(
            task,
            status,
            value,
            duration=duration,
            attempts=slot.attempts,
            error=error,
            started=slot.started - self.start,
            contended=contended(slot.cpu0, slot.cpu, duration) if self.tier.has_sync else 0.0,
            cached=slot.cache_hit,
        )

    def abandon(self, slot: Slot, budget: float, reason: EndReason) -> TaskResult | None:
        """Cancel a running task and hold it as a straggler; its result, or ``None`` when its
        timeout ends the tier (``on_error="raise"``)."""
        task = self.end_slot(slot)
        slot.timed_out = reason.timed_out
        if slot.atask is not None:
            self.stragglers.hold(slot.atask)
        elapsed = self.loop.time() - slot.started
        started = slot.started - self.start
        if not reason.timed_out:  # a strategy's loser: cancelled, not failed
            return task_result(
                task,
                TaskStatus.CANCELLED,
                duration=elapsed,
                attempts=slot.attempts,
                started=started,
            )
        stragglers = self.stragglers
        stragglers.abandoned += 1
        starved = not task.is_async and task.executor is None and self.engine.pool.saturated
        stragglers.starved += starved
        log_abandoned(self.tier.name, task.name, elapsed, reason, starved=starved)
        error = timeout_error(task, self.tier.name, budget, elapsed, slot.attempts, reason)
        if task.on_error == "raise":
            self.propagate(task, error)
            return None
        return task_result(
            task,
            TaskStatus.TIMEOUT,
            duration=elapsed,
            attempts=slot.attempts,
            error=error,
            started=started,
            contended=contended(slot.cpu0, slot.cpu, elapsed) if self.tier.has_sync else 0.0,
        )

    def propagate(self, task: Task, error: BaseException) -> None:
        """End the tier with a ``on_error="raise"`` task's error, as it would end a node."""
        error.add_note(
            f"raised by task {task.name!r} of tier {self.tier.name!r} (on_error='raise')"
        )
        self.fatal = error
        self.wake()

    # -- recording, and what comes next ----------------------------------------------------

    def settle(self, i: int, result: TaskResult) -> None:
        """Record a task's result, then end the run, close it, or go on."""
        if self.advance(i, result) and self.queue:
            self.pump()

    def advance(self, i: int, result: TaskResult) -> bool:
        """Record a task's result; whether the run goes on (its dependents then released)."""
        self.ledger.record(i, result)
        if self.over():
            return False
        if self.tier.has_dependencies:
            self.release(i)
        return True

    def over(self) -> bool:
        """Whether the run is over: every task recorded, one ended it, or it is closing (the
        strategy's being satisfied closes it here)."""
        if self.ledger.open == 0 or self.fatal is not None:
            self.wake()
            return True
        if self.closing:
            return True
        if self.until is not None and self.until.done(self.ledger):
            self.close(EndReason.STRATEGY)
            return True
        return False

    def release(self, i: int) -> None:
        """Queue the tasks that were waiting only for task ``i``."""
        waiting, queue = self.waiting, self.queue
        for j in self.tier.dependents[i]:
            waiting[j] -= 1
            if not waiting[j]:
                queue.append(j)

    def wake(self) -> None:
        """Let ``execute`` return."""
        if not self.done.done():
            self.done.set_result(None)

    def close(self, reason: EndReason) -> None:
        """Give every task without a result its default: abandon the running, drop the rest."""
        self.closing = True
        for slot in list(self.running.values()):
            atask = slot.atask
            if atask is not None and atask.done():  # ended in this very loop turn: not late
                result = self.finish(slot, atask)
            else:
                result = self.abandon(slot, self.tier.timeout, reason)
            if result is not None:
                self.ledger.record(slot.index, result)
        results = self.ledger.results
        for i, task in enumerate(self.tier.tasks):
            if results[i] is None:
                self.ledger.record(i, unstarted_result(task, self.tier, reason))
        self.wake()

    def halt(self) -> None:
        """Cancel every running task and record nothing: the node is ending without a result
        (the caller was cancelled, or a task raised an interrupt or ``KeyboardInterrupt``)."""
        self.closing = True
        for slot in list(self.running.values()):
            self.end_slot(slot)
            if slot.atask is not None:
                self.stragglers.hold(slot.atask)

    # -- the tier's own timers --------------------------------------------------------------

    def on_soft_deadline(self) -> None:
        ledger = self.ledger
        ledger.soft_passed = True
        if ledger.open and not self.closing and self.until and self.until.done(ledger):
            self.close(EndReason.STRATEGY)

    def on_deadline(self) -> None:
        if self.ledger.open == 0:
            return
        self.deadline_hit = True
        victims = tuple(self.running)
        suspects = late_suspects(self, self.deadline, victims)
        self.close(EndReason.TIER)
        if suspects is not None:
            name_blockers(self, suspects, victims)

    # -- the run ----------------------------------------------------------------------------

    async def execute(self) -> TierResult:
        loop, tier = self.loop, self.tier
        config = self.sources["config"]
        trace = self.trace = start_tier(tier.name, self.metadata, config, timeout=tier.timeout)
        timer = loop.call_at(self.deadline, self.on_deadline)
        soft = None
        soft_deadline = tier.strategy.soft_deadline
        if soft_deadline is not None:
            soft = loop.call_at(self.start + soft_deadline, self.on_soft_deadline)
        try:
            if self.memo is not None:
                self.kept = await self.memo.load(tier.timeout * LOAD_SHARE)
            self.pump()
            if self.ledger.open:
                await self.done
        except asyncio.CancelledError:
            self.halt()  # the caller's choice, not the tasks' failure: nothing is recorded
            notify_cancelled(self.ledger.observers, tier.name, self.metadata)
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
            await self.memo.clear(self.deadline - loop.time())
        wall_time = loop.time() - self.start
        result = self.ledger.tier_result(wall_time, self.deadline_hit, self.lag, self.blocking)
        if self.ledger.observers:
            notify_tier(self.ledger.observers, result)
        if trace is not None:
            trace.end(result)
            await trace.flush()
        return result
