"""A griffe extension for the API reference: read ``Example:`` as an examples section.

The library's docstrings say ``Example:`` (singular) above their doctests. Google style in
griffe knows only ``Examples:`` as a section, and renders anything else as an admonition of
Markdown, where ``>>> out["a"]["b"]`` reads as a reference link. Renaming the heading here keeps
the source docstrings as they are and renders each doctest as a code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", flags=re.MULTILINE)


class ExampleSection(griffe.Extension):
    """Rename every ``Example:`` section heading to ``Examples:`` before parsing."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite the object's docstring heading (parsing is lazy, so this comes first)."""
        _rename(obj)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """The top-level package gets no ``on_object`` event of its own."""
        _rename(pkg)


def _rename(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
