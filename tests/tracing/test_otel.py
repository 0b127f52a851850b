"""OpenTelemetry spans: off without a provider; with the SDK, a tier span over one span per task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest

from parallel_nodes import Task, Tier, _otel, run_tier
from parallel_nodes.monitoring import ParallelMetrics, PrometheusObserver


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An SDK provider for this test only (the global one can be set once per process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield exporter
    provider.shutdown()


async def fast(state: Any) -> str:
    return "ok"


async def hang(state: Any) -> str:
    await asyncio.sleep(5)
    return "never"


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in exporter.get_finished_spans()}


def test_no_provider_means_no_tracer() -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert _otel.otel_tracer() is None


async def test_a_tier_span_holds_one_span_per_task_with_genai_attributes(
    spans: InMemorySpanExporter,
) -> None:
    tier = Tier(
        "retrieval",
        [
            Task("rag_retrieval", fast, timeout=1.0),
            Task("tool_suggestion", fast, timeout=1.0),
            Task("scoring", fast, timeout=1.0),
        ],
        timeout=1.0,
    )
    await run_tier(tier, {}, metadata={"mode": "research"}, observers=())
    found = by_name(spans)
    assert set(found) == {
        "parallel_tier retrieval",
        "retrieval rag_retrieval",
        "execute_tool tool_suggestion",
        "parallel_task scoring",
    }
    root = found["parallel_tier retrieval"]
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["parallel_nodes.outcome"] == "ok"
    assert root.attributes["parallel_nodes.metadata.mode"] == "research"
    for name in (
        "retrieval rag_retrieval",
        "execute_tool tool_suggestion",
        "parallel_task scoring",
    ):
        span = found[name]
        assert span.parent is not None
        assert span.parent.span_id == root.context.span_id
        assert span.context.trace_id == root.context.trace_id
        assert span.attributes is not None
        assert span.attributes["parallel_nodes.status"] == "ok"
        assert span.attributes["parallel_nodes.attempts"] == 1
        assert span.attributes["parallel_nodes.tier"] == "retrieval"
        assert span.attributes["parallel_nodes.metadata.mode"] == "research"
    tool = found["execute_tool tool_suggestion"].attributes
    assert tool is not None
    assert tool["gen_ai.operation.name"] == "execute_tool"
    assert tool["gen_ai.tool.name"] == "tool_suggestion"
    assert tool["openinference.span.kind"] == "TOOL"


async def test_a_timed_out_task_span_is_an_error_and_its_straggler_links_the_tier(
    spans: InMemorySpanExporter,
) -> None:
    async def stubborn(state: Any) -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # swallows its cancellation for a while
        return "late"

    tier = Tier(
        "t",
        [Task("fast", fast, timeout=1.0), Task("slow", stubborn, timeout=0.05, default=None)],
        timeout=1.0,
    )
    result = await run_tier(tier, {}, observers=())
    assert result.tasks["slow"].status.value == "timeout"
    await asyncio.sleep(0.15)  # the straggler ends
    found = by_name(spans)
    slow = found["parallel_task slow"]
    assert slow.status.status_code is StatusCode.ERROR
    assert slow.status.description is not None
    assert "timed out after 0.050s" in slow.status.description
    assert slow.attributes is not None
    assert slow.attributes["error.type"] == "timeout"
    assert slow.attributes["parallel_nodes.status"] == "timeout"
    tier_span = found["parallel_tier t"]
    assert tier_span.attributes is not None
    assert tier_span.attributes["parallel_nodes.outcome"] == "degraded"
    assert list(tier_span.attributes["parallel_nodes.degraded"]) == ["slow"]  # type: ignore[arg-type]
    straggler = found["parallel_straggler slow"]
    assert straggler.parent is None
    assert [link.context.span_id for link in straggler.links] == [tier_span.context.span_id]
    assert straggler.end_time is not None
    assert tier_span.end_time is not None
    assert straggler.end_time > tier_span.end_time


async def test_a_tier_cut_by_its_deadline_is_an_error_span(spans: InMemorySpanExporter) -> None:
    tier = Tier("t", [Task("slow", hang, timeout=5.0, default=None)], timeout=0.03)
    await run_tier(tier, {}, observers=())
    tier_span = by_name(spans)["parallel_tier t"]
    assert tier_span.status.status_code is StatusCode.ERROR
    assert tier_span.attributes is not None
    assert tier_span.attributes["parallel_nodes.outcome"] == "deadline"
    assert tier_span.attributes["error.type"] == "deadline"


async def test_duration_histograms_carry_the_trace_id_as_an_exemplar(
    spans: InMemorySpanExporter,
) -> None:
    metrics = ParallelMetrics(registry=CollectorRegistry())
    tier = Tier("t", [Task("a", fast, timeout=1.0)], timeout=1.0)
    await run_tier(tier, {}, observers=(PrometheusObserver(metrics),))
    trace_id = f"{by_name(spans)['parallel_tier t'].context.trace_id:032x}"
    text = generate_latest(metrics.registry).decode()  # type: ignore[no-untyped-call]
    task_lines = [
        line for line in text.splitlines() if "parallel_task_duration_seconds_bucket" in line
    ]
    assert any(f'trace_id="{trace_id}"' in line for line in task_lines)
    tier_lines = [x for x in text.splitlines() if "parallel_execution_duration_seconds_bucket" in x]
    assert any(f'trace_id="{trace_id}"' in line for line in tier_lines)
