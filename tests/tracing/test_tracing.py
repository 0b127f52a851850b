"""A LangChain child run per task, under the node's run: what LangSmith and Phoenix draw."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from parallel_nodes import Task, Tier, parallel_node, run_tier
from parallel_nodes._tracing import fallback_note, run_type_of, start_tier

from .conftest import RecordingHandler


class State(TypedDict, total=False):
    query: str
    rag_retrieval: Any
    tool_suggestion: Any
    scoring: Any
    answer: Any
    slow: Any


async def retrieve(state: Any) -> list[str]:
    await asyncio.sleep(0)
    return ["doc one", "doc two"]


async def suggest(state: Any) -> str:
    return "calculator"


async def score(state: Any) -> float:
    return 0.9


async def hang(state: Any) -> str:
    await asyncio.sleep(5)
    return "never"


def graph_of(tier: Tier, state: type = State) -> Any:
    builder: Any = StateGraph(state)
    node = parallel_node(tier, metadata={"mode": "research"}, observers=(), meta_key=None)
    builder.add_node("fanout", node)
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    return builder.compile()


async def test_each_task_is_a_child_run_of_the_node_with_its_run_type(
    handler: RecordingHandler,
) -> None:
    tier = Tier(
        "retrieval",
        [
            Task("rag_retrieval", retrieve, timeout=1.0),
            Task("tool_suggestion", suggest, timeout=1.0),
            Task("scoring", score, timeout=1.0),
        ],
        timeout=2.0,
    )
    await graph_of(tier).ainvoke({"query": "what?"}, {"callbacks": [handler]})
    node = handler.one("fanout")
    children = handler.children(node)
    assert set(children) == {"rag_retrieval", "tool_suggestion", "scoring"}
    assert children["rag_retrieval"].run_type == "retriever"
    assert children["tool_suggestion"].run_type == "tool"
    assert children["scoring"].run_type == "chain"
    rag = children["rag_retrieval"]
    assert [d.page_content for d in rag.outputs] == ["doc one", "doc two"]
    assert rag.metadata["parallel_nodes_tier"] == "retrieval"
    assert rag.metadata["parallel_nodes_task"] == "rag_retrieval"
    assert rag.metadata["parallel_nodes_hedged"] is False
    assert rag.metadata["parallel_nodes_metadata_mode"] == "research"  # the run's, prefixed
    assert 0 < rag.metadata["parallel_nodes_deadline_left_s"] <= 2.0
    assert children["tool_suggestion"].outputs == "calculator"
    assert children["scoring"].outputs == {"output": 0.9, "status": "ok", "attempts": 1}
    assert all(r.error is None for r in children.values())


async def test_a_timed_out_task_ends_its_run_with_an_error_saying_so(
    handler: RecordingHandler,
) -> None:
    tier = Tier(
        "t",
        [Task("scoring", score, timeout=1.0), Task("slow", hang, timeout=0.05, default="dflt")],
        timeout=1.0,
    )
    result = await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    assert result["slow"] == "dflt"
    run = handler.one("slow")
    assert run.error is not None
    notes = "\n".join(getattr(run.error, "__notes__", ()))
    assert "timed out after 0.050s" in notes
    assert "fell back to its default" in notes


async def test_a_task_cut_at_the_tier_deadline_says_it_was_abandoned(
    handler: RecordingHandler,
) -> None:
    tier = Tier("t", [Task("slow", hang, timeout=5.0, default=None)], timeout=0.05)
    await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    notes = "\n".join(getattr(handler.one("slow").error, "__notes__", ()))
    assert "abandoned at the tier deadline" in notes


async def test_a_run_cancelled_by_its_caller_ends_its_task_runs_with_an_error(
    handler: RecordingHandler,
) -> None:
    tier = Tier("t", [Task("slow", hang, timeout=5.0, default=None)], timeout=5.0)
    run = asyncio.ensure_future(graph_of(tier).ainvoke({}, {"callbacks": [handler]}))
    await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await asyncio.sleep(0.01)  # the end events are coroutines of their own
    assert handler.one("slow").error is not None


async def test_a_failing_task_with_a_default_says_it_fell_back(handler: RecordingHandler) -> None:
    async def broken(state: Any) -> str:
        raise ValueError("backend down")

    tier = Tier("t", [Task("scoring", broken, timeout=1.0, default=0.0)], timeout=1.0)
    result = await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    assert result["scoring"] == 0.0
    run = handler.one("scoring")
    assert isinstance(run.error, ValueError)
    assert any("fell back to its default" in n for n in run.error.__notes__)


async def test_a_chat_model_inside_a_task_nests_under_the_tasks_run(
    handler: RecordingHandler,
) -> None:
    model = FakeListChatModel(responses=["an answer"], name="fake_chat")

    async def answer(state: Any) -> str:
        return str((await model.ainvoke("question")).content)

    tier = Tier("t", [Task("answer", answer, timeout=1.0)], timeout=1.0)
    await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    task_run = handler.one("answer")
    assert task_run.parent_run_id == handler.one("fanout").run_id
    assert set(handler.children(task_run)) == {"fake_chat"}


async def test_a_task_taking_config_gets_its_runs_config(handler: RecordingHandler) -> None:
    model = FakeListChatModel(responses=["an answer"], name="fake_chat")

    async def answer(state: Any, config: RunnableConfig) -> str:
        return str((await model.ainvoke("question", config)).content)

    tier = Tier("t", [Task("answer", answer, timeout=1.0)], timeout=1.0)
    await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    assert set(handler.children(handler.one("answer"))) == {"fake_chat"}


async def test_a_sync_task_in_a_worker_thread_nests_its_chat_model_too(
    handler: RecordingHandler,
) -> None:
    model = FakeListChatModel(responses=["sync answer"], name="fake_chat")

    def answer(state: Any) -> str:
        return str(model.invoke("question").content)

    tier = Tier("t", [Task("answer", answer, timeout=2.0)], timeout=2.0)
    result = await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    assert result["answer"] == "sync answer"
    task_run = handler.one("answer")
    assert task_run.parent_run_id == handler.one("fanout").run_id
    assert set(handler.children(task_run)) == {"fake_chat"}
    assert task_run.outputs["output"] == "sync answer"


async def test_each_send_gets_its_own_task_runs_under_its_own_node_run(
    handler: RecordingHandler,
) -> None:
    class FanState(TypedDict, total=False):
        topics: list[str]
        found: Annotated[list[str], operator.add]

    async def look(state: Any) -> list[str]:
        return [state["topic"]]

    tier = Tier("per_topic", [Task("look", look, timeout=1.0, output_key="found")], timeout=1.0)
    builder = StateGraph(FanState)
    builder.add_node("per_topic", parallel_node(tier, observers=(), meta_key=None))
    builder.add_conditional_edges(
        START, lambda s: [Send("per_topic", {"topic": t}) for t in s["topics"]], ["per_topic"]
    )
    builder.add_edge("per_topic", END)
    result = await builder.compile().ainvoke({"topics": ["a", "b", "c"]}, {"callbacks": [handler]})
    assert sorted(result["found"]) == ["a", "b", "c"]
    nodes = handler.named("per_topic")
    assert len(nodes) == 3
    looks = handler.named("look")
    assert len(looks) == 3
    assert {r.parent_run_id for r in looks} == {n.run_id for n in nodes}


async def test_no_handler_means_no_trace_and_almost_no_cost() -> None:
    assert start_tier("t", {}, None) is None
    assert start_tier("t", {}, {"callbacks": []}) is None
    tier = Tier("t", [Task("a", score, timeout=1.0)], timeout=1.0)
    await run_tier(tier, {}, observers=())  # outside a graph: nothing to nest under
    started = time.perf_counter()
    for _ in range(2000):
        start_tier("t", {}, {"callbacks": None})
    per_call = (time.perf_counter() - started) / 2000
    assert per_call < 50e-6  # a few µs on a loaded 2-core machine; the bound leaves room


async def test_the_environment_switch_turns_task_runs_off(
    handler: RecordingHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARALLEL_NODES_TRACING", "0")
    tier = Tier("t", [Task("scoring", score, timeout=1.0)], timeout=1.0)
    await graph_of(tier).ainvoke({}, {"callbacks": [handler]})
    assert handler.named("fanout")
    assert not handler.named("scoring")


def test_run_types_follow_the_declaration_then_the_name() -> None:
    class Declared:
        name = "anything"
        run_type = "tool"

    assert run_type_of(Declared()) == "tool"
    assert run_type_of(Task("memory_retrieval", score, timeout=1.0)) == "retriever"
    assert run_type_of(Task("web_search", score, timeout=1.0)) == "retriever"
    assert run_type_of(Task("quality_scoring", score, timeout=1.0)) == "chain"


def test_the_fallback_note_names_the_task_and_its_attempts() -> None:
    from parallel_nodes import TaskResult, TaskStatus

    result = TaskResult("x", TaskStatus.CANCELLED, None, 0.1, 1, None, "x")
    assert fallback_note(result) == (
        "parallel_nodes: task 'x' cancelled: the tier finished without it; "
        "fell back to its default (attempts: 1)"
    )
