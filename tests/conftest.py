"""Shared fixtures: a recording observer, and a guard against leaked asyncio tasks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from parallel_nodes import TaskResult, TierResult


@dataclass
class RecordingObserver:
    """Keeps every callback, in order, for assertions."""

    tasks: list[tuple[str, Mapping[str, str], TaskResult]] = field(default_factory=list)
    """``(tier, metadata, result)`` per task, the result last, as tests unpack it."""
    tiers: list[TierResult] = field(default_factory=list)

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        self.tasks.append((tier, metadata, result))

    def on_tier_finished(self, result: TierResult) -> None:
        self.tiers.append(result)


@pytest.fixture
def recorder() -> RecordingObserver:
    return RecordingObserver()


def need(module: str) -> None:
    """Skip when an optional dependency is missing, except on CI, where that is a failure."""
    import importlib
    import os

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        importlib.import_module(module)  # ImportError: CI must install the test group
    else:
        pytest.importorskip(module)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    """One local Ray instance for the whole session: it takes seconds to start, so only the
    tests that ask for it pay, once."""
    from pathlib import Path

    need("ray")
    import ray

    root = str(Path(__file__).resolve().parent.parent)
    # The workers import task functions by name (tests._workloads): give them the checkout.
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
