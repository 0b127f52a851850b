"""What the gate (LangGraph's own tests, run through the engine) found: a node moved into a tier
must stream, checkpoint and free its memory exactly as the plain node did."""

from __future__ import annotations

import gc
import threading
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.config import get_stream_writer
from langgraph.pregel._loop import SyncPregelLoop

from parallel_nodes import Task
from tests.conformance._graphs import CONFIG, as_tier, one_node, saver


def _writes_custom(state: Any) -> dict[str, Any]:
    get_stream_writer()("custom!")
    return {"answer": "done"}


def _custom_events(graph: Any) -> list[Any]:
    return list(graph.stream({}, stream_mode="custom"))


def test_a_tier_streams_no_custom_events_of_its_own_unless_asked() -> None:
    plain = _custom_events(one_node(_writes_custom))

    def task(state: Any) -> str:
        get_stream_writer()("custom!")
        return "done"

    tiered = _custom_events(one_node(as_tier(Task("answer", task, timeout=5))))
    assert plain == tiered == ["custom!"]
    asked = _custom_events(one_node(as_tier(Task("answer", task, timeout=5), stream_events=True)))
    assert [e if isinstance(e, str) else e["parallel_nodes"] for e in asked] == [
        "task_started",
        "custom!",
        "task_finished",
    ]


class Resource:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # what msgpack cannot serialise


class UntrackedState(TypedDict, total=False):
    answer: Annotated[Any, UntrackedValue]
    other: str


def test_a_value_for_an_untracked_channel_is_not_checked_as_langgraph_never_saves_it() -> None:
    def plain(state: Any) -> dict[str, Any]:
        return {"answer": Resource(), "other": "ok"}

    graph = one_node(plain, schema=UntrackedState, checkpointer=saver())
    out = graph.invoke({}, CONFIG)
    assert isinstance(out["answer"], Resource)

    tiered = one_node(
        as_tier(Task("answer", lambda s: Resource(), timeout=5)),
        schema=UntrackedState,
        checkpointer=saver(),
    )
    out = tiered.invoke({}, CONFIG)
    assert isinstance(out["answer"], Resource)


class FaultySerializer(JsonPlusSerializer):
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        raise ValueError("Faulty serializer")


def test_the_serializers_own_error_surfaces_as_for_a_plain_node() -> None:
    def plain(state: Any) -> dict[str, Any]:
        return {"answer": "fine"}

    with pytest.raises(ValueError, match="Faulty serializer"):
        one_node(plain, checkpointer=InMemorySaver(serde=FaultySerializer())).invoke({}, CONFIG)
    tiered = one_node(
        as_tier(Task("answer", lambda s: "fine", timeout=5)),
        checkpointer=InMemorySaver(serde=FaultySerializer()),
    )
    with pytest.raises(ValueError, match="Faulty serializer"):
        tiered.invoke({}, CONFIG)


def _live_loops() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, SyncPregelLoop))


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_finished_tier_keeps_nothing_of_langgraphs_loop_alive(sync: bool) -> None:
    def work(state: Any) -> list[str]:
        get_stream_writer()({"note": "x"})
        return ["doc"]

    async def awork(state: Any) -> list[str]:
        return work(state)

    graph = one_node(as_tier(Task("docs", work if sync else awork, timeout=5)))
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            graph.invoke({"question": "q"})
            assert _live_loops() == 0  # freed by reference counting, not by the collector
    finally:
        gc.enable()
