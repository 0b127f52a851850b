"""Circuit breakers: stop calling a backend that keeps failing, then probe it before trusting it.

The state machine is a set of pure functions over an immutable :class:`BreakerSnapshot`, so it
can be tested with a made-up clock and no sleeping::

    CLOSED ──(failure_threshold consecutive failures, or failure_rate over window)──▶ OPEN
    OPEN ──(recovery_timeout elapsed; the next allow() becomes a probe)──▶ HALF_OPEN
    HALF_OPEN ──(success_threshold probe successes)──▶ CLOSED
    HALF_OPEN ──(any probe failure)──▶ OPEN

:class:`CircuitBreaker` is the mutable run state around it. Its snapshot lives in a
:class:`BreakerStore`: the in-process :class:`InMemoryBreakerStore` by default, or
:class:`RedisBreakerStore` so that several worker processes share one breaker.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._errors import CircuitOpenError, ConfigError
from ._task import coerce_seconds

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = [
    "BreakerPolicy",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitOpenError",
    "InMemoryBreakerStore",
    "RedisBreakerStore",
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


_DEFAULT_POLICY = BreakerPolicy()


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


# --- storage -------------------------------------------------------------------------------


@runtime_checkable
class BreakerStore(Protocol):
    """Where breaker snapshots live, applying each transition atomically."""

    @property
    def clock(self) -> Callable[[], float]:
        """The clock that suits the store's reach (monotonic in-process, wall-clock shared)."""
        ...

    async def update(self, name: str, transition: Transition) -> tuple[bool, BreakerSnapshot]:
        """Apply ``transition`` to ``name``'s snapshot atomically; return its answer and result."""
        ...

    async def load(self, name: str) -> BreakerSnapshot:
        """The current snapshot of ``name`` (a fresh closed one if it has none)."""
        ...


class InMemoryBreakerStore:
    """Snapshots in a dict, for breakers shared by the tasks of one process.

    The event loop runs one transition at a time and transitions never await, so no lock is
    needed; :class:`CircuitBreaker` calls :meth:`update_now` directly.

    Example:
        >>> store = InMemoryBreakerStore()
        >>> store.update_now("llm", lambda s: (True, s))[0]
        True
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._snapshots: dict[str, BreakerSnapshot] = {}

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def update_now(self, name: str, transition: Transition) -> tuple[bool, BreakerSnapshot]:
        """Apply ``transition`` synchronously; the in-process fast path."""
        answer, after = transition(self._snapshots.get(name, _CLOSED))
        self._snapshots[name] = after
        return answer, after

    async def update(self, name: str, transition: Transition) -> tuple[bool, BreakerSnapshot]:
        return self.update_now(name, transition)

    async def load(self, name: str) -> BreakerSnapshot:
        return self._snapshots.get(name, _CLOSED)


_CLOSED = BreakerSnapshot()
_FORMAT = 1

# Compare-and-set in one round trip: write ARGV[2] only if the key still holds ARGV[1] (``""``
# for a missing key); on a mismatch return what it holds, so the caller can retry at once.
_CAS = """
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current == ARGV[1] then
  if ARGV[2] ~= ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
  return {1, ARGV[2]}
