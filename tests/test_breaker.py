"""Circuit breaker: the pure state machine on a made-up clock, the run-state object, and Redis
shared by real processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallel_nodes._breaker import (
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    InMemoryBreakerStore,
    RedisBreakerStore,
    allow,
    record_failure,
    record_success,
    release,
    retry_after,
)
from parallel_nodes.errors import CircuitOpenError, ConfigError

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def fail_n(s: BreakerSnapshot, policy: BreakerPolicy, n: int, now: float = 0.0) -> BreakerSnapshot:
    for _ in range(n):
        ok, s = allow(s, policy, now)
        assert ok
        s = record_failure(s, policy, now)
    return s


def opened(policy: BreakerPolicy, at: float = 100.0) -> BreakerSnapshot:
    s = fail_n(BreakerSnapshot(), policy, policy.failure_threshold, now=at)
    assert s.state is OPEN
    return s


# --- the pure state machine ----------------------------------------------------------------


def test_opens_after_exactly_failure_threshold_consecutive_failures() -> None:
    policy = BreakerPolicy(failure_threshold=3)
    s = fail_n(BreakerSnapshot(), policy, 2, now=1.0)
    assert (s.state, s.consecutive_failures) == (CLOSED, 2)
    s = fail_n(s, policy, 1, now=7.0)
    assert (s.state, s.consecutive_failures, s.opened_at) == (OPEN, 3, 7.0)


def test_a_success_resets_the_consecutive_count() -> None:
    policy = BreakerPolicy(failure_threshold=3)
    s = fail_n(BreakerSnapshot(), policy, 2)
    s = record_success(s, policy, 0.0)
    s = fail_n(s, policy, 2)
    assert (s.state, s.consecutive_failures) == (CLOSED, 2)


def test_open_rejects_until_recovery_timeout_then_admits_a_probe() -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=30.0)
    s = opened(policy, at=100.0)
    for now in (100.0, 115.0, 129.999):
        ok, after = allow(s, policy, now)
        assert not ok
        assert after is s
        assert retry_after(s, policy, now) == pytest.approx(130.0 - now)
    ok, s = allow(s, policy, 130.0)
    assert ok
    assert (s.state, s.half_open_in_flight, s.probe_at) == (HALF_OPEN, 1, 130.0)


@pytest.mark.parametrize("probes", [1, 3])
def test_half_open_admits_exactly_half_open_max_calls_probes(probes: int) -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=10.0, half_open_max_calls=probes)
    s = opened(policy, at=0.0)
    admitted = 0
    for _ in range(probes + 5):
        ok, s = allow(s, policy, 10.0)
        admitted += ok
    assert admitted == probes
    assert (s.state, s.half_open_in_flight) == (HALF_OPEN, probes)
    assert retry_after(s, policy, 12.0) == pytest.approx(8.0)


def test_probe_success_closes_and_forgets_the_failures() -> None:
    policy = BreakerPolicy(failure_threshold=2, recovery_timeout=5.0)
    ok, s = allow(opened(policy, at=0.0), policy, 5.0)
    assert ok
    s = record_success(s, policy, 6.0)
    assert s == BreakerSnapshot()
    assert fail_n(s, policy, 1).state is CLOSED  # the count starts again from zero


def test_success_threshold_needs_that_many_probe_successes() -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=5.0, success_threshold=2)
    ok, s = allow(opened(policy, at=0.0), policy, 5.0)
    assert ok
    s = record_success(s, policy, 5.0)
    assert (s.state, s.half_open_successes, s.half_open_in_flight) == (HALF_OPEN, 1, 0)
    ok, s = allow(s, policy, 5.0)  # the freed slot admits the second probe
    assert ok
    assert record_success(s, policy, 5.0).state is CLOSED


def test_probe_failure_reopens_with_a_fresh_recovery_timeout() -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=10.0)
    ok, s = allow(opened(policy, at=0.0), policy, 10.0)
    assert ok
    s = record_failure(s, policy, 12.0)
    assert (s.state, s.opened_at, s.half_open_in_flight) == (OPEN, 12.0, 0)
    assert allow(s, policy, 21.9)[0] is False
    assert allow(s, policy, 22.0)[0] is True


def test_failure_rate_opens_over_the_window_once_min_calls_is_reached() -> None:
    policy = BreakerPolicy(failure_threshold=100, failure_rate=0.5, window=6, min_calls=4)
    s = BreakerSnapshot()
    s = fail_n(s, policy, 3)  # 100% failing, but only 3 of min_calls=4
    assert s.state is CLOSED
    s = record_success(s, policy, 0.0)  # F F F S: 3/4 fail
    assert s.state is CLOSED  # successes never open it
    s = fail_n(s, policy, 1)
    assert s.state is OPEN
    assert s.recent == ()  # the window restarts after the breaker closes


def test_failure_rate_only_counts_the_last_window_calls() -> None:
    policy = BreakerPolicy(failure_threshold=100, failure_rate=0.5, window=4)
    s = BreakerSnapshot()
    for outcome in "FFSSSS":  # the two early failures slide out of the window
        s = fail_n(s, policy, 1) if outcome == "F" else record_success(s, policy, 0.0)
    assert s.recent == (True, True, True, True)
    s = fail_n(s, policy, 1)  # S S S F: 1/4
    assert s.state is CLOSED
    s = fail_n(s, policy, 1)  # S S F F: 2/4 reaches 0.5
    assert s.state is OPEN


def test_without_failure_rate_no_history_is_kept() -> None:
    policy = BreakerPolicy(failure_threshold=100)
    s = record_success(fail_n(BreakerSnapshot(), policy, 10), policy, 0.0)
    assert s.recent == ()


def test_late_reports_while_open_change_nothing() -> None:
    policy = BreakerPolicy(failure_threshold=1)
    s = opened(policy)
    assert record_failure(s, policy, 500.0) is s
    assert record_success(s, policy, 500.0) is s
    assert release(s, policy, 500.0) is s


def test_release_frees_a_probe_slot_without_a_verdict() -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=1.0)
    ok, s = allow(opened(policy, at=0.0), policy, 1.0)
    assert ok
    assert allow(s, policy, 1.5)[0] is False
    s = release(s, policy, 1.5)
    assert (s.state, s.half_open_in_flight, s.half_open_successes) == (HALF_OPEN, 0, 0)
    assert allow(s, policy, 1.5)[0] is True


def test_lost_probes_expire_after_recovery_timeout() -> None:
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout=10.0)
    ok, s = allow(opened(policy, at=0.0), policy, 10.0)  # this probe never reports back
    assert ok
    assert allow(s, policy, 19.9)[0] is False
    ok, s = allow(s, policy, 20.0)
    assert ok
    assert (s.half_open_in_flight, s.probe_at) == (1, 20.0)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.sampled_from("asfr"), st.floats(0, 5)), max_size=60),
    probes=st.integers(1, 3),
    rate=st.none() | st.floats(0.1, 1.0),
)
def test_invariants_hold_for_any_sequence(
    ops: list[tuple[str, float]], probes: int, rate: float | None
) -> None:
    policy = BreakerPolicy(
        failure_threshold=3,
        failure_rate=rate,
        window=5,
        min_calls=3,
        recovery_timeout=2.0,
        half_open_max_calls=probes,
    )
    s, now = BreakerSnapshot(), 0.0
    for op, dt in ops:
        now += dt
        if op == "a":
            s = allow(s, policy, now)[1]
        elif op == "s":
            s = record_success(s, policy, now)
        elif op == "f":
            s = record_failure(s, policy, now)
        else:
            s = release(s, policy, now)
        assert 0 <= s.half_open_in_flight <= probes
        assert len(s.recent) <= policy.window
        assert s.consecutive_failures <= policy.failure_threshold
        if s.state is not HALF_OPEN:
            assert (s.half_open_in_flight, s.half_open_successes) == (0, 0)
        assert (s.opened_at is not None) or s.state is CLOSED
        wait = retry_after(s, policy, now)
        assert 0.0 <= wait <= policy.recovery_timeout
        assert (wait == 0.0) == allow(s, policy, now)[0]


# --- policy validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": 2.5}, "failure_threshold"),
        ({"failure_threshold": True}, "failure_threshold"),
        ({"failure_rate": 0.0}, "failure_rate"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"failure_rate": "half"}, "failure_rate"),
        ({"window": 0}, "window"),
        ({"min_calls": 0}, "min_calls"),
        ({"window": 5, "min_calls": 6}, "min_calls"),
        ({"recovery_timeout": 0}, "recovery_timeout"),
        ({"recovery_timeout": -1.0}, "recovery_timeout"),
        ({"recovery_timeout": timedelta(0)}, "recovery_timeout"),
        ({"recovery_timeout": float("nan")}, "recovery_timeout"),
        ({"recovery_timeout": "30s"}, "recovery_timeout"),
        ({"half_open_max_calls": 0}, "half_open_max_calls"),
        ({"success_threshold": 0}, "success_threshold"),
    ],
)
def test_invalid_policy_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: ") as info:
        BreakerPolicy(**kwargs)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_policy_defaults_and_normalisation() -> None:
    policy = BreakerPolicy()
    assert (policy.failure_threshold, policy.failure_rate, policy.recovery_timeout) == (5, None, 30)
    assert (policy.half_open_max_calls, policy.success_threshold) == (1, 1)
    assert policy.min_calls == policy.window == 20
    assert BreakerPolicy(recovery_timeout=timedelta(minutes=2)).recovery_timeout == 120.0
    assert BreakerPolicy(window=8).min_calls == 8
    with pytest.raises(TypeError):
        BreakerPolicy(5)  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        policy.failure_threshold = 1  # type: ignore[misc]


# --- CircuitBreaker, in one process --------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_without_suspending(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion in one step, failing if it ever awaits something real."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("the in-memory breaker suspended; its fast path must not await")


async def test_breaker_opens_raises_and_recovers_on_its_clock() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        "search", policy=BreakerPolicy(failure_threshold=2, recovery_timeout=30), clock=clock
    )
    for _ in range(2):
        await breaker.check()
        await breaker.record_failure()
    assert breaker.state is OPEN
    clock.now += 12.0
    with pytest.raises(CircuitOpenError) as info:
        await breaker.check()
    assert info.value.breaker == "search"
    assert info.value.retry_after == pytest.approx(18.0)
    assert "'search' is open" in str(info.value)
    assert "recovery_timeout" in str(info.value)  # says what to do about it
    clock.now += 18.0
    assert await breaker.allow()
    assert breaker.state is HALF_OPEN
    assert not await breaker.allow()  # one probe at a time
    await breaker.record_success()
    assert breaker.state is CLOSED
    assert repr(breaker) == "CircuitBreaker('search', state='closed')"


def test_in_memory_breaker_never_suspends() -> None:
    breaker = CircuitBreaker("fast", policy=BreakerPolicy(failure_threshold=1), clock=FakeClock())
    assert run_without_suspending(breaker.allow()) is True
    run_without_suspending(breaker.record_failure())
    assert run_without_suspending(breaker.allow()) is False
    run_without_suspending(breaker.release())
    run_without_suspending(breaker.record_success())
    assert breaker.state is OPEN


async def test_breakers_with_one_store_and_name_share_state() -> None:
    store = InMemoryBreakerStore(clock=FakeClock())
    policy = BreakerPolicy(failure_threshold=2)
    a = CircuitBreaker("llm", policy=policy, store=store)
    b = CircuitBreaker("llm", policy=policy, store=store)
    other = CircuitBreaker("db", policy=policy, store=store)
    await a.record_failure()
    await b.record_failure()
    assert not await a.allow()
    assert await other.allow()
    assert await b.refresh() is OPEN
    assert (await store.load("llm")).consecutive_failures == 2


def test_the_clock_defaults_to_the_store_clock() -> None:
    assert CircuitBreaker("x")._clock is time.monotonic
    store = RedisBreakerStore(_unused_client())
    assert isinstance(store, BreakerStore)
    assert CircuitBreaker("x", store=store)._clock is time.time
    clock = FakeClock()
    assert CircuitBreaker("x", store=store, clock=clock)._clock is clock


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [(("",), {}, "name"), (("x",), {"policy": {"failure_threshold": 1}}, "policy")],
)
def test_invalid_breaker_names_the_field(
    args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        CircuitBreaker(*args, **kwargs)


def _unused_client() -> Any:
    import redis.asyncio as redis

    return redis.Redis(host="127.0.0.1", port=1)  # never connects: nothing is awaited


# --- Redis, shared by real processes -------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    import redis.asyncio as redis
    from parallel_nodes._breaker import BreakerPolicy, CircuitBreaker, RedisBreakerStore

    async def main(url, prefix, name, threshold, calls, parties):
        client = redis.Redis.from_url(url)
        store = RedisBreakerStore(client, prefix=prefix)
        policy = BreakerPolicy(failure_threshold=int(threshold), recovery_timeout=60)
        breaker = CircuitBreaker(name, policy=policy, store=store)
        # Start together: every party waits until all of them are ready.
        ready = prefix + "ready"
        await client.incr(ready)
        while int(await client.get(ready)) < int(parties):
            await asyncio.sleep(0.001)

        async def fail():
            if await breaker.allow():
                await breaker.record_failure()

        await asyncio.gather(*(fail() for _ in range(int(calls))))
        print(breaker.state.value, store.conflicts)
        await client.aclose()

    asyncio.run(main(*sys.argv[1:]))
    """
)


