"""Hedged requests and replicas for one task call.

After a delay (fixed, or the task's own observed p95), a second attempt starts — on another
replica when there are several — and the first success wins; the other is cancelled. A budget
caps the share of calls that may be hedges, so a slow backend is never doubled in load
(The Tail at Scale, Dean & Barroso, 2013).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphBubbleUp

from ._balance import BalanceStrategy, OutlierDetection, ReplicaSet
from ._errors import ConfigError
from ._sketch import LatencySketch
from ._values import coerce_seconds

__all__ = ["Hedge", "HedgeState", "hedged_call"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hedge:
    """When to send a second attempt of a slow call.

    Example:
        >>> Hedge(delay=0.05).budget
        0.1
    """

    delay: float | None = None
    """Seconds before the hedge; ``None`` uses the task's observed ``quantile`` latency."""
    quantile: float = 0.95
    """With ``delay=None``: which latency quantile triggers the hedge."""
    budget: float = 0.1
    """At most this share of calls may be hedges (0.1 = 10%). Twice the share a p95 trigger
    fires on: a budget equal to it runs dry in bursts, and the stragglers it is for go
    unhedged. The calls actually hedged stay near ``1 - quantile``."""
    min_samples: int = 20
    """With ``delay=None``: no hedging until this many latencies were observed."""

    if TYPE_CHECKING:
        # What the generated __init__ accepts; __post_init__ normalises it to the fields' types.
        def __init__(
            self,
            *,
            delay: float | timedelta | None = None,
            quantile: float = 0.95,
            budget: float = 0.1,
            min_samples: int = 20,
        ) -> None: ...

    def __post_init__(self) -> None:
        quantile, budget, min_samples = self.quantile, self.budget, self.min_samples
        if not (isinstance(quantile, float | int) and 0 < quantile < 1):
            raise ConfigError("hedge.quantile", f"must be between 0 and 1, got {quantile!r}")
        if not (isinstance(budget, float | int) and 0 < budget <= 1 and math.isfinite(budget)):
            raise ConfigError("hedge.budget", f"must be in (0, 1], e.g. 0.05, got {budget!r}")
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise ConfigError("hedge.min_samples", "must be a positive integer")
        delay = self.delay
        if delay is not None:  # normalising a frozen value
            object.__setattr__(self, "delay", coerce_seconds(delay, field="hedge.delay"))
        object.__setattr__(self, "quantile", float(quantile))
        object.__setattr__(self, "budget", float(budget))


class HedgeState:
    """A task's mutable hedging record: latencies, calls and hedges so far, and its replicas."""

    __slots__ = ("calls", "hedges", "replicas", "sketch")

    def __init__(
        self,
        hedge: Hedge | None,
        replicas: Sequence[Callable[..., Any]],
        strategy: BalanceStrategy,
        outlier: OutlierDetection | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sketch = LatencySketch(
            min_samples=hedge.min_samples if hedge else 20, refresh_every=16
        )
        self.calls = 0
        self.hedges = 0
        self.replicas: ReplicaSet[Callable[..., Any]] = ReplicaSet(
            replicas, strategy=strategy, outlier=outlier, clock=clock
        )

    def hedge_delay(self, hedge: Hedge | None) -> float | None:
        """When a call should be hedged, if at all (``None``: not yet known, or no hedge)."""
        if hedge is None:
            return None
        return hedge.delay if hedge.delay is not None else self.sketch.quantile(hedge.quantile)

    def may_hedge(self, hedge: Hedge) -> bool:
        """Whether one more hedge stays within the budget (checked when the delay has passed,
        so calls still in flight count)."""
        return self.hedges < hedge.budget * self.calls


async def hedged_call(
    state: HedgeState,
    hedge: Hedge | None,
    call: Callable[[Callable[..., Any]], Awaitable[Any]],
) -> Any:
    """Call one replica; after the hedge delay, race a second one. First success wins."""
    loop = asyncio.get_running_loop()
    replicas = state.replicas
    state.calls += 1
    delay = state.hedge_delay(hedge)

    async def attempt(i: int, t0: float) -> Any:
        # t0 is when the call (or its hedge) was launched, not when this task first ran: the
        # hedge timer counts from the launch, so the sketch must too, or a busy loop's start
        # lag makes the observed p95 too short and every call look slow.
        replicas.started(i)
        ok = False
        cancelled = False
        try:
            value = await call(replicas[i])
            ok = True
            return value
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            elapsed = loop.time() - t0
            replicas.finished(i, elapsed, ok=ok, cancelled=cancelled)
            # A loser cancelled by its hedge was at least this slow: leaving it out would
            # bias the observed p95 low, and hedge ever more often.
            if ok or cancelled:
                state.sketch.observe(elapsed)

    if delay is None or hedge is None:  # nothing to race yet: one call, in this task
        return await attempt(replicas.pick(), loop.time())

    # Callbacks and one future rather than asyncio.wait: this runs on every call of a hedged
    # task, and asyncio.wait builds a set, a future and callbacks per wait.
    outcome: asyncio.Future[Any] = loop.create_future()
    running: list[asyncio.Task[Any]] = []
    first_error: BaseException | None = None

    def settle(t: asyncio.Task[Any]) -> None:
        nonlocal first_error
        running.remove(t)
        if t.cancelled():
            return
        exc = t.exception()  # retrieved even when the outcome is known: no unretrieved warning
        if outcome.done():
            return
        if exc is None:
            outcome.set_result(t.result())
            return
        if isinstance(exc, GraphBubbleUp):  # an interrupt ends the call, whatever else runs
            outcome.set_exception(exc)
            return
        first_error = first_error or exc
        if not running:  # nothing left to win; a hedge not yet fired is not worth waiting for
            outcome.set_exception(first_error)

    def launch(i: int) -> None:
        t = loop.create_task(attempt(i, loop.time()))
        running.append(t)
        t.add_done_callback(settle)

    def fire() -> None:
        # Decide one loop turn later: calls whose backend answered in this very turn (their
        # timers were due together with ours) are then done, and are not hedged for nothing.
        loop.call_soon(decide)

    def decide() -> None:
        if outcome.done() or not running or running[0].done():
            return
        if state.may_hedge(hedge):
            state.hedges += 1
            launch(replicas.pick(exclude=first_index))

    first_index = replicas.pick()
    launch(first_index)
    timer = loop.call_later(delay, fire)
    try:
        return await outcome
    finally:
        timer.cancel()
        for t in running:
            t.cancel()
