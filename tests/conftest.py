"""Shared fixtures: a recording observer, and a guard against leaked asyncio tasks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
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


@pytest.fixture
def redis_url() -> str:
    """The local Redis (a failure under CI=true when it is down, else a skip)."""
    from tests._servers import require_redis

    return require_redis()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of its own on the local Redis, its keys deleted afterwards."""
    import redis.asyncio as redis

    prefix = f"test:parallel_nodes:breaker:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
