"""``map_task``: one function fanned out over a list from state, with a cap and a reducer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from ._errors import ConfigError
from ._run import run_tier
from ._task import MISSING, Task, _is_async
from ._tier import Tier
from ._values import coerce_seconds

__all__ = ["map_task"]


def _bind(fn: Callable[[Any], Any], item: Any) -> Callable[[Any], Any]:
    if _is_async(fn):

        async def call_async(state: Any) -> Any:
            return await fn(item)

        return call_async

    def call_sync(state: Any) -> Any:
        return fn(item)

    return call_sync


def map_task(
    name: str,
    fn: Callable[[Any], Any],
    *,
    items: Callable[[Mapping[str, Any]], Iterable[Any]],
    timeout: float | timedelta,
    item_timeout: float | timedelta | None = None,
    max_concurrency: int = 4,
    reducer: Callable[[list[Any]], Any] = list,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    **task_options: Any,
) -> Task:
    """A task that calls ``fn(item)`` for each item of ``items(state)``, at most
    ``max_concurrency`` at once, and reduces the successful results in input order.

    An item that fails or exceeds ``item_timeout`` is left out of the reduction; the task as a
    whole keeps its own ``timeout`` (and default) like any other.

    Example:
        >>> rewrites = map_task(
        ...     "rewrites", str.upper, items=lambda s: s["queries"], timeout=2.0,
        ...     reducer=" | ".join,
        ... )
        >>> rewrites.name
        'rewrites'
    """
    if not callable(items):
        raise ConfigError(
            f"{name}.items", "must be a callable taking the state, e.g. lambda s: s['q']"
        )
    if (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise ConfigError(f"{name}.max_concurrency", "must be a positive integer")
    total = coerce_seconds(timeout, field=f"{name}.timeout")
    per_item = (
        total
        if item_timeout is None
        else coerce_seconds(item_timeout, field=f"{name}.item_timeout")
    )

    async def fan_out(state: Mapping[str, Any]) -> Any:
        values = list(items(state))
        if not values:
            return reducer([])
        tier = Tier(
            name,
            [Task(f"{name}_{i}", _bind(fn, v), timeout=per_item) for i, v in enumerate(values)],
            timeout=total,
            max_concurrency=max_concurrency,
        )
        result = await run_tier(tier, state, observers=())
        return reducer([r.value for r in result.tasks.values() if r.ok])

    return Task(
        name,
        fan_out,
        timeout=total,
        default=default,
        default_factory=default_factory,
        **task_options,
    )
