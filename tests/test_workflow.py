"""ParallelBaseWorkflow: the seed's twelve cases, each through a real compiled graph."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from parallel_nodes import (
    BreakerPolicy,
    CircuitBreaker,
    ParallelBaseWorkflow,
    ParallelConfig,
    TaskStatus,
)
from parallel_nodes.errors import ConfigError
from tests.conftest import RecordingObserver

UNIT = 0.2


class Scripted(ParallelBaseWorkflow):
    """Each task sleeps ``delay`` then returns a value derived from state, or raises."""

    mode = "test"

    def __init__(
        self,
        *,
        delay: float = UNIT,
        fail: frozenset[str] = frozenset(),
        hang: frozenset[str] = frozenset(),
        **kw: Any,
    ) -> None:
        self.delay, self.fail, self.hang = delay, fail, hang
        self.calls: list[str] = []
        self.spans: dict[str, tuple[float, float]] = {}  # name: (start, end), perf_counter
        super().__init__(**kw)

    async def _work(self, name: str, value: Any) -> Any:
        self.calls.append(name)
        start = time.perf_counter()
        await asyncio.sleep(60 if name in self.hang else self.delay)
        self.spans[name] = (start, time.perf_counter())
        if name in self.fail:
            raise ConnectionError(f"{name} backend down")
        return value

    async def _rag_retrieval_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        return await self._work("rag_retrieval", [f"doc about {state['question']}"])

    async def _tool_suggestion_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        return await self._work("tool_suggestion", ["calculator"])

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        return await self._work("memory_retrieval", ["likes short answers"])

    async def _generate(self, state: Mapping[str, Any], runtime: Any) -> dict[str, Any]:
        docs = state.get("rag_retrieval") or ["no sources"]
        return {"answer": f"answer from {docs[0]}"}

    async def _quality_scoring_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        return await self._work("quality_scoring", {"score": len(state["answer"]) / 100})

    async def _citation_extraction_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        return await self._work("citation_extraction", {"citations": state["rag_retrieval"]})

    def _cost_tracking_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        # A sync task on purpose: it runs in a worker thread.
        self.calls.append("cost_tracking")
        start = time.perf_counter()
        time.sleep(self.delay)
        self.spans["cost_tracking"] = (start, time.perf_counter())
        if "cost_tracking" in self.fail:
            raise ValueError("no price table")
        return {"usd": 0.0}


async def _run(workflow: Scripted, question: str = "tiers") -> tuple[dict[str, Any], float]:
    graph = workflow.compile()
    start = time.perf_counter()
    out = await graph.ainvoke({"question": question})
    return out, time.perf_counter() - start


# Whether tasks ran at once is read from when each ran, not from how long the run took: a
# loaded machine stretches every run, but cannot make sleeps that overlapped stop overlapping.
def _at_once(workflow: Scripted, names: tuple[str, ...]) -> bool:
    spans = [workflow.spans[n] for n in names]
    return max(start for start, _ in spans) < min(end for _, end in spans)


def _one_after_another(workflow: Scripted, names: tuple[str, ...]) -> bool:
    spans = sorted(workflow.spans[n] for n in names)
    return all(prev_end <= start for (_, prev_end), (start, _) in itertools.pairwise(spans))


TIER1 = ("rag_retrieval", "tool_suggestion", "memory_retrieval")
TIER2 = ("quality_scoring", "citation_extraction", "cost_tracking")


def _statuses(out: dict[str, Any], tier: str) -> dict[str, str]:
    return {k: v["status"] for k, v in out["parallel"][tier]["tasks"].items()}


NO_METRICS = {"metrics": False}


async def test_parallel_retrieval_all_tasks_succeed() -> None:
    out, _ = await _run(Scripted(config=NO_METRICS))
    assert out["rag_retrieval"] == ["doc about tiers"]
    assert out["tool_suggestion"] == ["calculator"]
    assert out["memory_retrieval"] == ["likes short answers"]
    assert out["answer"] == "answer from doc about tiers"
    assert set(_statuses(out, "retrieval").values()) == {"ok"}
    assert out["parallel"]["retrieval"]["speedup"] > 2.0


async def test_parallel_retrieval_rag_disabled() -> None:
    wf = Scripted(config={**NO_METRICS, "enable_rag_retrieval": False})
    out, _ = await _run(wf)
    assert out["rag_retrieval"] == []
    assert _statuses(out, "retrieval")["rag_retrieval"] == "skipped"
    assert "rag_retrieval" not in wf.calls
    assert out["answer"] == "answer from no sources"
    assert out["tool_suggestion"] == ["calculator"]


async def test_parallel_retrieval_tools_disabled() -> None:
    wf = Scripted(config={**NO_METRICS, "enable_tool_suggestion": False})
    out, _ = await _run(wf)
    assert out["tool_suggestion"] == []
    assert _statuses(out, "retrieval")["tool_suggestion"] == "skipped"
    assert "tool_suggestion" not in wf.calls
    assert out["parallel"]["retrieval"]["degraded"] == []


async def test_parallel_retrieval_partial_failure() -> None:
    out, _ = await _run(Scripted(fail=frozenset({"tool_suggestion"}), config=NO_METRICS))
    assert out["tool_suggestion"] == []
    assert out["rag_retrieval"] == ["doc about tiers"]
    assert out["parallel"]["retrieval"]["degraded"] == ["tool_suggestion"]
    assert out["parallel"]["retrieval"]["tasks"]["tool_suggestion"]["error"] == "ConnectionError"


async def test_parallel_retrieval_all_tasks_fail() -> None:
    fail = frozenset({"rag_retrieval", "tool_suggestion", "memory_retrieval"})
    out, _ = await _run(Scripted(fail=fail, config=NO_METRICS))
    assert (out["rag_retrieval"], out["tool_suggestion"], out["memory_retrieval"]) == ([], [], [])
    assert sorted(out["parallel"]["retrieval"]["degraded"]) == sorted(fail)
    assert out["answer"] == "answer from no sources"  # the graph still answers


async def test_parallel_retrieval_timeout() -> None:
    config = {**NO_METRICS, "tier1_timeout": 2 * UNIT}
    wf = Scripted(hang=frozenset({"rag_retrieval"}), config=config)
    out, elapsed = await _run(wf)
    assert _statuses(out, "retrieval")["rag_retrieval"] == "timeout"
    assert out["rag_retrieval"] == []
    assert out["memory_retrieval"] == ["likes short answers"]
    assert out["parallel"]["retrieval"]["deadline_exceeded"] is True
    # Tier 1 holds its deadline: the run ends, the hung task (60 s) does not.
    assert "rag_retrieval" not in wf.spans
    assert elapsed < 60 / 4


async def test_parallel_post_generation_all_tasks_succeed() -> None:
    out, _ = await _run(Scripted(config=NO_METRICS))
    assert out["quality_scoring"]["score"] == pytest.approx(len(out["answer"]) / 100)
    assert out["citation_extraction"] == {"citations": ["doc about tiers"]}
    assert out["cost_tracking"] == {"usd": 0.0}
    assert set(_statuses(out, "post_generation").values()) == {"ok"}


async def test_parallel_post_generation_partial_failure() -> None:
    wf = Scripted(fail=frozenset({"cost_tracking"}), config=NO_METRICS)
    out, _ = await _run(wf)
    assert out["cost_tracking"] == {}
    assert out["citation_extraction"] == {"citations": ["doc about tiers"]}
    assert out["parallel"]["post_generation"]["degraded"] == ["cost_tracking"]
    assert out["parallel"]["post_generation"]["tasks"]["cost_tracking"]["error"] == "ValueError"


async def test_parallel_disabled_tier1() -> None:
    p_wf = Scripted(config={**NO_METRICS, "enable_tier2": False})
    parallel, _ = await _run(p_wf)
    s_wf = Scripted(config={**NO_METRICS, "enable_tier2": False, "enable_parallel_tier1": False})
    seq, s_elapsed = await _run(s_wf)
    assert _at_once(p_wf, TIER1)
    assert _one_after_another(s_wf, TIER1)
    assert s_elapsed > 2.5 * UNIT  # three sleeps of UNIT: a floor no load can lower
    keys = ("rag_retrieval", "tool_suggestion", "memory_retrieval", "answer")
    assert {k: seq[k] for k in keys} == {k: parallel[k] for k in keys}
    assert seq["parallel"]["retrieval"]["speedup"] == pytest.approx(1.0, abs=0.1)


async def test_parallel_disabled_tier2() -> None:
    base = {**NO_METRICS, "enable_tier1": False}
    p_wf = Scripted(config=base)
    parallel, _ = await _run(p_wf)
    s_wf = Scripted(config={**base, "enable_parallel_tier2": False})
    seq, s_elapsed = await _run(s_wf)
    assert _at_once(p_wf, TIER2)  # the sync cost_tracking too, in its worker thread
    assert _one_after_another(s_wf, TIER2)
    assert s_elapsed > 2.5 * UNIT
    keys = ("quality_scoring", "citation_extraction", "cost_tracking")
    assert {k: seq[k] for k in keys} == {k: parallel[k] for k in keys}
    off_wf = Scripted(config={**base, "enable_tier2": False})
    off, _ = await _run(off_wf)
    assert set(_statuses(off, "post_generation").values()) == {"skipped"}
    assert not set(off_wf.calls) & set(TIER2)  # switched off: nothing of tier 2 ran


def test_calculate_speedup() -> None:
    assert ParallelBaseWorkflow._calculate_speedup([0.5, 0.3, 0.2], 0.5) == pytest.approx(2.0)
    assert ParallelBaseWorkflow._calculate_speedup([], 0.0) == 0.0
    with pytest.raises(ValueError, match="wall_time"):
        ParallelBaseWorkflow._calculate_speedup([0.1], -1.0)


async def test_monitoring_metrics_tracked(recorder: RecordingObserver) -> None:
    wf = Scripted(fail=frozenset({"memory_retrieval"}), observers=[recorder])
    await _run(wf)
    tiers = {r.tier: r for r in recorder.tiers}
    assert set(tiers) == {"retrieval", "post_generation"}
    assert all(r.metadata == {"mode": "test"} for r in recorder.tiers)
    assert tiers["retrieval"].degraded == ("memory_retrieval",)
    assert tiers["retrieval"].tasks["memory_retrieval"].status is TaskStatus.ERROR
    assert tiers["retrieval"].speedup > 2.0
    finished = [(tier, r.name, r.status) for tier, _, r in recorder.tasks]
    assert len(finished) == 6
    assert ("retrieval", "memory_retrieval", TaskStatus.ERROR) in finished


def test_unoverridden_tasks_are_skipped() -> None:
    class OnlyGenerate(ParallelBaseWorkflow):
        async def _generate(self, state: Mapping[str, Any], runtime: Any) -> dict[str, Any]:
            return {"answer": "a"}

    wf = OnlyGenerate(config=NO_METRICS)
    out = asyncio.run(wf.compile().ainvoke({"question": "q"}))
    assert set(_statuses(out, "retrieval").values()) == {"skipped"}
    assert out["answer"] == "a"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"tier1_timeout": 0}, "tier1_timeout"),
        ({"tier2_timeout": -1}, "tier2_timeout"),
        ({"tier1_timeout": float("nan")}, "tier1_timeout"),
        ({"task_timeouts": {"rag_retrieval": 0}}, "task_timeouts"),
        ({"task_timeouts": {"web_search": 1.0}}, "task_timeouts"),
        ({"enable_parallel_tier3": True}, "enable_parallel_tier3"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ParallelConfig(**config)
    assert field in str(info.value)


def test_config_defaults_match_the_seed() -> None:
    cfg = ParallelConfig()
    assert (cfg.tier1_timeout, cfg.tier2_timeout) == (5.0, 2.0)
    assert cfg.enable_parallel_tier1
    assert cfg.enable_parallel_tier2
    assert cfg.timeout_for("rag_retrieval") > 0
    assert ParallelConfig(task_timeouts={"rag_retrieval": 0.5}).timeout_for("cost_tracking") == 1.0


async def test_breakers_guard_the_named_task() -> None:
    breaker = CircuitBreaker("rag", policy=BreakerPolicy(failure_threshold=2, recovery_timeout=60))
    workflow = Scripted(fail=frozenset({"rag_retrieval"}), breakers={"rag_retrieval": breaker})
    for _ in range(2):
        out, _ = await _run(workflow)
        assert _statuses(out, "retrieval")["rag_retrieval"] == "error"
    calls = workflow.calls.count("rag_retrieval")
    out, _ = await _run(workflow)
    statuses = _statuses(out, "retrieval")
    assert statuses["rag_retrieval"] == "circuit_open"
    assert workflow.calls.count("rag_retrieval") == calls  # not called while open
    assert statuses["tool_suggestion"] == "ok"
    assert out["rag_retrieval"] == []


@pytest.mark.parametrize(
    ("breakers", "field"),
    [
        ({"rag": CircuitBreaker("x")}, "breakers.rag"),
        ({"rag_retrieval": object()}, "breakers.rag_retrieval"),
        ([("rag_retrieval", CircuitBreaker("x"))], "breakers"),
    ],
)
def test_bad_breakers_name_the_field(breakers: Any, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Scripted(breakers=breakers)
    assert info.value.field == field
