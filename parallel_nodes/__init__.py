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

import logging as _logging

from ._balance import BalanceStrategy, ReplicaSet
from ._breaker import (
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    InMemoryBreakerStore,
    RedisBreakerStore,
)
from ._config import TIER1_TASKS, TIER2_TASKS, ParallelConfig
from ._errors import (
    CircuitOpenError,
    ConfigError,
    InvalidOutputError,
    ParallelNodesError,
    TaskTimeoutError,
    UnserializableOutputError,
)
from ._hedge import Hedge, HedgeState
from ._map import map_task
from ._node import ParallelNode, ParallelState, merge_tier_records, parallel_node
from ._observe import TierObserver, get_default_observers, set_default_observers
from ._results import TaskResult, TaskStatus, TierResult
from ._run import abandoned_total, run_tier, starved_total, straggler_count
from ._sketch import LatencySketch
from ._strategy import ALL, FIRST_SUCCESS, RACE, Strategy, StrategyKind, good_enough, quorum
from ._task import Task
from ._threads import thread_count
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
    "Hedge",
    "HedgeState",
    "InMemoryBreakerStore",
    "InvalidOutputError",
    "LatencySketch",
    "ParallelBaseWorkflow",
    "ParallelConfig",
    "ParallelNode",
    "ParallelNodesError",
    "ParallelState",
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
    "get_default_observers",
    "good_enough",
    "map_task",
    "merge_tier_records",
    "parallel_node",
    "quorum",
    "run_tier",
    "set_default_observers",
    "starved_total",
    "straggler_count",
    "thread_count",
]
