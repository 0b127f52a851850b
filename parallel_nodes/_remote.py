"""Executors that leave the process: a killable process pool (``pebble``) and Ray.

Both can *stop* work, which threads cannot: a process worker stuck past its deadline is killed
and replaced, and a Ray task is cancelled with ``ray.cancel(ref, force=True)``. The function and
the state travel by pickle, so both are checked when the call is submitted and a failure names
the task.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ExecutorError
from ._executor_protocol import Halt, Submission, call_in_worker

__all__ = ["ProcessExecutor", "RayExecutor", "ray_replica"]


def _run_pickled(payload: bytes) -> Any:
    fn, args = pickle.loads(payload)
    return call_in_worker(fn, args)


def _missing(task: str, executor: str, package: str, extra: str) -> ExecutorError:
    return ExecutorError(
        task=task,
        executor=executor,
        message=f"{package} is not installed; pip install 'langgraph-parallel-nodes[{extra}]'",
    )


class ProcessExecutor:
    """A pool of worker processes that kills a worker whose call is stopped.

    For CPU-bound functions (rerankers, parsing, BM25 over a big corpus): each call runs under
    its own interpreter lock. The function must be defined at module level and the state must
    pickle. A call stopped at its deadline takes its worker down with it; the pool starts a
    fresh one, so a function stuck forever costs one restart, never a leaked process.

    Example:
        >>> pool = ProcessExecutor(max_workers=2)
        >>> pool.halts
        <Halt.STOPPED: 'stopped'>
        >>> pool.close()
    """

    name = "process"
    halts = Halt.STOPPED

    __slots__ = ("_pool", "context", "max_workers")

    def __init__(self, *, max_workers: int | None = None, context: str = "forkserver") -> None:
        """Create the pool lazily (no process starts before the first call).

        Args:
            max_workers: Worker processes; default: twice the CPU count. More workers than
                cores lets the OS share the cores between equal tasks, so three tasks on two
                cores finish in 1.5 task times instead of 2 (two at once, then the third), and
                a worker stuck until its deadline does not hold back the rest.
            context: The ``multiprocessing`` start method. ``"forkserver"`` (the default) never
                forks a process that has threads running; ``"spawn"`` is the portable choice.
        """
        self.max_workers = max_workers or 2 * (os.cpu_count() or 1)
        self.context = context
        self._pool: Any = None

    def _get_pool(self, task: str) -> Any:
        if self._pool is None:
            try:
                import pebble
            except ImportError:
                raise _missing(task, self.name, "pebble", "processes") from None
            self._pool = pebble.ProcessPool(
                max_workers=self.max_workers,
                context=multiprocessing.get_context(self.context),
            )
        return self._pool

    def warm_up(self) -> None:
        """Start every worker now, so the first calls do not pay the start-up."""
        pool = self._get_pool("warm_up")
        futures = [pool.schedule(os.getpid) for _ in range(self.max_workers * 2)]
        for future in futures:
            future.result()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        try:
            payload = pickle.dumps((fn, args))
        except Exception as exc:
            raise ExecutorError(
                task=task,
                executor=self.name,
                message=f"its function or state does not pickle ({exc}); define the function "
                "at module level and keep the state to plain data",
            ) from None
        cf_future = self._get_pool(task).schedule(_run_pickled, args=(payload,))

        def stop() -> Halt:
            cf_future.cancel()  # pebble: cancelling a running call terminates its worker
            return Halt.STOPPED

        return Submission(asyncio.wrap_future(cf_future), stop)

    def close(self) -> None:
        """Stop every worker now, killing calls still running."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join()


