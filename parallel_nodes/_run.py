"""``run_tier``: the scheduler that runs a tier's tasks and holds its deadline.

One asyncio task per task, and timers instead of waiting: every task has a timer at its own
timeout, the tier has one at its deadline, and when a timer fires the task is cancelled and
*abandoned* — never awaited. That is what keeps the deadline for tasks that swallow
``CancelledError`` or block in a thread. Abandoned tasks are held in ``_STRAGGLERS`` until they
end, so none is garbage-collected while pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ._durable import LOAD_SHARE, TaskMemo, open_memo
from ._errors import CircuitOpenError, ConfigError, InvalidOutputError, TaskTimeoutError
from ._hedge import hedged_call
from ._observe import (
    TierObserver,
    get_default_observers,
    notify_cancelled,
    notify_task,
    notify_tier,
)
from ._results import TaskResult, TaskStatus, TierResult
from ._retry import call_with_retry
from ._strategy import StrategyKind
from ._task import Task
from ._threads import run_in_thread
from ._tier import Tier
from ._tracing import TaskTrace, TierTrace, log_extra, start_tier

__all__ = ["abandoned_total", "run_tier", "straggler_count"]

_log = logging.getLogger("parallel_nodes")

_STRAGGLERS: set[asyncio.Task[Any]] = set()
_abandoned = 0


def straggler_count() -> int:
    """Abandoned tasks that have not ended yet (a task that ignores cancellation stays here)."""
    return len(_STRAGGLERS)


def abandoned_total() -> int:
    """Tasks abandoned at a timeout or deadline since the process started."""
    return _abandoned


def _forget(atask: asyncio.Task[Any]) -> None:
    _STRAGGLERS.discard(atask)
    if not atask.cancelled():
        atask.exception()  # mark it retrieved: an abandoned failure is already recorded


def _status_of(exc: BaseException) -> TaskStatus:
    if isinstance(exc, TaskTimeoutError):
        return TaskStatus.TIMEOUT
    if isinstance(exc, CircuitOpenError):
        return TaskStatus.CIRCUIT_OPEN
    if isinstance(exc, InvalidOutputError):
        return TaskStatus.INVALID_OUTPUT
    return TaskStatus.ERROR


async def _invoke(task: Task, args: tuple[Any, ...], slot: _Slot) -> Any:
    """The slow path: sync functions, retries, breakers and output checks."""
    breaker = task.breaker
    if breaker is None:
        return await _call(task, args, slot)
    await breaker.check()  # raises CircuitOpenError: the task gets its default at once
    try:
        value = await _call(task, args, slot)
    except asyncio.CancelledError:
        # Abandoned at a timeout: a failure. Cancelled as a strategy's loser: no verdict.
        await (breaker.record_failure() if slot.timed_out else breaker.release())
        raise
    except Exception:
        await breaker.record_failure()
        raise
    await breaker.record_success()
    return value


def _one_call(task: Task, args: tuple[Any, ...], slot: _Slot) -> Any:
    """One attempt: a plain call, or a hedged call over the task's replicas."""
    hedge_state = task.hedge_state
    if hedge_state is None:
        return task.fn(*args) if task.is_async else run_in_thread(task.fn, args)

    async def call(fn: Any) -> Any:
        return await (fn(*args) if task.is_async else run_in_thread(fn, args))

    return hedged_call(hedge_state, task.hedge, call)


async def _call(task: Task, args: tuple[Any, ...], slot: _Slot) -> Any:
    if task.hedge_state is not None and task.retry is None:
        value = await _one_call(task, args, slot)
    elif task.retry is None:
        value = await (task.fn(*args) if task.is_async else run_in_thread(task.fn, args))
    else:

        def attempt() -> Any:
            return _one_call(task, args, slot)

        value = await call_with_retry(
            attempt,
            task.retry,
            budget=task.timeout,
            task=task.name,
            tier=slot.run.tier.name,
            counter=slot,
        )
    expected = task.output_type
    if expected is not None and not isinstance(value, expected):
        raise InvalidOutputError(
            task=task.name,
            expected=expected if isinstance(expected, type) else expected[0],
            got=type(value),
        )
    return value


class _Slot:
    """One running task: its asyncio task, its timer, and whether its result is recorded."""

    __slots__ = ("atask", "attempts", "closed", "index", "run", "started", "timed_out", "timer")

    def __init__(self, run: _TierRun, index: int, started: float) -> None:
        self.run = run
        self.index = index
        self.started = started
        self.attempts = 1
        self.closed = False
        self.timed_out = False
        self.atask: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def on_done(self, atask: asyncio.Task[Any]) -> None:
        if self.closed:
            _forget(atask)
        else:
            self.run.finish(self, atask)

    def on_timeout(self) -> None:
        if not self.closed:
            task = self.run.tier.tasks[self.index]
            self.run.abandon(self, task.timeout, "task")


