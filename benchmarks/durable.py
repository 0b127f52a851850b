"""Benchmark 6: what ``durable_tier1`` costs per run, in memory and on PostgreSQL.

One compiled graph runs a tier of three tasks that each wait 2 ms (a fast backend call), under a
checkpointer and a store (on PostgreSQL, one pool of 4 connections for both, as the server has);
a fresh ``thread_id`` per run, as a request handler does. The plain
and durable variants are interleaved in rounds so noise hits both alike. The report is the
median per run and the time a durable tier adds. What durability buys back is counted in
``tests/reliability/test_crash_resume.py``: after a crash, finished tasks do not run again.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.memory import InMemoryStore

from parallel_nodes import ParallelState, Task, Tier, parallel_node

from ._stats import ratio, summarise

__all__ = ["POSTGRES_DSN", "RATIO_GUARD", "run"]

POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
NAMES = ("a", "b", "c")
WAIT = 0.002
RATIO_GUARD = 2.5
"""``--check`` fails when a durable run takes more than this times a plain one."""


class DurableState(ParallelState, total=False):
    question: str
    a: Any
    b: Any
    c: Any


async def _backend(state: Mapping[str, Any]) -> list[str]:
    await asyncio.sleep(WAIT)
    return ["chunk one", "chunk two"]


def _graph(durable: bool, checkpointer: Any, store: Any) -> Any:
    tier = Tier(
        "retrieval",
        [Task(n, _backend, timeout=1.0, default_factory=list) for n in NAMES],
        timeout=1.0,
        durable=durable,
    )
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(DurableState)
    builder.add_node("tier", parallel_node(tier, observers=()))
    builder.add_edge(START, "tier")
    builder.add_edge("tier", END)
    return builder.compile(checkpointer=checkpointer, store=store)


@asynccontextmanager
async def _postgres(stack: AsyncExitStack) -> AsyncIterator[tuple[Any, Any] | None]:
    """A saver and a store over one pool of 4 connections, as ``modes.create_app`` has."""
    try:
        from parallel_nodes.modes import PersistenceError, open_postgres_pool

        pg = await stack.enter_async_context(
            open_postgres_pool(POSTGRES_DSN, min_size=4, max_size=4)
        )
    except (ImportError, PersistenceError):
        yield None
        return
    yield pg.checkpointer, pg.store


async def _batch(graph: Any, runs: int) -> float:
    """Milliseconds per run over ``runs`` back-to-back runs, each on a new thread."""
    start = time.perf_counter()
    for _ in range(runs):
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        await graph.ainvoke({"question": "q"}, config)
    return (time.perf_counter() - start) / runs * 1e3


async def _compare(make: Callable[[bool], Any], rounds: int, runs: int) -> dict[str, list[float]]:
    graphs = {"plain": make(False), "durable": make(True)}
    for graph in graphs.values():
        await _batch(graph, 5)  # warm up: connections, first-call paths
    samples: dict[str, list[float]] = {name: [] for name in graphs}
    for _ in range(rounds):
        gc.collect()
        for name, graph in graphs.items():
            samples[name].append(await _batch(graph, runs))
    return samples


def _summary(samples: dict[str, list[float]]) -> dict[str, Any]:
    plain = summarise(samples["plain"])["median"]
    durable = summarise(samples["durable"])["median"]
    return {
        "ms_per_run": {name: summarise(values) for name, values in samples.items()},
        "added_ms": durable - plain,
        "ratio": ratio(durable, plain),
    }


async def _measure(rounds: int, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    saver, store = InMemorySaver(), InMemoryStore()

    def in_memory(durable: bool) -> Any:
        return _graph(durable, saver, store)

    out["memory"] = _summary(await _compare(in_memory, rounds, runs))
    async with AsyncExitStack() as stack, _postgres(stack) as pg:
        if pg is None:
            out["postgres"] = {"skipped": f"PostgreSQL not reachable at {POSTGRES_DSN}"}
        else:

            def on_postgres(durable: bool) -> Any:
                return _graph(durable, *pg)

            out["postgres"] = _summary(await _compare(on_postgres, rounds, runs))
    return out


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 6: plain against durable tier 1, in memory and on PostgreSQL."""
    rounds, runs = (5, 20) if quick else (15, 40)
    result = asyncio.run(_measure(rounds, runs))
    return {"rounds": rounds, "runs_per_round": runs, "task_wait_ms": WAIT * 1e3, **result}
