"""One turn at a time per thread, across every worker process.

Two turns on one thread that run at once both start from the same checkpoint, and the second to
finish overwrites the first: a question and its answer are lost. The server therefore holds a
lock per thread for the length of a turn: an ``asyncio.Lock`` inside a worker and, with Redis,
a key ``SET NX PX`` across workers. A second turn waits for the first, then runs on top of it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

__all__ = ["ThreadBusyError", "ThreadLocks"]

_RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ThreadBusyError(Exception):
    """Another turn on the thread held the lock for longer than the wait allows."""


class ThreadLocks:
    """Per-thread locks: in process always, across processes when given a Redis client.

    Args:
        redis: A ``redis.asyncio.Redis`` client, or ``None`` for locks within this process only.
        prefix: The Redis key prefix.
        lease: Seconds a Redis lock lives if its holder dies without releasing it.
        wait: Seconds a turn waits for the lock before ``ThreadBusyError``.
    """

    def __init__(
        self,
        redis: Any = None,
        *,
        prefix: str = "parallel_nodes:thread:",
        lease: float = 120.0,
        wait: float = 60.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._lease_ms = int(lease * 1000)
        self._wait = wait
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """Hold ``thread_id``'s lock for the block; wait while another turn holds it.

        Raises:
            ThreadBusyError: The lock was not free within ``wait`` seconds.
        """
        entry = self._local.get(thread_id)
        lock, users = entry if entry is not None else (asyncio.Lock(), 0)
        self._local[thread_id] = (lock, users + 1)
        try:
            async with asyncio.timeout(self._wait):
                await lock.acquire()
        except TimeoutError:
            self._forget(thread_id)
            raise ThreadBusyError(thread_id) from None
        try:
            if self._redis is None:
                yield
            else:
                async with self._shared(thread_id):
                    yield
        finally:
            lock.release()
            self._forget(thread_id)

    def _forget(self, thread_id: str) -> None:
        lock, users = self._local[thread_id]
        if users == 1:
            del self._local[thread_id]  # no entry per thread ever seen: memory stays flat
        else:
            self._local[thread_id] = (lock, users - 1)

    @asynccontextmanager
    async def _shared(self, thread_id: str) -> AsyncIterator[None]:
        key, token = self._prefix + thread_id, secrets.token_hex(8)
        delay = 0.01
        try:
            async with asyncio.timeout(self._wait):
                while not await self._redis.set(key, token, nx=True, px=self._lease_ms):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.2)
        except TimeoutError:
            raise ThreadBusyError(thread_id) from None
        try:
            yield
        finally:
            await self._redis.eval(_RELEASE, 1, key, token)
