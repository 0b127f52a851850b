"""A tier's deadline, and the enclosing one a tier run inside a task must keep."""

from __future__ import annotations

import contextvars
from typing import Final

__all__ = ["ENCLOSING_DEADLINE", "tier_deadline"]

ENCLOSING_DEADLINE: Final[contextvars.ContextVar[float | None]] = contextvars.ContextVar(
    "parallel_nodes_enclosing_deadline", default=None
)
"""The loop time by which the task this code runs in must end (its timeout or its tier's
deadline, whichever is first). A tier run inside a task ends a little before it, so what
finished is returned before the outer timer throws it all away."""
_NESTED_MARGIN: Final = 0.05
_NESTED_SHARE: Final = 0.2
"""A nested tier ends this much earlier than the enclosing deadline (seconds, at most this
share of the time left): the loop turns it needs to return, on a loaded machine too."""


def tier_deadline(start: float, timeout: float) -> float:
    """The loop time a tier started at ``start`` must end by: its timeout, or a little before
    the enclosing task's end."""
    deadline = start + timeout
    enclosing = ENCLOSING_DEADLINE.get()
    if enclosing is not None:
        margin = min(_NESTED_MARGIN, _NESTED_SHARE * max(enclosing - start, 0.0))
        deadline = min(deadline, enclosing - margin)
    return deadline
