"""The fault matrix: for each tier, and each fault in one task, the graph completes, the tier
returns within its deadline (as a ratio), the degraded task is named in state, the right status
reaches the observer and the right failure metric is counted, and the other tasks' values are
intact."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from langgraph.types import RetryPolicy
from prometheus_client import CollectorRegistry

from parallel_nodes import ParallelBaseWorkflow, Task, TaskStatus, Tier, run_tier
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver
from tests.conftest import RecordingObserver

TIER1_TASKS = ParallelBaseWorkflow.TIER1_TASKS
TIER2_TASKS = ParallelBaseWorkflow.TIER2_TASKS

DEADLINE = 0.3
WORK = 0.02
_release = threading.Event()


async def _raises() -> Any:
    raise RuntimeError("backend exploded")


async def _hangs() -> Any:
    await asyncio.sleep(600)


async def _swallows() -> Any:
    try:
        await asyncio.sleep(600)
    except asyncio.CancelledError:
        await asyncio.sleep(2 * DEADLINE)  # keeps running after cancellation
    return "late"


def _blocks() -> Any:
    _release.wait(4 * DEADLINE)  # a sync call blocking past the deadline
    return "late"


async def _wrong_type() -> Any:
    return 42  # every task here declares a list or dict


FAULTS: dict[str, tuple[Callable[[], Any], TaskStatus]] = {
    "raises": (_raises, TaskStatus.ERROR),
    "hangs": (_hangs, TaskStatus.TIMEOUT),
    "swallows_cancel": (_swallows, TaskStatus.TIMEOUT),
    "blocks_sync": (_blocks, TaskStatus.TIMEOUT),
    "wrong_type": (_wrong_type, TaskStatus.INVALID_OUTPUT),
}


class Faulty(ParallelBaseWorkflow):
    """Every task does WORK seconds of real waiting; one task has the fault under test."""

    mode = "faults"

    def __init__(self, victim: str, fault: Callable[[], Any], **kw: Any) -> None:
        self.victim, self.fault = victim, fault
        super().__init__(**kw)

    def _make_task(self, name: str) -> Task:
        task = super()._make_task(name)
        return Task(
            name,
            self._call(name),
            timeout=task.timeout,
            default_factory=task.default_factory,
            output_type=list if name in TIER1_TASKS else dict,
        )

    def _call(self, name: str) -> Callable[..., Any]:
        if name == self.victim and not asyncio.iscoroutinefunction(self.fault):
            fault = self.fault
            return lambda state: fault()
        if name == self.victim:
            fault = self.fault

            async def faulty(state: Mapping[str, Any]) -> Any:
                return await fault()

            return faulty

        async def healthy(state: Mapping[str, Any]) -> Any:
            await asyncio.sleep(WORK)
            return [name] if name in TIER1_TASKS else {"by": name}

        return healthy

    async def _generate(self, state: Mapping[str, Any], runtime: Any) -> dict[str, Any]:
        return {"answer": "ok"}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("victim", [*TIER1_TASKS, *TIER2_TASKS])
async def test_fault_in_one_task(victim: str, fault: str) -> None:
    fn, expected = FAULTS[fault]
    recorder = RecordingObserver()
    registry = CollectorRegistry()
    prometheus = PrometheusObserver(ParallelMetrics(registry=registry))
    config = {
        "tier1_timeout": DEADLINE,
        "tier2_timeout": DEADLINE,
        "task_timeouts": dict.fromkeys((*TIER1_TASKS, *TIER2_TASKS), 10.0),
    }
    wf = Faulty(victim, fn, config=config, observers=[recorder, prometheus])
    start = time.perf_counter()
    out = await wf.compile().ainvoke({"question": "q"})
    elapsed = time.perf_counter() - start
    _release.set()
    _release.clear()

    tier = "retrieval" if victim in TIER1_TASKS else "post_generation"
    assert out["answer"] == "ok"  # the graph completed
    assert out["parallel"][tier]["degraded"] == [victim]
    assert out["parallel"][tier]["tasks"][victim]["status"] == expected.value
    statuses = {r.name: r.status for _, _, r in recorder.tasks}
    assert statuses[victim] is expected
    for name in (*TIER1_TASKS, *TIER2_TASKS):  # the other tasks are intact
        if name != victim:
            assert statuses[name] is TaskStatus.OK
            assert out[name] == ([name] if name in TIER1_TASKS else {"by": name})
    assert out[victim] == ([] if victim in TIER1_TASKS else {})
    # the failure metric names the victim and the failure type, and nobody else
    failures = {
        (s.labels["task_name"], s.labels["failure_type"]): s.value
        for family in registry.collect()
        if family.name == "parallel_task_failures"
        for s in family.samples
        if s.name.endswith("_total") and s.value
    }
    assert failures == {(victim, expected.value): 1.0}
    # both tiers: one within its deadline (plus margin), the other ~WORK
    assert elapsed < 1.5 * DEADLINE + 4 * WORK


async def test_flaky_task_succeeds_on_retry() -> None:
    calls = 0

    async def flaky(state: Any) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("blip")
        return ["ok"]

    policy = RetryPolicy(initial_interval=0.01, jitter=False)
    tier = Tier("t", [Task("flaky", flaky, timeout=1, retry=policy)], timeout=1)
    result = await run_tier(tier, {}, observers=())
    assert result.tasks["flaky"].status is TaskStatus.OK
    assert result.tasks["flaky"].attempts == 2


async def test_slow_only_at_the_p99_degrades_only_that_run() -> None:
    runs = 0

    async def sometimes_slow(state: Any) -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(1.0 if runs % 50 == 0 else 0.001)
        return "ok"

    tier = Tier("t", [Task("p99", sometimes_slow, timeout=0.05, default="d")], timeout=1)
    statuses = [(await run_tier(tier, {}, observers=())).tasks["p99"].status for _ in range(100)]
    assert statuses.count(TaskStatus.TIMEOUT) == 2
    assert statuses.count(TaskStatus.OK) == 98


def test_keyboard_interrupt_propagates_through_a_compiled_graph() -> None:
    async def interrupted() -> Any:
        raise KeyboardInterrupt

    wf = Faulty("rag_retrieval", interrupted, config={"metrics": False})
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(wf.compile().ainvoke({"question": "q"}))
