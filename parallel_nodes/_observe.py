"""The observer hook: how metrics, logs and UIs learn what a tier run did.

An engine holds its observers (``Engine.observers``); a run may be given its own. Each call
carries the run's metadata (``run_tier(metadata=...)``) as the caller gave it, so an observer
can label what it records (the Prometheus observer reads its ``mode`` label there) without
the engine knowing what the labels mean.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ._results import TaskResult, TierResult

__all__ = ["TierObserver", "notify_cancelled", "notify_task", "notify_tier"]

_log = logging.getLogger("parallel_nodes")


@runtime_checkable
class TierObserver(Protocol):
    """Receives each task's result as it lands, and each tier's result at its end.

    Called synchronously on the event loop: keep it cheap. An observer that raises is logged
    and ignored, so instrumentation can never fail a graph.

    The run's metadata comes last, read-only, as OpenTelemetry passes attributes after the
    value they describe; ``on_tier_finished`` finds it in ``result.metadata``. An observer may
    also define ``on_tier_cancelled(self, tier: str, metadata: Mapping[str, str])``, called
    when the caller cancels a run (which has no result).

    Example:
        >>> class Printer:
        ...     def on_task_finished(self, tier, result, metadata):
        ...         print(tier, result.name, result.status.value, dict(metadata))
        ...     def on_tier_finished(self, result):
        ...         print(result.tier, result.metadata.get("mode", "default"))
        >>> import asyncio
        >>> from parallel_nodes import Task, Tier, run_tier
        >>> tier = Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)
        >>> _ = asyncio.run(run_tier(tier, {}, metadata={"mode": "chat"}, observers=[Printer()]))
        t a ok {'mode': 'chat'}
        t chat
    """

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        """One task of ``tier`` ended; ``metadata`` is the run's, as its caller gave it."""

    def on_tier_finished(self, result: TierResult) -> None:
        """A tier run ended; ``result.metadata`` is the run's."""


def notify_task(
    observers: tuple[TierObserver, ...], tier: str, result: TaskResult, metadata: Mapping[str, str]
) -> None:
    for obs in observers:
        try:
            obs.on_task_finished(tier, result, metadata)
        except Exception:
            _log.exception("observer %r failed in on_task_finished", obs)


def notify_tier(observers: tuple[TierObserver, ...], result: TierResult) -> None:
    for obs in observers:
        try:
            obs.on_tier_finished(result)
        except Exception:
            _log.exception("observer %r failed in on_tier_finished", obs)


def notify_cancelled(
    observers: tuple[TierObserver, ...], tier: str, metadata: Mapping[str, str]
) -> None:
    """Tell the observers that have ``on_tier_cancelled`` that the caller cancelled a run."""
    for obs in observers:
        hook = getattr(obs, "on_tier_cancelled", None)
        if hook is None:
            continue
        try:
            hook(tier, metadata)
        except Exception:
            _log.exception("observer %r failed in on_tier_cancelled", obs)
