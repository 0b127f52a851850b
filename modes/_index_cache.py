"""A persistent cache of corpus indexes, so a second ``ask`` on the same folder skips indexing.

One file per corpus folder, ``<data dir>/index-cache/<hash of the folder's real path>.npz``,
holding the chunks, the BM25 arrays and what the loader skipped. It is valid while the
folder's files keep their paths, sizes and mtimes and ``INDEX_VERSION`` is unchanged; any
other state rebuilds it. A file that cannot be read is rebuilt with a warning, never raised.
Writers write a temporary file and ``os.replace`` it, so concurrent processes never see half
a file; the last writer wins.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from ._corpus_files import CorpusFile, SkippedFile, SkipReason
from ._index import INDEX_VERSION, CorpusIndex

__all__ = ["CachedCorpus", "IndexCache", "corpus_key", "default_cache_dir"]

logger = logging.getLogger("parallel_nodes.modes.index_cache")


def default_cache_dir() -> Path:
    """``index-cache`` in the data directory (``$PARALLEL_NODES_DATA_DIR`` or the platform's)."""
    from ._persistence import default_data_dir  # keeps langgraph out of imports

    return default_data_dir() / "index-cache"


def corpus_key(root: Path, files: Sequence[CorpusFile], *, max_chars: int) -> str:
    """A digest of everything the index depends on: the files' paths, sizes and mtimes, the
    chunk size and ``INDEX_VERSION``."""
    digest = hashlib.sha256()
    head = {"version": INDEX_VERSION, "root": os.path.realpath(root), "max_chars": max_chars}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for f in files:
        digest.update(f"\0{f.source}\0{f.size}\0{f.mtime_ns}".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedCorpus:
    """What a cache file holds: the chunks, their index, and what the loader skipped."""

    documents: list[Document]
    index: CorpusIndex
    skipped: tuple[SkippedFile, ...]
    files: int
    """How many files were read."""
    bytes: int
    """Their total size."""


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic collection while tens of thousands of acyclic objects are made: the
    collector would walk them all, again and again, for nothing (a quarter of a load)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class IndexCache:
    """Index files in one folder, one per corpus folder.

    Example:
        >>> import tempfile
        >>> cache = IndexCache(tempfile.mkdtemp())
        >>> cache.load(Path("corpus"), "no-such-key") is None
        True
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path_for(self, root: Path) -> Path:
        """The cache file of the corpus folder ``root``."""
        name = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:32]
        return self.folder / f"{name}.npz"

    def load(self, root: Path, key: str) -> CachedCorpus | None:
        """The cached corpus of ``root`` if it was saved under ``key``; else ``None``.

        A missing file or an older key is a plain miss; a file that cannot be read is logged
        as a warning and treated as a miss, so the caller rebuilds it.
        """
        path = self.path_for(root)
        try:
            # Our own handle: np.load leaks the file it opened when the zip is damaged.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
                with _gc_paused():
                    meta = json.loads(bytes(npz["meta"]).decode("utf-8"))
                if meta.get("key") != key:
                    return None
                arrays = {name: npz[name] for name in ("data", "indices", "indptr")}
            index = CorpusIndex.from_arrays(arrays, meta["index"])
            # Written by save() from validated documents: validating them again costs a third
            # of the load.
            with _gc_paused():
                documents = [
                    Document.model_construct(page_content=t, metadata=m)
                    for t, m in meta["documents"]
                ]
            if len(documents) != index.num_docs:
                raise ValueError("chunk count does not match the index")
            skipped = tuple(SkippedFile(source=s, reason=SkipReason(r)) for s, r in meta["skipped"])
            return CachedCorpus(
                documents=documents,
                index=index,
                skipped=skipped,
                files=int(meta["files"]),
                bytes=int(meta["bytes"]),
            )
        except FileNotFoundError:
            return None
        except Exception as exc:  # any damage means "rebuild", never a crash
            logger.warning("index cache %s is unreadable (%s); rebuilding it", path, exc)
            return None

    def save(self, root: Path, key: str, corpus: CachedCorpus) -> Path | None:
        """Write ``corpus`` for ``root`` atomically; ``None`` (and a warning) if it cannot be.

        A cache that cannot be written costs the next run its speed, not its answer.
        """
        path = self.path_for(root)
        arrays, index_meta = corpus.index.to_arrays()
        meta: dict[str, Any] = {
            "key": key,
            "root": os.path.realpath(root),
            "index": index_meta,
            "documents": [[d.page_content, d.metadata] for d in corpus.documents],
            "skipped": [[s.source, s.reason.value] for s in corpus.skipped],
            "files": corpus.files,
            "bytes": corpus.bytes,
        }
        blob = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), np.uint8)
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=path.stem, suffix=".tmp")
            buffer = io.BytesIO()
            np.savez(
                buffer,
                meta=blob,
                data=arrays["data"],
                indices=arrays["indices"],
                indptr=arrays["indptr"],
            )
            with os.fdopen(fd, "wb") as out:
                out.write(buffer.getbuffer())
            os.replace(tmp, path)
            return path
        except OSError as exc:
            logger.warning("index cache %s could not be written (%s); continuing", path, exc)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return None