class _TierRun:
    __slots__ = (
        "closing",
        "deadline",
        "deadline_hit",
        "done",
        "emit",
        "fatal",
        "finished",
        "kept",
        "kind",
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
        "soft_passed",
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
        state: Mapping[str, Any],
        runtime: Any,
        mode: str,
        observers: tuple[TierObserver, ...],
        loop: asyncio.AbstractEventLoop,
        memo: TaskMemo | None = None,
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
        self.done: asyncio.Future[None] = loop.create_future()
        self.start = loop.time()
        self.deadline = self.start + tier.timeout
        writer = getattr(runtime, "stream_writer", None) if runtime is not None else None
        self.emit: Callable[[Any], None] | None = writer
        self.trace: TierTrace | None = None
        self.traced: dict[int, tuple[TaskTrace, _Slot]] = {}

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
            state = {**state, **{key: values[d] for d, key in self.tier.dependency_keys[i]}}
        args = (state, self.runtime) if task.takes_runtime else (state,)
        now = loop.time()
        slot = _Slot(self, i, now)
        if (
            task.is_async
            and task.retry is None
            and task.output_type is None
            and task.breaker is None
            and task.hedge_state is None
        ):
            coro = task.fn(*args)  # the fast path: no wrapper coroutine at all
        else:
            coro = _invoke(task, args, slot)
        if self.trace is not None:  # a LangChain child run and/or a span for this task
            traced = self.trace.task(task, state, deadline_left=self.deadline - now)
            self.traced[i] = (traced, slot)
            coro = traced.wrap(coro)
        self.running[i] = slot
        if self.emit is not None:
            self.emit({"parallel_nodes": "task_started", "tier": self.tier.name, "task": task.name})
        atask = loop.create_task(coro)
        slot.atask = atask
        atask.add_done_callback(slot.on_done)
        if now + task.timeout < self.deadline:
            slot.timer = loop.call_at(now + task.timeout, slot.on_timeout)

    def close_slot(self, slot: _Slot) -> tuple[int, Task]:
        """Mark a running task as ended: its timer off, its place free."""
        slot.closed = True
        if slot.timer is not None:
            slot.timer.cancel()
        i = slot.index
        del self.running[i]
        return i, self.tier.tasks[i]

    def finish(self, slot: _Slot, atask: asyncio.Task[Any]) -> None:
        i, task = self.close_slot(slot)
        duration = self.loop.time() - slot.started
        value: Any = None
        error: BaseException | None = None
        if atask.cancelled():
            status = TaskStatus.CANCELLED
        else:
            error = atask.exception()
            if error is None:
                status = TaskStatus.OK
                value = atask.result()
                if self.memo is not None:
                    self.memo.save(task.name, value)
            else:
                if isinstance(error, KeyboardInterrupt | SystemExit):
                    self.fatal = error
                status = _status_of(error)
        result = TaskResult(
            task.name,
            status,
            value if status is TaskStatus.OK else task.make_default(),
            duration,
            slot.attempts,
            error,
            task.output_key,
            started=slot.started - self.start,
        )
        self.record(i, result)

    def abandon(self, slot: _Slot, budget: float, which: str) -> None:
        global _abandoned
        i, task = self.close_slot(slot)
        atask = slot.atask
        slot.timed_out = which in ("task", "tier")
        if atask is not None:
            atask.cancel()
            _STRAGGLERS.add(atask)
        _abandoned += 1
        elapsed = self.loop.time() - slot.started
        if which not in ("task", "tier"):  # a strategy's loser, or the caller was cancelled
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
        if self.emit is not None:
            self.emit(
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
        self.close("tier")

    def close(self, which: str) -> None:
        """Give every task without a result its default: abandon the running, drop the rest."""
        self.closing = True
        for slot in list(self.running.values()):
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

    async def execute(self) -> TierResult:
        trace = self.trace = start_tier(self.tier.name, self.mode, timeout=self.tier.timeout)
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
            self.close("cancelled")
            notify_cancelled(self.observers, self.tier.name, self.mode)
            if trace is not None:
                trace.end(None)
            raise
        finally:
            timer.cancel()
            if soft is not None:
                soft.cancel()
        if self.fatal is not None:
            self.close("cancelled")
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
        )
        if self.observers:
            notify_tier(self.observers, result)
        if trace is not None:
            trace.end(result)
            await trace.flush()
        return result


async def run_tier(
    tier: Tier,
    state: Mapping[str, Any],
    runtime: Any = None,
    *,
    mode: str = "default",
    observers: tuple[TierObserver, ...] | list[TierObserver] | None = None,
) -> TierResult:
    """Run a tier's tasks at once and return within its deadline, whatever the tasks do.

    Args:
        tier: The tier to run.
        state: The graph state (any mapping); each task receives it.
        runtime: LangGraph's ``Runtime``, passed to tasks that take it. When it has a
            ``stream_writer``, a ``task_started`` and a ``task_finished`` event per task go to
            LangGraph's ``custom`` stream.
        mode: A label for metrics (a mode name declared in code, never user text).
            A ``durable`` tier also needs the runtime's store and execution info.
        observers: Observers for this run; ``None`` means the process-wide defaults.

    Returns:
        Every task's result; failed, timed-out and disabled tasks carry their defaults.

    Raises:
        TypeError: If ``tier`` is not a ``Tier`` or ``state`` is not a mapping.
        ConfigError: A ``durable`` tier runs without a store or checkpointer.
        KeyboardInterrupt, SystemExit: Re-raised from a task; they are never swallowed.

    Example:
        >>> import asyncio
        >>> tier = Tier("t", [Task("a", lambda s: s["x"] + 1, timeout=1.0)], timeout=1.0)
        >>> asyncio.run(run_tier(tier, {"x": 1}, observers=())).values
        {'a': 2}
    """
    if not isinstance(tier, Tier):
        raise TypeError(f"tier: expected a Tier, got {type(tier).__name__}; build one with Tier()")
    if not isinstance(state, Mapping):
        raise TypeError(
            f"state: expected a mapping such as the graph state dict, got {type(state).__name__}"
        )
    if not isinstance(mode, str) or not mode:
        raise ConfigError("mode", "must be a non-empty label declared in code, e.g. 'research'")
    obs = get_default_observers() if observers is None else tuple(observers)
    loop = asyncio.get_running_loop()
    if not tier.enabled:
        return _skip_all(tier, mode, obs)
    memo = open_memo(tier.name, runtime) if tier.durable else None
    return await _TierRun(tier, state, runtime, mode, obs, loop, memo).execute()


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
