"""The BM25 index: top-k among the chunks that scored, ties in chunk order, saved and loaded."""

from __future__ import annotations

import numpy as np
import pytest

from parallel_nodes.modes._index import CorpusIndex, indexed_tokens


def _index(n: int = 200) -> CorpusIndex:
    corpus = [["filler", f"w{i % 7}"] for i in range(n)]
    corpus[150] = ["breaker", "breaker", "open"]
    corpus[40] = ["breaker", "open", "filler"]
    corpus[90] = ["breaker", "open", "filler"]  # the same as 40: a tie
    return CorpusIndex.build(corpus)


def test_top_k_is_the_best_scored_chunks_best_first_ties_in_chunk_order() -> None:
    hits = _index().top(["breaker", "open"], k=2)
    assert [i for i, _ in hits] == [150, 40]
    assert hits[0][1] > hits[1][1] > 0
    assert [i for i, _ in _index().top(["breaker"], k=10)] == [150, 40, 90], "only scored ones"


def test_unknown_or_no_terms_find_nothing() -> None:
    assert _index().top(["xylophone"], k=3) == []
    assert _index().top([], k=3) == []


def test_the_arrays_round_trip_to_the_same_ranking() -> None:
    index = _index()
    arrays, meta = index.to_arrays()
    again = CorpusIndex.from_arrays({k: np.array(v) for k, v in arrays.items()}, meta)
    assert again.top(["breaker", "open"], k=3) == index.top(["breaker", "open"], k=3)
    arrays["data"] = arrays["data"][:-1]
    with pytest.raises(ValueError, match="do not match"):
        CorpusIndex.from_arrays(arrays, meta)


def test_title_and_heading_count_more_than_the_text() -> None:
    tokens = indexed_tokens("Text.", heading="Recovery", title="breakers")
    assert tokens.count("breaker") == 3
    assert tokens.count("recovery") == 2
    assert indexed_tokens("Text.", heading="Topic", title="Topic").count("topic") == 3
