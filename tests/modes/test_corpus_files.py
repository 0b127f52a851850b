"""What the corpus loader reads and what it skips: binary files, encodings, escapes, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parallel_nodes.modes._corpus import (
    CorpusProgress,
    CorpusRetriever,
    ProgressStage,
    read_corpus,
)
from parallel_nodes.modes._corpus_files import (
    SkippedFile,
    SkipReason,
    clean_text,
    decode,
    find_files,
)


def test_binary_files_are_skipped_and_counted_in_the_progress(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Breakers\n\nA breaker opens.", encoding="utf-8")
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (tmp_path / "noise.txt").write_bytes(bytes(range(1, 32)) * 50)
    events: list[CorpusProgress] = []
    docs, report = read_corpus(tmp_path, on_event=events.append)
    assert [d.metadata["source"] for d in docs] == ["good.md"]
    assert report.skipped == (
        SkippedFile(source="image.md", reason=SkipReason.BINARY),
        SkippedFile(source="noise.txt", reason=SkipReason.BINARY),
    )
    assert report.skipped_summary() == "2 binary"
    assert events[-1].skipped == 2
    assert events[-1].stage is ProgressStage.READING
    assert all("\x00" not in d.page_content for d in docs)


def test_latin1_and_cp1252_files_read_as_written(tmp_path: Path) -> None:
    text = "Café crème, naïve façade — “quoted”."
    (tmp_path / "latin.txt").write_bytes("Die Größe der Übung: café.".encode("latin-1"))
    (tmp_path / "windows.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "cyrillic.txt").write_bytes("Привет, как дела? Это тест.".encode("cp1251"))
    docs, report = read_corpus(tmp_path)
    contents = {d.metadata["source"]: d.page_content for d in docs}
    assert contents["latin.txt"] == "Die Größe der Übung: café."
    assert contents["windows.txt"] == text
    assert "\ufffd" not in contents["cyrillic.txt"]
    assert report.skipped == ()


def test_decode_handles_boms_and_refuses_nul_bytes() -> None:
    assert decode("naïve".encode("utf-16")) == "naïve"
    assert decode(b"\xef\xbb\xbfplain") == "plain"
    assert decode(b"text\x00more") is None


def test_terminal_escapes_and_control_characters_are_removed(tmp_path: Path) -> None:
    raw = "\x1b[31mRed\x1b[0m title\x1b]0;pwned\x07 and \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\.\x08\x07\r\n"
    assert clean_text(raw) == "Red title and link.\n"
    (tmp_path / "escapes.md").write_text(raw, encoding="utf-8")
    docs, _ = read_corpus(tmp_path)
    assert docs[0].page_content == "Red title and link."


def test_symlinked_folders_are_followed_once_without_looping(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.md").write_text("Alpha text.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "b.md").write_text("Beta text.", encoding="utf-8")
    os.symlink(real, corpus / "linked")  # a symlinked folder outside the corpus: followed
    os.symlink(corpus, corpus / "linked" / "back")  # back to the corpus: a loop
    os.symlink(real / "a.md", corpus / "again.md")  # the same file twice
    files, skipped = find_files(corpus)
    assert [f.source for f in files] == ["again.md", "b.md"]
    assert SkippedFile(source="linked/a.md", reason=SkipReason.DUPLICATE) in skipped
    assert SkippedFile(source="linked/back", reason=SkipReason.LOOP) in skipped
    docs, report = read_corpus(corpus)
    assert {d.page_content for d in docs} == {"Alpha text.", "Beta text."}
    assert report.skipped_summary() == "1 duplicate, 1 symlink loop"


def test_a_corpus_of_only_binary_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "blob.md").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ValueError, match="has only binary or unreadable files"):
        CorpusRetriever.from_directory(tmp_path)


def test_progress_goes_through_reading_then_indexing_by_bytes(tmp_path: Path) -> None:
    for n in range(300):
        (tmp_path / f"f{n:03}.md").write_text(f"# Topic {n}\n\n" + "word " * 50, encoding="utf-8")
    bar: list[tuple[int, int]] = []
    events: list[CorpusProgress] = []
    CorpusRetriever.from_directory(
        tmp_path, on_progress=lambda d, t: bar.append((d, t)), on_event=events.append
    )
    total = bar[0][1]
    assert total == 2 * sum(f.stat().st_size for f in tmp_path.iterdir())
    done = [d for d, _ in bar]
    assert done == sorted(done), "the bar never moves back"
    assert done[-1] == total
    first_full = done.index(total)
    assert first_full == len(done) - 1, "no silence at 100%: full only when the index is ready"
    stages = [e.stage for e in events]
    reading_end = stages.index(ProgressStage.INDEXING)
    assert set(stages[:reading_end]) == {ProgressStage.READING}
    assert ProgressStage.INDEXING in stages
    assert stages[-1] is ProgressStage.DONE
    assert sum(1 for s in stages if s is ProgressStage.INDEXING) >= 50, "indexing reports too"
