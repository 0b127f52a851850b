"""The traffic exporter: serves /metrics on loopback and runs real tier traffic for a while.

Run as ``python -m benchmarks._traffic SECONDS [--scenario e2e|demo]``; prints the bound port
on its first line. Every run goes through ``run_tier`` with the default observers, so this
also shows that tiers are measured with no extra code.

- ``e2e``: four tiers with fixed behaviour, so that every alert fires (the end-to-end test).
- ``demo``: a retrieval and a post-generation tier in two modes, healthy for the first third,
  then an incident (a slow memory backend, an erroring tool service behind a circuit breaker,
  a heavy retrieval tail), then recovery: the pictures in ``docs/monitoring.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Awaitable, Callable

from parallel_nodes import BreakerPolicy, CircuitBreaker, Task, Tier, run_tier
from parallel_nodes.monitoring import default_collector, start_metrics_server

__all__ = ["SCENARIOS", "main"]


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


async def stubborn(state: object) -> str:
    try:
        await asyncio.sleep(5)
    except asyncio.CancelledError:
        await asyncio.sleep(3)  # swallows its cancellation: a straggler for 3 s more
    return "late"


_E2E_TIERS = (
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
            Task(
                "flaky",
                breaks,
                timeout=1.0,
                default=None,
                breaker=CircuitBreaker("flaky_backend", policy=BreakerPolicy(failure_threshold=3)),
            ),
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
    # A task abandoned every run that ignores its cancellation for 3 s: stragglers pile up.
    Tier(
        "e2e_stuck",
        [
            Task("quick_d", quick, timeout=1.0),
            Task("stubborn", stubborn, timeout=0.01, default=None),
        ],
        timeout=1.0,
    ),
)


async def e2e(seconds: float) -> None:
    """Run the e2e tiers one after another until ``seconds`` have passed."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    default_collector().watch(*_E2E_TIERS)  # the breaker gauge reports these tiers' breakers
    while loop.time() < end:
        for tier in _E2E_TIERS:
            await run_tier(tier, {}, metadata={"mode": "e2e"})
        await asyncio.sleep(0.01)


class _Demo:
    """The demo's backends: their latency and failures depend on the phase of the run."""

    def __init__(self, seconds: float, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.start = asyncio.get_running_loop().time()
        self.seconds = seconds

    def incident(self) -> bool:
        """True in the middle third of the run."""
        phase = (asyncio.get_running_loop().time() - self.start) / self.seconds
        return 0.35 <= phase < 0.7

    def backend(
        self, median: float, *, slow: float = 1.0, errors: float = 0.0, bad_errors: float = 0.0
    ) -> Callable[[object], Awaitable[object]]:
        """A task body: lognormal latency around ``median`` seconds, ``slow`` times slower
        and failing with probability ``bad_errors`` (instead of ``errors``) in the incident."""

        async def call(state: object) -> object:
            bad = self.incident()
            await asyncio.sleep(self.rng.lognormvariate(0, 0.5) * median * (slow if bad else 1))
            if self.rng.random() < (bad_errors if bad else errors):
                raise RuntimeError("backend error")
            return "ok"

        return call

    def tiers(self) -> tuple[Tier, Tier]:
        breaker = CircuitBreaker(
            "tool_service", policy=BreakerPolicy(failure_threshold=4, recovery_timeout=1.0)
        )

        async def scores(state: object) -> object:
            await asyncio.sleep(self.rng.lognormvariate(0, 0.4) * 0.02)
            # One run in fifty returns a string where a float is declared: invalid_output.
            return "n/a" if self.rng.random() < 0.02 else 0.9

        retrieval = Tier(
            "retrieval",
            [
                Task("rag_retrieval", self.backend(0.06, slow=3.0), timeout=0.35, default=[]),
                Task(
                    "tool_suggestion",
                    self.backend(0.03, errors=0.01, bad_errors=0.5),
                    timeout=0.2,
                    default=[],
                    breaker=breaker,
                ),
                Task("memory_retrieval", self.backend(0.04, slow=5.0), timeout=0.15, default=[]),
            ],
            timeout=0.3,
        )
        post_generation = Tier(
            "post_generation",
            [
                Task("quality_scoring", scores, timeout=0.1, default=0.0, output_type=float),
                Task("citation_extraction", self.backend(0.015), timeout=0.1, default=[]),
                Task("cost_tracking", self.backend(0.005), timeout=0.05, default=None),
            ],
            timeout=0.12,
        )
        return retrieval, post_generation


async def demo(seconds: float) -> None:
    """Three chat workers and one research worker, each running both tiers in a loop."""
    scenario = _Demo(seconds)
    tiers = scenario.tiers()
    default_collector().watch(*tiers)  # the breaker gauge reports these tiers' breakers
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker(mode: str, pause: float) -> None:
        while loop.time() < end:
            for tier in tiers:
                await run_tier(tier, {}, metadata={"mode": mode})
            await asyncio.sleep(pause)

    async with asyncio.TaskGroup() as group:
        for _ in range(3):
            group.create_task(worker("chat", 0.05))
        group.create_task(worker("research", 0.2))


SCENARIOS: dict[str, Callable[[float], Awaitable[None]]] = {"e2e": e2e, "demo": demo}


async def main(seconds: float, scenario: str) -> None:
    """Serve /metrics on a free loopback port, print the port, and run ``scenario``."""
    server = start_metrics_server(0)
    print(server.port, flush=True)
    try:
        await SCENARIOS[scenario](seconds)
    finally:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks._traffic", description=__doc__)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="e2e")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.scenario))
