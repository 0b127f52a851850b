"""The six Prometheus metrics of a tier run, created against an injectable registry."""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from enum import StrEnum
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from parallel_nodes._otel import trace_ids

__all__ = [
    "DURATION_BUCKETS",
    "METRIC_NAMES",
    "OVERFLOW_LABEL",
    "TIER_RUNS_NAME",
    "FailureType",
    "ParallelMetrics",
    "TierOutcome",
]

_log = logging.getLogger("monitoring")

DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
)
"""Histogram buckets in seconds: request-path work, 5 ms to 10 s, densest where deadlines lie."""

METRIC_NAMES: Final[tuple[str, ...]] = (
    "parallel_execution_duration_seconds",
    "parallel_task_failures_total",
    "parallel_speedup_ratio",
    "parallel_task_duration_seconds",
    "parallel_execution_timeouts_total",
    "parallel_execution_success_rate",
)
"""The six metric names, without a prefix, in the issue's order."""

TIER_RUNS_NAME: Final = "parallel_tier_runs_total"
"""The counter of tier runs by outcome, beside the six (success ratios come from PromQL)."""

OVERFLOW_LABEL: Final = "other"
"""The label value that replaces a task, tier or mode name past the per-label cap."""

_MAX_NAMES: Final = 500
_PREFIX = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class FailureType(StrEnum):
    """Why a task fell back to its default: the ``failure_type`` label's fixed values.

    Example:
        >>> FailureType("timeout") is FailureType.TIMEOUT
        True
    """

    TIMEOUT = "timeout"
    ERROR = "error"
    CIRCUIT_OPEN = "circuit_open"
    INVALID_OUTPUT = "invalid_output"
    CANCELLED = "cancelled"


class TierOutcome(StrEnum):
    """How a tier run ended: the ``outcome`` label's fixed values.

    Example:
        >>> TierOutcome("deadline") is TierOutcome.DEADLINE
        True
    """

    OK = "ok"
    """Every task gave its own value (or was disabled)."""
    DEGRADED = "degraded"
    """Some task fell back to its default, within the deadline."""
    DEADLINE = "deadline"
    """The tier deadline cut the run off."""
    CANCELLED_BY_CALLER = "cancelled_by_caller"
    """The caller (the graph, a client disconnect) cancelled the run."""


def _exemplar() -> dict[str, str] | None:
    """The current trace and span id, for an exemplar; ``None`` when no span is recording."""
    ids = trace_ids()
    if ids is None:
        return None
    return {"trace_id": ids[0], "span_id": ids[1]}


class _Names:
    """Caps the distinct values one label takes, so a bug can never explode cardinality."""

    __slots__ = ("_kind", "_seen", "_warned")

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._seen: set[str] = set()
        self._warned = False

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"{self._kind}: expected a non-empty name declared in code, got {value!r}"
            )
        if len(self._seen) >= _MAX_NAMES:
            if not self._warned:
                self._warned = True
                _log.warning(
                    "more than %d distinct %s label values; new ones are recorded as %r. "
                    "Label values must be names declared in code, never user text.",
                    _MAX_NAMES,
                    self._kind,
                    OVERFLOW_LABEL,
                )
            return OVERFLOW_LABEL
        self._seen.add(value)
        return value


