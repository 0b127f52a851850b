"""pytest plugin: run LangGraph's own test suite with its nodes routed through our engine.

Load it with ``-p pn_gate_plugin`` and this folder on ``PYTHONPATH`` (LangGraph's tests are a
package named ``tests`` too, so the plugin is imported by its bare module name). It patches
``StateGraph.add_node`` so that every plain-function node (a sync or async function or bound
method; never a Runnable, a compiled graph, a ``partial`` or a generator) goes through the engine.
``PN_GATE_MODE`` chooses how:

- ``plain``: nothing is patched; the baseline.
- ``run_tier``: the node becomes the single task of a tier run by ``run_tier``; the wrapper returns
  the task's value and re-raises its error. The wrapper keeps the node's name and signature as
  LangGraph sees them (``functools.wraps``), so LangGraph injects the same ``config``, ``writer``,
  ``store`` and ``runtime``; the wrapper drops those and passes the runtime to ``run_tier``, so the
  *engine* has to inject what the function asks for, as a user's task would need it to.
- ``parallel_node``: the node becomes ``parallel_node(Tier(name, [Task(name, fn,
  returns="update")]))``, added to the graph as it is.

Tiers get a deadline no test can reach, no retries, no default, no ``stream_events`` (the
default: a user's moved node streams only its own events), ``on_error="raise"`` for the update
form (the node's error fails, retries or is handled as LangGraph would), and no observer but
one that notes degraded tasks (no metrics), so nothing of ours changes what a test sees but the
route.
``PN_GATE_REPORT`` names a JSON file that receives every test's outcome (the driver,
``compare.py``, reads it).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import pytest

from parallel_nodes import TaskResult, TierResult

MODES = ("plain", "run_tier", "parallel_node")
MODE_ENV = "PN_GATE_MODE"
REPORT_ENV = "PN_GATE_REPORT"
# Seconds. Finite because the engine refuses an infinite timeout; large enough that no timer of
# ours ever fires during a test, so a slow test on a busy CI machine is never cut short by us.
HUGE_TIMEOUT = 1e9
_COLLECTION = "<collection>"  # graphs built at import time are counted here

_state: dict[str, Any] = {"current": _COLLECTION, "routed": {}, "outcomes": {}, "degraded": {}}


class DegradedTasks:
    """An observer that notes, against the running test, every task that degraded in a tier.

    A test that fails through ``parallel_node`` often fails on a wrong value, long after the
    cause: the tier absorbed the node's error and gave the task its default. This says so.
    It only reads results, so it changes nothing a test sees (and exports no metrics).
    """

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        if not result.degraded:
            return
        error = result.error
        text = result.status.value
        if error is not None:
            text += f" {type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"
        notes: list[str] = _state["degraded"].setdefault(_state["current"], [])
        if len(notes) < 5:
            notes.append(text)

    def on_tier_finished(self, result: TierResult) -> None:
        pass


OBSERVERS = (DegradedTasks(),)


def gate_mode() -> str:
    """The route chosen by ``PN_GATE_MODE`` (``plain`` when unset)."""
    mode = os.environ.get(MODE_ENV, "plain").strip() or "plain"
    if mode not in MODES:
        raise pytest.UsageError(f"{MODE_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def parallel_node_update_available() -> bool:
    """Whether ``Task`` takes ``returns=`` (the "update" form that ``parallel_node`` mode needs)."""
    from parallel_nodes import Task

    return "returns" in inspect.signature(Task).parameters


def tier_name(node: str) -> str:
    """A tier name the engine accepts (an identifier) for a LangGraph node name."""
    name = re.sub(r"\W", "_", node)
    return name if name.isidentifier() else f"n_{name}"


def task_name(node: str) -> str:
    """The single task's name: not the node's, since each task is a LangChain child run of
    its own, and tests that pick the node's run out of ``astream_events`` by name would also
    pick the task's."""
    return f"{tier_name(node)}_task"


def routable(action: object) -> bool:
    """Whether ``add_node`` was given a plain function (sync or async), which the gate reroutes."""
    if not (inspect.isfunction(action) or inspect.ismethod(action)):
        return False
    return not (inspect.isgeneratorfunction(action) or inspect.isasyncgenfunction(action))


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn)


def _runtime_of(kwargs: dict[str, Any]) -> Any:
    """LangGraph's runtime for this node run: injected by name, or read from the config."""
    if "runtime" in kwargs:
        return kwargs["runtime"]
    from langgraph.runtime import get_runtime

    try:
        return get_runtime()
    except RuntimeError:  # called outside a graph run (a test calling the function directly)
        return None


def _run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion from a sync node, in this thread's context.

    A fresh loop per call, not ``asyncio.run``: that would also reset this thread's current
    event loop, which a sync test may still rely on. When a loop already runs in this thread
    (a sync graph called from an async test), the coroutine runs on a fresh thread instead,
    in a copy of this context so LangGraph's config is still visible.
    """

    def run() -> Any:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = ctx.run(run)
        except BaseException as exc:  # re-raised in the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="pn-gate-sync-node")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def through_run_tier(node: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as the single task of a tier: returns its value, re-raises its error."""
    from parallel_nodes import Task, TaskStatus, Tier, run_tier

    name = task_name(node)
    tier = Tier(tier_name(node), [Task(name, fn, timeout=HUGE_TIMEOUT)], timeout=HUGE_TIMEOUT)

    async def run(state: Any, runtime: Any) -> Any:
        result = await run_tier(tier, state, runtime, observers=OBSERVERS)
        task = result.tasks[name]
        if task.status is TaskStatus.OK:
            return task.value
        if task.error is not None:
            raise task.error
        if task.status is TaskStatus.CANCELLED:  # the node raised CancelledError itself
            raise asyncio.CancelledError(f"task {name!r} was cancelled")
        raise RuntimeError(f"task {name!r} ended {task.status.value} without an error")

    if _is_async(fn):

        @functools.wraps(fn)
        async def anode(state: Any, *args: Any, **kwargs: Any) -> Any:
            return await run(state, _runtime_of(kwargs))

        return _transparent(anode, fn)

    @functools.wraps(fn)
    def node_fn(state: Any, *args: Any, **kwargs: Any) -> Any:
        return _run_coroutine(run(state, _runtime_of(kwargs)))

    return _transparent(node_fn, fn)


