"""Benchmark 5: what the Prometheus observer costs a tier run.

``run_tier`` over three no-op tasks, interleaved in rounds: with ``observers=()``, with an
observer that does nothing (the cost of the hook itself), and with ``monitoring``'s
``PrometheusObserver`` on a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from parallel_nodes import TaskResult, TierObserver, TierResult, run_tier

from ._stats import ratio, summarise
from .overhead import make_tier

__all__ = ["run"]


class _NullObserver:
    """Receives every callback and does nothing with it."""

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        pass

    def on_tier_finished(self, result: TierResult) -> None:
        pass


def _prometheus() -> TierObserver | None:
    try:
        from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver
    except ImportError:
        return None
    return PrometheusObserver(ParallelMetrics(registry=CollectorRegistry()))


async def _measure(
    variants: dict[str, tuple[TierObserver, ...]], rounds: int, batch: int
) -> dict[str, list[float]]:
    tier = make_tier()
    state = {"question": "q"}

    async def per_run_us(observers: tuple[TierObserver, ...]) -> float:
        start = time.perf_counter()
        for _ in range(batch):
            await run_tier(tier, state, observers=observers)
        return (time.perf_counter() - start) / batch * 1e6

    for observers in variants.values():
        await per_run_us(observers)  # warm up
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        gc.collect()
        for name, observers in variants.items():
            samples[name].append(await per_run_us(observers))
    return samples


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 5, or report why it was skipped.

    Returns:
        µs per ``run_tier`` for each variant, and each variant's ratio to no observers.
    """
    prometheus = _prometheus()
    if prometheus is None:
        return {"skipped": "monitoring.PrometheusObserver is not available"}
    variants: dict[str, tuple[TierObserver, ...]] = {
        "none": (),
        "null_observer": (_NullObserver(),),
        "prometheus": (prometheus,),
    }
    rounds = 15 if quick else 60
    samples = asyncio.run(_measure(variants, rounds, batch=400))
    medians = {name: summarise(values)["median"] for name, values in samples.items()}
    return {
        "rounds": rounds,
        "us_per_run": {name: summarise(values) for name, values in samples.items()},
        "ratio_vs_none": {name: ratio(m, medians["none"]) for name, m in medians.items()},
        "added_us_per_run": {name: m - medians["none"] for name, m in medians.items()},
    }
