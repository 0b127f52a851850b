"""Point 6: records of ``Send`` instances and of nodes sharing a tier name merge in one step
(``degraded`` is their union; ``instances`` counts them); a later step replaces the record."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from parallel_nodes import Task, Tier, parallel_node
from tests.conformance._graphs import State


async def _lookup(state: Any) -> list[str]:
    if state["question"] == "bad":
        raise ConnectionError("down")
    return [state["question"]]


def _tier() -> Any:
    return parallel_node(
        Tier(
            "lookup",
            [Task("answer", _lookup, timeout=5, output_key="docs", default_factory=list)],
            timeout=5,
        ),
        observers=(),
    )


async def test_three_send_instances_keep_the_degraded_one_in_the_record() -> None:
    builder: Any = StateGraph(State)
    builder.add_node("lookup", _tier())
    builder.add_node("again", _tier())
    builder.add_conditional_edges(
        START, lambda s: [Send("lookup", {"question": q}) for q in ("a", "bad", "c")], ["lookup"]
    )
    builder.add_edge("lookup", "again")
    builder.add_edge("again", END)
    graph = builder.compile()

    seen: list[dict[str, Any]] = []
    async for values in graph.astream({"question": "ok"}, stream_mode="values"):
        if values.get("parallel"):
            seen.append(values["parallel"]["lookup"])
    fanned = seen[0]
    assert fanned["degraded"] == ["answer"]  # the "bad" instance, whichever landed last
    assert fanned["instances"] == 3
    assert fanned["tasks"]["answer"]["status"] == "error"
    # The next step's run (one instance, all well) replaces the record instead of merging.
    assert seen[-1]["degraded"] == []
    assert "instances" not in seen[-1]


async def test_two_nodes_sharing_a_tier_name_keep_both_records() -> None:
    builder: Any = StateGraph(State)
    builder.add_node("one", _tier())
    builder.add_node("two", _tier())
    builder.add_edge(START, "one")
    builder.add_edge(START, "two")
    builder.add_edge("one", END)
    builder.add_edge("two", END)
    out = await builder.compile().ainvoke({"question": "bad"})
    assert out["parallel"]["lookup"]["instances"] == 2
    assert out["parallel"]["lookup"]["degraded"] == ["answer"]
