"""Tiered fan-out nodes for LangGraph: run a node's independent work at once, with per-task
timeouts, safe defaults, a tier deadline, a sequential opt-out, and an observer hook.

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

if _TYPE_CHECKING:
    from ._balance import BalanceStrategy, OutlierDetection, ReplicaSet
    from ._breaker import (
        BreakerPolicy,
        BreakerState,
        CircuitBreaker,
        InMemoryBreakerStore,
        RedisBreakerStore,
    )
    from ._config import TIER1_TASKS, TIER2_TASKS, ParallelConfig
    from ._engine import (
        Engine,
        abandoned_total,
        default_engine,
        get_default_observers,
        set_default_observers,
        starved_total,
        straggler_count,
        thread_count,
    )
    from ._errors import (
        CircuitOpenError,
        ConfigError,
        ExecutorError,
        InvalidOutputError,
        ParallelNodesError,
        TaskTimeoutError,
        UnserializableOutputError,
    )
    from ._hedge import Hedge, HedgeState
    from ._map import map_task
    from ._node import ParallelNode, ParallelState, merge_tier_records, parallel_node
    from ._observe import TierObserver
    from ._remote import ProcessExecutor, RayExecutor, ray_replica
    from ._results import TaskResult, TaskStatus, TierResult
    from ._run import run_tier
    from ._sketch import LatencySketch
    from ._strategy import ALL, FIRST_SUCCESS, RACE, Strategy, StrategyKind, good_enough, quorum
    from ._task import Task
    from ._tier import Tier
    from ._workflow import ParallelBaseWorkflow, WorkflowState

# A library logs, it does not print: handlers are the application's choice.
_logging.getLogger("parallel_nodes").addHandler(_logging.NullHandler())

__all__ = [
    "ALL",
    "FIRST_SUCCESS",
    "RACE",
    "TIER1_TASKS",
    "TIER2_TASKS",
    "BalanceStrategy",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConfigError",
    "Engine",
    "ExecutorError",
    "Hedge",
    "HedgeState",
    "InMemoryBreakerStore",
    "InvalidOutputError",
    "LatencySketch",
    "OutlierDetection",
    "ParallelBaseWorkflow",
    "ParallelConfig",
    "ParallelNode",
    "ParallelNodesError",
    "ParallelState",
    "ProcessExecutor",
    "RayExecutor",
    "RedisBreakerStore",
    "ReplicaSet",
    "Strategy",
    "StrategyKind",
    "Task",
    "TaskResult",
    "TaskStatus",
    "TaskTimeoutError",
    "Tier",
    "TierObserver",
    "TierResult",
    "UnserializableOutputError",
    "WorkflowState",
    "abandoned_total",
    "default_engine",
    "get_default_observers",
    "good_enough",
    "map_task",
    "merge_tier_records",
    "parallel_node",
    "quorum",
    "ray_replica",
    "run_tier",
    "set_default_observers",
    "starved_total",
    "straggler_count",
    "thread_count",
]

# Why lazy: ``parallel-nodes --help`` imports this package first, and importing LangGraph and
# pydantic up front costs it about two seconds. A name is imported on first use instead.
_WHERE = {
    "ALL": "_strategy",
    "BalanceStrategy": "_balance",
    "BreakerPolicy": "_breaker",
    "BreakerState": "_breaker",
    "CircuitBreaker": "_breaker",
    "CircuitOpenError": "_errors",
    "ConfigError": "_errors",
    "Engine": "_engine",
    "ExecutorError": "_errors",
    "FIRST_SUCCESS": "_strategy",
    "Hedge": "_hedge",
    "HedgeState": "_hedge",
    "InMemoryBreakerStore": "_breaker",
    "InvalidOutputError": "_errors",
    "LatencySketch": "_sketch",
    "OutlierDetection": "_balance",
    "ParallelBaseWorkflow": "_workflow",
    "ParallelConfig": "_config",
    "ParallelNode": "_node",
    "ParallelNodesError": "_errors",
    "ParallelState": "_node",
    "ProcessExecutor": "_remote",
    "RayExecutor": "_remote",
    "RACE": "_strategy",
    "RedisBreakerStore": "_breaker",
    "ReplicaSet": "_balance",
    "Strategy": "_strategy",
    "StrategyKind": "_strategy",
    "TIER1_TASKS": "_config",
    "TIER2_TASKS": "_config",
    "Task": "_task",
    "TaskResult": "_results",
    "TaskStatus": "_results",
    "TaskTimeoutError": "_errors",
    "UnserializableOutputError": "_errors",
    "Tier": "_tier",
    "TierObserver": "_observe",
    "TierResult": "_results",
    "WorkflowState": "_workflow",
    "abandoned_total": "_engine",
    "default_engine": "_engine",
    "get_default_observers": "_engine",
    "good_enough": "_strategy",
    "map_task": "_map",
    "merge_tier_records": "_node",
    "parallel_node": "_node",
    "quorum": "_strategy",
    "ray_replica": "_remote",
    "run_tier": "_run",
    "set_default_observers": "_engine",
    "starved_total": "_engine",
    "straggler_count": "_engine",
    "thread_count": "_engine",
}


__getattr__, __dir__ = _lazy_exports(globals(), _WHERE)