def _transparent(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    """Let LangGraph look through ``wrapper`` exactly as it looks at ``fn``.

    LangGraph's subgraph detection unwraps one ``__wrapped__`` level. When ``fn`` is itself a
    decorated function, pointing past it keeps the gate's own layer out of what LangGraph sees
    (the signature and type hints unwrap fully either way).
    """
    inner = getattr(fn, "__wrapped__", None)
    if callable(inner):
        wrapper.__wrapped__ = inner  # type: ignore[attr-defined]
    return wrapper


def through_parallel_node(node: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a one-task tier in ``parallel_node``'s update form, added as it comes."""
    from parallel_nodes import Task, Tier, parallel_node

    make_task: Callable[..., Any] = Task  # ``returns=`` is newer than the type checker's Task
    task = make_task(task_name(node), fn, timeout=HUGE_TIMEOUT, returns="update", on_error="raise")
    return parallel_node(
        Tier(tier_name(node), [task], timeout=HUGE_TIMEOUT), meta_key=None, observers=OBSERVERS
    )


_ROUTES: dict[str, Callable[[str, Callable[..., Any]], Callable[..., Any]]] = {
    "run_tier": through_run_tier,
    "parallel_node": through_parallel_node,
}


def patched_add_node(
    original: Callable[..., Any], route: Callable[[str, Callable[..., Any]], Callable[..., Any]]
) -> Callable[..., Any]:
    """``StateGraph.add_node`` that reroutes plain-function nodes and counts them per test."""

    @functools.wraps(original)
    def add_node(self: Any, node: Any, action: Any = None, **kwargs: Any) -> Any:
        if action is None and not isinstance(node, str):  # add_node(fn): named as LangGraph does
            name = getattr(node, "name", getattr(node, "__name__", None))
            if isinstance(name, str) and routable(node):
                node, action = name, node
        if isinstance(node, str) and routable(action):
            action = route(node, action)
            routed: dict[str, int] = _state["routed"]
            routed[_state["current"]] = routed.get(_state["current"], 0) + 1
        return original(self, node, action, **kwargs)

    return add_node


_patch = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    mode = gate_mode()
    _state["mode"] = mode
    _state["started"] = time.monotonic()
    os.environ.setdefault("PARALLEL_NODES_METRICS", "0")
    if mode == "plain":
        return
    if mode == "parallel_node" and not parallel_node_update_available():
        raise pytest.UsageError(
            "PN_GATE_MODE=parallel_node needs Task(..., returns='update'), which this "
            "parallel_nodes does not have yet"
        )
    from langgraph.graph import StateGraph

    _patch.setattr(StateGraph, "add_node", patched_add_node(StateGraph.add_node, _ROUTES[mode]))


def pytest_unconfigure(config: pytest.Config) -> None:
    _patch.undo()


def _progress(line: str) -> None:
    """Append a line to ``<report>.progress``: the driver's evidence that the run moves on,
    and where it stopped if a test hangs past pytest-timeout (a deadlock in the interpreter's
    own locks, which no signal reaches)."""
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(f"{path}.progress", "a", encoding="utf-8") as f:
            f.write(line + "\n")


def pytest_runtest_setup(item: pytest.Item) -> None:
    _state["current"] = item.nodeid
    _progress(json.dumps({"started": item.nodeid}))


def _summary(report: pytest.TestReport) -> str:
    """The failure's crash line, ``ExcType: message`` at ``file:line``, for grouping by cause."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        message = str(crash.message).strip()
        where = f"{os.path.basename(str(crash.path))}:{crash.lineno}"
        return f"{message[:600]} @ {where}"
    return str(report.longrepr).strip()[-600:]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcomes: dict[str, dict[str, Any]] = _state["outcomes"]
    record = outcomes.setdefault(report.nodeid, {"outcome": "passed"})
    if hasattr(report, "wasxfail"):
        record["outcome"] = "xfailed" if report.skipped else "xpassed"
    elif report.failed:
        if record["outcome"] != "failed":  # keep the first failure (a teardown follows a call)
            record.update(outcome="failed", phase=report.when, error=_summary(report))
    elif report.skipped and record["outcome"] == "passed":
        record["outcome"] = "skipped"
    record["seconds"] = round(record.get("seconds", 0.0) + report.duration, 3)  # all phases
    if report.when == "teardown":
        _progress(json.dumps({"finished": report.nodeid, **record}))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    routed: dict[str, int] = _state["routed"]
    outcomes: dict[str, dict[str, Any]] = _state["outcomes"]
    degraded: dict[str, list[str]] = _state["degraded"]
    for nodeid, record in outcomes.items():
        record["routed"] = routed.get(nodeid, 0)
        if nodeid in degraded:
            record["degraded"] = degraded[nodeid]
    from importlib.metadata import version

    data = {
        "mode": _state.get("mode", "plain"),
        "langgraph": version("langgraph"),
        "seconds": round(time.monotonic() - _state.get("started", time.monotonic()), 1),
        "exitstatus": int(exitstatus),
        "routed_at_collection": routed.get(_COLLECTION, 0),
        "tests": outcomes,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
