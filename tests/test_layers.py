"""The kernel imports nothing from the template, so it can be read and reused without it.

The template is ``ParallelBaseWorkflow`` with its config, its six RAG task names and
``WorkflowState``; the kernel is everything else the package runs on (tasks, tiers, the
scheduler, the node, strategies, breakers, executors) and the metrics package it loads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import parallel_nodes

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = frozenset({"parallel_nodes._workflow", "parallel_nodes._workflow_config"})
"""Every template module, listed by hand: a new one must be added here on purpose."""

APPLICATIONS = ("parallel_nodes.modes",)
"""Built on the template; the kernel must not reach them either."""

NOT_KERNEL = TEMPLATE | {
    "parallel_nodes",  # the public surface, which re-exports the template's names
    "parallel_nodes._entry",  # the console script, which starts the modes' command line
}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in (
        ("parallel_nodes", ROOT / "parallel_nodes"),
        ("parallel_nodes.monitoring", ROOT / "monitoring"),
    ):
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every module ``module`` imports, anywhere in its file (functions, type-checking blocks),
    with a public name of the package counted as the private module that defines it."""
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield source
            for alias in node.names:
                if source == "parallel_nodes" and alias.name in parallel_nodes._WHERE:
                    yield f"parallel_nodes.{parallel_nodes._WHERE[alias.name]}"
                else:
                    yield f"{source}.{alias.name}"  # the name may be a submodule


KERNEL = sorted(set(_modules()) - NOT_KERNEL)


def test_the_kernel_and_template_lists_name_real_modules() -> None:
    assert set(_modules()) >= NOT_KERNEL
    assert {"parallel_nodes._run", "parallel_nodes._task", "parallel_nodes._tier"} <= set(KERNEL)
    assert "parallel_nodes.monitoring._observer" in KERNEL


def test_the_template_is_seen_importing_the_kernel() -> None:
    """The scan finds imports at all: the template is built on the kernel."""
    seen = set(_imports("parallel_nodes._workflow", _modules()["parallel_nodes._workflow"]))
    assert {"parallel_nodes._run", "parallel_nodes._workflow_config"} <= seen


@pytest.mark.parametrize("module", KERNEL)
def test_a_kernel_module_imports_nothing_from_the_template(module: str) -> None:
    imported = set(_imports(module, _modules()[module]))
    assert not imported & TEMPLATE, f"{module} imports the template: {imported & TEMPLATE}"
    reached = sorted(m for m in imported if m.startswith(APPLICATIONS))
    assert not reached, f"{module} imports an application: {reached}"


MODE_SHIMS = frozenset(
    {
        ("parallel_nodes._run", "run_tier"),
        ("parallel_nodes._node", "parallel_node"),
        ("parallel_nodes._results", "TierResult.mode"),
    }
)
"""Where the kernel may still say ``mode``: the deprecated ``mode=`` and ``TierResult.mode``.
Everything else they need lives in ``_deprecated``, which exists to know that one key."""

ENGINE = [
    m for m in KERNEL if m.startswith("parallel_nodes._") and m != "parallel_nodes._deprecated"
]
"""The engine's own modules: the kernel less the metrics package, whose ``mode`` label is
its business, and the deprecation shims."""


def _mode_mentions(tree: ast.AST, scope: str = "") -> Iterator[tuple[str, int]]:
    """``(scope, line)`` of each ``mode`` used as a name: a parameter, variable, attribute,
    keyword argument or string key (``__slots__``, a dict), never inside prose."""
    for node in ast.iter_child_nodes(tree):
        inner = scope
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = f"{scope}.{node.name}" if scope else node.name
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "mode":
                yield inner, node.lineno
        named = (
            (isinstance(node, ast.arg) and node.arg == "mode")
            or (isinstance(node, ast.Name) and node.id == "mode")
            or (isinstance(node, ast.Attribute) and node.attr == "mode")
            or (isinstance(node, ast.keyword) and node.arg == "mode")
            or (isinstance(node, ast.Constant) and node.value == "mode")
        )
        if named:
            yield scope, getattr(node, "lineno", 0)
        yield from _mode_mentions(node, inner)


def test_the_mode_scan_finds_a_mode_where_one_is() -> None:
    tree = ast.parse("class A:\n    __slots__ = ('mode',)\n    def f(self, mode): self.mode = 1\n")
    assert [line for _, line in _mode_mentions(tree)] == [2, 3, 3]


@pytest.mark.parametrize("module", ENGINE)
def test_the_engine_never_names_a_mode_outside_the_deprecation_shims(module: str) -> None:
    """Issue 14: a mode is the template's metrics label; the engine carries opaque metadata."""
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    found = [
        f"{scope or '<module>'}:{line}"
        for scope, line in _mode_mentions(tree)
        if (module, scope) not in MODE_SHIMS
    ]
    assert not found, f"{module} names a mode outside the shims: {found}; use run metadata"
