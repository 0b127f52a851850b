"""A real Prometheus scraping a traffic exporter, both child processes on loopback.

Shared by ``benchmarks.panels`` and the monitoring end-to-end test. Each child is stopped by
its own PID when its ``with`` block ends.
"""

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Child", "Prometheus", "free_port", "has_data", "run_prometheus", "run_traffic"]

ROOT = Path(__file__).resolve().parents[1]
# The exporter must record on its own default registry, whatever the caller's environment says.
_SCRUBBED = ("PARALLEL_NODES_METRICS", "PROMETHEUS_MULTIPROC_DIR")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Child:
    """A child process that must stay up while it is used."""

    def __init__(self, name: str, process: subprocess.Popen[str]) -> None:
        self.name = name
        self.process = process

    def check(self) -> None:
        """Raise ``RuntimeError`` with the child's stderr if it has exited."""
        if self.process.poll() is not None:
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {stderr}")

    def stop(self) -> None:
        """Stop the child by its PID and close its pipes."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate(timeout=10)


@contextmanager
def run_traffic(seconds: float, *, scenario: str) -> Iterator[str]:
    """Run ``python -m benchmarks._traffic`` for ``seconds``; yields its ``host:port``."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    child = Child(
        "traffic exporter",
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks._traffic", str(seconds), "--scenario", scenario],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ),
    )
    try:
        assert child.process.stdout is not None
        line = child.process.stdout.readline().strip()
        if not line.isdigit():
            child.check()
            raise RuntimeError(f"traffic exporter printed {line!r}, not its port")
        yield f"127.0.0.1:{int(line)}"
    finally:
        child.stop()


class Prometheus:
    """A running Prometheus: its HTTP API on ``base``."""

    def __init__(self, child: Child, base: str) -> None:
        self.child = child
        self.base = base

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read().decode())
        if body["status"] != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now."""
        result: list[dict[str, Any]] = self._get("/api/v1/query", {"query": expr})["result"]
        return result

    def query_range(
        self, expr: str, *, start: float, end: float, step: float
    ) -> list[dict[str, Any]]:
        """The range matrix of ``expr``: each series' ``values`` as ``[unix_time, "value"]``."""
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
        result: list[dict[str, Any]] = self._get("/api/v1/query_range", params)["result"]
        return result

    def wait_ready(self, timeout: float = 30) -> None:
        """Block until the server answers queries; raise if it exits or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            self.child.check()
            try:
                self.query("1")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


@contextmanager
def run_prometheus(
    binary: str,
    *,
    targets: Sequence[str],
    rule_files: Sequence[str | Path],
    workdir: Path,
    scrape_interval: str = "1s",
) -> Iterator[Prometheus]:
    """Start ``binary`` on a free loopback port, scraping ``targets``; stop it on exit."""
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": "parallel-nodes", "static_configs": [{"targets": list(targets)}]}
        ],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")
    port = free_port()
    child = Child(
        "prometheus",
        subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ),
    )
    try:
        yield Prometheus(child, f"http://127.0.0.1:{port}")
    finally:
        child.stop()


def has_data(result: list[dict[str, Any]]) -> bool:
    """Whether an instant vector holds at least one finite sample."""
    return any(math.isfinite(float(sample["value"][1])) for sample in result)
