"""``Engine``: everything a tier run changes, in one object you can pass in.

Tasks, tiers and strategies are frozen values; what moves lives here: the observers, the sync
worker pool, the straggler set and its counters, the backoff ``sleep``, and each task's run
state (its call chain, built once, and its hedging and replica record). ``run_tier`` and
``parallel_node`` take ``engine=``; without one, a run uses the engine of the run it is nested
in, else the process's default engine (``default_engine()``), on which the metrics package
installs its observer on first use.

Time is the event loop's: every timer is a ``loop.call_at``, so a test that runs on a
fast-forwarding loop (``tests/_virtual.py``) runs the scheduler, strategies, retries and
hedges on virtual time. What reads a clock outside a timer (breaker cool-downs, replica
ejections) reads ``Engine.clock``, by default that same loop time; the backoff sleep is
``Engine.sleep``. Both are injectable.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from ._breaker import Breaker, BreakerStore, CircuitBreaker, InMemoryBreakerStore
from ._call import Call, build_call
from ._deprecated import adapt_observers
from ._errors import ConfigError
from ._hedge import HedgeState
from ._observe import TierObserver
from ._stragglers import Stragglers
from ._task import Task
from ._threads import SyncPool, shared_pool

if TYPE_CHECKING:
    from langgraph.cache.base import BaseCache

__all__ = [
    "CURRENT_ENGINE",
    "Engine",
    "abandoned_total",
    "default_engine",
    "get_default_observers",
    "set_default_observers",
    "starved_total",
    "straggler_count",
    "thread_count",
]

CURRENT_ENGINE: Final[contextvars.ContextVar[Engine | None]] = contextvars.ContextVar(
    "parallel_nodes_engine", default=None
)
"""The engine of the tier run this code runs in, so a nested run (``map_task``) uses it too."""


def loop_time() -> float:
    """The running event loop's time, else ``time.monotonic()`` (what a standard loop reads)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # no loop: a sync health check, or a worker thread
        return time.monotonic()


def _check_observers(observers: Iterable[TierObserver]) -> tuple[TierObserver, ...]:
    """The observers, checked once here, where they are registered, never per run; one
    written for the old ``on_task_finished(tier, mode, result)`` is wrapped (and warned of)."""
    items = tuple(observers)
    for i, obs in enumerate(items):
        if not isinstance(obs, TierObserver):
            raise TypeError(
                f"observers[{i}]: {type(obs).__name__} lacks on_task_finished/on_tier_finished"
            )
    # 5: the warning names the line that built the engine or set its observers.
    return adapt_observers(items, stacklevel=5)


