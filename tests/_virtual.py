"""Virtual time for scheduler tests: an event loop whose clock jumps to its next timer.

The engine keeps time only through its event loop (``loop.time()``, ``loop.call_at``,
``asyncio.sleep``, ``asyncio.timeout``), so a test run on ``VirtualClockLoop`` sees the same
deadlines, timeouts, backoffs and hedges as on a real loop, in the same order, without waiting
for them: when nothing is ready to run, the clock moves straight to the next timer. Ratios of
elapsed loop time come out exact, and the run takes the CPU time it needs, no more.

Only for async work: a sync task runs in a real thread, whose time the virtual clock does not
wait for (it would jump past the task's timeout). Keep those tests on the real loop.
(``looptime`` on PyPI does the same as a pytest plugin.)
"""

from __future__ import annotations

import asyncio
import functools
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

__all__ = ["VirtualClockLoop", "virtual_time"]

P = ParamSpec("P")
T = TypeVar("T")


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector loop on a virtual clock that starts at 0 and fast-forwards to its timers."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0
        selector: Any = self._selector  # type: ignore[attr-defined]
        select = selector.select

        def fast_forward(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            events: list[tuple[selectors.SelectorKey, int]] = select(0)
            if events or timeout == 0:
                return events
            if timeout is None:  # no timer at all: only a thread or a socket can wake it
                return select(None)  # type: ignore[no-any-return]
            self._virtual_now += timeout  # nothing can happen before the next timer: go there
            return events

        selector.select = fast_forward

    def time(self) -> float:
        return self._virtual_now


def virtual_time(
    test: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, T]:
    """Run an async test on a fresh ``VirtualClockLoop`` (it becomes a sync test)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        loop = VirtualClockLoop()
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(test(*args, **kwargs))
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    return run
