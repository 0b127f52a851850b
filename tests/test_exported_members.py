"""Each package's ``__all__`` lists exactly its public names, once each, named after the
public module users import them from (``parallel_nodes.Task``), so they pickle and read as such."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import pickle
import subprocess
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "package",
    [
        "parallel_nodes",
        "parallel_nodes.errors",
        "parallel_nodes.executors",
        "parallel_nodes.breakers",
        "parallel_nodes.diagnostics",
        "parallel_nodes.modes",
        "parallel_nodes.monitoring",
    ],
)
def test_all_is_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    for name in exported:  # the packages import lazily: resolve every name first
        getattr(module, name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType) and name != "annotations"
    }
    assert set(exported) == public
    assert len(set(exported)) == len(exported)


def test_core_surface_matches_the_issue() -> None:
    from parallel_nodes import (  # noqa: F401
        ParallelBaseWorkflow,
        Task,
        TaskStatus,
        Tier,
        parallel_node,
        run_tier,
    )


def test_the_breaker_types_in_public_signatures_are_exported() -> None:
    from parallel_nodes import breakers
    from parallel_nodes.breakers import BreakerSnapshot, BreakerStore, InMemoryBreakerStore

    assert {"BreakerSnapshot", "BreakerStore"} <= set(breakers.__all__)
    assert isinstance(InMemoryBreakerStore(), BreakerStore)
    assert BreakerSnapshot().consecutive_failures == 0


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("TaskTimeoutError", "import it from parallel_nodes.errors"),
        ("straggler_count", "import it from parallel_nodes.diagnostics"),
        ("set_default_observers", "import it from parallel_nodes.diagnostics"),
        ("ProcessExecutor", "import it from parallel_nodes.executors"),
        ("RedisBreakerStore", "import it from parallel_nodes.breakers"),
        ("TIER1_TASKS", "read ParallelBaseWorkflow.TIER1_TASKS"),
        ("HedgeState", "it is internal run state"),
        ("StrategyKind", "it is internal"),
    ],
)
def test_a_name_that_left_the_top_level_says_where_it_went(name: str, hint: str) -> None:
    import parallel_nodes

    assert name not in parallel_nodes.__all__
    with pytest.raises(AttributeError, match=hint):
        getattr(parallel_nodes, name)


def test_the_moved_names_are_where_the_error_says() -> None:
    from parallel_nodes import ParallelBaseWorkflow
    from parallel_nodes.diagnostics import get_default_observers, set_default_observers
    from parallel_nodes.errors import ParallelNodesError, TaskTimeoutError

    assert issubclass(TaskTimeoutError, ParallelNodesError)
    saved = get_default_observers()
    set_default_observers(())
    try:
        assert get_default_observers() == ()
    finally:
        set_default_observers(saved)
    assert ParallelBaseWorkflow.TIER1_TASKS == (
        "rag_retrieval",
        "tool_suggestion",
        "memory_retrieval",
    )


PUBLIC_MODULES = [
    "parallel_nodes",
    "parallel_nodes.errors",
    "parallel_nodes.executors",
    "parallel_nodes.breakers",
    "parallel_nodes.diagnostics",
]


@pytest.mark.parametrize("package", PUBLIC_MODULES)
def test_every_public_class_and_function_is_named_after_its_public_module(package: str) -> None:
    module = importlib.import_module(package)
    named = {
        name: getattr(module, name).__module__
        for name in module.__all__
        if inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name))
    }
    assert len(named) >= len(module.__all__) - 3  # ALL, FIRST_SUCCESS, RACE are instances
    assert named == dict.fromkeys(named, package)


_PRIVATE_FIRST = """\
import json, traceback
from parallel_nodes._errors import TaskTimeoutError  # never through the package
from parallel_nodes._results import TierResult
from parallel_nodes._engine import straggler_count
error = TaskTimeoutError(task="rag", tier="t", timeout=1.0, elapsed=1.0, attempt=1)
print(json.dumps({
    "modules": [TaskTimeoutError.__module__, TierResult.__module__, straggler_count.__module__],
    "repr": repr(TierResult),
    "traceback": traceback.format_exception_only(error)[0].split(":")[0],
}))
"""


def test_the_names_hold_however_a_name_is_reached() -> None:
    found = json.loads(_python(_PRIVATE_FIRST))
    assert found["modules"] == [
        "parallel_nodes.errors",
        "parallel_nodes",
        "parallel_nodes.diagnostics",
    ]
    assert found["repr"] == "<class 'parallel_nodes.TierResult'>"
    assert found["traceback"] == "parallel_nodes.errors.TaskTimeoutError"


def test_type_hints_still_resolve_on_the_renamed_classes() -> None:
    import pydantic

    import parallel_nodes
    from parallel_nodes import Hedge, ParallelConfig, TaskResult, TierResult

    failing = set()
    for name in parallel_nodes.__all__:
        value = getattr(parallel_nodes, name)
        if inspect.isclass(value):
            try:
                typing.get_type_hints(value)
            except NameError:
                failing.add(name)
    assert failing <= {"Task"}  # names it imports only for type checkers, as before the rename
    assert typing.get_type_hints(TierResult)["tasks"] == Mapping[str, TaskResult]
    assert pydantic.TypeAdapter(Hedge).validate_python(Hedge()) == Hedge()

    class WithDebug(ParallelConfig):
        debug: bool = False

    assert WithDebug(debug=True, tier1_timeout=1).tier1_timeout == 1.0


def _errors() -> list[BaseException]:
    from parallel_nodes import errors

    timeout = errors.TaskTimeoutError(
        task="rag", tier="retrieval", timeout=1.0, elapsed=1.2, attempt=2, deadline="tier"
    )
    timeout.add_note("the event loop was blocked")
    return [
        errors.ParallelNodesError("plain"),
        errors.ConfigError("timeout", "must be more than 0 seconds"),
        timeout,
        errors.InvalidOutputError(task="rag", expected=list, got=dict),
        errors.UnserializableOutputError(task="rag", key="docs", got=object, reason="no"),
        errors.CircuitOpenError(breaker="search", retry_after=3.0),
        errors.ExecutorError(task="rag", executor="process", message="does not pickle"),
    ]


def test_every_error_survives_a_pickle_round_trip() -> None:
    from parallel_nodes import errors

    made = _errors()
    assert {type(e).__name__ for e in made} == set(errors.__all__)
    for error in made:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert str(back) == str(error)
        assert vars(back) == vars(error)  # the attributes, and the notes


_LOAD = """\
import pickle, sys
result = pickle.loads(sys.stdin.buffer.read())
error = result.tasks["slow"].error
print(type(result).__module__, result.tasks["slow"].status.value, type(error).__name__,
      error.task, result.tasks["fast"].value)
