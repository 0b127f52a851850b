"""The observer hook: how metrics, logs and UIs learn what a tier run did."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from ._results import TaskResult, TierResult

__all__ = [
    "TierObserver",
    "get_default_observers",
    "notify_cancelled",
    "notify_task",
    "notify_tier",
    "set_default_observers",
]

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


_defaults: tuple[TierObserver, ...] | None = None


def _load_defaults() -> tuple[TierObserver, ...]:
    if os.environ.get("PARALLEL_NODES_METRICS", "1").strip().lower() in ("0", "false", "no"):
        return ()
    # Why a package-relative import, resolved on first use: the metrics are our own subpackage
    # (prometheus-client is a core dependency), and a lookup by bare name would import whatever
    # `monitoring` module an application keeps beside its script. Deferred so that importing
    # `parallel_nodes` does not register metrics nobody asked for.
    from .monitoring import default_observer

    observer: TierObserver = default_observer()
    return (observer,)


def get_default_observers() -> tuple[TierObserver, ...]:
    """The observers a run uses when it is given none: the Prometheus metrics, unless switched off.

    Switch them off with ``set_default_observers(())`` or ``PARALLEL_NODES_METRICS=0``.
    """
    global _defaults
    if _defaults is None:
        _defaults = _load_defaults()
    return _defaults


def set_default_observers(observers: Iterable[TierObserver]) -> None:
    """Replace the process-wide default observers (``()`` turns instrumentation off)."""
    global _defaults
    items = tuple(observers)
    for i, obs in enumerate(items):
        if not isinstance(obs, TierObserver):
            raise TypeError(
                f"observers[{i}]: {type(obs).__name__} lacks on_task_finished/on_tier_finished"
            )
    _defaults = items


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
