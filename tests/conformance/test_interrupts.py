"""Point 1: ``interrupt()`` and ``Command(graph=PARENT)`` behave in a task as in a plain node."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt

from parallel_nodes import Task, Tier, parallel_node, run_tier
from tests.conformance._graphs import CONFIG, State, as_tier, one_node, saver
from tests.conftest import RecordingObserver


def _ask_async(calls: Counter[str]) -> Any:
    async def ask(state: Any) -> Any:
        calls["ask"] += 1
        return {"answer": interrupt("approve?")}

    return ask


def _ask_sync(calls: Counter[str]) -> Any:
    def ask(state: Any) -> Any:
        calls["ask"] += 1
        return {"answer": interrupt("approve?")}

    return ask


@pytest.mark.parametrize("make", [_ask_async, _ask_sync], ids=["async", "sync"])
async def test_an_interrupt_in_a_task_pauses_and_resumes_like_a_plain_node(make: Any) -> None:
    plain_calls: Counter[str] = Counter()
    task_calls: Counter[str] = Counter()
    recorder = RecordingObserver()
    plain = one_node(make(plain_calls), checkpointer=saver())
    tier = Tier(
        "t",
        [
            Task("ask", make(task_calls), timeout=5, returns="update", retry=RetryPolicy()),
            Task("other", _slow_other(task_calls), timeout=5, default="fallback"),
        ],
        timeout=5,
    )
    tiered = one_node(parallel_node(tier, observers=(recorder,)), checkpointer=saver())

    for graph, calls in ((plain, plain_calls), (tiered, task_calls)):
        paused = await graph.ainvoke({"question": "q"}, CONFIG)
        assert [i.value for i in paused["__interrupt__"]] == ["approve?"]
        assert (await graph.aget_state(CONFIG)).next == ("node",)
        assert calls["ask"] == 1  # not retried: an interrupt is not a failure
        done = await graph.ainvoke(Command(resume="yes"), CONFIG)
        assert done["answer"] == "yes"
        assert calls["ask"] == 2  # re-run on resume, as LangGraph re-runs the node
    # The sibling was cancelled by the interrupt and ran again on resume; nothing degraded.
    assert task_calls["other"] == 2
    assert all(not r.degraded for _, _, r in recorder.tasks)
    assert [r.name for _, _, r in recorder.tasks].count("ask") == 1  # only the resumed run


def _slow_other(calls: Counter[str]) -> Any:
    async def other(state: Any) -> str:
        calls["other"] += 1
        await asyncio.sleep(0.05)
        return "other"

    return other


async def test_an_interrupt_propagates_out_of_run_tier_untouched_and_cancels_siblings() -> None:
    cancelled = asyncio.Event()

    async def ask(state: Any) -> Any:
        raise GraphInterrupt(())

    async def long(state: Any) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    recorder = RecordingObserver()
    tier = Tier("t", [Task("ask", ask, timeout=5), Task("long", long, timeout=60)], timeout=60)
    with pytest.raises(GraphInterrupt):
        await run_tier(tier, {}, observers=(recorder,))
    await asyncio.wait_for(cancelled.wait(), 1)
    assert recorder.tasks == []  # neither a failure nor a cancellation is counted


def _subgraph() -> Any:
    def hand_off(state: Any) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="finish", update={"answer": "handed off"})

    sub: StateGraph[Any] = StateGraph(State)
    sub.add_node("hand_off", hand_off)
    sub.add_edge(START, "hand_off")
    return sub.compile()


def _parent(delegate: Any) -> Any:
    builder: StateGraph[Any] = StateGraph(State)
    builder.add_node("delegate", delegate, destinations=("finish",))
    builder.add_node("finish", lambda s: {"other": "finished"})
    builder.add_edge(START, "delegate")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=saver())


async def test_a_hand_off_to_the_parent_from_a_subgraph_in_a_task_reaches_the_parent() -> None:
    sub = _subgraph()

    async def plain(state: Any) -> Any:
        return await sub.ainvoke(state)

    tiered = as_tier(Task("sub", sub.ainvoke, timeout=5, returns="update"))
    outs = [await _parent(n).ainvoke({"question": "q"}, CONFIG) for n in (plain, tiered)]
    assert outs[0]["answer"] == outs[1]["answer"] == "handed off"
    assert outs[0]["other"] == outs[1]["other"] == "finished"


async def test_a_durable_tier_does_not_rerun_finished_tasks_after_an_interrupt() -> None:
    from langgraph.store.memory import InMemoryStore

    calls: Counter[str] = Counter()

    async def fetch(state: Any) -> str:
        calls["fetch"] += 1
        return "fetched"

    async def ask(state: Any) -> Any:
        calls["ask"] += 1
        await asyncio.sleep(0.05)  # `fetch` has finished and been kept by now
        return {"answer": interrupt("approve?")}

    tier = Tier(
        "t",
        [
            Task("other", fetch, timeout=5),
            Task("ask", ask, timeout=5, returns="update"),
        ],
        timeout=5,
        durable=True,
    )
    graph = one_node(parallel_node(tier, observers=()), checkpointer=saver(), store=InMemoryStore())
    await graph.ainvoke({"question": "q"}, CONFIG)
    done = await graph.ainvoke(Command(resume="yes"), CONFIG)
    assert done["answer"] == "yes"
    assert done["other"] == "fetched"
    assert calls == {"fetch": 1, "ask": 2}
