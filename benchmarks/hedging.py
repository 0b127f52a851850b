"""Benchmark 4: tail latency with hedged requests.

One task per tier; its call is a simulated backend with a heavy tail: a lognormal base (median
5 ms, sigma 0.3) and a share of stragglers 10-30x slower, as real ``asyncio.sleep`` calls drawn
from a seeded ``random.Random``. Many tier runs go in concurrent waves, once without hedging,
once with ``Hedge(delay=None)`` (the task's observed p95) and once with a fixed delay near the
unhedged p95. The Tail at Scale (Dean & Barroso, 2013) cut p99.9 from 1,800 ms to 74 ms for
2% more requests.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
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
P50_RATIO_TARGET = 1.2
P50_RATIO_GUARD = 1.6
"""``--check`` fails when hedging (observed p95) makes the p50 more than this many times the
unhedged p50: the hedge path's own CPU cost, which at 200 runs in flight shows in the median.
A task and a timer per call gave 1.78x on an idle machine and 2.3-2.6x at load average 6-9;
the lean path 1.3-1.5x at that load, so 1.6 fails the first and leaves noise room."""
ISSUE_14 = {"p99_reduction": 4.0, "extra_calls": 0.05, "p50_ratio": 1.2}
"""Issue 14's targets for the observed-p95 variant, reported beside the guarded ones."""
CALIBRATION_WAVES = 5
"""Unhedged waves, not measured, whose p95 sets the fixed delay before the variants run."""

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


class _Variant:
    """One variant's task, its backend's call counter, and the wall times measured so far."""

    def __init__(self, hedge: Hedge | None) -> None:
        self.counter = [0]
        self.task = Task(
            "backend", _backend(random.Random(SEED), self.counter), timeout=5.0, hedge=hedge
        )
        self.tier = Tier("hedging", [self.task], timeout=5.0)
        self.walls: list[float] = []

    async def wave(self, n: int) -> list[float]:
        results = await asyncio.gather(
            *(run_tier(self.tier, _STATE, observers=()) for _ in range(n))
        )
        if any(r.tasks["backend"].status is not TaskStatus.OK for r in results):
            raise RuntimeError("a simulated backend call failed; the benchmark is invalid")
        return [r.wall_time for r in results]


_STATE = {"question": "q"}


async def _measure_all(runs: int) -> tuple[float, dict[str, dict[str, Any]]]:
    """The fixed delay, then every variant's figures, the variants' waves interleaved.

    Interleaved (none, observed, fixed, none, ...), so that a burst of other load on the
    machine falls on all three alike and the ratios between them stay fair; each wave still
    has only one variant's 200 runs in flight.
    """
    calibration = _Variant(None)
    walls: list[float] = []
    for _ in range(CALIBRATION_WAVES):
        walls += await calibration.wave(WAVE)
    # The fixed delay is the p95 of the tier wall time without hedging, as an operator would set.
    fixed_s = percentile(walls, 95)
    variants = {
        "none": _Variant(None),
        "observed_p95": _Variant(Hedge(delay=None)),
        "fixed_p95": _Variant(Hedge(delay=fixed_s)),
    }
    engine = default_engine()
    # One unmeasured wave each, so that Hedge(delay=None) has its min_samples before measuring.
    before: dict[str, tuple[int, int, int]] = {}
    for name, v in variants.items():
        await v.wave(WAVE)
        hs = engine.hedge_state(v.task)
        before[name] = (hs.calls, hs.hedges, v.counter[0]) if hs else (0, 0, v.counter[0])
    for start in range(0, runs, WAVE):
        for v in variants.values():
            v.walls += await v.wave(min(WAVE, runs - start))
    figures = {}
    for name, v in variants.items():
        hs = engine.hedge_state(v.task)
        calls0, hedges0, backend0 = before[name]
        figures[name] = _figures(
            v.walls,
            calls=hs.calls - calls0 if hs else len(v.walls),
            hedges=hs.hedges - hedges0 if hs else 0,
            backend_calls=v.counter[0] - backend0,
        )
    return fixed_s, figures


def _figures(walls: list[float], *, calls: int, hedges: int, backend_calls: int) -> dict[str, Any]:
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


