"""One task's call chain: output check, breaker, retry, hedge and executor, built once.

The scheduler (``_scheduler``) decides when a task runs and when it is abandoned; this module
makes the call itself. ``build_call`` composes only the layers a task uses, once, so nothing
re-decides them per call; a plain async task has no chain at all (``Task.plain``: the
scheduler calls ``fn(state)`` itself).

A chain is called with the task's ``Slot``, and reads from it only what one call needs: the
state, the injected keyword arguments, the CPU-time cell of a sync call, whether the task was
abandoned at a timeout (the breaker counts that as a failure), and ``count_attempt`` for the
retry layer to report each attempt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, cast

from langgraph.errors import GraphBubbleUp
from langgraph.types import Command
from pydantic import BaseModel

from ._cache import cached
from ._errors import CircuitOpenError, InvalidOutputError, TaskTimeoutError
from ._executors import EXECUTORS, run_on
from ._hedge import hedged_call
from ._results import TaskStatus
from ._retry import call_with_retry
from ._task import Task
from ._threads import SyncPool, run_in_thread

if TYPE_CHECKING:
    from langgraph.cache.base import BaseCache

    from ._breaker import CircuitBreaker
    from ._hedge import HedgeState
    from ._slot import Slot

__all__ = ["Call", "build_call", "raise_later", "status_of", "with_values"]

Call = Callable[["Slot"], Coroutine[Any, Any, Any]]
"""A task's call chain: one call of the task, for one slot."""


def with_values(state: Any, values: Mapping[str, Any]) -> Any:
    """The state with the dependencies' values added, in the state's own type."""
    if isinstance(state, Mapping):
        return {**state, **values}
    if isinstance(state, BaseModel):
        return state.model_copy(update=dict(values))
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        known = {f.name for f in dataclasses.fields(state)}
        return dataclasses.replace(state, **{k: v for k, v in values.items() if k in known})
    return state  # a list or a scalar has no keys to add the values under


def _is_update(value: Any) -> bool:
    """Whether LangGraph could apply ``value`` as a node's update."""
    if value is None or isinstance(value, Mapping | Command | BaseModel):
        return True
    if isinstance(value, list | tuple):
        return all(isinstance(v, Mapping | Command) for v in value)
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def status_of(exc: BaseException) -> TaskStatus:
    if isinstance(exc, TaskTimeoutError):
        return TaskStatus.TIMEOUT
    if isinstance(exc, CircuitOpenError):
        return TaskStatus.CIRCUIT_OPEN
    if isinstance(exc, InvalidOutputError):
        return TaskStatus.INVALID_OUTPUT
    return TaskStatus.ERROR


def build_call(
    task: Task,
    hedge_state: HedgeState | None,
    *,
    sleep: Callable[[float], Awaitable[None]],
    pool: SyncPool,
    cache: BaseCache[Any] | None = None,
    breaker: CircuitBreaker | None = None,
) -> Call:
    """The task's call chain, outermost first: cache, breaker, output check, retry, hedge,
    executor.

    Args:
        hedge_state: The task's hedging and replica record (``None`` without either).
        sleep: The retry layer's backoff sleep.
        pool: The workers a sync function runs on.
        cache: Where a task with a ``cache_policy`` keeps its values (``None``: nowhere).
        breaker: The handle the engine resolved ``task.breaker`` to (``None``: no breaker).
    """
    run_one = _executor(task, pool)
    call: Callable[[Slot], Awaitable[Any]]
    if hedge_state is None:
        fn = task.fn

        def call(slot: Slot) -> Awaitable[Any]:
            return run_one(fn, slot)

    else:
        call = _hedged(task, hedge_state, run_one)
    if task.retry is not None:
        call = _retried(task, call, sleep)
    if task.returns == "update" or task.output_type is not None:
        call = _checked(task, call)
    if breaker is not None:
        call = _guarded(breaker, call)
    if task.cache_policy is not None and cache is not None:
        call = cached(task, call, cache)  # a hit calls nothing: no breaker, no retry
    # Every layer is a coroutine function, and so is the bare call of a task that is not
    # ``Task.plain`` (``run_on``, ``run_in_thread``, ``hedged_call``): what ``create_task`` takes.
    return cast(Call, call)


