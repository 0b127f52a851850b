"""``Engine``: each engine keeps its own observers, stragglers, worker pool and per-task run
state, and a run nested in a task uses the engine of the run around it. Its clock drives
breaker and replica cool-downs: a fake one without sleeping, or the virtual loop's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langgraph.types import RetryPolicy

from parallel_nodes import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    Engine,
    Hedge,
    OutlierDetection,
    Task,
    TaskStatus,
    Tier,
    map_task,
    run_tier,
)
from parallel_nodes._threads import SyncPool
from parallel_nodes.diagnostics import abandoned_total, default_engine
from tests._virtual import virtual_time
from tests.conftest import RecordingObserver


async def _hang(state: Any) -> None:
    await asyncio.sleep(10)


async def test_an_engine_tells_its_own_observers_and_counts_its_own_stragglers() -> None:
    recorder = RecordingObserver()
    engine = Engine(observers=[recorder])
    before = abandoned_total()
    tier = Tier("t", [Task("slow", _hang, timeout=0.01, default="d")], timeout=1)
    result = await run_tier(tier, {}, engine=engine)
    assert result.tasks["slow"].status is TaskStatus.TIMEOUT
    assert [r.name for _, _, r in recorder.tasks] == ["slow"]
    assert recorder.tiers == [result]
    assert engine.stragglers.abandoned == 1
    assert abandoned_total() == before  # the default engine saw nothing of it
    await asyncio.sleep(0)
    assert len(engine.stragglers) == 0  # the cancelled task ended, and was let go


async def test_observers_given_to_a_run_replace_the_engines() -> None:
    mine, engines = RecordingObserver(), RecordingObserver()
    engine = Engine(observers=[engines])
    tier = Tier("t", [Task("a", lambda s: 1, timeout=1)], timeout=1)
    await run_tier(tier, {}, engine=engine, observers=[mine])
    assert len(mine.tiers) == 1
    assert engines.tiers == []


async def test_a_run_nested_in_a_task_uses_the_outer_runs_engine() -> None:
    async def item(x: int) -> int:
        await asyncio.sleep(10 if x == 2 else 0)
        return x

    engine = Engine()
    before = abandoned_total()
    fan = map_task("fan", item, items=lambda s: [1, 2], timeout=1, item_timeout=0.01)
    result = await run_tier(Tier("outer", [fan], timeout=1), {}, engine=engine)
    assert result.values == {"fan": [1]}
    assert engine.stragglers.abandoned == 1  # item 2, abandoned by map_task's own run
    assert abandoned_total() == before


async def test_a_sync_task_runs_on_its_engines_pool() -> None:
    pool = SyncPool(4)
    engine = Engine(pool=pool)
    seen: list[int] = []

    def work(state: Any) -> int:
        seen.append(pool.threads)
        return 1

    await run_tier(Tier("t", [Task("a", work, timeout=1)], timeout=1), {}, engine=engine)
    assert seen == [1]


async def test_each_engine_keeps_its_own_hedging_record_for_a_task() -> None:
    async def fast(state: Any) -> int:
        return 1

    task = Task("h", fast, timeout=1, hedge=Hedge(delay=0.5))
    tier = Tier("t", [task], timeout=1)
    one, two = Engine(), Engine()
    for _ in range(3):
        await run_tier(tier, {}, engine=one)
    first, second = one.hedge_state(task), two.hedge_state(task)
    assert first is not None
    assert second is not None
    assert (first.calls, second.calls) == (3, 0)
    assert one.call_for(task) is one.call_for(task)  # built once per task


def test_observers_are_checked() -> None:
    with pytest.raises(TypeError, match=r"observers\[0\]"):
        Engine(observers=[object()])  # type: ignore[list-item]


def test_the_default_engine_is_one_per_process() -> None:
    assert default_engine() is default_engine()


async def test_a_retrys_backoff_sleeps_on_the_engines_sleep() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = 0

    async def flaky(state: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("blip")
        return "ok"

    policy = RetryPolicy(initial_interval=0.5, backoff_factor=2.0, jitter=False, max_attempts=3)
    tier = Tier("t", [Task("flaky", flaky, timeout=60, retry=policy)], timeout=60)
    result = await run_tier(tier, {}, engine=Engine(sleep=sleep))
    assert result.tasks["flaky"].attempts == 3
    assert slept == [0.5, 1.0]  # the backoff, handed to the engine's sleep: no real waiting


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_breaker_cools_down_on_the_engines_clock() -> None:
    clock, calls = FakeClock(), []

    async def search(state: Any) -> str:
        calls.append(clock.now)
        if clock.now < 30:
            raise ConnectionError("down")
        return "hit"

    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=30)
    task = Task("search", search, timeout=1, default="", breaker=Breaker("api", policy=policy))
    tier, engine = Tier("t", [task], timeout=1), Engine(clock=clock)

    async def status() -> TaskStatus:
        return (await run_tier(tier, {}, engine=engine, observers=())).tasks["search"].status

    assert await status() is TaskStatus.ERROR
    clock.now = 29.999
    assert await status() is TaskStatus.CIRCUIT_OPEN
    clock.now = 30.0
    assert await status() is TaskStatus.OK  # the probe, on the dot
    assert engine.breaker("api").state is BreakerState.CLOSED
    assert calls == [0.0, 30.0]


async def test_an_ejected_replica_cools_down_on_the_engines_clock() -> None:
    clock, called = FakeClock(), []

    async def primary(state: Any) -> str:
        called.append("primary")
        raise ConnectionError("primary down")

    async def mirror(state: Any) -> str:
        called.append("mirror")
        return "ok"

    outlier = OutlierDetection(consecutive_failures=1, cool_down=10.0)
    task = Task("api", primary, timeout=1, default="", replicas=[mirror], outlier=outlier)
    tier, engine = Tier("t", [task], timeout=1), Engine(clock=clock)
    for _ in range(4):
        await run_tier(tier, {}, engine=engine, observers=())
    assert called == ["primary", "mirror", "mirror", "mirror"]  # ejected after its failure
    clock.now = 9.999
    await run_tier(tier, {}, engine=engine, observers=())
    assert called[-1] == "mirror"
    clock.now = 10.0
    await run_tier(tier, {}, engine=engine, observers=())
    assert called[-1] == "primary"  # its probe, when the cool-down ends
    replicas = engine.hedge_state(task)
    assert replicas is not None
    assert replicas.replicas.is_ejected(0)  # it failed again


@virtual_time
async def test_a_breaker_opens_cools_down_and_half_opens_on_the_virtual_loop() -> None:
    loop, up = asyncio.get_running_loop(), False

    async def search(state: Any) -> str:
        await asyncio.sleep(1.0)  # a virtual second
        if not up:
            raise ConnectionError("down")
        return "hit"

    policy = BreakerPolicy(failure_threshold=2, recovery_timeout=600, success_threshold=2)
    task = Task("search", search, timeout=5, default="", breaker=Breaker("api", policy=policy))
    tier, engine = Tier("t", [task], timeout=5), Engine()  # the default clock: the loop's
    breaker = engine.breaker(Breaker("api", policy=policy))
    wall = time.perf_counter()
    for _ in range(2):
        await run_tier(tier, {}, engine=engine, observers=())
    assert breaker.state is BreakerState.OPEN
    opened = loop.time()
    refused = await run_tier(tier, {}, engine=engine, observers=())
    assert refused.tasks["search"].status is TaskStatus.CIRCUIT_OPEN
    await asyncio.sleep(600)  # the cool-down, in virtual time
    up = True
    probe = await run_tier(tier, {}, engine=engine, observers=())
    assert probe.tasks["search"].status is TaskStatus.OK
    assert engine.breaker("api").state is BreakerState.HALF_OPEN  # one of two probe successes
    await run_tier(tier, {}, engine=engine, observers=())
    assert engine.breaker("api").state is BreakerState.CLOSED
    assert loop.time() - opened == pytest.approx(602.0)
    assert time.perf_counter() - wall < 5.0  # ten virtual minutes, no real waiting
