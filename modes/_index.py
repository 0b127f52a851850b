"""The BM25 index behind ``CorpusRetriever``: tokens in, top-k chunk numbers out.

bm25s scores every chunk in one vectorised pass; the best ``k`` are then selected among the
chunks that scored at all, with ``numpy.argpartition``. A Python sort over every chunk's score
took 16 ms at 23,000 chunks. bm25s' own ``retrieve(k=...)`` partitions the whole score array
at its end, which numpy does slowly when most scores tie at zero, as they do for a question
of a few words: 1.6 ms per query at 25,000 chunks against 0.1 ms here (benchmark 8).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import bm25s
import numpy as np

from ._text import content_tokens

__all__ = ["HEADING_WEIGHT", "INDEX_VERSION", "TITLE_WEIGHT", "CorpusIndex", "indexed_tokens"]

INDEX_VERSION = 4
"""Bump when chunking or tokenising changes, so cached indexes are rebuilt."""
TITLE_WEIGHT = 3
"""How many times a chunk's file title counts, against once for its text."""
HEADING_WEIGHT = 2
"""How many times a chunk's section heading counts (when it is not the title).

Title over heading: a file about augmented assignment beats the augmented-assignment section
of a file about assignment (19 of 20 pydoc questions cited right, against 18 with both at 2)."""


@functools.lru_cache(maxsize=4096)
def _label_tokens(label: str) -> tuple[str, ...]:
    """A title's or heading's tokens; every chunk of a section repeats the same few."""
    return tuple(content_tokens(label))


def indexed_tokens(text: str, *, heading: str = "", title: str = "") -> list[str]:
    """The tokens a chunk is indexed under: its title and heading weighted, then its text.

    A question names a topic ("the try statement") more often than it quotes the text, and
    a title or heading is strong evidence of what a chunk is about.

    Example:
        >>> indexed_tokens("Breakers open.", heading="States", title="circuit-breakers")
        ... # doctest: +NORMALIZE_WHITESPACE
        ['circuit', 'breaker', 'circuit', 'breaker', 'circuit', 'breaker', 'state', 'state',
         'breaker', 'open']
    """
    title_tokens = _label_tokens(title.replace("-", " ").replace("_", " ")) if title else ()
    heading_tokens = _label_tokens(heading) if heading and heading != title else ()
    return [
        *(title_tokens * TITLE_WEIGHT),
        *(heading_tokens * HEADING_WEIGHT),
        *content_tokens(text),
    ]


class CorpusIndex:
    """BM25 scores of every chunk for every word, and top-k search over them.

    Example:
        >>> index = CorpusIndex.build([["breaker", "open"], ["cat", "sleep"]])
        >>> [(i, round(score, 3)) for i, score in index.top(["breaker"], k=5)]
        [(0, 0.277)]
    """

    __slots__ = ("bm25", "num_docs", "vocab")

    def __init__(self, bm25: Any, num_docs: int) -> None:
        self.bm25 = bm25
        self.num_docs = num_docs
        self.vocab: frozenset[str] = frozenset(bm25.vocab_dict)

    @classmethod
    def build(
        cls,
        corpus: Sequence[list[str]],
        *,
        on_done: Callable[[], None] | None = None,
    ) -> CorpusIndex:
        """Index token lists, one per chunk; ``on_done`` runs once the index is built."""
        bm25 = bm25s.BM25()
        bm25.index([tokens or [""] for tokens in corpus], show_progress=False)
        if on_done is not None:
            on_done()
        return cls(bm25, len(corpus))

    def top(self, terms: list[str], *, k: int) -> list[tuple[int, float]]:
        """The best ``k`` chunks for ``terms`` with their scores, best first; none scoring 0.

        Terms not in the vocabulary are ignored; with none left, nothing is returned.
        """
        known = [t for t in terms if t in self.vocab]
        if not known or self.num_docs == 0:
            return []
        scores = self.bm25.get_scores(known)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        # The earlier chunk first on a tie keeps results reproducible.
        return sorted(((int(i), float(scores[i])) for i in hits), key=lambda p: (-p[1], p[0]))

    # -- persistence (see _index_cache) ----------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
        """The index as numpy arrays and JSON-safe metadata, for ``np.savez``."""
        scores = self.bm25.scores
        arrays = {k: np.asarray(scores[k]) for k in ("data", "indices", "indptr")}
        meta = {
            "params": {
                "k1": self.bm25.k1,
                "b": self.bm25.b,
                "delta": self.bm25.delta,
                "method": self.bm25.method,
                "idf_method": self.bm25.idf_method,
                "dtype": self.bm25.dtype,
                "int_dtype": self.bm25.int_dtype,
            },
            "vocab": self.bm25.vocab_dict,
            "num_docs": int(scores["num_docs"]),
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray[Any, Any]], meta: dict[str, Any]
    ) -> CorpusIndex:
        """The index ``to_arrays`` saved.

        Raises:
            KeyError: An array or a field is missing.
            ValueError: The arrays do not fit together.
        """
        bm25 = bm25s.BM25(**meta["params"])
        bm25.vocab_dict = {str(k): int(v) for k, v in meta["vocab"].items()}
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        num_docs = int(meta["num_docs"])
        indptr = arrays["indptr"]
        data, indices = arrays["data"], arrays["indices"]
        if len(data) != len(indices) or len(indptr) == 0 or int(indptr[-1]) != len(data):
            raise ValueError("index arrays do not match the vocabulary")
        bm25.scores = {
            "data": data,
            "indices": indices,
            "indptr": indptr,
            "num_docs": num_docs,
        }
        bm25.nonoccurrence_array = None
        return cls(bm25, num_docs)
