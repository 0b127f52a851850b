"""A CircuitBreaker on a Task: failures open it, an open breaker answers with the default at
once (CIRCUIT_OPEN), a timeout counts as a failure, and a strategy's loser is no verdict."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from parallel_nodes import (
    FIRST_SUCCESS,
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    Task,
    TaskStatus,
    Tier,
    run_tier,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_failures_open_the_breaker_and_it_answers_at_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(
        "vectors", policy=BreakerPolicy(failure_threshold=2, recovery_timeout=30), clock=clock
    )
    calls = 0

    async def down(state: Any) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise ConnectionError("down")

    tier = Tier(
        "t", [Task("rag", down, timeout=1, default_factory=list, breaker=breaker)], timeout=1
    )
    statuses = [(await run_tier(tier, {}, observers=())).tasks["rag"].status for _ in range(2)]
    assert statuses == [TaskStatus.ERROR, TaskStatus.ERROR]
    assert breaker.state is BreakerState.OPEN
    start = time.perf_counter()
    result = await run_tier(tier, {}, observers=())
    fast = time.perf_counter() - start
    assert result.tasks["rag"].status is TaskStatus.CIRCUIT_OPEN
    assert result.values == {"rag": []}
    assert calls == 2  # the open breaker did not call the backend
    assert fast < 0.5 * 0.05  # answered without waiting on the backend
    clock.now = 31.0  # after recovery_timeout one probe goes through

    async def back(state: Any) -> list[str]:
        return ["doc"]

    probe = Tier("t", [Task("rag", back, timeout=1, breaker=breaker)], timeout=1)
    assert (await run_tier(probe, {}, observers=())).tasks["rag"].status is TaskStatus.OK
    assert breaker.state.value == "closed"


async def test_a_timeout_counts_as_a_failure() -> None:
    breaker = CircuitBreaker("slow", policy=BreakerPolicy(failure_threshold=1))

    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    tier = Tier("t", [Task("slow", hangs, timeout=0.05, breaker=breaker)], timeout=1)
    assert (await run_tier(tier, {}, observers=())).tasks["slow"].status is TaskStatus.TIMEOUT
    await asyncio.sleep(0.01)  # the abandoned task reports on its way out
    assert breaker.state is BreakerState.OPEN


async def test_a_cancelled_loser_is_no_verdict() -> None:
    breaker = CircuitBreaker("replica_b", policy=BreakerPolicy(failure_threshold=1))

    async def fast(state: Any) -> str:
        return "a"

    async def slow(state: Any) -> str:
        await asyncio.sleep(60)
        return "b"

    tier = Tier(
        "t",
        [Task("a", fast, timeout=1), Task("b", slow, timeout=1, breaker=breaker)],
        timeout=1,
        strategy=FIRST_SUCCESS,
    )
    result = await run_tier(tier, {}, observers=())
    await asyncio.sleep(0.01)
    assert result.tasks["b"].status is TaskStatus.CANCELLED
    assert breaker.state is BreakerState.CLOSED
