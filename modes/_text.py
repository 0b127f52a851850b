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

import functools
import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "CITATION_RE",
    "CODE_KEYWORDS",
    "STOPWORDS",
    "SUPPORT_THRESHOLD",
    "Support",
    "best_support",
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

CODE_KEYWORDS: frozenset[str] = frozenset(
    {"and", "as", "else", "for", "from", "if", "in", "is", "not", "or", "while", "with"}
)
"""Stopwords that are also Python keywords: content words when they are code, as in
``"x is y"`` or "the difference between is and ==" (a sentence with an operator in it)."""

SUPPORT_THRESHOLD = 0.6
"""A sentence is supported when at least this share of its content words is in one source.

Citations (``extract_citations``) and groundedness (``score_answer``) both judge support with
``best_support`` against this value, so they never disagree about the same sentence."""

CITATION_RE = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
"""A citation marker such as ``[1]`` or ``[1, 3]``, with the space before it."""

# Operators are words too: "is" vs "==" is a question about two tokens, not about nothing.
# A lone one-character operator counts only between spaces or quotes ("x % y", '"%"'), so
# hyphens, bullets and emphasis stay punctuation.
# The lookahead on the first character makes the search 4x faster: most positions fail it
# at once instead of trying every alternative.
_OP = (
    r"(?=[-=!<>*/:%@&|^~+])(?:==|!=|<=|>=|\*\*=?|//=?|->|:=|<<=?|>>=?|[-+*/%@&|^]="
    r"|(?<![^\s\"'`(])[%@&^~<>](?=[\s\"'`)]|$))"
)
_OP_RE = re.compile(_OP)
_WORD = r"_*[a-z0-9]+(?:_+[a-z0-9]+)*_*(?:'[a-z]+)?"
_TOKEN_RE = re.compile(rf"({_OP})|(\x01*{_WORD})")
# Zero-width: the mark goes in front of the keyword with a plain-string replacement, which
# costs a fraction of a template or a callback per match.
_KEYWORD_RE = re.compile(rf"(?=\b(?:{'|'.join(sorted(CODE_KEYWORDS))})\b)")
_QUOTE_CHARS = re.compile("[\"'`“]")
_MARKED_WORD_RE = re.compile(f"\x01*{_WORD}")
# Short quoted or backticked spans are code in reference docs: "x is y", ``__slots__``.
_CODE_SPAN_RE = re.compile(
    r"(?=[`\"“'])(?:``[^`\n]{1,40}``|`[^`\n]{1,40}`|\"[^\"\n]{1,40}\"|“[^”\n]{1,40}”"
    r"|(?<![\w'])'[^'\n]{1,40}'(?![\w']))"
)
# The interrogative at the start of a question is prose even in a question about code.
_QUESTION_LEAD_RE = re.compile(r"^\W*(?:what|how|why|when|where|which|who)\s+(?:is|are|was|were)\b")
_SEGMENT_RE = re.compile(r"(?<=[.!?:;])\s+|\n\s*\n")
_COUNT_RE = re.compile(r"\w+|[^\w\s]")
# A sentence ends at . ! or ? (optionally followed by a citation or a closing quote/bracket)
# and whitespace; a lower-case letter next means an abbreviation such as "e.g. the".
_SENTENCE_END_RE = re.compile(r"[.!?](?:\s*\[\d+(?:\s*,\s*\d+)*\])*[\"')\]]*(?=\s+[^a-z\s])")


def _fold(word: str) -> str:
    """Fold plurals and possessives so "breakers" and "breaker's" match "breaker"."""
    if "_" in word:
        return word  # an identifier such as __slots__ is matched as written
    if word.endswith("'s"):
        word = word[:-2]
    elif "'" in word:
        word = word.split("'", 1)[0]
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1 << 16)
def _words(word: str) -> tuple[str, ...]:
    """One word's tokens: ``lambda_expr`` also counts as ``lambda`` and ``expr``."""
    folded = _fold(word)
    if "_" not in word:
        return (folded,)
    parts = tuple(_fold(p) for p in word.split("_") if p)
    return (folded, *parts) if parts != (folded,) else (folded,)


@functools.lru_cache(maxsize=1 << 16)
def _content_words(word: str) -> tuple[str, ...]:
    """``_words`` without stopwords and single characters; the word itself when it is kept
    (a keyword marked as quoted code, ``"\\x01is"``, is kept as ``is``)."""
    word = word.lstrip("\x01")
    return tuple(t for t in _words(word) if len(t) > 1 and (t not in STOPWORDS or t == word))


