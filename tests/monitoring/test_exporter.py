"""The exporter: HTTP ``/metrics``, the ASGI app, and multi-process aggregation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from parallel_nodes.monitoring import ParallelMetrics, metrics_asgi_app, start_metrics_server


def test_start_metrics_server_serves_the_registry_on_loopback() -> None:
    registry = CollectorRegistry()
    ParallelMetrics(registry=registry).observe_timeout("retrieval", "default")
    with start_metrics_server(0, registry=registry) as server:
        assert server.address == "127.0.0.1"
        assert server.port > 0
        with urllib.request.urlopen(server.url, timeout=5) as response:
            body = response.read().decode()
    assert 'parallel_execution_timeouts_total{mode="default",tier="retrieval"} 1.0' in body


async def test_metrics_asgi_app_serves_the_registry() -> None:
    registry = CollectorRegistry()
    ParallelMetrics(registry=registry).observe_task("rag", "default", duration=0.2)
    app = metrics_asgi_app(registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert (
        'parallel_task_duration_seconds_count{mode="default",task_name="rag"} 1.0' in response.text
    )


_WORKER = textwrap.dedent(
    """
    import sys
    from parallel_nodes.monitoring import ParallelMetrics
    from parallel_nodes.monitoring import (
        track_parallel_execution, track_parallel_task_duration,
        track_parallel_task_failure, track_parallel_timeout,
    )
    n = int(sys.argv[1])
    metrics = ParallelMetrics()
    for _ in range(n):
        track_parallel_timeout("retrieval", "default", metrics=metrics)
        track_parallel_task_failure("rag", "error", "default", metrics=metrics)
        track_parallel_task_duration("rag", "default", 0.02, metrics=metrics)
        track_parallel_execution(
            "retrieval", "default", 0.1, speedup=float(n), succeeded=True, metrics=metrics
        )
    print("done")
    """
)


def _aggregate(multiproc_dir: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
    return registry


def test_counters_add_up_across_two_real_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (3, 5)
    ]
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            assert out.strip() == "done"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file set per process
    registry = _aggregate(tmp_path)
    tier = {"tier": "retrieval", "mode": "default"}
    task = {"task_name": "rag", "mode": "default"}
    assert registry.get_sample_value("parallel_execution_timeouts_total", tier) == 8
    assert (
        registry.get_sample_value("parallel_task_failures_total", {**task, "failure_type": "error"})
        == 8
    )
    assert registry.get_sample_value("parallel_task_duration_seconds_count", task) == 8
    assert registry.get_sample_value("parallel_execution_duration_seconds_count", tier) == 8
    # Gauges keep the most recent value written by any process, with no pid label.
    assert registry.get_sample_value("parallel_speedup_ratio", tier) in (3.0, 5.0)
    assert registry.get_sample_value("parallel_execution_success_rate", tier) == 1.0


def test_exporter_aggregates_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 4):
        subprocess.run(
            [sys.executable, "-c", _WORKER, str(n)],
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with (
        start_metrics_server(0) as server,
        urllib.request.urlopen(server.url, timeout=5) as response,
    ):
        body = response.read().decode()
    assert 'parallel_execution_timeouts_total{mode="default",tier="retrieval"} 6.0' in body
