"""Groundedness and relevance scores, and the reasons given for them."""

from __future__ import annotations

import dataclasses

import pytest
from langchain_core.documents import Document

from parallel_nodes.modes._corpus import SAMPLE_CORPUS, CorpusRetriever
from parallel_nodes.modes._offline_model import ExtractiveChatModel, build_messages
from parallel_nodes.modes._scoring import QualityScore, score_answer

DOCS = [
    Document(page_content="A circuit breaker opens after five consecutive failures."),
    Document(page_content="After the recovery timeout the breaker becomes half-open."),
]
QUESTION = "When does a circuit breaker open?"
GROUNDED = (
    "A circuit breaker opens after five consecutive failures [1]. "
    "After the recovery timeout the breaker becomes half-open [2]."
)


def test_an_extractive_answer_is_fully_grounded_and_relevant() -> None:
    score = score_answer(QUESTION, GROUNDED, DOCS)
    assert score == QualityScore(
        groundedness=1.0,
        relevance=1.0,
        overall=1.0,
        groundedness_reason="2 of 2 sentences are supported by the sources",
        relevance_reason="3 of 3 question words appear in the answer or sources",
    )


def test_invented_sentences_lower_groundedness() -> None:
    invented = GROUNDED + " Quantum routers reroute packets through parallel universes [1]."
    score = score_answer(QUESTION, invented, DOCS)
    assert score.groundedness == pytest.approx(2 / 3, abs=1e-3)
    assert score.groundedness_reason == "2 of 3 sentences are supported by the sources"
    assert score.overall == pytest.approx((2 / 3 + 1) / 2, abs=1e-3)


def test_citation_markers_are_not_scored_as_words() -> None:
    with_markers = score_answer(QUESTION, GROUNDED, DOCS)
    without = score_answer(QUESTION, GROUNDED.replace(" [1]", "").replace(" [2]", ""), DOCS)
    assert with_markers == without


def test_a_sentence_must_be_supported_by_one_source_not_a_patchwork() -> None:
    # Every word is somewhere in the sources, but no single source says this.
    patchwork = "Recovery failures open half-open circuit timeout consecutive."
    assert score_answer(QUESTION, patchwork, DOCS).groundedness == 0.0


def test_off_topic_question_has_low_relevance_and_names_missing_words() -> None:
    score = score_answer("How do hedged requests pick a replica?", GROUNDED, DOCS)
    assert score.relevance == 0.0
    assert score.relevance_reason.startswith("0 of 4 question words")
    assert "missing: hedged, pick, replica, request" in score.relevance_reason


@pytest.mark.parametrize(
    ("question", "answer", "docs", "reason"),
    [
        (QUESTION, GROUNDED, [], "no sources were given, so none of 2 sentences is supported"),
        (QUESTION, "[1].", DOCS, "the answer has no sentences with content words to check"),
    ],
)
def test_degenerate_inputs_score_zero_with_a_reason(
    question: str, answer: str, docs: list[Document], reason: str
) -> None:
    score = score_answer(question, answer, docs)
    assert score.groundedness == 0.0
    assert score.groundedness_reason == reason


def test_question_without_content_words() -> None:
    score = score_answer("what is it?", GROUNDED, DOCS)
    assert score.relevance == 0.0
    assert score.relevance_reason == "the question has no content words to look for"


def test_offline_answers_on_the_sample_corpus_are_grounded() -> None:
    retriever = CorpusRetriever.from_directory(SAMPLE_CORPUS)
    question = "What happens when a breaker is half-open?"
    docs = retriever.invoke(question)
    answer = ExtractiveChatModel().invoke(build_messages(question, docs)).text
    score = score_answer(question, answer, docs)
    assert score.groundedness == 1.0
    assert score.relevance >= 0.75


def test_score_is_frozen() -> None:
    score = score_answer(QUESTION, GROUNDED, DOCS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.overall = 0.0  # type: ignore[misc]
