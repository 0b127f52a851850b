"""Long-term memories in a real InMemoryStore."""

from __future__ import annotations

import dataclasses

import pytest
from langgraph.store.memory import InMemoryStore

from parallel_nodes.modes._memory import (
    MAX_MEMORY_CHARS,
    MemoryHit,
    memory_namespace,
    recall,
    remember,
)

ANSWER = (
    "A circuit breaker stops calling a failing backend [1]. It opens after five failures [2]. "
    "It closes again after a successful trial call [2]."
)


async def test_remember_writes_a_compact_memory_under_the_users_namespace() -> None:
    store = InMemoryStore()
    await remember(store, "u1", "What does a circuit breaker do?", ANSWER)
    [item] = await store.asearch(("memories", "u1"))
    assert item.value == {
        "text": "Asked: What does a circuit breaker do? Answered: A circuit breaker stops "
        "calling a failing backend. It opens after five failures.",
        "question": "What does a circuit breaker do?",
    }
    assert len(item.key) == 24


async def test_same_turn_twice_is_one_memory() -> None:
    store = InMemoryStore()
    for _ in range(2):
        await remember(store, "u1", "What is a breaker?", ANSWER)
    await remember(store, "u1", "What is a breaker?", "Something else.")
    assert len(await store.asearch(("memories", "u1"))) == 2


async def test_recall_ranks_by_relevance_and_keeps_users_apart() -> None:
    store = InMemoryStore()
    await remember(store, "u1", "How do retries back off?", "Retries wait longer each time.")
    await remember(store, "u1", "What does a circuit breaker do?", ANSWER)
    await remember(store, "u1", "What is a tier deadline?", "A bound on the tier's wall time.")
    await remember(store, "u2", "What does a circuit breaker do?", ANSWER)
    hits = await recall(store, "u1", "When does the circuit breaker open after failures?", k=3)
    assert [h.question for h in hits] == ["What does a circuit breaker do?"]
    assert hits[0].score == 1.0
    assert isinstance(hits[0], MemoryHit)
    assert await recall(store, "u3", "circuit breaker") == []
    assert await recall(store, "u1", "what is it?") == [], "no content words, no memories"


async def test_recall_returns_at_most_k_best_first() -> None:
    store = InMemoryStore()
    for i in range(12):
        await remember(store, "u1", f"Question {i} about breakers", f"Answer {i}.")
    await remember(store, "u1", "Breakers and retries together?", "Both help.")
    hits = await recall(store, "u1", "breakers with retries", k=2)
    assert len(hits) == 2
    assert hits[0].question == "Breakers and retries together?"
    assert hits[0].score == 1.0
    assert hits[1].score == 0.5


async def test_recall_pages_through_large_namespaces() -> None:
    store = InMemoryStore()
    for i in range(150):
        await remember(store, "u1", f"Filler question {i}", "Filler.")
    await remember(store, "u1", "Where do hedged requests go?", "To another replica.")
    [hit] = await recall(store, "u1", "hedged requests", k=3)
    assert hit.question == "Where do hedged requests go?"
    assert await recall(store, "u1", "hedged requests", scan=100) == [], "scan bounds the read"


async def test_long_answers_are_truncated_at_a_word() -> None:
    store = InMemoryStore()
    await remember(store, "u1", "Long?", "word " * 200 + ".")
    [item] = await store.asearch(("memories", "u1"))
    excerpt = item.value["text"].split("Answered: ", 1)[1]
    assert excerpt.endswith("word…")
    assert len(excerpt) <= MAX_MEMORY_CHARS + 1


async def test_user_ids_with_periods_are_escaped_and_empty_ids_refused() -> None:
    store = InMemoryStore()
    await remember(store, "ann.lee@example.com", "What is a breaker?", ANSWER)
    assert memory_namespace("ann.lee@example.com") == ("memories", "ann%2Elee@example%2Ecom")
    assert memory_namespace("a%2Eb") != memory_namespace("a.b")
    assert await recall(store, "ann.lee@example.com", "breaker")
    with pytest.raises(ValueError, match="user_id: must be a non-empty string"):
        await recall(store, " ", "breaker")
    with pytest.raises(ValueError, match="k, scan: must be at least 1"):
        await recall(store, "u1", "breaker", k=0)


async def test_hits_are_frozen() -> None:
    store = InMemoryStore()
    await remember(store, "u1", "What is a breaker?", ANSWER)
    [hit] = await recall(store, "u1", "breaker")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.score = 0.0  # type: ignore[misc]
