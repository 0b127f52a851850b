"""Hedged requests and replicas for one task call.

After a delay (fixed, or the task's own observed p95), a second attempt starts — on another
replica when there are several — and the first success wins; the other is cancelled. A budget
caps the share of calls that may be hedges, so a slow backend is never doubled in load
(The Tail at Scale, Dean & Barroso, 2013).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphBubbleUp

from ._balance import BalanceStrategy, OutlierDetection, ReplicaSet
from ._errors import ConfigError
from ._sketch import LatencySketch
from ._values import coerce_seconds

if TYPE_CHECKING:
    from ._slot import Slot

__all__ = ["REFRESH_EVERY", "Hedge", "HedgeState", "hedged_call"]


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


REFRESH_EVERY = 16
"""Observations between two computations of an observed-quantile delay. The delay is asked
on every call; sorting the sketch each time cost more than the rest of the hedge path, and
16 new samples of 256 move a p95 little."""


class HedgeState:
    """A task's mutable hedging record: latencies, calls and hedges so far, and its replicas."""

    __slots__ = ("_delay", "_refresh_at", "calls", "due", "hedges", "replicas", "sketch")

    def __init__(
        self,
        hedge: Hedge | None,
        replicas: Sequence[Callable[..., Any]],
        strategy: BalanceStrategy,
        outlier: OutlierDetection | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Asked only every REFRESH_EVERY observations (see hedge_delay), so exact each time.
        self.sketch = LatencySketch(min_samples=hedge.min_samples if hedge else 20)
        self.calls = 0
        self.hedges = 0
        self.replicas: ReplicaSet[Callable[..., Any]] = ReplicaSet(
            replicas, strategy=strategy, outlier=outlier, clock=clock
        )
        self.due = _DueQueue()
        """The task's calls waiting for their hedge delay, under one loop timer."""
        self._delay: float | None = None
        self._refresh_at = 0
        """The sketch's ``count`` at which the observed delay is computed again."""

    def hedge_delay(self, hedge: Hedge | None) -> float | None:
        """When a call should be hedged, if at all (``None``: not yet known, or no hedge).

        An observed delay is the sketch's ``hedge.quantile``, computed again after every
        16 new observations (before ``min_samples``, after each one) and cached between.
        """
        if hedge is None:
            return None
        if hedge.delay is not None:
            return hedge.delay
        count = self.sketch.count
        if count >= self._refresh_at:
            delay = self._delay = self.sketch.quantile(hedge.quantile)
            self._refresh_at = count + (1 if delay is None else REFRESH_EVERY)
        return self._delay

    def may_hedge(self, hedge: Hedge) -> bool:
        """Whether one more hedge stays within the budget (checked when the delay has passed,
        so calls still in flight count)."""
        return self.hedges < hedge.budget * self.calls


Attempt = Callable[[Callable[..., Any], "Slot"], Awaitable[Any]]
"""One call of a replica for a slot: the executor layer of the task's call chain."""


async def hedged_call(state: HedgeState, hedge: Hedge | None, run_one: Attempt, slot: Slot) -> Any:
    """Call one replica; after the hedge delay, race a second one. First success wins.

    The first attempt runs in the caller's own task, waiting for its delay in the task's
    ``_DueQueue``; the hedge is a task of its own, started only when the delay has passed and
    the budget allows. Most calls are never
    hedged, and this runs on every call of a hedged task: a task, a future and their callbacks
    per call cost the median more than the hedges save the tail. A hedge that wins interrupts
    the first attempt by cancelling the caller, as ``asyncio.timeout`` does, and the
    cancellation is taken back before returning the hedge's result.
    """
    loop = asyncio.get_running_loop()
    replicas = state.replicas
    state.calls += 1
    delay = state.hedge_delay(hedge)
    index = replicas.pick()
    race: _Race | None = None
    # Timed from here, as the hedge timer is: counting from a later point would leave out the
    # loop's lag, make the observed p95 too short and every call look slow.
    t0 = loop.time()
    if delay is not None and hedge is not None:
        caller = asyncio.current_task()
        assert caller is not None, "a hedged call runs in an asyncio task"
        race = _Race(state, hedge, run_one, slot, caller, index, t0 + delay)
        if not state.due.add(race, loop):  # the queue serves another thread's loop
            race.timer = loop.call_at(race.due, race.fire)
    replicas.started(index)
    ok = cancelled = False
    try:
        value = await run_one(replicas.replicas[index], slot)
        ok = True
    except asyncio.CancelledError:
        cancelled = True
        if race is None or race.winner is None:
            raise
        # Ours only if no one else cancelled the caller meanwhile (asyncio.timeout's test).
        if race.caller.uncancel() > race.cancelling:
            raise
        return race.winner.result()  # the hedge's value, or its interrupt
    except GraphBubbleUp:  # an interrupt ends the call, whatever else runs
        if race is not None and race.winner is not None:  # our cancellation was swallowed
            race.caller.uncancel()
        raise
    except Exception as exc:
        if race is None or race.hedge is None:
            raise  # a hedge not yet fired is not worth waiting for
        race.settled = True  # from now on the hedge's result is awaited, not delivered
        if race.winner is not None:  # the first attempt swallowed our cancellation, then failed
            race.caller.uncancel()
            return race.winner.result()
        if race.error is not None:  # the hedge failed first
            raise race.error from None
        try:
            return await race.hedge
        except GraphBubbleUp:
            raise
        except Exception:
            raise exc from None  # both failed: the first attempt's error
    finally:
        elapsed = loop.time() - t0
        replicas.finished(index, elapsed, ok=ok, cancelled=cancelled)
        # A loser cancelled by its hedge was at least this slow: leaving it out would bias
        # the observed p95 low, and hedge ever more often.
        if ok or cancelled:
            state.sketch.observe(elapsed)
        if race is not None:
            race.settled = True
            if race.queued:
                state.due.settled()
            elif race.timer is not None:
                race.timer.cancel()
            if race.hedge is not None:
                race.hedge.cancel()
    if race is not None and race.winner is not None:
        # The hedge won, but the first attempt swallowed our cancellation and returned.
        race.caller.uncancel()
        return race.winner.result()
    return value


class _Race:
    """One hedged call's second attempt: started when the timer fires, and its outcome."""

    __slots__ = (
        "caller",
        "cancelling",
        "due",
        "error",
        "hedge",
        "index",
        "policy",
        "queued",
        "run_one",
        "sent",
        "settled",
        "slot",
        "state",
        "timer",
        "winner",
    )

    def __init__(
        self,
        state: HedgeState,
        policy: Hedge,
        run_one: Attempt,
        slot: Slot,
        caller: asyncio.Task[Any],
        index: int,
        due: float,
    ) -> None:
        self.state = state
        self.policy = policy
        self.run_one = run_one
        self.slot = slot
        self.caller = caller
        self.cancelling = caller.cancelling()
        self.index = index
        self.due = due
        """Loop time at which the hedge is due."""
        self.queued = False
        """In its task's ``_DueQueue`` (else it has a ``timer`` of its own, or is due)."""
        self.timer: asyncio.TimerHandle | None = None
        self.hedge: asyncio.Task[Any] | None = None
        self.winner: asyncio.Task[Any] | None = None
        self.error: BaseException | None = None
        self.settled = False
        """The first attempt has ended: the hedge can no longer deliver its result."""
        self.sent = False
        """The hedge's task has started its call."""

    def fire(self) -> None:
        # Decide one loop turn later: calls whose backend answered in this very turn (their
        # timers were due together with ours) are then done, and are not hedged for nothing.
        self.caller.get_loop().call_soon(self.decide)

    def decide(self) -> None:
        state = self.state
        if self.settled or not state.may_hedge(self.policy):
            return
        state.hedges += 1
        index = state.replicas.pick(exclude=self.index)
        loop = self.caller.get_loop()
        hedge = loop.create_task(_attempt(self, index, loop.time()))
        hedge.add_done_callback(self.hedge_done)
        self.hedge = hedge

    def hedge_done(self, hedge: asyncio.Task[Any]) -> None:
        if hedge.cancelled():
            if not self.sent:  # the first attempt ended before the hedge's task first ran:
                self.state.hedges -= 1  # nothing was sent, so nothing counts or spends budget
            return
        exc = hedge.exception()  # retrieved even when too late: no unretrieved warning
        if self.settled:
            return
        if exc is None or isinstance(exc, GraphBubbleUp):
            self.winner = hedge
            self.caller.cancel()  # interrupts the first attempt; hedged_call takes it back
        else:
            self.error = exc  # the first attempt may still succeed


_EARLY = 1e-6
"""A loop timer may run up to its clock's resolution (and a float's rounding) early: calls due
within this many seconds of the loop's time are due."""
_COMPACT_AT = 256
"""Calls that ended while queued, above which (and above half the queue) the queue is rebuilt
without them, as asyncio compacts its timer heap: a long delay must not hold every call."""


def _due_of(race: _Race) -> float:
    return race.due


class _DueQueue:
    """A task's calls waiting for their hedge delay, in due order, under one loop timer.

    A loop timer per call cost the hedge path a ``TimerHandle``, a context copy, and a heap
    push and pop with Python-level comparisons, although most calls end before their delay.
    Here a call is a deque append; one that ends first is skipped when it falls due, or
    dropped when the queue is compacted. The queue serves one event loop at a time: a call on
    another loop, while this one runs (in another thread), gets a timer of its own.
    """

    __slots__ = ("_loop", "_queue", "_settled", "_timer")

    def __init__(self) -> None:
        self._queue: deque[_Race] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._settled = 0
        """Queued calls that already ended."""

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, race: _Race, loop: asyncio.AbstractEventLoop) -> bool:
        """Queue ``race`` to be decided when due; ``False`` if another running loop owns the
        queue (the caller then arms a timer of its own)."""
        if self._loop is not loop:
            if self._loop is not None and self._loop.is_running():
                return False
            self._serve(loop)
        queue = self._queue
        if queue and race.due < queue[-1].due:  # the delay went down: keep the due order
            bisect.insort(queue, race, key=_due_of)
            if queue[0] is race and self._timer is not None:
                self._timer.cancel()
                self._timer = None
        else:
            queue.append(race)
        race.queued = True
        if self._timer is None:
            self._timer = loop.call_at(queue[0].due, self._fire)
        return True

    def settled(self) -> None:
        """A queued call ended before it fell due."""
        self._settled += 1
        if self._settled > _COMPACT_AT and 2 * self._settled > len(self._queue):
            for race in self._queue:
                race.queued = not race.settled
            self._queue = deque(race for race in self._queue if race.queued)
            self._settled = 0  # the timer may now be early for the head: _fire re-arms it

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        # The loop served so far is not running: a run on it has ended (asyncio.run closes
        # it), and its calls are over, or they will not be hedged if it runs again.
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for race in self._queue:
            race.queued = False
        self._queue.clear()
        self._settled = 0
        self._loop = loop

    def _fire(self) -> None:
        loop = self._loop
        assert loop is not None
        queue = self._queue
        limit = loop.time() + _EARLY
        while queue and queue[0].due <= limit:
            race = queue.popleft()
            race.queued = False
            if race.settled:
                self._settled -= 1
            else:
                race.fire()
        while queue and queue[0].settled:  # ended early: no timer for them
            queue.popleft().queued = False
            self._settled -= 1
        self._timer = loop.call_at(queue[0].due, self._fire) if queue else None


async def _attempt(race: _Race, index: int, t0: float) -> Any:
    """A hedge: one call of replica ``index``, recorded as ``hedged_call`` records the first.

    ``t0`` is when the hedge was launched, not when its task first ran (see ``hedged_call``).
    """
    race.sent = True
    state, run_one, slot = race.state, race.run_one, race.slot
    replicas = state.replicas
    loop = asyncio.get_running_loop()
    replicas.started(index)
    ok = cancelled = False
    try:
        value = await run_one(replicas.replicas[index], slot)
        ok = True
        return value
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        elapsed = loop.time() - t0
        replicas.finished(index, elapsed, ok=ok, cancelled=cancelled)
        if ok or cancelled:
            state.sketch.observe(elapsed)
