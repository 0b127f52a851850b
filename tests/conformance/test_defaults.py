"""Point 3: a task that degrades or is skipped with no default writes nothing to its key, as a
plain node that writes nothing; a reducer key keeps its value."""

from __future__ import annotations

from typing import Any

from parallel_nodes import Task
from tests.conformance._graphs import CONFIG, as_tier, one_node, saver


async def _broken(state: Any) -> list[str]:
    raise ConnectionError("index down")


async def _fine(state: Any) -> str:
    return "ok"


async def test_a_failed_or_disabled_task_without_default_leaves_a_reducer_key_alone() -> None:
    def plain(state: Any) -> dict[str, Any]:
        return {"answer": "ok"}  # writes nothing to `docs` or `other`

    tiered = as_tier(
        Task("docs", _broken, timeout=5),
        Task("other", _fine, timeout=5, enabled=False),
        Task("answer", _fine, timeout=5),
    )
    outs = []
    for node in (plain, tiered):
        graph = one_node(node, checkpointer=saver())
        await graph.ainvoke({"docs": ["kept"], "other": "kept"}, CONFIG)
        outs.append((await graph.aget_state(CONFIG)).values)
    for out in outs:
        assert out["docs"] == ["kept"]  # operator.add never saw a None
        assert out["other"] == "kept"
        assert out["answer"] == "ok"
    assert outs[1]["parallel"]["t"]["degraded"] == ["docs"]


async def test_a_default_is_still_written_and_a_mutable_one_is_fresh_each_run() -> None:
    shared: list[str] = []
    task = Task("docs", _broken, timeout=5, default=shared)
    first, second = task.make_default(), task.make_default()
    assert first == []
    assert first is not shared
    assert first is not second
    graph = one_node(as_tier(task))
    assert (await graph.ainvoke({"docs": ["kept"]}))["docs"] == ["kept"]  # + []
