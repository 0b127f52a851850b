"""Outlier detection for replicas, as in Envoy: the policy (frozen), one replica's run state,
and the statistics a :class:`~parallel_nodes.ReplicaSet` reports."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from ._errors import ConfigError

__all__ = ["OutlierDetection", "ReplicaHealth", "ReplicaStats"]

_LATENCY_WINDOW = 512  # enough for a stable p95; old calls say little about a replica now


def _seconds(value: float | timedelta, field: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ConfigError(field, f"must be seconds as a float or a timedelta, got {value!r}")
    if not 0 < seconds < math.inf:
        raise ConfigError(field, f"must be a positive, finite number of seconds, got {value!r}")
    return float(seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlierDetection:
    """When a replica is ejected, and for how long (Envoy's outlier detection).

    A replica is ejected after ``consecutive_failures`` failures in a row, or when its error
    rate over its last ``window`` calls reaches ``error_rate``. After ``cool_down`` seconds it
    gets one probe call: a success re-admits it; a failure ejects it again for twice as long,
    up to ``max_cool_down``.

    Example:
        >>> OutlierDetection(consecutive_failures=3, cool_down=10.0).max_cool_down
        20.0
    """

    consecutive_failures: int = 5
    """Failures in a row that eject a replica."""
    error_rate: float | None = None
    """Eject when this share of the last ``window`` calls failed (``None``: only the streak)."""
    window: int = 20
    """Calls the error rate is measured over; no verdict before this many."""
    cool_down: float | timedelta = 30.0
    """Seconds an ejected replica gets no calls before its probe."""
    max_cool_down: float | timedelta | None = None
    """The longest cool-down after repeated failed probes; default: twice ``cool_down``, so a
    replica that recovers is back within two cool-downs."""
    max_ejected: float = 0.5
    """At most this share of the replicas is ejected at once (at least one may be)."""

    def __post_init__(self) -> None:
        streak = self.consecutive_failures
        if isinstance(streak, bool) or not isinstance(streak, int) or streak < 1:
            raise ConfigError("outlier.consecutive_failures", f"must be >= 1, got {streak!r}")
        rate = self.error_rate
        if rate is not None and not (isinstance(rate, int | float) and 0 < rate <= 1):
            raise ConfigError("outlier.error_rate", f"must be in (0, 1] or None, got {rate!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 2:
            raise ConfigError("outlier.window", f"must be a whole number >= 2, got {self.window!r}")
        cool = _seconds(self.cool_down, "outlier.cool_down")
        longest = (
            2 * cool
            if self.max_cool_down is None
            else _seconds(self.max_cool_down, "outlier.max_cool_down")
        )
        if longest < cool:
            raise ConfigError("outlier.max_cool_down", "must be at least cool_down")
        share = self.max_ejected
        if not (isinstance(share, int | float) and 0 < share <= 1):
            raise ConfigError("outlier.max_ejected", f"must be in (0, 1], got {share!r}")
        # Normalised once: the engine reads plain seconds on every call.
        object.__setattr__(self, "cool_down", cool)
        object.__setattr__(self, "max_cool_down", longest)

    def should_eject(self, health: ReplicaHealth) -> bool:
        """Whether a replica's recent calls say it is an outlier."""
        if health.streak >= self.consecutive_failures:
            return True
        recent = health.recent
        if self.error_rate is None or len(recent) < self.window:
            return False
        window = list(recent)[-self.window :]
        return window.count(False) / self.window >= self.error_rate


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaStats:
    """One replica's recent record, from :meth:`ReplicaSet.stats`."""

    index: int
    """The replica's position in the set."""
    requests: int
    """Calls that ended (cancelled ones excluded)."""
    failures: int
    """Of those, how many failed."""
    error_rate: float
    """Share of the recent calls that failed."""
    p50: float | None
    """Median duration of the recent calls, seconds (``None`` before the first)."""
    p95: float | None
    """95th percentile of the recent call durations, seconds."""
    in_flight: int
    """Calls running now."""
    ejected: bool
    """Whether outlier detection has taken the replica out of rotation."""
    ejections: int
    """Times it was ejected so far."""


class ReplicaHealth:
    """One replica's mutable record: streak, recent outcomes and latencies, ejection."""

    __slots__ = (
        "cool_down",
        "ejected",
        "ejected_until",
        "ejections",
        "failures",
        "latencies",
        "probing",
        "recent",
        "requests",
        "streak",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.streak = 0
        self.recent: deque[bool] = deque(maxlen=_LATENCY_WINDOW)
        self.latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self.ejected = False
        self.ejected_until = 0.0
        self.ejections = 0
        self.cool_down = 0.0
        self.probing = False

    def record(self, seconds: float, *, ok: bool) -> None:
        """Count one finished call."""
        self.requests += 1
        self.recent.append(ok)
        self.latencies.append(seconds)
        if ok:
            self.streak = 0
        else:
            self.failures += 1
            self.streak += 1

    def probe_due(self, now: float) -> bool:
        """Whether the replica's cool-down is over and no probe is in flight."""
        return self.ejected and not self.probing and now >= self.ejected_until

    def eject(self, now: float, policy: OutlierDetection) -> None:
        """Take the replica out of rotation; a repeat ejection doubles the cool-down."""
        base = float(policy.cool_down)  # type: ignore[arg-type]  # seconds after __post_init__
        longest = float(policy.max_cool_down)  # type: ignore[arg-type]
        self.cool_down = base if not self.ejected else min(2 * self.cool_down, longest)
        self.ejected = True
        self.ejected_until = now + self.cool_down
        self.ejections += 1

    def readmit(self) -> None:
        """Back into rotation with a clean record."""
        self.ejected = False
        self.cool_down = 0.0
        self.streak = 0
        self.recent.clear()

    def snapshot(self, index: int, *, in_flight: int) -> ReplicaStats:
        """The replica's :class:`ReplicaStats`."""
        recent = self.recent
        ordered = sorted(self.latencies)
        return ReplicaStats(
            index=index,
            requests=self.requests,
            failures=self.failures,
            error_rate=recent.count(False) / len(recent) if recent else 0.0,
            p50=_quantile(ordered, 0.5),
            p95=_quantile(ordered, 0.95),
            in_flight=in_flight,
            ejected=self.ejected,
            ejections=self.ejections,
        )


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]
