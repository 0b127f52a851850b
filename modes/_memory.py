"""Long-term memory across threads: write a compact note per turn, recall the relevant ones.

Memories live in a LangGraph ``BaseStore`` under ``("memories", user_id)``. Recall ranks them
lexically, so it works on any store, including an ``InMemoryStore`` without an embedding index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langgraph.store.base import BaseStore, SearchItem

from ._text import content_tokens, overlap, split_sentences, strip_citations

__all__ = ["MAX_MEMORY_CHARS", "MemoryHit", "memory_namespace", "recall", "remember"]

MAX_MEMORY_CHARS = 300
"""The longest answer excerpt a memory keeps."""
_PAGE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    """A stored memory that matches the question.

    Example:
        >>> import asyncio
        >>> from langgraph.store.memory import InMemoryStore
        >>> store = InMemoryStore()
        >>> asyncio.run(remember(store, "ann", "What is a breaker?", "It stops calls [1]."))
        >>> [hit.text for hit in asyncio.run(recall(store, "ann", "breaker?"))]
        ['Asked: What is a breaker? Answered: It stops calls.']
    """

    key: str
    text: str
    """The memory as written: the question and the start of the answer."""
    question: str
    """The question of the remembered turn."""
    score: float
    """Share of the new question's content words found in the memory, 0..1."""
    updated_at: str
    """When the memory was written, ISO 8601."""


def memory_namespace(user_id: str) -> tuple[str, str]:
    """The store namespace of ``user_id``'s memories.

    Store labels may not contain ``.``, so ``.`` and ``%`` are percent-escaped; other ids
    (``"u1"``) are used as they are.

    Raises:
        ValueError: ``user_id`` is empty.
    """
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValueError("user_id: must be a non-empty string, e.g. 'alice'")
    return ("memories", user_id.replace("%", "%25").replace(".", "%2E"))


def _summary(question: str, answer: str) -> str:
    excerpt = " ".join(split_sentences(strip_citations(answer))[:2])
    if len(excerpt) > MAX_MEMORY_CHARS:
        cut = excerpt.rfind(" ", 0, MAX_MEMORY_CHARS)
        excerpt = excerpt[: cut if cut > 0 else MAX_MEMORY_CHARS].rstrip(",;:") + "…"
    return f"Asked: {' '.join(question.split())} Answered: {excerpt}"


async def remember(store: BaseStore, user_id: str, question: str, answer: str) -> None:
    """Write a compact memory of one turn.

    The key is a hash of the question and answer, so writing the same turn twice keeps one
    memory.

    Args:
        store: Any LangGraph store.
        user_id: Whose memory this is.
        question: The user's question.
        answer: The answer given; citation markers are dropped and the first two sentences
            kept, up to ``MAX_MEMORY_CHARS``.
    """
    namespace = memory_namespace(user_id)
    key = hashlib.sha256(f"{question}\x00{answer}".encode()).hexdigest()[:24]
    await store.aput(namespace, key, {"text": _summary(question, answer), "question": question})


async def _all(store: BaseStore, namespace: tuple[str, ...], scan: int) -> list[SearchItem]:
    items: list[SearchItem] = []
    while len(items) < scan:
        page = await store.asearch(
            namespace, limit=min(_PAGE, scan - len(items)), offset=len(items)
        )
        items.extend(page)
        if len(page) < _PAGE:
            break
    return items


async def recall(
    store: BaseStore, user_id: str, question: str, *, k: int = 3, scan: int = 500
) -> list[MemoryHit]:
    """The user's memories most relevant to ``question``.

    Args:
        store: Any LangGraph store.
        user_id: Whose memories to search.
        question: The new question.
        k: The most memories to return.
        scan: The most memories to read from the store before ranking.

    Returns:
        At most ``k`` memories sharing a content word with ``question``, best first, newer
        first on ties.

    Raises:
        ValueError: ``k`` or ``scan`` is below 1, or ``user_id`` is empty.
    """
    if k < 1 or scan < 1:
        raise ValueError(f"k, scan: must be at least 1, got k={k}, scan={scan}")
    wanted = content_tokens(question)
    if not wanted:
        return []
    hits: list[MemoryHit] = []
    for item in await _all(store, memory_namespace(user_id), scan):
        text = str(item.value.get("text", ""))
        asked = str(item.value.get("question", ""))
        score = overlap(wanted, set(content_tokens(f"{asked} {text}")))
        if score > 0:
            hits.append(
                MemoryHit(
                    key=item.key,
                    text=text,
                    question=asked,
                    score=round(score, 3),
                    updated_at=item.updated_at.isoformat(),
                )
            )
    hits.sort(key=lambda h: h.updated_at, reverse=True)
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:k]