"""


def test_a_tier_result_with_errors_loads_in_a_fresh_interpreter() -> None:
    from parallel_nodes import Task, Tier, run_tier

    async def slow(state: Any) -> int:
        await asyncio.sleep(10)
        return 0

    tier = Tier(
        "t",
        [Task("fast", lambda s: 1, timeout=1.0), Task("slow", slow, timeout=0.01, default=0)],
        timeout=1.0,
    )
    result = asyncio.run(run_tier(tier, {}, observers=()))
    assert _python(_LOAD, stdin=pickle.dumps(result)).split() == [
        "parallel_nodes",
        "timeout",
        "TaskTimeoutError",
        "slow",
        "1",
    ]


def _python(code: str, stdin: bytes = b"") -> str:
    """Run ``code`` in a fresh interpreter on this checkout; its standard output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PARALLEL_NODES_METRICS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


_FAKE_INIT = """\
from parallel_nodes._lazy import lazy_exports, name_public
__all__ = ["Thing"]
_WHERE = {"Thing": "_impl", "Gone": "_impl"}
__getattr__, __dir__ = lazy_exports(globals(), {"Thing": "_impl"})
name_public(globals(), {"fakepkg": _WHERE})
"""


def test_a_table_naming_a_name_its_module_lacks_fails_the_import_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fakepkg"
    package.mkdir()
    (package / "__init__.py").write_text(_FAKE_INIT, encoding="utf-8")
    (package / "_impl.py").write_text("class Thing:\n    pass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ImportError, match=r"fakepkg\._impl no longer defines 'Gone'"):
            importlib.import_module("fakepkg._impl")
    finally:
        sys.modules.pop("fakepkg._impl", None)
        sys.modules.pop("fakepkg", None)


_ENGINE_FILES = sorted(
    str(path.relative_to(ROOT))
    for path in [*(ROOT / "parallel_nodes").glob("*.py"), ROOT / "monitoring" / "_collector.py"]
    if ">>> " in path.read_text(encoding="utf-8")
)


def test_the_docstring_examples_of_the_engine_stay_true() -> None:
    # pytest's doctest collector, in a child: it finds the examples of classes whose
    # __module__ names the public module (doctest.testmod skips them as "not defined here").
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--doctest-modules",
            *_ENGINE_FILES,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout
    assert len(_ENGINE_FILES) > 20
