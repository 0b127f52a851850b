"""Groundedness and relevance scores, and the reasons given for them."""

from __future__ import annotations

import dataclasses

import pytest
from langchain_core.documents import Document

from parallel_nodes.modes._citations import extract_citations
from parallel_nodes.modes._corpus import SAMPLE_CORPUS, CorpusRetriever
from parallel_nodes.modes._offline_model import ExtractiveChatModel, build_messages
from parallel_nodes.modes._scoring import QualityScore, score_answer
from parallel_nodes.modes._text import SUPPORT_THRESHOLD

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
        relevance_reason="3 of 3 question words appear in the answer",
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


SETS = [
    Document(
        page_content="A set object is an unordered collection of distinct hashable objects. "
        "Common uses include membership testing and removing duplicates from a sequence."
    ),
    Document(page_content='The operators "is" and "is not" test for an object\'s identity.'),
]


def test_an_answer_about_sets_is_not_relevant_to_is_versus_equals() -> None:
    question = "What is the difference between is and ==?"
    answer = "A set object is an unordered collection of distinct hashable objects [1]."
    score = score_answer(question, answer, SETS)
    assert score.relevance < 0.5, score.relevance_reason
    assert "missing: ==" in score.relevance_reason
    assert score.groundedness == 1.0, "it is grounded, just not relevant"
    on_topic = 'The operators "is" and "is not" test for an object\'s identity [2].'
    assert score_answer(question, on_topic, SETS).relevance > score.relevance


def test_relevance_counts_the_answer_not_the_sources() -> None:
    # The sources hold every question word; the answer holds none of them.
    answer = "Common uses include membership testing [1]."
    score = score_answer("What is an unordered collection of hashable objects?", answer, SETS)
    assert score.relevance == 0.0
    assert score.overall < 0.6


@pytest.mark.parametrize("share", [0.5, 0.6, 0.8])
def test_citations_and_groundedness_agree_on_every_sentence(share: float) -> None:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    known = int(share * 10)
    sentence = " ".join(words[:known] + [f"zz{n}" for n in range(10 - known)]) + "."
    docs = [Document(page_content=" ".join(words) + ".")]
    supported_by_citations = not extract_citations(sentence, docs).sentences[0].unsupported
    supported_by_scoring = score_answer("alpha?", sentence, docs).groundedness == 1.0
    assert supported_by_citations == supported_by_scoring == (share >= SUPPORT_THRESHOLD)
