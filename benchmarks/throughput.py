"""Benchmark 3: throughput and memory under concurrency.

N runs of the full workflow (tier 1, generate, tier 2; every stage 50 ms of simulated I/O) are
started at once, ours against native LangGraph branches. Each (variant, N) runs in a fresh
worker process, so peak RSS and memory per in-flight run are not muddied by earlier runs.

Run one worker by hand with ``python -m benchmarks.throughput VARIANT N``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

from ._graphs import SEED_LATENCIES, Graph, Stages, build_native, build_ours
from ._stats import percentile, ratio

__all__ = ["IO_SECONDS", "measure", "run"]

IO_SECONDS = 0.050
"""Simulated I/O per stage; three stages in series make a 150 ms floor per run."""
BUILDERS = {"ours": build_ours, "native": build_native}


class _PeakRSS:
    """Samples the process's RSS from a thread (so a busy event loop cannot starve it)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


async def _timed(graph: Graph) -> float:
    start = time.perf_counter()
    await graph.ainvoke({"question": "q"})
    return time.perf_counter() - start


async def measure(variant: str, n: int) -> dict[str, Any]:
    """Start ``n`` runs of ``variant`` at once, in this process; summarise them.

    Returns:
        Runs per second, latency percentiles (ms), peak RSS (MB), and the RSS growth per
        in-flight run (KB) over the idle baseline.
    """
    graph = BUILDERS[variant](Stages(dict.fromkeys(SEED_LATENCIES, IO_SECONDS)))
    await asyncio.gather(*(_timed(graph) for _ in range(10)))  # warm up
    gc.collect()
    baseline = psutil.Process().memory_info().rss
    with _PeakRSS() as rss:
        start = time.perf_counter()
        latencies = await asyncio.gather(*(_timed(graph) for _ in range(n)))
        wall = time.perf_counter() - start
    ms = [s * 1e3 for s in latencies]
    return {
        "variant": variant,
        "concurrency": n,
        "wall_s": wall,
        "runs_per_s": n / wall,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "baseline_rss_mb": baseline / 2**20,
        "peak_rss_mb": rss.peak / 2**20,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
        "kb_per_inflight_run": (rss.peak - baseline) / n / 2**10,
    }


def _worker(variant: str, n: int, timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", variant, str(n)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"throughput worker {variant} N={n} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 3: each concurrency level, ours then native, each in its own process.

    Args:
        quick: N = 100 and 1,000 only (the full run adds 5,000).

    Returns:
        One row per (variant, N), and ours/native ratios per N.
    """
    levels = (100, 1000) if quick else (100, 1000, 5000)
    rows: list[dict[str, Any]] = []
    comparison: dict[str, dict[str, float]] = {}
    for n in levels:
        pair = {variant: _worker(variant, n, timeout=300) for variant in BUILDERS}
        rows.extend(pair.values())
        comparison[str(n)] = {
            "runs_per_s_ours_vs_native": ratio(
                pair["ours"]["runs_per_s"], pair["native"]["runs_per_s"]
            ),
            "p99_ours_vs_native": ratio(pair["ours"]["p99_ms"], pair["native"]["p99_ms"]),
            "memory_ours_vs_native": ratio(
                pair["ours"]["kb_per_inflight_run"], pair["native"]["kb_per_inflight_run"]
            ),
        }
    return {
        "io_ms_per_stage": IO_SECONDS * 1e3,
        "floor_ms": 3 * IO_SECONDS * 1e3,
        "rows": rows,
        "ours_vs_native": comparison,
    }


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in BUILDERS or not argv[1].isdigit():
        print("usage: python -m benchmarks.throughput {ours|native} N", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(measure(argv[0], int(argv[1])))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
