"""``parallel_node`` under the sync API: ``graph.invoke`` and ``graph.stream``, as a plain
sync node runs there (it used to fail with LangGraph's "No synchronous function provided")."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.types import Command, interrupt

from parallel_nodes import ParallelBaseWorkflow, Task
from tests.conformance._graphs import CONFIG, as_tier, one_node, saver


async def _docs(state: Any) -> list[str]:
    await asyncio.sleep(0.01)
    return [f"doc:{state['question']}"]


def _answer(state: Any) -> str:
    return "answer"


def test_invoke_and_stream_run_a_tier_node_like_ainvoke() -> None:
    tiered = as_tier(Task("docs", _docs, timeout=5), Task("answer", _answer, timeout=5))
    graph = one_node(tiered)
    out = graph.invoke({"question": "q"})
    assert out["docs"] == ["doc:q"]
    assert out["answer"] == "answer"
    again = asyncio.run(graph.ainvoke({"question": "q"}))
    assert {k: v for k, v in out.items() if k != "parallel"} == {
        k: v for k, v in again.items() if k != "parallel"
    }
    events = list(graph.stream({"question": "q"}, stream_mode="custom"))
    assert {e["task"] for e in events if e["parallel_nodes"] == "task_finished"} == {
        "docs",
        "answer",
    }


def test_an_interrupt_under_invoke_pauses_and_resumes() -> None:
    def ask(state: Any) -> dict[str, Any]:
        return {"answer": interrupt("approve?")}

    for node in (ask, as_tier(Task("ask", ask, timeout=5, returns="update"))):
        graph = one_node(node, checkpointer=saver())
        paused = graph.invoke({"question": "q"}, CONFIG)
        assert [i.value for i in paused["__interrupt__"]] == ["approve?"]
        assert graph.invoke(Command(resume="yes"), CONFIG)["answer"] == "yes"


def test_a_stubborn_straggler_cannot_hold_a_sync_invoke() -> None:
    async def stubborn(state: Any) -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(1.0)  # ignores the cancellation for a while
        return "late"

    deadline = 0.1
    graph = one_node(as_tier(Task("answer", stubborn, timeout=10, default="d"), timeout=deadline))
    start = time.perf_counter()
    assert graph.invoke({})["answer"] == "d"
    assert time.perf_counter() - start < 5 * deadline  # not the 1 s the task keeps running


def test_a_workflow_runs_under_invoke() -> None:
    class Echo(ParallelBaseWorkflow):
        async def _rag_retrieval_task(self, state: Any, runtime: Any) -> Any:
            return [f"doc for {state['question']}"]

        def _tool_suggestion_task(self, state: Any, runtime: Any) -> Any:
            return ["calculator"]

        async def _generate(self, state: Any, runtime: Any) -> dict[str, Any]:
            return {"answer": " ".join(state["rag_retrieval"])}

    graph = Echo(config={"metrics": False}).compile()
    out = graph.invoke({"question": "q"})
    assert out["answer"] == "doc for q"
    assert out["tool_suggestion"] == ["calculator"]
