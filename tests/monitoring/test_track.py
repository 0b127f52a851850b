"""The seed's ``track_*`` functions: a thin API over ``ParallelMetrics``."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from parallel_nodes.monitoring import (
    FailureType,
    ParallelMetrics,
    track_parallel_execution,
    track_parallel_task_duration,
    track_parallel_task_failure,
    track_parallel_timeout,
)


@pytest.fixture
def metrics() -> ParallelMetrics:
    return ParallelMetrics(registry=CollectorRegistry())


def get(metrics: ParallelMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_track_parallel_execution(metrics: ParallelMetrics) -> None:
    track_parallel_execution("retrieval", "chat", 0.3, speedup=2.5, succeeded=True, metrics=metrics)
    track_parallel_execution("retrieval", "chat", 0.5, succeeded=False, metrics=metrics)
    labels = {"tier": "retrieval", "mode": "chat"}
    assert get(metrics, "parallel_execution_duration_seconds_count", **labels) == 2
    assert get(metrics, "parallel_execution_duration_seconds_sum", **labels) == pytest.approx(0.8)
    assert get(metrics, "parallel_speedup_ratio", **labels) == 2.5
    assert get(metrics, "parallel_execution_success_rate", **labels) == 0.5


def test_track_parallel_execution_leaves_unknowns_alone(metrics: ParallelMetrics) -> None:
    track_parallel_execution("retrieval", "chat", 0.3, metrics=metrics)
    labels = {"tier": "retrieval", "mode": "chat"}
    assert get(metrics, "parallel_speedup_ratio", **labels) is None
    assert get(metrics, "parallel_execution_success_rate", **labels) is None


def test_track_parallel_task_failure(metrics: ParallelMetrics) -> None:
    track_parallel_task_failure("rag", FailureType.TIMEOUT, "chat", metrics=metrics)
    track_parallel_task_failure("rag", "timeout", "chat", metrics=metrics)
    labels = {"task_name": "rag", "failure_type": "timeout", "mode": "chat"}
    assert get(metrics, "parallel_task_failures_total", **labels) == 2
    with pytest.raises(ValueError, match="FailureType"):
        track_parallel_task_failure("rag", "oops", "chat", metrics=metrics)


def test_track_parallel_task_duration(metrics: ParallelMetrics) -> None:
    track_parallel_task_duration("rag", "chat", 0.07, metrics=metrics)
    labels = {"task_name": "rag", "mode": "chat"}
    assert get(metrics, "parallel_task_duration_seconds_count", **labels) == 1
    assert get(metrics, "parallel_task_duration_seconds_bucket", le="0.075", **labels) == 1
    assert get(metrics, "parallel_task_duration_seconds_bucket", le="0.05", **labels) == 0


def test_track_parallel_timeout(metrics: ParallelMetrics) -> None:
    for _ in range(3):
        track_parallel_timeout("retrieval", "chat", metrics=metrics)
    assert get(metrics, "parallel_execution_timeouts_total", tier="retrieval", mode="chat") == 3


def test_without_metrics_they_record_on_the_default_registry() -> None:
    labels = {"tier": "track_default_tier", "mode": "track_default_mode"}
    before = REGISTRY.get_sample_value("parallel_execution_timeouts_total", labels) or 0.0
    track_parallel_timeout("track_default_tier", "track_default_mode")
    assert REGISTRY.get_sample_value("parallel_execution_timeouts_total", labels) == before + 1
