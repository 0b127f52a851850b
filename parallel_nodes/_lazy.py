"""PEP 562 lazy exports, shared by ``parallel_nodes`` and ``parallel_nodes.modes``.

Why: ``parallel-nodes --help`` imports both packages first, and importing LangGraph and pydantic
up front costs it about two seconds, so each public name is imported on first use instead.
Keep this module free of imports beyond the standard library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any],
    where: Mapping[str, str],
    *,
    moved: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose globals are ``namespace``.

    Args:
        namespace: The package's ``globals()``; a name, once imported, is stored there so the
            next lookup is a plain global.
        where: Each public name's private module, relative to the package (``"_run"``).
        moved: Names the package no longer exports, each with what to use instead; asking
            for one raises an ``AttributeError`` that says so.
    """
    package: str = namespace["__name__"]
    gone = dict(moved or {})

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            hint = f"; {gone[name]}" if name in gone else ""
            raise AttributeError(f"module {package!r} has no attribute {name!r}{hint}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]} - {"annotations"})

    return __getattr__, __dir__
