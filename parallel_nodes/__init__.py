"""Tiered fan-out nodes for LangGraph: run a node's independent work at once, with per-task
timeouts, safe defaults, a tier deadline, a sequential opt-out, and an observer hook.

What users build, pass or catch is here; the errors are in ``parallel_nodes.errors``, executors
to configure in ``parallel_nodes.executors``, circuit-breaker stores in
``parallel_nodes.breakers``, and the process's counters and default observers in
``parallel_nodes.diagnostics``.

Example:
    >>> import asyncio
    >>> from parallel_nodes import Task, Tier, run_tier
    >>> async def rag(state):
    ...     return ["doc"]
    >>> tier = Tier("retrieval", [Task("rag", rag, timeout=1.0, default_factory=list)],
    ...             timeout=2.0)
    >>> asyncio.run(run_tier(tier, {"question": "q"}, observers=())).values
    {'rag': ['doc']}
"""

from __future__ import annotations

import logging as _logging
from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._lazy import lazy_exports as _lazy_exports
from ._lazy import name_public as _name_public

if _TYPE_CHECKING:
    from ._balance import BalanceStrategy, OutlierDetection, ReplicaSet
    from ._breaker import Breaker, BreakerPolicy, BreakerState, CircuitBreaker
    from ._engine import Engine
    from ._hedge import Hedge
    from ._map import map_task
    from ._node import ParallelState, merge_tier_records, parallel_node
    from ._observe import TierObserver
    from ._results import TaskResult, TaskStatus, TierResult
    from ._run import run_tier
    from ._strategy import ALL, FIRST_SUCCESS, RACE, Strategy, good_enough, quorum
    from ._task import Task
    from ._tier import Tier
    from ._workflow import ParallelBaseWorkflow, WorkflowState
    from ._workflow_config import ParallelConfig

# A library logs, it does not print: handlers are the application's choice.
_logging.getLogger("parallel_nodes").addHandler(_logging.NullHandler())

__all__ = [
    "ALL",
    "FIRST_SUCCESS",
    "RACE",
    "BalanceStrategy",
    "Breaker",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "Engine",
    "Hedge",
    "OutlierDetection",
    "ParallelBaseWorkflow",
    "ParallelConfig",
    "ParallelState",
    "ReplicaSet",
    "Strategy",
    "Task",
    "TaskResult",
    "TaskStatus",
    "Tier",
    "TierObserver",
    "TierResult",
    "WorkflowState",
    "good_enough",
    "map_task",
    "merge_tier_records",
    "parallel_node",
    "quorum",
    "run_tier",
]

# Why lazy: ``parallel-nodes --help`` imports this package first, and importing LangGraph and
# pydantic up front costs it about two seconds. A name is imported on first use instead.
_WHERE = {
    "ALL": "_strategy",
    "BalanceStrategy": "_balance",
    "Breaker": "_breaker",
    "BreakerPolicy": "_breaker",
    "BreakerState": "_breaker",
    "CircuitBreaker": "_breaker",
    "FIRST_SUCCESS": "_strategy",
    "Engine": "_engine",
    "Hedge": "_hedge",
    "OutlierDetection": "_health",
    "ParallelBaseWorkflow": "_workflow",
    "ParallelConfig": "_workflow_config",
    "ParallelState": "_node",
    "RACE": "_strategy",
    "ReplicaSet": "_balance",
    "Strategy": "_strategy",
    "Task": "_task",
    "TaskResult": "_results",
    "TaskStatus": "_results",
    "Tier": "_tier",
    "TierObserver": "_observe",
    "TierResult": "_results",
    "WorkflowState": "_workflow",
    "good_enough": "_strategy",
    "map_task": "_map",
    "merge_tier_records": "_node",
    "parallel_node": "_node",
    "quorum": "_strategy",
    "run_tier": "_run",
}

# The names of the public submodules, by the private module that defines each: the errors,
# executors to configure, breaker stores, and the process's counters and default observers.
_ELSEWHERE = {
    "parallel_nodes.errors": dict.fromkeys(
        (
            "CircuitOpenError",
            "ConfigError",
            "ExecutorError",
            "InvalidOutputError",
            "ParallelNodesError",
            "TaskTimeoutError",
            "UnserializableOutputError",
        ),
        "_errors",
    ),
    "parallel_nodes.executors": dict.fromkeys(
        ("ProcessExecutor", "RayExecutor", "ray_replica"), "_remote"
    ),
    "parallel_nodes.breakers": dict.fromkeys(
        ("BreakerSnapshot", "BreakerStore", "InMemoryBreakerStore", "RedisBreakerStore"), "_breaker"
    ),
    "parallel_nodes.diagnostics": dict.fromkeys(
        (
            "abandoned_total",
            "default_engine",
            "get_default_observers",
            "set_default_observers",
            "starved_total",
            "straggler_count",
            "thread_count",
        ),
        "_engine",
    ),
}

# Names that left this module, and what to use instead, for an error that says so.
_MOVED = {
    **{name: f"import it from {module}" for module, names in _ELSEWHERE.items() for name in names},
    "TIER1_TASKS": "read ParallelBaseWorkflow.TIER1_TASKS",
    "TIER2_TASKS": "read ParallelBaseWorkflow.TIER2_TASKS",
    "ParallelNode": "it is internal; parallel_node() returns one",
    "HedgeState": "it is internal run state, kept by the engine",
    "LatencySketch": "it is internal run state, kept by the engine",
    "StrategyKind": "it is internal; use ALL, FIRST_SUCCESS, RACE, quorum() or good_enough()",
}

__getattr__, __dir__ = _lazy_exports(globals(), _WHERE, moved=_MOVED)
_name_public(globals(), {"parallel_nodes": _WHERE, **_ELSEWHERE})
