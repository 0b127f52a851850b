"""Where circuit breakers keep their state, for a store of your own or one shared by workers.

``CircuitBreaker(policy=BreakerPolicy(...))`` keeps its state in process (an
``InMemoryBreakerStore``); ``store=RedisBreakerStore(client)`` shares it between the workers of
a deployment. A store of your own implements ``BreakerStore`` over ``BreakerSnapshot`` values.

Example:
    >>> from parallel_nodes import BreakerPolicy, CircuitBreaker
    >>> breaker = CircuitBreaker("llm", policy=BreakerPolicy(), store=InMemoryBreakerStore())
    >>> breaker.state.value
    'closed'
"""

from __future__ import annotations

from ._breaker import BreakerSnapshot, BreakerStore, InMemoryBreakerStore, RedisBreakerStore

__all__ = ["BreakerSnapshot", "BreakerStore", "InMemoryBreakerStore", "RedisBreakerStore"]
