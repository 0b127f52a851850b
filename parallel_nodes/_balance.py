"""Replica selection: which of a task's equivalent callables gets the next call, and which
replicas are ejected for failing (Envoy's outlier detection) until a probe re-admits them."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

from ._errors import ConfigError
from ._health import OutlierDetection, ReplicaHealth, ReplicaStats

__all__ = ["BalanceStrategy", "OutlierDetection", "ReplicaSet", "ReplicaStats"]

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
    WEIGHTED = "weighted"
    """In proportion to ``weights``, interleaved (smooth weighted round robin, as nginx)."""


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
        "_clock",
        "_current",
        "_cursor",
        "_errors",
        "_explore_every",
        "_finished",
        "_health",
        "_in_flight",
        "_latency",
        "_picks",
        "alpha",
        "outlier",
        "replicas",
        "strategy",
        "weights",
    )

    def __init__(
        self,
        replicas: Sequence[T],
        *,
        strategy: BalanceStrategy = BalanceStrategy.ROUND_ROBIN,
        alpha: float = 0.3,
        explore_every: int | None = 20,
        weights: Sequence[float] | None = None,
        outlier: OutlierDetection | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the set with no history.

        Args:
            replicas: The equivalent callables (or anything else to choose between).
            strategy: How to choose.
            alpha: Weight of the newest sample in the latency and error averages (0 < α <= 1).
            explore_every: Under ``FASTEST``, every this-many picks goes round robin, so slower
                replicas are re-measured; ``None`` never explores.
            weights: Under ``WEIGHTED``, each replica's share of calls (positive numbers);
                default: equal shares.
            outlier: When to eject a failing replica; ``None`` never ejects.
            clock: Seconds, monotonic; the cool-downs are measured on it (tests pass a fake).

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
        if weights is not None and (
            len(weights) != n
            or any(
                not isinstance(w, int | float) or isinstance(w, bool) or not 0 < w < math.inf
                for w in weights
            )
        ):
            raise ConfigError(
                "weights", f"must be {n} positive numbers, one per replica, got {weights!r}"
            )
        if outlier is not None and not isinstance(outlier, OutlierDetection):
            raise ConfigError("outlier", f"must be an OutlierDetection, got {outlier!r}")
        self.weights: tuple[float, ...] | None = (
            None if weights is None else tuple(float(w) for w in weights)
        )
        self.outlier = outlier
        self._clock = clock
        self._current = [0.0] * n
        self._health = [ReplicaHealth() for _ in range(n)]
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
        if n == 1 and self.outlier is None:  # a hedged task without replicas: on every call
            self._picks += 1
            return 0
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
        if self.outlier is not None:
            now = self._clock()
            health = self._health
            probe = next((i for i in candidates if health[i].probe_due(now)), None)
            if probe is not None:
                health[probe].probing = True  # one probe at a time; its result decides
                self._cursor = (probe + 1) % n
                return probe
            # Every candidate ejected: a call to an ejected replica still beats none (Envoy's
            # panic mode), so fall back to all of them.
            candidates = [i for i in candidates if not health[i].ejected] or candidates
        strategy = self.strategy
        if strategy is BalanceStrategy.WEIGHTED:
            chosen = self._weighted(candidates)
        elif strategy is BalanceStrategy.LEAST_LOADED:
            chosen = min(candidates, key=self._in_flight.__getitem__)
        elif strategy is BalanceStrategy.FASTEST:
            chosen = self._fastest(candidates)
        else:
            chosen = candidates[0]
        self._cursor = (chosen + 1) % n
        return chosen

    def _weighted(self, candidates: list[int]) -> int:
        weights = self.weights or (1.0,) * len(self.replicas)  # no weights: all equal
        current = self._current
        for i in candidates:
            current[i] += weights[i]
        chosen = max(candidates, key=current.__getitem__)
        current[chosen] -= sum(weights[i] for i in candidates)
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

    def finished(self, index: int, seconds: float, *, ok: bool, cancelled: bool = False) -> None:
        """Record that a call to replica ``index`` ended after ``seconds``.

        Args:
            index: The replica, as returned by :meth:`pick`.
            seconds: How long the call took.
            ok: Whether it succeeded; only successes feed the latency average, so a replica
                that fails fast never looks fast.
            cancelled: The call was cancelled (a hedge's loser, a strategy's early exit): it
                is no verdict on the replica, so outlier detection and the error rate skip it.

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
        health = self._health[index]
        if cancelled:
            health.probing = False  # the probe never answered: probe again on the next pick
            return
        health.record(seconds, ok=ok)
        if self.outlier is not None:
            self._judge(index, ok)
        alpha = self.alpha
        self._errors[index] += alpha * ((0.0 if ok else 1.0) - self._errors[index])
        if ok:
            previous = self._latency[index]
            self._latency[index] = (
                seconds if previous is None else previous + alpha * (seconds - previous)
            )

    # -- outlier detection ----------------------------------------------------------------------

    def _judge(self, index: int, ok: bool) -> None:
        policy = self.outlier
        assert policy is not None
        health = self._health[index]
        now = self._clock()
        if health.probing:
            health.probing = False
            if ok:
                health.readmit()
            else:
                health.eject(now, policy)  # each failed probe doubles the cool-down, capped
            return
        if health.ejected or not policy.should_eject(health):
            return
        ejected = sum(1 for h in self._health if h.ejected)
        if ejected < max(1, math.floor(policy.max_ejected * len(self.replicas))):
            health.eject(now, policy)

    def is_ejected(self, index: int) -> bool:
        """Whether replica ``index`` is ejected (its cool-down running, or awaiting a probe)."""
        return self._health[index].ejected

    def mark(self, index: int, *, healthy: bool) -> None:
        """Record an active health check's verdict: a failure ejects (within ``max_ejected``),
        a success re-admits an ejected replica at once.

        Raises:
            ConfigError: The set has no ``outlier=`` policy to eject by.
        """
        policy = self.outlier
        if policy is None:
            raise ConfigError("outlier", "health checks need ReplicaSet(..., outlier=...)")
        health = self._health[index]
        if healthy:
            if health.ejected:
                health.readmit()
            return
        if health.ejected:
            return
        ejected = sum(1 for h in self._health if h.ejected)
        if ejected < max(1, math.floor(policy.max_ejected * len(self.replicas))):
            health.eject(self._clock(), policy)

    async def check_health(self, probe: Callable[[T], Awaitable[bool] | bool]) -> tuple[bool, ...]:
        """Run an active health check on every replica and :meth:`mark` each with its verdict.

        Args:
            probe: Called with each replica; returns (or resolves to) whether it is healthy.
                An exception counts as unhealthy.

        Returns:
            Each replica's verdict, in order.
        """
        verdicts = []
        for i, replica in enumerate(self.replicas):
            try:
                verdict = probe(replica)
                healthy = bool(await verdict if inspect.isawaitable(verdict) else verdict)
            except Exception:
                healthy = False
            self.mark(i, healthy=healthy)
            verdicts.append(healthy)
        return tuple(verdicts)

    def stats(self) -> tuple[ReplicaStats, ...]:
        """Each replica's requests, latency quantiles, error rate, calls in flight and whether
        it is ejected, over its recent calls.

        Example:
            >>> replicas = ReplicaSet(["a", "b"])
            >>> replicas.started(0)
            >>> replicas.finished(0, 0.25, ok=True)
            >>> replicas.stats()[0].p50
            0.25
        """
        return tuple(
            h.snapshot(i, in_flight=self._in_flight[i]) for i, h in enumerate(self._health)
        )
