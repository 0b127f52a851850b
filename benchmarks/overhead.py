"""Benchmark 1: the overhead of one tier of three no-op async tasks.

Four variants run the same three tasks: raw ``asyncio.gather`` under ``asyncio.timeout``;
``run_tier``; our ``parallel_node`` in a compiled graph; and three native LangGraph branches
(``timeout=`` and an ``error_handler`` each) with a join node. The variants are interleaved in
rounds (A B C D, A B C D, ...) so the machine's noise hits all of them alike; each round times a
batch of runs, and the report is the median over rounds.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph

from parallel_nodes import ParallelState, Task, Tier, parallel_node, run_tier

from ._graphs import add_native_tier
from ._stats import ratio, summarise

__all__ = ["GATHER_GUARD", "GRAPH_GUARD", "VARIANTS", "make_tier", "measure", "noop", "run"]

VARIANTS = ("gather", "run_tier", "our_graph", "native_graph")
NAMES = ("a", "b", "c")
TIMEOUT = 1.0

GATHER_TARGET = 3.0
"""``run_tier`` should cost at most this many times a raw gather."""
GATHER_GUARD = 4.5
"""``--check`` fails above this (the target, with room for a noisy machine)."""
GRAPH_TARGET = 0.7
"""Our graph should cost at most this fraction of the native-branches graph."""
GRAPH_GUARD = 1.0
"""``--check`` fails above this."""


class OverheadState(ParallelState, total=False):
    """The state of both overhead graphs."""

    question: str
    a: Any
    b: Any
    c: Any
    joined: bool


async def noop(state: Mapping[str, Any]) -> int:
    return 1


def make_tier() -> Tier:
    return Tier(
        "overhead",
        [Task(name, noop, timeout=TIMEOUT, default=0) for name in NAMES],
        timeout=TIMEOUT,
    )


def _variants() -> dict[str, Callable[[], Awaitable[Any]]]:
    """One zero-argument coroutine function per variant, each running one tier once."""
    state: dict[str, Any] = {"question": "q"}
    tier = make_tier()

    async def gather() -> Any:
        async with asyncio.timeout(TIMEOUT):
            return await asyncio.gather(noop(state), noop(state), noop(state))

    async def tier_run() -> Any:
        return await run_tier(tier, state, observers=())

    ours: StateGraph[Any, Any, Any, Any] = StateGraph(OverheadState)
    ours.add_node("fanout", parallel_node(tier, observers=()))
    ours.add_edge(START, "fanout")
    ours.add_edge("fanout", END)
    our_graph = ours.compile()

    async def node(state: Mapping[str, Any], name: str) -> dict[str, Any]:
        return {name: await noop(state)}

    def branch(name: str) -> Callable[[OverheadState], Awaitable[dict[str, Any]]]:
        async def fn(state: OverheadState) -> dict[str, Any]:
            return await node(state, name)

        return fn

    async def join(state: OverheadState) -> dict[str, Any]:
        return {"joined": True}

    native: StateGraph[Any, Any, Any, Any] = StateGraph(OverheadState)
    native.add_node("join", join)
    add_native_tier(
        native,
        {name: branch(name) for name in NAMES},
        source=START,
        join="join",
        timeouts=dict.fromkeys(NAMES, TIMEOUT),
        defaults=dict.fromkeys(NAMES, 0),
    )
    native.add_edge("join", END)
    native_graph = native.compile()

    async def our_graph_run() -> Any:
        return await our_graph.ainvoke(state)

    async def native_graph_run() -> Any:
        return await native_graph.ainvoke(state)

    return {
        "gather": gather,
        "run_tier": tier_run,
        "our_graph": our_graph_run,
        "native_graph": native_graph_run,
    }


async def _batch(fn: Callable[[], Awaitable[Any]], runs: int) -> float:
    """Microseconds per run over a batch of ``runs`` back-to-back runs."""
    start = time.perf_counter()
    for _ in range(runs):
        await fn()
    return (time.perf_counter() - start) / runs * 1e6


async def measure(rounds: int, *, batch: Mapping[str, int] | None = None) -> dict[str, list[float]]:
    """Time every variant in interleaved rounds.

    Args:
        rounds: How many rounds; each round times one batch of every variant.
        batch: Runs per batch by variant; the graphs are slower, so they get fewer.

    Returns:
        Microseconds per run, one sample per round, by variant.
    """
    sizes = {"gather": 400, "run_tier": 400, "our_graph": 40, "native_graph": 40}
    sizes.update(batch or {})
    fns = _variants()
    for name, fn in fns.items():  # warm up: imports, caches, first-call paths
        await _batch(fn, max(5, sizes[name] // 10))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        gc.collect()
        for name in VARIANTS:
            samples[name].append(await _batch(fns[name], sizes[name]))
    return samples


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 1 and summarise it.

    Args:
        quick: Fewer rounds (for ``--quick`` and the test suite).

    Returns:
        Per-variant summaries in µs per run, the two ratios, and whether each meets its
        target and its guard.
    """
    rounds = 15 if quick else 60
    samples = asyncio.run(measure(rounds))
    medians = {name: summarise(values)["median"] for name, values in samples.items()}
    tier_ratio = ratio(medians["run_tier"], medians["gather"])
    graph_ratio = ratio(medians["our_graph"], medians["native_graph"])
    return {
        "rounds": rounds,
        "us_per_run": {name: summarise(values) for name, values in samples.items()},
        "ratios": {
            "run_tier_vs_gather": {
                "value": tier_ratio,
                "target": GATHER_TARGET,
                "guard": GATHER_GUARD,
                "meets_target": tier_ratio <= GATHER_TARGET,
                "within_guard": tier_ratio <= GATHER_GUARD,
            },
            "our_graph_vs_native": {
                "value": graph_ratio,
                "target": GRAPH_TARGET,
                "guard": GRAPH_GUARD,
                "meets_target": graph_ratio <= GRAPH_TARGET,
                "within_guard": graph_ratio <= GRAPH_GUARD,
            },
        },
    }
