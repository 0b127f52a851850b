"""The ``parallel-nodes`` console script's check for its extra (``parallel_nodes._entry``)."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import pytest

from parallel_nodes import _entry

_real_find_spec = importlib.util.find_spec


def _without(*missing: str) -> object:
    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        if name in missing:
            return None
        if any(name.startswith(f"{m}.") for m in missing):
            raise ModuleNotFoundError(f"No module named {name.rsplit('.', 1)[0]!r}")
        return _real_find_spec(name, package)

    return find_spec


def test_with_every_cli_module_installed_nothing_is_missing() -> None:
    assert _entry.missing_cli_module() is None


def test_a_missing_module_prints_one_line_naming_the_extra_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", _without("bm25s"))
    with pytest.raises(SystemExit) as exit_info:
        _entry.main()
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "'bm25s'" in err
    assert "pip install 'langgraph-parallel-nodes[cli]'" in err


def test_a_missing_parent_package_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", _without("langgraph.checkpoint"))
    assert _entry.missing_cli_module() == "langgraph.checkpoint.sqlite"


def test_the_console_script_and_python_m_use_the_entry() -> None:
    import tomllib

    from tests.packaging._venv import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"parallel-nodes": "parallel_nodes._entry:main"}
    main_py = (REPO / "modes" / "__main__.py").read_text(encoding="utf-8")
    assert "from parallel_nodes._entry import main" in main_py
