"""How trustworthy an answer looks: groundedness in the sources and relevance to the question.

Both scores are lexical, so they are cheap and deterministic; they catch invented sentences
and off-topic answers, not subtle paraphrase errors. A sentence counts as supported by the
same check ``extract_citations`` uses (``best_support``), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from ._text import SUPPORT_THRESHOLD, best_support, content_tokens, split_sentences, strip_citations

__all__ = ["SUPPORT_THRESHOLD", "QualityScore", "score_answer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityScore:
    """Groundedness and relevance of an answer, each with the reason for its value.

    Example:
        >>> from langchain_core.documents import Document
        >>> docs = [Document(page_content="Breakers open after five failures.")]
        >>> score_answer("When do breakers open?", "Breakers open after five failures [1].", docs)
        ... # doctest: +NORMALIZE_WHITESPACE
        QualityScore(groundedness=1.0, relevance=1.0, overall=1.0,
            groundedness_reason='1 of 1 sentences are supported by the sources',
            relevance_reason='2 of 2 question words appear in the answer')
    """

    groundedness: float
    """Share of answer sentences supported by a source, 0..1."""
    relevance: float
    """Share of the question's content words the answer contains, 0..1: an answer that is
    about something else scores low even when its sources matched the question's words."""
    overall: float
    """The mean of the two."""
    groundedness_reason: str
    """One line explaining ``groundedness``."""
    relevance_reason: str
    """One line explaining ``relevance``."""


def _groundedness(answer: str, sources: list[set[str]]) -> tuple[float, str]:
    sentences = [t for s in split_sentences(strip_citations(answer)) if (t := content_tokens(s))]
    if not sentences:
        return 0.0, "the answer has no sentences with content words to check"
    if not sources:
        return 0.0, f"no sources were given, so none of {len(sentences)} sentences is supported"
    supported = sum(1 for tokens in sentences if best_support(tokens, sources).supported)
    reason = f"{supported} of {len(sentences)} sentences are supported by the sources"
    return supported / len(sentences), reason


def _relevance(question: str, answer: str) -> tuple[float, str]:
    wanted = set(content_tokens(question))
    if not wanted:
        return 0.0, "the question has no content words to look for"
    # Only the answer counts: sources that share the question's words do not make an
    # answer that ignores them relevant.
    found = wanted & set(content_tokens(answer))
    reason = f"{len(found)} of {len(wanted)} question words appear in the answer"
    missing = sorted(wanted - found)
    if missing:
        reason += f"; missing: {', '.join(missing[:5])}"
    return len(found) / len(wanted), reason


def score_answer(question: str, answer: str, docs: Sequence[Document]) -> QualityScore:
    """Score ``answer`` against the ``docs`` it was written from.

    Citation markers such as ``[1]`` are removed before anything is compared.

    Args:
        question: The user's question.
        answer: The model's answer.
        docs: The sources the model was given.

    Returns:
        The scores, rounded to three decimals, with one-line reasons.
    """
    sources = [set(content_tokens(d.page_content)) for d in docs]
    grounded, grounded_why = _groundedness(answer, sources)
    relevant, relevant_why = _relevance(question, answer)
    return QualityScore(
        groundedness=round(grounded, 3),
        relevance=round(relevant, 3),
        overall=round((grounded + relevant) / 2, 3),
        groundedness_reason=grounded_why,
        relevance_reason=relevant_why,
    )
