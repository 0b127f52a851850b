"""``ParallelMetrics``: names, types, labels, buckets, prefix, window and label bounds."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from parallel_nodes.monitoring import (
    DURATION_BUCKETS,
    METRIC_NAMES,
    OVERFLOW_LABEL,
    TIER_RUNS_NAME,
    FailureType,
    ParallelMetrics,
)
from parallel_nodes.monitoring._metrics import _MAX_NAMES


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@pytest.fixture
def metrics() -> ParallelMetrics:
    return ParallelMetrics(registry=CollectorRegistry())


def test_six_metrics_with_the_issues_names_types_and_labels(metrics: ParallelMetrics) -> None:
    expected = {
        "parallel_execution_duration_seconds": (Histogram, ("tier", "mode")),
        "parallel_task_failures_total": (Counter, ("task_name", "failure_type", "mode")),
        "parallel_speedup_ratio": (Gauge, ("tier", "mode")),
        "parallel_task_duration_seconds": (Histogram, ("task_name", "mode")),
        "parallel_execution_timeouts_total": (Counter, ("tier", "mode")),
        "parallel_execution_success_rate": (Gauge, ("tier", "mode")),
    }
    found = {
        "parallel_execution_duration_seconds": metrics.execution_duration,
        "parallel_task_failures_total": metrics.task_failures,
        "parallel_speedup_ratio": metrics.speedup,
        "parallel_task_duration_seconds": metrics.task_duration,
        "parallel_execution_timeouts_total": metrics.execution_timeouts,
        "parallel_execution_success_rate": metrics.success_rate,
    }
    assert set(METRIC_NAMES) == set(expected)
    for name, (kind, labels) in expected.items():
        metric = found[name]
        assert isinstance(metric, kind), name
        assert metric._labelnames == labels, name
    families = {m.name for m in metrics.registry.collect()}
    # prometheus_client strips the _total suffix from counter family names.
    six = {n.removesuffix("_total") for n in METRIC_NAMES}
    assert families == six | {TIER_RUNS_NAME.removesuffix("_total")}
    assert metrics.tier_runs._labelnames == ("tier", "mode", "outcome")


def test_gauges_declare_a_multiprocess_mode(metrics: ParallelMetrics) -> None:
    assert metrics.speedup._multiprocess_mode == "mostrecent"
    assert metrics.success_rate._multiprocess_mode == "mostrecent"


def test_buckets_cover_5ms_to_10s() -> None:
    assert DURATION_BUCKETS[0] == 0.005
    assert DURATION_BUCKETS[-1] == 10.0
    assert list(DURATION_BUCKETS) == sorted(set(DURATION_BUCKETS))


def test_histogram_uses_the_buckets(metrics: ParallelMetrics) -> None:
    metrics.observe_task("rag", "default", duration=0.012)
    r = metrics.registry
    assert (
        value(
            r, "parallel_task_duration_seconds_bucket", task_name="rag", mode="default", le="0.01"
        )
        == 0
    )
    assert (
        value(
            r, "parallel_task_duration_seconds_bucket", task_name="rag", mode="default", le="0.025"
        )
        == 1
    )
    assert value(r, "parallel_task_duration_seconds_sum", task_name="rag", mode="default") == 0.012


def test_prefix_keeps_two_apps_apart_in_one_registry() -> None:
    registry = CollectorRegistry()
    a = ParallelMetrics(registry=registry, prefix="app_a")
    b = ParallelMetrics(registry=registry, prefix="app_b_")
    a.observe_timeout("t", "default")
    assert a.prefix == "app_a_"
    assert value(registry, "app_a_parallel_execution_timeouts_total", tier="t", mode="default") == 1
    assert (
        value(registry, "app_b_parallel_execution_timeouts_total", tier="t", mode="default") is None
    )
    assert b.prefix == "app_b_"


def test_second_metrics_on_one_registry_says_how_to_fix() -> None:
    registry = CollectorRegistry()
    ParallelMetrics(registry=registry)
    with pytest.raises(ValueError, match="Duplicated") as info:
        ParallelMetrics(registry=registry)
    assert any("prefix=" in note for note in info.value.__notes__)


@pytest.mark.parametrize("prefix", ["1app", "my-app", "a b"])
def test_bad_prefix_is_rejected(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        ParallelMetrics(registry=CollectorRegistry(), prefix=prefix)


@pytest.mark.parametrize("window", [0, -1, True, 1.5])
def test_bad_window_is_rejected(window: object) -> None:
    with pytest.raises(ValueError, match="window"):
        ParallelMetrics(registry=CollectorRegistry(), window=window)  # type: ignore[arg-type]


def test_success_rate_is_a_sliding_window_per_tier_and_mode() -> None:
    metrics = ParallelMetrics(registry=CollectorRegistry(), window=4)
    outcomes = [True, False, True, True, True, True]
    rates = [metrics.record_outcome("t", "m", succeeded=ok) for ok in outcomes]
    # Window of 4: the False drops out after four more runs.
    assert rates == [1.0, 0.5, 2 / 3, 0.75, 0.75, 1.0]
    metrics.record_outcome("t", "other", succeeded=False)
    r = metrics.registry
    assert value(r, "parallel_execution_success_rate", tier="t", mode="m") == 1.0
    assert value(r, "parallel_execution_success_rate", tier="t", mode="other") == 0.0


def test_counters_exist_at_zero_once_a_name_is_seen(metrics: ParallelMetrics) -> None:
    metrics.observe_task("rag", "default", duration=0.1)
    metrics.observe_tier("t", "default", wall_time=0.1)
    r = metrics.registry
    for failure in FailureType:
        assert (
            value(
                r,
                "parallel_task_failures_total",
                task_name="rag",
                failure_type=failure,
                mode="default",
            )
            == 0
        )
    assert value(r, "parallel_execution_timeouts_total", tier="t", mode="default") == 0


def test_failure_type_accepts_the_enum_and_its_values_only(metrics: ParallelMetrics) -> None:
    metrics.observe_failure("rag", FailureType.CIRCUIT_OPEN, "default")
    metrics.observe_failure("rag", "circuit_open", "default")
    assert (
        value(
            metrics.registry,
            "parallel_task_failures_total",
            task_name="rag",
            failure_type="circuit_open",
            mode="default",
        )
        == 2
    )
    with pytest.raises(ValueError, match="FailureType"):
        metrics.observe_failure("rag", "user said no", "default")


def test_empty_label_values_are_rejected(metrics: ParallelMetrics) -> None:
    with pytest.raises(ValueError, match="declared in code"):
        metrics.observe_task("", "default", duration=0.1)


def test_label_values_are_capped(
    metrics: ParallelMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitoring"):
        for i in range(_MAX_NAMES + 3):
            metrics.observe_task(f"task_{i}", "default", duration=0.01)
    r = metrics.registry
    assert (
        value(r, "parallel_task_duration_seconds_count", task_name=OVERFLOW_LABEL, mode="default")
        == 3
    )
    assert value(r, "parallel_task_duration_seconds_count", task_name="task_0", mode="default") == 1
    assert sum("never user text" in rec.getMessage() for rec in caplog.records) == 1


def test_negative_durations_are_clamped(metrics: ParallelMetrics) -> None:
    metrics.observe_tier("t", "default", wall_time=-1.0)
    assert (
        value(metrics.registry, "parallel_execution_duration_seconds_sum", tier="t", mode="default")
        == 0
    )
