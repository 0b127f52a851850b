"""``PrometheusObserver``: the core engine's observer hook, feeding the six metrics."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final

from prometheus_client import REGISTRY

from parallel_nodes import Engine, TaskResult, TaskStatus, TierResult

from ._collector import EngineCollector
from ._metrics import FailureType, ParallelMetrics, TierOutcome

__all__ = [
    "PrometheusObserver",
    "default_collector",
    "default_metrics",
    "default_observer",
    "failure_type_of",
    "install",
    "outcome_of",
]

_DEFAULT_MODE: Final = "default"
"""The ``mode`` label of a run whose metadata names no mode."""

_FAILURES: Final[dict[TaskStatus, FailureType]] = {
    TaskStatus.TIMEOUT: FailureType.TIMEOUT,
    TaskStatus.ERROR: FailureType.ERROR,
    TaskStatus.CIRCUIT_OPEN: FailureType.CIRCUIT_OPEN,
    TaskStatus.INVALID_OUTPUT: FailureType.INVALID_OUTPUT,
    TaskStatus.CANCELLED: FailureType.CANCELLED,
}


def failure_type_of(status: TaskStatus) -> FailureType | None:
    """The failure type of a task status; ``None`` for ``OK`` and ``SKIPPED``.

    Example:
        >>> failure_type_of(TaskStatus.TIMEOUT)
        <FailureType.TIMEOUT: 'timeout'>
        >>> failure_type_of(TaskStatus.SKIPPED) is None
        True
    """
    return _FAILURES.get(status)


def outcome_of(result: TierResult) -> TierOutcome:
    """How a finished tier run ended: ``deadline``, else ``degraded``, else ``ok``.

    Example:
        >>> outcome_of(TierResult(tier="t", tasks={}, wall_time=0.0))
        <TierOutcome.OK: 'ok'>
    """
    if result.deadline_exceeded:
        return TierOutcome.DEADLINE
    if any(r.degraded for r in result.tasks.values()):
        return TierOutcome.DEGRADED
    return TierOutcome.OK


def _mode_of(metadata: Mapping[str, str]) -> str:
    """The ``mode`` label of a run: ``metadata["mode"]``, else ``"default"``.

    A workflow puts its mode there (``ParallelBaseWorkflow.mode``), as does a caller's
    ``run_tier(metadata={"mode": ...})``; keep it a name declared in code, never user text.
    """
    return metadata.get("mode", _DEFAULT_MODE)


class PrometheusObserver:
    """A ``TierObserver`` that records every tier run into a ``ParallelMetrics``.

    Per task: its duration (unless it was disabled, i.e. ``SKIPPED``) and, when it degraded,
    one failure of its ``FailureType``. Per tier: the wall time, the speedup, a timeout when
    the deadline cut it off, and its outcome in the success-rate window (a run succeeds when
    no task degraded). A disabled tier, where every task was skipped, records nothing.
    The ``mode`` label is the run's ``metadata["mode"]`` (``"default"`` without one).

    Args:
        metrics: Where to record; the process-wide default metrics when omitted.

    Example:
        >>> import asyncio
        >>> from prometheus_client import CollectorRegistry
        >>> from parallel_nodes import Task, Tier, run_tier
        >>> registry = CollectorRegistry()
        >>> observer = PrometheusObserver(ParallelMetrics(registry=registry))
        >>> tier = Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)
        >>> _ = asyncio.run(run_tier(tier, {}, metadata={"mode": "chat"}, observers=(observer,)))
        >>> registry.get_sample_value("parallel_execution_success_rate",
        ...                           {"tier": "t", "mode": "chat"})
        1.0
    """

    __slots__ = ("metrics",)

    def __init__(self, metrics: ParallelMetrics | None = None) -> None:
        self.metrics = default_metrics() if metrics is None else metrics

    def __repr__(self) -> str:
        return f"PrometheusObserver({self.metrics!r})"

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        """Record one task's duration and, when it degraded, its failure."""
        status = result.status
        if status is TaskStatus.SKIPPED:
            return
        mode = metadata.get("mode", _DEFAULT_MODE)  # inline: once per task
        self.metrics.observe_task(result.name, mode, duration=result.duration)
        failure = _FAILURES.get(status)
        if failure is not None:
            self.metrics.observe_failure(result.name, failure, mode)

    def on_tier_finished(self, result: TierResult) -> None:
        """Record one tier run: wall time, speedup, deadline timeout and outcome."""
        tasks = result.tasks.values()
        if tasks and all(r.status is TaskStatus.SKIPPED for r in tasks):
            return
        self.metrics.observe_tier(
            result.tier,
            _mode_of(result.metadata),
            wall_time=result.wall_time,
            speedup=result.speedup,
            succeeded=result.succeeded,
            timed_out=result.deadline_exceeded,
            outcome=outcome_of(result),
        )

    def on_tier_cancelled(self, tier: str, metadata: Mapping[str, str]) -> None:
        """Count a tier run its caller cancelled (it has no result to record)."""
        self.metrics.observe_outcome(tier, _mode_of(metadata), TierOutcome.CANCELLED_BY_CALLER)


_lock = threading.Lock()
_metrics: ParallelMetrics | None = None
_observer: PrometheusObserver | None = None
_collector: EngineCollector | None = None


def default_metrics() -> ParallelMetrics:
    """The process-wide ``ParallelMetrics`` on the default registry, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = ParallelMetrics()
    default_collector()
    return _metrics


def default_collector() -> EngineCollector:
    """The process-wide engine gauges (breakers, stragglers, sync workers) on the default registry.

    Created with ``default_metrics()``; call ``watch(tier, ...)`` on it to report breakers.
    """
    global _collector
    if _collector is None:
        with _lock:
            if _collector is None:
                _collector = EngineCollector(registry=REGISTRY)
    return _collector


def install(engine: Engine) -> PrometheusObserver:
    """Measure every run of ``engine`` with ``default_observer()``.

    The default engine calls this on its first run, unless ``PARALLEL_NODES_METRICS=0``;
    call it on an engine of your own to measure its runs too.

    Example:
        >>> from parallel_nodes import Engine
        >>> engine = Engine()
        >>> install(engine) in engine.observers
        True
    """
    observer = default_observer()
    engine.add_observer(observer)
    return observer


def default_observer() -> PrometheusObserver:
    """The process-wide observer on ``default_metrics()``; the default engine installs it.

    Switch it off with ``parallel_nodes.diagnostics.set_default_observers(())`` or the environment
    variable ``PARALLEL_NODES_METRICS=0``.
    """
    global _observer
    if _observer is None:
        metrics = default_metrics()
        with _lock:
            if _observer is None:
                _observer = PrometheusObserver(metrics)
    return _observer
