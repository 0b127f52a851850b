"""Who held the event loop: a timer that fired late, or a first step measured at its launch.

A timer runs late only when a callback ran long: an async task doing sync work. The run's
record names the tasks that may have (``TierResult.blocking``, ``loop_lag``), a warning says
so, and each task that timed out because of it carries a note.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from ._results import TaskResult

if TYPE_CHECKING:
    from ._scheduler import TierRun

__all__ = ["LAG_WARNING", "blame", "held_at_launch", "late_suspects", "name_blockers"]

_log = logging.getLogger("parallel_nodes")

LAG_WARNING: Final = 0.05
"""A timer this late (seconds) means something held the event loop: it is reported."""


def late_suspects(run: TierRun, due: float, victims: tuple[int, ...]) -> list[str] | None:
    """When a timer due at ``due`` fires late, the tasks that may have held the loop; else
    ``None``.

    The culprit is a task that ended at or after the timer was due (its last step was the long
    one), or an async task still running; never the task whose timer it is.
    """
    lag = run.loop.time() - due
    if lag < LAG_WARNING:
        return None
    run.lag = max(run.lag, lag)
    tasks = run.tier.tasks
    suspects = run.ledger.suspects(run.start, due)
    suspects += [tasks[i].name for i in run.running if i not in victims and tasks[i].is_async]
    return suspects


def name_blockers(run: TierRun, suspects: list[str], victims: tuple[int, ...]) -> None:
    """Name the suspects in the run's record, a log line, and each victim's error."""
    run.blocking.extend(n for n in suspects if n not in run.blocking)
    names = [run.tier.tasks[i].name for i in victims]
    results = run.ledger.results
    blame(run.tier.name, run.lag, suspects, names, [results[i] for i in victims])


def held_at_launch(run: TierRun, task: str, held: float) -> None:
    """Name a task whose first step, run eagerly at its launch, held the loop ``held`` s."""
    run.lag = max(run.lag, held)
    if task not in run.blocking:
        run.blocking.append(task)
    _log.warning(
        "tier %s: the event loop was blocked for %.3fs by the first step of task %r (measured "
        "at its launch); an async task doing sync work should be a sync task (it then runs in "
        "a thread)",
        run.tier.name,
        held,
        task,
    )


def blame(
    tier: str, lag: float, suspects: list[str], names: list[str], victims: list[TaskResult | None]
) -> None:
    """Name the suspects of a blocked loop in a log line and each victim's error."""
    note = (
        f"the event loop was blocked for {lag:.3f}s before this timeout could fire, "
        f"likely by {suspects or 'code outside this tier'}; an async task doing sync work "
        "should be a sync task (it then runs in a thread)"
    )
    _log.warning("tier %s: %s; timed out because of it: %s", tier, note, names)
    for result in victims:
        if result is not None and result.error is not None:
            result.error.add_note(note)
