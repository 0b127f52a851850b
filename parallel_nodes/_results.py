"""What a tier run returns: one ``TaskResult`` per task, gathered in a ``TierResult``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._metadata import NO_METADATA

__all__ = ["EndReason", "TaskResult", "TaskStatus", "TierResult"]


class TaskStatus(StrEnum):
    """How a task ended. Every task of a tier run ends with exactly one of these."""

    OK = "ok"
    TIMEOUT = "timeout"
    ERROR = "error"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    CIRCUIT_OPEN = "circuit_open"
    INVALID_OUTPUT = "invalid_output"


class EndReason(StrEnum):
    """Why the scheduler ended a task that had not ended on its own.

    Its value is what ``TaskTimeoutError.deadline`` reports for the three timeouts.
    """

    TASK = "task"
    """The task's own timeout fired."""
    TIER = "tier"
    """The tier's deadline fired."""
    IDLE = "idle"
    """The task went silent for its ``TimeoutPolicy.idle_timeout``."""
    STRATEGY = "strategy"
    """The tier's strategy was satisfied: the task lost, it did not fail."""

    @property
    def timed_out(self) -> bool:
        """Whether a budget ran out (the task times out), rather than a strategy ending it."""
        return self is not EndReason.STRATEGY


@dataclass(frozen=True, slots=True)
class TaskResult:
    """The outcome of one task in one tier run.

    ``value`` is the task's own value when ``status`` is ``OK``, its safe default otherwise.
    """

    name: str
    """The task's name."""
    status: TaskStatus
    """How the task ended."""
    value: Any
    """The value written to the task's output key."""
    duration: float
    """Seconds from the task's start to its end (or abandonment); 0 when it never started."""
    attempts: int = 1
    """Attempts made, retries included; 0 when the task never started."""
    error: BaseException | None = None
    """The exception behind a non-OK status, if any."""
    output_key: str = ""
    """The state key the value is written to."""
    started: float = 0.0
    """Seconds from the tier's start to this task's start (for waterfalls)."""
    resumed: bool = False
    """Whether the value was kept from an attempt cut short by a crash (``Tier(durable=True)``);
    the task did not run again."""
    contended: float = 0.0
    """Seconds of ``duration`` the task spent waiting while other tasks of the tier held the
    CPU (measured in tiers with a sync task): time it would not have waited alone."""
    cached: bool = False
    """Whether the value came from the engine's cache (``Task(cache_policy=...)``); the task's
    function did not run."""

    @property
    def ok(self) -> bool:
        """Whether the task finished with its own value."""
        return self.status is TaskStatus.OK

    @property
    def degraded(self) -> bool:
        """Whether the task fell back to its default (a disabled task is not degraded)."""
        return self.status is not TaskStatus.OK and self.status is not TaskStatus.SKIPPED


@dataclass(frozen=True, slots=True)
class TierResult:
    """The outcome of one tier run.

    Example:
        >>> result = TierResult(tier="t", tasks={}, wall_time=0.0)
        >>> result.speedup
        0.0
    """

    tier: str
    """The tier's name."""
    tasks: Mapping[str, TaskResult]
    """Each task's result, by task name, in the tier's declared order."""
    wall_time: float
    """Seconds from the tier's start to its return."""
    deadline_exceeded: bool = False
    """Whether the tier deadline cut off at least one task."""
    winner: str | None = None
    """The first task to succeed (what ``FIRST_SUCCESS`` returns early on), if any."""
    loop_lag: float = 0.0
    """How late, in seconds, the latest timeout timer fired when one fired late enough to
    mean the event loop was blocked (0.0 otherwise)."""
    blocking: tuple[str, ...] = ()
    """The tasks that may have blocked the event loop when a timer fired late: tasks ending
    as it was due, or async tasks still running, never the task that timed out."""
    metadata: Mapping[str, str] = field(default_factory=lambda: NO_METADATA)
    """What the caller passed as ``run_tier(metadata=...)``, read-only and unread by the
    engine (a workflow's ``{"mode": ...}`` for the metrics, for instance)."""

    @property
    def mode(self) -> str:
        """Deprecated: read ``metadata.get("mode", "default")``, where a workflow puts its mode."""
        warnings.warn(
            "TierResult.mode is deprecated; read result.metadata.get('mode', 'default')",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.metadata.get("mode", "default")

    @property
    def values(self) -> dict[str, Any]:
        """Each task's value by its output key."""
        return {r.output_key or r.name: r.value for r in self.tasks.values()}

    @property
    def degraded(self) -> tuple[str, ...]:
        """The names of the tasks that fell back to their default."""
        return tuple(r.name for r in self.tasks.values() if r.degraded)

    @property
    def succeeded(self) -> bool:
        """Whether no task degraded."""
        return not any(r.degraded for r in self.tasks.values())

    @property
    def speedup(self) -> float:
        """How many times faster than one task after another: the time the tasks would have
        taken in sequence over the wall time.

        A task's time in sequence is its duration less what it spent waiting for the CPU
        that its siblings held (``contended``): three CPU-bound sync tasks that share the GIL
        each last about as long as all three, yet report a speedup of about 1, not 3. The
        figure errs low, never high: an async task's own CPU time is not told apart from
        the event loop's, so its siblings' CPU may be subtracted from it too.
        """
        if self.wall_time <= 0:
            return 0.0
        alone = sum(max(r.duration - r.contended, 0.0) for r in self.tasks.values())
        return alone / self.wall_time

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe summary for graph state and logs: statuses, timings, degraded names."""
        return {
            "wall_time": self.wall_time,
            "speedup": self.speedup,
            "deadline_exceeded": self.deadline_exceeded,
            "winner": self.winner,
            "degraded": list(self.degraded),
            "loop_lag": self.loop_lag,
            "blocking": list(self.blocking),
            "tasks": {
                r.name: {
                    "status": r.status.value,
                    "duration": r.duration,
                    "attempts": r.attempts,
                    "error": None if r.error is None else type(r.error).__name__,
                    "started": r.started,
                    "resumed": r.resumed,
                }
                for r in self.tasks.values()
            },
        }
