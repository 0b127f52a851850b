"""Hedged requests and replicas: the tail shrinks, the extra calls stay within budget, the
loser is cancelled, and a hedge goes to another replica.

The async ones run on virtual time (``tests/_virtual.py``): 600 tier runs with a heavy tail,
measured exactly, in the CPU time they need."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Coroutine
from typing import Any

import pytest
from langgraph.errors import GraphInterrupt

from parallel_nodes import Engine, Hedge, Task, TaskStatus, Tier, run_tier
from parallel_nodes._balance import BalanceStrategy
from parallel_nodes._hedge import _COMPACT_AT, REFRESH_EVERY, HedgeState, hedged_call
from parallel_nodes.errors import ConfigError
from tests._virtual import VirtualClockLoop, virtual_time

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


# -- one hedged call, on virtual time ----------------------------------------------------------


def _state(hedge: Hedge, *replicas: Any) -> HedgeState:
    return HedgeState(hedge, replicas, BalanceStrategy.ROUND_ROBIN)


def _run_one(fn: Any, slot: Any) -> Any:
    return fn(slot)


def _call(state: HedgeState, hedge: Hedge) -> Coroutine[Any, Any, Any]:
    """One hedged call; its backends take the slot and ignore it."""
    slot: Any = None
    return hedged_call(state, hedge, _run_one, slot)


def _cancelling() -> int:
    """Cancellation requests pending on this task: a hedged call must leave none behind."""
    this = asyncio.current_task()
    assert this is not None
    return this.cancelling()


def _backend(
    value: str, seconds: float, log: list[str], *, error: BaseException | None = None
) -> Any:
    async def call(slot: Any) -> str:
        log.append(f"{value} started")
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            log.append(f"{value} cancelled")
            raise
        if error is not None:
            raise error
        return value

    return call


@virtual_time
async def test_a_call_faster_than_the_delay_runs_in_the_callers_task_and_never_hedges() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    async def fast(slot: Any) -> str:
        tasks.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        return "ok"

    hedge = Hedge(delay=0.05, budget=1.0)
    state = _state(hedge, fast, fast)
    assert await _call(state, hedge) == "ok"
    await asyncio.sleep(0.1)  # well past the delay: its timer is off, no hedge starts late
    assert tasks == [asyncio.current_task()]  # no task of its own for the first attempt
    assert (state.calls, state.hedges, state.sketch.count) == (1, 0, 1)


@virtual_time
async def test_a_winning_hedge_returns_its_value_and_takes_back_its_cancellation() -> None:
    log: list[str] = []
    hedge = Hedge(delay=0.02, budget=1.0)
    state = _state(hedge, _backend("primary", 1.0, log), _backend("replica", 0.01, log))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await _call(state, hedge) == "replica"
    assert loop.time() - t0 == pytest.approx(0.03)
    assert _cancelling() == 0
    assert log == ["primary started", "replica started", "primary cancelled"]
    assert (state.hedges, state.sketch.count) == (1, 2)  # the loser was at least 30 ms slow
    await asyncio.sleep(2.0)  # nothing is left to end later
    assert state.sketch.count == 2


@virtual_time
async def test_a_cancellation_from_outside_during_the_race_is_not_swallowed() -> None:
    log: list[str] = []
    outer: list[asyncio.Task[Any]] = []

    async def replica(slot: Any) -> str:
        await asyncio.sleep(0.01)
        outer[0].cancel()  # the caller is cancelled just as the hedge wins
        return "replica"

    hedge = Hedge(delay=0.02, budget=1.0)
    state = _state(hedge, _backend("primary", 1.0, log), replica)
    outer.append(asyncio.create_task(_call(state, hedge)))
    with pytest.raises(asyncio.CancelledError):
        await outer[0]
    assert outer[0].cancelled()
    assert log == ["primary started", "primary cancelled"]


@virtual_time
async def test_a_first_attempt_that_swallows_the_cancellation_still_yields_the_hedge() -> None:
    async def stubborn(slot: Any) -> str:
        with contextlib.suppress(asyncio.CancelledError):  # a backend that ignores it
            await asyncio.sleep(1.0)
        return "stubborn"

    hedge = Hedge(delay=0.02, budget=1.0)
    state = _state(hedge, stubborn, _backend("replica", 0.01, []))
    assert await _call(state, hedge) == "replica"
    assert _cancelling() == 0


@virtual_time
async def test_a_failed_first_attempt_waits_for_the_hedge_already_running() -> None:
    log: list[str] = []
    hedge = Hedge(delay=0.02, budget=1.0)
    primary = _backend("primary", 0.03, log, error=ValueError("primary failed"))
    state = _state(hedge, primary, _backend("replica", 0.05, log))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await _call(state, hedge) == "replica"
    assert loop.time() - t0 == pytest.approx(0.07)


@virtual_time
async def test_when_both_attempts_fail_the_first_error_is_raised() -> None:
    hedge = Hedge(delay=0.02, budget=1.0)
    first_fails_first = _state(
        hedge,
        _backend("primary", 0.03, [], error=ValueError("primary failed")),
        _backend("replica", 0.05, [], error=KeyError("replica failed")),
    )
    with pytest.raises(ValueError, match="primary failed"):
        await _call(first_fails_first, hedge)
    hedge_fails_first = _state(
        hedge,
        _backend("primary", 0.1, [], error=ValueError("primary failed")),
        _backend("replica", 0.01, [], error=KeyError("replica failed")),
    )
    with pytest.raises(KeyError, match="replica failed"):
        await _call(hedge_fails_first, hedge)


@virtual_time
async def test_a_failure_before_the_delay_is_raised_at_once_without_a_hedge() -> None:
    hedge = Hedge(delay=0.02, budget=1.0)
    log: list[str] = []
    state = _state(
        hedge,
        _backend("primary", 0.01, log, error=ValueError("primary failed")),
        _backend("replica", 0.01, log),
    )
    with pytest.raises(ValueError, match="primary failed"):
        await _call(state, hedge)
    await asyncio.sleep(0.1)
    assert (log, state.hedges) == (["primary started"], 0)


@virtual_time
async def test_an_interrupt_from_the_hedge_ends_the_call() -> None:
    log: list[str] = []
    hedge = Hedge(delay=0.02, budget=1.0)
    replica = _backend("replica", 0.01, log, error=GraphInterrupt())
    state = _state(hedge, _backend("primary", 1.0, log), replica)
    with pytest.raises(GraphInterrupt):
        await _call(state, hedge)
    assert log == ["primary started", "replica started", "primary cancelled"]
    assert _cancelling() == 0


def test_the_observed_delay_is_cached_between_refreshes() -> None:
    hedge = Hedge(min_samples=3, quantile=0.5)
    state = _state(hedge, _run_one)
    sketch = state.sketch
    for seconds in (0.01, 0.02):
        sketch.observe(seconds)
        assert state.hedge_delay(hedge) is None  # asked again after each sample until known
    sketch.observe(0.03)
    assert state.hedge_delay(hedge) == pytest.approx(0.02)
    for _ in range(REFRESH_EVERY - 1):  # much slower calls: not seen until the refresh
        sketch.observe(1.0)
        assert state.hedge_delay(hedge) == pytest.approx(0.02)
    sketch.observe(1.0)
    assert state.hedge_delay(hedge) == pytest.approx(1.0)


def _slow_first(hedged_at: list[float]) -> Any:
    """One replica: slow in a task named "caller" (a first attempt runs in its caller's task),
    instant in a hedge's own task, which records when it started."""

    async def call(slot: Any) -> str:
        this = asyncio.current_task()
        assert this is not None
        if this.get_name() == "caller":
            await asyncio.sleep(1.0)
            return "primary"
        hedged_at.append(round(asyncio.get_running_loop().time(), 6))
        return "hedge"

    return call


def _caller(state: HedgeState, hedge: Hedge) -> asyncio.Task[Any]:
    return asyncio.create_task(_call(state, hedge), name="caller")


@virtual_time
async def test_calls_are_hedged_at_their_own_delay_under_one_timer() -> None:
    loop = asyncio.get_running_loop()
    hedged_at: list[float] = []
    hedge = Hedge(delay=0.05, budget=1.0)
    state = _state(hedge, _slow_first(hedged_at))
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    calls = [_caller(state, hedge) for _ in range(3)]
    await asyncio.sleep(0.01)
    calls.append(_caller(state, hedge))
    await asyncio.sleep(0)
    # Four calls waiting for their delay, one loop timer between them (and one per sleep).
    assert len(state.due) == 4
    assert len(loop._scheduled) - timers_before == 1 + 4  # type: ignore[attr-defined]
    assert await asyncio.gather(*calls) == ["hedge"] * 4
    # Decided one loop turn after the delay, on virtual time: at 0.05 and at 0.06.
    assert hedged_at == [0.05] * 3 + [0.06]
    assert len(state.due) == 0


@virtual_time
async def test_a_shorter_delay_is_queued_before_longer_ones_already_waiting() -> None:
    hedged_at: list[float] = []
    long_wait, short_wait = Hedge(delay=0.5, budget=1.0), Hedge(delay=0.02, budget=1.0)
    state = _state(long_wait, _slow_first(hedged_at))
    first = _caller(state, long_wait)
    await asyncio.sleep(0)
    # As when an observed delay goes down between refreshes: due before the call ahead of it.
    second = _caller(state, short_wait)
    assert [await first, await second] == ["hedge", "hedge"]
    assert hedged_at == [0.02, 0.5]


@virtual_time
async def test_calls_that_end_before_their_delay_do_not_pile_up() -> None:
    async def fast(slot: Any) -> str:
        await asyncio.sleep(0.001)
        return "ok"

    hedge = Hedge(delay=60.0, budget=1.0)  # a long delay: every call ends well before it
    state = _state(hedge, fast)
    for _ in range(10):
        await asyncio.gather(*(_call(state, hedge) for _ in range(100)))
    assert len(state.due) <= 2 * (_COMPACT_AT + 1)
    assert state.hedges == 0


def test_a_new_event_loop_takes_the_queue_over() -> None:
    # The default engine outlives asyncio.run: on its next loop, calls must still be hedged.
    hedged_at: list[float] = []
    hedge = Hedge(delay=0.05, budget=1.0)
    state = _state(hedge, _slow_first(hedged_at))

    async def one_run() -> None:
        assert await _caller(state, hedge) == "hedge"
        # Ends before its delay, and leaves the queue's timer armed on this loop.
        assert await asyncio.create_task(_call(state, hedge), name="quick") == "hedge"

    for start in (0.0, 10.0):  # a monotonic clock goes on from one loop to the next
        loop = VirtualClockLoop()
        loop._virtual_now = start
        try:
            loop.run_until_complete(one_run())
        finally:
            loop.close()
    assert state.hedges == 2


@virtual_time
async def test_an_interrupt_after_a_swallowed_cancellation_leaves_no_request_behind() -> None:
    async def stubborn(slot: Any) -> str:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1.0)
        raise GraphInterrupt()

    hedge = Hedge(delay=0.02, budget=1.0)
    state = _state(hedge, stubborn, _backend("replica", 0.01, []))
    with pytest.raises(GraphInterrupt):
        await _call(state, hedge)
    assert _cancelling() == 0


@virtual_time
async def test_a_hedge_cancelled_before_its_task_ran_is_not_counted() -> None:
    backend_calls: list[str] = []

    async def primary(slot: Any) -> str:
        backend_calls.append("primary")
        await asyncio.sleep(0.01)  # due with the hedge: it is decided as this call ends
        return "primary"

    async def replica(slot: Any) -> str:
        backend_calls.append("replica")
        return "replica"

    hedge = Hedge(delay=0.01, budget=1.0)
    state = _state(hedge, primary, replica)
    assert await _call(state, hedge) == "primary"
    await asyncio.sleep(0.1)
    assert backend_calls == ["primary"]
    assert state.hedges == 0  # a hedge is a call sent, not a task created
