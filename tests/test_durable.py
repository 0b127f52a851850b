"""Durable tiers: a run cut short inside the tier resumes without re-running finished tasks.

The crash here is a cancelled ``ainvoke`` (what a dying request handler does); the SIGKILL test
on PostgreSQL is in ``tests/reliability/test_crash_resume.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import Op, Result
from langgraph.store.memory import InMemoryStore

from parallel_nodes import Task, TaskStatus, Tier, parallel_node
from parallel_nodes._durable import CLEAR_FLOOR
from parallel_nodes.errors import ConfigError


class State(TypedDict, total=False):
    question: str
    a: Any
    b: Any
    c: Any
    parallel: dict[str, Any]


def _compile(tier: Tier, store: Any) -> CompiledStateGraph[Any]:
    """The tier as the only node of a graph with a checkpointer, and ``store`` if not None."""
    builder = StateGraph(State)
    builder.add_node("tier", parallel_node(tier, observers=()))
    builder.add_edge(START, "tier")
    builder.add_edge("tier", END)
    return builder.compile(checkpointer=InMemorySaver(), store=store)


class Work:
    """Three tasks; ``c`` waits on ``gate`` so the test can cut the run short while it waits."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.gate = asyncio.Event()
        self.both_done = asyncio.Event()

    async def a(self, state: dict[str, Any]) -> dict[str, Any]:
        self.calls["a"] += 1
        return {"docs": [state["question"], 1]}

    async def b(self, state: dict[str, Any]) -> list[str]:
        self.calls["b"] += 1
        await asyncio.sleep(0.01)
        self.both_done.set()
        return ["tool"]

    async def c(self, state: dict[str, Any]) -> str:
        self.calls["c"] += 1
        await self.gate.wait()
        return "memory"

    def graph(self, *, durable: bool = True, store: Any = None) -> CompiledStateGraph[Any]:
        tier = Tier(
            "retrieval",
            [Task(n, getattr(self, n), timeout=30.0) for n in "abc"],
            timeout=30.0,
            durable=durable,
        )
        return _compile(tier, InMemoryStore() if store is None else store)


async def _cut_short(work: Work, graph: Any, config: RunnableConfig) -> None:
    """Start a run and cancel it once ``a`` and ``b`` have finished and ``c`` is waiting."""
    run = asyncio.ensure_future(graph.ainvoke({"question": "q"}, config))
    await asyncio.wait_for(work.both_done.wait(), 5)
    await asyncio.sleep(0.05)  # the two writes land
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


@pytest.mark.parametrize(("durable", "reruns"), [(True, 0), (False, 1)])
async def test_resume_reruns_only_unfinished_tasks(durable: bool, reruns: int) -> None:
    work = Work()
    store = InMemoryStore()
    graph = work.graph(durable=durable, store=store)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    await _cut_short(work, graph, config)
    assert work.calls == {"a": 1, "b": 1, "c": 1}

    work.gate.set()
    out = await graph.ainvoke(None, config)  # resume from the last checkpoint

    assert work.calls == {"a": 1 + reruns, "b": 1 + reruns, "c": 2}
    assert out["a"] == {"docs": ["q", 1]}
    assert out["b"] == ["tool"]
    assert out["c"] == "memory"
    tasks = out["parallel"]["retrieval"]["tasks"]
    assert {n: tasks[n]["resumed"] for n in "abc"} == {"a": durable, "b": durable, "c": False}
    assert {tasks[n]["status"] for n in "abc"} == {TaskStatus.OK.value}
    assert await store.asearch(("parallel_nodes_done",), limit=100) == []


async def test_kept_values_are_deleted_after_the_tier_returns() -> None:
    work = Work()
    work.gate.set()
    store = InMemoryStore()
    graph = work.graph(store=store)
    await graph.ainvoke({"question": "q"}, {"configurable": {"thread_id": "t2"}})
    assert await store.asearch(("parallel_nodes_done",), limit=100) == []


async def test_durable_tier_without_a_store_names_the_field() -> None:
    tier = Tier("retrieval", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0, durable=True)
    graph = _compile(tier, store=None)
    with pytest.raises(ConfigError) as info:
        await graph.ainvoke({"question": "q"}, {"configurable": {"thread_id": "t3"}})
    assert info.value.field == "retrieval.durable"


class BrokenStore(InMemoryStore):
    """A real store whose backend is down: every operation raises."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        raise ConnectionError("store down")


async def test_a_broken_store_runs_every_task() -> None:
    work = Work()
    work.gate.set()
    graph = work.graph(store=BrokenStore())
    out = await graph.ainvoke({"question": "q"}, {"configurable": {"thread_id": "t4"}})
    assert work.calls == {"a": 1, "b": 1, "c": 1}
    assert out["c"] == "memory"
    assert out["parallel"]["retrieval"]["degraded"] == []


class SlowStore(InMemoryStore):
    """A real store whose backend hangs: every operation takes far longer than the deadline."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        await asyncio.sleep(30)
        return await super().abatch(ops)


async def test_a_hanging_store_cannot_hold_the_deadline() -> None:
    async def quick(state: dict[str, Any]) -> int:
        await asyncio.sleep(0.01)
        return 1

    deadline = 0.3
    tier = Tier(
        "retrieval",
        [Task(n, quick, timeout=1.0) for n in "abc"],
        timeout=deadline,
        durable=True,
    )
    graph = _compile(tier, SlowStore())
    start = time.perf_counter()
    out = await graph.ainvoke({"question": "q"}, {"configurable": {"thread_id": "t5"}})
    elapsed = time.perf_counter() - start
    assert out["parallel"]["retrieval"]["degraded"] == []  # the tasks ran, the store did not
    assert elapsed < 1.5 * deadline + CLEAR_FLOOR
