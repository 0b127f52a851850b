"""One node, two ways: a plain LangGraph node, and the same work as a task of a tier.

Each conformance test builds both graphs from one function and asserts the same outcome.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from parallel_nodes import Task, Tier, merge_tier_records, parallel_node

CONFIG: RunnableConfig = {"configurable": {"thread_id": "t1"}}


class State(TypedDict, total=False):
    question: str
    answer: Any
    other: Any
    docs: Annotated[list[str], operator.add]
    parallel: Annotated[dict[str, Any], merge_tier_records]


def one_node(
    node: Any,
    *,
    schema: Any = State,
    checkpointer: Any = None,
    store: Any = None,
    then: Callable[..., Any] | None = None,
) -> CompiledStateGraph[Any]:
    """``START -> node [-> then] -> END``, compiled."""
    builder: StateGraph[Any] = StateGraph(schema)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    if then is None:
        builder.add_edge("node", END)
    else:
        builder.add_node("then", then)
        builder.add_edge("node", "then")
        builder.add_edge("then", END)
    return builder.compile(checkpointer=checkpointer, store=store)


def as_tier(*tasks: Task, timeout: float = 5.0) -> Any:
    """The tasks as one tier, as a node (no observers unless a test adds some)."""
    return parallel_node(Tier("t", list(tasks), timeout=timeout), observers=())


def saver() -> InMemorySaver:
    return InMemorySaver()
