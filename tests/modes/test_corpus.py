"""Loading, chunking and BM25 retrieval over a folder of text files."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from parallel_nodes.modes._corpus import (
    MAX_CHUNK_CHARS,
    SAMPLE_CORPUS,
    CorpusRetriever,
    load_corpus,
    split_text,
)

MD = """Intro line before any heading.

# Circuit breakers

A breaker opens after five failures.

## Recovery

After the recovery timeout it goes half-open.
"""

RST = """=====
Title
=====

Opening paragraph.

Shared state
------------

Breaker state lives in Redis.
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_markdown_is_split_at_headings() -> None:
    assert split_text(MD, suffix=".md", stem="notes") == [
        ("notes", "Intro line before any heading."),
        ("Circuit breakers", "A breaker opens after five failures."),
        ("Recovery", "After the recovery timeout it goes half-open."),
    ]


def test_rst_headings_with_and_without_overline() -> None:
    assert split_text(RST, suffix=".rst", stem="deploy") == [
        ("Title", "Opening paragraph."),
        ("Shared state", "Breaker state lives in Redis."),
    ]


def test_txt_has_no_headings_and_hash_lines_stay_text() -> None:
    assert split_text("# not a heading\n\nbody", suffix=".txt", stem="glossary") == [
        ("glossary", "# not a heading\n\nbody"),
    ]


def test_paragraphs_pack_into_chunks_no_longer_than_the_limit() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 30 for i in range(10)]
    long_paragraph = " ".join(f"Sentence number {i} is here." for i in range(60))
    text = "\n\n".join([*paragraphs, long_paragraph])
    chunks = split_text(text, suffix=".txt", stem="t", max_chars=400)
    assert all(len(chunk) <= 400 for _, chunk in chunks)
    assert len(chunks) > 5
    rejoined = " ".join(" ".join(chunk.split()) for _, chunk in chunks)
    assert rejoined == " ".join(text.split()), "no text is lost or reordered"
    assert "Paragraph 0" in chunks[0][1]
    assert "Paragraph 1" in chunks[0][1], "short paragraphs are packed together"


def test_a_word_longer_than_the_limit_is_cut() -> None:
    chunks = split_text("x" * 1000 + ". End.", suffix=".txt", stem="t", max_chars=400)
    assert [len(c) for _, c in chunks] == [400, 400, 206]


def test_load_corpus_metadata_and_progress(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "b.md": MD,
            "sub/a.rst": RST,
            "c.txt": "Plain text.",
            "skip.py": "print('not text')",
            ".hidden/x.md": "# Hidden",
            "empty.md": "",
        },
    )
    calls: list[tuple[int, int]] = []
    docs = load_corpus(tmp_path, on_progress=lambda done, total: calls.append((done, total)))
    sizes = [len(MD), len("Plain text."), 0, len(RST)]  # b.md, c.txt, empty.md, sub/a.rst
    total = sum(sizes)
    assert calls == [(0, total)] + [(sum(sizes[:n]), total) for n in range(1, 5)], "by bytes"
    assert [d.metadata["chunk_id"] for d in docs] == [
        "b.md#1",
        "b.md#2",
        "b.md#3",
        "c.txt#1",
        "sub/a.rst#1",
        "sub/a.rst#2",
    ]
    assert docs[4].metadata == {
        "source": "sub/a.rst",
        "heading": "Title",
        "title": "Title",
        "chunk_id": "sub/a.rst#1",
    }
    assert docs[3].metadata["heading"] == "c"


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"nope does not exist; pass a folder"):
        CorpusRetriever.from_directory(missing)


def test_folder_without_supported_files_says_so(tmp_path: Path) -> None:
    _write(tmp_path, {"data.csv": "a,b"})
    with pytest.raises(ValueError, match=r"holds no \.md, \.txt or \.rst files"):
        CorpusRetriever.from_directory(tmp_path)
    _write(tmp_path, {"blank.md": "\n\n  \n"})
    with pytest.raises(ValueError, match="has only empty files"):
        CorpusRetriever.from_directory(tmp_path)
    with pytest.raises(ValueError, match="is not a folder"):
        CorpusRetriever.from_directory(tmp_path / "blank.md")


def test_sample_corpus_is_bundled_and_varied() -> None:
    files = sorted(p.name for p in SAMPLE_CORPUS.iterdir())
    assert 8 <= len(files) <= 12
    assert {Path(f).suffix for f in files} == {".md", ".txt", ".rst"}
    docs = load_corpus(SAMPLE_CORPUS)
    assert all(len(d.page_content) <= MAX_CHUNK_CHARS for d in docs)
    assert len({d.metadata["chunk_id"] for d in docs}) == len(docs)


@pytest.fixture(scope="module")
def retriever() -> CorpusRetriever:
    return CorpusRetriever.from_directory(SAMPLE_CORPUS, k=3)


@pytest.mark.parametrize(
    ("question", "chunk_id"),
    [
        (
            "What happens when a breaker is half-open after the recovery timeout?",
            "circuit-breakers.md#2",
        ),
        ("What is a tier deadline?", "timeouts-and-deadlines.md#2"),
        ("Why should label values come from a small fixed set?", "prometheus-monitoring.md#2"),
        ("How is the hedge delay chosen from latency percentiles?", "hedged-requests.md#2"),
        (
            "Where do conversation checkpoints belong with more than one process?",
            "deployment.rst#3",
        ),
        ("How does token usage give the cost of an answer?", "glossary.txt#2"),
    ],
)
def test_retriever_finds_the_chunk_that_answers(
    retriever: CorpusRetriever, question: str, chunk_id: str
) -> None:
    docs = retriever.invoke(question)
    assert docs[0].metadata["chunk_id"] == chunk_id
    assert len(docs) == 3
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0


def test_unrelated_question_returns_nothing(retriever: CorpusRetriever) -> None:
    assert retriever.invoke("xylophone zeppelin") == []
    assert retriever.invoke("what is the") == [], "stopwords alone match nothing"


def test_scores_do_not_leak_into_the_index(retriever: CorpusRetriever) -> None:
    retriever.invoke("circuit breaker")
    assert all("score" not in d.metadata for d in retriever.documents)


async def test_async_matches_sync(retriever: CorpusRetriever) -> None:
    question = "How do retries use exponential backoff with jitter?"
    sync = retriever.invoke(question)
    assert await retriever.ainvoke(question) == sync
    assert sync[0].metadata["source"] == "retries-and-backoff.md"


def test_k_is_validated_and_bounds_results() -> None:
    docs = [
        Document(page_content=f"breaker note {i}", metadata={"chunk_id": f"n#{i}"})
        for i in range(6)
    ]
    assert len(CorpusRetriever(documents=docs, k=2).invoke("breaker")) == 2
    assert len(CorpusRetriever(documents=docs, k=10).invoke("breaker")) == 6
    with pytest.raises(ValueError, match="k: must be at least 1"):
        CorpusRetriever(documents=docs, k=0)
    with pytest.raises(ValueError, match="at least one document"):
        CorpusRetriever(documents=[])
