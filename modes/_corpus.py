"""A folder of text files as LangChain documents, and an in-memory BM25 retriever over them.

Markdown and reStructuredText files are split at their headings, then every section is packed
paragraph by paragraph into chunks of at most ``MAX_CHUNK_CHARS``. Plain text files have no
headings; their chunks are headed by the file's stem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bm25s
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr, field_validator

from ._text import content_tokens, split_sentences

__all__ = [
    "MAX_CHUNK_CHARS",
    "SAMPLE_CORPUS",
    "SUPPORTED_SUFFIXES",
    "CorpusRetriever",
    "load_corpus",
    "split_text",
]

SAMPLE_CORPUS: Path = Path(__file__).parent / "sample_corpus"
"""The bundled sample corpus: short notes on running LangGraph nodes in parallel."""

SUPPORTED_SUFFIXES = frozenset({".md", ".txt", ".rst"})
MAX_CHUNK_CHARS = 800

ProgressCallback = Callable[[int, int], None]

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`*+#:.])\1{2,}\s*$")


def _sections(text: str, suffix: str, stem: str) -> Iterator[tuple[str, str]]:
    """Yield ``(heading, body)`` pairs; text before the first heading is headed by ``stem``."""
    heading, body = stem, []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        title: str | None = None
        skip = 1
        if suffix == ".md" and (m := _MD_HEADING.match(line)):
            title = m.group(1)
        elif suffix == ".rst" and line.strip():
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if _RST_UNDERLINE.match(line) and i + 2 < len(lines) and lines[i + 2] == line:
                title, skip = lines[i + 1].strip(), 3  # over- and underlined title
            elif _RST_UNDERLINE.match(nxt) and len(nxt.rstrip()) >= len(line.strip()):
                title, skip = line.strip(), 2
        if title is None:
            body.append(line)
        else:
            yield heading, "\n".join(body)
            heading, body = title, []
        i += skip
    yield heading, "\n".join(body)


def _pieces(paragraph: str, limit: int) -> Iterator[str]:
    """A paragraph in pieces of at most ``limit`` characters, split at sentences, then words."""
    if len(paragraph) <= limit:
        yield paragraph
        return
    current = ""
    for sentence in split_sentences(paragraph):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                yield current
                current = ""
            yield sentence[:cut].strip()
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > limit:
            yield current
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        yield current


def split_text(
    text: str, *, suffix: str, stem: str, max_chars: int = MAX_CHUNK_CHARS
) -> list[tuple[str, str]]:
    """Split one file's text into ``(heading, chunk)`` pairs.

    Args:
        text: The file's content.
        suffix: ``".md"``, ``".rst"`` or ``".txt"``; decides how headings are found.
        stem: The heading for text outside any heading.
        max_chars: The largest chunk; longer paragraphs are split at sentences.

    Returns:
        The chunks in file order, none of them empty.
    """
    chunks: list[tuple[str, str]] = []
    for heading, body in _sections(text, suffix, stem):
        current = ""
        for paragraph in re.split(r"\n\s*\n", body):
            flat = " ".join(paragraph.split())
            for piece in _pieces(flat, max_chars) if flat else ():
                if current and len(current) + 2 + len(piece) > max_chars:
                    chunks.append((heading, current))
                    current = ""
                current = f"{current}\n\n{piece}" if current else piece
        if current:
            chunks.append((heading, current))
    return chunks


def load_corpus(
    path: str | Path,
    *,
    max_chars: int = MAX_CHUNK_CHARS,
    on_progress: ProgressCallback | None = None,
) -> list[Document]:
    """Read every ``.md``, ``.txt`` and ``.rst`` file under ``path`` as chunked documents.

    Args:
        path: The corpus folder; searched recursively, hidden files and folders skipped.
        max_chars: The largest chunk, in characters.
        on_progress: Called as ``on_progress(done, total)`` before the first file and after
            each file, for a progress bar.

    Returns:
        Documents with ``source`` (path relative to ``path``), ``heading`` and ``chunk_id``
        (``"source#n"``, numbered from 1 within each file) metadata.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a folder or holds no text in supported files.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"corpus: {root} does not exist; pass a folder of .md, .txt or .rst files"
        )
    if not root.is_dir():
        raise ValueError(f"corpus: {root} is not a folder; pass the folder that holds the files")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in SUPPORTED_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    docs: list[Document] = []
    if on_progress is not None:
        on_progress(0, len(files))
    for done, file in enumerate(files, 1):
        source = file.relative_to(root).as_posix()
        text = file.read_text(encoding="utf-8", errors="replace")
        pieces = split_text(text, suffix=file.suffix.lower(), stem=file.stem, max_chars=max_chars)
        for n, (heading, chunk) in enumerate(pieces, 1):
            meta = {"source": source, "heading": heading, "chunk_id": f"{source}#{n}"}
            docs.append(Document(page_content=chunk, metadata=meta))
        if on_progress is not None:
            on_progress(done, len(files))
    if not docs:
        found = "holds no .md, .txt or .rst files" if not files else "has only empty files"
        raise ValueError(f"corpus: {root} {found}; add some text files or pass another folder")
    return docs


