"""Value checks shared by the frozen config types (tasks, tiers, policies, strategies).

A leaf module: it imports nothing of ours but the errors, so any config type can use it
without importing another (``_breaker_machine`` and ``_hedge`` used to reach into ``_task`` for
:func:`coerce_seconds`, which made an import cycle).
"""

from __future__ import annotations

import math
from datetime import timedelta

from ._errors import ConfigError

__all__ = ["coerce_seconds"]


def coerce_seconds(value: float | timedelta, *, field: str) -> float:
    """Normalise a timeout given as seconds or ``timedelta`` to a positive finite float.

    Raises:
        ConfigError: If the value is not a number, or is zero, negative, NaN or infinite.

    Example:
        >>> coerce_seconds(timedelta(milliseconds=250), field="timeout")
        0.25
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(field, f"must be seconds as a float or a timedelta, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(field, f"must be a positive, finite number of seconds, got {value!r}")
    return seconds
