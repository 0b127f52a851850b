"""A folder of text files as LangChain documents, and an in-memory BM25 retriever over them.

Files are split at their headings (Markdown ``#``; underlined titles in reStructuredText and
plain text), then every section is packed block by block (paragraph, code block, list, table)
into chunks of at most ``MAX_CHUNK_CHARS``, markup removed. An index built from a folder is
cached (``_index_cache``) until one of its files changes.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr, field_validator

from ._chunks import MAX_CHUNK_CHARS, split_text
from ._corpus_files import (
    SUPPORTED_SUFFIXES,
    CorpusFile,
    SkippedFile,
    SkipReason,
    clean_text,
    decode,
    find_files,
    is_binary,
)
from ._index import CorpusIndex, indexed_tokens
from ._index_cache import CachedCorpus, IndexCache, corpus_key, default_cache_dir
from ._text import content_tokens

__all__ = [
    "MAX_CHUNK_CHARS",
    "SAMPLE_CORPUS",
    "SUPPORTED_SUFFIXES",
    "CorpusProgress",
    "CorpusReport",
    "CorpusRetriever",
    "ProgressStage",
    "SkipReason",
    "SkippedFile",
    "load_corpus",
    "read_corpus",
    "split_text",
]

logger = logging.getLogger("parallel_nodes.modes.corpus")

SAMPLE_CORPUS: Path = Path(__file__).parent / "sample_corpus"
"""The bundled sample corpus: short notes on running LangGraph nodes in parallel."""

ProgressCallback = Callable[[int, int], None]
"""``on_progress(done, total)``: work done of the total, in bytes (read, then indexed)."""


class ProgressStage(enum.Enum):
    """Where loading a corpus is."""

    READING = "reading"
    """Reading, decoding and chunking files; ``done`` and ``total`` count bytes."""
    INDEXING = "indexing"
    """Tokenising chunks and building the BM25 index; ``done`` and ``total`` count chunks."""
    CACHED = "cached"
    """The index was loaded from the cache; nothing was read or indexed."""
    DONE = "done"
    """Finished; ``done == total``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusProgress:
    """One progress event while a corpus is loaded, for a progress bar with a label.

    Example:
        >>> CorpusProgress(stage=ProgressStage.READING, done=10, total=40, files=1, skipped=0)
        ... # doctest: +ELLIPSIS
        CorpusProgress(stage=<ProgressStage.READING: 'reading'>, done=10, total=40, ...)
    """

    stage: ProgressStage
    done: int
    total: int
    files: int
    """Files read so far (all of them once reading is over)."""
    skipped: int
    """Files skipped so far: binary, undecodable, unreadable, duplicates, symlink loops."""


ProgressEvent = Callable[[CorpusProgress], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusReport:
    """What loading a corpus did: how much it read, what it skipped, whether the cache served.

    Example:
        >>> report = CorpusRetriever.from_directory(SAMPLE_CORPUS, cache_dir=None).report
        >>> report.files, report.skipped, report.from_cache
        (10, (), False)
    """

    files: int
    """Files read into chunks."""
    bytes: int
    """Their total size."""
    chunks: int
    skipped: tuple[SkippedFile, ...] = ()
    """Files and folders left out, with the reason for each."""
    from_cache: bool = False
    """The index was loaded from the cache instead of being built."""
    cache_path: Path | None = None
    """The cache file read or written; ``None`` when caching is off or failed."""
    seconds: float = 0.0
    """Wall time of loading, from the first ``stat`` to a ready index."""

    def skipped_summary(self) -> str:
        """``"2 binary, 1 undecodable"``: the skipped files counted by reason; empty if none."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason.value] = counts.get(s.reason.value, 0) + 1
        return ", ".join(f"{n} {reason}" for reason, n in counts.items())


def _file_title(pieces: list[tuple[str, str]], stem: str) -> str:
    """A file's title: its first heading when the file opens with one, else its stem."""
    return pieces[0][0] if pieces and pieces[0][0] != stem else stem


@dataclass(slots=True)
class _Reading:
    """Mutable state while a corpus is read; the result is a ``CorpusReport``."""

    total_bytes: int
    on_progress: ProgressCallback | None
    on_event: ProgressEvent | None
    work: int = 0
    """What ``on_progress`` counts to: the bytes, or twice them when indexing follows."""
    done_bytes: int = 0
    files: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)

    def tell(self, stage: ProgressStage, done: int, total: int, overall: int) -> None:
        if self.on_progress is not None:
            self.on_progress(overall, self.work or self.total_bytes)
        if self.on_event is not None:
            event = CorpusProgress(
                stage=stage, done=done, total=total, files=self.files, skipped=len(self.skipped)
            )
            self.on_event(event)


def _read_file(file: CorpusFile) -> str | SkipReason:
    try:
        data = file.path.read_bytes()
    except OSError:
        return SkipReason.UNREADABLE
    text = decode(data)
    if text is None:
        return SkipReason.BINARY if b"\x00" in data[:8192] else SkipReason.UNDECODABLE
    if is_binary(text):
        return SkipReason.BINARY
    return clean_text(text)


