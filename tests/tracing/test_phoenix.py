"""End to end: a real ``research`` run traced into a real Arize Phoenix, read back over its API.

Phoenix (the ``tracing-e2e`` dependency group) runs as a subprocess on a free loopback port with
a temporary working directory, and is stopped by its PID. Spans go over OTLP/HTTP: ours (a tier
span over its task spans) and OpenInference's LangChain spans (the graph, its nodes and each
task's child run). Without Phoenix the test is skipped; under ``CI=true`` it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._servers import free_port, unavailable

# Phoenix takes 20 s to start on an idle machine, well over a minute on a loaded one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

PROJECT = "parallel-nodes-e2e"
TIERS = {
    "retrieval": {"rag_retrieval", "tool_suggestion", "memory_retrieval"},
    "post_generation": {"quality_scoring", "citation_extraction", "cost_tracking"},
}


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server's base URL; its process is stopped by PID at the end."""
    exe = shutil.which("phoenix") or str(Path(sys.executable).with_name("phoenix"))
    if not Path(exe).exists():
        unavailable("arize-phoenix is not installed: pip install --group tracing-e2e")
    workdir = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
    }
    log = (workdir / "phoenix.log").open("wb")
    proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                unavailable(f"phoenix serve exited with {proc.returncode}; see {log.name}")
            try:
                get_json(f"{url}/v1/projects")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    unavailable(f"phoenix serve did not answer on {url} within 90 s")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def spans_of(url: str, project: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        try:
            page = get_json(f"{url}/v1/projects/{project}/spans?limit=1000{cursor}")
        except urllib.error.HTTPError as error:
            # Phoenix makes the project when its first span is ingested, which happens
            # after the export returns: until then the project is a 404, i.e. no spans yet.
            if error.code == 404 and not found:
                return []
            raise
        found += page["data"]
        if not page.get("next_cursor"):
            return found
        cursor = f"&cursor={page['next_cursor']}"


async def test_phoenix_shows_the_research_tiers_and_their_six_task_spans(
    phoenix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from parallel_nodes.modes import Mode2AutomaticWorkflow

    provider = TracerProvider(resource=Resource({"openinference.project.name": PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{phoenix}/v1/traces")))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        graph = Mode2AutomaticWorkflow(config={"metrics": False}).compile()
        out = await graph.ainvoke({"question": "What does a tier deadline do?"})
    finally:
        instrumentor.uninstrument()
        provider.force_flush()
        provider.shutdown()
    assert out["answer"]

    # Phoenix ingests asynchronously: read until the whole tree is there, then check it.
    deadline = time.monotonic() + 60
    while True:
        spans = spans_of(phoenix, PROJECT)
        ours = [s for s in spans if "parallel_nodes.task" in s["attributes"]]
        theirs = [s for s in spans if s["name"] in TIERS["retrieval"] | TIERS["post_generation"]]
        if (len(ours) >= 6 and len(theirs) >= 12) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    by_id = {s["context"]["span_id"]: s for s in spans}
    for tier, tasks in TIERS.items():
        (tier_span,) = [s for s in spans if s["name"] == f"parallel_tier {tier}"]
        children = {
            s["attributes"].get("parallel_nodes.task")
            for s in spans
            if s.get("parent_id") == tier_span["context"]["span_id"]
        }
        assert children == tasks, tier
        # "degraded" when a task timed out on a loaded machine: its span is there all the same.
        assert tier_span["attributes"]["parallel_nodes.outcome"] in ("ok", "degraded")
        # OpenInference's spans of the same run: each task's LangChain child run sits under
        # the graph node that ran the tier.
        for task in tasks:
            runs = [
                s
                for s in spans
                if s["name"] == task and "parallel_nodes.task" not in s["attributes"]
            ]
            assert len(runs) == 1, task
            parent = by_id[runs[0]["parent_id"]]
            assert parent["name"] == f"parallel_{tier}", parent
    # OpenInference does not make its spans current in OTel's context, so each tier span
    # roots a trace of its own here; under an application span it would join that trace.
    assert all(s["parent_id"] is None for s in spans if s["name"].startswith("parallel_tier"))
