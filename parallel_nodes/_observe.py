"""The observer hook: how metrics, logs and UIs learn what a tier run did.

An engine holds its observers (``Engine.observers``); a run may be given its own.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from ._results import TaskResult, TierResult

__all__ = ["TierObserver", "notify_cancelled", "notify_task", "notify_tier"]

_log = logging.getLogger("parallel_nodes")


@runtime_checkable
class TierObserver(Protocol):
    """Receives each task's result as it lands, and each tier's result at its end.

    Called synchronously on the event loop: keep it cheap. An observer that raises is logged
    and ignored, so instrumentation can never fail a graph.
    """

    def on_task_finished(self, tier: str, mode: str, result: TaskResult) -> None:
        """One task of ``tier`` ended."""

    def on_tier_finished(self, result: TierResult) -> None:
        """A tier run ended."""


def notify_task(
    observers: tuple[TierObserver, ...], tier: str, mode: str, result: TaskResult
) -> None:
    for obs in observers:
        try:
            obs.on_task_finished(tier, mode, result)
        except Exception:
            _log.exception("observer %r failed in on_task_finished", obs)


def notify_tier(observers: tuple[TierObserver, ...], result: TierResult) -> None:
    for obs in observers:
        try:
            obs.on_tier_finished(result)
        except Exception:
            _log.exception("observer %r failed in on_tier_finished", obs)


def notify_cancelled(observers: tuple[TierObserver, ...], tier: str, mode: str) -> None:
    """Tell the observers that have ``on_tier_cancelled`` that the caller cancelled a run."""
    for obs in observers:
        hook = getattr(obs, "on_tier_cancelled", None)
        if hook is None:
            continue
        try:
            hook(tier, mode)
        except Exception:
            _log.exception("observer %r failed in on_tier_cancelled", obs)
