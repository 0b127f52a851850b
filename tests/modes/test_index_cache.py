"""The persistent index cache: hits, misses on change, damage, and concurrent writers."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from parallel_nodes.modes._corpus import CorpusReport, CorpusRetriever, ProgressStage
from parallel_nodes.modes._index_cache import IndexCache, default_cache_dir


def _report(retriever: CorpusRetriever) -> CorpusReport:
    assert retriever.report is not None
    return retriever.report


def _corpus(root: Path, files: int = 5) -> Path:
    root.mkdir(exist_ok=True)
    for n in range(files):
        (root / f"topic{n}.md").write_text(
            f"# Topic {n}\n\nBreakers open after {n} failures.\n", encoding="utf-8"
        )
    return root


def test_the_second_load_comes_from_the_cache_with_the_same_answers(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "corpus")
    first = CorpusRetriever.from_directory(root, cache_dir=tmp_path / "cache")
    stages: list[ProgressStage] = []
    second = CorpusRetriever.from_directory(
        root, cache_dir=tmp_path / "cache", on_event=lambda e: stages.append(e.stage)
    )
    assert first.report is not None
    assert second.report is not None
    assert (first.report.from_cache, second.report.from_cache) == (False, True)
    assert second.report.cache_path == first.report.cache_path
    assert stages == [ProgressStage.CACHED], "nothing is read or indexed"
    assert second.documents == first.documents
    question = "When do breakers open after 3 failures?"
    assert second.invoke(question) == first.invoke(question)


def test_the_default_cache_lives_in_the_data_dir(tmp_path: Path) -> None:
    # tests/modes/conftest.py points PARALLEL_NODES_DATA_DIR at a temporary folder.
    assert default_cache_dir() == Path(os.environ["PARALLEL_NODES_DATA_DIR"]) / "index-cache"
    root = _corpus(tmp_path / "corpus")
    CorpusRetriever.from_directory(root)
    report = CorpusRetriever.from_directory(root).report
    assert report is not None
    assert report.from_cache
    assert report.cache_path is not None
    assert report.cache_path.parent == default_cache_dir()


def test_a_changed_added_or_removed_file_rebuilds_the_index(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"

    def loaded() -> CorpusRetriever:
        return CorpusRetriever.from_directory(root, cache_dir=cache)

    loaded()
    (root / "topic1.md").write_text("# Topic 1\n\nHedges cut the tail.\n", encoding="utf-8")
    changed = loaded()
    assert changed.report is not None
    assert not changed.report.from_cache
    assert changed.invoke("hedges tail")[0].metadata["source"] == "topic1.md"
    (root / "new.md").write_text("Jitter spreads retries.", encoding="utf-8")
    assert not _report(loaded()).from_cache
    (root / "new.md").unlink()
    assert not _report(loaded()).from_cache
    assert _report(loaded()).from_cache
    assert len(list(cache.iterdir())) == 1, "one cache file per corpus folder"


@pytest.mark.parametrize("damage", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_a_corrupt_cache_is_rebuilt_with_a_warning(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    root = _corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"
    first = CorpusRetriever.from_directory(root, cache_dir=cache)
    assert first.report is not None
    assert first.report.cache_path is not None
    first.report.cache_path.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="parallel_nodes.modes.index_cache"):
        again = CorpusRetriever.from_directory(root, cache_dir=cache)
    assert again.report is not None
    assert not again.report.from_cache
    assert "unreadable" in caplog.text
    assert "rebuilding" in caplog.text
    assert _report(CorpusRetriever.from_directory(root, cache_dir=cache)).from_cache


def test_an_unwritable_cache_folder_costs_speed_not_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _corpus(tmp_path / "corpus")
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="parallel_nodes.modes.index_cache"):
        retriever = CorpusRetriever.from_directory(root, cache_dir=blocker)
    assert retriever.report is not None
    assert retriever.report.cache_path is None
    assert retriever.invoke("breakers")
    assert "could not be written" in caplog.text


def test_concurrent_writers_leave_one_whole_cache_file(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "corpus", files=40)
    cache = tmp_path / "cache"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            CorpusRetriever.from_directory(root, cache_dir=cache)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.suffix for p in cache.iterdir()] == [".npz"], "no temporary files left behind"
    assert _report(CorpusRetriever.from_directory(root, cache_dir=cache)).from_cache


def test_no_cache_dir_turns_caching_off(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "corpus")
    for _ in range(2):
        report = CorpusRetriever.from_directory(root, cache_dir=None).report
        assert report is not None
        assert not report.from_cache
        assert report.cache_path is None
    assert IndexCache(tmp_path / "unused").load(root, "key") is None
