"""Run metadata: the ``str`` labels a run carries, unread, from its caller to its observers.

The kernel never looks inside: a workflow may put its mode there for the metrics, an
application its tenant for its logs, and the scheduler passes the mapping on as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

from ._errors import ConfigError

__all__ = ["NO_METADATA", "FrozenMetadata", "freeze_metadata"]


class FrozenMetadata(dict[str, str]):
    """A run's metadata: a ``dict`` that refuses changes.

    Why a ``dict`` and not a ``MappingProxyType``: a ``TierResult`` carries it, and a result
    must pickle (it crosses processes) and compare equal to a plain dict; lookups stay C-fast.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a run's metadata is read-only; pass new metadata to the next run")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenMetadata], tuple[dict[str, str]]]:
        return (FrozenMetadata, (dict(self),))

    def __copy__(self) -> FrozenMetadata:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenMetadata:
        return self


NO_METADATA: Final[Mapping[str, str]] = FrozenMetadata()
"""A run's metadata when its caller gave none: one shared, empty, read-only mapping, so a run
without metadata allocates nothing for it."""


def freeze_metadata(metadata: Mapping[str, str] | None) -> Mapping[str, str]:
    """A read-only copy of ``metadata`` (``NO_METADATA`` for ``None`` or empty), checked once.

    A copy, so the caller changing its dict later changes no run; read-only, so an observer
    cannot change what the next observer sees.

    Raises:
        ConfigError: ``metadata`` is not a mapping of ``str`` to ``str``.

    Example:
        >>> dict(freeze_metadata({"mode": "research"}))
        {'mode': 'research'}
        >>> freeze_metadata(None) is NO_METADATA
        True
    """
    if metadata is None:
        return NO_METADATA
    if type(metadata) is FrozenMetadata:  # checked when frozen: a node's, a workflow's, a result's
        return metadata
    if not isinstance(metadata, Mapping):
        raise ConfigError(
            "metadata",
            f"expected a mapping of str to str, got {type(metadata).__name__}; "
            "pass e.g. metadata={'mode': 'research'}",
        )
    if not metadata:
        return NO_METADATA
    copied: dict[str, str] = dict(metadata)
    for key, value in copied.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError("metadata", _not_str(key, value))
    return FrozenMetadata(copied)


def _not_str(key: Any, value: Any) -> str:
    if not isinstance(key, str):
        return f"keys must be str, got {type(key).__name__} {key!r}; convert it with str()"
    return (
        f"values must be str, got {type(value).__name__} for {key!r}; "
        "convert it with str() (metrics labels and span attributes are text)"
    )
