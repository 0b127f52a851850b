"""A breaker on a Task: failures open it, an open breaker answers with the default at once
(CIRCUIT_OPEN), a timeout counts as a failure, and a strategy's loser is no verdict."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from parallel_nodes import (
    FIRST_SUCCESS,
    Breaker,
    BreakerPolicy,
    BreakerState,
    Engine,
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
    engine = Engine(clock=clock)
    vectors = Breaker("vectors", policy=BreakerPolicy(failure_threshold=2, recovery_timeout=30))
    calls = 0

    async def down(state: Any) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise ConnectionError("down")

    tier = Tier(
        "t", [Task("rag", down, timeout=1, default_factory=list, breaker=vectors)], timeout=1
    )
    runs = [await run_tier(tier, {}, engine=engine, observers=()) for _ in range(2)]
    assert [run.tasks["rag"].status for run in runs] == [TaskStatus.ERROR, TaskStatus.ERROR]
    breaker = engine.breaker("vectors")
    assert breaker.state is BreakerState.OPEN
    start = time.perf_counter()
    result = await run_tier(tier, {}, engine=engine, observers=())
    fast = time.perf_counter() - start
    assert result.tasks["rag"].status is TaskStatus.CIRCUIT_OPEN
    assert result.values == {"rag": []}
    assert calls == 2  # the open breaker did not call the backend
    assert fast < 0.5 * 0.05  # answered without waiting on the backend
    clock.now = 31.0  # after recovery_timeout one probe goes through

    async def back(state: Any) -> list[str]:
        return ["doc"]

    probe = Tier("t", [Task("rag", back, timeout=1, breaker=vectors)], timeout=1)
    probed = await run_tier(probe, {}, engine=engine, observers=())
    assert probed.tasks["rag"].status is TaskStatus.OK
    assert breaker.state.value == "closed"


async def test_a_timeout_counts_as_a_failure() -> None:
    engine = Engine()
    breaker = Breaker("slow", policy=BreakerPolicy(failure_threshold=1))

    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    tier = Tier("t", [Task("slow", hangs, timeout=0.05, breaker=breaker)], timeout=1)
    result = await run_tier(tier, {}, engine=engine, observers=())
    assert result.tasks["slow"].status is TaskStatus.TIMEOUT
    await asyncio.sleep(0.01)  # the abandoned task reports on its way out
    assert engine.breaker("slow").state is BreakerState.OPEN


async def test_a_cancelled_loser_is_no_verdict() -> None:
    engine = Engine()
    breaker = Breaker("replica_b", policy=BreakerPolicy(failure_threshold=1))

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
    result = await run_tier(tier, {}, engine=engine, observers=())
    await asyncio.sleep(0.01)
    assert result.tasks["b"].status is TaskStatus.CANCELLED
    assert engine.breaker(breaker).state is BreakerState.CLOSED
