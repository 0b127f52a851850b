"""Run metadata: what the caller gives ``run_tier`` or ``parallel_node`` reaches every observer
unchanged and read-only, and the kernel runs the same without any."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Mapping
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from prometheus_client import CollectorRegistry

from parallel_nodes import Task, TaskResult, TaskStatus, Tier, TierResult, parallel_node, run_tier
from parallel_nodes.errors import ConfigError
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver
from tests.conftest import RecordingObserver


async def _hangs(state: Any) -> int:
    await asyncio.sleep(60)
    return 0


def _tier(name: str = "t") -> Tier:
    tasks = [Task("a", lambda s: 1, timeout=1.0), Task("b", lambda s: 2, timeout=1.0)]
    return Tier(name, tasks, timeout=2.0)


class CancelRecorder(RecordingObserver):
    def __init__(self) -> None:
        super().__init__()
        self.cancelled: list[tuple[str, Mapping[str, str]]] = []

    def on_tier_cancelled(self, tier: str, metadata: Mapping[str, str]) -> None:
        self.cancelled.append((tier, metadata))


async def test_run_tier_metadata_reaches_every_observer_call_unchanged(
    recorder: RecordingObserver,
) -> None:
    given = {"mode": "research", "tenant": "acme"}
    result = await run_tier(_tier(), {}, metadata=given, observers=(recorder,))
    # Sorted: the two sync tasks end on worker threads, in either order.
    assert sorted((tier, r.name, dict(m)) for tier, m, r in recorder.tasks) == [
        ("t", "a", given),
        ("t", "b", given),
    ]
    assert recorder.tiers == [result]
    assert result.metadata == given


async def test_the_metadata_is_a_read_only_copy_taken_at_the_call(
    recorder: RecordingObserver,
) -> None:
    given = {"mode": "research"}
    result = await run_tier(_tier(), {}, metadata=given, observers=(recorder,))
    given["mode"] = "changed later"
    assert result.metadata == {"mode": "research"}
    with pytest.raises(TypeError, match="read-only"):
        result.metadata["mode"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        result.metadata.update(mode="x")  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(result)).metadata == {"mode": "research"}


async def test_without_metadata_observers_get_one_shared_empty_mapping(
    recorder: RecordingObserver,
) -> None:
    first = await run_tier(_tier(), {}, observers=(recorder,))
    second = await run_tier(_tier(), {}, metadata={}, observers=(recorder,))
    assert first.values == {"a": 1, "b": 2}
    assert first.metadata == {}
    seen = {id(m) for _, m, _ in recorder.tasks} | {id(first.metadata), id(second.metadata)}
    assert len(seen) == 1  # nothing allocated per run for metadata nobody gave


async def test_a_disabled_tier_still_hands_its_metadata_to_observers(
    recorder: RecordingObserver,
) -> None:
    tier = Tier("off", [Task("a", lambda s: 1, timeout=1.0)], timeout=1.0, enabled=False)
    result = await run_tier(tier, {}, metadata={"mode": "m"}, observers=(recorder,))
    assert [dict(m) for _, m, _ in recorder.tasks] == [{"mode": "m"}]
    assert result.metadata == {"mode": "m"}


async def test_a_cancelled_run_tells_on_tier_cancelled_its_metadata() -> None:
    observer = CancelRecorder()
    tier = Tier("slow", [Task("h", _hangs, timeout=60)], timeout=60)
    run = asyncio.create_task(run_tier(tier, {}, metadata={"mode": "chat"}, observers=(observer,)))
    await asyncio.sleep(0.02)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert observer.cancelled == [("slow", {"mode": "chat"})]
    assert observer.tasks == []


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ([("mode", "x")], "got list; pass e.g. metadata={'mode': 'research'}"),
        ({"retries": 3}, "values must be str, got int for 'retries'; convert it with str()"),
        ({1: "x"}, "keys must be str, got int 1; convert it with str()"),
    ],
)
async def test_bad_metadata_is_one_config_error_naming_metadata_and_the_fix(
    metadata: Any, says: str
) -> None:
    with pytest.raises(ConfigError, match=r"^metadata: ") as info:
        await run_tier(_tier(), {}, metadata=metadata, observers=())
    assert info.value.field == "metadata"
    message = str(info.value)
    assert says in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match=r"^metadata: "):
        parallel_node(_tier(), metadata=metadata)  # at graph build time, not at the first run


class GraphState(TypedDict, total=False):
    a: int
    b: int


def _graph(observer: RecordingObserver, metadata: Mapping[str, str] | None) -> Any:
    builder = StateGraph(GraphState)
    builder.add_node(
        "fanout",
        parallel_node(_tier("fan"), metadata=metadata, meta_key=None, observers=(observer,)),
    )
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    return builder.compile()


@pytest.mark.parametrize("api", ["invoke", "ainvoke"])
async def test_a_parallel_node_in_a_compiled_graph_hands_its_metadata_to_observers(
    api: str, recorder: RecordingObserver
) -> None:
    graph = _graph(recorder, {"mode": "research"})
    if api == "invoke":
        out = await asyncio.to_thread(graph.invoke, {})
    else:
        out = await graph.ainvoke({})
    assert out == {"a": 1, "b": 2}
    assert [(tier, dict(m)) for tier, m, _ in recorder.tasks] == [("fan", {"mode": "research"})] * 2
    (tier_result,) = recorder.tiers
    assert tier_result.metadata == {"mode": "research"}


async def test_a_parallel_node_without_metadata_runs_and_reports_none(
    recorder: RecordingObserver,
) -> None:
    out = await _graph(recorder, None).ainvoke({})
    assert out == {"a": 1, "b": 2}
    assert [dict(m) for _, m, _ in recorder.tasks] == [{}, {}]


async def test_the_prometheus_mode_label_comes_from_metadata_and_defaults_to_default() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(ParallelMetrics(registry=registry))
    await run_tier(_tier(), {}, metadata={"mode": "chat", "tenant": "x"}, observers=(observer,))
    await run_tier(_tier(), {}, observers=(observer,))
    count = "parallel_execution_duration_seconds_count"
    assert registry.get_sample_value(count, {"tier": "t", "mode": "chat"}) == 1
    assert registry.get_sample_value(count, {"tier": "t", "mode": "default"}) == 1
    # Other keys are no label: the metric's label set is unchanged.
    names = {
        tuple(sorted(s.labels))
        for m in registry.collect()
        if m.name == "parallel_execution_duration_seconds"
        for s in m.samples
    }
    assert names <= {("mode", "tier"), ("le", "mode", "tier")}


def test_a_tier_result_built_by_hand_has_empty_metadata() -> None:
    result = TierResult(
        tier="t", tasks={"a": TaskResult("a", TaskStatus.OK, 1, 0.1)}, wall_time=0.1
    )
    assert result.metadata == {}
