"""The circuit breaker's state machine: pure functions over an immutable :class:`BreakerSnapshot`.

Each transition takes a snapshot, a :class:`BreakerPolicy` and the time, and returns a new
snapshot, so the machine can be tested with a made-up clock and no sleeping::

    CLOSED ──(failure_threshold consecutive failures, or failure_rate over window)──▶ OPEN
    OPEN ──(recovery_timeout elapsed; the next allow() becomes a probe)──▶ HALF_OPEN
    HALF_OPEN ──(success_threshold probe successes)──▶ CLOSED
    HALF_OPEN ──(any probe failure)──▶ OPEN

Where snapshots are kept is :mod:`._breaker_store` (and :mod:`._breaker_redis`); the run-state
object that applies the machine is :class:`~._breaker.CircuitBreaker`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from ._errors import ConfigError
from ._values import coerce_seconds

__all__ = [
    "BreakerPolicy",
    "BreakerSnapshot",
    "BreakerState",
    "Transition",
    "allow",
    "record_failure",
    "record_success",
    "release",
    "retry_after",
]


def _positive_int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(field, f"must be a whole number of at least 1, got {value!r}")
    return value


@dataclass(kw_only=True, slots=True, frozen=True, init=False)
class BreakerPolicy:
    """When a circuit breaker opens, and how it recovers.

    Example:
        >>> from datetime import timedelta
        >>> policy = BreakerPolicy(failure_threshold=3, recovery_timeout=timedelta(seconds=10))
        >>> policy.recovery_timeout
        10.0
        >>> BreakerPolicy(failure_rate=0.5, window=20, min_calls=10).min_calls
        10
    """

    failure_threshold: int
    """Consecutive failures that open the breaker while it is closed."""
    failure_rate: float | None
    """Also open when this share of the last ``window`` calls failed (``0 < rate <= 1``)."""
    window: int
    """How many recent calls ``failure_rate`` looks at."""
    min_calls: int
    """Calls needed in the window before ``failure_rate`` can open the breaker."""
    recovery_timeout: float
    """Seconds the breaker stays open before it lets a probe call through."""
    half_open_max_calls: int
    """Probe calls allowed at once while half-open; more callers are rejected."""
    success_threshold: int
    """Probe successes needed to close the breaker again."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        failure_rate: float | None = None,
        window: int = 20,
        min_calls: int | None = None,
        recovery_timeout: float | timedelta = 30.0,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
    ) -> None:
        """Validate and normalise the policy.

        Args:
            failure_threshold: Consecutive failures that open the breaker.
            failure_rate: Failure share over the last ``window`` calls that opens it, or
                ``None`` to count consecutive failures only.
            window: Calls in the failure-rate window.
            min_calls: Calls needed before the rate counts; ``window`` when omitted.
            recovery_timeout: Seconds (or a ``timedelta``) to stay open before probing.
            half_open_max_calls: Probes allowed at once while half-open.
            success_threshold: Probe successes that close the breaker.

        Raises:
            ConfigError: A value is out of range; the error names the field.
        """
        window = _positive_int(window, "window")
        if min_calls is None:
            min_calls = window
        min_calls = _positive_int(min_calls, "min_calls")
        if min_calls > window:
            raise ConfigError(
                "min_calls", f"must not exceed window={window}, got {min_calls}; raise window"
            )
        if failure_rate is not None and (
            not isinstance(failure_rate, int | float)
            or isinstance(failure_rate, bool)
            or not 0.0 < failure_rate <= 1.0
        ):
            raise ConfigError(
                "failure_rate",
                f"must be a share between 0 (exclusive) and 1, e.g. 0.5, got {failure_rate!r}",
            )
        set_ = object.__setattr__
        set_(self, "failure_threshold", _positive_int(failure_threshold, "failure_threshold"))
        set_(self, "failure_rate", None if failure_rate is None else float(failure_rate))
        set_(self, "window", window)
        set_(self, "min_calls", min_calls)
        set_(self, "recovery_timeout", coerce_seconds(recovery_timeout, field="recovery_timeout"))
        set_(
            self,
            "half_open_max_calls",
            _positive_int(half_open_max_calls, "half_open_max_calls"),
        )
        set_(self, "success_threshold", _positive_int(success_threshold, "success_threshold"))


class BreakerState(StrEnum):
    """Where a circuit breaker is in its cycle."""

    CLOSED = "closed"
    """Calls go through; failures are counted."""
    OPEN = "open"
    """Calls are rejected until ``recovery_timeout`` has passed."""
    HALF_OPEN = "half_open"
    """A few probe calls go through to test the backend."""


@dataclass(kw_only=True, slots=True, frozen=True)
class BreakerSnapshot:
    """One breaker's whole state at one moment; the transition functions return new ones.

    Times come from the breaker's clock: ``time.monotonic`` in one process, ``time.time`` when
    the snapshot is shared through Redis.

    Example:
        >>> from parallel_nodes._breaker_machine import BreakerPolicy, record_failure
        >>> s = BreakerSnapshot()
        >>> s = record_failure(s, BreakerPolicy(failure_threshold=1), now=5.0)
        >>> s.state, s.opened_at
        (<BreakerState.OPEN: 'open'>, 5.0)
    """

    state: BreakerState = BreakerState.CLOSED
    """The current state."""
    consecutive_failures: int = 0
    """Failures since the last success while closed (kept when the breaker opens)."""
    recent: tuple[bool, ...] = ()
    """Outcomes of the latest calls while closed, oldest first, ``True`` for success.

    Only kept when the policy has a ``failure_rate``; at most ``window`` long.
    """
    opened_at: float | None = None
    """When the breaker last opened."""
    half_open_in_flight: int = 0
    """Probe calls admitted and not yet reported."""
    half_open_successes: int = 0
    """Probe successes since the breaker went half-open."""
    probe_at: float | None = None
    """When the latest probe was admitted; probes unreported for ``recovery_timeout`` are
    presumed lost (a cancelled task, a crashed worker) so the breaker cannot stick half-open."""


