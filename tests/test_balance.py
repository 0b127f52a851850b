"""ReplicaSet: round robin cycles, least-loaded takes the idlest, fastest prefers the lowest
expected time, and ``exclude`` keeps a hedge off the first attempt's replica."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from parallel_nodes._balance import BalanceStrategy, ReplicaSet
from parallel_nodes.errors import ConfigError

RR, LEAST, FASTEST = (
    BalanceStrategy.ROUND_ROBIN,
    BalanceStrategy.LEAST_LOADED,
    BalanceStrategy.FASTEST,
)


def call(replicas: ReplicaSet[Any], seconds: float = 0.1, *, ok: bool = True, **pick: Any) -> int:
    """One whole call: pick, start, finish."""
    i = replicas.pick(**pick)
    replicas.started(i)
    replicas.finished(i, seconds, ok=ok)
    return i


# --- round robin ---------------------------------------------------------------------------


def test_round_robin_cycles() -> None:
    replicas = ReplicaSet(["a", "b", "c"])
    assert replicas.strategy is RR
    assert [replicas.pick() for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_round_robin_skips_excluded_and_keeps_cycling() -> None:
    replicas = ReplicaSet(["a", "b", "c"], strategy=RR)
    assert replicas.pick() == 0
    assert replicas.pick(exclude=1) == 2
    assert replicas.pick(exclude={0, 2}) == 1
    assert replicas.pick() == 2


# --- least loaded --------------------------------------------------------------------------


def test_least_loaded_picks_the_fewest_in_flight() -> None:
    replicas = ReplicaSet(["a", "b", "c"], strategy=LEAST)
    for i, busy in enumerate((3, 1, 2)):
        for _ in range(busy):
            replicas.started(i)
    assert replicas.pick() == 1
    replicas.started(1)
    replicas.started(1)  # now 3, 3, 2
    assert replicas.pick() == 2
    replicas.finished(0, 0.1, ok=True)
    replicas.finished(0, 0.1, ok=False)  # now 1, 3, 2
    assert replicas.pick() == 0
    assert replicas.pick(exclude=0) == 2


def test_least_loaded_spreads_concurrent_calls_evenly() -> None:
    replicas = ReplicaSet(range(4), strategy=LEAST)
    for _ in range(12):  # twelve calls in flight at once
        replicas.started(replicas.pick())
    assert [replicas.in_flight(i) for i in range(4)] == [3, 3, 3, 3]


def test_least_loaded_ties_go_round_robin() -> None:
    replicas = ReplicaSet(["a", "b", "c"], strategy=LEAST)
    assert [call(replicas) for _ in range(6)] == [0, 1, 2, 0, 1, 2]


# --- fastest -------------------------------------------------------------------------------


def test_fastest_tries_every_replica_first_then_prefers_the_lowest_ewma() -> None:
    replicas = ReplicaSet(["slow", "fast", "medium"], strategy=FASTEST, explore_every=None)
    seconds = {0: 0.9, 1: 0.1, 2: 0.5}
    first = [call(replicas, seconds[replicas._cursor]) for _ in range(3)]
    assert first == [0, 1, 2]  # each untried replica once
    picks = Counter(call(replicas, seconds[1]) for _ in range(20))
    assert picks == {1: 20}
    assert replicas.latency(1) == pytest.approx(0.1)


def test_fastest_tries_untried_replicas_before_known_fast_ones() -> None:
    replicas = ReplicaSet(["a", "b"], strategy=FASTEST)
    assert call(replicas, 0.01) == 0
    replicas.started(replicas.pick())  # "b" is being tried now
    assert replicas.pick() == 0  # nothing untried is idle: the known one


def test_fastest_follows_a_replica_that_slows_down() -> None:
    replicas = ReplicaSet(["a", "b"], strategy=FASTEST, alpha=0.5, explore_every=None)
    call(replicas, 0.1)  # a
    call(replicas, 0.6)  # b
    assert call(replicas, 1.0) == 0  # a: EWMA 0.55, still below b's 0.6...
    assert replicas.latency(0) == pytest.approx(0.55)
    assert call(replicas, 1.0) == 0  # ...now 0.775
    assert replicas.pick() == 1  # so b takes over


def test_fastest_penalises_failures_even_fast_ones() -> None:
    replicas = ReplicaSet(["flaky", "steady"], strategy=FASTEST, alpha=0.5, explore_every=None)
    call(replicas, 0.1)  # flaky: succeeds in 0.1 s
    call(replicas, 0.15)  # steady: 0.15 s
    assert call(replicas, 0.001, ok=False) == 0  # flaky fails in a millisecond
    assert replicas.latency(0) == pytest.approx(0.1)  # a fast failure is not a fast call
    assert replicas.error_rate(0) == pytest.approx(0.5)
    assert replicas.pick() == 1  # 0.1 / 0.5 = 0.2 s expected > 0.15 s


def test_fastest_ranks_a_replica_that_never_succeeded_last() -> None:
    replicas = ReplicaSet(["dead", "slow"], strategy=FASTEST, explore_every=None)
    call(replicas, 0.001, ok=False)
    call(replicas, 5.0)
    assert [call(replicas, 5.0) for _ in range(5)] == [1] * 5
    assert replicas.pick(exclude=1) == 0  # still usable when it is the only one left


def test_fastest_explores_every_nth_pick() -> None:
    replicas = ReplicaSet(["fast", "slow"], strategy=FASTEST, explore_every=5)
    call(replicas, 0.1)
    call(replicas, 1.0)
    picks = [call(replicas, 0.1 if replicas._cursor == 0 else 1.0) for _ in range(20)]
    assert Counter(picks) == {0: 16, 1: 4}


# --- exclude and bookkeeping ---------------------------------------------------------------


@pytest.mark.parametrize("strategy", list(BalanceStrategy))
def test_exclude_is_honoured_by_every_strategy(strategy: BalanceStrategy) -> None:
    replicas = ReplicaSet(range(3), strategy=strategy)
    for _ in range(10):
        first = call(replicas)
        assert replicas.pick(exclude=first) != first
        assert replicas.pick(exclude=[0, 1]) == 2


@pytest.mark.parametrize("strategy", list(BalanceStrategy))
def test_excluding_every_replica_falls_back_to_all(strategy: BalanceStrategy) -> None:
    replicas = ReplicaSet(["only"], strategy=strategy)
    assert replicas.pick(exclude=0) == 0


def test_finished_without_started_is_an_error() -> None:
    replicas = ReplicaSet(["a"])
    with pytest.raises(ValueError, match=r"call started\(0\)"):
        replicas.finished(0, 0.1, ok=True)
    replicas.started(0)
    with pytest.raises(ValueError, match="finite duration"):
        replicas.finished(0, float("nan"), ok=True)


def test_sequence_protocol_and_repr() -> None:
    replicas = ReplicaSet(("a", "b"), strategy=LEAST)
    assert (len(replicas), replicas[1], replicas.replicas) == (2, "b", ("a", "b"))
    assert repr(replicas) == "ReplicaSet(2 replicas, strategy='least_loaded')"


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (([],), {}, "replicas"),
        (("ab",), {}, "replicas"),
        (({1, 2},), {}, "replicas"),
        ((["a"],), {"strategy": "fastest"}, "strategy"),
        ((["a"],), {"alpha": 0}, "alpha"),
        ((["a"],), {"alpha": 1.5}, "alpha"),
        ((["a"],), {"explore_every": 1}, "explore_every"),
    ],
)
def test_invalid_arguments_name_the_field(
    args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        ReplicaSet(*args, **kwargs)
