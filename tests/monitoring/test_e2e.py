"""End to end: a real Prometheus scrapes real tier traffic; every panel and alert has data."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitoring import ALERTS_PATH

from ._queries import alert_expressions, concrete, dashboard_queries

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

TRAFFIC = Path(__file__).with_name("_traffic.py")
# The e2e tiers' p95 budgets: e2e_deadline runs ~20 ms, so its p95 is always above 10 ms.
BUDGETS = """
groups:
  - name: e2e-budgets
    rules:
      - record: parallel_nodes:tier_deadline_budget_seconds
        expr: vector(0.01)
        labels:
          tier: e2e_deadline
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read().decode())


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    body = _get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _has_data(result: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop one child by its PID and close its pipes."""
    if process.poll() is None:
        process.terminate()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=10)


def test_prometheus_scrapes_real_traffic_and_every_query_has_data(
    prometheus: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PARALLEL_NODES_METRICS", "PROMETHEUS_MULTIPROC_DIR")
    }
    exporter = subprocess.Popen(
        [sys.executable, str(TRAFFIC), "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    server: subprocess.Popen[str] | None = None
    try:
        assert exporter.stdout is not None
        line = exporter.stdout.readline().strip()
        assert line.isdigit(), (
            f"exporter did not start: {line!r} {exporter.stderr and exporter.stderr.read()}"
        )
        target = f"127.0.0.1:{int(line)}"

        (tmp_path / "budgets.yml").write_text(BUDGETS, encoding="utf-8")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS_PATH), str(tmp_path / "budgets.yml")],
            "scrape_configs": [
                {"job_name": "parallel-nodes", "static_configs": [{"targets": [target]}]}
            ],
        }
        (tmp_path / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

        queries = {
            f"panel {title}": concrete(expr, rate_interval="10s")
            for title, expr in dashboard_queries()
        }
        queries |= {f"alert {name}": expr for name, expr in alert_expressions()}
        assert len(queries) >= 13 + 4
        missing = dict(queries)
        deadline = time.monotonic() + 30
        while missing and time.monotonic() < deadline:
            assert server.poll() is None, (
                f"prometheus exited: {server.stderr and server.stderr.read()}"
            )
            assert exporter.poll() is None, (
                f"exporter exited: {exporter.stderr and exporter.stderr.read()}"
            )
            try:
                for name, expr in list(missing.items()):
                    if _has_data(_query(base, expr)):
                        del missing[name]
            except (urllib.error.URLError, ConnectionError):
                pass  # not ready yet
            if missing:
                time.sleep(0.5)
        assert not missing, f"no data after 30 s for: {sorted(missing)}"

        # The alerts fire for the tiers and the task that the traffic makes misbehave.
        labels = {
            name: {tuple(sorted(s["metric"].items())) for s in _query(base, expr)}
            for name, expr in alert_expressions()
        }
        assert (("mode", "e2e"), ("tier", "e2e_deadline")) in labels["ParallelTierTimeoutRateHigh"]
        assert (("mode", "e2e"), ("tier", "e2e_mixed")) in labels["ParallelTierSuccessRateLow"]
        assert (("mode", "e2e"), ("tier", "e2e_ok")) not in labels["ParallelTierSuccessRateLow"]
        assert (("mode", "e2e"), ("tier", "e2e_deadline")) in labels[
            "ParallelTierLatencyOverBudget"
        ]
        assert (("mode", "e2e"), ("task_name", "flaky")) in labels[
            "ParallelTaskFailingPersistently"
        ]
        assert (("mode", "e2e"), ("task_name", "quick")) not in labels[
            "ParallelTaskFailingPersistently"
        ]
        print(f"e2e: every query had data after {time.monotonic() - started:.1f} s")
    finally:
        for process in (server, exporter):
            if process is not None:
                _stop(process)
