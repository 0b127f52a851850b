"""A plain node moved unchanged into a one-task tier (``returns="update"``,
``on_error="raise"``, no record) behaves as the plain node did: it fails, retries and is handled
as a node; a single-value state takes its value; its update streams as it was; and LangGraph
reads the same input schema and ``Command`` destinations from it."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy

from parallel_nodes import Task, Tier, parallel_node
from parallel_nodes.errors import ConfigError


def moved(fn: Any) -> Any:
    """``fn`` as a user moves a node into a tier, with nothing of ours added."""
    task = Task("n", fn, timeout=5, returns="update", on_error="raise")
    return parallel_node(Tier("n", [task], timeout=5), meta_key=None, observers=())


def _both(build: Any, fn: Any) -> tuple[Any, Any]:
    return build(fn), build(moved(fn))


class State(TypedDict, total=False):
    question: str
    answer: str


def _graph(node: Any, *, retry: RetryPolicy | None = None, schema: Any = State) -> Any:
    builder: Any = StateGraph(schema)
    builder.add_node("n", node, retry_policy=retry)
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile()


def test_a_failing_node_fails_the_run_with_its_own_error() -> None:
    def broken(state: Any) -> dict[str, Any]:
        raise ValueError("boom")

    for graph in _both(_graph, broken):
        with pytest.raises(ValueError, match="boom"):
            graph.invoke({"question": "q"})


def test_the_graphs_retry_policy_retries_the_moved_node() -> None:
    calls: list[int] = []

    def flaky(state: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) % 2:
            raise ValueError("once")
        return {"answer": "ok"}

    retry = RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=ValueError)
    plain = _graph(flaky, retry=retry).invoke({"question": "q"})
    tiered = _graph(moved(flaky), retry=retry).invoke({"question": "q"})
    assert plain == tiered == {"question": "q", "answer": "ok"}
    assert len(calls) == 4


def test_on_error_raise_takes_no_default() -> None:
    with pytest.raises(ConfigError, match="on_error"):
        Task("n", lambda s: 1, timeout=1, on_error="raise", default=1)


def test_a_single_value_state_takes_the_nodes_value_as_it_is() -> None:
    def logic(state: str) -> str:
        return "!"

    outs = [
        _graph(node, schema=Annotated[str, operator.add]).invoke("hi")
        for node in _both(lambda n: n, logic)
    ]
    assert outs[0] == outs[1] == "hi!"


def test_the_updates_stream_shows_the_nodes_own_update() -> None:
    def answer(state: Any) -> dict[str, Any]:
        return {"answer": "a"}

    streams = [list(_graph(n).stream({"question": "q"})) for n in _both(lambda n: n, answer)]
    assert streams[0] == streams[1] == [{"n": {"answer": "a"}}]


class Private(TypedDict):
    question: str
    secret: str


def test_the_input_schema_and_destinations_come_from_the_function() -> None:
    def node(state: Private) -> Command[Literal["end"]]:
        return Command(goto="end", update={"answer": state["secret"]})

    def graph_of(n: Any) -> Any:
        builder: Any = StateGraph(State)
        builder.add_node("n", n)
        builder.add_node("end", lambda s: {})
        builder.add_edge(START, "n")
        return builder

    plain, tiered = _both(graph_of, node)
    assert tiered.nodes["n"].input_schema is plain.nodes["n"].input_schema is Private
    assert tiered.nodes["n"].ends == plain.nodes["n"].ends == ("end",)
    plain_edges = {(e.source, e.target) for e in plain.compile().get_graph().edges}
    assert {(e.source, e.target) for e in tiered.compile().get_graph().edges} == plain_edges


async def test_a_node_raising_cancelled_error_fails_the_run_as_a_plain_node() -> None:
    import asyncio

    from langgraph.errors import NodeCancelledError

    async def boom(state: Any) -> dict[str, Any]:
        raise asyncio.CancelledError("user-raised in node body")

    for graph in _both(_graph, boom):
        with pytest.raises(NodeCancelledError) as excinfo:
            await graph.ainvoke({"question": "q"})
        assert excinfo.value.node == "n"
