"""Tasks on a real process pool, a local Ray instance and an in-process Dask cluster, each
through a compiled LangGraph graph: values come back, deadlines hold, and stuck work is
stopped (processes, Ray) or recorded as abandoned (Dask)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph

from parallel_nodes import ParallelState, Task, Tier, parallel_node
from parallel_nodes.errors import ExecutorError
from tests import _workloads
from tests.conftest import RecordingObserver, need


class State(ParallelState, total=False):
    seconds: float
    path: str
    x: int
    a: Any
    b: Any
    c: Any


def graph(*tasks: Task, timeout: float, observers: tuple[Any, ...] = ()) -> Any:
    builder = StateGraph(State)
    tier = Tier("t", list(tasks), timeout=timeout)
    builder.add_node("fanout", parallel_node(tier, observers=observers))
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    return builder.compile()


def record(out: dict[str, Any]) -> dict[str, Any]:
    tasks: dict[str, Any] = out["parallel"]["t"]["tasks"]
    return tasks


# --- processes -----------------------------------------------------------------------------


@pytest.fixture
def pool() -> Iterator[Any]:
    need("pebble")
    from parallel_nodes._remote import ProcessExecutor

    executor = ProcessExecutor(max_workers=2)
    executor.warm_up()
    try:
        yield executor
    finally:
        executor.close()


@pytest.mark.slow
async def test_cpu_bound_tasks_run_in_worker_processes_not_in_ours(pool: Any) -> None:
    import os

    tasks = [Task(n, _workloads.burn, timeout=20.0, executor=pool) for n in ("a", "b", "c")]
    out = await graph(*tasks, timeout=20.0).ainvoke({"seconds": 0.1})
    pids = {out[n] for n in ("a", "b", "c")}
    assert os.getpid() not in pids
    assert len(pids) == 2  # both workers took a share: the tasks really ran side by side


@pytest.mark.slow
async def test_a_process_stuck_forever_is_killed_at_the_deadline_and_replaced(pool: Any) -> None:
    import psutil

    me = psutil.Process()
    workers_before = {p.pid for p in me.children(recursive=True)}
    deadline = 0.3
    t0 = time.perf_counter()
    out = await graph(
        Task("a", _workloads.stuck, timeout=20.0, executor=pool, default="fallback"),
        timeout=deadline,
    ).ainvoke({})
    wall = time.perf_counter() - t0
    assert out["a"] == "fallback"
    assert record(out)["a"]["status"] == "timeout"
    assert wall / deadline < 2.0
    for _ in range(50):  # the pool notices the kill and starts a replacement
        await asyncio.sleep(0.1)
        alive = {p.pid for p in me.children(recursive=True) if p.is_running()}
        if len(alive - workers_before) >= 1 and len(alive) <= len(workers_before):
            break
    assert len(alive) <= len(workers_before)  # nothing leaked: one killed, one started


async def test_a_function_that_does_not_pickle_fails_with_one_line_naming_the_task(
    pool: Any,
) -> None:
    def local(state: Any) -> int:
        return 1

    out = await graph(Task("a", local, timeout=5.0, executor=pool, default=0), timeout=5.0).ainvoke(
        {}
    )
    assert out["a"] == 0
    assert record(out)["a"]["status"] == "error"
    with pytest.raises(ExecutorError) as info:
        pool.submit(local, ({},), task="a")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("task 'a' cannot run on executor 'process'")
    assert "module level" in message


@pytest.mark.slow
async def test_retries_and_defaults_hold_on_the_process_executor(
    pool: Any, recorder: RecordingObserver
) -> None:
    from langgraph.types import RetryPolicy

    task = Task(
        "a",
        _workloads.fails,
        timeout=20.0,
        executor=pool,
        retry=RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False),
        default="fallback",
    )
    out = await graph(task, timeout=20.0, observers=(recorder,)).ainvoke({})
    assert out["a"] == "fallback"
    (result,) = [r for _, _, r in recorder.tasks]
    assert (result.status.value, result.attempts) == ("error", 3)
    assert str(result.error) == "backend down"  # the user's own exception, from the worker


# --- Ray -------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_ray_returns_values_and_cancels_a_task_at_the_deadline(
    ray_session: Any, tmp_path: Path
) -> None:
    path = tmp_path / "side-effect"
    ok = Task("a", _workloads.async_double, timeout=60.0, executor="ray")
    assert (await graph(ok, timeout=60.0).ainvoke({"x": 4}))["a"] == 8  # warms a worker

    slow = Task("b", _workloads.slow_side_effect, timeout=60.0, executor="ray", default="cut")
    deadline = 0.5
    t0 = time.perf_counter()
    out = await graph(slow, timeout=deadline).ainvoke({"seconds": 2.0, "path": str(path)})
    wall = time.perf_counter() - t0
    assert out["b"] == "cut"
    assert wall / deadline < 1.5
    await asyncio.sleep(3.0)  # past the remote task's would-be end
    assert not path.exists()  # ray.cancel(force=True) stopped it: the side effect never happened


@pytest.mark.slow
async def test_a_ray_actor_keeps_its_state_between_calls(ray_session: Any) -> None:
    ray = ray_session

    class Model:
        def __init__(self) -> None:
            self.calls = 0

        def answer(self, state: dict[str, Any]) -> str:
            self.calls += 1
            return f"answer {self.calls} to {state['x']}"

    actor = ray.remote(Model).remote()
    compiled = graph(Task("a", actor.answer, timeout=60.0, executor="ray"), timeout=60.0)
    assert (await compiled.ainvoke({"x": 1}))["a"] == "answer 1 to 1"
    assert (await compiled.ainvoke({"x": 2}))["a"] == "answer 2 to 2"  # the model stayed loaded

    def answer(state: dict[str, Any]) -> str:  # names the actor's method; never runs here
        raise AssertionError("ran locally")

    by_name = graph(Task("a", answer, timeout=60.0, executor=actor), timeout=60.0)
    assert (await by_name.ainvoke({"x": 3}))["a"] == "answer 3 to 3"


@pytest.mark.slow
async def test_ray_actors_as_replicas_share_the_calls(ray_session: Any) -> None:
    from parallel_nodes._remote import ray_replica

    ray = ray_session

    @ray.remote
    class Echo:
        def __init__(self, name: str) -> None:
            self.name = name

        def who(self, state: dict[str, Any]) -> str:
            return self.name

    first, second = (ray_replica(Echo.remote(n), "who") for n in ("one", "two"))  # type: ignore[attr-defined]
    task = Task("a", first, replicas=[second], timeout=60.0)
    compiled = graph(task, timeout=60.0)
    seen = {(await compiled.ainvoke({}))["a"] for _ in range(4)}
    assert seen == {"one", "two"}


# --- Dask --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_runs_tasks_and_records_an_abandoned_call_as_not_stopped(
    recorder: RecordingObserver,
) -> None:
    need("distributed")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        executor = client.get_executor()
        compiled = graph(
            Task("a", _workloads.pid, timeout=10.0, executor=executor),
            Task("b", _workloads.stuck_briefly, timeout=0.3, executor=executor, default="cut"),
            timeout=10.0,
            observers=(recorder,),
        )
        out = asyncio.run(compiled.ainvoke({}))
    tasks = record(out)
    assert tasks["a"]["status"] == "ok"
    assert (out["b"], tasks["b"]["status"]) == ("cut", "timeout")
    (error,) = [r.error for _, _, r in recorder.tasks if r.name == "b"]
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "abandoned, not stopped" in notes
