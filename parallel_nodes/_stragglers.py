"""Abandoned tasks that have not ended yet, and the counts of abandoned and starved tasks.

A task cancelled at a timeout is never awaited: it may swallow the cancellation, or block in
a thread. It is held here until it ends, so it is not garbage-collected while pending.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Stragglers"]


class Stragglers:
    """The straggler set and its counters (one per engine)."""

    __slots__ = ("abandoned", "held", "starved")

    def __init__(self) -> None:
        self.held: set[asyncio.Task[Any]] = set()
        self.abandoned = 0
        """Tasks abandoned at a timeout or deadline."""
        self.starved = 0
        """Sync tasks timed out while every sync worker thread was busy."""

    def __len__(self) -> int:
        return len(self.held)

    def hold(self, atask: asyncio.Task[Any]) -> None:
        """Cancel ``atask`` and keep it until it ends."""
        atask.cancel()
        self.held.add(atask)

    def forget(self, atask: asyncio.Task[Any]) -> None:
        """``atask`` ended after it was abandoned."""
        self.held.discard(atask)
        if not atask.cancelled():
            atask.exception()  # mark it retrieved: an abandoned failure is already recorded
