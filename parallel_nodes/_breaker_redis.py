"""A breaker store in Redis, so that several worker processes share one circuit breaker."""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._breaker_machine import _CLOSED, BreakerSnapshot, BreakerState, Transition

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisBreakerStore"]

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
        >>> from parallel_nodes import CircuitBreaker
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