class Engine:
    """Runs tiers: holds the observers, the sync worker pool, the stragglers and each task's
    run state.

    Args:
        observers: Told of every task and tier a run of this engine ends. One written for the
            old ``on_task_finished(tier, mode, result)`` is wrapped here, with a
            ``DeprecationWarning``.
        pool: The daemon workers for sync task functions; the process's shared pool by
            default.
        sleep: How a retry waits between attempts.
        cache: A LangGraph cache (``InMemoryCache``, ``SqliteCache``, ``RedisCache``...) for
            tasks built with ``cache_policy``; it may be the one given to ``compile(cache=...)``.
        clock: Seconds as a float, for what is measured outside the loop's timers: breaker
            cool-downs and replica ejections. Default: the running loop's ``time()`` (so a
            fast-forwarding test loop drives them too), ``time.monotonic()`` off the loop.
        breakers: Where the breakers that tasks name (``Task(breaker=Breaker(...))``) keep
            their state. Default: an in-memory store of this engine's own, on ``clock``.
            Give a ``RedisBreakerStore`` to share breakers between processes; it keeps its own
            wall clock (``time.time``), since other processes compare its timestamps and
            their monotonic clocks do not share an origin.

    Example:
        >>> import asyncio
        >>> from parallel_nodes import Engine, Task, Tier, run_tier
        >>> engine = Engine()
        >>> tier = Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)
        >>> asyncio.run(run_tier(tier, {}, engine=engine)).values
        {'a': 1}
        >>> engine.stragglers.abandoned
        0
        >>> from parallel_nodes import Breaker
        >>> engine.breaker(Breaker("search")).state.value  # a breaker tasks name, by its handle
        'closed'
    """

    __slots__ = (
        "_handles",
        "_install",
        "_observers",
        "_tasks",
        "breakers",
        "cache",
        "clock",
        "pool",
        "sleep",
        "stragglers",
    )

    def __init__(
        self,
        *,
        observers: Iterable[TierObserver] = (),
        pool: SyncPool | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cache: BaseCache[Any] | None = None,
        clock: Callable[[], float] | None = None,
        breakers: BreakerStore | None = None,
    ) -> None:
        self._observers = _check_observers(observers)
        self._install: Callable[[Engine], None] | None = None
        self._tasks: dict[int, tuple[weakref.ref[Task], Call, HedgeState | None]] = {}
        self.pool = pool or shared_pool()
        """The sync worker pool."""
        self.sleep = sleep
        """The backoff sleep between retries."""
        self.cache = cache
        """Where tasks with a ``cache_policy`` keep their values (``None``: nothing is cached)."""
        self.stragglers = Stragglers()
        """Abandoned tasks still running, and the counts of abandoned and starved tasks."""
        self.clock: Callable[[], float] = loop_time if clock is None else clock
        """What breakers (in the engine's own store) and replica ejections measure time on."""
        if breakers is None:
            breakers = InMemoryBreakerStore(clock=self.clock)
        elif not isinstance(breakers, BreakerStore):
            raise ConfigError(
                "breakers", "must be a BreakerStore, e.g. RedisBreakerStore(redis_client)"
            )
        self.breakers: BreakerStore = breakers
        """Where the breakers tasks name keep their state."""
        self._handles: dict[str, CircuitBreaker] = {}

    @property
    def observers(self) -> tuple[TierObserver, ...]:
        """The observers every run of this engine tells, unless the run is given its own."""
        install = self._install
        if install is not None:
            self._install = None
            install(self)
        return self._observers

    @observers.setter
    def observers(self, observers: Iterable[TierObserver]) -> None:
        self._install = None
        self._observers = _check_observers(observers)

    def add_observer(self, observer: TierObserver) -> None:
        """Tell ``observer`` too (once: adding one twice changes nothing)."""
        if observer not in self._observers:
            self._observers = (*self._observers, *_check_observers((observer,)))

    def breaker(self, breaker: Breaker | str) -> CircuitBreaker:
        """The handle of a breaker tasks name: read its ``state`` for a health check or metric.

        Args:
            breaker: A ``Breaker`` (its handle is made on first use, as a task's first run
                does), or the name of one this engine already holds.

        Raises:
            ConfigError: No breaker has that name yet, or it has another policy.
        """
        return self._handle(breaker, "breaker")

    def _handle(self, breaker: Breaker | str, field: str) -> CircuitBreaker:
        name = breaker if isinstance(breaker, str) else breaker.name
        handle = self._handles.get(name)
        if isinstance(breaker, str):
            if handle is None:
                raise ConfigError(
                    field,
                    f"no breaker {name!r} in this engine yet; pass the task's "
                    f"Breaker({name!r}, policy=...) to make it before the first run",
                )
        elif handle is None:
            handle = CircuitBreaker(name, policy=breaker.policy, store=self.breakers)
            self._handles[name] = handle
        elif handle.policy != breaker.policy:
            raise ConfigError(
                field,
                f"breaker {name!r} is already used with {handle.policy}; give every task "
                "naming it the same policy, or give this one another name",
            )
        return handle

    def call_for(self, task: Task) -> Call:
        """The task's call chain, built on its first run."""
        entry = self._tasks.get(id(task))
        if entry is None or entry[0]() is not task:
            entry = self._remember(task)
        return entry[1]

    def hedge_state(self, task: Task) -> HedgeState | None:
        """The task's hedging and replica record (``None`` without hedge or replicas)."""
        entry = self._tasks.get(id(task))
        if entry is None or entry[0]() is not task:
            entry = self._remember(task)
        return entry[2]

    def _remember(self, task: Task) -> tuple[weakref.ref[Task], Call, HedgeState | None]:
        hedge = None
        if task.hedge is not None or task.replicas:
            hedge = HedgeState(
                task.hedge, (task.fn, *task.replicas), task.balance, task.outlier, clock=self.clock
            )
        key = id(task)
        tasks = self._tasks
        # Keyed by identity, and dropped with the task: two equal tasks are two backends'
        # worth of latencies, and a task built per call must not grow the engine.
        ref = weakref.ref(task, lambda _: tasks.pop(key, None))
        breaker = task.breaker
        if isinstance(breaker, Breaker):  # one handle per name; an instance is its own handle
            breaker = self._handle(breaker, f"{task.name}.breaker")
        call = build_call(
            task, hedge, sleep=self.sleep, pool=self.pool, cache=self.cache, breaker=breaker
        )
        entry = (ref, call, hedge)
        tasks[key] = entry
        return entry


def _install_metrics(engine: Engine) -> None:
    """Install the Prometheus metrics on the default engine, unless switched off."""
    if os.environ.get("PARALLEL_NODES_METRICS", "1").strip().lower() in ("0", "false", "no"):
        return
    # Why a package-relative import, on first use: the metrics are our own subpackage, and a
    # lookup by bare name would import whatever `monitoring` module an application keeps
    # beside its script. Deferred so that importing `parallel_nodes` registers no metrics.
    from .monitoring import install

    install(engine)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The process's engine: what a run uses when given none and not nested in another.

    Its observers are the Prometheus metrics, installed on first use, unless
    ``PARALLEL_NODES_METRICS=0`` or ``set_default_observers(())`` said otherwise.
    """
    global _default
    engine = _default
    if engine is None:
        with _default_lock:  # sync callers in threads and the background loop start at once
            if _default is None:
                made = Engine()
                made._install = _install_metrics
                _default = made
            engine = _default
    return engine


def get_default_observers() -> tuple[TierObserver, ...]:
    """The default engine's observers: the Prometheus metrics, unless switched off.

    Switch them off with ``set_default_observers(())`` or ``PARALLEL_NODES_METRICS=0``.
    """
    return default_engine().observers


def set_default_observers(observers: Iterable[TierObserver]) -> None:
    """Replace the default engine's observers (``()`` turns instrumentation off)."""
    default_engine().observers = observers


def straggler_count() -> int:
    """Abandoned tasks of the default engine that have not ended yet (a task that ignores
    cancellation stays here)."""
    return len(default_engine().stragglers)


def abandoned_total() -> int:
    """Tasks the default engine abandoned at a timeout or deadline since the process started."""
    return default_engine().stragglers.abandoned


def starved_total() -> int:
    """Sync tasks timed out while every sync worker thread was busy, since the process started.

    A rise means workers are held by blocked tasks (give their backends client timeouts); the
    pool recovers when they return.
    """
    return default_engine().stragglers.starved


def thread_count() -> int:
    """How many worker threads the default engine's pool has (idle or busy)."""
    return default_engine().pool.threads
