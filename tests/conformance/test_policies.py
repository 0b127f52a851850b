"""A task takes the node's policy vocabulary: ``timeout=TimeoutPolicy(run_timeout=...,
idle_timeout=...)``, where the idle timer is refreshed by ``runtime.heartbeat()`` and, under
``refresh_on="auto"``, by what the task streams."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langgraph.runtime import Runtime
from langgraph.types import StreamWriter, TimeoutPolicy

from parallel_nodes import Task, Tier, run_tier
from parallel_nodes.errors import ConfigError, TaskTimeoutError
from tests.conformance._graphs import as_tier, one_node

IDLE = 0.1


async def _beating(state: Any, runtime: Runtime[Any]) -> str:
    for _ in range(6):  # 3x the idle timeout in all, never idle for long
        await asyncio.sleep(IDLE / 2)
        runtime.heartbeat()
    return "alive"


def _streaming(state: Any, writer: StreamWriter) -> str:
    for i in range(6):
        time.sleep(IDLE / 2)
        writer({"progress": i})
    return "alive"


async def _silent(state: Any) -> str:
    await asyncio.sleep(60)
    return "never"


@pytest.mark.parametrize("fn", [_beating, _streaming], ids=["heartbeat", "stream"])
async def test_heartbeats_and_streamed_output_keep_an_idle_timeout_from_firing(fn: Any) -> None:
    policy = TimeoutPolicy(run_timeout=30, idle_timeout=IDLE)
    out = await one_node(as_tier(Task("answer", fn, timeout=policy))).ainvoke({})
    assert out["answer"] == "alive"


async def test_a_silent_task_times_out_at_its_idle_timeout() -> None:
    policy = TimeoutPolicy(run_timeout=30, idle_timeout=IDLE)
    tier = Tier("t", [Task("answer", _silent, timeout=policy, default="d")], timeout=30)
    start = time.perf_counter()
    result = await run_tier(tier, {}, observers=())
    assert time.perf_counter() - start < 10 * IDLE  # the idle timeout, not the 30 s run timeout
    error = result.tasks["answer"].error
    assert isinstance(error, TaskTimeoutError)
    assert error.deadline == "idle"
    assert "heartbeat" in str(error)


async def test_heartbeat_only_ignores_streamed_output() -> None:
    policy = TimeoutPolicy(run_timeout=30, idle_timeout=IDLE, refresh_on="heartbeat")
    tier = Tier("t", [Task("answer", _streaming, timeout=policy, default="d")], timeout=30)
    result = await run_tier(tier, {}, observers=())
    assert result.values == {"answer": "d"}


def test_a_policy_without_a_run_timeout_is_refused() -> None:
    with pytest.raises(ConfigError, match="run_timeout"):
        Task("answer", _silent, timeout=TimeoutPolicy(idle_timeout=IDLE))
