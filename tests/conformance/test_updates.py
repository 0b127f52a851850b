"""``Task(returns="update")``: a plain node moved into a tier unchanged; its dict, ``Command`` or
list of ``Command``s is applied as the node's own update, as three native branches would be."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from parallel_nodes import Task
from tests.conformance._graphs import State, as_tier


def a(state: Any) -> dict[str, Any]:
    return {"docs": ["a"]}


async def b(state: Any) -> Command[Any]:
    return Command(update={"docs": ["b"]})


async def c(state: Any) -> list[Command[Any]]:
    return [Command(update={"docs": ["c"]}), Command(update={"other": "c"})]


def _native() -> Any:
    builder: Any = StateGraph(State)
    for fn in (a, b, c):
        builder.add_node(fn.__name__, fn)
        builder.add_edge(START, fn.__name__)
        builder.add_edge(fn.__name__, END)
    return builder.compile()


def _tiered(*extra: Task) -> Any:
    builder: Any = StateGraph(State)
    tasks = [Task(fn.__name__, fn, timeout=5, returns="update") for fn in (a, b, c)]
    builder.add_node("tier", as_tier(*tasks, *extra), destinations=("finish", END))
    builder.add_node("finish", lambda s: {"answer": "finished"})
    builder.add_edge(START, "tier")
    return builder.compile()


async def test_three_native_branches_become_one_tier_unchanged() -> None:
    native = await _native().ainvoke({"docs": []})
    tiered = await _tiered().ainvoke({"docs": []})
    assert sorted(native["docs"]) == sorted(tiered["docs"]) == ["a", "b", "c"]
    assert native["other"] == tiered["other"] == "c"
    assert tiered["parallel"]["t"]["degraded"] == []


async def test_a_tasks_goto_routes_the_node_and_a_bad_update_degrades_only_its_task() -> None:
    async def route(state: Any) -> Command[Any]:
        return Command(goto="finish")

    async def bad(state: Any) -> int:
        return 42  # not an update: LangGraph would fail the graph; the tier degrades the task

    out = await _tiered(
        Task("route", route, timeout=5, returns="update"),
        Task("bad", bad, timeout=5, returns="update"),
    ).ainvoke({"docs": []})
    assert out["answer"] == "finished"
    assert sorted(out["docs"]) == ["a", "b", "c"]
    assert out["parallel"]["t"]["tasks"]["bad"]["status"] == "invalid_output"
