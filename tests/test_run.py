"""run_tier: the hard guarantees, asserted on what happened (timings as ratios).

The async-only tests run on virtual time (``tests/_virtual.py``): same timers, same ratios,
no waiting. The sync-task tests, and one deadline test, keep the real loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from typing import Any

import pytest
from langgraph.types import RetryPolicy

from parallel_nodes import Task, TaskStatus, Tier, run_tier
from parallel_nodes.diagnostics import straggler_count
from parallel_nodes.errors import ConfigError, InvalidOutputError, TaskTimeoutError
from tests._virtual import virtual_time
from tests.conftest import RecordingObserver

UNIT = 0.2  # one simulated task, in seconds


def _sleeper(value: Any, seconds: float = UNIT) -> Any:
    async def fn(state: Any) -> Any:
        await asyncio.sleep(seconds)
        return value

    return fn


async def _timed(tier: Tier, state: dict[str, Any] | None = None, **kw: Any) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()  # its clock: real, or virtual in a @virtual_time test
    start = loop.time()
    result = await run_tier(tier, state or {}, observers=kw.pop("observers", ()), **kw)
    return result, loop.time() - start


@virtual_time
async def test_three_tasks_run_at_once_and_in_sequence_when_asked() -> None:
    tasks = [Task(n, _sleeper(n), timeout=5) for n in ("a", "b", "c")]
    parallel, p_elapsed = await _timed(Tier("t", tasks, timeout=5))
    sequential, s_elapsed = await _timed(Tier("t", tasks, timeout=5, parallel=False))
    assert p_elapsed < 1.5 * UNIT
    assert s_elapsed > 2.5 * UNIT
    assert parallel.values == sequential.values == {"a": "a", "b": "b", "c": "c"}
    assert parallel.speedup > 2.0
    assert 0.8 < sequential.speedup <= 1.05


@virtual_time
async def test_a_task_that_swallows_cancellation_cannot_hold_the_deadline() -> None:
    finished = asyncio.Event()

    async def stubborn(state: Any) -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(4 * UNIT)  # keeps going after it was cancelled
            finished.set()
        return "late"

    tier = Tier(
        "t",
        [
            Task("stubborn", stubborn, timeout=60, default="fallback"),
            Task("ok", _sleeper(1, 0), timeout=60),
        ],
        timeout=UNIT,
    )
    result, elapsed = await _timed(tier)
    assert elapsed < 1.5 * UNIT
    assert result.values == {"stubborn": "fallback", "ok": 1}
    assert result.tasks["stubborn"].status is TaskStatus.TIMEOUT
    error = result.tasks["stubborn"].error
    assert isinstance(error, TaskTimeoutError)
    assert error.deadline == "tier"
    assert result.deadline_exceeded
    assert straggler_count() == 1  # abandoned, still running, still referenced
    await asyncio.wait_for(finished.wait(), 10 * UNIT)
    await asyncio.sleep(0)
    assert straggler_count() == 0


async def test_a_blocking_sync_task_cannot_hold_the_deadline() -> None:
    release = threading.Event()

    def blocking(state: Any) -> str:
        release.wait(5)  # blocks its thread, never the event loop
        return "late"

    tier = Tier(
        "t",
        [
            Task("blocking", blocking, timeout=UNIT, default="fallback"),
            Task("async_ok", _sleeper("ok", UNIT / 2), timeout=5),
        ],
        timeout=5,
    )
    result, elapsed = await _timed(tier)
    release.set()
    assert elapsed < 1.5 * UNIT
    assert result.values == {"blocking": "fallback", "async_ok": "ok"}
    assert result.tasks["blocking"].status is TaskStatus.TIMEOUT
    assert result.tasks["async_ok"].status is TaskStatus.OK


async def test_a_sync_task_does_not_block_the_loop() -> None:
    def sync_sleep(state: Any) -> int:
        time.sleep(UNIT)
        return 1

    tasks = [Task(f"s{i}", sync_sleep, timeout=5) for i in range(3)]
    result, elapsed = await _timed(Tier("t", tasks, timeout=5))
    assert elapsed < 1.5 * UNIT
    assert all(r.ok for r in result.tasks.values())


async def test_one_task_raising_never_touches_its_siblings(recorder: RecordingObserver) -> None:
    async def broken(state: Any) -> None:
        raise RuntimeError("backend down")

    tier = Tier(
        "t",
        [
            Task("broken", broken, timeout=5, default_factory=list),
            Task("fine", _sleeper("x", UNIT / 4), timeout=5),
        ],
        timeout=5,
    )
    result, _ = await _timed(tier, observers=(recorder,))
    assert result.tasks["broken"].status is TaskStatus.ERROR
    assert isinstance(result.tasks["broken"].error, RuntimeError)
    assert result.values == {"broken": [], "fine": "x"}
    assert result.degraded == ("broken",)
    assert [r.name for _, _, r in recorder.tasks] == ["broken", "fine"]
    assert recorder.tiers == [result]


async def test_deadline_keeps_what_finished() -> None:
    tier = Tier(
        "t",
        [
            Task("fast", _sleeper("f", UNIT / 4), timeout=5),
            Task("slow", _sleeper("s", 10 * UNIT), timeout=5, default="d"),
        ],
        timeout=UNIT,
    )
    result, elapsed = await _timed(tier)
    assert elapsed < 1.5 * UNIT
    assert result.values == {"fast": "f", "slow": "d"}
    assert result.tasks["slow"].duration == pytest.approx(UNIT, rel=0.5)


@virtual_time
async def test_dag_start_order_and_values() -> None:
    started: dict[str, float] = {}
    t0 = asyncio.get_running_loop().time()

    def track(name: str, seconds: float, make: Any) -> Any:
        async def fn(state: Any) -> Any:
            started[name] = asyncio.get_running_loop().time() - t0
            await asyncio.sleep(seconds)
            return make(state)

        return fn

    tier = Tier(
        "t",
        [
            Task("a", track("a", UNIT, lambda s: 10), timeout=5),
            Task("b", track("b", 0, lambda s: s["a"] + 1), timeout=5, depends_on=["a"]),
            Task("c", track("c", UNIT / 2, lambda s: 5), timeout=5),
            Task("d", track("d", 0, lambda s: s["b"] + s["c"]), timeout=5, depends_on=["b", "c"]),
        ],
        timeout=5,
    )
    result, elapsed = await _timed(tier)
    assert result.values == {"a": 10, "b": 11, "c": 5, "d": 16}
    assert started["a"] < 0.2 * UNIT
    assert started["c"] < 0.2 * UNIT
    assert started["b"] >= UNIT * 0.95
    assert started["d"] >= started["b"]
    assert elapsed < 1.5 * UNIT


async def test_failed_dependency_hands_its_default_downstream() -> None:
    async def broken(state: Any) -> int:
        raise ValueError("nope")

    tier = Tier(
        "t",
        [
            Task("a", broken, timeout=5, default=0),
            Task("b", lambda s: s["a"] + 1, timeout=5, depends_on=["a"]),
        ],
        timeout=5,
    )
    result, _ = await _timed(tier)
    assert result.values == {"a": 0, "b": 1}
    assert result.tasks["b"].ok


@virtual_time
async def test_dependents_of_an_unfinished_task_get_defaults_at_the_deadline() -> None:
    tier = Tier(
        "t",
        [
            Task("a", _sleeper(1, 10 * UNIT), timeout=60, default=0),
            Task("b", lambda s: s["a"], timeout=60, depends_on=["a"], default=-1),
        ],
        timeout=UNIT,
    )
    result, elapsed = await _timed(tier)
    assert elapsed < 1.5 * UNIT
    assert result.values == {"a": 0, "b": -1}
    assert result.tasks["b"].status is TaskStatus.TIMEOUT
    assert result.tasks["b"].attempts == 0


async def test_disabled_task_and_tier_are_skipped_with_defaults() -> None:
    calls: list[str] = []

    def spy(state: Any) -> str:
        calls.append("ran")
        return "ran"

    tier = Tier(
        "t",
        [Task("off", spy, timeout=1, default="d", enabled=False), Task("on", spy, timeout=1)],
        timeout=1,
    )
    result, _ = await _timed(tier)
    assert result.tasks["off"].status is TaskStatus.SKIPPED
    assert result.values == {"off": "d", "on": "ran"}
    assert result.degraded == ()
    off_tier = Tier("t", [Task("on", spy, timeout=1, default="d")], timeout=1, enabled=False)
    result, _ = await _timed(off_tier)
    assert result.tasks["on"].status is TaskStatus.SKIPPED
    assert calls == ["ran"]


@virtual_time
async def test_retry_counts_attempts_and_succeeds() -> None:
    calls = 0

    async def flaky(state: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("blip")
        return "ok"

    policy = RetryPolicy(initial_interval=0.01, jitter=False, max_attempts=3)
    tier = Tier("t", [Task("flaky", flaky, timeout=5, retry=policy)], timeout=5)
    result, _ = await _timed(tier)
    assert result.tasks["flaky"].status is TaskStatus.OK
    assert result.tasks["flaky"].attempts == 3


@virtual_time
async def test_retries_never_run_past_the_task_timeout() -> None:
    async def always_down(state: Any) -> None:
        await asyncio.sleep(0.01)
        raise ConnectionError("down")

    policy = RetryPolicy(
        initial_interval=UNIT / 4, backoff_factor=1.0, jitter=False, max_attempts=1000
    )
    tier = Tier("t", [Task("down", always_down, timeout=UNIT, retry=policy)], timeout=5)
    result, elapsed = await _timed(tier)
    assert elapsed < 1.5 * UNIT
    outcome = result.tasks["down"]
    assert outcome.status in (TaskStatus.ERROR, TaskStatus.TIMEOUT)
    assert 2 <= outcome.attempts < 10


@virtual_time
async def test_retry_splits_the_budget_across_hanging_attempts() -> None:
    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    policy = RetryPolicy(initial_interval=0.001, jitter=False, max_attempts=3)
    tier = Tier("t", [Task("hangs", hangs, timeout=3 * UNIT, retry=policy)], timeout=5)
    result, elapsed = await _timed(tier)
    outcome = result.tasks["hangs"]
    assert outcome.status is TaskStatus.TIMEOUT
    assert outcome.attempts == 3
    assert elapsed < 1.5 * 3 * UNIT


async def test_wrong_output_type_falls_back() -> None:
    tier = Tier(
        "t",
        [Task("docs", lambda s: "not a list", timeout=1, output_type=list, default_factory=list)],
        timeout=1,
    )
    result, _ = await _timed(tier)
    assert result.tasks["docs"].status is TaskStatus.INVALID_OUTPUT
    assert isinstance(result.tasks["docs"].error, InvalidOutputError)
    assert result.values == {"docs": []}


@virtual_time
async def test_no_task_is_left_pending_or_destroyed(caplog: pytest.LogCaptureFixture) -> None:
    tier = Tier(
        "t",
        [Task(f"slow{i}", _sleeper(i, 60), timeout=60) for i in range(5)],
        timeout=UNIT / 2,
    )
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        await _timed(tier)
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert straggler_count() == 0
    assert "destroyed" not in caplog.text


@virtual_time
async def test_cancelling_the_caller_cancels_the_tasks() -> None:
    cancelled = asyncio.Event()

    async def long(state: Any) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tier = Tier("t", [Task("long", long, timeout=60)], timeout=60)
    runner = asyncio.create_task(run_tier(tier, {}, observers=()))
    await asyncio.sleep(UNIT / 4)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_observer_that_raises_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def on_task_finished(self, tier: str, result: Any, metadata: Any) -> None:
            raise RuntimeError("observer bug")

        def on_tier_finished(self, result: Any) -> None:
            raise RuntimeError("observer bug")

    tier = Tier("t", [Task("a", lambda s: 1, timeout=1)], timeout=1)
    with caplog.at_level(logging.ERROR, logger="parallel_nodes"):
        result = await run_tier(tier, {}, observers=(Broken(),))
    assert result.values == {"a": 1}
    assert "observer" in caplog.text


async def test_bad_arguments_are_named() -> None:
    tier = Tier("t", [Task("a", lambda s: 1, timeout=1)], timeout=1)
    # Any state is accepted now, as by a LangGraph node (a Send payload may be None): issue 13.
    assert (await run_tier(tier, None, observers=())).values == {"a": 1}
    with pytest.raises(TypeError, match="tier"):
        await run_tier("t", {}, observers=())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="metadata"):
        await run_tier(tier, {}, metadata={"mode": 1}, observers=())  # type: ignore[dict-item]


def test_keyboard_interrupt_propagates() -> None:
    async def interrupted(state: Any) -> None:
        raise KeyboardInterrupt

    tier = Tier(
        "t", [Task("k", interrupted, timeout=1), Task("ok", _sleeper(1), timeout=1)], timeout=1
    )
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run_tier(tier, {}, observers=()))


def test_keyboard_interrupt_from_a_sync_task_propagates() -> None:
    def interrupted(state: Any) -> None:
        raise KeyboardInterrupt

    tier = Tier("t", [Task("k", interrupted, timeout=1)], timeout=1)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run_tier(tier, {}, observers=()))
