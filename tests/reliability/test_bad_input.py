"""Bad state through a real compiled graph: every case fails with the field named, or runs.

Config cases (zero, negative and NaN timeouts, duplicate names, unknown dependencies, cycles,
empty tiers) are in ``tests/test_task.py``, ``tests/test_tier.py`` and ``tests/test_workflow.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig

from parallel_nodes.modes import (
    MAX_QUESTION_CHARS,
    Mode2AutomaticWorkflow,
    Mode4ChatAutomaticWorkflow,
)

NO_METRICS = {"metrics": False}


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"question": None},
        {"question": 42},
        {"question": ["a", "list"]},
        {"question": " \n\t "},
        {"question": "x" * (MAX_QUESTION_CHARS + 1)},
    ],
    ids=["missing", "none", "int", "list", "blank", "huge"],
)
async def test_a_bad_question_is_refused_with_the_field_named(state: dict[str, Any]) -> None:
    graph = Mode2AutomaticWorkflow(config=NO_METRICS).compile()
    with pytest.raises(ValueError, match=r"^question: ") as info:
        await graph.ainvoke(state)
    assert "x" * 100 not in str(info.value)  # the message names the size, not the text


async def test_the_longest_allowed_question_is_answered() -> None:
    graph = Mode2AutomaticWorkflow(config=NO_METRICS).compile()
    question = ("What does a circuit breaker do? " * 200)[:MAX_QUESTION_CHARS]
    out = await graph.ainvoke({"question": question})
    assert out["answer"]


@pytest.mark.parametrize("key", ["rag_retrieval", "tool_suggestion", "memory_retrieval"])
async def test_none_in_a_task_key_is_overwritten_by_the_tier(key: str) -> None:
    graph = Mode2AutomaticWorkflow(config=NO_METRICS).compile()
    out = await graph.ainvoke({"question": "What is a tier deadline?", key: None})
    assert isinstance(out[key], list)
    assert out["parallel"]["retrieval"]["degraded"] == []


async def test_a_chat_turn_without_messages_still_answers() -> None:
    graph = Mode4ChatAutomaticWorkflow(config=NO_METRICS).compile()
    config: RunnableConfig = {"configurable": {"thread_id": "no-messages"}}
    out = await graph.ainvoke({"question": "What is a tier deadline?"}, config)
    assert out["answer"]
