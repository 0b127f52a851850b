"""``speedup`` stops counting time a task spent waiting for the CPU its siblings held: three
CPU-bound sync tasks (they share the GIL) no longer report ~3x while running no faster than in
sequence."""

from __future__ import annotations

import statistics
from typing import Any

from parallel_nodes import Task, Tier, parallel_node
from tests.conformance._graphs import one_node

ROUNDS = 3


def _burn(state: Any) -> int:
    total = 0
    for i in range(1_000_000):  # pure Python: holds the GIL throughout
        total += i
    return total


async def test_cpu_bound_sync_tasks_report_about_the_real_speedup() -> None:
    tasks = [Task(f"c{i}", _burn, timeout=60) for i in range(3)]
    graphs = {
        parallel: one_node(
            parallel_node(Tier("t", tasks, timeout=60, parallel=parallel), observers=())
        )
        for parallel in (False, True)
    }
    real, reported, naive = [], [], []
    for _ in range(ROUNDS):  # interleaved, so both shapes see the same machine load
        seq = (await graphs[False].ainvoke({}))["parallel"]["t"]
        par = (await graphs[True].ainvoke({}))["parallel"]["t"]
        real.append(seq["wall_time"] / par["wall_time"])
        reported.append(par["speedup"])
        naive.append(sum(t["duration"] for t in par["tasks"].values()) / par["wall_time"])
        assert 0.8 < seq["speedup"] <= 1.05  # one at a time is no speedup
    r, p, n = (statistics.median(x) for x in (real, reported, naive))
    # The old figure (sum of durations over wall) said ~3x. The new one is at least twice as
    # close to sequential wall / parallel wall (within 20% of it in 16 of 18 trials on a
    # loaded 2-core machine, where the sequential shape pays for thread wake-ups too).
    assert abs(p - r) <= 0.5 * abs(n - r)
    assert p < 0.7 * n
