"""Circuit breakers: stop calling a backend that keeps failing, then probe it before trusting it.

:class:`Breaker` is what a task carries: a frozen name and :class:`BreakerPolicy`. The
:class:`~._engine.Engine` that runs the task resolves that name to a handle, once, in its store.
:class:`CircuitBreaker` is that handle: the mutable run state around a pure state machine
(:mod:`._breaker_machine`: :class:`BreakerPolicy`, :class:`BreakerSnapshot` and the transition
functions). Its snapshot lives in a :class:`BreakerStore` (:mod:`._breaker_store`): the
in-process :class:`InMemoryBreakerStore` by default, or :class:`RedisBreakerStore`
(:mod:`._breaker_redis`) so that several worker processes share one breaker. Every breaker name
is importable from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from ._breaker_machine import (
    _CLOSED,
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    Transition,
    allow,
    record_failure,
    record_success,
    release,
    retry_after,
)
from ._breaker_redis import RedisBreakerStore
from ._breaker_store import BreakerStore, InMemoryBreakerStore
from ._errors import CircuitOpenError, ConfigError

__all__ = [
    "Breaker",
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

_DEFAULT_POLICY = BreakerPolicy()


@dataclass(frozen=True, slots=True)
class Breaker:
    """Which circuit breaker a task calls through: a name and its policy, as frozen data.

    The breaker's state is not here: the engine that runs the task keeps one handle per name
    in its store (``Engine(breakers=...)``; in process by default, ``RedisBreakerStore`` to
    share it between processes), so every task naming ``"search"`` trips and heals one breaker.
    Read it with ``engine.breaker("search")``.

    Example:
        >>> import asyncio
        >>> from parallel_nodes import Engine, Task, Tier, run_tier
        >>> search = Breaker("search", policy=BreakerPolicy(failure_threshold=1))
        >>> async def down(state):
        ...     raise ConnectionError("search is down")
        >>> rag = Task("rag", down, timeout=1.0, default=[], breaker=search)
        >>> engine = Engine()
        >>> run = run_tier(Tier("t", [rag], timeout=1.0), {}, engine=engine, observers=())
        >>> asyncio.run(run).tasks["rag"].status.value
        'error'
        >>> engine.breaker("search").state
        <BreakerState.OPEN: 'open'>
    """

    name: str
    """Identifies the breaker in the engine's store, in ``CircuitOpenError`` and in metrics."""
    _: KW_ONLY
    policy: BreakerPolicy = _DEFAULT_POLICY
    """When it opens and how it recovers; every task naming the breaker gives the same one."""

    def __post_init__(self) -> None:
        name, policy = self.name, self.policy
        if not isinstance(name, str) or not name:
            raise ConfigError(
                "breaker.name", f"must be a non-empty string such as 'search', got {name!r}"
            )
        if not isinstance(policy, BreakerPolicy):
            raise ConfigError(
                "breaker.policy",
                f"must be a BreakerPolicy, e.g. BreakerPolicy(failure_threshold=3), got {policy!r}",
            )


class CircuitBreaker:
    """A circuit breaker's handle: the mutable run state that applies a :class:`BreakerPolicy`.

    An engine makes one per :class:`Breaker` name (``engine.breaker(name)`` returns it): a task
    names its breaker with ``Task(breaker=Breaker(...))``. Built by hand and put on
    ``Task(breaker=...)``, an instance still works, shared by every task given it, in every
    engine; prefer :class:`Breaker`, which keeps the task a plain value.
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
