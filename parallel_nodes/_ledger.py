"""``Ledger``: what a tier run has recorded so far — each task's result, and the counts a
strategy reads to tell whether the tier is done (it is the strategy's ``Counts``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._observe import TierObserver, notify_task
from ._results import TaskResult, TaskStatus, TierResult
from ._tier import Tier

if TYPE_CHECKING:
    from ._tracing import TaskTrace

__all__ = ["Ledger"]


class Ledger:
    """One tier run's results, counts and listeners. ``record`` is the only writer."""

    __slots__ = (
        "events",
        "finished",
        "metadata",
        "observers",
        "ok",
        "open",
        "required_open",
        "results",
        "soft_passed",
        "tier",
        "traced",
        "values",
        "winner",
    )

    def __init__(
        self,
        tier: Tier,
        metadata: Mapping[str, str],
        observers: tuple[TierObserver, ...],
        events: Callable[[Any], None] | None,
    ) -> None:
        self.tier = tier
        self.metadata = metadata
        self.observers = observers
        self.events = events
        self.traced: dict[int, tuple[TaskTrace, Any]] = {}
        n = len(tier.tasks)
        self.results: list[TaskResult | None] = [None] * n
        self.values: dict[str, Any] = {}
        self.open = n
        """Tasks without a result yet."""
        self.ok = 0
        """Tasks that succeeded."""
        self.finished = 0
        """Tasks that ended, well or not (a skipped task did not)."""
        self.required_open = tier.required
        """Enabled ``required`` tasks without a result yet."""
        self.winner: str | None = None
        """The first task to succeed."""
        self.soft_passed = False
        """Whether the strategy's soft deadline has passed."""

    def record(self, i: int, result: TaskResult) -> None:
        """Store a result, count it, and tell the tracer, observers and stream."""
        self.results[i] = result
        task = self.tier.tasks[i]
        if self.traced:
            traced = self.traced.pop(i, None)
            if traced is not None:
                traced[0].end(result, traced[1].atask)
        self.values[task.name] = result.value
        if self.observers and not result.resumed:  # it did not run: nothing to measure
            notify_task(self.observers, self.tier.name, result, self.metadata)
        if self.events is not None:
            self.events(
                {
                    "parallel_nodes": "task_finished",
                    "tier": self.tier.name,
                    "task": task.name,
                    "status": result.status.value,
                    "duration": result.duration,
                }
            )
        self.open -= 1
        status = result.status
        if status is TaskStatus.OK:
            self.ok += 1
            if self.winner is None:
                self.winner = task.name
        if status is not TaskStatus.SKIPPED:
            self.finished += 1
        if task.required and task.enabled:
            self.required_open -= 1

    def suspects(self, start: float, due: float) -> list[str]:
        """Tasks that succeeded at or after ``due`` (loop time; the run began at ``start``):
        the last step of one of them may have held the event loop past a timer."""
        return [
            r.name
            for r in self.results
            if r is not None and r.status is TaskStatus.OK and start + r.started + r.duration >= due
        ]

    def tier_result(
        self, wall_time: float, deadline_hit: bool, lag: float, blocking: list[str]
    ) -> TierResult:
        tasks = self.tier.tasks
        return TierResult(
            tier=self.tier.name,
            tasks={tasks[i].name: r for i, r in enumerate(self.results) if r is not None},
            wall_time=wall_time,
            deadline_exceeded=deadline_hit,
            winner=self.winner,
            loop_lag=lag,
            blocking=tuple(blocking),
            metadata=self.metadata,
        )
