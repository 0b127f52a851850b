"""Gauges read at scrape time: circuit breakers, abandoned tasks still running, sync workers.

Why a custom collector rather than gauges set per call: these are states, not events, and the
engine already holds them. Reading them when Prometheus scrapes costs nothing on the request
path and can never drift from the truth (a gauge set on every call would miss the straggler
that ends on its own, minutes later).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from parallel_nodes import Breaker, BreakerState, CircuitBreaker, Engine, Tier
from parallel_nodes.diagnostics import default_engine

__all__ = [
    "BREAKER_STATE_VALUES",
    "EngineCollector",
    "EngineReadings",
    "engine_readings",
    "process_readings",
]

BREAKER_STATE_VALUES: Final[dict[BreakerState, float]] = {
    BreakerState.CLOSED: 0.0,
    BreakerState.HALF_OPEN: 1.0,
    BreakerState.OPEN: 2.0,
}
"""The breaker-state gauge's values: 0 closed, 1 half-open, 2 open (alert on ``== 2``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineReadings:
    """What the engine holds at one instant."""

    stragglers: int
    """Abandoned tasks that have not ended yet."""
    sync_busy: int
    """Sync workers running a task's function."""
    sync_blocked: int
    """Sync task calls waiting for a worker (every worker busy at the pool's cap)."""


def engine_readings(engine: Engine) -> EngineReadings:
    """Read an engine: its straggler set and its sync worker pool."""
    return EngineReadings(
        stragglers=len(engine.stragglers),
        sync_busy=engine.pool.busy,
        sync_blocked=engine.pool.blocked,
    )


def process_readings() -> EngineReadings:
    """Read the process's default engine."""
    return engine_readings(default_engine())


class EngineCollector(Collector):
    """Collects ``parallel_breaker_state``, ``parallel_stragglers`` and ``parallel_sync_workers``.

    Args:
        registry: Where to register; ``None`` leaves registering to the caller.
        prefix: Prepended to every name, as for ``ParallelMetrics``.
        readings: Reads the engine; :func:`process_readings` by default.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> registry = CollectorRegistry()
        >>> collector = EngineCollector(registry=registry)
        >>> registry.get_sample_value("parallel_stragglers")
        0
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        prefix: str = "",
        readings: Callable[[], EngineReadings] = process_readings,
    ) -> None:
        if prefix and not prefix.endswith("_"):
            prefix += "_"
        self.prefix = prefix
        self.readings = readings
        self._breakers: weakref.WeakValueDictionary[str, CircuitBreaker] = (
            weakref.WeakValueDictionary()
        )
        if registry is not None:
            registry.register(self)

    def watch(self, *tiers: Tier, engine: Engine | None = None) -> None:
        """Report the state of every breaker the tiers' tasks use, under the task's name.

        Args:
            engine: The engine that runs the tiers, which holds the breakers the tasks name
                (``Breaker``); the process's default engine by default.
        """
        for tier in tiers:
            for task in tier.tasks:
                breaker = task.breaker
                if isinstance(breaker, Breaker):
                    breaker = (engine or default_engine()).breaker(breaker)
                if breaker is not None:
                    self._breakers[task.name] = breaker

    def watch_breakers(self, breakers: Iterable[tuple[str, CircuitBreaker]]) -> None:
        """Report these breakers' states, each under the given task name."""
        for name, breaker in breakers:
            self._breakers[name] = breaker

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families(EngineReadings(stragglers=0, sync_busy=0, sync_blocked=0)))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families(self.readings()))

    def _families(self, now: EngineReadings) -> list[GaugeMetricFamily]:
        p = self.prefix
        breakers = GaugeMetricFamily(
            f"{p}parallel_breaker_state",
            "Circuit breaker state per task: 0 closed, 1 half-open, 2 open (as of its last call).",
            labels=["task_name"],
        )
        for name, breaker in sorted(self._breakers.items()):
            breakers.add_metric([name], BREAKER_STATE_VALUES[breaker.state])
        stragglers = GaugeMetricFamily(
            f"{p}parallel_stragglers",
            "Tasks abandoned at a timeout or deadline that are still running.",
            value=now.stragglers,
        )
        workers = GaugeMetricFamily(
            f"{p}parallel_sync_workers",
            "Sync task workers: busy running a function, or calls blocked waiting for one.",
            labels=["state"],
        )
        workers.add_metric(["busy"], now.sync_busy)
        workers.add_metric(["blocked"], now.sync_blocked)
        return [breakers, stragglers, workers]