def _read(root: Path, files: list[CorpusFile], state: _Reading, max_chars: int) -> list[Document]:
    docs: list[Document] = []
    state.tell(ProgressStage.READING, 0, state.total_bytes, 0)
    for file in files:
        text = _read_file(file)
        if isinstance(text, SkipReason):
            state.skipped.append(SkippedFile(source=file.source, reason=text))
        else:
            state.files += 1
            stem, suffix = file.path.stem, file.path.suffix.lower()
            pieces = split_text(text, suffix=suffix, stem=stem, max_chars=max_chars)
            title = _file_title(pieces, stem)
            for n, (heading, chunk) in enumerate(pieces, 1):
                meta = {
                    "source": file.source,
                    "heading": heading,
                    "title": title,
                    "chunk_id": f"{file.source}#{n}",
                }
                docs.append(Document(page_content=chunk, metadata=meta))
        state.done_bytes += file.size
        state.tell(ProgressStage.READING, state.done_bytes, state.total_bytes, state.done_bytes)
    return docs


def _root(path: str | Path) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"corpus: {root} does not exist; pass a folder of .md, .txt or .rst files"
        )
    if not root.is_dir():
        raise ValueError(f"corpus: {root} is not a folder; pass the folder that holds the files")
    return root


def _no_text(root: Path, files: list[CorpusFile], skipped: list[SkippedFile]) -> ValueError:
    if not files:
        found = "holds no .md, .txt or .rst files"
    elif len(skipped) >= len(files):
        found = "has only binary or unreadable files"
    else:
        found = "has only empty files"
    return ValueError(f"corpus: {root} {found}; add some text files or pass another folder")


def read_corpus(
    path: str | Path,
    *,
    max_chars: int = MAX_CHUNK_CHARS,
    on_progress: ProgressCallback | None = None,
    on_event: ProgressEvent | None = None,
) -> tuple[list[Document], CorpusReport]:
    """Read every ``.md``, ``.txt`` and ``.rst`` file under ``path``, and say what was skipped.

    Symlinked folders are followed once each (loops are reported, not walked). Files with
    NUL bytes or mostly control characters are skipped as binary; encodings other than UTF-8
    (Latin-1, cp1252, others ``charset_normalizer`` knows) are detected; terminal escapes and
    control characters are removed.

    Args:
        path: The corpus folder; searched recursively, hidden files and folders skipped.
        max_chars: The largest chunk, in characters.
        on_progress: Called as ``on_progress(done, total)`` in bytes as files are read.
        on_event: Called with a ``CorpusProgress`` as files are read, with skip counts.

    Returns:
        The chunks (``source``, ``heading``, ``title`` and ``chunk_id`` metadata; chunk ids
        ``"source#n"`` numbered from 1 within each file), and the report.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a folder or holds no text in supported files.
    """
    started = time.perf_counter()
    root = _root(path)
    files, skipped = find_files(root)
    state = _Reading(max(sum(f.size for f in files), 1), on_progress, on_event, skipped=skipped)
    docs = _read(root, files, state, max_chars)
    if not docs:
        raise _no_text(root, files, state.skipped)
    report = CorpusReport(
        files=state.files,
        bytes=sum(f.size for f in files),
        chunks=len(docs),
        skipped=tuple(state.skipped),
        seconds=time.perf_counter() - started,
    )
    return docs, report


def load_corpus(
    path: str | Path,
    *,
    max_chars: int = MAX_CHUNK_CHARS,
    on_progress: ProgressCallback | None = None,
) -> list[Document]:
    """The chunks of ``read_corpus``, without its report (see there for arguments).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a folder or holds no text in supported files.
    """
    return read_corpus(path, max_chars=max_chars, on_progress=on_progress)[0]


class _Unset(enum.Enum):
    UNSET = "unset"


_UNSET = _Unset.UNSET


