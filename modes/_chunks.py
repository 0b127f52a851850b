"""One file's text as chunks: split at its headings, packed block by block, markup removed.

Markdown files have ``#`` headings; reStructuredText and plain text files have underlined (and
optionally overlined) titles, as CPython's pydoc topics do. A chunk never spans two sections,
and a code block, list or table is split only at its lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._markup import Block, BlockKind, parse_blocks
from ._text import split_sentences

__all__ = ["MAX_CHUNK_CHARS", "split_text"]

MAX_CHUNK_CHARS = 800

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_UNDERLINE_CHARS = "=-~^\"'`*+#:."
_UNDERLINE = re.compile(r"^([=\-~^\"'`*+#:.])\1{2,}\s*$")


def _title_line(line: str) -> bool:
    """A line that can be a title: some text, not a list item or an indented block."""
    return bool(line.strip()) and not line[:1].isspace() and not _UNDERLINE.match(line)


def _sections(text: str, suffix: str, stem: str) -> Iterator[tuple[str, str]]:
    """Yield ``(heading, body)`` pairs; text before the first heading is headed by ``stem``.

    Markdown files have ``#`` headings; reStructuredText and plain text files have underlined
    (and optionally overlined) titles, as Python's own pydoc topics do.
    """
    heading, body = stem, []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        title: str | None = None
        skip = 1
        if suffix == ".md":
            if line[:1] in "# " and (m := _MD_HEADING.match(line)):
                title = m.group(1)
        elif line.strip():
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            # An underline starts with one of its characters: most lines are ruled out
            # without a regex.
            if (
                line[:1] in _UNDERLINE_CHARS
                and _UNDERLINE.match(line)
                and i + 2 < len(lines)
                and lines[i + 2] == line
            ):
                title, skip = lines[i + 1].strip(), 3  # over- and underlined title
            elif (
                nxt[:1] in _UNDERLINE_CHARS
                and _title_line(line)
                and _UNDERLINE.match(nxt)
                and len(nxt.rstrip()) >= len(line.strip())
            ):
                title, skip = line.strip(), 2
        if title is None:
            body.append(line)
        else:
            yield heading, "\n".join(body)
            heading, body = title.strip().strip("*_`").strip(), []
        i += skip
    yield heading, "\n".join(body)


def _pieces(block: Block, limit: int) -> Iterator[str]:
    """A block as rendered text in pieces of at most ``limit`` characters.

    Prose is split at sentences, then words; code, lists and tables at lines, so a piece of
    code is still fenced and a piece of a list is still a list.
    """
    rendered = block.render()
    if len(rendered) <= limit:
        yield rendered
        return
    if block.kind is not BlockKind.PROSE:
        fence = 8 + len(block.lang) if block.kind is BlockKind.CODE else 0
        lines: list[str] = []
        size = 0
        for line in block.text.splitlines():
            line = line[: max(limit - fence - 1, 1)]
            if lines and size + len(line) + 1 + fence > limit:
                yield Block(kind=block.kind, text="\n".join(lines), lang=block.lang).render()
                lines, size = [], 0
            lines.append(line)
            size += len(line) + 1
        if lines:
            yield Block(kind=block.kind, text="\n".join(lines), lang=block.lang).render()
        return
    current = ""
    for sentence in split_sentences(block.text):
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
    """Split one file's text into ``(heading, chunk)`` pairs, one section at a time.

    Markup is removed (``.. code-block::``, heading underlines, emphasis); code blocks,
    lists and tables keep their lines, as light Markdown.

    Args:
        text: The file's content.
        suffix: ``".md"``, ``".rst"`` or ``".txt"``; decides how headings and markup are read.
        stem: The heading for text outside any heading.
        max_chars: The largest chunk; longer blocks are split at sentences or lines.

    Returns:
        The chunks in file order, none of them empty; a chunk never spans two sections.
    """
    chunks: list[tuple[str, str]] = []
    for heading, body in _sections(text, suffix, stem):
        current = ""
        for block in parse_blocks(body, suffix=suffix):
            for piece in _pieces(block, max_chars):
                if current and len(current) + 2 + len(piece) > max_chars:
                    chunks.append((heading, current))
                    current = ""
                current = f"{current}\n\n{piece}" if current else piece
        if current:
            chunks.append((heading, current))
    return chunks
