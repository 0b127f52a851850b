"""``PrometheusObserver`` after real tier runs: every metric moves as the run says it should."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry

from parallel_nodes import (
    Task,
    TaskResult,
    TaskStatus,
    Tier,
    TierObserver,
    TierResult,
    run_tier,
)
from parallel_nodes.monitoring import (
    FailureType,
    ParallelMetrics,
    PrometheusObserver,
    default_metrics,
    default_observer,
    failure_type_of,
)


async def ok_fast(state: object) -> str:
    await asyncio.sleep(0.01)
    return "fast"


async def ok_slower(state: object) -> str:
    await asyncio.sleep(0.03)
    return "slower"


async def hangs(state: object) -> str:
    await asyncio.sleep(5)
    return "never"


async def breaks(state: object) -> str:
    raise RuntimeError("backend down")


async def wrong_type(state: object) -> int:
    return 42


class Probe:
    """Reads one observer's registry."""

    def __init__(self, mode: str = "default") -> None:
        self.registry = CollectorRegistry()
        self.observer = PrometheusObserver(ParallelMetrics(registry=self.registry))
        self.mode = mode

    async def run(self, tier: Tier) -> TierResult:
        metadata = {"mode": self.mode}
        return await run_tier(tier, {}, metadata=metadata, observers=(self.observer,))

    def get(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(name, {**labels, "mode": self.mode})
        return 0.0 if found is None else found

    def failures(self, task: str, failure: FailureType) -> float:
        return self.get("parallel_task_failures_total", task_name=task, failure_type=failure)

    def all_failures(self) -> float:
        return sum(
            s.value
            for m in self.registry.collect()
            if m.name == "parallel_task_failures"
            for s in m.samples
            if s.name == "parallel_task_failures_total"
        )

    def task_runs(self, task: str) -> float:
        return self.get("parallel_task_duration_seconds_count", task_name=task)

    def tier_runs(self, tier: str) -> float:
        return self.get("parallel_execution_duration_seconds_count", tier=tier)


def test_observer_satisfies_the_core_protocol() -> None:
    assert isinstance(
        PrometheusObserver(ParallelMetrics(registry=CollectorRegistry())), TierObserver
    )


async def test_success_run_moves_duration_speedup_and_success_rate() -> None:
    probe = Probe()
    tier = Tier(
        "retrieval",
        [Task("a", ok_fast, timeout=1.0), Task("b", ok_slower, timeout=1.0)],
        timeout=2.0,
    )
    result = await probe.run(tier)
    assert result.succeeded
    assert probe.tier_runs("retrieval") == 1
    assert probe.get("parallel_execution_duration_seconds_sum", tier="retrieval") == pytest.approx(
        result.wall_time
    )
    assert probe.task_runs("a") == 1
    assert probe.task_runs("b") == 1
    assert probe.get("parallel_task_duration_seconds_sum", task_name="b") == pytest.approx(
        result.tasks["b"].duration
    )
    assert probe.get("parallel_task_duration_seconds_sum", task_name="b") >= 0.03
    speedup = probe.get("parallel_speedup_ratio", tier="retrieval")
    assert speedup == pytest.approx(result.speedup)
    assert speedup > 1.0  # the two tasks overlapped
    assert probe.get("parallel_execution_success_rate", tier="retrieval") == 1.0
    assert probe.get("parallel_execution_timeouts_total", tier="retrieval") == 0
    assert probe.all_failures() == 0


async def test_task_timeout_counts_a_timeout_failure_not_a_tier_timeout() -> None:
    probe = Probe(mode="research")
    tier = Tier(
        "retrieval",
        [Task("a", ok_fast, timeout=1.0), Task("slow", hangs, timeout=0.03)],
        timeout=2.0,
    )
    result = await probe.run(tier)
    assert result.tasks["slow"].status is TaskStatus.TIMEOUT
    assert not result.deadline_exceeded
    assert probe.failures("slow", FailureType.TIMEOUT) == 1
    assert probe.all_failures() == 1
    assert probe.task_runs("slow") == 1
    assert probe.get("parallel_task_duration_seconds_sum", task_name="slow") >= 0.03
    assert probe.get("parallel_execution_timeouts_total", tier="retrieval") == 0
    assert probe.get("parallel_execution_success_rate", tier="retrieval") == 0.0


async def test_tier_deadline_counts_a_tier_timeout() -> None:
    probe = Probe()
    tier = Tier(
        "retrieval",
        [Task("a", ok_fast, timeout=1.0), Task("stuck", hangs, timeout=5.0)],
        timeout=0.05,
    )
    result = await probe.run(tier)
    assert result.deadline_exceeded
    assert probe.get("parallel_execution_timeouts_total", tier="retrieval") == 1
    assert probe.failures("stuck", FailureType.TIMEOUT) == 1
    assert probe.get("parallel_execution_duration_seconds_sum", tier="retrieval") >= 0.05
    assert probe.get("parallel_execution_success_rate", tier="retrieval") == 0.0


async def test_error_and_invalid_output_count_their_failure_types() -> None:
    probe = Probe()
    tier = Tier(
        "post_generation",
        [
            Task("a", ok_fast, timeout=1.0),
            Task("broken", breaks, timeout=1.0, default=None),
            Task("typed", wrong_type, timeout=1.0, default="", output_type=str),
        ],
        timeout=2.0,
    )
    result = await probe.run(tier)
    assert result.tasks["broken"].status is TaskStatus.ERROR
    assert result.tasks["typed"].status is TaskStatus.INVALID_OUTPUT
    assert probe.failures("broken", FailureType.ERROR) == 1
    assert probe.failures("typed", FailureType.INVALID_OUTPUT) == 1
    assert probe.all_failures() == 2
    assert probe.task_runs("broken") == 1
    assert probe.get("parallel_execution_success_rate", tier="post_generation") == 0.0


async def test_disabled_task_is_neither_a_failure_nor_a_task_run() -> None:
    probe = Probe()
    tier = Tier(
        "retrieval",
        [Task("a", ok_fast, timeout=1.0), Task("off", hangs, timeout=1.0, enabled=False)],
        timeout=2.0,
    )
    result = await probe.run(tier)
    assert result.tasks["off"].status is TaskStatus.SKIPPED
    assert probe.task_runs("a") == 1
    assert probe.task_runs("off") == 0
    assert probe.all_failures() == 0
    assert probe.get("parallel_execution_success_rate", tier="retrieval") == 1.0
    assert probe.tier_runs("retrieval") == 1


async def test_disabled_tier_records_nothing() -> None:
    probe = Probe()
    tier = Tier("retrieval", [Task("a", ok_fast, timeout=1.0)], timeout=1.0, enabled=False)
    await probe.run(tier)
    assert probe.tier_runs("retrieval") == 0
    assert probe.task_runs("a") == 0
    assert probe.all_failures() == 0


async def test_success_rate_tracks_recent_runs() -> None:
    probe = Probe()
    good = Tier("t", [Task("a", ok_fast, timeout=1.0)], timeout=1.0)
    bad = Tier("t", [Task("a", breaks, timeout=1.0, default=None)], timeout=1.0)
    for tier in (good, bad, good, good):
        await probe.run(tier)
    assert probe.get("parallel_execution_success_rate", tier="t") == 0.75
    assert probe.tier_runs("t") == 4
    assert probe.failures("a", FailureType.ERROR) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (TaskStatus.OK, None),
        (TaskStatus.SKIPPED, None),
        (TaskStatus.TIMEOUT, FailureType.TIMEOUT),
        (TaskStatus.ERROR, FailureType.ERROR),
        (TaskStatus.CANCELLED, FailureType.CANCELLED),
        (TaskStatus.CIRCUIT_OPEN, FailureType.CIRCUIT_OPEN),
        (TaskStatus.INVALID_OUTPUT, FailureType.INVALID_OUTPUT),
    ],
)
def test_every_status_maps_to_one_failure_type(
    status: TaskStatus, expected: FailureType | None
) -> None:
    assert failure_type_of(status) == expected
    probe = Probe()
    probe.observer.on_task_finished("t", TaskResult("x", status, None, 0.2), {})
    assert probe.all_failures() == (0 if expected is None else 1)
    if expected is not None:
        assert probe.failures("x", expected) == 1
    assert probe.task_runs("x") == (0 if status is TaskStatus.SKIPPED else 1)


