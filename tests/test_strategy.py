"""Strategies against tasks that succeed, fail, hang or are slow: what ran, what was
cancelled, and when the tier returned (as a ratio of the task delays).

On virtual time (``tests/_virtual.py``): the delays are kept, not waited for, so the ratios are
exact and the file runs in the CPU time it needs."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

from parallel_nodes import (
    ALL,
    FIRST_SUCCESS,
    RACE,
    Strategy,
    Task,
    TaskStatus,
    Tier,
    good_enough,
    map_task,
    quorum,
    run_tier,
)
from parallel_nodes._strategy import StrategyKind
from parallel_nodes.errors import ConfigError
from tests._virtual import virtual_time

UNIT = 0.1


class Probe:
    """Task factories that record whether each task was cancelled."""

    def __init__(self) -> None:
        self.cancelled: set[str] = set()

    def task(self, name: str, kind: str, *, required: bool = True) -> Task:
        async def fn(state: Any) -> str:
            try:
                if kind == "ok":
                    await asyncio.sleep(UNIT)
                elif kind == "slow":
                    await asyncio.sleep(3 * UNIT)
                elif kind == "fail":
                    await asyncio.sleep(UNIT / 2)
                    raise ConnectionError(name)
                else:  # hang
                    await asyncio.sleep(600)
            except asyncio.CancelledError:
                self.cancelled.add(name)
                raise
            return name

        return Task(name, fn, timeout=60, default="-", required=required)


async def _run(strategy: Strategy, kinds: dict[str, str], **kw: Any) -> tuple[Any, float, Probe]:
    probe = Probe()
    required = kw.pop("optional", set())
    tasks = [probe.task(n, k, required=n not in required) for n, k in kinds.items()]
    tier = Tier("t", tasks, timeout=kw.pop("deadline", 10 * UNIT), strategy=strategy)
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await run_tier(tier, {}, observers=())
    elapsed = loop.time() - start
    await asyncio.sleep(0)  # let cancellations land
    return result, elapsed / UNIT, probe


def _status(result: Any) -> dict[str, str]:
    return {n: r.status.value for n, r in result.tasks.items()}


MATRIX = {"ok": "ok", "fail": "fail", "hang": "hang", "slow": "slow"}


@virtual_time
async def test_all_waits_for_everything_until_the_deadline() -> None:
    result, ratio, probe = await _run(ALL, MATRIX, deadline=5 * UNIT)
    assert _status(result) == {"ok": "ok", "fail": "error", "hang": "timeout", "slow": "ok"}
    assert 4.5 < ratio < 7
    assert probe.cancelled == {"hang"}


@virtual_time
async def test_first_success_returns_on_the_first_success_and_cancels_the_rest() -> None:
    result, ratio, probe = await _run(FIRST_SUCCESS, MATRIX)
    assert _status(result) == {
        "ok": "ok",
        "fail": "error",
        "hang": "cancelled",
        "slow": "cancelled",
    }
    assert result.winner == "ok"
    assert result.values["ok"] == "ok"
    assert ratio < 1.8
    assert probe.cancelled == {"hang", "slow"}


@virtual_time
async def test_first_success_with_no_success_waits_for_all() -> None:
    result, ratio, _ = await _run(FIRST_SUCCESS, {"a": "fail", "b": "fail"})
    assert _status(result) == {"a": "error", "b": "error"}
    assert result.winner is None
    assert ratio < 1.5


@virtual_time
async def test_race_takes_the_first_finisher_even_a_failure() -> None:
    result, ratio, probe = await _run(RACE, MATRIX)
    assert _status(result) == {
        "ok": "cancelled",
        "fail": "error",
        "hang": "cancelled",
        "slow": "cancelled",
    }
    assert ratio < 1.2
    assert probe.cancelled == {"ok", "hang", "slow"}


@virtual_time
async def test_quorum_returns_after_k_successes() -> None:
    result, ratio, probe = await _run(quorum(2), MATRIX)
    assert _status(result) == {"ok": "ok", "fail": "error", "hang": "cancelled", "slow": "ok"}
    assert 2.5 < ratio < 4.5
    assert probe.cancelled == {"hang"}


@virtual_time
async def test_quorum_unreachable_ends_at_the_deadline() -> None:
    result, ratio, _ = await _run(quorum(2), {"a": "ok", "b": "hang"}, deadline=4 * UNIT)
    assert _status(result) == {"a": "ok", "b": "timeout"}
    assert 3.5 < ratio < 6


@virtual_time
async def test_good_enough_waits_for_required_and_gives_optional_a_soft_deadline() -> None:
    kinds = {"req": "ok", "opt_fast": "ok", "opt_hang": "hang"}
    result, ratio, probe = await _run(
        good_enough(2 * UNIT), kinds, optional={"opt_fast", "opt_hang"}
    )
    assert _status(result) == {"req": "ok", "opt_fast": "ok", "opt_hang": "cancelled"}
    assert 1.5 < ratio < 3.5
    assert probe.cancelled == {"opt_hang"}


@virtual_time
async def test_good_enough_waits_past_the_soft_deadline_for_a_slow_required_task() -> None:
    kinds = {"req": "slow", "opt": "hang"}
    result, ratio, _ = await _run(good_enough(UNIT), kinds, optional={"opt"})
    assert _status(result) == {"req": "ok", "opt": "cancelled"}
    assert 2.5 < ratio < 4.5


def test_strategy_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"quorum\.k"):
        quorum(0)
    with pytest.raises(ConfigError, match=r"t\.strategy"):
        Tier("t", [Task("a", lambda s: 1, timeout=1)], timeout=1, strategy=quorum(2))
    with pytest.raises(ConfigError, match="soft_timeout"):
        good_enough(-1)


@virtual_time
async def test_map_task_caps_concurrency_and_reduces_in_order() -> None:
    active = peak = 0

    async def square(x: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(UNIT / 2)
        active -= 1
        if x == 3:
            raise ValueError("bad item")
        return x * x

    task = map_task(
        "squares", square, items=lambda s: s["xs"], timeout=5, max_concurrency=2, reducer=list
    )
    tier = Tier("t", [task], timeout=5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await run_tier(tier, {"xs": [1, 2, 3, 4]}, observers=())
    ratio = (loop.time() - start) / (UNIT / 2)
    assert result.values == {"squares": [1, 4, 16]}
    assert peak == 2
    assert 1.8 < ratio < 3.5


@virtual_time
async def test_map_task_item_timeout_drops_the_item() -> None:
    async def maybe_hang(x: int) -> int:
        await asyncio.sleep(600 if x == 2 else 0)
        return x

    task = map_task(
        "xs", maybe_hang, items=lambda s: [1, 2, 3], timeout=5, item_timeout=UNIT, reducer=sum
    )
    result = await run_tier(Tier("t", [task], timeout=5), {}, observers=())
    assert result.values == {"xs": 4}
    assert result.tasks["xs"].status is TaskStatus.OK


@dataclass
class _Counts:
    """A tier run's counts, as a strategy reads them: strategies tested as pure functions."""

    ok: int = 0
    finished: int = 0
    required_open: int = 1
    soft_passed: bool = False


