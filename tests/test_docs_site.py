"""The documentation site: every page in the nav exists, the strict build passes, and the
examples on the reader's pages run, in order, with the output they show."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLE_PAGES = sorted(
    [DOCS / "index.md", DOCS / "migrating.md", DOCS / "modes.md", *DOCS.glob("concepts/*.md")]
)

# A fenced block: its info string and its body. A ```python block directly followed (blank
# lines only) by a ```text block shows that text as its expected standard output.
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", flags=re.DOTALL | re.MULTILINE)


def _examples(page: Path) -> list[tuple[str, str | None]]:
    """The page's python blocks in order, each with the output block that follows it, if any."""
    text = page.read_text(encoding="utf-8")
    fences = list(_FENCE.finditer(text))
    found: list[tuple[str, str | None]] = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            after = fences[i + 1]
            if after.group(1) == "text" and not text[fence.end() : after.start()].strip():
                expected = after.group(2)
        found.append((fence.group(2), expected))
    return found


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run_in_order(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One real module per page, as if the reader pasted the blocks into one script: type hints
    # (a TypedDict state with Annotated reducers) resolve through sys.modules.
    module = types.ModuleType(f"docs_example_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for n, (code, expected) in enumerate(_examples(page)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page.name}:block{n}", "exec"), module.__dict__)
        if expected is not None:
            assert out.getvalue() == expected, f"{page.name} block {n} printed something else"


def test_example_pages_have_examples() -> None:
    for page in (DOCS / "index.md", DOCS / "migrating.md"):
        examples = _examples(page)
        assert examples, f"{page.name} has no python block"
        assert any(expected is not None for _, expected in examples), page.name


def test_index_shows_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    commands = [body for info, body in _FENCE.findall(readme)[:2] if info == "bash"]
    assert len(commands) == 2
    for command in commands:
        assert f"```bash\n{command}```" in index, command


def test_output_blocks_are_parsed() -> None:
    page = "```python\nprint(1)\n```\n\n```text\n1\n```\n\n```python\nx = 1\n```\n"
    fences = [(m.group(1), m.group(2)) for m in _FENCE.finditer(page)]
    assert fences == [("python", "print(1)\n"), ("text", "1\n"), ("python", "x = 1\n")]


def _nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    raise TypeError(f"unexpected nav entry {node!r}")


def test_every_nav_page_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert "index.md" in pages
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"pages in mkdocs.yml's nav but not in docs/: {missing}"


@pytest.mark.slow  # about 4 s here, a subprocess that renders every page and the API reference
def test_strict_build(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "index.html").is_file()
    reference = (tmp_path / "reference" / "parallel_nodes" / "index.html").read_text("utf-8")
    assert 'id="parallel_nodes.run_tier"' in reference
