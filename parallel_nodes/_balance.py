"""Replica selection: which of a task's equivalent callables gets the next call."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

from ._errors import ConfigError

__all__ = ["BalanceStrategy", "ReplicaSet"]

T = TypeVar("T")


class BalanceStrategy(StrEnum):
    """How a :class:`ReplicaSet` spreads calls over its replicas."""

    ROUND_ROBIN = "round_robin"
    """Each replica in turn."""
    LEAST_LOADED = "least_loaded"
    """The replica with the fewest calls in flight; ties go round robin."""
    FASTEST = "fastest"
    """The lowest expected time to a success (EWMA latency / success rate); replicas never
    tried go first, and every ``explore_every``-th pick goes round robin to re-measure the rest."""


class ReplicaSet(Generic[T]):
    """A task's equivalent replicas and the run state used to choose between them.

    Call :meth:`pick` for an index, :meth:`started` when the call begins, and :meth:`finished`
    when it ends. A hedge passes ``exclude=`` the first attempt's index so that it goes to a
    different replica.

    Example:
        >>> replicas = ReplicaSet(["primary", "mirror"], strategy=BalanceStrategy.FASTEST)
        >>> first = replicas.pick()
        >>> replicas.started(first)
        >>> replicas[first]
        'primary'
        >>> replicas.pick(exclude=first)  # a hedge goes elsewhere
        1
        >>> replicas.finished(first, 0.2, ok=True)
    """

    __slots__ = (
        "_cursor",
        "_errors",
        "_explore_every",
        "_finished",
        "_in_flight",
        "_latency",
        "_picks",
        "alpha",
        "replicas",
        "strategy",
    )

    def __init__(
        self,
        replicas: Sequence[T],
        *,
        strategy: BalanceStrategy = BalanceStrategy.ROUND_ROBIN,
        alpha: float = 0.3,
        explore_every: int | None = 20,
    ) -> None:
        """Create the set with no history.

        Args:
            replicas: The equivalent callables (or anything else to choose between).
            strategy: How to choose.
            alpha: Weight of the newest sample in the latency and error averages (0 < α <= 1).
            explore_every: Under ``FASTEST``, every this-many picks goes round robin, so slower
                replicas are re-measured; ``None`` never explores.

        Raises:
            ConfigError: An argument is out of range; the error names it.
        """
        if isinstance(replicas, str) or not isinstance(replicas, Sequence) or not replicas:
            raise ConfigError(
                "replicas", f"must be a non-empty sequence of replicas, got {replicas!r}"
            )
        if not isinstance(strategy, BalanceStrategy):
            raise ConfigError(
                "strategy",
                f"must be a BalanceStrategy such as BalanceStrategy.FASTEST, got {strategy!r}",
            )
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha <= 1:
            raise ConfigError("alpha", f"must be between 0 (exclusive) and 1, got {alpha!r}")
        if explore_every is not None and (
            not isinstance(explore_every, int)
            or isinstance(explore_every, bool)
            or explore_every < 2
        ):
            raise ConfigError(
                "explore_every",
                f"must be a whole number of at least 2, or None; got {explore_every!r}",
            )
        n = len(replicas)
        self.replicas: tuple[T, ...] = tuple(replicas)
        self.strategy = strategy
        self.alpha = float(alpha)
        self._explore_every = explore_every
        self._in_flight = [0] * n
        self._finished = [0] * n
        self._latency: list[float | None] = [None] * n
        self._errors = [0.0] * n
        self._cursor = 0
        self._picks = 0

    def __repr__(self) -> str:
        return f"ReplicaSet({len(self.replicas)} replicas, strategy={self.strategy.value!r})"

    def __len__(self) -> int:
        return len(self.replicas)

    def __getitem__(self, index: int) -> T:
        return self.replicas[index]

    def in_flight(self, index: int) -> int:
        """Calls started on replica ``index`` and not yet finished."""
        return self._in_flight[index]

    def latency(self, index: int) -> float | None:
        """EWMA of replica ``index``'s successful call durations, ``None`` before its first."""
        return self._latency[index]

    def error_rate(self, index: int) -> float:
        """EWMA of replica ``index``'s failures (0 healthy, towards 1 failing)."""
        return self._errors[index]

    def pick(self, exclude: Collection[int] | int | None = None) -> int:
        """The index of the replica for the next call.

        Args:
            exclude: Indices not to pick, e.g. the replica a hedged call is already waiting on.
                If it excludes every replica, it is ignored: a second call to the same replica
                still beats not making one.

        Returns:
            An index into :attr:`replicas`.
        """
        n = len(self.replicas)
        if exclude is None:
            excluded: Collection[int] = ()
        elif isinstance(exclude, int):
            excluded = (exclude,)
        else:
            excluded = exclude
        # Candidates in rotation order from the cursor, so every tie-break is round robin.
        order = [(self._cursor + k) % n for k in range(n)]
        candidates = [i for i in order if i not in excluded] or order
        self._picks += 1
        strategy = self.strategy
        if strategy is BalanceStrategy.LEAST_LOADED:
            chosen = min(candidates, key=self._in_flight.__getitem__)
        elif strategy is BalanceStrategy.FASTEST:
            chosen = self._fastest(candidates)
        else:
            chosen = candidates[0]
        self._cursor = (chosen + 1) % n
        return chosen

    def _fastest(self, candidates: list[int]) -> int:
        untried = [i for i in candidates if self._finished[i] == 0 and self._in_flight[i] == 0]
        if untried:
            return untried[0]
        every = self._explore_every
        if every is not None and self._picks % every == 0:
            return candidates[0]
        return min(candidates, key=lambda i: (self._expected_seconds(i), self._in_flight[i]))

    def _expected_seconds(self, index: int) -> float:
        # Each attempt succeeds with probability 1 - error rate, so retrying until a success
        # takes latency / (1 - error rate) on average; a replica never seen succeed ranks last.
        latency = self._latency[index]
        success = 1.0 - self._errors[index]
        if latency is None or success <= 0.0:
            return math.inf
        return latency / success

    def started(self, index: int) -> None:
        """Record that a call to replica ``index`` began."""
        self._in_flight[index] += 1

    def finished(self, index: int, seconds: float, *, ok: bool) -> None:
        """Record that a call to replica ``index`` ended after ``seconds``.

        Args:
            index: The replica, as returned by :meth:`pick`.
            seconds: How long the call took.
            ok: Whether it succeeded; only successes feed the latency average, so a replica
                that fails fast never looks fast.

        Raises:
            ValueError: ``seconds`` is not a finite duration, or ``finished`` was called more
                often than ``started`` for ``index``.
        """
        if not 0.0 <= seconds < math.inf:
            raise ValueError(f"seconds must be a finite duration >= 0, got {seconds!r}")
        if self._in_flight[index] <= 0:
            raise ValueError(
                f"replica {index} finished more calls than it started; call started({index}) "
                "when each call begins"
            )
        self._in_flight[index] -= 1
        self._finished[index] += 1
        alpha = self.alpha
        self._errors[index] += alpha * ((0.0 if ok else 1.0) - self._errors[index])
        if ok:
            previous = self._latency[index]
            self._latency[index] = (
                seconds if previous is None else previous + alpha * (seconds - previous)
            )