def test_each_strategy_answers_from_the_counts_alone() -> None:
    assert not ALL.done(_Counts(ok=5, finished=5, required_open=0, soft_passed=True))
    assert FIRST_SUCCESS.done(_Counts(ok=1, finished=1))
    assert not FIRST_SUCCESS.done(_Counts(finished=3))
    assert RACE.done(_Counts(finished=1))
    assert quorum(2).done(_Counts(ok=2, finished=2))
    assert not quorum(2).done(_Counts(ok=1, finished=3))
    assert not good_enough(1).done(_Counts(required_open=0))
    assert good_enough(1).done(_Counts(required_open=0, soft_passed=True))


def test_strategies_combine_like_tenacitys_stops() -> None:
    either = quorum(2) | good_enough(0.5)
    both = quorum(2) & good_enough(0.5)
    soft_and_required = _Counts(ok=1, finished=1, required_open=0, soft_passed=True)
    assert either.done(soft_and_required)
    assert not both.done(soft_and_required)
    assert both.done(_Counts(ok=2, finished=2, required_open=0, soft_passed=True))
    assert either.soft_deadline == 0.5
    assert repr(either) == "(quorum(2) | good_enough(0.5))"
    assert Strategy(kind=StrategyKind.QUORUM, k=2) == quorum(2)
    assert dataclasses.replace(quorum(2), k=3) == quorum(3)
    with pytest.raises(ConfigError, match=r"t\.strategy"):
        Tier("t", [Task("a", lambda s: 1, timeout=1)], timeout=1, strategy=quorum(2) & RACE)


@virtual_time
async def test_a_combined_strategy_ends_the_tier_when_either_part_is_met() -> None:
    kinds = {"a": "ok", "b": "hang", "c": "hang"}
    result, ratio, _ = await _run(quorum(2) | good_enough(UNIT), kinds, optional={"b", "c"})
    assert _status(result) == {"a": "ok", "b": "cancelled", "c": "cancelled"}
    assert 0.5 < ratio < 3
