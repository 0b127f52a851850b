"""The graphs the benchmarks compare: our tiers, LangGraph's native branches, and sequential.

Every stage is simulated by ``Stages``: a real ``asyncio.sleep`` for the stage's latency, with
an optional trace of when each stage ran (for the waterfall plot).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langgraph.errors import NodeError
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from parallel_nodes import ParallelBaseWorkflow, ParallelConfig
from parallel_nodes import WorkflowState as SeedState

_TASKS = (*ParallelBaseWorkflow.TIER1_TASKS, *ParallelBaseWorkflow.TIER2_TASKS)

__all__ = [
    "SEED_LATENCIES",
    "SeedState",
    "SeedWorkflow",
    "Stages",
    "add_native_tier",
    "build_native",
    "build_ours",
    "build_sequential",
]

Graph = CompiledStateGraph[Any, Any, Any, Any]
NodeFn = Callable[[Any], Awaitable[dict[str, Any]]]
"""A node taking the graph state (typed ``Any``: LangGraph wants a TypedDict, not a Mapping)."""

SEED_LATENCIES: dict[str, float] = {
    "rag_retrieval": 0.500,
    "tool_suggestion": 0.300,
    "memory_retrieval": 0.200,
    "generate": 1.500,
    "quality_scoring": 0.100,
    "citation_extraction": 0.150,
    "cost_tracking": 0.050,
}
"""The seed's stage latencies in seconds, at scale 1."""


class Stages:
    """Simulated stages: each sleeps for its latency and may record when it ran.

    Args:
        latencies: Seconds per stage name.
        trace: When given, ``(name, start, end)`` in ``perf_counter`` seconds is appended for
            every stage run.
    """

    def __init__(
        self, latencies: Mapping[str, float], trace: list[tuple[str, float, float]] | None = None
    ) -> None:
        self.latencies = dict(latencies)
        self.trace = trace

    async def run(self, name: str) -> list[str]:
        """Sleep for stage ``name``'s latency; return a small value naming the stage."""
        start = time.perf_counter()
        await asyncio.sleep(self.latencies[name])
        if self.trace is not None:
            self.trace.append((name, start, time.perf_counter()))
        return [name]


class SeedWorkflow(ParallelBaseWorkflow):
    """The seed's two-tier workflow on simulated stages, with no observers.

    Args:
        stages: The simulated stages.
        parallel: ``False`` runs each tier's tasks one after another (the seed's baseline).
    """

    mode = "benchmark"

    def __init__(self, stages: Stages, *, parallel: bool = True) -> None:
        self.stages = stages
        super().__init__(
            config={
                "metrics": False,
                "enable_parallel_tier1": parallel,
                "enable_parallel_tier2": parallel,
            }
        )

    async def _rag_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return await self.stages.run("rag_retrieval")

    async def _tool_suggestion_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return await self.stages.run("tool_suggestion")

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return await self.stages.run("memory_retrieval")

    async def _quality_scoring_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return await self.stages.run("quality_scoring")

    async def _citation_extraction_task(
        self, state: Mapping[str, Any], runtime: Runtime[Any]
    ) -> Any:
        return await self.stages.run("citation_extraction")

    async def _cost_tracking_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return await self.stages.run("cost_tracking")

    async def _generate(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
        await self.stages.run("generate")
        return {"answer": "answer"}


def _fallback(key: str, default: Any, goto: str | None) -> Any:
    """A native error handler: write the default, then continue to the join (if any)."""

    async def handler(state: Mapping[str, Any], error: NodeError) -> Any:
        if goto is None:
            return {key: default}
        return Command(update={key: default}, goto=goto)

    return handler


def add_native_tier(
    builder: StateGraph[Any, Any, Any, Any],
    nodes: Mapping[str, Any],
    *,
    source: str,
    join: str,
    timeouts: Mapping[str, float],
    defaults: Mapping[str, Any],
) -> None:
    """Add one branch per node from ``source`` to ``join``, LangGraph's own way.

    Each branch gets ``timeout=`` and an ``error_handler`` that writes its default, so a slow
    or failing branch degrades like one of our tasks instead of failing the run. ``join`` may
    be ``END``; otherwise the join waits for every branch.

    Args:
        builder: The graph to add to.
        nodes: Node functions by name; each writes the state key of its name.
        source: Where the branches start (``START`` or a node).
        join: The node that waits for all branches, or ``END``.
        timeouts: Seconds per branch.
        defaults: The value each branch's error handler writes.
    """
    goto = None if join == END else join
    for name, fn in nodes.items():
        builder.add_node(
            name,
            fn,
            timeout=timeouts[name],
            error_handler=_fallback(name, defaults[name], goto),
        )
        builder.add_edge(source, name)
    if join == END:
        for name in nodes:
            builder.add_edge(name, END)
    else:
        builder.add_edge(list(nodes), join)


def _stage_node(stages: Stages, name: str) -> NodeFn:
    async def node(state: SeedState) -> dict[str, Any]:
        return {name: await stages.run(name)}

    node.__name__ = name
    return node


def build_native(stages: Stages) -> Graph:
    """The seed workflow as native LangGraph branches: three, generate, three."""
    config = ParallelConfig(metrics=False)
    timeouts = {name: config.timeout_for(name) for name in _TASKS}
    defaults: dict[str, Any] = {name: [] for name in _TASKS}

    async def generate(state: SeedState) -> dict[str, Any]:
        await stages.run("generate")
        return {"answer": "answer"}

    builder: StateGraph[Any, Any, Any, Any] = StateGraph(SeedState)
    builder.add_node("generate", generate)
    add_native_tier(
        builder,
        {name: _stage_node(stages, name) for name in ParallelBaseWorkflow.TIER1_TASKS},
        source=START,
        join="generate",
        timeouts=timeouts,
        defaults=defaults,
    )
    add_native_tier(
        builder,
        {name: _stage_node(stages, name) for name in ParallelBaseWorkflow.TIER2_TASKS},
        source="generate",
        join=END,
        timeouts=timeouts,
        defaults=defaults,
    )
    return builder.compile()


def build_ours(stages: Stages) -> Graph:
    """The seed workflow as our ``ParallelBaseWorkflow``: tier 1, generate, tier 2."""
    return SeedWorkflow(stages).compile()


def build_sequential(stages: Stages) -> Graph:
    """The seed's baseline: the same workflow with both tiers run one task at a time."""
    return SeedWorkflow(stages, parallel=False).compile()