def _start_worker(url: str, prefix: str, *, threshold: int, calls: int, parties: int) -> Any:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WORKER,
            url,
            prefix,
            "api",
            str(threshold),
            str(calls),
            str(parties),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )


def _finish(*workers: Any) -> list[str]:
    """Each worker's output; every worker is reaped even when one of them fails."""
    try:
        outputs = []
        for worker in workers:
            out, err = worker.communicate(timeout=30)
            assert worker.returncode == 0, err[-2000:]
            outputs.append(str(out).strip())
        return outputs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.communicate()


@pytest.mark.redis
async def test_failures_in_one_process_open_the_breaker_in_another(
    redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        store = RedisBreakerStore(client, prefix=redis_prefix)
        policy = BreakerPolicy(failure_threshold=3, recovery_timeout=60)
        here = CircuitBreaker("api", policy=policy, store=store)
        assert await here.allow()  # closed, and this process now caches "closed"

        [output] = _finish(_start_worker(redis_url, redis_prefix, threshold=3, calls=3, parties=1))
        assert output.startswith("open")

        assert not await here.allow()  # the cached "closed" was stale; Redis said open
        assert here.state is OPEN
        assert store.conflicts == 1
        with pytest.raises(CircuitOpenError) as info:
            await here.check()
        assert 55.0 < info.value.retry_after <= 60.0

        # After recovery_timeout (by the wall clock) exactly one process gets the probe.
        later = FakeClock(time.time() + 61.0)
        first = CircuitBreaker("api", policy=policy, store=store, clock=later)
        second_store = RedisBreakerStore(client, prefix=redis_prefix, clock=later)
        second = CircuitBreaker("api", policy=policy, store=second_store)
        assert await first.allow()
        assert not await second.allow()
        await first.record_success()
        assert await second.allow()
        assert second.state is CLOSED
        assert (await client.get(store.key("api"))) is not None
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_concurrent_failures_from_two_processes_count_exactly(
    redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as redis

    calls = 150  # per process, all at once; the breaker opens on the very last one
    workers = [
        _start_worker(redis_url, redis_prefix, threshold=2 * calls, calls=calls, parties=2)
        for _ in range(2)
    ]
    outputs = _finish(*workers)
    client = redis.Redis.from_url(redis_url)
    try:
        snapshot = await RedisBreakerStore(client, prefix=redis_prefix).load("api")
    finally:
        await client.aclose()
    assert snapshot.consecutive_failures == 2 * calls, outputs
    assert snapshot.state is OPEN
    assert sorted(o.split()[0] for o in outputs) in (["closed", "open"], ["open", "open"])


@pytest.mark.redis
async def test_corrupt_redis_value_says_how_to_fix_it(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        store = RedisBreakerStore(client, prefix=redis_prefix)
        await client.set(store.key("api"), "not json")
        with pytest.raises(ValueError, match="delete the key"):
            await CircuitBreaker("api", store=store).allow()
    finally:
        await client.aclose()
