"""The gate's plumbing: the node wrapper is invisible to LangGraph, the comparison is fair."""

from __future__ import annotations

import inspect
import json
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from tests.langgraph_gate import compare, pn_gate_plugin


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def _graph(node: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("step-1", pn_gate_plugin.through_run_tier("step-1", node))
    builder.add_edge(START, "step-1")
    builder.add_edge("step-1", END)
    return builder.compile()


def test_the_wrapper_shows_langgraph_the_node_s_own_name_and_signature() -> None:
    def node(state: State, config: RunnableConfig) -> dict[str, Any]:
        return {}

    wrapped = pn_gate_plugin.through_run_tier("a node", node)
    assert wrapped.__name__ == "node"
    assert inspect.signature(wrapped) == inspect.signature(node)
    assert not inspect.iscoroutinefunction(wrapped)


def test_a_sync_node_runs_through_the_engine_under_invoke() -> None:
    def node(state: State) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["sync"]}

    assert _graph(node).invoke({"x": 1, "log": []}) == {"x": 2, "log": ["sync"]}


async def test_an_async_node_runs_through_the_engine_under_ainvoke() -> None:
    async def node(state: State) -> dict[str, Any]:
        return {"x": state["x"] * 10, "log": ["async"]}

    assert await _graph(node).ainvoke({"x": 2, "log": []}) == {"x": 20, "log": ["async"]}


async def test_a_sync_graph_called_from_a_running_loop_still_runs_the_tier() -> None:
    def node(state: State) -> dict[str, Any]:
        return {"x": 5, "log": []}

    assert _graph(node).invoke({"x": 0, "log": []})["x"] == 5


def test_the_node_s_own_error_surfaces_unchanged() -> None:
    class Boom(Exception):
        pass

    def node(state: State) -> dict[str, Any]:
        raise Boom("from the node")

    with pytest.raises(Boom, match="from the node"):
        _graph(node).invoke({"x": 0, "log": []})


def test_only_plain_functions_are_rerouted() -> None:
    def gen(state: State) -> Any:
        yield {}

    assert pn_gate_plugin.routable(lambda s: s)
    assert pn_gate_plugin.routable(_graph)
    assert not pn_gate_plugin.routable(gen)
    assert not pn_gate_plugin.routable(_graph(lambda s: s))
    assert pn_gate_plugin.tier_name("1st node-a") == "n_1st_node_a"
    assert pn_gate_plugin.task_name("1st node-a") == "n_1st_node_a_task"


def _run(mode: str, outcomes: dict[str, str], errors: dict[str, str] | None = None) -> Any:
    tests = {t: {"outcome": o, "error": (errors or {}).get(t, "")} for t, o in outcomes.items()}
    return compare.ModeRun(mode=mode, seconds=1.0, tests=tests)


def test_only_tests_that_pass_plainly_count_and_causes_are_grouped() -> None:
    plain = _run("plain", {"a": "passed", "b": "passed", "c": "failed", "d": "passed"})
    engine = _run(
        "run_tier",
        {"a": "failed", "b": "failed", "c": "failed"},
        {
            "a": "TypeError: state: expected a mapping such as the graph state dict, got S",
            "b": "TypeError: node() takes 1 positional argument but 2 were given",
        },
    )
    result = compare.compare(plain, engine, {("run_tier", "b"): "why not"})
    assert result.baseline == 3
    assert sorted(result.broken) == ["a", "b", "d"]  # c fails plainly; d went missing
    assert sorted(result.unexcused) == ["a", "d"]
    causes = result.by_cause()
    assert [len(v) for v in causes.values()] == [1, 1, 1]
    assert any(label.startswith("state is not a mapping") for label in causes)
    assert any(label.startswith("runtime injected by arity") for label in causes)
    assert compare.cause_of("t", "assert 1 == 2\ndegraded: error ValueError: boom").startswith(
        "the tier absorbed the node's failure: task degraded (error ValueError)"
    )


def test_a_known_failure_needs_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "known.txt"
    path.write_text("# comment\nrun_tier tests/test_x.py::test_y  # the engine cannot\n")
    assert compare.read_known_failures(path) == {
        ("run_tier", "tests/test_x.py::test_y"): "the engine cannot"
    }
    path.write_text("run_tier tests/test_x.py::test_y\n")
    with pytest.raises(SystemExit, match="reason"):
        compare.read_known_failures(path)


def test_the_known_failures_file_parses() -> None:
    compare.read_known_failures(compare.KNOWN_FAILURES)


def test_a_test_that_passes_when_rerun_alone_is_flaky_not_broken() -> None:
    plain = _run("plain", {"a": "passed", "b": "passed"})
    engine = _run("run_tier", {"a": "failed", "b": "failed"}, {"a": "slow", "b": "slow"})
    rerun = _run("run_tier", {"a": "passed", "b": "failed"}, {"b": "slow"})
    result = compare.compare(plain, engine, {}, rerun)
    assert list(result.broken) == ["b"]
    assert list(result.flaky) == ["a"]


_HANGS = """
import threading
import time


def test_first():
    pass


def test_hangs_where_no_timeout_reaches():
    time.sleep(600)


def test_leaves_a_thread_that_holds_the_exit():
    threading.Thread(target=threading.Event().wait).start()  # not a daemon: exit joins it


def test_last():
    pass
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_run_that_stalls_in_a_test_or_at_exit_keeps_every_finished_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver kills a stalled pytest and resumes after the hung test; a run that stalls
    after its last test (at exit, joining a thread a test left) keeps every record it wrote."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_stalls.py").write_text(_HANGS, encoding="utf-8")
    # Long enough for pytest to start on a loaded machine, short enough for a test.
    monkeypatch.setattr(compare, "STALL_SECONDS", 10.0)
    monkeypatch.setattr(compare, "TEST_TIMEOUT", 900)  # so only the stall detector ends it
    # no:phoenix: our dev install's Phoenix plugin takes longer to import than the stall window.
    extra = ["-p", "no:phoenix"]
    report = compare.run_mode("plain", suite, ["test_stalls.py"], tmp_path, extra, tag="stall")
    tests = json.loads(report.read_text(encoding="utf-8"))["tests"]
    outcomes = {test.split("::")[-1]: record["outcome"] for test, record in tests.items()}
    assert outcomes == {
        "test_first": "passed",
        "test_hangs_where_no_timeout_reaches": "failed",
        "test_leaves_a_thread_that_holds_the_exit": "passed",
        "test_last": "passed",
    }
    hung = tests["test_stalls.py::test_hangs_where_no_timeout_reaches"]
    assert hung["error"].startswith("hung: no progress")
