"""parallel_node inside real compiled LangGraph graphs."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from parallel_nodes import ParallelState, Task, Tier, parallel_node


class State(ParallelState, total=False):
    question: str
    docs: list[str]
    tools: list[str]
    answer: str


async def _docs(state: Any) -> list[str]:
    await asyncio.sleep(0.01)
    return [f"doc:{state['question']}"]


async def _broken(state: Any) -> list[str]:
    raise ConnectionError("tool index down")


def _graph(checkpointer: Any = None) -> Any:
    tier = Tier(
        "retrieval",
        [
            Task("docs", _docs, timeout=1, default_factory=list),
            Task("tools", _broken, timeout=1, default_factory=list),
        ],
        timeout=2,
        stream_events=True,
    )
    builder = StateGraph(State)
    builder.add_node("fanout", parallel_node(tier, observers=()))
    builder.add_node("answer", lambda s: {"answer": " ".join(s["docs"])})
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer)


async def test_node_writes_values_and_the_tier_record() -> None:
    out = await _graph().ainvoke({"question": "q"})
    assert out["docs"] == ["doc:q"]
    assert out["tools"] == []
    assert out["answer"] == "doc:q"
    record = out["parallel"]["retrieval"]
    assert record["degraded"] == ["tools"]
    assert record["tasks"]["tools"]["status"] == "error"
    assert record["tasks"]["tools"]["error"] == "ConnectionError"
    assert record["tasks"]["docs"]["status"] == "ok"


async def test_node_with_a_checkpointer_persists_the_record() -> None:
    graph = _graph(InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    await graph.ainvoke({"question": "q"}, config)
    snapshot = await graph.aget_state(config)
    assert snapshot.values["parallel"]["retrieval"]["degraded"] == ["tools"]
    assert snapshot.values["docs"] == ["doc:q"]


async def test_node_streams_task_events_to_the_custom_stream() -> None:
    events: list[dict[str, Any]] = []
    async for chunk in _graph().astream({"question": "q"}, stream_mode="custom"):
        events.append(chunk)
    started = {e["task"] for e in events if e["parallel_nodes"] == "task_started"}
    finished = {e["task"]: e["status"] for e in events if e["parallel_nodes"] == "task_finished"}
    assert started == {"docs", "tools"}
    assert finished == {"docs": "ok", "tools": "error"}


async def test_node_works_in_a_plain_dict_state_without_a_record() -> None:
    class Plain(TypedDict, total=False):
        question: str
        docs: list[str]
        tools: list[str]

    tier = Tier("t", [Task("docs", _docs, timeout=1)], timeout=1)
    builder = StateGraph(Plain)
    builder.add_node("fanout", parallel_node(tier, meta_key=None, observers=()))
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    out = await builder.compile().ainvoke({"question": "x"})
    assert out == {"question": "x", "docs": ["doc:x"]}


def test_node_runs_under_sync_invoke_too() -> None:
    out = asyncio.run(_graph().ainvoke({"question": "s"}))
    assert out["docs"] == ["doc:s"]


async def test_task_receives_the_runtime_store() -> None:
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    await store.aput(("memories", "u1"), "m1", {"text": "likes tea"})

    async def memory(state: Any, runtime: Any) -> list[str]:
        items = await runtime.store.asearch(("memories", "u1"))
        return [i.value["text"] for i in items]

    class S(TypedDict, total=False):
        memory: list[str]

    tier = Tier("t", [Task("memory", memory, timeout=1)], timeout=1)
    builder = StateGraph(S)
    builder.add_node("fanout", parallel_node(tier, meta_key=None, observers=()))
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    out = await builder.compile(store=store).ainvoke({})
    assert out["memory"] == ["likes tea"]
