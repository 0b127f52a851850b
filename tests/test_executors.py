"""The executor protocol: a submitted call is awaited, and a cancelled one is stopped or
abandoned — and says which."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from parallel_nodes._executors import (
    Executors,
    FuturesExecutor,
    Halt,
    LoopExecutor,
    Submission,
    ThreadExecutor,
    call_in_worker,
    check_executor,
    run_on,
)
from parallel_nodes.errors import ConfigError
from tests._workloads import async_double


async def test_the_loop_executor_runs_async_functions_on_the_loop_and_stops_them() -> None:
    started = asyncio.Event()

    async def forever(state: Any) -> None:
        started.set()
        await asyncio.sleep(3600)

    call = LoopExecutor().submit(forever, ({},), task="t")
    await started.wait()
    assert call.stop() is Halt.STOPPED
    assert await LoopExecutor().submit(async_double, ({"x": 2},), task="t") == 4


async def test_sync_functions_run_off_the_loop_and_are_abandoned_not_stopped() -> None:
    release = threading.Event()
    ran_in: list[str] = []

    def blocking(state: Any) -> str:
        ran_in.append(threading.current_thread().name)
        release.wait(5)
        return "late"

    for executor in (LoopExecutor(), ThreadExecutor()):
        call = executor.submit(blocking, ({},), task="t")
        await asyncio.sleep(0.05)
        assert call.stop() is Halt.ABANDONED
        assert call.stop() is Halt.ABANDONED  # idempotent
    release.set()
    assert ran_in
    assert all(name != threading.current_thread().name for name in ran_in)


async def test_run_on_stops_the_call_when_its_awaiter_is_cancelled() -> None:
    halts: list[Halt] = []

    class Recording:
        name = "recording"
        halts = Halt.STOPPED

        def submit(self, fn: Any, args: tuple[Any, ...], *, task: str) -> Submission:
            future = asyncio.get_running_loop().create_future()

            def stop() -> Halt:
                halts.append(Halt.STOPPED)
                return Halt.STOPPED

            return Submission(future, stop)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await run_on(Recording(), print, ({},), "t")
    assert halts == [Halt.STOPPED]


async def test_a_futures_executor_cancels_queued_calls_and_abandons_running_ones() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        executor = FuturesExecutor(pool)
        running = executor.submit(lambda s: release.wait(5), ({},), task="a")
        queued = executor.submit(lambda s: "never", ({},), task="b")
        await asyncio.sleep(0.05)
        assert queued.stop() is Halt.STOPPED
        assert running.stop() is Halt.ABANDONED
        release.set()
        assert await executor.submit(async_double, ({"x": 3},), task="c") == 6


def test_call_in_worker_gives_an_async_function_a_loop_of_its_own() -> None:
    assert call_in_worker(async_double, ({"x": 21},)) == 42


def test_executors_resolve_each_spelling_once() -> None:
    executors = Executors()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        assert executors.resolve(None).name == "loop"
        assert executors.resolve("thread") is executors.resolve("thread")
        wrapped = executors.resolve(pool)
        assert isinstance(wrapped, FuturesExecutor)
        assert executors.resolve(pool) is wrapped
        own = ThreadExecutor()
        assert executors.resolve(own) is own
    finally:
        executors.close()
        pool.shutdown()


@pytest.mark.parametrize("spec", [None, "thread", "process", "ray", ThreadExecutor()])
def test_check_executor_accepts_every_spelling(spec: object) -> None:
    check_executor(spec, field="t.executor")


@pytest.mark.parametrize("spec", ["threads", "dask", 3, print])
def test_check_executor_lists_the_spellings_it_accepts(spec: object) -> None:
    with pytest.raises(ConfigError, match=r"t\.executor: must be 'thread', 'process', 'ray'"):
        check_executor(spec, field="t.executor")


# --- through the engine ------------------------------------------------------------------------


def test_task_rejects_an_unknown_executor_naming_the_field() -> None:
    from parallel_nodes import Task

    with pytest.raises(ConfigError, match=r"^a\.executor: must be 'thread', 'process', 'ray'"):
        Task("a", print, timeout=1.0, executor="threads")


async def test_a_thread_task_past_its_timeout_is_recorded_as_abandoned_not_stopped() -> None:
    from parallel_nodes import Task, TaskStatus, Tier, run_tier

    release = threading.Event()

    def blocking(state: Any) -> str:
        release.wait(5)
        return "late"

    async def quick(state: Any) -> str:
        return "on time"

    tier = Tier(
        "t",
        [
            Task("a", blocking, timeout=0.05, executor="thread", default="cut"),
            Task("b", quick, timeout=1.0, executor="thread"),
        ],
        timeout=1.0,
    )
    try:
        result = await run_tier(tier, {}, observers=())
    finally:
        release.set()
    a, b = result.tasks["a"], result.tasks["b"]
    assert (a.status, a.value, b.value) == (TaskStatus.TIMEOUT, "cut", "on time")
    assert a.error is not None
    assert any("abandoned, not stopped" in note for note in a.error.__notes__)


def test_the_process_pool_has_two_workers_per_core_so_equal_tasks_share_the_cores() -> None:
    # Three equal CPU-bound tasks on two cores finish in 1.5 task times with three workers,
    # 2 task times with two (benchmarks/scaling.py measures it); nothing starts until a call.
    executors = Executors()
    try:
        pool: Any = executors.resolve("process")
        assert pool.max_workers == 2 * (os.cpu_count() or 1)
        sized: Any = Executors(process_workers=3).resolve("process")
        assert sized.max_workers == 3
    finally:
        executors.close()
