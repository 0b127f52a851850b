"""The picture in ``docs/monitoring.md``: a ``research`` run's fan-out in Arize Phoenix's UI.

``python -m benchmarks.phoenix_fanout [--out docs/img/phoenix-fanout.png]`` starts ``phoenix
serve`` on a free loopback port with a temporary working directory, runs one ``research`` graph
under an application span with OpenInference's LangChain instrumentor and our OTel spans
exported over OTLP, opens the trace in headless Chromium, saves a screenshot, and stops Phoenix
by its PID. Needs the ``tracing-e2e`` dependency group and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._prometheus import free_port

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "phoenix-fanout.png"
PROJECT = "parallel-nodes"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


async def _research(url: str) -> str:
    """Run one research turn traced into Phoenix; return the trace id."""
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from parallel_nodes.modes import Mode2AutomaticWorkflow

    provider = TracerProvider(resource=Resource({"openinference.project.name": PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    trace.set_tracer_provider(provider)
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    graph = Mode2AutomaticWorkflow(config={"metrics": False}).compile()
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("research request") as span:
        await graph.ainvoke({"question": "What does a tier deadline do?"})
        trace_id = f"{span.get_span_context().trace_id:032x}"
    instrumentor.uninstrument()
    provider.force_flush()
    return trace_id


def main(argv: Sequence[str] | None = None) -> int:
    """Start Phoenix, trace a run, screenshot it; exit 1 when a step fails."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    exe = shutil.which("phoenix") or str(Path(sys.executable).with_name("phoenix"))
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": tmp,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(free_port()),
        }
        with Path(tmp, "phoenix.log").open("wb") as log:
            proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 90
                while True:
                    try:
                        projects = _get(f"{url}/v1/projects")
                        break
                    except (urllib.error.URLError, ConnectionError, TimeoutError):
                        if proc.poll() is not None or time.monotonic() > deadline:
                            print("phoenix serve did not start", file=sys.stderr)
                            return 1
                        time.sleep(0.5)
                trace_id = asyncio.run(_research(url))
                time.sleep(2)
                projects = _get(f"{url}/v1/projects")["data"]
                project_id = next(p["id"] for p in projects if p["name"] == PROJECT)
                page = f"{url}/projects/{project_id}/traces/{trace_id}"
                print(page)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(
                    [
                        chromium,
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--hide-scrollbars",
                        f"--user-data-dir={tmp}/chromium",
                        "--virtual-time-budget=15000",
                        f"--screenshot={args.out}",
                        "--window-size=1400,1500",
                        page,
                    ],
                    check=True,
                    timeout=120,
                    capture_output=True,
                )
                print(f"wrote {args.out}")
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
