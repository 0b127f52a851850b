"""Prometheus metrics for tier runs, with a Grafana dashboard and alert rules.

Every ``run_tier`` on the default engine (and so every ``parallel_node`` and
``ParallelBaseWorkflow``) is measured through ``default_observer()``, which ``install`` puts on
that engine at its first run; ``PARALLEL_NODES_METRICS=0`` or
``parallel_nodes.diagnostics.set_default_observers(())`` switches that off. ``install(engine)``
measures an engine of your own.

Example:
    >>> import asyncio
    >>> from prometheus_client import CollectorRegistry
    >>> from parallel_nodes import Task, Tier, run_tier
    >>> from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver
    >>> metrics = ParallelMetrics(registry=CollectorRegistry())
    >>> tier = Tier("retrieval", [Task("rag", lambda s: ["doc"], timeout=1.0)], timeout=2.0)
    >>> _ = asyncio.run(run_tier(tier, {}, observers=(PrometheusObserver(metrics),)))
    >>> metrics.registry.get_sample_value(
    ...     "parallel_task_duration_seconds_count", {"task_name": "rag", "mode": "default"})
    1.0
"""

from __future__ import annotations

from ._collector import (
    BREAKER_STATE_VALUES,
    EngineCollector,
    EngineReadings,
    engine_readings,
    process_readings,
)
from ._exporter import MetricsServer, metrics_asgi_app, start_metrics_server
from ._files import ALERTS_PATH, ALERTS_TEST_PATH, DASHBOARD_PATH, PROMETHEUS_CONFIG_PATH
from ._metrics import (
    DURATION_BUCKETS,
    METRIC_NAMES,
    OVERFLOW_LABEL,
    TIER_RUNS_NAME,
    FailureType,
    ParallelMetrics,
    TierOutcome,
)
from ._observer import (
    PrometheusObserver,
    default_collector,
    default_metrics,
    default_observer,
    failure_type_of,
    install,
    outcome_of,
)
from ._track import (
    track_parallel_execution,
    track_parallel_task_duration,
    track_parallel_task_failure,
    track_parallel_timeout,
)

__all__ = [
    "ALERTS_PATH",
    "ALERTS_TEST_PATH",
    "BREAKER_STATE_VALUES",
    "DASHBOARD_PATH",
    "DURATION_BUCKETS",
    "METRIC_NAMES",
    "OVERFLOW_LABEL",
    "PROMETHEUS_CONFIG_PATH",
    "TIER_RUNS_NAME",
    "EngineCollector",
    "EngineReadings",
    "FailureType",
    "MetricsServer",
    "ParallelMetrics",
    "PrometheusObserver",
    "TierOutcome",
    "default_collector",
    "default_metrics",
    "default_observer",
    "engine_readings",
    "failure_type_of",
    "install",
    "metrics_asgi_app",
    "outcome_of",
    "process_readings",
    "start_metrics_server",
    "track_parallel_execution",
    "track_parallel_task_duration",
    "track_parallel_task_failure",
    "track_parallel_timeout",
]
