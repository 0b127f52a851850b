"""Point 5: deadlines nest. A tier run inside a task ends before the task's own deadline and
returns what finished, so ``map_task`` keeps its finished items.

On virtual time (``tests/_virtual.py``): the margins are exact, whatever the machine's load."""

from __future__ import annotations

import asyncio
from typing import Any

from parallel_nodes import Task, Tier, map_task, run_tier
from tests._virtual import virtual_time
from tests.conformance._graphs import as_tier, one_node

ITEM = 0.2  # seconds per item


async def _item(n: int) -> int:
    await asyncio.sleep(ITEM)
    return n


@virtual_time
async def test_map_task_keeps_the_items_that_finished_before_its_timeout() -> None:
    task = map_task(
        "answer",
        _item,
        items=lambda s: range(10),
        timeout=2.5 * ITEM,  # room for two rounds of four, not the third
        max_concurrency=4,
        default_factory=list,
    )
    out = await one_node(as_tier(task)).ainvoke({})
    assert out["answer"] == list(range(8))
    assert out["parallel"]["t"]["tasks"]["answer"]["status"] == "ok"


@virtual_time
async def test_a_tier_inside_a_task_returns_what_finished_before_the_outer_deadline() -> None:
    inner = Tier(
        "inner",
        [
            Task("fast", _fast, timeout=60),
            Task("slow", _slow, timeout=60, default="d"),
        ],
        timeout=60,
    )

    async def nested(state: Any) -> dict[str, Any]:
        result = await run_tier(inner, state, observers=())
        return result.values

    out = await one_node(as_tier(Task("answer", nested, timeout=ITEM))).ainvoke({})
    assert out["answer"] == {"fast": "fast", "slow": "d"}


async def _fast(state: Any) -> str:
    return "fast"


async def _slow(state: Any) -> str:
    await asyncio.sleep(60)
    return "slow"
