"""Tasks start as LangGraph starts a node's: eagerly on Python 3.12+, lazily on 3.11.

Either way the same tasks start, a strategy ends the tier no earlier, and a result is the same;
only the trips through the event loop differ.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

import pytest

from parallel_nodes import FIRST_SUCCESS, Task, Tier, run_tier

EAGER = sys.version_info >= (3, 12)


async def ready(state: Any) -> str:
    return "ready"


async def test_a_tier_of_tasks_that_need_no_wait_returns_without_a_loop_turn_on_3_12() -> None:
    """On 3.12+ a tier whose tasks never wait ends before the loop runs anything else."""
    ran: list[str] = []
    asyncio.get_running_loop().call_soon(ran.append, "other callback")
    tier = Tier("t", [Task(n, ready, timeout=1.0) for n in ("a", "b", "c")], timeout=1.0)
    result = await run_tier(tier, {}, observers=())
    assert result.values == {"a": "ready", "b": "ready", "c": "ready"}
    assert ran == ([] if EAGER else ["other callback"])


async def test_every_ready_task_starts_even_when_the_first_ends_the_tier_at_once() -> None:
    started: list[str] = []

    def make(name: str, wait: float) -> Any:
        async def fn(state: Any) -> str:
            started.append(name)
            if wait:
                await asyncio.sleep(wait)
            return name

        return fn

    tier = Tier(
        "t",
        [Task("fast", make("fast", 0), timeout=1.0), Task("slow", make("slow", 5), timeout=1.0)],
        timeout=1.0,
        strategy=FIRST_SUCCESS,
    )
    result = await run_tier(tier, {}, observers=())
    assert started == ["fast", "slow"]  # as when each first step waits for the loop
    assert result.winner == "fast"
    assert result.tasks["slow"].status.value == "cancelled"


async def test_a_first_step_that_holds_the_loop_is_named(caplog: pytest.LogCaptureFixture) -> None:
    """Measured at the launch on 3.12+; on 3.11 the late timer of a sibling names it."""

    async def hog(state: Any) -> str:
        time.sleep(0.2)  # noqa: ASYNC251 - the fault under test: sync work in an async task
        return "hog"

    async def quick(state: Any) -> str:
        await asyncio.sleep(0.001)
        return "quick"

    tier = Tier(
        "t",
        [Task("hog", hog, timeout=5.0), Task("quick", quick, timeout=0.05, default="d")],
        timeout=5.0,
    )
    with caplog.at_level(logging.WARNING, logger="parallel_nodes"):
        result = await run_tier(tier, {}, observers=())
    assert result.blocking == ("hog",)
    assert result.loop_lag > 0.05
    assert "event loop was blocked" in caplog.text
    # Eagerly, the sibling launches after the hog's step and keeps its whole budget.
    assert result.tasks["quick"].ok is EAGER
