"""Engine gauges read at scrape time, tier runs by outcome, and the warning's structured fields."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from parallel_nodes import BreakerPolicy, CircuitBreaker, Task, Tier, run_tier
from parallel_nodes.monitoring import (
    EngineCollector,
    EngineReadings,
    ParallelMetrics,
    PrometheusObserver,
    TierOutcome,
    process_readings,
)


async def fast(state: Any) -> str:
    return "ok"


async def broken(state: Any) -> str:
    raise RuntimeError("down")


async def hang(state: Any) -> str:
    await asyncio.sleep(5)
    return "never"


def test_gauges_are_read_at_scrape_time_not_set_per_call() -> None:
    now = {"stragglers": 0}
    registry = CollectorRegistry()
    EngineCollector(
        registry=registry,
        readings=lambda: EngineReadings(stragglers=now["stragglers"], sync_busy=2, sync_blocked=1),
    )
    assert registry.get_sample_value("parallel_stragglers") == 0.0
    now["stragglers"] = 7
    assert registry.get_sample_value("parallel_stragglers") == 7.0
    assert registry.get_sample_value("parallel_sync_workers", {"state": "busy"}) == 2.0
    assert registry.get_sample_value("parallel_sync_workers", {"state": "blocked"}) == 1.0


async def test_a_watched_breaker_reports_open_as_2_under_its_task_name() -> None:
    registry = CollectorRegistry()
    collector = EngineCollector(registry=registry, prefix="app")
    breaker = CircuitBreaker("backend", policy=BreakerPolicy(failure_threshold=2))
    tier = Tier(
        "t", [Task("search", broken, timeout=1.0, default=None, breaker=breaker)], timeout=1.0
    )
    collector.watch(tier)
    value = registry.get_sample_value
    assert value("app_parallel_breaker_state", {"task_name": "search"}) == 0.0
    for _ in range(2):
        await run_tier(tier, {}, observers=())
    assert value("app_parallel_breaker_state", {"task_name": "search"}) == 2.0


async def test_the_process_readings_count_a_straggler_until_it_ends() -> None:
    release = asyncio.Event()

    async def stubborn(state: Any) -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await release.wait()
        return "late"

    before = process_readings().stragglers
    tier = Tier("t", [Task("s", stubborn, timeout=0.01, default=None)], timeout=1.0)
    await run_tier(tier, {}, observers=())
    assert process_readings().stragglers == before + 1
    release.set()
    await asyncio.sleep(0.01)
    assert process_readings().stragglers == before


@pytest.mark.parametrize(
    ("tasks", "deadline", "outcome"),
    [
        ([Task("a", fast, timeout=1.0)], 1.0, TierOutcome.OK),
        ([Task("a", broken, timeout=1.0, default=None)], 1.0, TierOutcome.DEGRADED),
        ([Task("a", hang, timeout=5.0, default=None)], 0.02, TierOutcome.DEADLINE),
    ],
    ids=["ok", "degraded", "deadline"],
)
async def test_each_tier_run_is_counted_once_by_outcome(
    tasks: list[Task], deadline: float, outcome: TierOutcome
) -> None:
    metrics = ParallelMetrics(registry=CollectorRegistry())
    await run_tier(Tier("t", tasks, timeout=deadline), {}, observers=(PrometheusObserver(metrics),))
    counts = {
        o.value: metrics.registry.get_sample_value(
            "parallel_tier_runs_total", {"tier": "t", "mode": "default", "outcome": o.value}
        )
        for o in TierOutcome
    }
    assert counts == {o.value: 1.0 if o is outcome else 0.0 for o in TierOutcome}


async def test_a_run_its_caller_cancels_counts_as_cancelled_by_caller() -> None:
    metrics = ParallelMetrics(registry=CollectorRegistry())
    tier = Tier("t", [Task("a", hang, timeout=5.0, default=None)], timeout=5.0)
    run = asyncio.ensure_future(run_tier(tier, {}, observers=(PrometheusObserver(metrics),)))
    await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    labels = {"tier": "t", "mode": "default", "outcome": "cancelled_by_caller"}
    assert metrics.registry.get_sample_value("parallel_tier_runs_total", labels) == 1.0


def test_an_unknown_outcome_is_refused_with_the_values_named() -> None:
    metrics = ParallelMetrics(registry=CollectorRegistry())
    with pytest.raises(ValueError, match=r"use monitoring\.TierOutcome"):
        metrics.observe_outcome("t", "m", "fine")


async def test_the_abandon_warning_carries_tier_and_task_as_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tier = Tier("retrieval", [Task("slow", hang, timeout=0.01, default=None)], timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="parallel_nodes"):
        await run_tier(tier, {}, observers=())
    (record,) = [r for r in caplog.records if "abandoned task" in r.getMessage()]
    assert (record.tier, record.task) == ("retrieval", "slow")  # type: ignore[attr-defined]
