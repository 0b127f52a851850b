"""Benchmark 4: tail latency with hedged requests.

One task per tier; its call is a simulated backend with a heavy tail: a lognormal base (median
5 ms, sigma 0.3) and a share of stragglers 10-30x slower, as real ``asyncio.sleep`` calls drawn
from a seeded ``random.Random``. Many tier runs go in concurrent waves, once without hedging,
once with ``Hedge(delay=None)`` (the task's observed p95) and once with a fixed delay near the
unhedged p95. The Tail at Scale (Dean & Barroso, 2013) cut p99.9 from 1,800 ms to 74 ms for
2% more requests.
"""

from __future__ import annotations

import asyncio
import gc
import random
from typing import Any

from parallel_nodes import Hedge, Task, TaskStatus, Tier, run_tier
from parallel_nodes.diagnostics import default_engine

from ._stats import percentile, ratio

__all__ = ["EXTRA_CALLS_GUARD", "P99_REDUCTION_GUARD", "run"]

MEDIAN_S = 0.005
SIGMA = 0.3
STRAGGLER_SHARE = 0.02
"""2%, not 1%: with 1% the p99 sits exactly on the knee between the two populations and flips
between a base latency and a straggler's from one run to the next."""
STRAGGLER_FACTOR = (10.0, 30.0)
WAVE = 200
SEED = 20130201

P99_REDUCTION_TARGET = 3.0
P99_REDUCTION_GUARD = 2.0
"""``--check`` fails when hedging (observed p95) cuts the p99 by less than this factor."""
EXTRA_CALLS_TARGET = 0.10
EXTRA_CALLS_GUARD = 0.15
"""``--check`` fails when hedges add more than this share of calls."""

_TAIL_LEVELS = (
    0.0,
    10.0,
    25.0,
    50.0,
    75.0,
    90.0,
    95.0,
    97.0,
    98.0,
    99.0,
    99.5,
    99.7,
    99.8,
    99.9,
    99.95,
    99.99,
    100.0,
)


def _backend(rng: random.Random, counter: list[int]) -> Any:
    async def call(state: Any) -> str:
        counter[0] += 1
        seconds = MEDIAN_S * rng.lognormvariate(0.0, SIGMA)
        if rng.random() < STRAGGLER_SHARE:
            seconds *= rng.uniform(*STRAGGLER_FACTOR)
        await asyncio.sleep(seconds)
        return "ok"

    return call


async def _variant(hedge: Hedge | None, runs: int) -> dict[str, Any]:
    counter = [0]
    task = Task("backend", _backend(random.Random(SEED), counter), timeout=5.0, hedge=hedge)
    tier = Tier("hedging", [task], timeout=5.0)
    # A full collection of the long-lived heap (langgraph and friends) stalls the loop ~30 ms:
    # every in-flight call then looks slow and is hedged at once. Freeze it, as the docs advise
    # services to, so the benchmark measures the backend's tail, not the client's GC.
    gc.collect()
    gc.freeze()
    try:
        return await _measure(tier, task, counter, runs)
    finally:
        gc.unfreeze()


async def _measure(tier: Tier, task: Task, counter: list[int], runs: int) -> dict[str, Any]:
    state = {"question": "q"}

    async def wave(n: int) -> list[float]:
        results = await asyncio.gather(*(run_tier(tier, state, observers=()) for _ in range(n)))
        if any(r.tasks["backend"].status is not TaskStatus.OK for r in results):
            raise RuntimeError("a simulated backend call failed; the benchmark is invalid")
        return [r.wall_time for r in results]

    # One unmeasured wave, so that Hedge(delay=None) has its min_samples before measuring.
    await wave(WAVE)
    hs = default_engine().hedge_state(task)
    calls0, hedges0, backend0 = (hs.calls, hs.hedges, counter[0]) if hs else (0, 0, counter[0])
    walls: list[float] = []
    for start in range(0, runs, WAVE):
        walls += await wave(min(WAVE, runs - start))
    calls = hs.calls - calls0 if hs else len(walls)
    hedges = hs.hedges - hedges0 if hs else 0
    backend_calls = counter[0] - backend0
    ms = [w * 1000 for w in walls]
    return {
        "runs": len(walls),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "p999_ms": percentile(ms, 99.9),
        "max_ms": max(ms),
        "calls": calls,
        "hedges": hedges,
        "backend_calls": backend_calls,
        "extra_calls": ratio(backend_calls - len(walls), len(walls)),
        "tail_ms": [[q, percentile(ms, q)] for q in _TAIL_LEVELS],
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 4.

    Returns:
        Per variant (``none``, ``observed_p95``, ``fixed_p95``): p50, p99 and p99.9 of the tier
        wall time in ms, the hedges and extra backend calls, and the tail for the CDF plot; and
        the p99/p99.9 reductions against no hedging with their target and guard.
    """
    runs = 2_000 if quick else 10_000
    variants: dict[str, dict[str, Any]] = {}
    variants["none"] = asyncio.run(_variant(None, runs))
    variants["observed_p95"] = asyncio.run(_variant(Hedge(delay=None), runs))
    # The fixed delay is the p95 of the tier wall time without hedging, as an operator would set.
    p95_s = dict(variants["none"]["tail_ms"])[95.0] / 1000
    variants["fixed_p95"] = asyncio.run(_variant(Hedge(delay=p95_s), runs))
    base = variants["none"]
    reductions = {
        name: {
            "p99": ratio(base["p99_ms"], v["p99_ms"]),
            "p999": ratio(base["p999_ms"], v["p999_ms"]),
        }
        for name, v in variants.items()
        if name != "none"
    }
    main = variants["observed_p95"]
    p99_reduction = reductions["observed_p95"]["p99"]
    return {
        "runs": runs,
        "wave": WAVE,
        "backend": {
            "median_ms": MEDIAN_S * 1000,
            "sigma": SIGMA,
            "straggler_share": STRAGGLER_SHARE,
            "straggler_factor": list(STRAGGLER_FACTOR),
        },
        "fixed_delay_ms": p95_s * 1000,
        "variants": variants,
        "reductions": reductions,
        "guard": {
            "p99_reduction": p99_reduction,
            "p99_reduction_target": P99_REDUCTION_TARGET,
            "p99_reduction_guard": P99_REDUCTION_GUARD,
            "extra_calls": main["extra_calls"],
            "extra_calls_target": EXTRA_CALLS_TARGET,
            "extra_calls_guard": EXTRA_CALLS_GUARD,
            "meets_target": p99_reduction >= P99_REDUCTION_TARGET
            and main["extra_calls"] <= EXTRA_CALLS_TARGET,
            "within_guard": p99_reduction >= P99_REDUCTION_GUARD
            and main["extra_calls"] <= EXTRA_CALLS_GUARD,
        },
    }
