"""ParallelBaseWorkflow(engine=...): both tiers run on the engine given, with its observers,
sync worker pool, breaker store and clock; without one, on the engine of the run the graph
is nested in."""

from __future__ import annotations

from typing import Any

import pytest

from parallel_nodes import Breaker, BreakerPolicy, Engine, Task, Tier, run_tier
from parallel_nodes._threads import SyncPool
from parallel_nodes.errors import ConfigError
from parallel_nodes.modes import Mode2AutomaticWorkflow
from tests.conftest import RecordingObserver
from tests.test_workflow import Scripted, _statuses

POLICY = BreakerPolicy(failure_threshold=2, recovery_timeout=60)
RAG = frozenset({"rag_retrieval"})


async def test_the_tiers_run_on_the_engines_observers_and_pool() -> None:
    recorder = RecordingObserver()
    pool = SyncPool(idle_seconds=60)  # its workers stay, so the test can count them
    workflow = Scripted(delay=0.01, engine=Engine(observers=[recorder], pool=pool))
    out = await workflow.compile().ainvoke({"question": "tiers"})
    assert out["cost_tracking"] == {"usd": 0.0}
    assert [t.tier for t in recorder.tiers] == ["retrieval", "post_generation"]
    assert {metadata["mode"] for _, metadata, _ in recorder.tasks} == {"test"}
    assert pool.threads >= 1  # the sync cost_tracking task ran on this engine's workers


def test_a_sync_invoke_runs_on_the_engine_too() -> None:
    recorder = RecordingObserver()
    workflow = Scripted(delay=0.01, engine=Engine(observers=[recorder]))
    out = workflow.compile().invoke({"question": "tiers"})
    assert out["answer"] == "answer from doc about tiers"
    assert [t.tier for t in recorder.tiers] == ["retrieval", "post_generation"]


async def test_each_engine_keeps_its_own_breaker_state() -> None:
    breakers = {"rag_retrieval": Breaker("search", policy=POLICY)}
    engine = Engine()
    failing = Scripted(delay=0.01, fail=RAG, engine=engine, breakers=breakers)
    graph = failing.compile()
    for _ in range(2):
        out = await graph.ainvoke({"question": "tiers"})
        assert _statuses(out, "retrieval")["rag_retrieval"] == "error"
    assert engine.breaker("search").state.value == "open"
    out = await graph.ainvoke({"question": "tiers"})
    assert _statuses(out, "retrieval")["rag_retrieval"] == "circuit_open"
    # The same Breaker on another engine is another breaker: closed, and the task runs.
    other = Scripted(delay=0.01, engine=Engine(), breakers=breakers)
    out = await other.compile().ainvoke({"question": "tiers"})
    assert _statuses(out, "retrieval")["rag_retrieval"] == "ok"


async def test_the_engines_clock_times_the_breakers_recovery() -> None:
    now = [1000.0]
    engine = Engine(clock=lambda: now[0])
    breakers = {"rag_retrieval": Breaker("search", policy=POLICY)}
    workflow = Scripted(delay=0.01, fail=RAG, engine=engine, breakers=breakers)
    graph = workflow.compile()
    for _ in range(2):
        await graph.ainvoke({"question": "tiers"})
    calls = workflow.calls.count("rag_retrieval")
    out = await graph.ainvoke({"question": "tiers"})
    assert _statuses(out, "retrieval")["rag_retrieval"] == "circuit_open"
    assert workflow.calls.count("rag_retrieval") == calls
    now[0] += 61  # past recovery_timeout on the engine's clock, not the wall's
    await graph.ainvoke({"question": "tiers"})
    assert workflow.calls.count("rag_retrieval") == calls + 1  # the half-open trial call


async def test_without_an_engine_a_nested_graph_runs_on_the_outer_runs_engine() -> None:
    recorder = RecordingObserver()
    inner = Scripted(delay=0.01).compile()  # no engine given

    async def ask(state: Any) -> Any:
        return (await inner.ainvoke({"question": "tiers"}))["answer"]

    outer = Tier("outer", [Task("ask", ask, timeout=10)], timeout=10)
    result = await run_tier(outer, {}, engine=Engine(observers=[recorder]))
    assert result.values == {"ask": "answer from doc about tiers"}
    assert [t.tier for t in recorder.tiers] == ["retrieval", "post_generation", "outer"]


async def test_a_mode_takes_an_engine() -> None:
    recorder = RecordingObserver()
    workflow = Mode2AutomaticWorkflow(engine=Engine(observers=[recorder]))
    out = await workflow.compile().ainvoke({"question": "What does a circuit breaker do?"})
    assert out["answer"]
    assert [t.tier for t in recorder.tiers] == ["retrieval", "post_generation"]
    assert {metadata["mode"] for _, metadata, _ in recorder.tasks} == {workflow.mode}


@pytest.mark.parametrize("engine", [3, "default", Engine])
def test_an_engine_that_is_not_one_names_the_field(engine: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Scripted(engine=engine)
    assert info.value.field == "engine"
    assert "Engine()" in str(info.value)