class RayExecutor:
    """Ray: a remote function per task function, or the methods of one actor.

    ``fn`` may be a plain function (made remote here), a ``@ray.remote`` function, or an
    actor's method (``Task("answer", model.answer, executor="ray")``).

    A remote function is cancelled with ``ray.cancel(ref, force=True)`` at the deadline: its
    worker is killed, so the work really stops. An actor keeps state (a loaded model) between
    calls; a running method of a sync actor cannot be interrupted, so it is abandoned (Ray
    still cancels it while queued, and cancels an async actor's coroutine).

    Start Ray yourself (``ray.init()`` or ``ray.init(address=...)``) before the first call.

    Example:
        >>> RayExecutor().halts
        <Halt.STOPPED: 'stopped'>
    """

    __slots__ = ("_functions", "_runner", "actor", "force", "halts", "name", "options")

    def __init__(
        self,
        *,
        actor: Any = None,
        force: bool = True,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the executor; nothing is sent to Ray before the first call.

        Args:
            actor: A Ray actor handle: each call goes to its method named like the task's
                function (``Task("rerank", Reranker.rerank, executor=actor)``).
            force: For remote functions, ``ray.cancel(..., force=True)`` kills the worker
                (the only way to stop a sync function); ``False`` raises ``KeyboardInterrupt``
                in it, which it may catch.
            options: ``.options(...)`` for the remote function, e.g. ``{"num_cpus": 1}``.
        """
        self.actor = actor
        self.force = force
        self.options = dict(options or {})
        self.name = "ray"
        self.halts = Halt.ABANDONED if actor is not None else Halt.STOPPED
        """For a plain function; see :meth:`halts_for` for an actor's method."""
        self._functions: dict[int, tuple[Callable[..., Any], Any]] = {}
        self._runner: Any = None

    def _ray(self, task: str) -> Any:
        try:
            import ray
        except ImportError:
            raise _missing(task, self.name, "ray", "ray") from None
        if not ray.is_initialized():
            raise ExecutorError(
                task=task,
                executor=self.name,
                message="Ray is not running in this process; call ray.init() (or "
                "ray.init(address='auto') for a cluster) before running the tier",
            )
        return ray

    def halts_for(self, fn: Callable[..., Any]) -> Halt:
        """What stopping a running call of ``fn`` does: a remote function is stopped, an
        actor's method abandoned."""
        if self.actor is not None or _is_actor_method(fn):
            return Halt.ABANDONED
        return Halt.STOPPED

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], *, task: str) -> Submission:
        ray = self._ray(task)
        remote = getattr(fn, "remote", None)
        try:
            if self.actor is not None:
                ref = getattr(self.actor, fn.__name__).remote(*args)
            elif remote is not None and type(fn).__module__.startswith("ray."):
                ref = remote(*args)  # already a remote function or an actor's method
            else:
                ref = self._runner_for(ray).remote(self._fn_ref(ray, fn), args)
        except (TypeError, pickle.PicklingError) as exc:
            raise ExecutorError(
                task=task,
                executor=self.name,
                message=f"its function or state does not serialize ({exc}); keep the state "
                "to plain data",
            ) from None
        halts = self.halts_for(fn)
        force = self.force and halts is Halt.STOPPED  # Ray refuses force for actor tasks

        def stop() -> Halt:
            ray.cancel(ref, force=force)
            return halts

        return Submission(asyncio.wrap_future(ref.future()), stop)

    def _runner_for(self, ray: Any) -> Any:
        if self._runner is None:
            remote = ray.remote(max_retries=0)(call_in_worker)
            self._runner = remote.options(**self.options) if self.options else remote
        return self._runner

    def _fn_ref(self, ray: Any, fn: Callable[..., Any]) -> Any:
        # Put once, pass the reference: the function is not serialized again on every call.
        held = self._functions.get(id(fn))
        if held is None or held[0] is not fn:
            held = self._functions[id(fn)] = (fn, ray.put(fn))
        return held[1]


def _is_actor_method(fn: object) -> bool:
    return type(fn).__module__.startswith("ray.") and type(fn).__name__ == "ActorMethod"


def ray_replica(actor: Any, method: str) -> Callable[..., Any]:
    """An async ``fn(state)`` that calls ``actor.method.remote(state)``: a Ray actor as one of a
    task's ``replicas`` (hedged, balanced and ejected like any other).

    A cancelled call is cancelled on the actor too (while queued, or on an async actor).

    Example:
        >>> callable(ray_replica(object(), "answer"))
        True
    """

    async def call(state: Any) -> Any:
        import ray

        ref = getattr(actor, method).remote(state)
        try:
            return await asyncio.wrap_future(ref.future())
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise

    call.__name__ = call.__qualname__ = method
    return call
