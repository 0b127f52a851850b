"""LangGraph's ``RetryPolicy``, carried out with tenacity inside one task's time budget."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from langgraph.errors import GraphBubbleUp
from langgraph.types import RetryPolicy
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_none,
    wait_random,
)

from ._errors import TaskTimeoutError

__all__ = ["call_with_retry", "should_retry"]


def should_retry(policy: RetryPolicy, exc: BaseException) -> bool:
    """Whether ``policy.retry_on`` accepts ``exc``, as LangGraph reads it."""
    if not isinstance(exc, Exception) or isinstance(exc, GraphBubbleUp):
        # KeyboardInterrupt, SystemExit and CancelledError are never retried; nor, as in
        # LangGraph, an interrupt() or a hand-off to the parent graph.
        return False
    retry_on = policy.retry_on
    if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    if callable(retry_on):
        predicate = cast(Callable[[Exception], bool], retry_on)
        return bool(predicate(exc))
    raise TypeError(
        "RetryPolicy.retry_on must be an exception type, a sequence of them, or a callable"
    )


def _wait(policy: RetryPolicy) -> Any:
    if policy.initial_interval <= 0:
        return wait_none()
    wait = wait_exponential(
        multiplier=policy.initial_interval,
        exp_base=policy.backoff_factor,
        min=policy.initial_interval,
        max=policy.max_interval,
    )
    # LangGraph adds up to one second of jitter; we never let it outgrow the base interval,
    # because the whole retry has to fit in the task's own timeout.
    return wait + wait_random(0, min(1.0, policy.initial_interval)) if policy.jitter else wait


async def call_with_retry(
    attempt: Callable[[], Awaitable[Any]],
    policy: RetryPolicy,
    *,
    budget: float,
    task: str,
    tier: str,
    on_attempt: Callable[[int], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Any:
    """Call ``attempt`` until it succeeds, the policy gives up, or the budget is spent.

    The budget is split, not reset: each attempt gets the time left divided by the attempts
    left, and a backoff sleep that would cross the budget ends the retries.

    Args:
        on_attempt: Told each attempt's number (from 1) as it starts.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + budget
    max_attempts = policy.max_attempts

    def _retry_on(exc: BaseException) -> bool:
        return should_retry(policy, exc)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_attempts) | stop_before_delay(budget),
        wait=_wait(policy),
        retry=retry_if_exception(_retry_on),
        sleep=sleep,
        reraise=True,
    )
    result: Any = None
    async for try_state in retrying:
        n = try_state.retry_state.attempt_number
        if on_attempt is not None:
            on_attempt(n)
        with try_state:
            now = loop.time()
            share = max(end - now, 0.0) / (max_attempts - n + 1)
            try:
                async with asyncio.timeout(share) as window:
                    result = attempt()
                    if inspect.isawaitable(result):
                        result = await result
            except TimeoutError as exc:
                if not window.expired():  # the task's own TimeoutError: report it as it is
                    raise
                raise TaskTimeoutError(
                    task=task, tier=tier, timeout=share, elapsed=loop.time() - start, attempt=n
                ) from exc
    return result
