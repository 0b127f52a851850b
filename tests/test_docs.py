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
