"""``ParallelConfig``: the switches of ``ParallelBaseWorkflow``, as a frozen pydantic model.

Part of the template (see ``_workflow``), with the six task names it configures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._values import coerce_seconds

__all__ = ["TIER1_TASKS", "TIER2_TASKS", "ParallelConfig"]

TIER1_TASKS: Final = ("rag_retrieval", "tool_suggestion", "memory_retrieval")
TIER2_TASKS: Final = ("quality_scoring", "citation_extraction", "cost_tracking")

_DEFAULT_TASK_TIMEOUTS: Final[Mapping[str, float]] = {
    "rag_retrieval": 3.0,
    "tool_suggestion": 2.0,
    "memory_retrieval": 2.0,
    "quality_scoring": 1.5,
    "citation_extraction": 1.5,
    "cost_tracking": 1.0,
}


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    return coerce_seconds(value, field=field)


class ParallelConfig(BaseModel):
    """The switches of a ``ParallelBaseWorkflow``: parallelism, tiers, tasks and timeouts.

    Example:
        >>> ParallelConfig(enable_parallel_tier1=False, task_timeouts={"rag_retrieval": 1.0})
        ... # doctest: +ELLIPSIS
        ParallelConfig(...)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enable_parallel_tier1: bool = True
    """False runs tier 1 (retrieval) one task at a time: the rollback switch."""
    enable_parallel_tier2: bool = True
    """False runs tier 2 (post-generation) one task at a time."""
    enable_tier1: bool = True
    """False skips tier 1 entirely; its tasks get their defaults."""
    enable_tier2: bool = True
    """False skips tier 2 entirely."""
    enable_rag_retrieval: bool = True
    enable_tool_suggestion: bool = True
    enable_memory_retrieval: bool = True
    enable_quality_scoring: bool = True
    enable_citation_extraction: bool = True
    enable_cost_tracking: bool = True
    tier1_timeout: float = Field(default=5.0, description="Tier-1 deadline in seconds.")
    tier2_timeout: float = Field(default=2.0, description="Tier-2 deadline in seconds.")
    task_timeouts: dict[str, float] = Field(
        default_factory=lambda: dict(_DEFAULT_TASK_TIMEOUTS),
        description="Per-task timeouts in seconds; unnamed tasks keep their defaults.",
    )
    durable_tier1: bool = False
    """True keeps each finished tier-1 task's value in the graph's store until the tier returns,
    so a run resumed after a crash re-runs only the unfinished tasks (``Tier(durable=True)``).
    Needs a checkpointer and a store."""
    durable_tier2: bool = False
    """The same for tier 2."""
    metrics: bool = True
    """False runs the workflow with no observers (no Prometheus metrics)."""

    @field_validator("tier1_timeout", "tier2_timeout", mode="before")
    @classmethod
    def _tier_timeout(cls, value: Any, info: Any) -> float:
        return _seconds(value, info.field_name)

    @field_validator("task_timeouts", mode="before")
    @classmethod
    def _task_timeouts(cls, value: Any) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise ValueError("must be a mapping of task name to seconds")
        merged = dict(_DEFAULT_TASK_TIMEOUTS)
        for name, seconds in value.items():
            if name not in _DEFAULT_TASK_TIMEOUTS:
                raise ValueError(
                    f"unknown task {name!r}; known tasks are {sorted(_DEFAULT_TASK_TIMEOUTS)}"
                )
            merged[name] = _seconds(seconds, f"task_timeouts.{name}")
        return merged

    def task_enabled(self, name: str) -> bool:
        """Whether the task called ``name`` is switched on."""
        enabled: bool = getattr(self, f"enable_{name}")
        return enabled

    def timeout_for(self, name: str) -> float:
        """The timeout of the task called ``name``, in seconds."""
        return self.task_timeouts[name]
