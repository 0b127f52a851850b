"""One turn at a time per thread, across every worker process.

Two turns on one thread that run at once both start from the same checkpoint, and the second to
finish overwrites the first: a question and its answer are lost. The server therefore holds a
lock per thread for the length of a turn: an ``asyncio.Lock`` inside a worker and, with Redis,
redis-py's ``Lock`` across workers. A second turn waits for the first, then runs on top of it.

The Redis lock has a lease, so a worker that dies does not hold a thread for ever. A turn
longer than the lease keeps it: a background task extends it every third of the lease. If the
lease is lost anyway (the event loop was blocked past it, or the key was removed), redis-py
raises ``LockNotOwnedError`` on the next extension; the turn is then cancelled and the caller
gets :class:`LeaseLostError`, instead of two workers writing the same thread unnoticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["LeaseLostError", "ThreadBusyError", "ThreadLocks"]


class ThreadBusyError(Exception):
    """Another turn on the thread held the lock for longer than the wait allows."""


class LeaseLostError(Exception):
    """The turn's Redis lease ran out or was taken while the turn ran; the turn was cancelled.

    Attributes:
        thread_id: The thread whose lock was lost.
    """

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"thread {thread_id!r}: the turn lost its Redis lock; another worker may have "
            "started a turn on the thread. Read the thread, then retry; if the event loop is "
            "blocked for long, raise the lease"
        )
        self.thread_id = thread_id


class ThreadLocks:
    """Per-thread locks: in process always, across processes when given a Redis client.

    Args:
        redis: A ``redis.asyncio.Redis`` client, or ``None`` for locks within this process only.
        prefix: The Redis key prefix.
        lease: Seconds a Redis lock lives if its holder stops extending it (dies, or blocks).
        wait: Seconds a turn waits for the lock before ``ThreadBusyError``.

    Example:
        >>> import asyncio
        >>> locks = ThreadLocks()
        >>> async def turn():
        ...     async with locks.hold("thread-1"):
        ...         return "one turn at a time"
        >>> asyncio.run(turn())
        'one turn at a time'
    """

    def __init__(
        self,
        redis: Any = None,
        *,
        prefix: str = "parallel_nodes:thread:",
        lease: float = 120.0,
        wait: float = 60.0,
    ) -> None:
        if not lease > 0 or not wait > 0:
            raise ValueError(f"lease, wait: must be more than 0 seconds, got {lease}, {wait}")
        self._redis = redis
        self._prefix = prefix
        self._lease = lease
        self._wait = wait
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """Hold ``thread_id``'s lock for the block; wait while another turn holds it.

        Raises:
            ThreadBusyError: The lock was not free within ``wait`` seconds.
            LeaseLostError: The Redis lease was lost while the block ran; the block was
                cancelled.
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
        from redis.asyncio.lock import Lock
        from redis.exceptions import LockError

        lock = Lock(
            self._redis,
            self._prefix + thread_id,
            timeout=self._lease,
            sleep=min(0.05, self._wait / 4),
            blocking_timeout=self._wait,
            thread_local=False,  # one event loop thread serves many turns
        )
        if not await lock.acquire():
            raise ThreadBusyError(thread_id)
        owner = asyncio.current_task()
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep(lock, owner, lost))
        try:
            yield
        except asyncio.CancelledError:
            if lost.is_set() and owner is not None and owner.uncancel() == 0:
                raise LeaseLostError(thread_id) from None
            raise
        finally:
            keeper.cancel()
            await asyncio.wait([keeper])  # unlike `await keeper`, keeps our own cancellation
            if not lost.is_set():
                try:
                    await lock.release()
                except LockError:  # expired between the last extension and now
                    lost.set()
        if lost.is_set():
            raise LeaseLostError(thread_id)

    async def _keep(self, lock: Any, owner: asyncio.Task[Any] | None, lost: asyncio.Event) -> None:
        """Extend the lease every third of it; on ``LockNotOwnedError``, cancel the turn."""
        from redis.exceptions import LockError

        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await lock.extend(self._lease, replace_ttl=True)
            except LockError:  # LockNotOwnedError: expired, or another worker holds it now
                lost.set()
                if owner is not None:
                    owner.cancel()
                return