def _executor(task: Task, pool: SyncPool) -> Callable[[Callable[..., Any], Slot], Awaitable[Any]]:
    """One call of ``fn`` (``task.fn`` or a replica) where the task runs, as an awaitable."""
    if task.executor is not None:
        spec, name = task.executor, task.name

        def remote(fn: Callable[..., Any], slot: Slot) -> Awaitable[Any]:
            kwargs = slot.kwargs
            # A partial only when something is injected: a Ray method must stay itself.
            call = functools.partial(fn, **kwargs) if kwargs else fn
            return run_on(EXECUTORS.resolve(spec), call, (slot.state,), name)

        return remote
    if task.is_async:

        def direct(fn: Callable[..., Any], slot: Slot) -> Awaitable[Any]:
            result: Awaitable[Any] = fn(slot.state, **slot.kwargs)
            return result

        return direct

    def threaded(fn: Callable[..., Any], slot: Slot) -> Awaitable[Any]:
        return run_in_thread(fn, (slot.state,), slot.kwargs, slot.cpu, pool)

    return threaded


def _hedged(
    task: Task,
    state: HedgeState,
    run_one: Callable[[Callable[..., Any], Slot], Awaitable[Any]],
) -> Callable[[Slot], Awaitable[Any]]:
    # A partial, not a closure with a lambda per call: this runs on every call of the task.
    return functools.partial(hedged_call, state, task.hedge, run_one)


def _retried(
    task: Task,
    attempt: Callable[[Slot], Awaitable[Any]],
    sleep: Callable[[float], Awaitable[None]],
) -> Call:
    policy, budget, name = task.retry, task.timeout, task.name
    assert policy is not None

    async def call(slot: Slot) -> Any:
        return await call_with_retry(
            lambda: attempt(slot),
            policy,
            budget=budget,
            task=name,
            tier=slot.tier,
            on_attempt=slot.count_attempt,
            sleep=sleep,
        )

    return call


def _checked(task: Task, inner: Callable[[Slot], Awaitable[Any]]) -> Call:
    """Refuse a value that is not what the task declares (``INVALID_OUTPUT``)."""
    update = task.returns == "update"
    expected = task.output_type
    name = task.name

    async def call(slot: Slot) -> Any:
        value = await inner(slot)
        if update and not _is_update(value) and not slot.root_state:
            raise InvalidOutputError(task=name, expected=dict, got=type(value))
        if expected is not None and not isinstance(value, expected):
            raise InvalidOutputError(
                task=name,
                expected=expected if isinstance(expected, type) else expected[0],
                got=type(value),
            )
        return value

    return call


def _guarded(breaker: CircuitBreaker, inner: Callable[[Slot], Awaitable[Any]]) -> Call:
    """Call through the breaker: refused at once while it is open, its verdict recorded."""

    async def call(slot: Slot) -> Any:
        await breaker.check()  # raises CircuitOpenError: the task gets its default at once
        try:
            value = await inner(slot)
        except asyncio.CancelledError:
            # Abandoned at a timeout: a failure. Cancelled as a strategy's loser: no verdict.
            await (breaker.record_failure() if slot.timed_out else breaker.release())
            raise
        except GraphBubbleUp:  # an interrupt or a hand-off is not the backend failing
            await breaker.release()
            raise
        except Exception:
            await breaker.record_failure()
            raise
        await breaker.record_success()
        return value

    return call


async def raise_later(exc: Exception) -> Any:
    """A coroutine that raises ``exc``: a task that failed before its first await."""
    raise exc
