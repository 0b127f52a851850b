"""The seed's tracking functions, kept as a thin public API over ``ParallelMetrics``.

The engine's observer already calls the same methods for every tier run; these are for code
that runs its own fan-out and still wants the same metrics.
"""

from __future__ import annotations

from ._metrics import FailureType, ParallelMetrics
from ._observer import default_metrics

__all__ = [
    "track_parallel_execution",
    "track_parallel_task_duration",
    "track_parallel_task_failure",
    "track_parallel_timeout",
]


def track_parallel_execution(
    tier: str,
    mode: str,
    duration: float,
    *,
    speedup: float | None = None,
    succeeded: bool | None = None,
    metrics: ParallelMetrics | None = None,
) -> None:
    """Record one tier run's wall time, and optionally its speedup and outcome.

    Args:
        tier: The tier's declared name.
        mode: The mode label declared in code.
        duration: Wall time in seconds (not milliseconds, unlike the seed).
        speedup: Sum of task durations over wall time; ``None`` leaves the gauge alone.
        succeeded: Whether no task degraded; ``None`` leaves the success rate alone.
        metrics: Where to record; ``default_metrics()`` when omitted.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> m = ParallelMetrics(registry=CollectorRegistry())
        >>> track_parallel_execution("retrieval", "default", 0.25, succeeded=False, metrics=m)
        >>> m.registry.get_sample_value(
        ...     "parallel_execution_success_rate", {"tier": "retrieval", "mode": "default"})
        0.0
    """
    m = default_metrics() if metrics is None else metrics
    m.observe_tier(tier, mode, wall_time=duration, speedup=speedup, succeeded=succeeded)


def track_parallel_task_failure(
    task_name: str,
    failure_type: FailureType | str,
    mode: str,
    *,
    metrics: ParallelMetrics | None = None,
) -> None:
    """Count one task that fell back to its default.

    Args:
        task_name: The task's declared name.
        failure_type: A ``FailureType`` or its value (``"timeout"``, ``"error"``, ...).
        mode: The mode label declared in code.
        metrics: Where to record; ``default_metrics()`` when omitted.

    Raises:
        ValueError: If ``failure_type`` is not a ``FailureType`` value.
    """
    m = default_metrics() if metrics is None else metrics
    m.observe_failure(task_name, failure_type, mode)


def track_parallel_task_duration(
    task_name: str,
    mode: str,
    duration: float,
    *,
    metrics: ParallelMetrics | None = None,
) -> None:
    """Record one task run's duration in seconds (not milliseconds, unlike the seed).

    Args:
        task_name: The task's declared name.
        mode: The mode label declared in code.
        duration: Seconds the task took.
        metrics: Where to record; ``default_metrics()`` when omitted.
    """
    m = default_metrics() if metrics is None else metrics
    m.observe_task(task_name, mode, duration=duration)


def track_parallel_timeout(tier: str, mode: str, *, metrics: ParallelMetrics | None = None) -> None:
    """Count one tier run cut off by its deadline.

    Args:
        tier: The tier's declared name.
        mode: The mode label declared in code.
        metrics: Where to record; ``default_metrics()`` when omitted.
    """
    m = default_metrics() if metrics is None else metrics
    m.observe_timeout(tier, mode)