async def _run(runs: int) -> tuple[float, dict[str, dict[str, Any]]]:
    # A full collection of the long-lived heap (langgraph and friends) stalls the loop ~30 ms:
    # every in-flight call then looks slow and is hedged at once. Freeze it, as the docs advise
    # services to, so the benchmark measures the backend's tail, not the client's GC.
    gc.collect()
    gc.freeze()
    try:
        return await _measure_all(runs)
    finally:
        gc.unfreeze()


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 4.

    Returns:
        Per variant (``none``, ``observed_p95``, ``fixed_p95``): p50, p99 and p99.9 of the tier
        wall time in ms, the hedges and extra backend calls, and the tail for the CDF plot; and
        the p99/p99.9 reductions and p50 ratios against no hedging, with their targets and
        guards, and whether issue 14's targets are met.
    """
    runs = 2_000 if quick else 10_000
    fixed_s, variants = asyncio.run(_run(runs))
    base = variants["none"]
    reductions = {
        name: {
            "p99": ratio(base["p99_ms"], v["p99_ms"]),
            "p999": ratio(base["p999_ms"], v["p999_ms"]),
        }
        for name, v in variants.items()
        if name != "none"
    }
    p50_ratios = {
        name: ratio(v["p50_ms"], base["p50_ms"]) for name, v in variants.items() if name != "none"
    }
    main = variants["observed_p95"]
    p99_reduction = reductions["observed_p95"]["p99"]
    p50_ratio = p50_ratios["observed_p95"]
    extra = main["extra_calls"]
    return {
        "runs": runs,
        "wave": WAVE,
        "backend": {
            "median_ms": MEDIAN_S * 1000,
            "sigma": SIGMA,
            "straggler_share": STRAGGLER_SHARE,
            "straggler_factor": list(STRAGGLER_FACTOR),
        },
        "fixed_delay_ms": fixed_s * 1000,
        "variants": variants,
        "reductions": reductions,
        "p50_ratios": p50_ratios,
        "guard": {
            "p99_reduction": p99_reduction,
            "p99_reduction_target": P99_REDUCTION_TARGET,
            "p99_reduction_guard": P99_REDUCTION_GUARD,
            "extra_calls": extra,
            "extra_calls_target": EXTRA_CALLS_TARGET,
            "extra_calls_guard": EXTRA_CALLS_GUARD,
            "p50_ratio": p50_ratio,
            "p50_ratio_target": P50_RATIO_TARGET,
            "p50_ratio_guard": P50_RATIO_GUARD,
            "meets_target": p99_reduction >= P99_REDUCTION_TARGET
            and extra <= EXTRA_CALLS_TARGET
            and p50_ratio <= P50_RATIO_TARGET,
            "within_guard": p99_reduction >= P99_REDUCTION_GUARD
            and extra <= EXTRA_CALLS_GUARD
            and p50_ratio <= P50_RATIO_GUARD,
        },
        "issue_14": {
            "targets": ISSUE_14,
            "met": p99_reduction >= ISSUE_14["p99_reduction"]
            and extra <= ISSUE_14["extra_calls"]
            and p50_ratio <= ISSUE_14["p50_ratio"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.hedging [--quick] [--repeat N]``: benchmark 4 alone, repeated.

    Prints one line per run and the medians over the runs: the p50s side by side, the p50
    ratio, the p99 cut and the extra calls of ``Hedge(delay=None)``.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hedging", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 runs per variant, not 10,000")
    parser.add_argument("--repeat", type=int, default=1, help="whole runs, each in a new loop")
    args = parser.parse_args(argv)
    keys = ("p50_none", "p50_hedged", "p50_ratio", "p99_none", "p99_hedged", "p99_cut", "extra")
    rows: list[dict[str, float]] = []
    print("  ".join(f"{k:>10}" for k in keys))
    for _ in range(args.repeat):
        r = run(quick=args.quick)
        none, hedged = r["variants"]["none"], r["variants"]["observed_p95"]
        g = r["guard"]
        row = {
            "p50_none": none["p50_ms"],
            "p50_hedged": hedged["p50_ms"],
            "p50_ratio": g["p50_ratio"],
            "p99_none": none["p99_ms"],
            "p99_hedged": hedged["p99_ms"],
            "p99_cut": g["p99_reduction"],
            "extra": g["extra_calls"] * 100,
        }
        rows.append(row)
        print("  ".join(f"{row[k]:10.2f}" for k in keys), flush=True)
    if len(rows) > 1:
        medians = {k: statistics.median(row[k] for row in rows) for k in keys}
        print("  ".join(f"{medians[k]:10.2f}" for k in keys), " (medians; extra in %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
