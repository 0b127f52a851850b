"""Hedged requests and replicas: the tail shrinks, the extra calls stay within budget, the
loser is cancelled, and a hedge goes to another replica.

The async ones run on virtual time (``tests/_virtual.py``): 600 tier runs with a heavy tail,
measured exactly, in the CPU time they need."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from parallel_nodes import Engine, Hedge, Task, TaskStatus, Tier, run_tier
from parallel_nodes.errors import ConfigError
from tests._virtual import virtual_time

FAST, SLOW = 0.004, 0.4  # a heavy tail: 4% of calls are 100x slower


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


async def _tail(hedge: Hedge | None, seed: int) -> tuple[list[float], int, int]:
    rng = random.Random(seed)
    calls = 0

    async def backend(state: Any) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(SLOW if rng.random() < 0.04 else FAST * rng.lognormvariate(0, 0.2))
        return "ok"

    task = Task("search", backend, timeout=2, hedge=hedge)
    tier = Tier("t", [task], timeout=2)
    engine = Engine()
    walls: list[float] = []
    await asyncio.gather(*(run_tier(tier, {}, engine=engine) for _ in range(40)))  # warm-up
    calls = 0
    state = engine.hedge_state(task)
    hedges_before = state.hedges if state else 0
    # On virtual time a collector pause costs no loop time, so no call is pushed past the delay.
    for _ in range(12):  # 12 waves of 50 concurrent tier runs
        results = await asyncio.gather(*(run_tier(tier, {}, engine=engine) for _ in range(50)))
        walls += [r.wall_time for r in results]
        assert all(r.tasks["search"].status is TaskStatus.OK for r in results)
    hedges = (state.hedges if state else 0) - hedges_before
    return walls, calls, hedges


@virtual_time
async def test_hedging_cuts_the_p99_within_its_budget() -> None:
    plain, _, _ = await _tail(None, seed=7)
    hedged, hedged_calls, hedges = await _tail(Hedge(delay=0.03, budget=0.10), seed=7)
    assert _p99(plain) > 0.8 * SLOW
    assert _p99(hedged) < _p99(plain) / 3
    extra = (hedged_calls - len(hedged)) / len(hedged)
    assert hedges > 0
    assert extra <= 0.10 + 1e-9


@virtual_time
async def test_observed_p95_delay_needs_samples_first() -> None:
    async def fast(state: Any) -> int:
        await asyncio.sleep(0.001)
        return 1

    task = Task("t", fast, timeout=1, hedge=Hedge(min_samples=5))
    tier = Tier("tier", [task], timeout=1)
    engine = Engine()
    state = engine.hedge_state(task)
    assert state is not None
    assert state.hedge_delay(task.hedge) is None
    for _ in range(6):
        await run_tier(tier, {}, engine=engine)
    delay = state.hedge_delay(task.hedge)
    assert delay is not None
    assert 0.0005 < delay < 0.05


@virtual_time
async def test_hedge_goes_to_another_replica_and_the_loser_is_cancelled() -> None:
    used: list[str] = []
    cancelled: list[str] = []

    def replica(name: str, seconds: float) -> Any:
        async def call(state: Any) -> str:
            used.append(name)
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return name

        return call

    task = Task(
        "search",
        replica("primary", 1.0),
        timeout=2,
        hedge=Hedge(delay=0.02, budget=1.0),
        replicas=[replica("replica", 0.01)],
    )
    result = await run_tier(Tier("t", [task], timeout=2), {}, observers=())
    await asyncio.sleep(0)
    assert result.values == {"search": "replica"}
    assert result.wall_time < 0.2
    assert used == ["primary", "replica"]
    assert cancelled == ["primary"]


async def test_replicas_share_the_load_round_robin() -> None:
    used: list[int] = []

    def replica(i: int) -> Any:
        def call(state: Any) -> int:
            used.append(i)
            return i

        return call

    task = Task("calc", replica(0), timeout=1, replicas=[replica(1), replica(2)])
    tier = Tier("t", [task], timeout=1)
    for _ in range(6):
        await run_tier(tier, {}, observers=())
    assert used == [0, 1, 2, 0, 1, 2]


def test_hedge_and_replica_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"hedge\.budget"):
        Hedge(budget=0)
    with pytest.raises(ConfigError, match=r"hedge\.delay"):
        Hedge(delay=-1)

    async def a(state: Any) -> int:
        return 1

    with pytest.raises(ConfigError, match=r"t\.replicas"):
        Task("t", a, timeout=1, replicas=[lambda s: 1])
    with pytest.raises(ConfigError, match=r"t\.balance"):
        Task("t", a, timeout=1, replicas=[a], balance="random")
