"""The package's shape: no import cycle among our own modules, and no module over 500 lines.

An import cycle is found by reading the source, not by importing it: every module under
``parallel_nodes/``, ``modes/`` and ``monitoring/`` is parsed with :mod:`ast`, and every import
of one of our own modules counts, wherever it is written (a function body too, since "import it
inside the function" is how a cycle usually hides), except under ``if TYPE_CHECKING:``, which
never runs. ``from parallel_nodes import Task`` counts as an import of the module that defines
``Task``, read from the package's lazy ``_WHERE`` map, because that is what runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Where each package's source lives in the checkout; ``parallel_nodes/modes`` and
# ``parallel_nodes/monitoring`` are symlinks to the last two, so those are skipped below.
PACKAGES = {
    "parallel_nodes": ROOT / "parallel_nodes",
    "parallel_nodes.modes": ROOT / "modes",
    "parallel_nodes.monitoring": ROOT / "monitoring",
}

MAX_LINES = 500


def source_files() -> dict[str, Path]:
    """Each of our modules by dotted name, mapped to its file."""
    files: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            if any((folder / part).is_symlink() for part in relative.parts[:1]):
                continue
            parts = [package, *relative.with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id in ("TYPE_CHECKING", "_TYPE_CHECKING")
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: in any block, skipping ``if TYPE_CHECKING:``."""
    if isinstance(tree, ast.If) and _is_type_checking(tree.test):
        for node in tree.orelse:
            yield from _runtime_imports(node)
        return
    if isinstance(tree, ast.Import | ast.ImportFrom):
        yield tree
    for child in ast.iter_child_nodes(tree):
        yield from _runtime_imports(child)


