"""When a tier is done: wait for all, the first success, the first finisher, a quorum, or
whatever is good enough by a soft deadline; or any or all of those (``|``, ``&``).

A strategy is a small frozen value that answers one question from the run's counts: is the
tier done? (``done(counts)``). The scheduler asks after each task's result, and at the soft
deadline; it never needs to know which strategy it asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._errors import ConfigError
from ._values import coerce_seconds

__all__ = [
    "ALL",
    "FIRST_SUCCESS",
    "RACE",
    "AllOf",
    "AnyOf",
    "Counts",
    "Strategy",
    "StrategyKind",
    "good_enough",
    "quorum",
]


class StrategyKind(StrEnum):
    ALL = "all"
    FIRST_SUCCESS = "first_success"
    RACE = "race"
    QUORUM = "quorum"
    GOOD_ENOUGH = "good_enough"
    ANY_OF = "any_of"
    ALL_OF = "all_of"


class Counts(Protocol):
    """What a strategy reads of a tier run (the run's ``Ledger``)."""

    @property
    def ok(self) -> int:
        """Tasks that succeeded."""

    @property
    def finished(self) -> int:
        """Tasks that ended, well or not (a skipped task did not)."""

    @property
    def required_open(self) -> int:
        """Enabled ``required`` tasks without a result yet."""

    @property
    def soft_passed(self) -> bool:
        """Whether the strategy's soft deadline has passed."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Strategy:
    """When a tier may return before every task has finished.

    Use the constants and constructors rather than building one: ``ALL``, ``FIRST_SUCCESS``,
    ``RACE``, ``quorum(k)`` and ``good_enough(soft_timeout)``; combine them with ``|`` (done
    when either is) and ``&`` (done when both are). Whatever the strategy, the tier's deadline
    holds, and tasks still running when the tier returns are cancelled (their status is
    ``CANCELLED`` and they get their defaults). ``Strategy(kind=...)`` builds the strategy of
    that kind, validated.

    Example:
        >>> quorum(2).k
        2
        >>> quorum(2) | good_enough(0.5)
        (quorum(2) | good_enough(0.5))
    """

    kind: StrategyKind = StrategyKind.ALL
    """Which rule ends the tier."""
    k: int = 0
    """For ``QUORUM``: how many successes end the tier."""
    soft_timeout: float = 0.0
    """For ``GOOD_ENOUGH``: seconds optional tasks get once the tier has started."""

    if not TYPE_CHECKING:

        def __new__(cls, *args: Any, kind: Any = None, **kwargs: Any) -> Any:
            # Strategy(kind=...) is the strategy of that kind, so its rule is its own method.
            if cls is Strategy and kind is not None:
                cls = _KINDS.get(StrategyKind(kind), Strategy)
            return object.__new__(cls)

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

    def done(self, counts: Counts) -> bool:
        """Whether the tier may return now, with what the counts say has ended.

        ``ALL`` never returns early: the tier ends when every task has.
        """
        return False

    def __repr__(self) -> str:
        return self.kind.name

    @property
    def soft_deadline(self) -> float | None:
        """Seconds after the tier's start at which to ask again (``None``: no soft deadline)."""
        return self.soft_timeout or None

    @property
    def needs(self) -> int:
        """The fewest tasks a tier must have for this strategy to be met at all."""
        return self.k

    def __or__(self, other: Strategy) -> Strategy:
        return AnyOf(parts=(self, other))

    def __and__(self, other: Strategy) -> Strategy:
        return AllOf(parts=(self, other))


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _FirstSuccess(Strategy):
    kind: StrategyKind = StrategyKind.FIRST_SUCCESS

    def done(self, counts: Counts) -> bool:
        return counts.ok >= 1


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _Race(Strategy):
    kind: StrategyKind = StrategyKind.RACE

    def done(self, counts: Counts) -> bool:
        return counts.finished >= 1


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _Quorum(Strategy):
    kind: StrategyKind = StrategyKind.QUORUM

    def done(self, counts: Counts) -> bool:
        return counts.ok >= self.k

    def __repr__(self) -> str:
        return f"quorum({self.k})"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _GoodEnough(Strategy):
    kind: StrategyKind = StrategyKind.GOOD_ENOUGH

    def done(self, counts: Counts) -> bool:
        return counts.soft_passed and counts.required_open == 0

    def __repr__(self) -> str:
        return f"good_enough({self.soft_timeout!r})"


def _parts(parts: tuple[Strategy, ...], kind: str) -> None:
    if len(parts) < 2 or not all(isinstance(p, Strategy) for p in parts):
        raise ConfigError(f"strategy.{kind}", "combines two or more strategies, e.g. a | b")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AnyOf(Strategy):
    """Done as soon as any of its parts is (``a | b``)."""

    kind: StrategyKind = StrategyKind.ANY_OF
    parts: tuple[Strategy, ...] = field(default=())
    """The strategies, any of which ends the tier."""

    def __post_init__(self) -> None:
        _parts(self.parts, "any_of")

    def done(self, counts: Counts) -> bool:
        return any(p.done(counts) for p in self.parts)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"

    @property
    def soft_deadline(self) -> float | None:
        return min((d for p in self.parts if (d := p.soft_deadline) is not None), default=None)

    @property
    def needs(self) -> int:
        return min(p.needs for p in self.parts)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AllOf(Strategy):
    """Done once all of its parts are (``a & b``)."""

    kind: StrategyKind = StrategyKind.ALL_OF
    parts: tuple[Strategy, ...] = field(default=())
    """The strategies that must all be met."""

    def __post_init__(self) -> None:
        _parts(self.parts, "all_of")

    def done(self, counts: Counts) -> bool:
        return all(p.done(counts) for p in self.parts)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"

    @property
    def soft_deadline(self) -> float | None:
        return min((d for p in self.parts if (d := p.soft_deadline) is not None), default=None)

    @property
    def needs(self) -> int:
        return max(p.needs for p in self.parts)


_KINDS: Final[dict[StrategyKind, type[Strategy]]] = {
    StrategyKind.FIRST_SUCCESS: _FirstSuccess,
    StrategyKind.RACE: _Race,
    StrategyKind.QUORUM: _Quorum,
    StrategyKind.GOOD_ENOUGH: _GoodEnough,
    StrategyKind.ANY_OF: AnyOf,
    StrategyKind.ALL_OF: AllOf,
}

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
