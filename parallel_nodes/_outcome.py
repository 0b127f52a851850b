"""How a task's end becomes its ``TaskResult``: the one place results are built, the CPU
contention a sync task suffered, the checkpointer's check of a value, and the note on a
timeout that a blocked event loop caused."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Mapping
from typing import Any, Final

from langgraph.channels.untracked_value import UntrackedValue

from ._errors import TaskTimeoutError, UnserializableOutputError
from ._executors import EXECUTORS, note_halt
from ._results import EndReason, TaskResult, TaskStatus
from ._task import Task
from ._tier import Tier
from ._tracing import log_extra

__all__ = [
    "contended",
    "log_abandoned",
    "saves",
    "task_result",
    "timeout_error",
    "unserializable",
    "unstarted_result",
]

_log = logging.getLogger("parallel_nodes")

_OWN_SHARE: Final = 0.05
_BUSY_SHARE: Final = 0.2
"""A sync task's wall time over the process's CPU time tells the machine's load only when the
task ran at least ``_OWN_SHARE`` of that CPU time, and the process was on the CPU for at least
``_BUSY_SHARE`` of the task's wall time."""
_REFUSALS: Final = (TypeError, OverflowError, pickle.PicklingError, RecursionError)
"""What a serializer raises for a value it cannot encode (msgpack, JSON and pickle alike)."""


def task_result(
    task: Task,
    status: TaskStatus,
    value: Any = None,
    *,
    duration: float = 0.0,
    attempts: int = 0,
    error: BaseException | None = None,
    started: float = 0.0,
    contended: float = 0.0,
    resumed: bool = False,
    cached: bool = False,
) -> TaskResult:
    """A task's result: its own ``value`` when ``status`` is OK, else a fresh default.

    The defaults describe a task that never started (no attempt, no time).
    """
    # Each field set through its slot: a frozen dataclass's generated __init__, called with
    # eleven keywords, costs 3.5 µs, a tenth of a three-task tier run; this costs 1 µs.
    # tests/test_outcome.py checks that every field of TaskResult is set here.
    result: TaskResult = _new(TaskResult)
    _set_name(result, task.name)
    _set_status(result, status)
    _set_value(result, value if status is TaskStatus.OK else task.make_default())
    _set_duration(result, duration)
    _set_attempts(result, attempts)
    _set_error(result, error)
    _set_output_key(result, task.output_key)
    _set_started(result, started)
    _set_resumed(result, resumed)
    _set_contended(result, contended)
    _set_cached(result, cached)
    return result


_new = object.__new__
_SETTERS: Final = {name: getattr(TaskResult, name).__set__ for name in TaskResult.__slots__}
_set_name = _SETTERS["name"]
_set_status = _SETTERS["status"]
_set_value = _SETTERS["value"]
_set_duration = _SETTERS["duration"]
_set_attempts = _SETTERS["attempts"]
_set_error = _SETTERS["error"]
_set_output_key = _SETTERS["output_key"]
_set_started = _SETTERS["started"]
_set_resumed = _SETTERS["resumed"]
_set_contended = _SETTERS["contended"]
_set_cached = _SETTERS["cached"]


def timeout_error(
    task: Task, tier: str, budget: float, elapsed: float, attempt: int, reason: EndReason
) -> TaskTimeoutError:
    """The error of a task abandoned when ``budget`` ran out, saying whether its work on an
    executor was stopped or is still running."""
    error = TaskTimeoutError(
        task=task.name,
        tier=tier,
        timeout=budget,
        elapsed=elapsed,
        attempt=attempt,
        deadline=reason.value,
    )
    if task.executor is not None:
        note_halt(error, EXECUTORS.resolve(task.executor), task.fn)
    return error


def unstarted_result(task: Task, tier: Tier, reason: EndReason) -> TaskResult:
    """The result of a task that had not started when ``reason`` closed its tier."""
    if not task.enabled:
        return task_result(task, TaskStatus.SKIPPED)
    if not reason.timed_out:
        return task_result(task, TaskStatus.CANCELLED)
    error = timeout_error(task, tier.name, tier.timeout, 0.0, 0, reason)
    return task_result(task, TaskStatus.TIMEOUT, error=error)


def contended(cpu0: float, cpu: list[float] | None, duration: float) -> float:
    """Seconds of a task's duration that other work of the process held the CPU.

    The process's CPU time over the task's run (from ``cpu0``), less the task's own (``cpu``,
    measured in its worker thread), is what others ran while it waited. When the task itself
    was busy on the CPU, a machine that other processes load stretched that CPU time into more
    wall time, by the task's duration over the process's CPU time: that stretch counts too.
    """
    window = time.process_time() - cpu0
    others = window
    stretch = 1.0
    if cpu is not None:
        own = cpu[0]
        others -= own
        # Only a task busy on the CPU, in a busy process, tells the machine's load; one
        # mostly asleep on I/O says nothing of it.
        if own > _OWN_SHARE * window and window > _BUSY_SHARE * duration:
            stretch = max(1.0, duration / window)
    return min(max(others, 0.0) * stretch, duration)


def saves(channels: Mapping[str, Any] | None, task: Task) -> bool:
    """Whether LangGraph would checkpoint ``task``'s value: its key is a tracked channel.

    An ``UntrackedValue`` channel is never saved, and a key that is no channel at all (a
    ``run_tier`` whose caller uses the values itself) is not saved as such. When the
    channels cannot be read, the value is checked.
    """
    if channels is None:
        return True
    channel = channels.get(task.output_key)
    return channel is not None and not isinstance(channel, UntrackedValue)


def unserializable(serde: Any, task: Task, value: Any) -> UnserializableOutputError | None:
    """The error for a value the graph's checkpointer could not save, if it cannot.

    Costs one serialisation per task value, and only in graphs with a checkpointer: the
    price of failing this task alone instead of the whole graph at checkpoint time. Only
    the serializer's refusal of the value's type counts; any other error of the serializer
    is its own, and LangGraph raises it at checkpoint time as it would for a plain node.
    """
    try:
        serde.dumps_typed(value)
    except _REFUSALS as exc:
        return UnserializableOutputError(
            task=task.name, key=task.output_key, got=type(value), reason=str(exc)
        )
    return None


def log_abandoned(
    tier: str, task: str, elapsed: float, reason: EndReason, *, starved: bool
) -> None:
    """Say in the log that a task was abandoned (and why a sync one may never have run)."""
    if starved:
        _log.warning(
            "abandoned sync task %s in tier %s after %.3fs (%s budget): every sync worker "
            "thread is busy with blocked tasks, so it may not have started; give those "
            "tasks client timeouts their backends honour",
            task,
            tier,
            elapsed,
            reason.value,
            extra=log_extra(tier, task),
        )
    else:
        _log.warning(
            "abandoned task %s in tier %s after %.3fs (%s budget)",
            task,
            tier,
            elapsed,
            reason.value,
            extra=log_extra(tier, task),
        )
