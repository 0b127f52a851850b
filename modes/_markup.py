"""Source text as blocks: prose, code, lists and tables, with Markdown and rST markup removed.

The corpus loader turns every section of a file into these blocks and stores each chunk as
light Markdown (code fenced, list items as ``- item``, table rows kept); the offline model
parses a chunk back into the same blocks, so an answer can quote a code block, a list or a
table whole instead of flattening it onto one line.

Example:
    >>> text = "Use this:\\n\\n.. code-block:: python\\n\\n   x = 1\\n\\n* **one**\\n* two"
    >>> print(render_blocks(parse_blocks(text, suffix=".rst")))
    Use this:
    <BLANKLINE>
    ```python
    x = 1
    ```
    <BLANKLINE>
    - one
    - two
"""

from __future__ import annotations

import enum
import re
import textwrap
from dataclasses import dataclass

__all__ = ["Block", "BlockKind", "clean_inline", "parse_blocks", "render_blocks"]


class BlockKind(enum.Enum):
    """What a block is; decides how it is quoted."""

    PROSE = "prose"
    CODE = "code"
    LIST = "list"
    TABLE = "table"


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """One paragraph, code block, list or table, markup removed."""

    kind: BlockKind
    text: str
    """Prose on one line; code, list items and table rows one per line."""
    lang: str = ""
    """A code block's language, when the source named one."""

    def render(self) -> str:
        """The block as light Markdown: code fenced, everything else as stored."""
        if self.kind is BlockKind.CODE:
            return f"```{self.lang}\n{self.text}\n```"
        return self.text


_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_RST_COMMENT = re.compile(r"^(\s*)\.\.(\s|$)")
_LIST_ITEM = re.compile(r"^(\s*)([-*+•]|\d{1,3}[.)]|#\.)\s+(\S.*)$")
_TABLE_LINE = re.compile(r"^\s*(\|.*\||\+[-=+]+\+)\s*$")
_RULE = re.compile(r"^\s*([-=~^\"'`*+#:._])\1{2,}\s*$")
_CODE_DIRECTIVES = frozenset({"code", "code-block", "sourcecode", "doctest", "productionlist"})
_NOTE_DIRECTIVES = frozenset(
    {
        "note", "warning", "tip", "important", "hint", "caution", "danger", "attention",
        "seealso", "deprecated", "versionadded", "versionchanged",
    }
)  # fmt: skip
_DROP_DIRECTIVES = frozenset({"toctree", "image", "figure", "index", "contents", "include"})
_ROLE = re.compile(r":[\w:+-]+:`([^`]+)`")
_DOUBLE_BACKTICK = re.compile(r"``([^`]+)``")
# Not ``__x__``: in technical text that is a dunder (``__slots__``), not bold.
_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|\*)(?=\S)([^*\n]*?\S)\1(?![\w*])")
# A footnote reference such as "[3]" would read as a citation marker in an answer.
_FOOTNOTE = re.compile(r"\s*\[(?:\d+|#\w*|\*)\]_?")
_UNDERSCORE_EM = re.compile(r"(?<![\w])_(?=\S)([^_\n]*?\S)_(?![\w])")
_LINK = re.compile(r"!?\[([^\]\n]+)\]\([^)\s]+\)")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_+")
_RST_REF = re.compile(r"`([^`]+)`_+")


