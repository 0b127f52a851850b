"""Shared fixtures: a recording observer, and a guard against leaked asyncio tasks."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from parallel_nodes import TaskResult, TierResult


@dataclass
class RecordingObserver:
    """Keeps every callback, in order, for assertions."""

    tasks: list[tuple[str, str, TaskResult]] = field(default_factory=list)
    tiers: list[TierResult] = field(default_factory=list)

    def on_task_finished(self, tier: str, mode: str, result: TaskResult) -> None:
        self.tasks.append((tier, mode, result))

    def on_tier_finished(self, result: TierResult) -> None:
        self.tiers.append(result)


@pytest.fixture
def recorder() -> RecordingObserver:
    return RecordingObserver()