def tokenize(text: str) -> list[str]:
    """Lower-case word and operator tokens, plurals folded, stopwords kept.

    Args:
        text: Any text.

    Returns:
        The tokens in order; an identifier with underscores also yields its parts.

    Example:
        >>> tokenize("Is __slots__ == 'slots'?")
        ['is', '__slots__', 'slot', '==', 'slot']
    """
    tokens: list[str] = []
    for op, word in _TOKEN_RE.findall(text.lower().replace("\x01", "")):
        if op:
            tokens.append(op)
        else:
            tokens += _words(word)
    return tokens


_MARK = "\x01"


def _mark_quoted_keywords(match: re.Match[str]) -> str:
    return _KEYWORD_RE.sub(_MARK, match.group())


def content_tokens(text: str) -> list[str]:
    """Tokens of ``text`` without stopwords and single characters (``[1]`` markers removed).

    Operators (``==``, ``**``) and identifiers (``__slots__``) are content. Python keywords
    that are also stopwords (``is``, ``in``, ``not``) are content where they are code: quoted
    (``"x is y"``), or in a sentence that writes an operator or a dunder.

    Args:
        text: Any text.

    Returns:
        The content tokens in order, repeats kept.

    Example:
        >>> content_tokens("What is the difference between is and ==?")
        ['difference', 'is', 'and', '==']
    """
    lowered = strip_citations(text).lower()
    if "\x01" in lowered:
        lowered = lowered.replace("\x01", "")  # the quoted-keyword mark is ours alone
    talks_code = "__" in lowered or _OP_RE.search(lowered) is not None
    if talks_code:
        # A sentence that writes an operator or a dunder talks code: its keywords are words.
        segments = _SEGMENT_RE.split(lowered)
        for n, segment in enumerate(segments):
            if segment and ("__" in segment or _OP_RE.search(segment)):
                if n == 0 and (q := _QUESTION_LEAD_RE.match(segment)):
                    segment = segment[q.end() :]  # "what is" is prose, and only stopwords
                segments[n] = _KEYWORD_RE.sub(_MARK, segment)
        lowered = " ".join(segments)
    if _QUOTE_CHARS.search(lowered):
        # A keyword inside a short quoted span is code: "x is y".
        lowered = _CODE_SPAN_RE.sub(_mark_quoted_keywords, lowered)
    # Marked keywords ("\x01is") are kept; one pass over the whole text, no per-token logic.
    if not talks_code:
        return [
            t
            for w in _MARKED_WORD_RE.findall(lowered)
            if w[0] == "\x01" or w not in STOPWORDS
            for t in _content_words(w)
        ]
    return [
        t
        for op, w in _TOKEN_RE.findall(lowered)
        for t in (
            (op,) if op else _content_words(w) if w[0] == "\x01" or w not in STOPWORDS else ()
        )
    ]


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
    return CITATION_RE.sub("", text) if "[" in text else text


def citation_numbers(text: str) -> list[int]:
    """The source numbers cited in ``text``, in order of appearance, repeats kept.

    Args:
        text: An answer with markers such as ``[1]`` or ``[2, 3]``.

    Returns:
        The numbers, e.g. ``[1, 2, 3]``.
    """
    return [int(n) for m in CITATION_RE.finditer(text) for n in m.group(1).split(",")]


def overlap(tokens: list[str] | set[str], reference: set[str] | frozenset[str]) -> float:
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


class Support(NamedTuple):
    """The source that best supports one sentence, and how well."""

    position: int
    """The best source's position in the list, ``-1`` when there are no sources."""
    share: float
    """Share of the sentence's distinct content words found in that source, 0..1."""

    @property
    def supported(self) -> bool:
        """``share`` reaches ``SUPPORT_THRESHOLD``."""
        return self.position >= 0 and self.share >= SUPPORT_THRESHOLD


def best_support(
    tokens: list[str] | set[str], sources: Sequence[set[str] | frozenset[str]]
) -> Support:
    """The source sharing the most of ``tokens``; the first one on a tie.

    The one overlap check behind both citations and groundedness.

    Args:
        tokens: One sentence's content tokens.
        sources: Each source's content tokens, in the order the model numbered them.

    Returns:
        The best source's position and share; ``Support(-1, 0.0)`` without sources.

    Example:
        >>> best_support(["breaker", "open"], [{"cat"}, {"breaker", "open"}])
        Support(position=1, share=1.0)
    """
    best = Support(-1, 0.0)
    for i, source in enumerate(sources):
        share = overlap(tokens, source)
        if best.position < 0 or share > best.share:
            best = Support(i, share)
    return best
