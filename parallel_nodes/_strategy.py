"""When a tier is done: wait for all, the first success, the first finisher, a quorum, or
whatever is good enough by a soft deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from ._errors import ConfigError
from ._values import coerce_seconds

__all__ = ["ALL", "FIRST_SUCCESS", "RACE", "Strategy", "StrategyKind", "good_enough", "quorum"]


class StrategyKind(StrEnum):
    ALL = "all"
    FIRST_SUCCESS = "first_success"
    RACE = "race"
    QUORUM = "quorum"
    GOOD_ENOUGH = "good_enough"


@dataclass(frozen=True, slots=True, kw_only=True)
class Strategy:
    """When a tier may return before every task has finished.

    Use the constants and constructors rather than building one: ``ALL``, ``FIRST_SUCCESS``,
    ``RACE``, ``quorum(k)`` and ``good_enough(soft_timeout)``. Whatever the strategy, the tier's
    deadline holds, and tasks still running when the tier returns are cancelled (their status is
    ``CANCELLED`` and they get their defaults).

    Example:
        >>> quorum(2).k
        2
    """

    kind: StrategyKind
    """Which rule ends the tier."""
    k: int = 0
    """For ``QUORUM``: how many successes end the tier."""
    soft_timeout: float = 0.0
    """For ``GOOD_ENOUGH``: seconds optional tasks get once the tier has started."""

    def __post_init__(self) -> None:
        # Strategy(kind=QUORUM) alone used to be a quorum of 0: satisfied before any task ran.
        if self.kind is StrategyKind.QUORUM and (
            isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1
        ):
            raise ConfigError(
                "strategy.k", f"a quorum needs k >= 1, e.g. quorum(2); got {self.k!r}"
            )
        if self.kind is StrategyKind.GOOD_ENOUGH and not self.soft_timeout > 0:
            raise ConfigError(
                "strategy.soft_timeout", "good_enough needs a soft timeout, e.g. good_enough(0.5)"
            )


ALL: Final = Strategy(kind=StrategyKind.ALL)
"""Wait for every task (failures fall back to defaults). The default."""
FIRST_SUCCESS: Final = Strategy(kind=StrategyKind.FIRST_SUCCESS)
"""Return when one task succeeds; cancel the rest. E.g. the same query to two vector stores."""
RACE: Final = Strategy(kind=StrategyKind.RACE)
"""Return when one task finishes, success or failure; cancel the rest."""


def quorum(k: int) -> Strategy:
    """Return once ``k`` tasks have succeeded; cancel the rest.

    Raises:
        ConfigError: If ``k`` is not a positive integer.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError("quorum.k", f"must be a positive integer, got {k!r}")
    return Strategy(kind=StrategyKind.QUORUM, k=k)


def good_enough(soft_timeout: float | timedelta) -> Strategy:
    """Wait for every ``required`` task; give optional ones until ``soft_timeout``.

    The tier returns once every required task has finished and either every optional task has
    finished or ``soft_timeout`` seconds have passed since the tier started.
    """
    return Strategy(
        kind=StrategyKind.GOOD_ENOUGH,
        soft_timeout=coerce_seconds(soft_timeout, field="good_enough.soft_timeout"),
    )
