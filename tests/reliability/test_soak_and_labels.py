"""Soak: many runs in one process leave no tasks, threads or memory behind. Labels and logs:
user text never reaches a metric label or a log line at INFO or above."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import warnings
from typing import Any

import psutil
import pytest
from prometheus_client import CollectorRegistry

from parallel_nodes import Task, Tier, run_tier
from parallel_nodes.diagnostics import straggler_count
from parallel_nodes.modes import Mode2AutomaticWorkflow
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver, TierOutcome


def _tier() -> Tier:
    async def ok(state: Any) -> list[int]:
        await asyncio.sleep(0)
        return [1, 2, 3]

    async def fails(state: Any) -> None:
        raise RuntimeError("boom")

    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    def sync(state: Any) -> int:
        return 1

    return Tier(
        "soak",
        [
            Task("ok", ok, timeout=1),
            Task("fails", fails, timeout=1, default_factory=list),
            Task("hangs", hangs, timeout=0.002, default_factory=list),
            Task("sync", sync, timeout=1),
        ],
        timeout=1,
    )


@pytest.mark.slow
def test_soak_10000_tier_runs_and_1000_workflow_runs() -> None:
    tier = _tier()
    process = psutil.Process()
    workflow = Mode2AutomaticWorkflow(config={"metrics": False})
    graph = workflow.compile()

    async def batch(n: int) -> None:
        for _ in range(n // 100):
            await asyncio.gather(*(run_tier(tier, {}, observers=()) for _ in range(100)))

    async def workflows(n: int) -> None:
        for _ in range(n // 50):
            await asyncio.gather(
                *(graph.ainvoke({"question": "What does a circuit breaker do?"}) for _ in range(50))
            )

    def ours() -> list[str]:
        # The loop's default executor (LangGraph runs sync callbacks there) keeps its threads
        # until the loop closes and grows with how much ran at once, which a loaded machine
        # decides: its "asyncio_N" threads are not ours to count.
        return [t.name for t in threading.enumerate() if not t.name.startswith("asyncio_")]

    async def main() -> tuple[int, int, int, float, float]:
        # Warm-up is one full round: pools, caches, worker threads and malloc arenas settle.
        await batch(10_000)
        await workflows(1000)
        gc.collect()
        tasks_before = len(asyncio.all_tasks())
        threads_before = len(ours())
        rss_before = process.memory_info().rss
        await batch(10_000)
        await workflows(1000)
        for _ in range(100):  # idle worker threads exit after two seconds
            if len(ours()) <= threads_before:
                break
            await asyncio.sleep(0.1)
        gc.collect()
        return (
            tasks_before,
            len(asyncio.all_tasks()),
            len(ours()) - threads_before,
            rss_before,
            process.memory_info().rss,
        )

    # pytest keeps every captured log record; 10,000 "abandoned task" warnings would be its
    # memory growth, not ours.
    engine_log = logging.getLogger("parallel_nodes")
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "coroutine was never awaited" and friends fail
            before, after, extra_threads, rss_before, rss_after = asyncio.run(main())
    finally:
        engine_log.setLevel(level)
    assert after == before
    assert extra_threads <= 0, ours()
    assert straggler_count() == 0
    assert rss_after < rss_before * 1.05


def test_a_thousand_distinct_questions_make_no_new_label_sets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(ParallelMetrics(registry=registry))
    workflow = Mode2AutomaticWorkflow(observers=[observer])
    graph = workflow.compile()
    questions = [f"secret-question-{i} about circuit breakers and retries" for i in range(1000)]

    async def main() -> None:
        for start in range(0, 1000, 100):
            await asyncio.gather(
                *(graph.ainvoke({"question": q}) for q in questions[start : start + 100])
            )

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    label_values: set[str] = set()
    label_sets = 0
    for family in registry.collect():
        for sample in family.samples:
            label_sets += 1
            label_values.update(sample.labels.values())
    assert not any("secret-question" in v for v in label_values)
    assert label_values <= {
        "retrieval",
        "post_generation",
        "research",
        "rag_retrieval",
        "tool_suggestion",
        "memory_retrieval",
        "quality_scoring",
        "citation_extraction",
        "cost_tracking",
        "timeout",
        "error",
        "circuit_open",
        "invalid_output",
        "cancelled",
        *(outcome.value for outcome in TierOutcome),  # parallel_tier_runs_total
        "+Inf",
        "all",
        "mostrecent",
        "liveall",
        "livesum",
        "sum",
        "max",
        "min",
    } | {v for v in label_values if v.replace(".", "", 1).replace("e-", "").isdigit()}
    assert label_sets < 400  # bounded by tiers x tasks x buckets, not by questions
    assert "secret-question" not in caplog.text