def test_default_observer_is_a_singleton_on_the_default_metrics() -> None:
    assert default_observer() is default_observer()
    assert default_observer().metrics is default_metrics()


_CHILD = textwrap.dedent(
    """
    import asyncio
    from prometheus_client import REGISTRY
    from parallel_nodes import Task, Tier, run_tier

    async def work(state):
        return 1

    tier = Tier("child_tier", [Task("child_task", work, timeout=1.0)], timeout=1.0)
    asyncio.run(run_tier(tier, {}, metadata={"mode": "child"}))
    print(REGISTRY.get_sample_value(
        "parallel_execution_duration_seconds_count", {"tier": "child_tier", "mode": "child"}))
    """
)


@pytest.mark.parametrize(("switch", "expected"), [(None, "1.0"), ("0", "None")])
def test_every_run_tier_is_instrumented_by_default_and_switchable_off(
    switch: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARALLEL_NODES_METRICS"}
    if switch is not None:
        env["PARALLEL_NODES_METRICS"] = switch
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == expected


_WORKFLOW_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from prometheus_client import REGISTRY
    from parallel_nodes import ParallelBaseWorkflow

    class Echo(ParallelBaseWorkflow):
        mode = "echo"

        async def _rag_retrieval_task(self, state, runtime):
            return ["doc"]

        async def _generate(self, state, runtime):
            return {"answer": "a"}

    config = {"metrics": sys.argv[1] == "on"}
    asyncio.run(Echo(config=config).compile().ainvoke({"question": "q"}))
    def get(name, **labels):
        return REGISTRY.get_sample_value(name, {**labels, "mode": "echo"})

    print(
        get("parallel_execution_duration_seconds_count", tier="retrieval"),
        get("parallel_task_duration_seconds_count", task_name="rag_retrieval"),
        get("parallel_task_duration_seconds_count", task_name="memory_retrieval"),
        # Tier 2 has no task overridden, so it is all skipped and records nothing.
        get("parallel_execution_duration_seconds_count", tier="post_generation"),
    )
    """
)


@pytest.mark.parametrize(
    ("switch", "expected"), [("on", "1.0 1.0 None None"), ("off", "None None None None")]
)
def test_every_workflow_is_instrumented_by_default_and_switchable_off(
    switch: str, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARALLEL_NODES_METRICS"}
    out = subprocess.run(
        [sys.executable, "-c", _WORKFLOW_CHILD, switch],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == expected
