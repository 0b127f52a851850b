"""Soak: many runs in one process leave no tasks, threads or memory behind. Labels and logs:
user text never reaches a metric label or a log line at INFO or above."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from parallel_nodes.modes import Mode2AutomaticWorkflow
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver, TierOutcome


@pytest.mark.slow
def test_soak_10000_tier_runs_and_1000_workflow_runs() -> None:
    # A fresh process, as an app's: see _soak_child for why not this one.
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability._soak_child"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["tasks_after"] == counts["tasks_before"]
    # Compared by identity: a worker that exited and another that started are not a leak.
    assert counts["new_threads"] == [], counts  # with the threads there were before
    assert counts["stragglers"] == 0
    assert counts["rss_after"] < counts["rss_before"] * 1.05


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
