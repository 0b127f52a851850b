"""Every error the library raises, in one place: ``from parallel_nodes.errors import ...``.

The tree::

    ParallelNodesError
    ├── ConfigError (also ValueError)      a Task, Tier or config value is wrong
    ├── TaskTimeoutError                   a task ran past its timeout or the tier deadline
    ├── InvalidOutputError                 a task returned a value of the wrong type
    │   └── UnserializableOutputError      ... or one the graph's checkpointer cannot save
    ├── CircuitOpenError                   a task's circuit breaker is open
    └── ExecutorError                      a task cannot run on its executor (pickling, setup)

A failed task does not raise: its ``TaskResult.error`` holds the error and its ``status`` says
which branch it is (``TaskStatus.TIMEOUT``, ``CIRCUIT_OPEN``, ``INVALID_OUTPUT``), so most code
reads the status and needs these classes only to look at an error's attributes. Every error
pickles, so it crosses a process boundary (``ProcessExecutor``, Ray) whole.

Example:
    >>> from parallel_nodes import Task
    >>> try:
    ...     Task("rag", lambda state: [], timeout=-1)
    ... except ConfigError as error:
    ...     error.field
    'rag.timeout'
"""

from __future__ import annotations

from ._errors import (
    CircuitOpenError,
    ConfigError,
    ExecutorError,
    InvalidOutputError,
    ParallelNodesError,
    TaskTimeoutError,
    UnserializableOutputError,
)

__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "ExecutorError",
    "InvalidOutputError",
    "ParallelNodesError",
    "TaskTimeoutError",
    "UnserializableOutputError",
]
