"""Resolving [n] markers to sources and checking each sentence's support."""

from __future__ import annotations

from langchain_core.documents import Document

from parallel_nodes.modes._citations import SNIPPET_CHARS, Citation, extract_citations
from parallel_nodes.modes._corpus import SAMPLE_CORPUS, CorpusRetriever
from parallel_nodes.modes._offline_model import ExtractiveChatModel, build_messages

DOCS = [
    Document(
        page_content="A circuit breaker opens after five consecutive failures. " * 8,
        metadata={"source": "cb.md", "heading": "States", "chunk_id": "cb.md#2"},
    ),
    Document(
        page_content="After the recovery timeout the breaker becomes half-open.",
        metadata={"source": "cb.md", "heading": "Recovery", "chunk_id": "cb.md#3"},
    ),
]


def test_markers_map_to_their_sources_in_order_of_first_use() -> None:
    answer = (
        "After the recovery timeout the breaker becomes half-open [2]. "
        "It opens after five consecutive failures [1, 2]. Again [2]."
    )
    report = extract_citations(answer, DOCS)
    assert [c.marker for c in report.citations] == [2, 1]
    first = report.citations[1]
    assert first == Citation(
        marker=1, chunk_id="cb.md#2", source="cb.md", heading="States", snippet=first.snippet
    )
    assert first.snippet.endswith("…")
    assert len(first.snippet) <= SNIPPET_CHARS + 1
    assert DOCS[0].page_content.startswith(first.snippet[:-1])
    assert report.citations[0].snippet == DOCS[1].page_content
    assert report.invalid_markers == ()


def test_sentences_get_their_best_chunk_or_are_flagged() -> None:
    answer = (
        "A circuit breaker opens after five consecutive failures [2]. "
        "Quantum routers reroute packets through parallel universes [1]."
    )
    report = extract_citations(answer, DOCS)
    good, bad = report.sentences
    assert good.sentence == "A circuit breaker opens after five consecutive failures."
    assert good.markers == (2,)
    assert (good.chunk_id, good.marker, good.overlap, good.unsupported) == (
        "cb.md#2",
        1,
        1.0,
        False,
    )
    assert bad.unsupported
    assert (bad.chunk_id, bad.marker) == (None, None)
    assert report.unsupported == ("Quantum routers reroute packets through parallel universes.",)


def test_threshold_is_adjustable() -> None:
    answer = "The breaker becomes half-open after a long pause."  # 3 of 5 words in DOCS[1]
    assert extract_citations(answer, DOCS).sentences[0].unsupported is False
    assert extract_citations(answer, DOCS, min_overlap=0.9).sentences[0].unsupported is True


def test_out_of_range_markers_are_reported_not_raised() -> None:
    report = extract_citations("Breakers open [0]. They recover [3]. Fine [1]. [3]", DOCS)
    assert report.invalid_markers == (0, 3)
    assert [c.marker for c in report.citations] == [1]


def test_no_sources_means_every_sentence_unsupported() -> None:
    report = extract_citations("Breakers open [1]. Retries help.", [])
    assert report.citations == ()
    assert report.invalid_markers == (1,)
    assert report.unsupported == ("Breakers open.", "Retries help.")


def test_missing_metadata_falls_back_to_position() -> None:
    report = extract_citations("Cats sleep [1].", [Document(page_content="Cats sleep a lot.")])
    assert report.citations[0].chunk_id == "doc1"
    assert report.citations[0].source == ""
    assert report.sentences[0].chunk_id == "doc1"


def test_offline_answer_on_the_sample_corpus_cites_what_supports_it() -> None:
    retriever = CorpusRetriever.from_directory(SAMPLE_CORPUS)
    question = "Why should label values come from a small fixed set?"
    docs = retriever.invoke(question)
    answer = ExtractiveChatModel().invoke(build_messages(question, docs)).text
    report = extract_citations(answer, docs)
    assert report.unsupported == ()
    assert report.invalid_markers == ()
    for sentence in report.sentences:
        assert sentence.marker in sentence.markers, "the cited source is the best support"
    assert report.citations[0].source == "prometheus-monitoring.md"
