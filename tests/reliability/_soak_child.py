"""The soak, in a process of its own: 10,000 tier runs and 1,000 workflow runs, twice.

Run as ``python -m tests.reliability._soak_child``; prints one JSON object of counts.

Why a process of its own: in the test session other tests' libraries start and stop threads of
their own whenever they like (Ray's driver threads, tqdm's monitor, which the first progress
bar anywhere in the process starts), so a thread count taken there judges them, not us. A fresh
process holds only what the warm-up round started, as an app's would.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import warnings
from typing import Any

import psutil

from parallel_nodes import Task, Tier, run_tier
from parallel_nodes.diagnostics import straggler_count
from parallel_nodes.modes import Mode2AutomaticWorkflow


def soak_tier() -> Tier:
    """Four kinds of task: one that succeeds, one that raises, one that hangs, one sync."""

    async def ok(state: Any) -> list[int]:
        await asyncio.sleep(0)
        return [1, 2, 3]

    async def fails(state: Any) -> None:
        raise RuntimeError("boom")

    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    def sync(state: Any) -> int:
        return 1

    return Tier(
        "soak",
        [
            Task("ok", ok, timeout=1),
            Task("fails", fails, timeout=1, default_factory=list),
            Task("hangs", hangs, timeout=0.002, default_factory=list),
            Task("sync", sync, timeout=1),
        ],
        timeout=1,
    )


def _threads() -> set[threading.Thread]:
    # The loop's default executor (LangGraph runs sync callbacks there) keeps its threads until
    # the loop closes and grows with how much ran at once, which a loaded machine decides: its
    # "asyncio_N" threads are not ours to count.
    return {t for t in threading.enumerate() if not t.name.startswith("asyncio_")}


async def _soak() -> dict[str, Any]:
    tier = soak_tier()
    process = psutil.Process()
    graph = Mode2AutomaticWorkflow(config={"metrics": False}).compile()

    async def batch(n: int) -> None:
        for _ in range(n // 100):
            await asyncio.gather(*(run_tier(tier, {}, observers=()) for _ in range(100)))

    async def workflows(n: int) -> None:
        for _ in range(n // 50):
            await asyncio.gather(
                *(graph.ainvoke({"question": "What does a circuit breaker do?"}) for _ in range(50))
            )

    # Warm-up is one full round: pools, caches, worker threads and malloc arenas settle.
    await batch(10_000)
    await workflows(1000)
    gc.collect()
    tasks_before = len(asyncio.all_tasks())
    threads_before = _threads()
    rss_before = process.memory_info().rss
    await batch(10_000)
    await workflows(1000)
    new: list[str] = []
    for _ in range(100):  # idle sync workers exit after two seconds
        # The Thread objects themselves: holding them, no new one can reuse an old one's id.
        new = sorted(t.name for t in _threads() - threads_before)
        if not new:
            break
        await asyncio.sleep(0.1)
    gc.collect()
    return {
        "tasks_before": tasks_before,
        "tasks_after": len(asyncio.all_tasks()),
        "new_threads": new,
        "threads_before": sorted(t.name for t in threads_before),
        "stragglers": straggler_count(),
        "rss_before": rss_before,
        "rss_after": process.memory_info().rss,
    }


def main() -> None:
    # 10,000 "abandoned task" warnings would only be noise on stderr.
    logging.getLogger("parallel_nodes").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" and friends fail
        counts = asyncio.run(_soak())
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
