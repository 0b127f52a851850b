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
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["run_in_thread", "thread_count"]

_MAX_WORKERS = 256
_IDLE_SECONDS = 2.0  # an idle worker exits after this, so a burst's threads do not stay forever

_Job = tuple[
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    contextvars.Context,
    Callable[..., Any],
    tuple[Any, ...],
]


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class _DaemonPool:
    def __init__(self, max_workers: int) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()  # real threads race here; the event loop does not help
        self._idle = 0
        self._threads = 0
        self._max = max_workers

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1  # claim an idle worker so two submits never count on one
                spawn = False
            else:
                spawn = self._threads < self._max
                if spawn:
                    self._threads += 1
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._work, name="parallel-nodes-sync", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody claimed this worker: let it go
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # claimed just now: its job is on the way
            loop, fut, ctx, fn, args = job
            if not fut.cancelled():  # abandoned before it started: don't run it at all
                try:
                    value = ctx.run(fn, *args)
                except BaseException as exc:  # handed to the awaiting task, which re-raises
                    _deliver(loop, _set_exception, fut, exc)
                else:
                    _deliver(loop, _set_result, fut, value)
            del job, loop, fut, ctx, fn, args
            with self._lock:
                self._idle += 1


def _deliver(
    loop: asyncio.AbstractEventLoop,
    setter: Callable[[asyncio.Future[Any], Any], None],
    fut: asyncio.Future[Any],
    payload: Any,
) -> None:
    # RuntimeError: the loop closed while the straggler ran, so nobody is waiting.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(setter, fut, payload)


_POOL = _DaemonPool(_MAX_WORKERS)


async def run_in_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run a sync ``fn(*args)`` in a daemon worker, with the caller's context variables.

    Cancelling the awaiting task returns at once; the thread finishes on its own.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()
    _POOL.submit((loop, fut, contextvars.copy_context(), fn, args))
    return await fut


def thread_count() -> int:
    """How many worker threads exist (idle or busy)."""
    return _POOL.threads
