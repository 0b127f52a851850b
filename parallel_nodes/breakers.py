"""Where circuit breakers keep their state, for a store of your own or one shared by workers.

The breakers tasks name (``Task(breaker=Breaker("llm", policy=...))``) live in the store of
the engine that runs them: its own ``InMemoryBreakerStore`` by default;
``Engine(breakers=RedisBreakerStore(client))`` shares them between the workers of a
deployment. A store of your own implements ``BreakerStore`` over ``BreakerSnapshot`` values.

Example:
    >>> from parallel_nodes import Breaker, Engine
    >>> engine = Engine(breakers=InMemoryBreakerStore())
    >>> engine.breaker(Breaker("llm")).state.value
    'closed'
"""

from __future__ import annotations

from ._breaker import BreakerSnapshot, BreakerStore, InMemoryBreakerStore, RedisBreakerStore

__all__ = ["BreakerSnapshot", "BreakerStore", "InMemoryBreakerStore", "RedisBreakerStore"]
