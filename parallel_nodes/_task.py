"""``Task``: one unit of work in a tier, as frozen configuration."""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from types import UnionType
from typing import TYPE_CHECKING, Any, Final, Union, cast, get_args, get_origin

from langgraph.types import CachePolicy, RetryPolicy, TimeoutPolicy

from ._balance import BalanceStrategy, OutlierDetection
from ._breaker import Breaker, BreakerPolicy, CircuitBreaker
from ._errors import ConfigError
from ._executors import check_executor
from ._hedge import Hedge
from ._values import coerce_seconds

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable


__all__ = ["MISSING", "Task", "coerce_seconds", "injections"]


class _Missing:
    """Tells "not passed" from ``None``."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


_INJECTED_NAMES: Final = ("runtime", "config", "writer", "store")
"""The parameter names LangGraph fills in for a node, as it reads them (``KWARGS_CONFIG_KEYS``)."""
_INJECTED_TYPES: Final = {
    "Runtime": "runtime",
    "RunnableConfig": "config",
    "StreamWriter": "writer",
    "BaseStore": "store",
}
_MUTABLE: Final = (list, dict, set, bytearray)
_KEYWORDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _annotation_source(annotation: Any) -> str | None:
    """Which injected value an annotation asks for: ``Runtime[Ctx]``, ``BaseStore | None``..."""
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):  # `from __future__ import annotations`: match the name
        text = annotation.replace("Optional[", "").replace("typing.", "")
        head = re.split(r"[\[\s|,\]]", text.strip(), maxsplit=1)[0]
        return _INJECTED_TYPES.get(head.rsplit(".", 1)[-1])
    from langchain_core.runnables import RunnableConfig
    from langgraph.runtime import Runtime
    from langgraph.store.base import BaseStore
    from langgraph.types import StreamWriter

    options = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(options) == 1:
        annotation = options[0]
    origin = get_origin(annotation) or annotation
    if origin is Runtime:
        return "runtime"
    if annotation is RunnableConfig:
        return "config"
    if annotation == StreamWriter:
        return "writer"
    if isinstance(origin, type) and issubclass(origin, BaseStore):
        return "store"
    return None


def injections(name: str, fn: Callable[..., Any]) -> tuple[tuple[str, str, bool], ...]:
    """What ``fn`` takes besides the state, read once from its signature, as LangGraph does.

    The first positional parameter receives the state. Any other parameter named ``runtime``,
    ``config``, ``writer`` or ``store`` (or annotated ``Runtime``, ``RunnableConfig``,
    ``StreamWriter`` or ``BaseStore``) receives that value by keyword; never by position.

    Returns:
        ``(parameter, source, has_default)`` for each injected parameter.

    Raises:
        ConfigError: ``fn`` cannot take the state positionally, or has another parameter
            without a default that nothing would fill.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature take the state only
        return ()
    if not params or params[0].kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.VAR_KEYWORD,
    ):
        raise ConfigError(
            f"{name}.fn",
            "must take the state as its first positional parameter, e.g. "
            "async def f(state): ... or async def f(state, runtime): ...",
        )
    found: list[tuple[str, str, bool]] = []
    for p in params[1:]:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        has_default = p.default is not inspect.Parameter.empty
        source = p.name if p.name in _INJECTED_NAMES else _annotation_source(p.annotation)
        if source is not None and p.kind in _KEYWORDS:
            found.append((p.name, source, has_default))
        elif not has_default:
            raise ConfigError(
                f"{name}.fn",
                f"parameter {p.name!r} has no default and is not one LangGraph injects; "
                "name it runtime, config, writer or store (or annotate it Runtime, "
                "RunnableConfig, StreamWriter or BaseStore), or give it a default",
            )
    return tuple(found)


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Task:
    """One unit of work in a tier, with its own timeout, retries and safe default.

    ``fn`` takes the graph state first, as a LangGraph node does, and gets what LangGraph
    injects by parameter name or annotation: ``runtime`` (``Runtime``), ``config``
    (``RunnableConfig``), ``writer`` (``StreamWriter``) and ``store`` (``BaseStore``). So a
    node's function, or a bound ``runnable.ainvoke``, works unchanged. It may be async or sync; a
    sync ``fn`` runs in a worker thread so it can never block the event loop, and an awaitable
    it returns is awaited. A task that ``depends_on`` others receives a
    copy of the state with each dependency's value under that dependency's output key.

    A task is a frozen value: ``dataclasses.replace(task, timeout=5.0)`` makes a changed copy,
    and two tasks built alike are equal. What a task's runs change (its hedging record, its
    replicas' loads) lives in the ``Engine`` that runs it.

    Example:
        >>> import dataclasses
        >>> async def search(state):
        ...     return ["doc about " + state["question"]]
        >>> task = Task("rag", search, timeout=2.0, default_factory=list)
        >>> task.timeout
        2.0
        >>> dataclasses.replace(task, timeout=5.0).timeout
        5.0
    """

    name: str
    """Unique name in its tier; also the metric label, so declare it in code."""
    fn: Callable[..., Any]
    """The work: ``fn(state)``, ``fn(state, runtime)``, ``fn(state, config=...)``..., async or
    sync (a ``Runnable`` is called through its ``ainvoke``)."""
    _: KW_ONLY
    timeout: float
    """Seconds for all attempts together (retries share it, they never reset it): the number
    or ``timedelta`` given, or a ``TimeoutPolicy``'s ``run_timeout``."""
    idle_timeout: float | None = None
    """Seconds the task may go without a ``runtime.heartbeat()`` (or, under
    ``refresh_on="auto"``, streamed output) before it is abandoned; a ``TimeoutPolicy``'s."""
    refresh_on: str = "auto"
    """``"auto"`` (heartbeats and streamed output refresh the idle timer) or ``"heartbeat"``
    (heartbeats only); a ``TimeoutPolicy``'s."""
    default: Any = MISSING
    """The value used when the task fails, times out, or is disabled (``MISSING``: none given,
    so such a task writes nothing; ``None`` is its value)."""
    default_factory: Callable[[], Any] | None = None
    """Makes a fresh default each run, so a mutable default is never shared."""
    enabled: bool = True
    """A disabled task is skipped and gets its default."""
    depends_on: tuple[str, ...] = ()
    """Names of tasks in the same tier that must finish first."""
    output_key: str = ""
    """The state key the value is written to; the task's name by default."""
    retry: RetryPolicy | None = None
    """LangGraph's ``RetryPolicy``; attempts share the task's timeout."""
    required: bool = True
    """For the good-enough strategy: whether the tier waits for this task."""
    output_type: type | tuple[type, ...] | None = None
    """When set, a value of another type counts as ``INVALID_OUTPUT`` and gets the default."""
    breaker: Breaker | CircuitBreaker | None = None
    """The circuit breaker the task calls through, by name: ``Breaker("search", policy=...)``.
    The engine running the task holds its state, one handle per name, so tasks naming one
    breaker share it (and, with ``Engine(breakers=RedisBreakerStore(...))``, processes do).
    While it is open the task is not called and gets its default with status
    ``CIRCUIT_OPEN``. A ``CircuitBreaker`` instance still works, as its own handle."""
    hedge: Hedge | None = None
    """Send a second attempt when the first is slow (see ``Hedge``)."""
    replicas: tuple[Callable[..., Any], ...] = ()
    """Equivalent callables to spread calls over (``fn`` is the first); hedges go elsewhere."""
    balance: BalanceStrategy = BalanceStrategy.ROUND_ROBIN
    """How calls are spread over ``fn`` and its replicas: ``"round_robin"``,
    ``"least_loaded"``, ``"fastest"`` or ``"weighted"``."""
    returns: str = "value"
    """``"value"``: the return value goes to ``output_key``. ``"update"``: the task returns
    what a LangGraph node returns (a dict update, a ``Command``, a list of them, or ``None``),
    and ``parallel_node`` applies it as the node's own update."""
    on_error: str = "default"
    """``"default"``: a task that fails or times out gets its default and the tier goes on.
    ``"raise"``: its error (after its retries) ends the tier as it would end a plain node, so
    the graph's own ``retry_policy``, error handling or failure applies; the tier's other tasks
    are cancelled. For a node moved into a tier that must fail as it did."""
    executor: Any = None
    """Where ``fn`` runs: ``None`` (the event loop, or a worker thread for sync functions),
    ``"thread"``, ``"process"``, ``"ray"``, a Ray actor handle, any
    ``concurrent.futures.Executor`` (Dask's ``client.get_executor()``), or an ``Executor``."""
    outlier: OutlierDetection | None = None
    """Ejects a replica that fails or slows down (needs ``replicas``)."""
    cache_policy: CachePolicy[Any] | None = None
    """LangGraph's ``CachePolicy``: a run whose ``key_func(state)`` was seen within ``ttl``
    returns the stored value without calling ``fn``. The entries live in the engine's cache
    (``Engine(cache=...)``, e.g. the cache given to ``compile(cache=...)``); without one,
    nothing is cached, as in a graph compiled without a cache."""
    has_default: bool = field(init=False, repr=False, compare=False)
    """Whether a default was given; without one, a task that degrades writes nothing."""
    inject: tuple[tuple[str, str, bool], ...] = field(init=False, repr=False, compare=False)
    """``(parameter, source, has_default)`` for what ``fn`` takes besides the state."""
    is_async: bool = field(init=False, repr=False, compare=False)
    """Whether ``fn`` is a coroutine function (else it runs in a worker thread)."""
    plain: bool = field(init=False, repr=False, compare=False)
    """Whether a call is just ``fn(state)`` on the loop: async, and no retry, breaker, hedge,
    replicas, executor, cache policy or output check (the scheduler's fast path)."""

    if TYPE_CHECKING:
        # What the generated __init__ accepts; __post_init__ normalises it to the fields' types.
        def __init__(
            self,
            name: str,
            fn: Callable[..., Any] | Runnable[Any, Any],
            *,
            timeout: float | timedelta | TimeoutPolicy,
            idle_timeout: float | timedelta | None = None,
            refresh_on: str = "auto",
            default: Any = MISSING,
            default_factory: Callable[[], Any] | None = None,
            enabled: bool = True,
            depends_on: Sequence[str] = (),
            output_key: str | None = None,
            retry: RetryPolicy | None = None,
            required: bool = True,
            output_type: type | tuple[type, ...] | None = None,
            breaker: Breaker | CircuitBreaker | None = None,
            hedge: Hedge | None = None,
            replicas: Sequence[Callable[..., Any]] = (),
            balance: str = "round_robin",
            returns: str = "value",
            on_error: str = "default",
            executor: Any = None,
            outlier: OutlierDetection | None = None,
            cache_policy: CachePolicy[Any] | None = None,
        ) -> None: ...

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                "name", f"must be a Python identifier such as 'rag_retrieval', got {name!r}"
            )
        set_ = functools.partial(object.__setattr__, self)  # normalising a frozen value
        fn: Any = self.fn
        if not callable(fn) and hasattr(fn, "ainvoke"):  # a Runnable: a compiled graph, a chain
            fn = fn.ainvoke
            set_("fn", fn)
        if not callable(fn):
            raise ConfigError(f"{name}.fn", f"must be callable, got {type(fn).__name__}")
        self._check_shape()
        if self.cache_policy is not None and not isinstance(self.cache_policy, CachePolicy):
            raise ConfigError(
                f"{name}.cache_policy", "must be a langgraph.types.CachePolicy(key_func=, ttl=)"
            )
        inject = injections(name, fn)
        self._check_replicas(inject)
        self._set_timeouts()
        set_("depends_on", tuple(self.depends_on))
        set_("replicas", tuple(self.replicas))
        set_("output_key", self.output_key or name)
        set_("enabled", bool(self.enabled))
        set_("required", bool(self.required))
        set_("has_default", self.default is not MISSING or self.default_factory is not None)
        set_("inject", inject)
        is_async = _is_async(fn)
        set_("is_async", is_async)
        set_(
            "plain",
            is_async
            and self.retry is None
            and self.output_type is None
            and self.breaker is None
            and self.hedge is None
            and not self.replicas
            and self.executor is None
            and self.cache_policy is None
            and self.returns == "value",
        )

    def _check_shape(self) -> None:
        """What the task returns, does on error, and falls back to."""
        name, default, factory = self.name, self.default, self.default_factory
        if self.returns not in ("value", "update"):
            raise ConfigError(
                f"{name}.returns", f"must be 'value' or 'update', got {self.returns!r}"
            )
        if self.on_error not in ("default", "raise"):
            raise ConfigError(
                f"{name}.on_error", f"must be 'default' or 'raise', got {self.on_error!r}"
            )
        if self.on_error == "raise" and (default is not MISSING or factory is not None):
            raise ConfigError(
                f"{name}.on_error", "a task that raises its errors never uses a default; drop one"
            )
        if self.returns == "update" and self.output_type is not None:
            raise ConfigError(f"{name}.output_type", "does not apply to returns='update'")
        if default is not MISSING and factory is not None:
            raise ConfigError(f"{name}.default", "pass default or default_factory, not both")
        if factory is not None and not callable(factory):
            raise ConfigError(f"{name}.default_factory", "must be a zero-argument callable")
        if isinstance(self.depends_on, str):
            raise ConfigError(
                f"{name}.depends_on", f"must be a sequence of names, e.g. ({self.depends_on!r},)"
            )
        retry = self.retry
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError(f"{name}.retry", "must be a langgraph.types.RetryPolicy")
        if retry is not None and retry.max_attempts < 1:
            raise ConfigError(f"{name}.retry.max_attempts", "must be at least 1")
        key = self.output_key
        if key is not None and not isinstance(key, str):
            raise ConfigError(f"{name}.output_key", "must be a non-empty string")
        self._check_breaker()
        check_executor(self.executor, field=f"{name}.executor")

    def _check_breaker(self) -> None:
        breaker = self.breaker
        if breaker is None or isinstance(breaker, Breaker | CircuitBreaker):
            return
        if isinstance(breaker, str):
            fix = f"name it with Breaker({breaker!r}, policy=BreakerPolicy(...))"
        elif isinstance(breaker, BreakerPolicy):
            fix = f"a policy needs a name: Breaker({self.name!r}, policy=BreakerPolicy(...))"
        else:
            fix = f"got {type(breaker).__name__}"
        raise ConfigError(
            f"{self.name}.breaker", f"must be a parallel_nodes.Breaker or CircuitBreaker; {fix}"
        )

    def _check_replicas(self, inject: tuple[tuple[str, str, bool], ...]) -> None:
        """Replicas, hedging and balancing: replicas must be interchangeable with ``fn``."""
        name, extra = self.name, tuple(self.replicas)
        if any(not callable(r) for r in extra):
            raise ConfigError(f"{name}.replicas", "must be callables like fn")
        if any(_is_async(r) != _is_async(self.fn) for r in extra):
            raise ConfigError(f"{name}.replicas", "must all be async, or all sync, like fn")
        if any(injections(name, r) != inject for r in extra):
            raise ConfigError(f"{name}.replicas", "must take the same parameters as fn")
        outlier = self.outlier
        if outlier is not None and not extra:
            raise ConfigError(f"{name}.outlier", "ejects replicas: pass replicas=[...] too")
        if outlier is not None and not isinstance(outlier, OutlierDetection):
            raise ConfigError(f"{name}.outlier", f"must be an OutlierDetection, got {outlier!r}")
        if self.hedge is not None and not isinstance(self.hedge, Hedge):
            raise ConfigError(f"{name}.hedge", "must be a parallel_nodes.Hedge")
        try:
            object.__setattr__(self, "balance", BalanceStrategy(self.balance))
        except ValueError:
            raise ConfigError(
                f"{name}.balance",
                "must be 'round_robin', 'least_loaded', 'fastest' or 'weighted'",
            ) from None

    def _set_timeouts(self) -> None:
        """``timeout`` as seconds; a ``TimeoutPolicy`` gives ``idle_timeout`` and
        ``refresh_on`` too."""
        name, timeout, idle = self.name, cast(Any, self.timeout), cast(Any, self.idle_timeout)
        refresh_on = self.refresh_on
        if isinstance(timeout, TimeoutPolicy):
            try:
                policy = TimeoutPolicy.coerce(timeout)
            except ValueError as exc:
                raise ConfigError(f"{name}.timeout", str(exc)) from None
            if policy is None or policy.run_timeout is None:
                raise ConfigError(
                    f"{name}.timeout",
                    "a TimeoutPolicy needs a run_timeout too, e.g. "
                    "TimeoutPolicy(run_timeout=30, idle_timeout=5)",
                )
            if idle is not None:
                raise ConfigError(
                    f"{name}.idle_timeout", "give it in the TimeoutPolicy, or give no policy"
                )
            timeout, idle, refresh_on = policy.run_timeout, policy.idle_timeout, policy.refresh_on
        if refresh_on not in ("auto", "heartbeat"):
            raise ConfigError(
                f"{name}.refresh_on", f"must be 'auto' or 'heartbeat', got {refresh_on!r}"
            )
        object.__setattr__(self, "timeout", coerce_seconds(timeout, field=f"{name}.timeout"))
        if idle is not None:
            idle = coerce_seconds(idle, field=f"{name}.idle_timeout")
        object.__setattr__(self, "idle_timeout", idle)
        object.__setattr__(self, "refresh_on", refresh_on)

    @property
    def takes_runtime(self) -> bool:
        """Whether ``fn`` receives LangGraph's ``Runtime``."""
        return any(source == "runtime" for _, source, _ in self.inject)

    def make_default(self) -> Any:
        """The safe default for one run: fresh from ``default_factory`` when there is one."""
        factory = self.default_factory
        if factory is not None:
            return factory()
        default = self.default
        if default is MISSING:
            return None
        # Task(default=[]) would otherwise hand every run, and every Send, the same list.
        return copy.copy(default) if type(default) in _MUTABLE else default
