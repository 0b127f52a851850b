"""Point 2: the sync worker pool never loses workers; when every worker is blocked, a sync task
times out with a warning that says so, and the pool recovers when the workers return."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from parallel_nodes import Engine, Task, TaskStatus, Tier, parallel_node, run_tier
from parallel_nodes._threads import SyncPool, run_in_thread
from tests.conformance._graphs import one_node

IDLE = 0.05  # the workers' idle timeout, shortened so the test need not wait 2 s


def _napper(state: Any) -> str:
    time.sleep(0.02)
    return "ok"


def _tier_graph(n: int, engine: Engine) -> Any:
    tasks = [Task(f"t{i}", _napper, timeout=5) for i in range(n)]
    return one_node(parallel_node(Tier("burst", tasks, timeout=10), engine=engine))


async def test_a_burst_past_the_cap_then_idle_leaves_the_pool_healthy() -> None:
    pool = SyncPool(256, idle_seconds=IDLE)
    engine = Engine(pool=pool)
    burst = await _tier_graph(300, engine).ainvoke({})  # 300 > the 256-worker cap: 44 queue
    assert burst["parallel"]["burst"]["degraded"] == []
    for _ in range(200):  # a few idle timeouts; up to 10 s for 256 threads on a loaded machine
        if not pool.threads:
            break
        await asyncio.sleep(IDLE)
    # every idle worker left, and the count knows it
    assert pool.threads == 0, (pool._threads, pool._idle, pool._queued)
    start = time.perf_counter()
    after = await _tier_graph(10, engine).ainvoke({})
    assert after["parallel"]["burst"]["degraded"] == []
    assert time.perf_counter() - start < 2.0  # 0.02 s tasks; the broken pool hung forever


async def test_blocked_workers_give_a_warning_then_the_pool_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(pool=SyncPool(2))
    release = threading.Event()

    def blocked(state: Any) -> str:
        release.wait(10)
        return "late"

    stuck = Tier(
        "stuck",
        [Task(f"b{i}", blocked, timeout=0.05, default="d") for i in range(2)]
        + [Task("starved", _napper, timeout=0.1, default="d")],
        timeout=1,
    )
    with caplog.at_level(logging.WARNING, logger="parallel_nodes"):
        result = await run_tier(stuck, {}, engine=engine)
    assert result.tasks["starved"].status is TaskStatus.TIMEOUT
    assert "every sync worker thread is busy" in caplog.text
    assert engine.stragglers.starved >= 1
    release.set()
    healthy = Tier("healthy", [Task("a", _napper, timeout=2)], timeout=2)
    assert (await run_tier(healthy, {}, engine=engine)).values == {"a": "ok"}


@pytest.mark.slow
async def test_idle_workers_leave_after_every_burst_however_the_gil_is_shared() -> None:
    # Bursts of jobs, each followed by a few ms of the loop holding the GIL (as a busy app's
    # does, so that workers wake at their deadlines), then a pause of 20 idle timeouts. With
    # SimpleQueue's timed get, a worker woke after its deadline now and then to find its job
    # taken, and then waited for the next job instead of leaving: about one round in 15.
    pool = SyncPool(idle_seconds=0.005)
    kept = 0
    for _ in range(60):
        await asyncio.gather(*(run_in_thread(_one, (), pool=pool) for _ in range(30)))
        busy_until = time.monotonic() + 0.003
        while time.monotonic() < busy_until:
            sum(range(1000))
        time.sleep(0.1)  # noqa: ASYNC251 - holds the loop on purpose: idle timeouts run out
        kept += pool.threads > 0
    assert kept == 0, f"a worker outlived its idle timeout after {kept} of 60 bursts"


def _one() -> int:
    return 1
