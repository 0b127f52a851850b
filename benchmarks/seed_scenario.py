"""Benchmark 2: the seed's scenario, end to end and to the first answer.

The seed claims 2,800 ms -> 1,960 ms (1.43x) by running the tiers in parallel. Its own stage
latencies (tier 1: 500/300/200 ms, the LLM 1,500 ms, tier 2: 100/150/50 ms) put a floor of
2,150 ms under any end-to-end time, and 2,000 ms under the time to the answer. This benchmark
runs the stages as real ``asyncio.sleep`` calls, scaled down, through three graphs in
interleaved rounds: sequential (our workflow with both tiers' parallelism off, the seed's
baseline), ours (``ParallelBaseWorkflow``), and native LangGraph branches.

Time to answer is when the ``generate`` node's update is streamed (``stream_mode="updates"``),
before tier 2 runs.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

from parallel_nodes import ParallelBaseWorkflow

from ._graphs import SEED_LATENCIES, Graph, Stages, build_native, build_ours, build_sequential
from ._stats import ratio, summarise

__all__ = ["SPEEDUP_GUARD", "VARIANTS", "limits", "run", "run_once"]

VARIANTS: dict[str, Callable[[Stages], Graph]] = {
    "sequential": build_sequential,
    "ours": build_ours,
    "native": build_native,
}
SEED_CLAIM_MS = (2800.0, 1960.0)
"""The seed's claimed sequential and parallel end-to-end times."""
SPEEDUP_GUARD = 1.15
"""``--check`` fails if ours is less than this much faster than sequential, end to end."""


def limits(scale: float) -> dict[str, float]:
    """The floors and the sequential ideal at ``scale``, in milliseconds."""
    tier1 = max(SEED_LATENCIES[n] for n in ParallelBaseWorkflow.TIER1_TASKS)
    tier2 = max(SEED_LATENCIES[n] for n in ParallelBaseWorkflow.TIER2_TASKS)
    llm = SEED_LATENCIES["generate"]
    total = sum(SEED_LATENCIES.values())
    seq_answer = sum(SEED_LATENCIES[n] for n in ParallelBaseWorkflow.TIER1_TASKS) + llm
    return {
        "end_to_end_ms": (tier1 + llm + tier2) * scale * 1e3,
        "answer_ms": (tier1 + llm) * scale * 1e3,
        "sequential_end_to_end_ms": total * scale * 1e3,
        "sequential_answer_ms": seq_answer * scale * 1e3,
    }


async def run_once(graph: Graph) -> tuple[float, float]:
    """Stream one run; return (seconds to the answer, seconds end to end)."""
    start = time.perf_counter()
    answer = float("nan")
    async for chunk in graph.astream({"question": "q"}, stream_mode="updates"):
        if "generate" in chunk:
            answer = time.perf_counter() - start
    return answer, time.perf_counter() - start


async def _measure(scale: float, rounds: int) -> dict[str, dict[str, list[float]]]:
    latencies = {name: seconds * scale for name, seconds in SEED_LATENCIES.items()}
    graphs = {name: build(Stages(latencies)) for name, build in VARIANTS.items()}
    for graph in graphs.values():
        await run_once(graph)  # warm up
    samples: dict[str, dict[str, list[float]]] = {
        name: {"answer_ms": [], "end_to_end_ms": []} for name in graphs
    }
    for _ in range(rounds):
        gc.collect()
        for name, graph in graphs.items():
            answer, total = await run_once(graph)
            samples[name]["answer_ms"].append(answer * 1e3)
            samples[name]["end_to_end_ms"].append(total * 1e3)
    return samples


async def _trace(scale: float) -> dict[str, list[dict[str, Any]]]:
    """One traced run per variant: each stage's start and end, in ms from the run's start."""
    latencies = {name: seconds * scale for name, seconds in SEED_LATENCIES.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for name, build in VARIANTS.items():
        trace: list[tuple[str, float, float]] = []
        graph = build(Stages(latencies, trace))
        await run_once(graph)  # warm up before the traced run
        trace.clear()
        start = time.perf_counter()
        answer, total = await run_once(graph)
        out[name] = [
            {"stage": stage, "start_ms": (s - start) * 1e3, "end_ms": (e - start) * 1e3}
            for stage, s, e in trace
        ]
        out[name].append({"stage": "answer", "start_ms": answer * 1e3, "end_ms": answer * 1e3})
        out[name].append({"stage": "end", "start_ms": total * 1e3, "end_ms": total * 1e3})
    return out


def _summarise_scale(scale: float, samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    floor = limits(scale)
    med = {
        name: {metric: summarise(values)["median"] for metric, values in metrics.items()}
        for name, metrics in samples.items()
    }
    seq, ours, native = med["sequential"], med["ours"], med["native"]

    def prefix(name: str) -> str:
        # sequential is measured against its own ideal (the sum of the stages)
        return "sequential_" if name == "sequential" else ""

    return {
        "scale": scale,
        "limits": floor,
        "ms": {
            name: {metric: summarise(values) for metric, values in metrics.items()}
            for name, metrics in samples.items()
        },
        "overhead_over_limit_ms": {
            name: {
                "end_to_end": m["end_to_end_ms"] - floor[f"{prefix(name)}end_to_end_ms"],
                "answer": m["answer_ms"] - floor[f"{prefix(name)}answer_ms"],
            }
            for name, m in med.items()
        },
        "speedup_vs_sequential": {
            "ours_end_to_end": ratio(seq["end_to_end_ms"], ours["end_to_end_ms"]),
            "ours_answer": ratio(seq["answer_ms"], ours["answer_ms"]),
            "native_end_to_end": ratio(seq["end_to_end_ms"], native["end_to_end_ms"]),
            "native_answer": ratio(seq["answer_ms"], native["answer_ms"]),
            "physical_limit_end_to_end": ratio(
                floor["sequential_end_to_end_ms"], floor["end_to_end_ms"]
            ),
            "physical_limit_answer": ratio(floor["sequential_answer_ms"], floor["answer_ms"]),
            "seed_claim": ratio(*SEED_CLAIM_MS),
        },
        "ours_vs_native_end_to_end": ratio(ours["end_to_end_ms"], native["end_to_end_ms"]),
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 2 and summarise it.

    Args:
        quick: Scale 0.1 only, few rounds. The full run adds a few rounds at scale 1.

    Returns:
        Per scale: median times per variant, the floors, the overhead above them, and the
        speedups next to the seed's claim; plus one traced run per variant for the waterfall.
    """
    plan = [(0.1, 5)] if quick else [(0.1, 20), (1.0, 3)]
    scales = [
        _summarise_scale(scale, asyncio.run(_measure(scale, rounds))) for scale, rounds in plan
    ]
    return {
        "seed_latencies_ms": {name: s * 1e3 for name, s in SEED_LATENCIES.items()},
        "rounds": {str(scale): rounds for scale, rounds in plan},
        "scales": scales,
        "waterfall": {"scale": plan[0][0], "runs": asyncio.run(_trace(plan[0][0]))},
    }