def clean_inline(text: str) -> str:
    """Prose without inline markup: roles, emphasis, links; ``code`` keeps one backtick pair.

    Example:
        >>> clean_inline("A **bold** :func:`len` and ``x == y`` and *em*, see `docs <u>`_.")
        'A bold `len` and `x == y` and em, see docs.'
    """
    # Each pattern runs only when its marker character is there: most prose has none.
    if "`" in text:
        text = _ROLE.sub(r"`\1`", text)
        text = _DOUBLE_BACKTICK.sub(r"`\1`", text)
        text = _RST_LINK.sub(r"\1", text)
        text = _RST_REF.sub(r"\1", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "*" in text:
        text = _EMPHASIS.sub(r"\2", text)
    if "_" in text:
        text = _UNDERSCORE_EM.sub(r"\1", text)
    if "[" in text:
        text = _FOOTNOTE.sub("", text)
    if text.endswith("::"):
        text = text[:-1]  # rST's "Example::" introduces a literal block: "Example:"
    return " ".join(text.split())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indented_run(lines: list[str], start: int, deeper_than: int) -> int:
    """The index after the run of blank lines and lines indented more than ``deeper_than``."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > deeper_than):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def _dedent(lines: list[str]) -> str:
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _join_lines(lines: list[str]) -> str:
    """A paragraph's lines on one line; "built-" then "in" is "built-in"."""
    out = ""
    for line in lines:
        part = line.strip()
        hyphenated = out.endswith("-") and out[-2:-1].islower() and part[:1].islower()
        glue = "" if hyphenated else " "
        out = f"{out}{glue}{part}" if out else part
    return out


class _Parser:
    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.blocks: list[Block] = []
        self.para: list[str] = []

    def flush(self) -> None:
        if self.para:
            text = clean_inline(_join_lines(self.para))
            if text:
                self.blocks.append(Block(kind=BlockKind.PROSE, text=text))
            self.para = []

    def after_colon(self) -> bool:
        if self.para:
            return self.para[-1].rstrip().endswith(":")
        last = self.blocks[-1] if self.blocks else None
        return last is not None and last.kind is BlockKind.PROSE and last.text.endswith(":")

    def parse(self, lines: list[str]) -> list[Block]:
        i = 0
        while i < len(lines):
            i = self.step(lines, i)
        self.flush()
        return self.blocks

    def step(self, lines: list[str], i: int) -> int:
        line = lines[i]
        if line[:1].isalpha():
            # Most lines: unindented prose, which no block starts with (fences, tables, list
            # markers, rules, directives and sessions all begin with punctuation or a digit).
            self.para.append(line)
            return i + 1
        stripped = line.strip()
        if m := _FENCE.match(line):
            self.flush()
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(m.group(1)):
                end += 1
            self.code(lines[i + 1 : end], m.group(2))
            return end + 1
        if not stripped or _RULE.match(line):
            self.flush()  # a stray heading underline or transition line is no text
            return i + 1
        if self.suffix == ".rst" and (m := _DIRECTIVE.match(line)):
            return self.directive(lines, i, m)
        if self.suffix == ".rst" and (m := _RST_COMMENT.match(line)):
            self.flush()  # a comment or a link target
            return _indented_run(lines, i + 1, len(m.group(1)))
        if _TABLE_LINE.match(line):
            self.flush()
            end = i
            while end < len(lines) and _TABLE_LINE.match(lines[end]):
                end += 1
            self.blocks.append(Block(kind=BlockKind.TABLE, text=_dedent(lines[i:end])))
            return end
        if m := _LIST_ITEM.match(line):
            self.flush()
            return self.list_block(lines, i)
        if stripped.startswith(">>>") and not self.para:
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            self.code(lines[i:end], "")  # an interactive session runs to the blank line
            return end
        if _indent(line) >= 2 and not self.para:
            end = _indented_run(lines, i, _indent(line) - 1)
            if self.after_colon() or "::=" in line:  # a grammar rule is code too
                self.code(lines[i:end], "")
            else:  # a definition's body, a block quote: its own blocks, dedented
                self.blocks.extend(parse_blocks(_dedent(lines[i:end]), suffix=self.suffix))
            return end
        self.para.append(line)
        return i + 1

    def code(self, lines: list[str], lang: str) -> None:
        text = _dedent(lines)
        if text.strip():
            self.blocks.append(Block(kind=BlockKind.CODE, text=text, lang=lang))

    def directive(self, lines: list[str], i: int, m: re.Match[str]) -> int:
        self.flush()
        name, arg = m.group(2).lower(), m.group(3).strip()
        end = _indented_run(lines, i + 1, len(m.group(1)))
        body = lines[i + 1 : end]
        # Options (":linenos:") come first in a directive's body.
        while body and re.match(r"^\s*:[\w-]+:", body[0]):
            body = body[1:]
        if name in _CODE_DIRECTIVES:
            self.code(body, arg if name != "productionlist" else "")
        elif name in _DROP_DIRECTIVES:
            pass
        else:
            inner = parse_blocks(_dedent(body), suffix=".rst")
            if name in _NOTE_DIRECTIVES:
                label = name.capitalize() + ":"
                lead = clean_inline(f"{label} {arg}") if arg else label
                if inner and inner[0].kind is BlockKind.PROSE:
                    inner[0] = Block(kind=BlockKind.PROSE, text=f"{lead} {inner[0].text}")
                else:
                    inner.insert(0, Block(kind=BlockKind.PROSE, text=lead))
            self.blocks.extend(inner)
        return end

    def list_block(self, lines: list[str], i: int) -> int:
        items: list[str] = []
        base = _indent(lines[i])
        end, blank = i, False
        while end < len(lines):
            line = lines[end]
            if not line.strip():
                blank = True
                end += 1
                continue
            m = _LIST_ITEM.match(line)
            if m and _indent(line) >= base - 1:
                nested = "  " if _indent(line) > base + 1 else ""
                marker = m.group(2)
                marker = "-" if marker in "-*+•" else ("1." if marker == "#." else marker)
                items.append(f"{nested}{marker} {clean_inline(m.group(3))}")
            elif _indent(line) > base or not blank:
                items[-1] = f"{items[-1]} {clean_inline(line)}"  # the item goes on
            else:
                break
            blank = False
            end += 1
        while end > i and not lines[end - 1].strip():
            end -= 1
        self.blocks.append(Block(kind=BlockKind.LIST, text="\n".join(items)))
        return end


def parse_blocks(text: str, *, suffix: str = ".md") -> list[Block]:
    """Split one section's text into blocks, removing markup.

    Args:
        text: A section of a file (headings already taken out), or a stored chunk.
        suffix: ``".rst"`` also reads directives (``.. code-block::``, ``.. note::``) and
            comments; any suffix reads fenced code, lists, ``|`` tables, and an indented block
            after a line ending in ``:`` (or that looks like code) as code.

    Returns:
        The blocks in order; prose whitespace collapsed, code dedented.
    """
    return _Parser(suffix).parse(text.expandtabs(4).splitlines())


def render_blocks(blocks: list[Block]) -> str:
    """Blocks as light Markdown, separated by blank lines (the inverse of ``parse_blocks``)."""
    return "\n\n".join(b.render() for b in blocks)
