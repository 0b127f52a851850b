"""Where a task's function runs: the local executors, and resolving ``Task(executor=...)``'s
spellings (the executor protocol itself is in :mod:`._executor_protocol`, re-exported here).

An executor does one thing: *submit this call, give me an awaitable, and stop or abandon it*.
The scheduler keeps every deadline by cancelling the task that awaits the call; :func:`run_on`
turns that cancellation into :meth:`Submission.stop`, so a process worker is killed or a Ray
task cancelled the moment the budget runs out. What an executor can do to a call that is
already running is in its :attr:`Executor.halts`: ``STOPPED`` (the work ends) or ``ABANDONED``
(the work may go on; its result is ignored), and the record of a timed-out task says which.

Spellings of ``Task(executor=...)``:

* ``None``: the event loop for async functions, the worker pool for sync ones;
* ``"thread"``: a daemon worker thread, for sync and async functions alike;
* ``"process"``: a process pool that kills a worker stuck past its deadline (``[processes]``);
* ``"ray"``: a Ray remote function, cancelled with ``ray.cancel(ref, force=True)`` (``[ray]``);
* a Ray actor handle: the actor's method named like the task's function;
* any ``concurrent.futures.Executor`` (Dask's ``client.get_executor()``, loky): abandoned;
* any object with ``name``, ``halts`` and ``submit()`` (the :class:`Executor` protocol).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
from collections.abc import Callable
from typing import Any, cast

from ._errors import ConfigError
from ._executor_protocol import Executor, Halt, Submission, call_in_worker
from ._threads import run_in_thread

__all__ = [
    "EXECUTORS",
    "EXECUTOR_NAMES",
    "Executor",
    "Executors",
    "FuturesExecutor",
    "Halt",
    "LoopExecutor",
    "Submission",
    "ThreadExecutor",
    "call_in_worker",
    "check_executor",
    "halt_of",
    "note_halt",
    "run_on",
]

EXECUTOR_NAMES = ("thread", "process", "ray")
"""The executors ``Task(executor=...)`` accepts by name."""


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def halt_of(executor: Executor, fn: Callable[..., Any]) -> Halt:
    """What stopping a running call of ``fn`` on ``executor`` does (``halts_for`` when the
    executor knows better per function, as Ray does for an actor's methods)."""
    halts_for = getattr(executor, "halts_for", None)
    return executor.halts if halts_for is None else cast(Halt, halts_for(fn))


def note_halt(error: BaseException, executor: Executor, fn: Callable[..., Any]) -> None:
    """Say on a timed-out task's error whether its work was stopped or is still running."""
    if halt_of(executor, fn) is Halt.ABANDONED:
        error.add_note(
            f"the remote work was abandoned, not stopped: executor {executor.name!r} cannot "
            "stop a running call, so it may still be running and holding its worker"
        )
    else:
        error.add_note(f"the work was stopped on executor {executor.name!r}")


async def run_on(
    executor: Executor, fn: Callable[..., Any], args: tuple[Any, ...], task: str
) -> Any:
    """Run ``fn(*args)`` on ``executor``; a cancellation (a timeout, the tier's deadline, a
    strategy's early exit) stops or abandons the call before it propagates."""
    call = executor.submit(fn, args, task=task)
    try:
        return await call
    except asyncio.CancelledError:
        call.stop()
        raise


class LoopExecutor:
    """The default: async functions on the event loop, sync ones on the daemon worker pool.

    A cancelled coroutine stops (cooperatively); a sync function is abandoned in its thread.
    """

    name = "loop"
    halts = Halt.STOPPED

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        if _is_async(fn):
            future: asyncio.Future[Any] = asyncio.ensure_future(fn(*args))
            return Submission(future, lambda: Halt.STOPPED)
        future = asyncio.ensure_future(run_in_thread(fn, args))
        return Submission(future, lambda: Halt.ABANDONED)


class ThreadExecutor:
    """A daemon worker thread per call (async functions get a loop of their own there).

    Threads cannot be killed: a call past its deadline is abandoned and holds its thread until
    it returns. Use it to keep a sync library's blocking calls off the event loop.
    """

    name = "thread"
    halts = Halt.ABANDONED

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        future = asyncio.ensure_future(run_in_thread(call_in_worker, (fn, args)))
        return Submission(future, lambda: Halt.ABANDONED)


class FuturesExecutor:
    """Any ``concurrent.futures.Executor``: Dask's ``client.get_executor()``, loky, Parsl.

    Such futures cannot stop work that has started: a call still queued is cancelled, a
    running one is abandoned, and its record says so.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> FuturesExecutor(ThreadPoolExecutor(1)).halts
        <Halt.ABANDONED: 'abandoned'>
    """

    name = "futures"
    halts = Halt.ABANDONED

    __slots__ = ("executor",)

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self.executor = executor

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        cf_future = self.executor.submit(call_in_worker, fn, args)
        future = asyncio.wrap_future(cf_future)

        def stop() -> Halt:
            return Halt.STOPPED if cf_future.cancel() else Halt.ABANDONED

        return Submission(future, stop)


def _is_ray_actor(obj: object) -> bool:
    return type(obj).__module__.startswith("ray.") and type(obj).__name__ == "ActorHandle"


def check_executor(spec: object, *, field: str) -> None:
    """Validate a ``Task(executor=...)`` value without starting anything.

    Raises:
        ConfigError: ``spec`` is none of the accepted spellings; the error lists them.
    """
    if spec is None or isinstance(spec, concurrent.futures.Executor | Executor):
        return
    if isinstance(spec, str) and spec in EXECUTOR_NAMES:
        return
    if _is_ray_actor(spec):
        return
    raise ConfigError(
        field,
        f"must be 'thread', 'process', 'ray', a Ray actor handle, a concurrent.futures.Executor "
        f"(e.g. Dask's client.get_executor()) or an Executor, got {spec!r}",
    )


class Executors:
    """The executors a run uses, created on first use and closed together.

    One per engine: it owns the process pool and the wrappers around user objects, so tests
    and applications can give a run its own (``Executors(process_workers=2)``) and close it.

    Example:
        >>> executors = Executors()
        >>> executors.resolve("thread").name
        'thread'
        >>> executors.close()
    """

    __slots__ = ("_named", "_wrapped", "process_workers")

    def __init__(self, *, process_workers: int | None = None) -> None:
        """Create the registry with nothing started.

        Args:
            process_workers: Worker processes of the ``"process"`` pool; default: twice the
                CPU count.
        """
        self.process_workers = process_workers
        self._named: dict[str, Executor] = {}
        self._wrapped: dict[int, tuple[object, Executor]] = {}

    def resolve(self, spec: object) -> Executor:
        """The executor for a ``Task(executor=...)`` value (``None``: the loop default)."""
        if isinstance(spec, str) or spec is None:
            key = spec or "loop"
            found = self._named.get(key)
            if found is None:
                found = self._named[key] = self._make(key)
            return found
        if isinstance(spec, Executor) and not isinstance(spec, concurrent.futures.Executor):
            return spec
        held = self._wrapped.get(id(spec))
        if held is not None and held[0] is spec:
            return held[1]
        made: Executor
        if isinstance(spec, concurrent.futures.Executor):
            made = FuturesExecutor(spec)
        else:
            from ._remote import RayExecutor

            made = RayExecutor(actor=spec)
        self._wrapped[id(spec)] = (spec, made)
        return made

    def _make(self, name: str) -> Executor:
        if name == "loop":
            return LoopExecutor()
        if name == "thread":
            return ThreadExecutor()
        from ._remote import ProcessExecutor, RayExecutor

        if name == "process":
            return ProcessExecutor(max_workers=self.process_workers)
        return RayExecutor()

    def close(self) -> None:
        """Stop the process pool (killing calls still running); user executors stay open."""
        for executor in self._named.values():
            close = getattr(executor, "close", None)
            if close is not None:
                close()
        self._named.clear()
        self._wrapped.clear()


EXECUTORS = Executors()
"""The process default, until the engine owns one (``Engine(executors=...)``): its process
pool stops with the interpreter."""
atexit.register(EXECUTORS.close)
