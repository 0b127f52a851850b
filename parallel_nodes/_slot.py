"""``Slot``: one running task as the scheduler sees it — its asyncio task and its timers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final

from ._results import EndReason

if TYPE_CHECKING:
    from ._scheduler import TierRun

__all__ = ["EAGER", "Slot", "start_task"]

Task_ = asyncio.Task[Any]

_EMPTY: dict[str, Any] = {}

EAGER: Final = sys.version_info >= (3, 12)
"""Whether a task's first step runs at its launch (Python 3.12+, as LangGraph runs a node's)."""

if sys.version_info >= (3, 12):

    def start_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Task_:
        """Start a task eagerly, as LangGraph starts a node's (``eager_task_factory``): its
        first step runs now, in its own context and as the current task, so a task that
        needs no wait ends here, without a trip through the event loop."""
        return asyncio.Task(coro, loop=loop, eager_start=True)

else:

    def start_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Task_:
        """Start a task (Python 3.11 has no eager start; LangGraph's nodes start lazily too)."""
        return loop.create_task(coro)


class Slot:
    """One running task: its asyncio task, its timers, and whether its result is recorded.

    The call chain reads ``state``, ``kwargs`` and ``cpu`` from it, and reports attempts
    through ``count_attempt``; only the scheduler writes the rest.
    """

    __slots__ = (
        "atask",
        "attempts",
        "beat",
        "cache_hit",
        "closed",
        "cpu",
        "cpu0",
        "idle_timer",
        "index",
        "kwargs",
        "run",
        "started",
        "state",
        "timed_out",
        "timer",
    )

    def __init__(self, run: TierRun, index: int, started: float, state: Any) -> None:
        self.run = run
        self.state = state
        self.kwargs: dict[str, Any] = _EMPTY
        self.cpu: list[float] | None = None
        self.cpu0 = 0.0
        self.beat = started
        self.idle_timer: asyncio.TimerHandle | None = None
        self.index = index
        self.started = started
        self.attempts = 1
        self.closed = False
        self.timed_out = False
        self.cache_hit = False
        self.atask: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None

    @property
    def tier(self) -> str:
        """The name of the tier the task runs in."""
        return self.run.tier.name

    @property
    def root_state(self) -> bool:
        """Whether the graph's state is one value (``StateGraph(str)``): any value is an update."""
        return self.run.root_state

    def count_attempt(self, n: int) -> None:
        """The retry layer started attempt ``n``."""
        self.attempts = n

    def on_done(self, atask: asyncio.Task[Any]) -> None:
        try:
            run = self.run
            if self.closed:
                run.stragglers.forget(atask)
            else:  # it returned or raised on its own
                result = run.finish(self, atask)
                if result is not None:
                    run.settle(self.index, result)
        finally:
            self.release()

    def release(self) -> None:
        """Drop the task, its arguments and its state once its result is recorded.

        The task's context holds the node's config, whose runtime holds this slot's writer:
        the references back to the task would make a cycle that keeps LangGraph's whole loop
        alive until the garbage collector runs.
        """
        self.atask = None
        self.kwargs = _EMPTY
        self.state = None

    def on_idle(self) -> None:
        """The idle timer: abandon a task silent for its idle timeout, else look again later."""
        if self.closed:
            return
        run = self.run
        idle = run.tier.tasks[self.index].idle_timeout
        assert idle is not None
        due = self.beat + idle
        if run.loop.time() >= due:
            run.expire(self, idle, EndReason.IDLE)
        else:
            self.idle_timer = run.loop.call_at(due, self.on_idle)

    def on_timeout(self) -> None:
        if self.atask is not None and self.atask.done():
            return  # it ended in the same loop turn: its result is on the way, not late
        if not self.closed:
            self.run.on_task_timeout(self)
