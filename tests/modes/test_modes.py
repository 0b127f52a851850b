"""The four modes, end to end through their compiled graphs with the offline model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from parallel_nodes.modes import (
    Mode1ManualWorkflow,
    Mode2AutomaticWorkflow,
    Mode3ChatManualWorkflow,
    Mode4ChatAutomaticWorkflow,
)

QUESTION = "What does a circuit breaker do when a backend keeps failing?"
NO_METRICS = {"metrics": False}


def _cfg(thread: str | None = None) -> RunnableConfig:
    return {"configurable": {"thread_id": thread or uuid.uuid4().hex}}


def _cited_numbers(answer: str) -> set[int]:
    import re

    return {int(n) for n in re.findall(r"\[(\d+)\]", answer)}


async def test_research_mode_answers_with_citations_quality_and_cost() -> None:
    out = await Mode2AutomaticWorkflow(config=NO_METRICS).compile().ainvoke({"question": QUESTION})
    assert out["rag_retrieval"], "the BM25 index found nothing"
    cited = _cited_numbers(out["answer"])
    assert cited
    assert cited <= {s["n"] for s in out["rag_retrieval"]}
    assert "breaker" in out["answer"].lower()
    assert 0.5 <= out["quality_scoring"]["groundedness"] <= 1.0
    assert out["cost_tracking"]["usd"] == 0
    assert out["cost_tracking"]["input_tokens"] > 0
    assert out["tool_suggestion"] == [] or all("name" in t for t in out["tool_suggestion"])
    for tier in ("retrieval", "post_generation"):
        assert out["parallel"][tier]["degraded"] == []


async def test_interactive_mode_pauses_and_generates_from_what_was_approved() -> None:
    graph = Mode1ManualWorkflow(config=NO_METRICS).compile()
    config = _cfg()
    paused = await graph.ainvoke({"question": QUESTION}, config)
    payload = paused["__interrupt__"][0].value
    assert len(payload["sources"]) >= 2
    assert "answer" not in paused
    removed = payload["sources"][0]
    kept = [s["chunk_id"] for s in payload["sources"][1:]]
    out = await graph.ainvoke(Command(resume={"sources": kept, "tools": []}), config)
    assert [s["chunk_id"] for s in out["rag_retrieval"]] == kept
    cited_ids = {
        s["chunk_id"] for s in out["rag_retrieval"] if s["n"] in _cited_numbers(out["answer"])
    }
    assert removed["chunk_id"] not in cited_ids
    assert cited_ids
    assert out["tool_suggestion"] == []
    assert out["approval"]["sources"] == kept


async def test_removing_every_source_leaves_an_answer_without_citations() -> None:
    graph = Mode1ManualWorkflow(config=NO_METRICS).compile()
    config = _cfg()
    await graph.ainvoke({"question": QUESTION}, config)
    out = await graph.ainvoke(Command(resume={"sources": []}), config)
    assert out["rag_retrieval"] == []
    assert _cited_numbers(out["answer"]) == set()


async def test_chat_modes_keep_the_conversation_per_thread() -> None:
    store = InMemoryStore()
    graph = Mode4ChatAutomaticWorkflow(config=NO_METRICS).compile(store=store)
    config = _cfg()
    for q in (QUESTION, "And how does it recover after the timeout?"):
        await graph.ainvoke({"question": q, "messages": [HumanMessage(q)], "user_id": "u1"}, config)
    state = (await graph.aget_state(config)).values
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "HumanMessage", "AIMessage"]
    memories = await store.asearch(("memories", "u1"))
    assert len(memories) == 2
    other = await graph.ainvoke(
        {"question": QUESTION, "messages": [HumanMessage(QUESTION)], "user_id": "u1"}, _cfg()
    )
    assert len(other["messages"]) == 2
    assert other["memory_retrieval"], "the second thread recalls the first thread's memories"


async def test_chat_manual_pauses_each_turn() -> None:
    graph = Mode3ChatManualWorkflow(config=NO_METRICS).compile()
    config = _cfg()
    for q in (QUESTION, "What about retries?"):
        paused = await graph.ainvoke({"question": q, "messages": [HumanMessage(q)]}, config)
        assert paused["__interrupt__"]
        out = await graph.ainvoke(Command(resume=True), config)
        assert out["answer"]
    assert len(out["messages"]) == 4


class _Broken(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        raise ConnectionError("vector store down")


async def test_a_failing_tier1_task_still_answers_with_degradation_shown() -> None:
    wf = Mode2AutomaticWorkflow(retriever=_Broken(), config=NO_METRICS)
    out = await wf.compile().ainvoke({"question": QUESTION})
    assert out["answer"]
    assert out["rag_retrieval"] == []
    assert out["parallel"]["retrieval"]["degraded"] == ["rag_retrieval"]
    assert out["parallel"]["retrieval"]["tasks"]["rag_retrieval"]["error"] == "ConnectionError"


async def test_a_timed_out_tier1_task_still_answers() -> None:
    import time

    class Slow(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            time.sleep(2)  # a sync retriever blocking its thread
            return []

    config = {**NO_METRICS, "task_timeouts": {"rag_retrieval": 0.2}}
    out = (
        await Mode2AutomaticWorkflow(retriever=Slow(), config=config)
        .compile()
        .ainvoke({"question": QUESTION})
    )
    assert out["parallel"]["retrieval"]["tasks"]["rag_retrieval"]["status"] == "timeout"
    assert out["answer"]


async def test_any_langchain_chat_model_is_accepted() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("Breakers stop calls [1].")]))
    out = (
        await Mode2AutomaticWorkflow(model=model, config=NO_METRICS)
        .compile()
        .ainvoke({"question": QUESTION})
    )
    assert out["answer"] == "Breakers stop calls [1]."
    assert out["citation_extraction"]


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
async def test_bad_questions_fail_with_the_field_named(question: str) -> None:
    graph = Mode2AutomaticWorkflow(config=NO_METRICS).compile()
    with pytest.raises(ValueError, match="question"):
        Mode2AutomaticWorkflow.question_of({"question": question})
    with pytest.raises(ValueError, match="question"):
        await graph.ainvoke({"question": question})


_TURN = textwrap.dedent(
    """
    import asyncio, sys
    from langchain_core.messages import HumanMessage
    from parallel_nodes.modes import Mode4ChatAutomaticWorkflow, open_persistence

    async def main(dsn, thread, question):
        async with open_persistence(postgres_dsn=dsn or None) as p:
            graph = Mode4ChatAutomaticWorkflow(config={"metrics": False}).compile(
                checkpointer=p.checkpointer, store=p.store)
            config = {"configurable": {"thread_id": thread}}
            turn = {"question": question, "messages": [HumanMessage(question)]}
            await graph.ainvoke(turn, config)
            state = await graph.aget_state(config)
            print(len(state.values["messages"]))

    asyncio.run(main(*sys.argv[1:]))
    """
)


def _turn_in_new_process(env: dict[str, str], dsn: str, thread: str, question: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _TURN, dsn, thread, question],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_chat_history_survives_a_new_process_with_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    thread = uuid.uuid4().hex
    assert _turn_in_new_process(env, "", thread, QUESTION) == 2
    assert _turn_in_new_process(env, "", thread, "And retries?") == 4


@pytest.mark.postgres
def test_chat_history_survives_a_new_process_with_postgres() -> None:
    from tests._servers import require_postgres

    dsn = require_postgres()
    thread = uuid.uuid4().hex
    assert _turn_in_new_process(dict(os.environ), dsn, thread, QUESTION) == 2
    assert _turn_in_new_process(dict(os.environ), dsn, thread, "And retries?") == 4
