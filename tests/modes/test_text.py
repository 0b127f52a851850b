"""The shared tokeniser: what counts as a word, a sentence and a citation."""

from __future__ import annotations

import pytest

from parallel_nodes.modes._text import (
    SUPPORT_THRESHOLD,
    Support,
    best_support,
    citation_numbers,
    content_tokens,
    count_tokens,
    overlap,
    split_sentences,
    strip_citations,
    tokenize,
)


def test_tokens_are_lowercase_with_plurals_folded() -> None:
    assert tokenize("Breakers, Retries and the BREAKER's state") == [
        "breaker",
        "retry",
        "and",
        "the",
        "breaker",
        "state",
    ]


def test_content_tokens_drop_stopwords_markers_and_single_characters() -> None:
    assert content_tokens("What does a circuit breaker do [2] when x fails?") == [
        "circuit",
        "breaker",
        "fail",
    ]
    assert content_tokens("is it the one that was?") == ["one"]


def test_sentences_split_at_end_punctuation_and_keep_their_markers() -> None:
    text = "Breakers open fast [1]. See e.g. the docs. [2] Why?\n\nA new paragraph 3.5 long"
    assert split_sentences(text) == [
        "Breakers open fast [1].",
        "See e.g. the docs. [2]",
        "Why?",
        "A new paragraph 3.5 long",
    ]
    assert split_sentences("  \n\n ") == []


def test_citations_are_read_and_stripped() -> None:
    answer = "Breakers open [1]. They recover [2, 3]. Not a marker: [x]."
    assert citation_numbers(answer) == [1, 2, 3]
    assert strip_citations(answer) == "Breakers open. They recover. Not a marker: [x]."


def test_count_tokens_counts_words_and_punctuation() -> None:
    assert count_tokens("Hello, world [1].") == 7
    assert count_tokens("") == 0


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [(["a", "b"], 0.5), (["a", "a"], 1.0), ([], 0.0), (["c"], 0.0)],
)
def test_overlap_is_the_share_of_distinct_tokens_found(tokens: list[str], expected: float) -> None:
    assert overlap(tokens, {"a", "z"}) == expected


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("What is the difference between is and ==?", ["difference", "is", "and", "=="]),
        ("How does __slots__ work?", ["__slots__", "slot", "work"]),
        ('The operators "is" and "is not" compare identity.', ["operator", "is", "is", "not"]),
        ("What is a circuit breaker?", ["circuit", "breaker"]),
        ("x ** y and a // b", ["**", "and", "//"]),
    ],
)
def test_operators_dunders_and_keywords_used_as_code_are_content(
    text: str, tokens: list[str]
) -> None:
    assert content_tokens(text)[: len(tokens)] == tokens


def test_best_support_is_the_one_check_with_one_threshold() -> None:
    sources = [{"cat"}, {"breaker", "open", "fail"}, {"breaker"}]
    assert best_support(["breaker", "open"], sources) == Support(1, 1.0)
    assert best_support(["breaker", "open"], sources).supported
    assert best_support(["breaker", "x", "y"], sources).share == pytest.approx(1 / 3)
    assert not best_support(["breaker", "x", "y"], sources).supported
    assert best_support(["breaker"], []) == Support(-1, 0.0)
    assert 0.5 < SUPPORT_THRESHOLD <= 0.6
