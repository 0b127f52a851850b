"""Executors to configure: where a task's function runs when a string is not enough.

``Task(..., executor="thread" | "process" | "ray")`` needs nothing from here. Build one of these
to size or place the work yourself: a ``ProcessExecutor(max_workers=...)`` of your own, a
``RayExecutor`` with remote options, or ``ray_replica(actor)`` to use a Ray actor's method as
one of a task's replicas.

Example:
    >>> from parallel_nodes import Task
    >>> pool = ProcessExecutor(max_workers=2)  # starts no process until the first call
    >>> Task("rerank", len, timeout=5.0, executor=pool).executor is pool
    True
    >>> pool.close()
"""

from __future__ import annotations

from ._remote import ProcessExecutor, RayExecutor, ray_replica

__all__ = ["ProcessExecutor", "RayExecutor", "ray_replica"]
