"""Point 7: whatever state a node may receive, a tier takes: Pydantic models, dataclasses,
lists, and ``Send`` payloads of any type."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from pydantic import BaseModel

from parallel_nodes import ParallelBaseWorkflow, Task, Tier, run_tier
from tests.conformance._graphs import as_tier, one_node


class PydanticState(BaseModel):
    question: str = ""
    answer: str = ""
    docs: list[str] = []


@dataclass
class DataclassState:
    question: str = ""
    answer: str = ""
    docs: list[str] = field(default_factory=list)


async def search(state: Any) -> list[str]:
    return [f"doc:{state.question}"]


async def answer(state: Any) -> str:
    return " ".join(state.docs)  # `docs` comes from the dependency, in the state's own type


@pytest.mark.parametrize("schema", [PydanticState, DataclassState], ids=["pydantic", "dataclass"])
async def test_pydantic_and_dataclass_states_work_like_a_plain_node(schema: Any) -> None:
    async def plain(state: Any) -> dict[str, Any]:
        docs = await search(state)
        return {"docs": docs, "answer": " ".join(docs)}

    tiered = as_tier(
        Task("docs", search, timeout=5),
        Task("answer", answer, timeout=5, depends_on=["docs"]),
    )
    outs = [await one_node(n, schema=schema).ainvoke({"question": "q"}) for n in (plain, tiered)]
    assert outs[0] == outs[1] == {"question": "q", "answer": "doc:q", "docs": ["doc:q"]}


async def test_a_list_state_and_send_payloads_of_any_type_reach_the_tasks() -> None:
    double = Tier("double", [Task("x", lambda n: n * 2, timeout=5)], timeout=5)

    async def fan_item(payload: Any) -> dict[str, Any]:
        result = await run_tier(double, payload, observers=())
        return {"items": [result.values["x"]]}

    def fan_out(state: Any) -> list[Send]:
        return [Send("item", 3), Send("item", "ab"), Send("item", [1])]

    builder: Any = StateGraph(_ItemsState)
    builder.add_node("item", fan_item)
    builder.add_conditional_edges(START, fan_out, ["item"])
    builder.add_edge("item", END)
    out = await builder.compile().ainvoke(_ItemsState())
    assert sorted(map(str, out["items"])) == ["6", "[1, 1]", "abab"]

    # A list as the whole state (a root channel).
    async def listing(state: list[int]) -> list[int]:
        result = await run_tier(double, state, observers=())
        return [sum(result.values["x"])]

    root: Any = StateGraph(Annotated[list[int], operator.add])  # type: ignore[arg-type]
    root.add_node("node", listing)
    root.add_edge(START, "node")
    root.add_edge("node", END)
    assert await root.compile().ainvoke([1, 2]) == [1, 2, 6]


class _ItemsState(BaseModel):
    items: Annotated[list[Any], operator.add] = []


async def test_a_workflow_takes_a_pydantic_state() -> None:
    class WorkflowModel(BaseModel):
        question: str = ""
        answer: str = ""
        rag_retrieval: list[Any] = []
        tool_suggestion: list[Any] = []
        memory_retrieval: list[Any] = []
        quality_scoring: dict[str, Any] = {}
        citation_extraction: dict[str, Any] = {}
        cost_tracking: dict[str, Any] = {}

    class Echo(ParallelBaseWorkflow):
        state_schema = WorkflowModel

        async def _rag_retrieval_task(self, state: Any, runtime: Any) -> Any:
            return [f"doc for {state.question}"]

        async def _generate(self, state: Any, runtime: Any) -> dict[str, Any]:
            return {"answer": " ".join(state.rag_retrieval)}

    out = await Echo(config={"metrics": False}).compile().ainvoke({"question": "q"})
    assert out["answer"] == "doc for q"
