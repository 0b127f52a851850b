"""Which source each ``[n]`` marker points at, and which source backs each answer sentence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from ._text import (
    SUPPORT_THRESHOLD,
    best_support,
    citation_numbers,
    content_tokens,
    split_sentences,
    strip_citations,
)

__all__ = [
    "MIN_OVERLAP",
    "SNIPPET_CHARS",
    "Citation",
    "CitationReport",
    "SentenceSupport",
    "extract_citations",
]

MIN_OVERLAP = SUPPORT_THRESHOLD
"""Below this share of its content words found in the best source, a sentence is unsupported;
the same threshold groundedness (``score_answer``) uses."""
SNIPPET_CHARS = 160


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """One ``[n]`` marker resolved to the source it names."""

    marker: int
    """The number inside the brackets."""
    chunk_id: str
    source: str
    heading: str
    snippet: str
    """The start of the source text, about ``SNIPPET_CHARS`` characters, cut at a word."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceSupport:
    """One answer sentence and the source chunk that supports it best."""

    sentence: str
    """The sentence without its markers."""
    markers: tuple[int, ...]
    """The markers the answer put on this sentence."""
    chunk_id: str | None
    """The best-supporting chunk, ``None`` when unsupported."""
    marker: int | None
    """The number of that chunk as the model saw it (1-based)."""
    overlap: float
    """Share of the sentence's content words found in the best chunk, 0..1."""
    unsupported: bool
    """No chunk reaches the overlap threshold: the sentence may be invented."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CitationReport:
    """The citations of an answer, checked against its sources.

    Example:
        >>> from langchain_core.documents import Document
        >>> doc = Document(page_content="Breakers open.", metadata={"chunk_id": "cb.md#1"})
        >>> report = extract_citations("Breakers open [1]. Cats fly [7].", [doc])
        >>> [c.chunk_id for c in report.citations], report.invalid_markers, report.unsupported
        (['cb.md#1'], (7,), ('Cats fly.',))
    """

    citations: tuple[Citation, ...]
    """Each distinct valid marker, in order of first appearance."""
    invalid_markers: tuple[int, ...]
    """Markers with no such source (``[0]``, or beyond the number of sources)."""
    sentences: tuple[SentenceSupport, ...]
    """Every answer sentence with content words, in order."""
    unsupported: tuple[str, ...]
    """The sentences no source supports."""


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > 0 else limit].rstrip(",;:") + "…"


def _chunk_id(n: int, doc: Document) -> str:
    return str(doc.metadata.get("chunk_id", f"doc{n}"))


def _citation(n: int, doc: Document) -> Citation:
    meta = doc.metadata
    return Citation(
        marker=n,
        chunk_id=_chunk_id(n, doc),
        source=str(meta.get("source", "")),
        heading=str(meta.get("heading", "")),
        snippet=_snippet(doc.page_content),
    )


def extract_citations(
    answer: str, docs: Sequence[Document], *, min_overlap: float = MIN_OVERLAP
) -> CitationReport:
    """Resolve the answer's ``[n]`` markers and find the best source for every sentence.

    Args:
        answer: The model's answer, with markers numbered as in ``format_context``.
        docs: The sources the model was given, in the order they were numbered.
        min_overlap: The share of a sentence's content words that must appear in one source
            for the sentence to count as supported.

    Returns:
        The report; markers that name no source are listed, never raised.
    """
    citations: dict[int, Citation] = {}
    invalid: dict[int, None] = {}
    for n in citation_numbers(answer):
        if 1 <= n <= len(docs):
            citations.setdefault(n, _citation(n, docs[n - 1]))
        else:
            invalid[n] = None
    sources = [set(content_tokens(d.page_content)) for d in docs]
    sentences: list[SentenceSupport] = []
    for raw in split_sentences(answer):
        tokens = content_tokens(raw)
        if not tokens:
            continue
        best, score = best_support(tokens, sources)
        supported = best >= 0 and score >= min_overlap
        sentences.append(
            SentenceSupport(
                sentence=strip_citations(raw),
                markers=tuple(citation_numbers(raw)),
                chunk_id=_chunk_id(best + 1, docs[best]) if supported else None,
                marker=best + 1 if supported else None,
                overlap=round(score, 3),
                unsupported=not supported,
            )
        )
    return CitationReport(
        citations=tuple(citations.values()),
        invalid_markers=tuple(invalid),
        sentences=tuple(sentences),
        unsupported=tuple(s.sentence for s in sentences if s.unsupported),
    )
