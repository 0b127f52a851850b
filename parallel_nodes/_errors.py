"""Every error the library raises.

The tree::

    ParallelNodesError
    ├── ConfigError (also ValueError)      a Task, Tier or config value is wrong
    ├── TaskTimeoutError                   a task ran past its timeout or the tier deadline
    ├── InvalidOutputError                 a task returned a value of the wrong type
    │   └── UnserializableOutputError      ... or one the graph's checkpointer cannot save
    ├── CircuitOpenError                   a task's circuit breaker is open
    └── ExecutorError                      a task cannot run on its executor (pickling, setup)

``TaskTimeoutError`` deliberately does not subclass the built-in ``TimeoutError``: that one is an
``OSError``, which LangGraph's default ``RetryPolicy`` refuses to retry.

Users import these from ``parallel_nodes.errors``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "ExecutorError",
    "InvalidOutputError",
    "ParallelNodesError",
    "TaskTimeoutError",
    "UnserializableOutputError",
]


class ParallelNodesError(Exception):
    """Base class of every error raised by this library."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Why: the subclasses take keyword arguments, and an exception pickles as
        # ``cls(*args)``, which cannot call them. Rebuilt from its message and attributes
        # instead, an error crosses a process boundary (a ProcessExecutor, Ray) whole, notes
        # (``add_note``) included.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[ParallelNodesError], args: tuple[Any, ...]) -> ParallelNodesError:
    error = cls.__new__(cls)
    error.args = args
    return error


class ConfigError(ParallelNodesError, ValueError):
    """A configuration value is wrong.

    Attributes:
        field: The name of the offending field, e.g. ``"timeout"`` or ``"tasks[2].depends_on"``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class TaskTimeoutError(ParallelNodesError):
    """A task did not finish within its budget.

    Attributes:
        task: The task's name.
        tier: The tier's name.
        timeout: The budget that ran out, in seconds.
        elapsed: How long the task had run when it was abandoned, in seconds.
        attempt: The attempt that was running (1-based).
        deadline: ``"task"`` when the task's own timeout fired, ``"tier"`` for the tier deadline,
            ``"idle"`` when the task went silent for its ``TimeoutPolicy.idle_timeout``.
    """

    def __init__(
        self,
        *,
        task: str,
        tier: str,
        timeout: float,
        elapsed: float,
        attempt: int,
        deadline: str = "task",
    ) -> None:
        if deadline == "task":
            fix = f"raise Task(timeout=...) for {task!r} or make it faster"
        elif deadline == "idle":
            fix = (
                f"call runtime.heartbeat() (or stream progress) more often in {task!r}, or raise "
                "its TimeoutPolicy(idle_timeout=...)"
            )
        else:
            fix = f"raise Tier(timeout=...) for {tier!r} or make {task!r} faster"
        super().__init__(
            f"task {task!r} in tier {tier!r} exceeded its {deadline} budget of {timeout:.3f}s "
            f"(ran {elapsed:.3f}s, attempt {attempt}); {fix}"
        )
        self.task = task
        self.tier = tier
        self.timeout = timeout
        self.elapsed = elapsed
        self.attempt = attempt
        self.deadline = deadline


class InvalidOutputError(ParallelNodesError):
    """A task returned a value that is not of its declared ``output_type``.

    Attributes:
        task: The task's name.
        expected: The declared type.
        got: The type of the value that was returned.
    """

    def __init__(self, *, task: str, expected: type, got: type) -> None:
        super().__init__(
            f"task {task!r} returned {got.__name__}, but declares output_type="
            f"{expected.__name__}; return a {expected.__name__} or change output_type"
        )
        self.task = task
        self.expected = expected
        self.got = got


class UnserializableOutputError(InvalidOutputError):
    """A task returned a value the graph's checkpointer cannot serialise.

    Caught when the task ends, so only that task degrades; written to state, the value would
    fail the whole graph at checkpoint time with no task named.

    Attributes:
        task: The task's name.
        key: The state key the value was for.
        got: The type of the value that was returned.
    """

    def __init__(self, *, task: str, key: str, got: type, reason: str) -> None:
        ParallelNodesError.__init__(
            self,
            f"task {task!r} returned a {got.__name__} for state key {key!r}, which the graph's "
            f"checkpointer cannot serialise ({reason}); return plain data (dicts, lists, "
            "strings, numbers, Pydantic models) or convert it before returning",
        )
        self.task = task
        self.key = key
        self.expected = object
        self.got = got


class CircuitOpenError(ParallelNodesError):
    """A task's circuit breaker is open, so the call was not made.

    Attributes:
        breaker: The breaker's name.
        retry_after: Seconds until the breaker lets a probe call through.
    """

    def __init__(self, *, breaker: str, retry_after: float) -> None:
        super().__init__(
            f"circuit breaker {breaker!r} is open; calls resume in {retry_after:.1f}s. "
            "Fix the failing backend, or lower BreakerPolicy.recovery_timeout to probe sooner"
        )
        self.breaker = breaker
        self.retry_after = retry_after


class ExecutorError(ParallelNodesError):
    """A task cannot run on its executor: its function or state does not pickle, or the
    executor is not set up (Ray not started, an optional dependency missing).

    Attributes:
        task: The task's name.
        executor: The executor's name, e.g. ``"process"`` or ``"ray"``.
    """

    def __init__(self, *, task: str, executor: str, message: str) -> None:
        super().__init__(f"task {task!r} cannot run on executor {executor!r}: {message}")
        self.task = task
        self.executor = executor
