"""One task's call: sync or async, with retries, a breaker, hedging and output checks.

The scheduler (``_run``) decides when a task runs and when it is abandoned; this module makes
the call itself, so the fast path in ``_TierRun.launch`` stays a plain ``fn(state)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphBubbleUp
from langgraph.types import Command
from pydantic import BaseModel

from ._errors import CircuitOpenError, InvalidOutputError, TaskTimeoutError
from ._executors import EXECUTORS, run_on
from ._hedge import hedged_call
from ._results import TaskStatus
from ._retry import call_with_retry
from ._task import Task
from ._threads import run_in_thread

if TYPE_CHECKING:
    from ._run import _Slot

__all__ = ["invoke", "raise_later", "status_of", "with_values"]

_ROOT = "__root__"
"""The one channel of a graph whose state is a single value (LangGraph's name for it)."""


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


def _root_state(slot: _Slot) -> bool:
    """Whether the graph's state is one value (``StateGraph(str)``): any value is an update."""
    channels = slot.run.channels
    return channels is not None and _ROOT in channels


def status_of(exc: BaseException) -> TaskStatus:
    if isinstance(exc, TaskTimeoutError):
        return TaskStatus.TIMEOUT
    if isinstance(exc, CircuitOpenError):
        return TaskStatus.CIRCUIT_OPEN
    if isinstance(exc, InvalidOutputError):
        return TaskStatus.INVALID_OUTPUT
    return TaskStatus.ERROR


async def invoke(task: Task, slot: _Slot) -> Any:
    """The slow path: sync functions, retries, breakers and output checks."""
    breaker = task.breaker
    if breaker is None:
        return await _call(task, slot)
    await breaker.check()  # raises CircuitOpenError: the task gets its default at once
    try:
        value = await _call(task, slot)
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


def _call_fn(task: Task, fn: Callable[..., Any], slot: _Slot) -> Any:
    """One call of ``fn`` (``task.fn`` or a replica), as an awaitable."""
    if task.executor is not None:
        kwargs = slot.kwargs
        # A partial only when something is injected: a Ray method must stay itself to be found.
        call = functools.partial(fn, **kwargs) if kwargs else fn
        return run_on(EXECUTORS.resolve(task.executor), call, (slot.state,), task.name)
    if task.is_async:
        return fn(slot.state, **slot.kwargs)
    return run_in_thread(fn, (slot.state,), slot.kwargs, slot.cpu)


def _one_call(task: Task, slot: _Slot) -> Any:
    """One attempt: a plain call, or a hedged call over the task's replicas."""
    hedge_state = task.hedge_state
    if hedge_state is None:
        return _call_fn(task, task.fn, slot)

    async def call(fn: Any) -> Any:
        return await _call_fn(task, fn, slot)

    return hedged_call(hedge_state, task.hedge, call)


async def _call(task: Task, slot: _Slot) -> Any:
    if task.retry is None:
        value = await _one_call(task, slot)
    else:

        def attempt() -> Any:
            return _one_call(task, slot)

        value = await call_with_retry(
            attempt,
            task.retry,
            budget=task.timeout,
            task=task.name,
            tier=slot.run.tier.name,
            counter=slot,
        )
    if task.returns == "update" and not _is_update(value) and not _root_state(slot):
        raise InvalidOutputError(task=task.name, expected=dict, got=type(value))
    expected = task.output_type
    if expected is not None and not isinstance(value, expected):
        raise InvalidOutputError(
            task=task.name,
            expected=expected if isinstance(expected, type) else expected[0],
            got=type(value),
        )
    return value


async def raise_later(exc: Exception) -> Any:
    """A coroutine that raises ``exc``: a task that failed before its first await."""
    raise exc
