"""End to end: a real Prometheus scrapes real tier traffic; every panel and alert has data."""

from __future__ import annotations

import time
import urllib.error
from pathlib import Path

import pytest

from benchmarks._prometheus import has_data, run_prometheus, run_traffic
from benchmarks._promql import alert_expressions, concrete, dashboard_queries
from parallel_nodes.monitoring import ALERTS_PATH

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

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


def test_prometheus_scrapes_real_traffic_and_every_query_has_data(
    prometheus: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    (tmp_path / "budgets.yml").write_text(BUDGETS, encoding="utf-8")
    with (
        run_traffic(40, scenario="e2e") as target,
        run_prometheus(
            prometheus,
            targets=[target],
            rule_files=[ALERTS_PATH, tmp_path / "budgets.yml"],
            workdir=tmp_path,
        ) as server,
    ):
        queries = {
            f"panel {title}": concrete(expr, rate_interval="10s")
            for title, expr in dashboard_queries()
        }
        queries |= {f"alert {name}": expr for name, expr in alert_expressions()}
        assert len(queries) >= 13 + 4
        missing = dict(queries)
        deadline = time.monotonic() + 30
        while missing and time.monotonic() < deadline:
            server.child.check()
            try:
                for name, expr in list(missing.items()):
                    if has_data(server.query(expr)):
                        del missing[name]
            except (urllib.error.URLError, ConnectionError):
                pass  # not ready yet
            if missing:
                time.sleep(0.5)
        assert not missing, f"no data after 30 s for: {sorted(missing)}"

        # The alerts fire for the tiers and the task that the traffic makes misbehave.
        labels = {
            name: {tuple(sorted(s["metric"].items())) for s in server.query(expr)}
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
        assert (("task_name", "flaky"),) in labels["ParallelCircuitOpen"]
        assert (("mode", "e2e"), ("tier", "e2e_deadline")) in labels[
            "ParallelTierDeadlineRatioHigh"
        ]
        assert (("mode", "e2e"), ("tier", "e2e_ok")) not in labels["ParallelTierDeadlineRatioHigh"]
        print(f"e2e: every query had data after {time.monotonic() - started:.1f} s")