end
return {0, current}
"""


def _encode(snapshot: BreakerSnapshot) -> str:
    return json.dumps(
        {
            "v": _FORMAT,
            "state": snapshot.state.value,
            "consecutive_failures": snapshot.consecutive_failures,
            "recent": "".join("1" if ok else "0" for ok in snapshot.recent),
            "opened_at": snapshot.opened_at,
            "half_open_in_flight": snapshot.half_open_in_flight,
            "half_open_successes": snapshot.half_open_successes,
            "probe_at": snapshot.probe_at,
        },
        separators=(",", ":"),
    )


def _decode(raw: str, key: str) -> BreakerSnapshot:
    if not raw:
        return _CLOSED
    try:
        data: dict[str, Any] = json.loads(raw)
        if data.get("v") != _FORMAT:
            raise ValueError(f"format {data.get('v')!r}")
        return BreakerSnapshot(
            state=BreakerState(data["state"]),
            consecutive_failures=int(data["consecutive_failures"]),
            recent=tuple(c == "1" for c in data["recent"]),
            opened_at=data["opened_at"],
            half_open_in_flight=int(data["half_open_in_flight"]),
            half_open_successes=int(data["half_open_successes"]),
            probe_at=data["probe_at"],
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"Redis key {key!r} does not hold a breaker snapshot this version can read ({exc}); "
            "delete the key, or give RedisBreakerStore a different prefix"
        ) from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisBreakerStore:
    """Snapshots in Redis, so every worker process sees and moves the same breaker.

    Each snapshot is a JSON string under ``prefix + name``. A transition runs in Python (the
    same pure functions as in-process) and is written with a compare-and-set Lua script; when
    another process got there first, the script returns the newer snapshot and the transition is
    applied again to that. Within one process, updates to a breaker queue behind each other, so
    retries only happen between processes. Times default to ``time.time`` because monotonic
    clocks of different processes or hosts cannot be compared.

    Example:
        >>> import redis.asyncio as redis
        >>> store = RedisBreakerStore(redis.Redis(), prefix="myapp:breaker:")
        >>> breaker = CircuitBreaker("search_api", store=store)
    """

    def __init__(
        self,
        redis_client: Redis,
        *,
        prefix: str = "parallel_nodes:breaker:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Keep breakers in ``redis_client`` under keys starting with ``prefix``.

        Args:
            redis_client: A ``redis.asyncio.Redis`` client, with or without
                ``decode_responses``.
            prefix: Prepended to each breaker's name to make its key.
            clock: Wall-clock seconds, the same on every process sharing the breakers.
        """
        self._redis = redis_client
        self._prefix = prefix
        self._clock = clock
        self._script: AsyncScript = redis_client.register_script(_CAS)
        self._seen: dict[str, str] = {}
        # Locks belong to an event loop; keep them per loop so a store outlives one loop.
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()
        self.conflicts = 0
        """How many times another process changed a snapshot under us (and we retried)."""

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def key(self, name: str) -> str:
        """The Redis key that holds breaker ``name``."""
        return self._prefix + name

    def _lock(self, name: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        lock = locks.get(name)
        if lock is None:
            lock = locks[name] = asyncio.Lock()
        return lock

    async def update(self, name: str, transition: Transition) -> tuple[bool, BreakerSnapshot]:
        key = self.key(name)
        async with self._lock(name):
            expected = self._seen.get(name, "")
            while True:
                before = _decode(expected, key)
                answer, after = transition(before)
                written = expected if after == before else _encode(after)
                done, current = await self._script(keys=[key], args=[expected, written])
                current = _text(current)
                self._seen[name] = current
                if done:
                    return answer, after
                self.conflicts += 1
                expected = current

    async def load(self, name: str) -> BreakerSnapshot:
        raw = await self._redis.get(self.key(name))
        text = "" if raw is None else _text(raw)
        self._seen[name] = text
        return _decode(text, self.key(name))


# --- the run-state object ------------------------------------------------------------------


class CircuitBreaker:
    """A named circuit breaker: the mutable run state that applies a :class:`BreakerPolicy`.

    Share one instance (or one name in a shared store) between every call to the same backend.
    Ask :meth:`allow` (or :meth:`check`) before each call, then report the outcome with
    :meth:`record_success`, :meth:`record_failure` or, for a cancelled call, :meth:`release`.

    Example:
        >>> import asyncio
        >>> breaker = CircuitBreaker("search", policy=BreakerPolicy(failure_threshold=2))
        >>> async def demo():
        ...     for _ in range(2):
        ...         await breaker.allow()
        ...         await breaker.record_failure()
        ...     return await breaker.allow(), breaker.state
        >>> asyncio.run(demo())
        (False, <BreakerState.OPEN: 'open'>)
    """

    def __init__(
        self,
        name: str,
        *,
        policy: BreakerPolicy = _DEFAULT_POLICY,
        clock: Callable[[], float] | None = None,
        store: BreakerStore | None = None,
    ) -> None:
        """Create the breaker.

        Args:
            name: Identifies the breaker in its store and in :class:`CircuitOpenError`.
            policy: When to open and how to recover.
            clock: Seconds as a float; defaults to the store's clock (``time.monotonic`` for
                the in-memory store, ``time.time`` for Redis).
            store: Where the state lives; a private :class:`InMemoryBreakerStore` by default.

        Raises:
            ConfigError: ``name`` is empty or ``policy`` is not a :class:`BreakerPolicy`.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError("name", f"must be a non-empty string, got {name!r}")
        if not isinstance(policy, BreakerPolicy):
            raise ConfigError("policy", f"must be a BreakerPolicy, got {type(policy).__name__}")
        self.name = name
        self.policy = policy
        self.store: BreakerStore = InMemoryBreakerStore() if store is None else store
        self._clock = self.store.clock if clock is None else clock
        self._local = self.store if isinstance(self.store, InMemoryBreakerStore) else None
        self._last = _CLOSED

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self._last.state.value!r})"

    @property
    def state(self) -> BreakerState:
        """The state as of this object's latest call (another process may have moved it)."""
        return self._last.state

    @property
    def snapshot(self) -> BreakerSnapshot:
        """The whole snapshot as of this object's latest call."""
        return self._last

    async def _apply(
        self, step: Callable[[BreakerSnapshot, float], tuple[bool, BreakerSnapshot]]
    ) -> bool:
        now = self._clock()

        def transition(snapshot: BreakerSnapshot) -> tuple[bool, BreakerSnapshot]:
            return step(snapshot, now)

        if self._local is not None:
            answer, self._last = self._local.update_now(self.name, transition)
        else:
            answer, self._last = await self.store.update(self.name, transition)
        return answer

    async def allow(self) -> bool:
        """Whether a call may go through now; if so, the call must be reported afterwards."""
        policy = self.policy
        return await self._apply(lambda s, now: allow(s, policy, now))

    async def check(self) -> None:
        """Like :meth:`allow`, but raise instead of returning ``False``.

        Raises:
            CircuitOpenError: The breaker rejects calls; ``retry_after`` says for how long.
        """
        if not await self.allow():
            raise CircuitOpenError(
                breaker=self.name, retry_after=retry_after(self._last, self.policy, self._clock())
            )

    async def record_success(self) -> None:
        """Report that an admitted call succeeded."""
        policy = self.policy
        await self._apply(lambda s, now: (True, record_success(s, policy, now)))

    async def record_failure(self) -> None:
        """Report that an admitted call failed (including a timeout)."""
        policy = self.policy
        await self._apply(lambda s, now: (True, record_failure(s, policy, now)))

    async def release(self) -> None:
        """Report that an admitted call was cancelled, so it neither succeeded nor failed."""
        policy = self.policy
        await self._apply(lambda s, now: (True, release(s, policy, now)))

    async def refresh(self) -> BreakerState:
        """Read the current state from the store (useful with a shared store)."""
        self._last = await self.store.load(self.name)
        return self._last.state
