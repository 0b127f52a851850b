"""``Tier``: tasks that run at once under one deadline, as frozen configuration."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from ._breaker import Breaker, BreakerPolicy
from ._errors import ConfigError
from ._strategy import ALL, Strategy
from ._task import Task
from ._values import coerce_seconds

__all__ = ["Tier"]


def _topological_order(
    tasks: tuple[Task, ...], tier: str
) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Kahn's algorithm, stable in declared order; rejects unknown names and cycles."""
    index = {t.name: i for i, t in enumerate(tasks)}
    indegree = [0] * len(tasks)
    for i, t in enumerate(tasks):
        for dep in t.depends_on:
            if dep not in index:
                raise ConfigError(
                    f"{tier}.{t.name}.depends_on",
                    f"unknown task {dep!r}; known tasks are {sorted(index)}",
                )
            if dep == t.name:
                raise ConfigError(f"{tier}.{t.name}.depends_on", "a task cannot depend on itself")
            indegree[i] += 1
    dependents: list[list[int]] = [[] for _ in tasks]
    for i, t in enumerate(tasks):
        for dep in t.depends_on:
            dependents[index[dep]].append(i)
    ready = [i for i in range(len(tasks)) if indegree[i] == 0]
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in dependents[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    if len(order) != len(tasks):
        cycle = sorted(tasks[i].name for i in range(len(tasks)) if indegree[i] > 0)
        raise ConfigError(
            f"{tier}.depends_on", f"dependency cycle among {cycle}; remove one of the edges"
        )
    return tuple(order), tuple(tuple(d) for d in dependents)


@dataclass(frozen=True, slots=True)
class Tier:
    """Tasks that run at once, under one deadline.

    At the deadline every unfinished task gets its default, and the tier returns what finished.
    ``parallel=False`` runs the same tasks one after another, in dependency order, with the same
    results, defaults and deadline: the rollback switch. A tier is a frozen value:
    ``dataclasses.replace(tier, timeout=3.0)`` makes a changed copy.

    Example:
        >>> tier = Tier("retrieval", [Task("a", lambda s: 1, timeout=1.0)], timeout=2.0)
        >>> [t.name for t in tier.tasks]
        ['a']
    """

    name: str
    """The tier's name; also a metric label."""
    tasks: tuple[Task, ...]
    """The tasks, in declared order."""
    _: KW_ONLY
    timeout: float
    """The deadline for the whole tier, in seconds."""
    parallel: bool = True
    """``False`` runs the tasks one at a time."""
    enabled: bool = True
    """A disabled tier skips every task; each gets its default."""
    strategy: Strategy = ALL
    """When the tier may return early (``ALL`` waits for every task)."""
    max_concurrency: int | None = None
    """How many tasks may run at once (``None``: all of them)."""
    durable: bool = False
    """Keep each finished task's value in the graph's store until the tier returns, so a run
    resumed after a crash re-runs only the tasks that had not finished. Needs a checkpointer
    and a store; costs a store read and a delete per tier run and a write per finished task."""
    stream_events: bool = False
    """Send a ``task_started`` and a ``task_finished`` event per task to LangGraph's ``custom``
    stream (``stream_mode="custom"``). Off by default: a node moved into a tier then streams
    exactly what it streamed as a plain node."""
    limit: int = field(init=False, repr=False, compare=False)
    """How many tasks run at once: ``max_concurrency``, at most the task count, 1 when
    ``parallel=False``."""
    order: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Indexes of ``tasks`` in a dependency-respecting order."""
    dependents: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    """For each task, the indexes of the tasks that depend on it."""
    dependency_keys: tuple[tuple[tuple[str, str], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    """For each task, its dependencies' ``(name, output_key)`` pairs."""
    has_dependencies: bool = field(init=False, repr=False, compare=False)
    waiting: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """For each task, how many tasks it waits for: what a run starts counting down from."""
    ready: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """The tasks that wait for none, in ``order``: a run's first queue."""
    required: int = field(init=False, repr=False, compare=False)
    """How many enabled tasks are ``required``."""
    has_sync: bool = field(init=False, repr=False, compare=False)
    """Whether any task is sync: such a tier measures CPU time to keep its speedup honest."""

    if TYPE_CHECKING:
        # What the generated __init__ accepts; __post_init__ normalises it to the fields' types.
        def __init__(
            self,
            name: str,
            tasks: Iterable[Task],
            *,
            timeout: float | timedelta,
            parallel: bool = True,
            enabled: bool = True,
            strategy: Strategy = ALL,
            max_concurrency: int | None = None,
            durable: bool = False,
            stream_events: bool = False,
        ) -> None: ...

    def __post_init__(self) -> None:
        name, tasks, strategy = self.name, self.tasks, self.strategy
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError("name", f"must be a Python identifier such as 'tier1', got {name!r}")
        if isinstance(tasks, Task):
            raise ConfigError(f"{name}.tasks", "must be a list of Task, e.g. [task]")
        items = tuple(tasks)
        if not items:
            raise ConfigError(f"{name}.tasks", "a tier needs at least one Task")
        seen: set[str] = set()
        keys: set[str] = set()
        policies: dict[str, BreakerPolicy] = {}  # one breaker (one handle) applies one policy
        for i, t in enumerate(items):
            if not isinstance(t, Task):
                raise ConfigError(f"{name}.tasks[{i}]", f"must be a Task, got {type(t).__name__}")
            if t.name in seen:
                raise ConfigError(f"{name}.tasks[{i}].name", f"duplicate task name {t.name!r}")
            if t.output_key in keys:
                raise ConfigError(
                    f"{name}.tasks[{i}].output_key", f"two tasks write {t.output_key!r}"
                )
            seen.add(t.name)
            keys.add(t.output_key)
            b = t.breaker
            if isinstance(b, Breaker) and policies.setdefault(b.name, b.policy) != b.policy:
                raise ConfigError(
                    f"{name}.tasks[{i}].breaker",
                    f"breaker {b.name!r} has two policies in this tier; give its tasks one",
                )
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"{name}.strategy", "must be ALL, FIRST_SUCCESS, RACE, quorum(k) or good_enough(s)"
            )
        if strategy.needs > len(items):
            raise ConfigError(
                f"{name}.strategy", f"{strategy!r} needs at least {strategy.needs} tasks"
            )
        cap = self.max_concurrency
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError(f"{name}.max_concurrency", "must be a positive integer or None")
        set_ = functools.partial(object.__setattr__, self)  # normalising a frozen value
        set_("tasks", items)
        set_("timeout", coerce_seconds(self.timeout, field=f"{name}.timeout"))
        for flag in ("parallel", "enabled", "durable", "stream_events"):
            set_(flag, bool(getattr(self, flag)))
        set_("limit", (len(items) if cap is None else min(cap, len(items))) if self.parallel else 1)
        order, dependents = _topological_order(items, name)
        set_("order", order)
        set_("dependents", dependents)
        output_keys = {t.name: t.output_key for t in items}
        set_(
            "dependency_keys",
            tuple(tuple((d, output_keys[d]) for d in t.depends_on) for t in items),
        )
        set_("has_dependencies", any(t.depends_on for t in items))
        # Counted once here rather than on every run: a run only copies them.
        set_("waiting", tuple(len(t.depends_on) for t in items))
        set_("ready", tuple(i for i in order if not items[i].depends_on))
        set_("required", sum(1 for t in items if t.required and t.enabled))
        set_("has_sync", any(not t.is_async for t in items))
