"""A compiled graph called inside a task is a subgraph of the node for LangGraph, as when a
plain node calls it: its checkpoints, ``get_state(subgraphs=True)``, its interrupts."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import START, StateGraph
from langgraph.types import Command, StateSnapshot, interrupt

from parallel_nodes import Task
from tests.conformance._graphs import CONFIG, State, as_tier, one_node, saver


def _subgraph() -> Any:
    def draft(state: Any) -> dict[str, Any]:
        return {"other": "draft"}

    def review(state: Any) -> dict[str, Any]:
        return {"answer": interrupt("approve the draft?")}

    sub: StateGraph[Any] = StateGraph(State)
    sub.add_node("draft", draft)
    sub.add_node("review", review)
    sub.add_edge(START, "draft")
    sub.add_edge("draft", "review")
    return sub.compile()


def _nodes(sub: Any) -> list[Any]:
    async def plain(state: Any) -> Any:
        return await sub.ainvoke(state)

    def sync_task(state: Any) -> Any:  # runs in a worker thread, with the node's config
        return sub.invoke(state)

    return [
        plain,
        as_tier(Task("sub", sub.ainvoke, timeout=5, returns="update")),
        as_tier(Task("sub", sync_task, timeout=5, returns="update")),
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["plain", "tier", "tier_sync_task"])
async def test_a_subgraph_in_a_task_checkpoints_pauses_and_resumes_as_from_a_plain_node(
    which: int,
) -> None:
    checkpointer = saver()
    graph = one_node(_nodes(_subgraph())[which], checkpointer=checkpointer)
    paused = await graph.ainvoke({"question": "q"}, CONFIG)
    assert [i.value for i in paused["__interrupt__"]] == ["approve the draft?"]

    snapshot = await graph.aget_state(CONFIG, subgraphs=True)
    assert snapshot.next == ("node",)
    sub_state = snapshot.tasks[0].state
    assert isinstance(sub_state, StateSnapshot)  # the subgraph is visible, with its own state
    assert sub_state.values["other"] == "draft"
    assert sub_state.next == ("review",)
    namespaces = {c.config["configurable"]["checkpoint_ns"] for c in checkpointer.list(CONFIG)}
    assert any(ns.startswith("node:") for ns in namespaces)  # the subgraph's own checkpoints

    done = await graph.ainvoke(Command(resume="approved"), CONFIG)
    assert done["answer"] == "approved"
    assert done["other"] == "draft"
