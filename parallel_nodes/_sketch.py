"""``LatencySketch``: recent durations in a fixed-size ring, with quantiles for hedging."""

from __future__ import annotations

import math
from array import array

from ._errors import ConfigError

__all__ = ["LatencySketch"]


class LatencySketch:
    """The last ``size`` durations of one task, and their quantiles.

    Memory is fixed: one ``array('d')`` of ``size`` slots, overwritten oldest first, so
    :meth:`observe` allocates nothing. :meth:`quantile` sorts a copy of the samples, and reuses
    that sorted copy until ``refresh_every`` more observations have arrived; with the default of
    1 every answer is exact, a larger value trades freshness for fewer sorts when quantiles are
    asked on every call. Quantiles interpolate linearly between order statistics (numpy's
    default, and ``statistics.quantiles(..., method="inclusive")``).

    Example:
        >>> sketch = LatencySketch(size=100, min_samples=3)
        >>> for seconds in (0.1, 0.2, 0.3, 0.4):
        ...     sketch.observe(seconds)
        >>> sketch.quantile(0.5)
        0.25
        >>> LatencySketch().quantile(0.95) is None  # too few samples to trust
        True
    """

    __slots__ = (
        "_buffer",
        "_count",
        "_min_samples",
        "_next",
        "_refresh_every",
        "_size",
        "_sorted",
        "_stale",
    )

    def __init__(self, *, size: int = 256, min_samples: int = 20, refresh_every: int = 1) -> None:
        """Create an empty sketch.

        Args:
            size: How many recent durations to keep.
            min_samples: Observations needed before :meth:`quantile` answers; at most ``size``.
            refresh_every: Observations after which a cached sorted copy is rebuilt.

        Raises:
            ConfigError: A value is out of range; the error names the argument.
        """
        for field, value in (
            ("size", size),
            ("min_samples", min_samples),
            ("refresh_every", refresh_every),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(field, f"must be a whole number of at least 1, got {value!r}")
        if min_samples > size:
            raise ConfigError(
                "min_samples", f"must not exceed size={size}, got {min_samples}; raise size"
            )
        self._size = size
        self._min_samples = min_samples
        self._refresh_every = refresh_every
        self._buffer = array("d", bytes(8 * size))
        self._next = 0
        self._count = 0
        self._sorted: list[float] | None = None
        self._stale = 0

    def __repr__(self) -> str:
        return f"LatencySketch(size={self._size}, samples={len(self)})"

    def __len__(self) -> int:
        """How many durations the sketch holds now (at most ``size``)."""
        return min(self._count, self._size)

    @property
    def count(self) -> int:
        """How many durations were ever observed."""
        return self._count

    def observe(self, seconds: float) -> None:
        """Record one duration.

        Raises:
            ValueError: ``seconds`` is negative, NaN or infinite.
        """
        if not 0.0 <= seconds < math.inf:
            raise ValueError(
                f"a duration must be finite seconds >= 0, got {seconds!r}; time calls with "
                "time.perf_counter() differences"
            )
        self._buffer[self._next] = seconds
        self._next = (self._next + 1) % self._size
        self._count += 1
        self._stale += 1

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the recent durations, or ``None`` below ``min_samples``.

        Args:
            q: Between 0 and 1, e.g. ``0.95`` for p95.

        Raises:
            ValueError: ``q`` is outside ``[0, 1]``.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be between 0 and 1 (0.95 for p95), got {q!r}")
        n = len(self)
        if n < self._min_samples:
            return None
        ordered = self._sorted
        if ordered is None or self._stale >= self._refresh_every:
            ordered = self._sorted = sorted(self._buffer[:n])
            self._stale = 0
        position = (len(ordered) - 1) * q
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    def clear(self) -> None:
        """Forget every duration (e.g. after the backend was redeployed)."""
        self._next = 0
        self._count = 0
        self._sorted = None
        self._stale = 0
