"""The old ``mode`` API keeps working for a release, with one ``DeprecationWarning`` that
names its replacement: ``mode=``, ``TierResult.mode``, and observers taking a mode."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from prometheus_client import CollectorRegistry

from parallel_nodes import Engine, Task, TaskResult, Tier, TierResult, parallel_node, run_tier
from parallel_nodes.errors import ConfigError
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver


def _tier() -> Tier:
    return Tier("t", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0)


class OldObserver:
    """Written for the observer protocol before run metadata."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, str, str]] = []
        self.tiers: list[str] = []
        self.cancelled: list[tuple[str, str]] = []

    def on_task_finished(self, tier: str, mode: str, result: TaskResult) -> None:
        self.tasks.append((tier, mode, result.name))

    def on_tier_finished(self, result: TierResult) -> None:
        self.tiers.append(result.tier)

    def on_tier_cancelled(self, tier: str, mode: str) -> None:
        self.cancelled.append((tier, mode))


class OldUnannotated:
    """The old form with other parameter names and no annotations: its third is ``result``."""

    def __init__(self) -> None:
        self.modes: list[Any] = []

    def on_task_finished(self, t, m, result):  # type: ignore[no-untyped-def]
        self.modes.append(m)

    def on_tier_finished(self, result):  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def caught() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside the test, each one kept (none folded by the registry)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield seen


def _deprecations(seen: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, DeprecationWarning)]


async def test_run_tier_mode_warns_naming_metadata_and_still_labels_the_metrics() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(ParallelMetrics(registry=registry))
    with pytest.warns(DeprecationWarning, match=r"metadata=\{'mode': 'research'\}") as seen:
        result = await run_tier(_tier(), {}, mode="research", observers=(observer,))
    assert len(seen) == 1
    assert seen[0].filename == __file__  # it points at the caller's line
    assert result.metadata == {"mode": "research"}
    count = registry.get_sample_value(
        "parallel_execution_duration_seconds_count", {"tier": "t", "mode": "research"}
    )
    assert count == 1


async def test_mode_and_a_mode_in_metadata_together_are_refused() -> None:
    with (
        pytest.warns(DeprecationWarning, match="mode= is deprecated"),
        pytest.raises(ConfigError, match=r"^mode: given twice"),
    ):
        await run_tier(_tier(), {}, mode="a", metadata={"mode": "b"}, observers=())
    with (
        pytest.warns(DeprecationWarning, match="mode= is deprecated"),
        pytest.raises(ConfigError, match=r"^mode: must be a non-empty"),
    ):
        await run_tier(_tier(), {}, mode="", observers=())


async def test_bad_metadata_beside_mode_is_named_as_without_it() -> None:
    with (
        pytest.warns(DeprecationWarning, match="mode= is deprecated"),
        pytest.raises(ConfigError, match=r"^metadata: values must be str"),
    ):
        await run_tier(_tier(), {}, mode="m", metadata={"n": 1}, observers=())  # type: ignore[dict-item]


async def test_mode_joins_the_other_metadata() -> None:
    with pytest.warns(DeprecationWarning, match="mode= is deprecated"):
        result = await run_tier(_tier(), {}, mode="m", metadata={"tenant": "x"}, observers=())
    assert result.metadata == {"tenant": "x", "mode": "m"}


class State(TypedDict, total=False):
    a: int


async def test_parallel_node_mode_warns_once_at_build_and_still_labels_the_metrics(
    caught: list[warnings.WarningMessage],
) -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(ParallelMetrics(registry=registry))
    node = parallel_node(_tier(), mode="chat", observers=(observer,))
    assert _deprecations(caught) == ["mode= is deprecated; pass metadata={'mode': 'chat'} instead"]
    builder = StateGraph(State)
    builder.add_node("fanout", node)
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    graph = builder.compile()
    await graph.ainvoke({})
    await graph.ainvoke({})
    assert len(_deprecations(caught)) == 1  # runs do not warn again
    count = registry.get_sample_value(
        "parallel_execution_duration_seconds_count", {"tier": "t", "mode": "chat"}
    )
    assert count == 2


async def test_tier_result_mode_is_a_deprecated_read_of_the_metadata() -> None:
    result = await run_tier(_tier(), {}, metadata={"mode": "chat"}, observers=())
    with pytest.warns(DeprecationWarning, match=r"result\.metadata\.get\('mode', 'default'\)"):
        assert result.mode == "chat"
    bare = await run_tier(_tier(), {}, observers=())
    with pytest.warns(DeprecationWarning, match="TierResult.mode is deprecated"):
        assert bare.mode == "default"


async def test_an_old_observer_registered_on_an_engine_warns_once_and_gets_the_mode(
    caught: list[warnings.WarningMessage],
) -> None:
    old: Any = OldObserver()  # Any: mypy rightly says it is no TierObserver any more
    engine = Engine(observers=[old])
    (message,) = _deprecations(caught)
    assert "OldObserver.on_task_finished(tier, mode, result) is deprecated" in message
    assert "on_task_finished(tier, result, metadata)" in message
    assert caught[0].filename == __file__
    for _ in range(3):
        await run_tier(_tier(), {}, engine=engine, metadata={"mode": "chat"})
    await run_tier(_tier(), {}, engine=engine)
    assert len(_deprecations(caught)) == 1  # found at registration, never per run or task
    assert old.tasks == [("t", "chat", "a")] * 3 + [("t", "default", "a")]
    assert old.tiers == ["t"] * 4


@pytest.mark.parametrize("how", ["setter", "add_observer", "run_tier"])
async def test_every_way_to_register_an_old_observer_adapts_it(
    how: str, caught: list[warnings.WarningMessage]
) -> None:
    old: Any = OldObserver()  # Any: mypy rightly says it is no TierObserver any more
    engine = Engine()
    if how == "setter":
        engine.observers = [old]
    elif how == "add_observer":
        engine.add_observer(old)
        engine.add_observer(old)  # still once: the adapter compares equal to what it wraps
        assert len(engine.observers) == 1
    observers = (old,) if how == "run_tier" else None
    await run_tier(_tier(), {}, engine=engine, metadata={"mode": "m"}, observers=observers)
    assert old.tasks == [("t", "m", "a")]
    assert len(_deprecations(caught)) == 1


async def test_an_old_observer_learns_of_a_cancelled_run_with_its_mode(
    caught: list[warnings.WarningMessage],
) -> None:
    async def hangs(state: Any) -> None:
        await asyncio.sleep(60)

    old: Any = OldObserver()  # Any: mypy rightly says it is no TierObserver any more
    engine = Engine(observers=[old])
    tier = Tier("slow", [Task("h", hangs, timeout=60)], timeout=60)
    run = asyncio.create_task(run_tier(tier, {}, engine=engine, metadata={"mode": "chat"}))
    await asyncio.sleep(0.02)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert old.cancelled == [("slow", "chat")]


async def test_an_old_observer_is_known_by_its_result_parameter_too(
    caught: list[warnings.WarningMessage],
) -> None:
    old: Any = OldUnannotated()
    await run_tier(_tier(), {}, metadata={"mode": "x"}, observers=[old])
    assert old.modes == ["x"]
    assert len(_deprecations(caught)) == 1


async def test_a_new_observer_is_neither_wrapped_nor_warned_of(
    caught: list[warnings.WarningMessage],
) -> None:
    observer = PrometheusObserver(ParallelMetrics(registry=CollectorRegistry()))
    engine = Engine(observers=[observer])
    assert engine.observers == (observer,)
    assert engine.observers[0] is observer
    await run_tier(_tier(), {}, engine=engine)
    assert _deprecations(caught) == []
