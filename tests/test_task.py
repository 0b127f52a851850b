"""Task: validation, defaults and how fn is called."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from langgraph.types import RetryPolicy, TimeoutPolicy

from parallel_nodes import Hedge, Task, Tier
from parallel_nodes.errors import ConfigError


async def _work(state: dict[str, Any]) -> int:
    return 1


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), "soon", True])
def test_bad_timeout_names_the_field(timeout: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Task("rag", _work, timeout=timeout)
    assert info.value.field == "rag.timeout"
    assert isinstance(info.value, ValueError)


def test_timedelta_timeout_is_seconds() -> None:
    assert Task("rag", _work, timeout=timedelta(milliseconds=250)).timeout == 0.25


def test_name_must_be_an_identifier() -> None:
    with pytest.raises(ConfigError, match="identifier"):
        Task("not a name", _work, timeout=1)


def test_default_and_factory_are_exclusive() -> None:
    with pytest.raises(ConfigError) as info:
        Task("rag", _work, timeout=1, default=[], default_factory=list)
    assert info.value.field == "rag.default"


def test_default_factory_gives_a_fresh_value_each_time() -> None:
    task = Task("rag", _work, timeout=1, default_factory=list)
    first, second = task.make_default(), task.make_default()
    assert first == second == []
    assert first is not second


def test_depends_on_as_a_string_is_rejected_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"\('a',\)"):
        Task("b", _work, timeout=1, depends_on="a")


def test_retry_must_be_langgraph_retry_policy() -> None:
    with pytest.raises(ConfigError, match="RetryPolicy"):
        Task("rag", _work, timeout=1, retry=3)  # type: ignore[arg-type]
    assert Task("rag", _work, timeout=1, retry=RetryPolicy()).retry == RetryPolicy()


def test_runtime_is_passed_when_fn_takes_it() -> None:
    def one(state: Any) -> int:
        return 1

    def two(state: Any, runtime: Any) -> int:
        return 2

    def named(state: Any, *, runtime: Any) -> int:
        return 3

    assert not Task("a", one, timeout=1).takes_runtime
    assert Task("a", two, timeout=1).takes_runtime
    assert Task("a", named, timeout=1).takes_runtime
    assert Task("a", _work, timeout=1).is_async
    assert not Task("a", one, timeout=1).is_async


def test_output_key_defaults_to_name() -> None:
    assert Task("rag", _work, timeout=1).output_key == "rag"
    assert Task("rag", _work, timeout=1, output_key="docs").output_key == "docs"


def test_task_is_frozen() -> None:
    task = Task("rag", _work, timeout=1)
    with pytest.raises(AttributeError):
        task.timeout = 2  # type: ignore[misc]


def test_replace_makes_a_changed_copy_and_keeps_what_was_normalised() -> None:
    async def work(state: Any) -> int:
        return 1

    task = Task("a", work, timeout=TimeoutPolicy(run_timeout=3, idle_timeout=1), default=[])
    changed = dataclasses.replace(task, timeout=2.0)
    assert changed.timeout == 2.0
    assert changed.idle_timeout == 1.0  # from the policy, kept
    assert changed.has_default
    assert changed.output_key == "a"
    assert task.timeout == 3.0  # the original is untouched
    without = Task("b", work, timeout=1)
    assert not dataclasses.replace(without, timeout=2).has_default  # no default stays none
    with pytest.raises(ConfigError, match=r"a\.timeout"):
        dataclasses.replace(task, timeout=-1)


def test_two_tasks_built_alike_are_equal_hedged_or_not() -> None:
    async def work(state: Any) -> int:
        return 1

    def build() -> Task:
        return Task("a", work, timeout=1, hedge=Hedge(delay=0.1), replicas=[work])

    assert build() == build()
    assert build() != dataclasses.replace(build(), timeout=2)


def test_tier_and_hedge_are_frozen_values_too() -> None:
    task = Task("a", lambda s: 1, timeout=1)
    tier = Tier("t", [task], timeout=1, parallel=False)
    assert tier.limit == 1
    wider = dataclasses.replace(tier, parallel=True, timeout=2.0)
    assert (wider.limit, wider.timeout) == (1, 2.0)  # one task: one at a time either way
    assert Tier("t", [task], timeout=1) == Tier("t", (task,), timeout=1.0)
    assert dataclasses.replace(Hedge(delay=0.1), budget=0.2) == Hedge(delay=0.1, budget=0.2)
    with pytest.raises(ConfigError, match=r"hedge\.budget"):
        dataclasses.replace(Hedge(), budget=2)
