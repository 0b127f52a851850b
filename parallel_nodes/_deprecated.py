"""What the kernel still accepts from before run metadata, and turns into metadata on entry.

Before, a run took ``mode="..."`` and told observers ``on_task_finished(tier, mode, result)``
and ``on_tier_cancelled(tier, mode)``. Now it takes ``metadata={"mode": "..."}`` and tells
``on_task_finished(tier, result, metadata)`` and ``on_tier_cancelled(tier, metadata)``. This
module is the only kernel code that knows a key of the metadata: ``mode``, for these shims.

An observer is checked where it is registered (``Engine(observers=...)``, ``engine.observers``,
``add_observer``, ``run_tier(observers=...)``, ``parallel_node(observers=...)``): one in the old
form is wrapped once in a ``LegacyObserver``, so the calls per task stay one plain call.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._errors import ConfigError
from ._metadata import freeze_metadata
from ._results import TaskResult, TierResult

__all__ = ["LegacyObserver", "adapt_observers", "metadata_with_mode"]

_MODE: Final = "mode"
_DEFAULT_MODE: Final = "default"


def metadata_with_mode(
    mode: str, metadata: Mapping[str, str] | None, *, stacklevel: int = 3
) -> Mapping[str, str]:
    """The run's metadata for a caller that passed the deprecated ``mode=``, with a warning.

    Raises:
        ConfigError: ``mode`` is not a non-empty ``str``, or ``metadata`` holds a mode too.
    """
    warnings.warn(
        f"mode= is deprecated; pass metadata={{'mode': {mode!r}}} instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    if not isinstance(mode, str) or not mode:
        raise ConfigError("mode", "must be a non-empty label declared in code, e.g. 'research'")
    checked = freeze_metadata(metadata)  # a bad mapping is named as without mode=
    if _MODE in checked:
        raise ConfigError("mode", "given twice; pass only metadata={'mode': ...}")
    return freeze_metadata({**checked, _MODE: mode})


def _positional(hook: Any) -> list[inspect.Parameter]:
    try:
        params = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the current form
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in params if p.kind in kinds]


def _is_mode(param: inspect.Parameter) -> bool:
    return param.name == _MODE or param.annotation in (str, "str")


def _task_hook_takes_mode(hook: Any) -> bool:
    """Whether ``on_task_finished`` is the old ``(tier, mode, result)``: its second parameter
    is named ``mode`` or annotated ``str``, or its third is named ``result``."""
    params = _positional(hook)
    if len(params) != 3:
        return False
    return _is_mode(params[1]) or params[2].name == "result"


def _cancel_hook_takes_mode(hook: Any) -> bool:
    """Whether ``on_tier_cancelled`` is the old ``(tier, mode)``."""
    params = _positional(hook)
    return len(params) == 2 and _is_mode(params[1])


class LegacyObserver:
    """An observer written for ``on_task_finished(tier, mode, result)``, called in the new form.

    Its mode is ``metadata.get("mode", "default")``, as ``run_tier(mode=...)`` used to pass.
    It compares equal to the observer it wraps, so ``add_observer`` still adds it only once.
    """

    __slots__ = ("cancel_takes_mode", "observer", "task_takes_mode")

    def __init__(self, observer: Any, *, task_takes_mode: bool, cancel_takes_mode: bool) -> None:
        self.observer = observer
        self.task_takes_mode = task_takes_mode
        self.cancel_takes_mode = cancel_takes_mode

    def __repr__(self) -> str:
        return f"LegacyObserver({self.observer!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LegacyObserver):
            other = other.observer
        return bool(self.observer == other)

    def __hash__(self) -> int:
        return id(self.observer)

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        if self.task_takes_mode:
            self.observer.on_task_finished(tier, metadata.get(_MODE, _DEFAULT_MODE), result)
        else:
            self.observer.on_task_finished(tier, result, metadata)

    def on_tier_finished(self, result: TierResult) -> None:
        self.observer.on_tier_finished(result)

    def on_tier_cancelled(self, tier: str, metadata: Mapping[str, str]) -> None:
        hook = getattr(self.observer, "on_tier_cancelled", None)
        if hook is None:
            return
        hook(tier, metadata.get(_MODE, _DEFAULT_MODE) if self.cancel_takes_mode else metadata)


_CURRENT: Final[dict[type, None]] = {}
"""Observer classes already found in the current form: their next registration is one lookup.
A plain dict, not a weak one, because ``run_tier(observers=...)`` registers on every run; it is
emptied when full, so classes made on the fly cannot grow it without bound."""
_CURRENT_MAX: Final = 1024


def _adapt(observer: Any, stacklevel: int) -> Any:
    cls = type(observer)
    if cls in _CURRENT:
        return observer
    task = getattr(observer, "on_task_finished", None)
    cancel = getattr(observer, "on_tier_cancelled", None)
    task_takes_mode = task is not None and _task_hook_takes_mode(task)
    cancel_takes_mode = cancel is not None and _cancel_hook_takes_mode(cancel)
    if not (task_takes_mode or cancel_takes_mode):
        # Only a class that defines the hook: one set on the instance (a SimpleNamespace)
        # may differ from one instance to the next.
        if hasattr(cls, "on_task_finished"):
            if len(_CURRENT) >= _CURRENT_MAX:
                _CURRENT.clear()
            _CURRENT[cls] = None
        return observer
    old = (
        "on_task_finished(tier, mode, result)"
        if task_takes_mode
        else "on_tier_cancelled(tier, mode)"
    )
    new = (
        "on_task_finished(tier, result, metadata)"
        if task_takes_mode
        else "on_tier_cancelled(tier, metadata)"
    )
    warnings.warn(
        f"{cls.__name__}.{old} is deprecated; define {new} and read "
        "metadata.get('mode', 'default')",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return LegacyObserver(
        observer, task_takes_mode=task_takes_mode, cancel_takes_mode=cancel_takes_mode
    )


def adapt_observers(observers: Iterable[Any], *, stacklevel: int = 4) -> tuple[Any, ...]:
    """``observers`` as a tuple, each one in the old form wrapped in a ``LegacyObserver``
    (with one ``DeprecationWarning`` each time one is registered).

    ``stacklevel`` counts from ``_adapt``: 4, the default, names the caller of the function
    that calls this one.
    """
    items = observers if type(observers) is tuple else tuple(observers)
    for obs in items:  # the common case, every class seen before: no call per observer
        if type(obs) not in _CURRENT:
            break
    else:
        return items
    adapted = None
    for i, obs in enumerate(items):
        new = _adapt(obs, stacklevel)
        if new is not obs:
            adapted = adapted or list(items)
            adapted[i] = new
    return items if adapted is None else tuple(adapted)
