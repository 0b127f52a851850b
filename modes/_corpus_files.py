"""Finding and reading a corpus' files: symlinks without loops, encodings, no binary, no escapes.

Everything the loader leaves out is reported as a ``SkippedFile`` with a ``SkipReason``, so a
command-line tool can say "3 binary files skipped" instead of indexing NULs or saying nothing.
"""

from __future__ import annotations

import codecs
import enum
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CorpusFile",
    "SkipReason",
    "SkippedFile",
    "clean_text",
    "decode",
    "find_files",
    "is_binary",
]

SUPPORTED_SUFFIXES = frozenset({".md", ".txt", ".rst"})

_SNIFF_BYTES = 8192
# ANSI CSI ("\x1b[31m"), OSC ("\x1b]0;title\x07", "\x1b]8;;url\x1b\\"), and two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[@-Z\\-_]|\x1b"
)
# C0 controls but tab and newline, DEL, and the C1 range: never meant for a reader.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WESTERN_PUNCTUATION = frozenset("“”‘’‚„–—…•€£§°©®±×÷«»·¡¿¢ \u00a0")


class SkipReason(enum.Enum):
    """Why a file was left out of the corpus."""

    BINARY = "binary"
    """It holds NUL bytes or mostly control characters."""
    UNDECODABLE = "undecodable"
    """Neither UTF-8 nor any encoding ``charset_normalizer`` knows reads it."""
    UNREADABLE = "unreadable"
    """The operating system refused to read it (permissions, a dangling link)."""
    DUPLICATE = "duplicate"
    """A symlink to a file that is already in the corpus."""
    LOOP = "symlink loop"
    """A symlinked folder that leads back to a folder already walked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedFile:
    """A file or folder the loader left out, and why."""

    source: str
    """Its path relative to the corpus folder."""
    reason: SkipReason


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusFile:
    """One file to read: where it is, and the size and mtime that key the index cache."""

    path: Path
    source: str
    """The path relative to the corpus folder, with ``/``."""
    size: int
    mtime_ns: int


def find_files(root: Path) -> tuple[list[CorpusFile], list[SkippedFile]]:
    """Every supported file under ``root``, following symlinked folders once each.

    Hidden files and folders (``.git``) are not walked. A folder whose real path was already
    walked (a symlink loop, or two links to one folder) is skipped and reported, as is a
    second link to a file already found.

    Args:
        root: The corpus folder.

    Returns:
        The files sorted by ``source``, and what was skipped.
    """
    files: list[CorpusFile] = []
    skipped: list[SkippedFile] = []
    root_real = os.path.realpath(root)
    seen_dirs = {root_real}
    seen_files: set[str] = set()
    # (folder, its source prefix, reached through a symlink). Below the root and without a
    # symlink on the way, a path's real path is the root's plus the relative path: only
    # paths through links need the (slow) os.path.realpath.
    stack: list[tuple[str, str, bool]] = [(str(root), "", False)]
    while stack:
        folder, prefix, via_link = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            skipped.append(SkippedFile(source=prefix.rstrip("/"), reason=SkipReason.UNREADABLE))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            source = prefix + name
            linked = via_link or entry.is_symlink()
            real = os.path.realpath(entry.path) if linked else os.path.join(root_real, source)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if real in seen_dirs:
                    skipped.append(SkippedFile(source=source, reason=SkipReason.LOOP))
                else:
                    seen_dirs.add(real)
                    stack.append((entry.path, source + "/", linked))
                continue
            if os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES:
                continue
            try:
                stat = entry.stat()
            except OSError:
                skipped.append(SkippedFile(source=source, reason=SkipReason.UNREADABLE))
                continue
            if real in seen_files:
                skipped.append(SkippedFile(source=source, reason=SkipReason.DUPLICATE))
                continue
            seen_files.add(real)
            files.append(
                CorpusFile(
                    path=Path(entry.path),
                    source=source,
                    size=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                )
            )
    files.sort(key=lambda f: f.source)
    skipped.sort(key=lambda s: s.source)
    return files, skipped


def _western(text: str) -> bool:
    """Whether a cp1252 reading looks like Western European text rather than mojibake."""
    letters = [c for c in text if c.isalpha()]
    odd = [c for c in text if ord(c) > 127]
    if not letters or any(not c.isalpha() and c not in _WESTERN_PUNCTUATION for c in odd):
        return False
    accented = sum(1 for c in letters if ord(c) > 127)
    # Cyrillic or Greek read as cp1252 is nearly all accented letters; French is not.
    return accented <= 0.3 * len(letters)


def decode(data: bytes) -> str | None:
    """The text of ``data``, or ``None`` when it is binary or in no known encoding.

    A byte-order mark decides first, then UTF-8; then cp1252 (which reads Latin-1) when the
    result looks like Western text, because ``charset_normalizer`` guesses short Latin-1
    samples as cp1250; then ``charset_normalizer``'s best guess.

    Example:
        >>> decode("Café crème".encode("latin-1"))
        'Café crème'
        >>> decode(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00") is None
        True
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _western(text):
        return text
    from charset_normalizer import from_bytes  # only for files not in UTF-8

    best = from_bytes(data).best()
    return None if best is None else str(best)


def clean_text(text: str) -> str:
    """``text`` without terminal escapes and control characters; newlines normalised.

    Example:
        >>> clean_text("\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07ok\\r\\n\\x07")
        'red ok\\n'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _ESCAPES.sub("", text)
    return unicodedata.normalize("NFC", _CONTROLS.sub("", text))


def is_binary(text: str) -> bool:
    """Decoded text that is mostly control characters is a binary file that decoded by luck."""
    sample = _ESCAPES.sub("", text[:_SNIFF_BYTES])  # colour codes are text dressed up
    controls = len(_CONTROLS.findall(sample))
    return bool(sample) and controls > 0.1 * len(sample)
