"""LatencySketch: exact quantiles over the last ``size`` durations, in fixed memory."""

from __future__ import annotations

import random
import statistics
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallel_nodes._sketch import LatencySketch
from parallel_nodes.errors import ConfigError


def exact(samples: list[float], q: float) -> float:
    """The linear-interpolation quantile, straight from its definition."""
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q
    low = int(position)
    if low == len(ordered) - 1:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)


def test_none_until_min_samples() -> None:
    sketch = LatencySketch(size=10, min_samples=3)
    for seconds in (0.5, 0.1):
        sketch.observe(seconds)
        assert sketch.quantile(0.5) is None
    sketch.observe(0.3)
    assert sketch.quantile(0.5) == 0.3
    assert (sketch.quantile(0.0), sketch.quantile(1.0)) == (0.1, 0.5)


def test_matches_statistics_quantiles_inclusive() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(-3, 1) for _ in range(200)]
    sketch = LatencySketch(size=200, min_samples=1)
    for seconds in samples:
        sketch.observe(seconds)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    for percent, expected in enumerate(cuts, start=1):
        assert sketch.quantile(percent / 100) == pytest.approx(expected, rel=1e-12)


def test_keeps_only_the_last_size_durations() -> None:
    sketch = LatencySketch(size=4, min_samples=4)
    for seconds in (9.0, 9.0, 9.0, 1.0, 2.0, 3.0, 4.0):
        sketch.observe(seconds)
    assert (len(sketch), sketch.count) == (4, 7)
    assert sketch.quantile(1.0) == 4.0
    assert sketch.quantile(0.5) == 2.5


@given(
    samples=st.lists(st.floats(0, 60, allow_nan=False), min_size=1, max_size=80),
    size=st.integers(1, 32),
    q=st.floats(0, 1),
)
def test_any_stream_gives_the_exact_quantile_of_its_tail(
    samples: list[float], size: int, q: float
) -> None:
    sketch = LatencySketch(size=size, min_samples=1)
    for seen, seconds in enumerate(samples, start=1):
        sketch.observe(seconds)
        tail = samples[:seen][-size:]
        assert sketch.quantile(q) == pytest.approx(exact(tail, q), rel=1e-9, abs=1e-12)


def test_refresh_every_reuses_the_sorted_copy_then_catches_up() -> None:
    sketch = LatencySketch(size=100, min_samples=1, refresh_every=3)
    sketch.observe(1.0)
    assert sketch.quantile(1.0) == 1.0
    sketch.observe(5.0)
    sketch.observe(6.0)
    assert sketch.quantile(1.0) == 1.0  # two new samples: still the cached answer
    sketch.observe(7.0)
    assert sketch.quantile(1.0) == 7.0  # the third one triggers a re-sort


def test_observe_allocates_nothing_per_call() -> None:
    sketch = LatencySketch(size=64)
    buffer = sketch._buffer
    before = sys.getsizeof(buffer)
    for i in range(1000):
        sketch.observe(i / 1000)
    assert sketch._buffer is buffer
    assert sys.getsizeof(buffer) == before
    assert sketch._sorted is None  # nothing sorted until a quantile is asked


def test_clear_forgets_everything() -> None:
    sketch = LatencySketch(size=4, min_samples=1)
    sketch.observe(3.0)
    assert sketch.quantile(0.5) == 3.0
    sketch.clear()
    assert (len(sketch), sketch.count, sketch.quantile(0.5)) == (0, 0, None)
    sketch.observe(1.0)
    assert sketch.quantile(0.5) == 1.0
    assert repr(sketch) == "LatencySketch(size=4, samples=1)"


@pytest.mark.parametrize("seconds", [-0.001, float("nan"), float("inf")])
def test_observe_rejects_impossible_durations(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite seconds >= 0"):
        LatencySketch().observe(seconds)


@pytest.mark.parametrize("q", [-0.1, 1.01, float("nan")])
def test_quantile_rejects_q_outside_0_1(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        LatencySketch().quantile(q)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 2.5}, "size"),
        ({"min_samples": 0}, "min_samples"),
        ({"size": 8, "min_samples": 9}, "min_samples"),
        ({"refresh_every": 0}, "refresh_every"),
    ],
)
def test_invalid_arguments_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        LatencySketch(**kwargs)
