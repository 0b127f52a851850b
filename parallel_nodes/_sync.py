"""The sync entry point: run a node's async work from ``graph.invoke``/``graph.stream``.

Why one background loop rather than ``asyncio.run`` per call: ``asyncio.run`` waits, on its way
out, for every task still pending, so one abandoned task that swallows cancellation would hold
the node past its deadline; and a closed loop cannot host the stragglers a tier leaves behind.
The background loop lives for the process (a daemon thread), stragglers end on it, and each call
runs in the caller's context variables, so LangGraph's ``get_config()``, ``interrupt()`` and
stream writer work as they do in the caller's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="parallel-nodes-loop", daemon=True
            ).start()
            _loop = loop
        return _loop


async def _guarded(coro: Coroutine[Any, Any, T]) -> tuple[bool, Any]:
    # KeyboardInterrupt or SystemExit escaping a task would stop the background loop for
    # everyone; carry it back to the caller's thread instead, where it is raised.
    try:
        return True, await coro
    except BaseException as exc:
        return False, exc


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``make()`` on the background loop, in the caller's context, and wait for it.

    Raises:
        Whatever the coroutine raises (``GraphInterrupt`` included), in the caller's thread.
    """
    ctx = contextvars.copy_context()
    loop = _background_loop()
    outcome: concurrent.futures.Future[tuple[bool, Any]] = concurrent.futures.Future()

    def start() -> None:
        atask = loop.create_task(_guarded(make()), context=ctx)
        atask.add_done_callback(lambda t: outcome.set_result(t.result()))

    loop.call_soon_threadsafe(start)
    ok, value = outcome.result()
    if not ok:
        raise value
    result: T = value
    return result