class CorpusRetriever(BaseRetriever):
    """BM25 over an in-memory list of chunks; scores land in ``metadata["score"]``.

    Chunks that share no word with the query are not returned, so an unrelated question gets
    no documents rather than ``k`` arbitrary ones. A chunk's file title and section heading
    weigh more than its text.

    Example:
        >>> retriever = CorpusRetriever.from_directory(SAMPLE_CORPUS, k=2, cache_dir=None)
        >>> docs = retriever.invoke("What happens when a breaker is half-open?")
        >>> docs[0].metadata["source"]
        'circuit-breakers.md'
    """

    documents: list[Document]
    """The chunks to search, each with ``source``, ``heading`` and ``chunk_id`` metadata."""
    k: int = 4
    """How many chunks to return at most."""
    index: CorpusIndex | None = None
    """The chunks' BM25 index; built from ``documents`` when not given (the cache gives one)."""
    report: CorpusReport | None = None
    """What ``from_directory`` read, skipped and cached; ``None`` for a list of documents."""

    _index: CorpusIndex = PrivateAttr()

    @field_validator("k")
    @classmethod
    def _positive_k(cls, k: int) -> int:
        if k < 1:
            raise ValueError(f"k: must be at least 1, got {k}")
        return k

    def model_post_init(self, context: Any, /) -> None:
        if not self.documents:
            raise ValueError("documents: the retriever needs at least one document")
        if self.index is not None and self.index.num_docs != len(self.documents):
            raise ValueError(
                f"index: built for {self.index.num_docs} chunks, but {len(self.documents)} "
                "documents were given; pass the documents it was built from"
            )
        self._index = self.index or CorpusIndex.build([_doc_tokens(d) for d in self.documents])
        self.index = self._index

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        k: int = 4,
        on_progress: ProgressCallback | None = None,
        on_event: ProgressEvent | None = None,
        cache_dir: str | Path | _Unset | None = _UNSET,
        max_chars: int = MAX_CHUNK_CHARS,
    ) -> CorpusRetriever:
        """Load and index a folder of ``.md``, ``.txt`` and ``.rst`` files, through the cache.

        Args:
            path: The corpus folder.
            k: How many chunks each query returns at most.
            on_progress: Called as ``on_progress(done, total)``: bytes read, then bytes
                indexed, out of twice the corpus' size, so the bar moves through both.
            on_event: Called with a ``CorpusProgress`` (stage, counts, files skipped so far).
            cache_dir: Where indexes are cached; default ``index-cache`` in the data
                directory (``$PARALLEL_NODES_DATA_DIR``); ``None`` turns caching off.
            max_chars: The largest chunk, in characters.

        Returns:
            The retriever; its ``report`` says what was read, skipped and cached.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: ``path`` holds no supported files with text.
        """
        started = time.perf_counter()
        root = _root(path)
        files, skipped = find_files(root)
        total = sum(f.size for f in files)
        # Reading and indexing each take half of the bar, so it never sits full while the
        # index is still being built.
        state = _Reading(max(total, 1), on_progress, on_event, work=2 * max(total, 1))
        state.skipped = skipped
        folder = default_cache_dir() if isinstance(cache_dir, _Unset) else cache_dir
        cache = IndexCache(folder) if folder is not None else None
        key = corpus_key(root, files, max_chars=max_chars)
        cached = cache.load(root, key) if cache is not None else None
        if cached is not None and cache is not None:
            state.files = cached.files
            state.skipped = list(cached.skipped)
            state.tell(ProgressStage.CACHED, total, total, 2 * state.total_bytes)
            report = CorpusReport(
                files=cached.files,
                bytes=cached.bytes,
                chunks=len(cached.documents),
                skipped=cached.skipped,
                from_cache=True,
                cache_path=cache.path_for(root),
                seconds=time.perf_counter() - started,
            )
            return cls(documents=cached.documents, k=k, index=cached.index, report=report)
        docs = _read(root, files, state, max_chars)
        if not docs:
            raise _no_text(root, files, state.skipped)
        index = _build_index(docs, state)
        saved = None
        if cache is not None:
            entry = CachedCorpus(
                documents=docs,
                index=index,
                skipped=tuple(state.skipped),
                files=state.files,
                bytes=total,
            )
            saved = cache.save(root, key, entry)
        report = CorpusReport(
            files=state.files,
            bytes=total,
            chunks=len(docs),
            skipped=tuple(state.skipped),
            cache_path=saved,
            seconds=time.perf_counter() - started,
        )
        if report.skipped:
            logger.info("corpus %s: skipped %s", root, report.skipped_summary())
        state.tell(ProgressStage.DONE, len(docs), len(docs), 2 * state.total_bytes)
        return cls(documents=docs, k=k, index=index, report=report)

    def search(self, query: str, *, k: int | None = None) -> list[Document]:
        """The best ``k`` chunks for ``query``, as copies carrying their BM25 ``score``."""
        hits = self._index.top(content_tokens(query), k=k or self.k)
        return [self._scored(self.documents[i], score) for i, score in hits]

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


def _doc_tokens(doc: Document) -> list[str]:
    meta = doc.metadata
    return indexed_tokens(
        doc.page_content, heading=str(meta.get("heading", "")), title=str(meta.get("title", ""))
    )


def _build_index(docs: list[Document], state: _Reading) -> CorpusIndex:
    """Tokenise and index ``docs``, reporting progress by the bytes of text tokenised."""
    total_chars = sum(len(d.page_content) for d in docs) or 1
    half = state.total_bytes
    corpus: list[list[str]] = []
    chars = 0
    step = max(len(docs) // 100, 1)
    for n, doc in enumerate(docs, 1):
        corpus.append(_doc_tokens(doc))
        chars += len(doc.page_content)
        if n % step == 0:
            # The last 5% of the indexing half is bm25s building its matrix.
            overall = half + int(0.95 * half * chars / total_chars)
            state.tell(ProgressStage.INDEXING, n, len(docs), overall)
    return CorpusIndex.build(corpus)