_CLOSED = BreakerSnapshot()
"""A fresh closed snapshot: what a breaker with no stored state is in."""

Transition = Callable[[BreakerSnapshot], tuple[bool, BreakerSnapshot]]
"""A pure step: takes the current snapshot, returns ``(answer, new snapshot)``."""


def allow(
    snapshot: BreakerSnapshot, policy: BreakerPolicy, now: float
) -> tuple[bool, BreakerSnapshot]:
    """Whether a call may go through now, and the snapshot after admitting it.

    An open breaker whose ``recovery_timeout`` has passed turns half-open and admits this call
    as its first probe. Each admitted call must later be reported with :func:`record_success`,
    :func:`record_failure` or :func:`release`.

    Args:
        snapshot: The current state.
        policy: The breaker's policy.
        now: The current time on the breaker's clock.

    Returns:
        ``(allowed, new_snapshot)``.
    """
    state = snapshot.state
    if state is BreakerState.CLOSED:
        return True, snapshot
    if state is BreakerState.OPEN:
        opened_at = now if snapshot.opened_at is None else snapshot.opened_at
        if now - opened_at < policy.recovery_timeout:
            return False, snapshot
        return True, replace(
            snapshot,
            state=BreakerState.HALF_OPEN,
            half_open_in_flight=1,
            half_open_successes=0,
            probe_at=now,
        )
    in_flight = snapshot.half_open_in_flight
    if (
        in_flight >= policy.half_open_max_calls
        and snapshot.probe_at is not None
        and now - snapshot.probe_at >= policy.recovery_timeout
    ):
        in_flight = 0
    if in_flight >= policy.half_open_max_calls:
        return False, snapshot
    return True, replace(snapshot, half_open_in_flight=in_flight + 1, probe_at=now)


def _opened(snapshot: BreakerSnapshot, now: float) -> BreakerSnapshot:
    return replace(
        snapshot,
        state=BreakerState.OPEN,
        recent=(),
        opened_at=now,
        half_open_in_flight=0,
        half_open_successes=0,
        probe_at=None,
    )


def _remember(snapshot: BreakerSnapshot, policy: BreakerPolicy, ok: bool) -> tuple[bool, ...]:
    if policy.failure_rate is None:
        return ()
    return (*snapshot.recent, ok)[-policy.window :]


def record_success(snapshot: BreakerSnapshot, policy: BreakerPolicy, now: float) -> BreakerSnapshot:
    """The snapshot after an admitted call succeeded.

    Closed: resets the consecutive-failure count. Half-open: counts a probe success and closes
    the breaker at ``success_threshold``. Open: a late report from a call admitted before the
    breaker opened, which changes nothing.
    """
    state = snapshot.state
    if state is BreakerState.CLOSED:
        return replace(
            snapshot, consecutive_failures=0, recent=_remember(snapshot, policy, ok=True)
        )
    if state is BreakerState.HALF_OPEN:
        successes = snapshot.half_open_successes + 1
        if successes >= policy.success_threshold:
            return BreakerSnapshot()
        return replace(
            snapshot,
            half_open_in_flight=max(snapshot.half_open_in_flight - 1, 0),
            half_open_successes=successes,
        )
    return snapshot


def record_failure(snapshot: BreakerSnapshot, policy: BreakerPolicy, now: float) -> BreakerSnapshot:
    """The snapshot after an admitted call failed.

    Closed: counts the failure and opens the breaker at ``failure_threshold`` consecutive
    failures, or when the failure rate over the window reaches ``failure_rate``. Half-open: the
    probe failed, so the breaker opens again. Open: a late report, which changes nothing.
    """
    state = snapshot.state
    if state is BreakerState.HALF_OPEN:
        return _opened(snapshot, now)
    if state is BreakerState.OPEN:
        return snapshot
    failures = snapshot.consecutive_failures + 1
    recent = _remember(snapshot, policy, ok=False)
    after = replace(snapshot, consecutive_failures=failures, recent=recent)
    if failures >= policy.failure_threshold:
        return _opened(after, now)
    rate = policy.failure_rate
    if (
        rate is not None
        and len(recent) >= policy.min_calls
        and recent.count(False) / len(recent) >= rate
    ):
        return _opened(after, now)
    return after


def release(snapshot: BreakerSnapshot, policy: BreakerPolicy, now: float) -> BreakerSnapshot:
    """The snapshot after an admitted call ended with no verdict (it was cancelled).

    Frees a half-open probe slot without counting a success or a failure.
    """
    if snapshot.state is BreakerState.HALF_OPEN and snapshot.half_open_in_flight > 0:
        return replace(snapshot, half_open_in_flight=snapshot.half_open_in_flight - 1)
    return snapshot


def retry_after(snapshot: BreakerSnapshot, policy: BreakerPolicy, now: float) -> float:
    """Seconds until the breaker may admit a call again; ``0.0`` when it would now.

    Computed the way :func:`allow` compares times, so ``0.0`` here means ``allow`` admits.
    """
    if snapshot.state is BreakerState.OPEN and snapshot.opened_at is not None:
        return max(policy.recovery_timeout - (now - snapshot.opened_at), 0.0)
    if (
        snapshot.state is BreakerState.HALF_OPEN
        and snapshot.half_open_in_flight >= policy.half_open_max_calls
        and snapshot.probe_at is not None
    ):
        return max(policy.recovery_timeout - (now - snapshot.probe_at), 0.0)
    return 0.0
