"""The e2e exporter: serves /metrics on loopback and runs real tier traffic for a bounded time.

Run as ``python _traffic.py SECONDS``; prints the bound port on its first line. Every run goes
through ``run_tier`` with the default observers, so this also shows that tiers are measured
with no extra code.
"""

from __future__ import annotations

import asyncio
import sys

from monitoring import start_metrics_server
from parallel_nodes import Task, Tier, run_tier

MODE = "e2e"


async def quick(state: object) -> str:
    await asyncio.sleep(0.002)
    return "ok"


async def steady(state: object) -> str:
    await asyncio.sleep(0.008)
    return "ok"


async def hangs(state: object) -> str:
    await asyncio.sleep(5)
    return "never"


async def breaks(state: object) -> str:
    raise RuntimeError("backend down")


TIERS = (
    # All good.
    Tier(
        "e2e_ok",
        [Task("quick", quick, timeout=1.0), Task("steady", steady, timeout=1.0)],
        timeout=1.0,
    ),
    # A task timing out and a task erroring every run: degraded, never deadline-bound.
    Tier(
        "e2e_mixed",
        [
            Task("steady_b", steady, timeout=1.0),
            Task("flaky", breaks, timeout=1.0, default=None),
            Task("laggy", hangs, timeout=0.01, default=None),
        ],
        timeout=1.0,
    ),
    # Cut off by the tier deadline every run.
    Tier(
        "e2e_deadline",
        [Task("quick_c", quick, timeout=1.0), Task("stuck", hangs, timeout=5.0, default=None)],
        timeout=0.02,
    ),
)


async def main(seconds: float) -> None:
    server = start_metrics_server(0)
    print(server.port, flush=True)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        for tier in TIERS:
            await run_tier(tier, {}, mode=MODE)
        await asyncio.sleep(0.01)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