class ParallelMetrics:
    """The six metrics, plus the sliding window behind the success-rate gauge.

    Create one per registry and prefix; a second one on the same registry and prefix raises,
    because Prometheus rejects duplicate series. The window of recent runs is per process; in
    multi-process serving each gauge keeps the most recent value any process wrote.

    Args:
        registry: Where the metrics are registered; tests pass a fresh ``CollectorRegistry``.
        prefix: Prepended to every name (``"app_"`` gives ``app_parallel_speedup_ratio``)
            to keep two applications apart; a missing trailing underscore is added.
        window: How many recent runs of each (tier, mode) the success rate covers.

    Raises:
        ValueError: If the prefix is not a valid metric name start, ``window`` is below 1, or
            the metrics already exist in ``registry``.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> registry = CollectorRegistry()
        >>> metrics = ParallelMetrics(registry=registry, prefix="demo")
        >>> metrics.observe_tier("retrieval", "default", wall_time=0.2, speedup=2.5,
        ...                      succeeded=True, timed_out=False)
        >>> registry.get_sample_value("demo_parallel_speedup_ratio",
        ...                           {"tier": "retrieval", "mode": "default"})
        2.5
    """

    __slots__ = (
        "_lock",
        "_modes",
        "_seen_tasks",
        "_seen_tiers",
        "_tasks",
        "_tiers",
        "_windows",
        "execution_duration",
        "execution_timeouts",
        "prefix",
        "registry",
        "speedup",
        "success_rate",
        "task_duration",
        "task_failures",
        "tier_runs",
        "window",
    )

    def __init__(
        self,
        *,
        registry: CollectorRegistry = REGISTRY,
        prefix: str = "",
        window: int = 100,
    ) -> None:
        if prefix and not prefix.endswith("_"):
            prefix += "_"
        if prefix and not _PREFIX.match(prefix):
            raise ValueError(
                f"prefix: {prefix!r} is not a metric name start; use letters, digits and "
                "underscores, not starting with a digit, e.g. 'myapp_'"
            )
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window: expected a positive number of runs, got {window!r}")
        self.registry = registry
        self.prefix = prefix
        self.window = window
        p = prefix
        try:
            self.execution_duration = Histogram(
                f"{p}parallel_execution_duration_seconds",
                "Wall time of one tier run, in seconds.",
                ["tier", "mode"],
                registry=registry,
                buckets=DURATION_BUCKETS,
            )
            self.task_failures = Counter(
                f"{p}parallel_task_failures_total",
                "Tasks that fell back to their default, by failure type.",
                ["task_name", "failure_type", "mode"],
                registry=registry,
            )
            self.speedup = Gauge(
                f"{p}parallel_speedup_ratio",
                "Sum of task durations over wall time, for the last tier run.",
                ["tier", "mode"],
                registry=registry,
                multiprocess_mode="mostrecent",
            )
            self.task_duration = Histogram(
                f"{p}parallel_task_duration_seconds",
                "Duration of one task run (retries included), in seconds.",
                ["task_name", "mode"],
                registry=registry,
                buckets=DURATION_BUCKETS,
            )
            self.execution_timeouts = Counter(
                f"{p}parallel_execution_timeouts_total",
                "Tier runs cut off by the tier deadline.",
                ["tier", "mode"],
                registry=registry,
            )
            self.success_rate = Gauge(
                f"{p}parallel_execution_success_rate",
                "Share of recent tier runs (a sliding window) in which no task degraded, 0..1.",
                ["tier", "mode"],
                registry=registry,
                multiprocess_mode="mostrecent",
            )
            self.tier_runs = Counter(
                f"{p}{TIER_RUNS_NAME.removesuffix('_total')}",
                "Tier runs by outcome: ok, degraded, deadline, cancelled_by_caller.",
                ["tier", "mode", "outcome"],
                registry=registry,
            )
        except ValueError as exc:
            exc.add_note(
                "These metrics already exist in this registry: share one ParallelMetrics "
                "(monitoring.default_metrics()), pass prefix= to keep two apps apart, or pass "
                "registry=CollectorRegistry() in tests."
            )
            raise
        self._tiers = _Names("tier")
        self._tasks = _Names("task_name")
        self._modes = _Names("mode")
        self._seen_tiers: set[tuple[str, str]] = set()
        self._seen_tasks: set[tuple[str, str]] = set()
        self._windows: dict[tuple[str, str], deque[bool]] = {}
        # Why a lock: the event loop serializes observers, but the track_* functions and
        # loops in several threads may share one ParallelMetrics.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ParallelMetrics(prefix={self.prefix!r}, window={self.window})"

    def _tier_key(self, tier: str, mode: str) -> tuple[str, str]:
        key = (self._tiers(tier), self._modes(mode))
        if key not in self._seen_tiers:
            # Why: a counter that exists at 0 lets rate() see its first increment.
            self.execution_timeouts.labels(*key)
            for outcome in TierOutcome:
                self.tier_runs.labels(*key, outcome.value)
            self._seen_tiers.add(key)
        return key

    def _task_key(self, task_name: str, mode: str) -> tuple[str, str]:
        key = (self._tasks(task_name), self._modes(mode))
        if key not in self._seen_tasks:
            for failure in FailureType:
                self.task_failures.labels(key[0], failure.value, key[1])
            self._seen_tasks.add(key)
        return key

    def observe_tier(
        self,
        tier: str,
        mode: str,
        *,
        wall_time: float,
        speedup: float | None = None,
        succeeded: bool | None = None,
        timed_out: bool = False,
        outcome: TierOutcome | str | None = None,
    ) -> None:
        """Record one tier run.

        Args:
            tier: The tier's declared name.
            mode: The mode label declared in code.
            wall_time: Seconds the run took.
            speedup: Sum of task durations over wall time; ``None`` leaves the gauge alone.
            succeeded: Whether no task degraded; ``None`` leaves the success window alone.
            timed_out: Whether the tier deadline cut the run off.
            outcome: How the run ended, for ``parallel_tier_runs_total``; ``None`` counts
                nothing there.

        With a span recording (OpenTelemetry), the duration carries its trace id as an exemplar.
        """
        key = self._tier_key(tier, mode)
        self.execution_duration.labels(*key).observe(max(0.0, wall_time), _exemplar())
        if outcome is not None:
            self.observe_outcome(tier, mode, outcome)
        if speedup is not None:
            self.speedup.labels(*key).set(speedup)
        if timed_out:
            self.execution_timeouts.labels(*key).inc()
        if succeeded is not None:
            self.record_outcome(tier, mode, succeeded=succeeded)

    def record_outcome(self, tier: str, mode: str, *, succeeded: bool) -> float:
        """Push one run's outcome into the (tier, mode) window and update the success rate.

        Returns:
            The success rate over the window, 0..1.
        """
        key = self._tier_key(tier, mode)
        with self._lock:
            runs = self._windows.get(key)
            if runs is None:
                runs = self._windows[key] = deque(maxlen=self.window)
            runs.append(bool(succeeded))
            rate = sum(runs) / len(runs)
        self.success_rate.labels(*key).set(rate)
        return rate

    def observe_outcome(self, tier: str, mode: str, outcome: TierOutcome | str) -> None:
        """Count one tier run by how it ended.

        Raises:
            ValueError: If ``outcome`` is not one of ``TierOutcome``'s values.
        """
        try:
            value = TierOutcome(outcome)
        except ValueError:
            raise ValueError(
                f"outcome: {outcome!r} is not one of {[o.value for o in TierOutcome]}; "
                "use monitoring.TierOutcome"
            ) from None
        self.tier_runs.labels(*self._tier_key(tier, mode), value.value).inc()

    def observe_timeout(self, tier: str, mode: str) -> None:
        """Count one tier run cut off by its deadline."""
        self.execution_timeouts.labels(*self._tier_key(tier, mode)).inc()

    def observe_task(self, task_name: str, mode: str, *, duration: float) -> None:
        """Record the duration of one task run, in seconds."""
        key = self._task_key(task_name, mode)
        self.task_duration.labels(*key).observe(max(0.0, duration), _exemplar())

    def observe_failure(self, task_name: str, failure_type: FailureType | str, mode: str) -> None:
        """Count one task that fell back to its default.

        Raises:
            ValueError: If ``failure_type`` is not one of ``FailureType``'s values.
        """
        try:
            failure = FailureType(failure_type)
        except ValueError:
            raise ValueError(
                f"failure_type: {failure_type!r} is not one of "
                f"{[f.value for f in FailureType]}; use monitoring.FailureType"
            ) from None
        task, m = self._task_key(task_name, mode)
        self.task_failures.labels(task, failure.value, m).inc()
