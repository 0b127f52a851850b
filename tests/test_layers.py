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
