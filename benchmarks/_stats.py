"""Medians, percentiles and ratios: the one place the benchmarks summarise samples."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["percentile", "ratio", "summarise"]


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, linearly interpolated.

    Args:
        samples: At least one number.
        q: The percentile, from 0 to 100.

    Returns:
        The interpolated value; the only sample when there is one.

    Raises:
        ValueError: If ``samples`` is empty or ``q`` is outside 0-100.
    """
    if not samples:
        raise ValueError("percentile() needs at least one sample")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(samples: Sequence[float]) -> dict[str, float]:
    """The median, p10, p90, p99, min, max and count of ``samples``.

    Raises:
        ValueError: If ``samples`` is empty.
    """
    if not samples:
        raise ValueError("summarise() needs at least one sample")
    return {
        "median": statistics.median(samples),
        "p10": percentile(samples, 10),
        "p90": percentile(samples, 90),
        "p99": percentile(samples, 99),
        "min": min(samples),
        "max": max(samples),
        "n": float(len(samples)),
    }


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or ``inf`` when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else math.inf
