"""``Task``: one unit of work in a tier, as frozen configuration."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langgraph.types import RetryPolicy

from ._errors import ConfigError

if TYPE_CHECKING:
    from ._balance import OutlierDetection
    from ._breaker import CircuitBreaker
    from ._hedge import Hedge, HedgeState

__all__ = ["MISSING", "Task", "coerce_seconds"]


class _Missing:
    """Tells "not passed" from ``None``."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def coerce_seconds(value: float | timedelta, *, field: str) -> float:
    """Normalise a timeout given as seconds or ``timedelta`` to a positive finite float.

    Raises:
        ConfigError: If the value is not a number, or is zero, negative, NaN or infinite.
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


def _accepts_runtime(fn: Callable[..., Any]) -> bool:
    if type(fn).__module__.startswith("ray."):
        return False  # a Ray remote function or actor method: (*args, **kwargs), takes the state
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature take the state only
        return False
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    return len(positional) >= 2 or any(p.name == "runtime" for p in params)


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


@dataclass(frozen=True, slots=True, init=False)
class Task:
    """One unit of work in a tier, with its own timeout, retries and safe default.

    ``fn`` takes the graph state, and optionally LangGraph's ``Runtime`` as a second argument
    (or a parameter named ``runtime``). It may be async or sync; a sync ``fn`` runs in a worker
    thread so it can never block the event loop. A task that ``depends_on`` others receives a
    copy of the state with each dependency's value under that dependency's output key.

    Example:
        >>> async def search(state):
        ...     return ["doc about " + state["question"]]
        >>> task = Task("rag", search, timeout=2.0, default_factory=list)
        >>> task.timeout
        2.0
    """

    name: str
    """Unique name in its tier; also the metric label, so declare it in code."""
    fn: Callable[..., Any]
    """The work: ``fn(state)`` or ``fn(state, runtime)``, async or sync."""
    timeout: float
    """Seconds for all attempts together (retries share it, they never reset it)."""
    default: Any
    """The value used when the task fails, times out, or is disabled."""
    default_factory: Callable[[], Any] | None
    """Makes a fresh default each run, so a mutable default is never shared."""
    enabled: bool
    """A disabled task is skipped and gets its default."""
    depends_on: tuple[str, ...]
    """Names of tasks in the same tier that must finish first."""
    output_key: str
    """The state key the value is written to; the task's name by default."""
    retry: RetryPolicy | None
    """LangGraph's ``RetryPolicy``; attempts share the task's timeout."""
    required: bool
    """For the good-enough strategy: whether the tier waits for this task."""
    output_type: type | tuple[type, ...] | None
    """When set, a value of another type counts as ``INVALID_OUTPUT`` and gets the default."""
    breaker: CircuitBreaker | None
    """A circuit breaker (shareable across tasks and, with Redis, processes); while it is open
    the task is not called and gets its default with status ``CIRCUIT_OPEN``."""
    hedge: Hedge | None
    """Send a second attempt when the first is slow (see ``Hedge``)."""
    replicas: tuple[Callable[..., Any], ...]
    """Equivalent callables to spread calls over (``fn`` is the first); hedges go elsewhere."""
    executor: Any
    """Where ``fn`` runs: ``None`` (the event loop, or a worker thread for sync functions),
    ``"thread"``, ``"process"``, ``"ray"``, a Ray actor handle, any
    ``concurrent.futures.Executor`` (Dask's ``client.get_executor()``), or an ``Executor``."""
    hedge_state: HedgeState | None = field(repr=False)
    """The task's latency sketch, call counts and replica loads (``None`` without hedging)."""
    takes_runtime: bool = field(repr=False)
    is_async: bool = field(repr=False)

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        timeout: float | timedelta,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
        enabled: bool = True,
        depends_on: Sequence[str] = (),
        output_key: str | None = None,
        retry: RetryPolicy | None = None,
        required: bool = True,
        output_type: type | tuple[type, ...] | None = None,
        breaker: CircuitBreaker | None = None,
        hedge: Hedge | None = None,
        replicas: Sequence[Callable[..., Any]] = (),
        balance: str = "round_robin",
        executor: Any = None,
        outlier: OutlierDetection | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                "name", f"must be a Python identifier such as 'rag_retrieval', got {name!r}"
            )
        if not callable(fn):
            raise ConfigError(f"{name}.fn", f"must be callable, got {type(fn).__name__}")
        if default is not MISSING and default_factory is not None:
            raise ConfigError(f"{name}.default", "pass default or default_factory, not both")
        if default_factory is not None and not callable(default_factory):
            raise ConfigError(f"{name}.default_factory", "must be a zero-argument callable")
        if isinstance(depends_on, str):
            raise ConfigError(
                f"{name}.depends_on", f"must be a sequence of names, e.g. ({depends_on!r},)"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError(f"{name}.retry", "must be a langgraph.types.RetryPolicy")
        if retry is not None and retry.max_attempts < 1:
            raise ConfigError(f"{name}.retry.max_attempts", "must be at least 1")
        if output_key is not None and (not isinstance(output_key, str) or not output_key):
            raise ConfigError(f"{name}.output_key", "must be a non-empty string")
        if breaker is not None:
            from ._breaker import CircuitBreaker

            if not isinstance(breaker, CircuitBreaker):
                raise ConfigError(f"{name}.breaker", "must be a parallel_nodes.CircuitBreaker")
        extra = tuple(replicas)
        if any(not callable(r) for r in extra):
            raise ConfigError(f"{name}.replicas", "must be callables like fn")
        if any(_is_async(r) != _is_async(fn) for r in extra):
            raise ConfigError(f"{name}.replicas", "must all be async, or all sync, like fn")
        hedge_state = None
        if outlier is not None and not extra:
            raise ConfigError(f"{name}.outlier", "ejects replicas: pass replicas=[...] too")
        if hedge is not None or extra:
            from ._balance import BalanceStrategy
            from ._hedge import Hedge, HedgeState

            if hedge is not None and not isinstance(hedge, Hedge):
                raise ConfigError(f"{name}.hedge", "must be a parallel_nodes.Hedge")
            try:
                strategy = BalanceStrategy(balance)
            except ValueError:
                raise ConfigError(
                    f"{name}.balance",
                    "must be 'round_robin', 'least_loaded', 'fastest' or 'weighted'",
                ) from None
            hedge_state = HedgeState(hedge, (fn, *extra), strategy, outlier)
        setattr_ = object.__setattr__
        setattr_(self, "hedge", hedge)
        setattr_(self, "replicas", extra)
        setattr_(self, "hedge_state", hedge_state)
        setattr_(self, "breaker", breaker)
        setattr_(self, "name", name)
        setattr_(self, "fn", fn)
        setattr_(self, "timeout", coerce_seconds(timeout, field=f"{name}.timeout"))
        setattr_(self, "default", None if default is MISSING else default)
        setattr_(self, "default_factory", default_factory)
        setattr_(self, "enabled", bool(enabled))
        setattr_(self, "depends_on", tuple(depends_on))
        setattr_(self, "output_key", output_key or name)
        setattr_(self, "retry", retry)
        setattr_(self, "required", bool(required))
        setattr_(self, "output_type", output_type)
        setattr_(self, "takes_runtime", _accepts_runtime(fn))
        setattr_(self, "is_async", _is_async(fn))
        from ._executors import check_executor

        check_executor(executor, field=f"{name}.executor")
        setattr_(self, "executor", executor)

    def make_default(self) -> Any:
        """The safe default for one run: fresh from ``default_factory`` when there is one."""
        factory = self.default_factory
        return self.default if factory is None else factory()