def lazy_names(tree: ast.Module) -> dict[str, str]:
    """A package's ``_WHERE = {"Name": "_module"}`` map, or an empty one."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_WHERE" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {
                ast.literal_eval(k): ast.literal_eval(v)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if k is not None
            }
    return {}


def import_graph(trees: Mapping[str, ast.Module], packages: Iterable[str]) -> dict[str, set[str]]:
    """Which of our modules each module imports at run time.

    Args:
        trees: Each module's parsed source, by dotted name.
        packages: The names in ``trees`` that are packages (their relative imports resolve
            against themselves rather than their parent).
    """
    packages = set(packages)
    lazy = {name: f"{name}." for name in packages}
    where = {name: lazy_names(trees[name]) for name in packages}

    def target(module: str, name: str | None) -> str | None:
        if name is not None:
            if f"{module}.{name}" in trees:
                return f"{module}.{name}"
            if name in where.get(module, {}):
                return lazy[module] + where[module][name]
        while module and module not in trees:
            module = module.rpartition(".")[0]
        return module or None

    graph: dict[str, set[str]] = {}
    for module, tree in trees.items():
        here = module if module in packages else module.rpartition(".")[0]
        edges: set[str] = set()
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                found = [target(alias.name, None) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{anchor}.{base}" if base else anchor
                found = [target(base, alias.name) for alias in node.names]
            edges.update(t for t in found if t is not None and t != module)
        graph[module] = edges
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or ``None`` when the graph is acyclic."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif step in on_path:
                return [*path[path.index(step) :], step]
            elif step not in done:
                path.append(step)
                on_path.add(step)
                stack.append(iter(sorted(graph.get(step, ()))))
    return None


def parse_all() -> tuple[dict[str, ast.Module], set[str]]:
    files = source_files()
    trees = {name: ast.parse(path.read_text(), str(path)) for name, path in files.items()}
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    return trees, packages


# --- the finder itself can fail --------------------------------------------------------------


def test_find_cycle_reports_the_loop_it_walked() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_find_cycle_accepts_a_diamond() -> None:
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None


def test_find_cycle_sees_a_loop_reached_late() -> None:
    graph = {"a": {"b"}, "b": set(), "x": {"y"}, "y": {"z"}, "z": {"y"}}
    assert find_cycle(graph) == ["y", "z", "y"]


def _graph_of(sources: Mapping[str, str]) -> dict[str, set[str]]:
    trees = {name: ast.parse(text) for name, text in sources.items()}
    return import_graph(trees, packages={"pkg"})


def test_an_import_inside_a_function_counts() -> None:
    graph = _graph_of(
        {
            "pkg": "",
            "pkg._a": "from ._b import helper\n",
            "pkg._b": "def helper():\n    from ._a import thing\n    return thing\n",
        }
    )
    assert find_cycle(graph) == ["pkg._a", "pkg._b", "pkg._a"]


def test_an_import_under_type_checking_does_not_count() -> None:
    graph = _graph_of(
        {
            "pkg": "",
            "pkg._a": "from ._b import helper\n",
            "pkg._b": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from ._a import Thing\n"
                "else:\n    import json\n"
            ),
        }
    )
    assert graph["pkg._b"] == set()
    assert find_cycle(graph) is None


def test_a_lazy_package_name_counts_as_its_module() -> None:
    graph = _graph_of(
        {
            "pkg": '_WHERE = {"Task": "_task"}\n',
            "pkg._task": "from pkg._hedge import Hedge\n",
            "pkg._hedge": "from pkg import Task\n",
        }
    )
    assert graph["pkg._hedge"] == {"pkg._task"}
    assert find_cycle(graph) == ["pkg._hedge", "pkg._task", "pkg._hedge"]


def test_relative_imports_resolve_from_subpackages() -> None:
    trees = {
        name: ast.parse(text)
        for name, text in {
            "pkg": "",
            "pkg.sub": "from ._x import y\n",
            "pkg.sub._x": "from .. import _top\nfrom .._top import z\n",
            "pkg._top": "",
        }.items()
    }
    graph = import_graph(trees, packages={"pkg", "pkg.sub"})
    assert graph == {
        "pkg": set(),
        "pkg.sub": {"pkg.sub._x"},
        "pkg.sub._x": {"pkg._top"},
        "pkg._top": set(),
    }


# --- the package ------------------------------------------------------------------------------


def test_the_parser_sees_every_package_and_real_imports() -> None:
    trees, packages = parse_all()
    assert packages == set(PACKAGES)
    graph = import_graph(trees, packages)
    # Spot checks that the graph is the real one, so an empty graph cannot pass as acyclic:
    # a top-level import, one written inside a method, and a name read through the lazy map.
    assert "parallel_nodes._errors" in graph["parallel_nodes._tier"]
    assert "parallel_nodes._remote" in graph["parallel_nodes._executors"]
    assert "parallel_nodes._breaker" in graph["parallel_nodes.monitoring._collector"]


# The one import allowed to close a loop, and why: the default engine loads our own metrics
# package on its first run (issue 12: default metrics, found by a package-relative import, never
# by a bare name), and the metrics package reads engines. Written inside a function so that
# importing parallel_nodes registers no metrics; every other edge must keep the graph acyclic.
LAZY_PLUGIN_EDGES = {("parallel_nodes._engine", "parallel_nodes.monitoring")}


def test_no_import_cycle() -> None:
    trees, packages = parse_all()
    graph = import_graph(trees, packages)
    for importer, imported in LAZY_PLUGIN_EDGES:
        assert imported in graph[importer], f"stale allowance: {importer} -> {imported}"
        graph[importer].discard(imported)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def long_modules(files: Mapping[str, Path], limit: int) -> dict[str, int]:
    """Modules over ``limit`` lines, with their line counts."""
    counts = {name: len(path.read_text().splitlines()) for name, path in files.items()}
    return {name: n for name, n in sorted(counts.items()) if n > limit}


def test_long_modules_finds_a_long_file(tmp_path: Path) -> None:
    short, long = tmp_path / "short.py", tmp_path / "long.py"
    short.write_text("x = 1\n" * 3)
    long.write_text("x = 1\n" * 4)
    assert long_modules({"short": short, "long": long}, limit=3) == {"long": 4}


@pytest.mark.parametrize("name", sorted(source_files()))
def test_module_is_short(name: str) -> None:
    too_long = long_modules({name: source_files()[name]}, MAX_LINES)
    assert not too_long, (
        f"{name} has {too_long.get(name)} lines, over {MAX_LINES}: split it by responsibility"
    )