class CorpusRetriever(BaseRetriever):
    """BM25 over an in-memory list of chunks; scores land in ``metadata["score"]``.

    Chunks that share no word with the query are not returned, so an unrelated question gets
    no documents rather than ``k`` arbitrary ones.

    Example:
        >>> retriever = CorpusRetriever.from_directory(SAMPLE_CORPUS, k=2)
        >>> docs = retriever.invoke("What happens when a breaker is half-open?")
        >>> docs[0].metadata["source"]
        'circuit-breakers.md'
    """

    documents: list[Document]
    """The chunks to search, each with ``source``, ``heading`` and ``chunk_id`` metadata."""
    k: int = 4
    """How many chunks to return at most."""

    _index: Any = PrivateAttr(default=None)
    _vocab: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("k")
    @classmethod
    def _positive_k(cls, k: int) -> int:
        if k < 1:
            raise ValueError(f"k: must be at least 1, got {k}")
        return k

    def model_post_init(self, context: Any, /) -> None:
        if not self.documents:
            raise ValueError("documents: the retriever needs at least one document")
        # The heading is indexed with its chunk: "## Timeouts" is strong evidence of topic.
        corpus = [
            content_tokens(f"{d.metadata.get('heading', '')} {d.page_content}") or [""]
            for d in self.documents
        ]
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        self._index = index
        self._vocab = frozenset(t for tokens in corpus for t in tokens)

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        k: int = 4,
        on_progress: ProgressCallback | None = None,
    ) -> CorpusRetriever:
        """Load and index a folder of ``.md``, ``.txt`` and ``.rst`` files.

        Args:
            path: The corpus folder.
            k: How many chunks each query returns at most.
            on_progress: Called as ``on_progress(done, total)`` while files are read.

        Returns:
            The retriever.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: ``path`` holds no supported files with text.
        """
        return cls(documents=load_corpus(path, on_progress=on_progress), k=k)

    def search(self, query: str, *, k: int | None = None) -> list[Document]:
        """The best ``k`` chunks for ``query``, as copies carrying their BM25 ``score``."""
        terms = [t for t in content_tokens(query) if t in self._vocab]
        if not terms:
            return []
        scores = self._index.get_scores(terms)
        ranked = sorted(range(len(self.documents)), key=lambda i: (-float(scores[i]), i))
        hits = [i for i in ranked[: k or self.k] if float(scores[i]) > 0]
        return [self._scored(self.documents[i], float(scores[i])) for i in hits]

    @staticmethod
    def _scored(doc: Document, score: float) -> Document:
        return Document(page_content=doc.page_content, metadata={**doc.metadata, "score": score})

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.search(query)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # The index is in memory and a query takes microseconds: no thread hop needed.
        return self.search(query)
