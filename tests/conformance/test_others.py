"""Point 10: an unserialisable value, a task that blocks the loop, caller cancellation, a quorum
of nothing, what ``abandoned_total()`` counts."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from parallel_nodes import RACE, Strategy, Task, Tier, parallel_node, run_tier
from parallel_nodes._strategy import StrategyKind
from parallel_nodes.diagnostics import abandoned_total
from parallel_nodes.errors import ConfigError, UnserializableOutputError
from tests.conformance._graphs import CONFIG, as_tier, one_node, saver
from tests.conftest import RecordingObserver


async def _lock(state: Any) -> Any:
    return threading.Lock()


async def _fine(state: Any) -> str:
    return "ok"


async def test_an_unserialisable_value_degrades_only_its_task_with_the_key_named() -> None:
    async def plain(state: Any) -> dict[str, Any]:
        return {"answer": threading.Lock(), "other": "ok"}

    with pytest.raises(TypeError, match="not msgpack serializable"):
        await one_node(plain, checkpointer=saver()).ainvoke({}, CONFIG)  # the whole graph fails

    tiered = one_node(
        as_tier(Task("answer", _lock, timeout=5, default=None), Task("other", _fine, timeout=5)),
        checkpointer=saver(),
    )
    out = await tiered.ainvoke({}, CONFIG)
    assert out["other"] == "ok"
    assert out["answer"] is None
    record = out["parallel"]["t"]["tasks"]["answer"]
    assert record["status"] == "invalid_output"
    assert record["error"] == "UnserializableOutputError"


async def test_the_error_names_the_task_key_and_fix() -> None:
    tier = Tier("t", [Task("answer", _lock, timeout=5, output_key="docs")], timeout=5)

    async def node(state: Any) -> dict[str, Any]:
        result = await run_tier(tier, state, observers=())
        error = result.tasks["answer"].error
        assert isinstance(error, UnserializableOutputError)
        return {"answer": str(error)}

    out = await one_node(node, checkpointer=saver()).ainvoke({}, CONFIG)
    assert "'answer'" in out["answer"]
    assert "'docs'" in out["answer"]
    assert "return plain data" in out["answer"]


async def test_a_task_blocking_the_loop_is_named_not_its_innocent_sibling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    block = 0.3

    async def hog(state: Any) -> str:
        time.sleep(block)  # noqa: ASYNC251 - the fault under test: sync work in an async task
        return "hog"

    async def innocent(state: Any) -> str:
        await asyncio.sleep(0.01)
        return "innocent"

    graph = one_node(
        as_tier(
            Task("answer", hog, timeout=5),
            Task("other", innocent, timeout=block / 3, default="d"),
        )
    )
    with caplog.at_level(logging.WARNING, logger="parallel_nodes"):
        out = await graph.ainvoke({})
    record = out["parallel"]["t"]
    assert record["blocking"] == ["answer"]
    assert record["loop_lag"] > block / 3  # a ratio of the block, never an absolute time
    assert "event loop was blocked" in caplog.text
    assert "other" not in record["blocking"]


async def test_cancelling_the_caller_is_not_counted_as_task_failures() -> None:
    recorder = RecordingObserver()
    started = asyncio.Event()

    async def long(state: Any) -> str:
        started.set()
        await asyncio.sleep(60)
        return "late"

    graph = one_node(
        parallel_node(
            Tier("t", [Task("answer", long, timeout=60)], timeout=60), observers=(recorder,)
        )
    )
    run = asyncio.ensure_future(graph.ainvoke({}))
    await asyncio.wait_for(started.wait(), 5)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert recorder.tasks == []
    assert recorder.tiers == []


def test_a_quorum_of_nothing_is_refused() -> None:
    with pytest.raises(ConfigError, match="quorum"):
        Strategy(kind=StrategyKind.QUORUM)


async def test_abandoned_total_counts_timeouts_not_a_strategys_losers() -> None:
    async def slow(state: Any) -> str:
        await asyncio.sleep(60)
        return "slow"

    before = abandoned_total()
    race = Tier(
        "t", [Task("a", _fine, timeout=5), Task("b", slow, timeout=5)], timeout=5, strategy=RACE
    )
    await one_node(parallel_node(race, observers=())).ainvoke({})
    assert abandoned_total() == before
    late = Tier("t", [Task("b", slow, timeout=0.01, default="d")], timeout=5)
    await one_node(parallel_node(late, observers=())).ainvoke({})
    assert abandoned_total() == before + 1
