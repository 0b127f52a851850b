"""Where breaker snapshots live: the :class:`BreakerStore` protocol and the in-process store.

A store applies each transition of the pure machine (:mod:`._breaker_machine`) atomically.
:class:`InMemoryBreakerStore` keeps snapshots for the tasks of one process;
:class:`~._breaker_redis.RedisBreakerStore` shares them between processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ._breaker_machine import _CLOSED, BreakerSnapshot, Transition

__all__ = ["BreakerStore", "InMemoryBreakerStore"]


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
