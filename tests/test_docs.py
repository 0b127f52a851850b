"""Every Python block in the concept docs runs, so the docs cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["resilience.md"]


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        for i, code in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)):
            found.append((page, i, code))
    return found


@pytest.mark.parametrize(("page", "index", "code"), _blocks(), ids=lambda v: str(v)[:20])
def test_doc_block_runs(page: str, index: int, code: str) -> None:
    exec(compile(code, f"{page}:block{index}", "exec"), {"__name__": "docs"})


_TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
_CITING = ["reliability.md", "operations.md"]


def _cited_tests() -> list[tuple[str, str, str]]:
    return [
        (page, path, name)
        for page in _CITING
        if (DOCS / page).exists()
        for path, name in _TEST_REF.findall((DOCS / page).read_text(encoding="utf-8"))
    ]


def test_reliability_page_cites_tests() -> None:
    assert len([c for c in _cited_tests() if c[0] == "reliability.md"]) >= 40


@pytest.mark.parametrize(("page", "path", "name"), _cited_tests())
def test_every_cited_test_exists(page: str, path: str, name: str) -> None:
    source = DOCS.parent / path
    assert source.is_file(), f"{page} cites {path}, which does not exist"
    text = source.read_text(encoding="utf-8")
    assert re.search(rf"^(async )?def {name}\(", text, flags=re.MULTILINE), (
        f"{page} cites {path}::{name}, which does not exist"
    )
