"""The ``parallel-nodes`` console script: a one-line hint when the ``cli`` extra is missing.

Why it lives here and not in ``parallel_nodes.modes``: a console script imports its module's
package first, and ``parallel_nodes.modes`` imports the ``cli`` extra's modules (bm25s) as it
loads, so a check made inside it would come too late. This module imports nothing beyond the
standard library until the check has passed.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["CLI_MODULES", "INSTALL_HINT", "main", "missing_cli_module"]

CLI_MODULES = ("typer", "rich", "bm25s", "langgraph.checkpoint.sqlite", "platformdirs")
"""The modules the ``cli`` extra brings, which the command and the four modes import."""

INSTALL_HINT = "pip install 'langgraph-parallel-nodes[cli]'"


def missing_cli_module() -> str | None:
    """The first of :data:`CLI_MODULES` that cannot be imported, or ``None`` if all can."""
    for name in CLI_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent package is missing, e.g. no langgraph.checkpoint
            found = False
        if not found:
            return name
    return None


def main() -> None:
    """Run the command, or print which module is missing and how to install it, and exit 2."""
    missing = missing_cli_module()
    if missing is not None:
        print(
            f"parallel-nodes: the command needs {missing!r}, from the cli extra: {INSTALL_HINT}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from .modes._cli import main as cli_main

    cli_main()
