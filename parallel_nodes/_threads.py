"""Daemon worker threads for sync task functions.

Why not ``asyncio.to_thread``: the default executor's threads are joined at interpreter exit,
so one sync task blocked forever would hang the process on shutdown, and its few workers
(``cpu + 4``) are soon all held by abandoned stragglers. These threads are daemons, and the
pool grows while every worker is busy, up to a cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SyncPool", "run_in_thread", "shared_pool"]

_MAX_WORKERS = 256
_IDLE_SECONDS = 2.0  # an idle worker exits after this, so a burst's threads do not stay forever

_Job = tuple[
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    contextvars.Context,
    Callable[..., Any],
    tuple[Any, ...],
    dict[str, Any],
    "list[float] | None",
]


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class SyncPool:
    """Daemon workers that wait on one queue; the counts change only under one lock.

    Args:
        max_workers: The cap: past it, calls wait for a worker to come back.
        idle_seconds: An idle worker exits after this.

    ``_queued`` counts jobs put and not yet taken, ``_idle`` the workers waiting for one. A job is
    put under the lock, so a worker that times out while ``_queued`` is 0 can leave without
    stranding a job, and a submit spawns a worker whenever the queued jobs outnumber the idle
    ones. (The earlier count let a worker that took a job queued at the cap stay "idle", so after
    a burst the pool could believe in workers that had gone, and every later job waited forever.)
    """

    def __init__(
        self, max_workers: int = _MAX_WORKERS, *, idle_seconds: float = _IDLE_SECONDS
    ) -> None:
        self._idle_seconds = idle_seconds
        # queue.Queue, not SimpleQueue: SimpleQueue.get(timeout=) (CPython 3.11 at least) can
        # block past its timeout until the next put, when it wakes after its deadline to find
        # the item already taken (it then waits with a negative time, which means forever).
        # An idle worker then stayed until the next job; in a stress of 30-job bursts, one round
        # in 15. Queue's timed get cost about 20 us more per job in such bursts, none alone.
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._lock = threading.Lock()  # real threads race here; the event loop does not help
        self._idle = 0
        self._queued = 0
        self._threads = 0
        self._max = max_workers

    @property
    def threads(self) -> int:
        """How many worker threads exist (idle or busy)."""
        return self._threads

    @property
    def busy(self) -> int:
        """Workers running a function."""
        return max(0, self._threads - self._idle)

    @property
    def blocked(self) -> int:
        """Calls waiting for a worker (every worker busy at the cap)."""
        return max(0, self._queued - self._idle)

    @property
    def saturated(self) -> bool:
        """Whether every worker is busy at the cap, so a new job waits for one to come back."""
        return self._threads >= self._max and self._queued > self._idle

    def submit(self, job: _Job) -> None:
        with self._lock:
            # Counted before it is put: a worker that times out meanwhile sees it and stays.
            self._queued += 1
            spawn = self._queued > self._idle and self._threads < self._max
            if spawn:
                self._threads += 1
        self._jobs.put(job)  # outside the lock, so the worker it wakes does not wait on it
        if spawn:
            threading.Thread(target=self._work, name="parallel-nodes-sync", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._queued == 0:  # nothing waiting: let this worker go
                        self._threads -= 1
                        return
                continue  # a job was put just now: take it
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            loop, fut, ctx, fn, args, kwargs, cpu = job
            del job
            if not fut.cancelled():  # abandoned before it started: don't run it at all
                if cpu is not None:
                    cpu0 = time.thread_time()
                setter: Callable[[asyncio.Future[Any], Any], None]
                try:
                    payload = ctx.run(fn, *args, **kwargs)
                    setter = _set_result
                except BaseException as exc:  # handed to the awaiting task, which re-raises
                    payload, setter = exc, _set_exception
                if cpu is not None:  # before the result is delivered, so it is read complete
                    cpu[0] += time.thread_time() - cpu0
                # Dropped before delivery: once the caller has the result, this thread must
                # hold nothing of the call (the node's config keeps LangGraph's loop alive).
                ctx = fn = args = kwargs = None  # type: ignore[assignment]
                _deliver(loop, setter, fut, payload)
                del payload
            del loop, fut, ctx, fn, args, kwargs, cpu


def _deliver(
    loop: asyncio.AbstractEventLoop,
    setter: Callable[[asyncio.Future[Any], Any], None],
    fut: asyncio.Future[Any],
    payload: Any,
) -> None:
    # RuntimeError: the loop closed while the straggler ran, so nobody is waiting.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(setter, fut, payload)


_shared: SyncPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> SyncPool:
    """The process's pool: the default engine's, and the named ``"loop"`` and ``"thread"``
    executors'. Made on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SyncPool()
        return _shared


async def run_in_thread(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    cpu: list[float] | None = None,
    pool: SyncPool | None = None,
) -> Any:
    """Run a sync ``fn(*args, **kwargs)`` in a daemon worker, with the caller's context
    variables. An awaitable it returns is awaited here, on the caller's loop.

    Cancelling the awaiting task returns at once; the thread finishes on its own.

    Args:
        cpu: When given, a one-item list the call adds its CPU seconds to, measured in the
            worker with ``time.thread_time()``.
        pool: The workers to use; the process's shared pool by default.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()
    (pool or shared_pool()).submit(
        (loop, fut, contextvars.copy_context(), fn, args, kwargs or {}, cpu)
    )
    value = await fut
    if inspect.isawaitable(value):  # `lambda s: client.aget(s)`: a sync callable, async work
        value = await value
    return value
