"""The cache layer of a task's call chain: LangGraph's ``CachePolicy`` on LangGraph's caches.

A LangGraph node takes ``cache_policy=CachePolicy(...)`` and the graph its cache with
``compile(cache=...)``. A task takes the same ``CachePolicy``; the cache is the engine's
(``Engine(cache=...)``), and it may be the very object given to ``compile`` (any
``langgraph.cache.base.BaseCache``: in memory, SQLite, Redis). LangGraph does not hand a node
the graph's cache, which is why the engine holds it. Entries are keyed as LangGraph keys a node's:
a namespace per task and function, and a hash of what ``key_func`` makes of the task's state.

Only a value the task returned is cached: an error, a timeout or a default never is, so a
failed call is tried again on the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.cache.base import BaseCache

    from ._slot import Slot
    from ._task import Task

__all__ = ["cached", "namespace"]

_NS = "parallel_nodes"


def namespace(task: Task) -> tuple[str, ...]:
    """Where a task's entries live: two tasks share entries only if they share name and code."""
    fn = task.fn
    code = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    return (_NS, task.name, code)


def cached(
    task: Task, call: Callable[[Slot], Awaitable[Any]], cache: BaseCache[Any]
) -> Callable[[Slot], Awaitable[Any]]:
    """``call`` behind ``cache``: a hit returns the stored value without calling anything."""
    policy = task.cache_policy
    assert policy is not None
    ns, key_func, ttl = namespace(task), policy.key_func, policy.ttl

    async def call_cached(slot: Slot) -> Any:
        raw = key_func(slot.state)
        # Hashed as LangGraph hashes a node's key: the entry's key is short and printable
        # whatever key_func returns (its default pickles the whole input).
        digest = hashlib.blake2b(raw if isinstance(raw, bytes) else str(raw).encode()).hexdigest()
        full = (ns, digest)
        found = await cache.aget([full])
        if full in found:
            slot.cache_hit = True
            return found[full]
        value = await call(slot)
        await cache.aset({full: (value, ttl)})
        return value

    return call_cached
