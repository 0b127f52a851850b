"""The executor protocol: what submitting a call returns, and what stopping it did.

A leaf under the executors: :mod:`._executors` (the local executors and the registry that
resolves ``Task(executor=...)``) and :mod:`._remote` (process and Ray) both build on it, so
neither has to import the other to share it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = ["Executor", "Halt", "Submission", "call_in_worker"]


class Halt(StrEnum):
    """What stopping a submitted call did to its work."""

    STOPPED = "stopped"
    """The work ended (a cancelled coroutine, a killed worker process, a cancelled Ray task),
    or never started."""
    ABANDONED = "abandoned"
    """The work may still be running (a thread, a Dask or loky future, a sync Ray actor
    method); its result is ignored and its resources stay busy until it ends."""


class Submission:
    """One submitted call: await it for the value; :meth:`stop` it to give up on it.

    Example:
        >>> import asyncio
        >>> async def main():
        ...     loop = asyncio.get_running_loop()
        ...     future = loop.create_future()
        ...     call = Submission(future, lambda: Halt.STOPPED)
        ...     future.set_result(42)
        ...     return await call
        >>> asyncio.run(main())
        42
    """

    __slots__ = ("_future", "_stop", "halt")

    def __init__(self, future: asyncio.Future[Any], stop: Callable[[], Halt]) -> None:
        self._future = future
        self._stop = stop
        self.halt: Halt | None = None
        """``None`` while the call runs or after it ended by itself; what :meth:`stop` did."""

    def __await__(self) -> Generator[Any, None, Any]:
        return self._future.__await__()

    def stop(self) -> Halt:
        """Stop the call if the executor can, abandon it otherwise; idempotent."""
        if self.halt is None:
            future = self._future
            # A cancelled awaiter cancels the future it waits on before we get here, so only
            # a future that ended by itself means the work is over.
            if future.done() and not future.cancelled():
                self.halt = Halt.STOPPED  # nothing left running
            else:
                self.halt = self._stop()
                self._future.cancel()
        return self.halt


@runtime_checkable
class Executor(Protocol):
    """Runs a task's function somewhere and can stop (or at least abandon) the call."""

    @property
    def name(self) -> str:
        """A short, fixed label (``"thread"``, ``"process"``, ``"ray"``, ``"futures"``)."""
        ...

    @property
    def halts(self) -> Halt:
        """What :meth:`Submission.stop` does to a call that is already running."""
        ...

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        """Start ``fn(*args)``; called from the event loop.

        Raises:
            ExecutorError: The call cannot run here (it does not pickle, the executor is not
                set up); the error names ``task`` and says how to fix it.
        """
        ...


def call_in_worker(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """``fn(*args)`` where no event loop runs: an async ``fn`` gets a loop of its own."""
    value = fn(*args)
    if inspect.isawaitable(value):
        return asyncio.run(_await(value))
    return value


async def _await(awaitable: Any) -> Any:
    return await awaitable
