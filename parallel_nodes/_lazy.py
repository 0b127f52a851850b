"""How ``parallel_nodes`` and ``parallel_nodes.modes`` export their names.

Lazily (PEP 562): ``parallel-nodes --help`` imports both packages first, and importing LangGraph
and pydantic up front costs it about two seconds, so each public name is imported on first use.

Under the name users import: each public class and function says it lives in its public module
(``parallel_nodes.Task``, not ``parallel_nodes._task.Task``), as httpx does, so tracebacks,
reprs and pickles name what users can import, and the private layout can change under them.

Keep this module free of imports beyond the standard library.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_exports", "name_public"]


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


def name_public(namespace: dict[str, Any], homes: Mapping[str, Mapping[str, str]]) -> None:
    """Name each public class and function of a package after the public module users import.

    Done as each private module finishes loading (the import system then sets it as an
    attribute of its package), so it holds however a name is reached: through the package,
    through another public module, or by a private import inside the library.

    Args:
        namespace: The package's ``globals()``.
        homes: For each public module (``"parallel_nodes.errors"``), its names and the private
            module, relative to the package, that defines each.
    """
    by_module = _RENAMES.setdefault(namespace["__name__"], {})
    for public, names in homes.items():
        for name, private in names.items():
            by_module.setdefault(private, {})[name] = public
    sys.modules[namespace["__name__"]].__class__ = _Package


_RENAMES: dict[str, dict[str, dict[str, str]]] = {}
"""For each package: each private module's public names, and the public module of each."""


class _Package(ModuleType):
    """A package that renames a private module's public names as the module finishes loading."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        names = _RENAMES.get(self.__name__, {}).get(name)
        if names is not None and isinstance(value, ModuleType):
            for export, public in names.items():
                if not hasattr(value, export):
                    raise ImportError(
                        f"{value.__name__} no longer defines {export!r}, which {public} exports; "
                        f"update the package's table of where each public name lives"
                    )
                _rename(getattr(value, export), public, value)


def _rename(value: Any, public: str, defined_in: ModuleType) -> None:
    if inspect.isclass(value):
        _resolve_annotations(value, defined_in)
    elif not inspect.isfunction(value):
        return  # a constant such as ALL: an instance, named by its class
    value.__module__ = public


def _resolve_annotations(cls: type, defined_in: ModuleType) -> None:
    """Turn the class's own annotations from text into objects, while they still resolve.

    Why: ``typing.get_type_hints`` and pydantic evaluate a class's text annotations in the
    module its ``__module__`` names; once that is the public module, whose namespace is lazy,
    ``"float | timedelta"`` would no longer resolve. A name imported only for type checkers
    stays text, as unresolvable as it was.
    """
    own = inspect.get_annotations(cls)
    fields: Mapping[str, Any] = getattr(cls, "__dataclass_fields__", {})
    resolved = dict(own)
    for key, hint in own.items():
        if not isinstance(hint, str):
            continue
        try:
            resolved[key] = eval(hint, vars(defined_in), dict(vars(cls)))
        except Exception:
            continue
        field = fields.get(key)
        if field is not None and field.type == hint:
            field.type = resolved[key]
    if resolved != own:
        cls.__annotations__ = resolved
