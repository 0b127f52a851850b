"""What the process's engine is doing, and the observers every run reports to by default.

Read by the metrics package (``parallel_nodes.monitoring``), by soak tests and by operators
chasing a leak; an application that only builds tiers needs none of it.

``default_engine()`` is the engine that runs given none use. ``set_default_observers(())``
turns the default Prometheus metrics off for runs given no observers (as
``PARALLEL_NODES_METRICS=0`` does).

Example:
    >>> from parallel_nodes.diagnostics import straggler_count
    >>> straggler_count()  # abandoned tasks still running
    0
"""

from __future__ import annotations

from ._engine import (
    abandoned_total,
    default_engine,
    get_default_observers,
    set_default_observers,
    starved_total,
    straggler_count,
    thread_count,
)

__all__ = [
    "abandoned_total",
    "default_engine",
    "get_default_observers",
    "set_default_observers",
    "starved_total",
    "straggler_count",
    "thread_count",
]
