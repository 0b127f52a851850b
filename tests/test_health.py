"""Replicas that heal: outlier ejection on a fake clock, probes that re-admit, weighted shares,
active health checks and per-replica statistics."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from parallel_nodes._balance import BalanceStrategy, OutlierDetection, ReplicaSet
from parallel_nodes.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def call(replicas: ReplicaSet[Any], ok: bool | None = None, seconds: float = 0.01) -> int:
    """One whole call; ``ok=None`` fails on replica 0 only."""
    i = replicas.pick()
    replicas.started(i)
    replicas.finished(i, seconds, ok=(i != 0) if ok is None else ok)
    return i


def make(clock: Clock, **policy: Any) -> ReplicaSet[str]:
    return ReplicaSet(
        ["a", "b", "c"],
        outlier=OutlierDetection(**{"consecutive_failures": 3, "cool_down": 10.0, **policy}),
        clock=clock,
    )


def test_a_replica_failing_in_a_row_is_ejected_and_gets_no_calls_during_its_cool_down() -> None:
    clock = Clock()
    replicas = make(clock)
    for _ in range(9):  # three rounds: replica 0 fails three times in a row
        call(replicas)
    assert replicas.is_ejected(0)
    picks = Counter(call(replicas) for _ in range(100))
    assert picks[0] == 0
    assert picks[1] == picks[2] == 50


def test_after_the_cool_down_one_probe_re_admits_a_recovered_replica() -> None:
    clock = Clock()
    replicas = make(clock)
    for _ in range(9):
        call(replicas)
    clock.now = 10.0
    assert call(replicas, ok=True) == 0  # the probe goes first, and succeeds
    assert not replicas.is_ejected(0)
    assert Counter(call(replicas, ok=True) for _ in range(30))[0] == 10


def test_a_failed_probe_doubles_the_cool_down_up_to_its_cap() -> None:
    clock = Clock()
    replicas = make(clock, max_cool_down=20.0)
    for _ in range(9):
        call(replicas)
    for now, expected_next in ((10.0, 30.0), (30.0, 50.0), (50.0, 70.0)):
        clock.now = now
        assert call(replicas) == 0  # the probe fails
        assert replicas.is_ejected(0)
        clock.now = expected_next - 0.001
        assert 0 not in {call(replicas) for _ in range(6)}
        clock.now = expected_next
        # the loop's next iteration probes at exactly this time
    assert replicas.stats()[0].ejections == 4


def test_only_one_probe_is_in_flight_at_a_time() -> None:
    clock = Clock()
    replicas = make(clock)
    for _ in range(9):
        call(replicas)
    clock.now = 10.0
    probe = replicas.pick()
    replicas.started(probe)
    assert probe == 0
    assert 0 not in {replicas.pick() for _ in range(10)}


def test_an_error_rate_past_the_threshold_ejects_without_a_streak() -> None:
    clock = Clock()
    replicas = ReplicaSet(
        ["a", "b"],
        outlier=OutlierDetection(consecutive_failures=100, error_rate=0.5, window=10),
        clock=clock,
    )
    for k in range(10):  # replica 0 alternates: never two failures in a row, 50% of calls
        replicas.started(0)
        replicas.finished(0, 0.01, ok=k % 2 == 0)
    assert replicas.is_ejected(0)
    assert not replicas.is_ejected(1)


def test_no_more_than_max_ejected_replicas_are_out_at_once() -> None:
    clock = Clock()
    replicas = make(clock, max_ejected=0.34)  # one of three
    for _ in range(30):
        call(replicas, ok=False)
    assert sum(replicas.is_ejected(i) for i in range(3)) == 1


def test_when_every_candidate_is_ejected_calls_still_go_somewhere() -> None:
    clock = Clock()
    replicas = ReplicaSet(["a"], outlier=OutlierDetection(consecutive_failures=1), clock=clock)
    call(replicas, ok=False)
    assert replicas.is_ejected(0)
    assert replicas.pick() == 0


def test_cancelled_calls_are_no_verdict_on_a_replica() -> None:
    clock = Clock()
    replicas = make(clock)
    for _ in range(10):
        replicas.started(0)
        replicas.finished(0, 0.01, ok=False, cancelled=True)
    assert not replicas.is_ejected(0)
    assert replicas.stats()[0].requests == 0


def test_weighted_shares_follow_the_weights_interleaved() -> None:
    replicas = ReplicaSet(["a", "b", "c"], strategy=BalanceStrategy.WEIGHTED, weights=[5, 1, 1])
    picks = [replicas.pick() for _ in range(70)]
    assert Counter(picks) == {0: 50, 1: 10, 2: 10}
    assert max(len(run) for run in "".join(map(str, picks)).split("1")) < 10  # interleaved


def test_weighted_without_weights_is_round_robin() -> None:
    replicas = ReplicaSet(["a", "b"], strategy=BalanceStrategy.WEIGHTED)
    assert [replicas.pick() for _ in range(4)] == [0, 1, 0, 1]


async def test_active_health_checks_eject_and_re_admit() -> None:
    clock = Clock()
    replicas = make(clock)
    down = {"b"}

    async def probe(replica: str) -> bool:
        if replica == "c":
            raise ConnectionError("unreachable")  # counts as unhealthy
        return replica not in down

    assert await replicas.check_health(probe) == (True, False, False)
    assert [replicas.is_ejected(i) for i in range(3)] == [False, True, False]  # max_ejected
    down.clear()
    assert await replicas.check_health(lambda replica: True) == (True, True, True)
    assert not any(replicas.is_ejected(i) for i in range(3))


def test_health_checks_need_an_outlier_policy() -> None:
    with pytest.raises(ConfigError, match="outlier="):
        ReplicaSet(["a"]).mark(0, healthy=False)


def test_stats_report_requests_quantiles_error_rate_in_flight_and_ejection() -> None:
    clock = Clock()
    replicas = make(clock)
    for k in range(1, 101):
        replicas.started(1)
        replicas.finished(1, k / 100, ok=k % 10 != 0)
    replicas.started(2)
    for _ in range(3):
        replicas.started(0)
        replicas.finished(0, 0.5, ok=False)
    a, b, c = replicas.stats()
    assert (b.requests, b.failures, b.error_rate) == (100, 10, 0.1)
    assert (b.p50, b.p95) == (0.5, 0.95)
    assert (c.in_flight, c.requests, c.p50) == (1, 0, None)
    assert (a.ejected, a.ejections, a.error_rate) == (True, 1, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"consecutive_failures": 0}, "consecutive_failures"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"window": 1}, "window"),
        ({"cool_down": -1}, "cool_down"),
        ({"cool_down": 10, "max_cool_down": 5}, "max_cool_down"),
        ({"max_ejected": 0}, "max_ejected"),
    ],
)
def test_outlier_policy_rejects_bad_values_naming_the_field(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        OutlierDetection(**kwargs)


def test_weights_must_match_the_replicas() -> None:
    with pytest.raises(ConfigError, match="weights"):
        ReplicaSet(["a", "b"], strategy=BalanceStrategy.WEIGHTED, weights=[1])
    with pytest.raises(ConfigError, match="outlier"):
        ReplicaSet(["a"], outlier="yes")  # type: ignore[arg-type]


def test_one_failing_replica_of_three_gets_under_5_percent_and_is_back_within_two_cool_downs() -> (
    None
):
    from benchmarks.scaling import ejection

    result = ejection()
    assert result["failing_share"] < 0.05
    assert result["readmitted_after_cool_downs"] is not None
    assert result["readmitted_after_cool_downs"] <= 2.0


async def test_a_task_stops_calling_its_failing_replica() -> None:
    from parallel_nodes import Task, Tier, run_tier

    calls = Counter[str]()

    async def broken(state: Any) -> str:
        calls["broken"] += 1
        raise ConnectionError("replica down")

    async def healthy(state: Any) -> str:
        calls["healthy"] += 1
        return "ok"

    async def also_healthy(state: Any) -> str:
        calls["also_healthy"] += 1
        return "ok"

    task = Task(
        "a",
        broken,
        replicas=[healthy, also_healthy],
        outlier=OutlierDetection(consecutive_failures=2, cool_down=60.0),
        timeout=1.0,
        default="fallback",
    )
    tier = Tier("t", [task], timeout=1.0)
    values = [(await run_tier(tier, {}, observers=())).values["a"] for _ in range(30)]
    assert calls["broken"] == 2  # ejected after two failures in a row; no probe within 60 s
    assert values.count("ok") == 28
    assert calls["healthy"] == calls["also_healthy"] == 14


def test_outlier_detection_needs_replicas_to_eject() -> None:
    from parallel_nodes import Task

    with pytest.raises(ConfigError, match=r"a\.outlier"):
        Task("a", print, timeout=1.0, outlier=OutlierDetection())
