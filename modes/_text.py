"""Lexical text handling shared by every mode component: tokens, stopwords, sentences, citations.

Everything that compares a question, an answer and a source does so through these functions, so
the retriever, the offline model, the scorer and the citation checker agree on what a "word" is.

Example:
    >>> content_tokens("What does a circuit breaker do when backends fail?")
    ['circuit', 'breaker', 'backend', 'fail']
    >>> strip_citations("Breakers open after five failures [1, 2].")
    'Breakers open after five failures.'
"""

from __future__ import annotations

import re

__all__ = [
    "CITATION_RE",
    "STOPWORDS",
    "citation_numbers",
    "content_tokens",
    "count_tokens",
    "overlap",
    "split_sentences",
    "strip_citations",
    "tokenize",
]

_STOPWORD_LIST = """
    a about above after again all also am an and any are as at be because been before being
    between both but by can could did do does doing done down during each either else ever few
    for from further had has have having he her here hers him his how i if in into is it its
    itself just let me more most much must my no nor not now of off on once only or other our
    ours out over own per same shall she should so some such than that the their theirs them
    then there these they this those through thus to too under until up upon us very via was
    we were what when where which while who whom whose why will with within without would yet
    you your yours
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_LIST.split())
"""Small English function-word list; content words are what is left."""

CITATION_RE = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
"""A citation marker such as ``[1]`` or ``[1, 3]``, with the space before it."""

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_COUNT_RE = re.compile(r"\w+|[^\w\s]")
# A sentence ends at . ! or ? (optionally followed by a citation or a closing quote/bracket)
# and whitespace; a lower-case letter next means an abbreviation such as "e.g. the".
_SENTENCE_END_RE = re.compile(r"[.!?](?:\s*\[\d+(?:\s*,\s*\d+)*\])*[\"')\]]*(?=\s+[^a-z\s])")


def _fold(word: str) -> str:
    """Fold plurals and possessives so "breakers" and "breaker's" match "breaker"."""
    if word.endswith("'s"):
        word = word[:-2]
    elif "'" in word:
        word = word.split("'", 1)[0]
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, plurals folded, stopwords kept.

    Args:
        text: Any text.

    Returns:
        The tokens in order.
    """
    return [_fold(w) for w in _WORD_RE.findall(text.lower())]


def content_tokens(text: str) -> list[str]:
    """Tokens of ``text`` without stopwords and single characters (``[1]`` markers removed).

    Args:
        text: Any text.

    Returns:
        The content tokens in order, repeats kept.
    """
    words = _WORD_RE.findall(strip_citations(text).lower())
    folded = (_fold(w) for w in words if w not in STOPWORDS)
    return [t for t in folded if len(t) > 1 and t not in STOPWORDS]


def count_tokens(text: str) -> int:
    """Count tokens the way the offline model bills them: words and punctuation marks.

    Args:
        text: Any text.

    Returns:
        The number of word runs plus punctuation characters.
    """
    return len(_COUNT_RE.findall(text))


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping each sentence's trailing citation markers.

    Args:
        text: Prose; line breaks inside a paragraph are treated as spaces.

    Returns:
        Non-empty, whitespace-normalised sentences.
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        start = 0
        for end in _SENTENCE_END_RE.finditer(flat):
            sentences.append(flat[start : end.end()].strip())
            start = end.end()
        if flat[start:].strip():
            sentences.append(flat[start:].strip())
    return sentences


def strip_citations(text: str) -> str:
    """Remove ``[n]`` markers (and the space before each) from ``text``.

    Args:
        text: An answer with citation markers.

    Returns:
        The text without them.
    """
    return CITATION_RE.sub("", text)


def citation_numbers(text: str) -> list[int]:
    """The source numbers cited in ``text``, in order of appearance, repeats kept.

    Args:
        text: An answer with markers such as ``[1]`` or ``[2, 3]``.

    Returns:
        The numbers, e.g. ``[1, 2, 3]``.
    """
    return [int(n) for m in CITATION_RE.finditer(text) for n in m.group(1).split(",")]


def overlap(tokens: list[str] | set[str], reference: set[str]) -> float:
    """The fraction of the distinct ``tokens`` that appear in ``reference``.

    Args:
        tokens: The tokens to check, e.g. one answer sentence's content tokens.
        reference: The tokens they may come from, e.g. one source's content tokens.

    Returns:
        A value in 0..1; 0 when ``tokens`` is empty.
    """
    distinct = set(tokens)
    if not distinct:
        return 0.0
    return len(distinct & reference) / len(distinct)
