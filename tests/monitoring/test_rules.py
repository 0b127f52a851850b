"""The alert rules, their unit tests, the sample scrape config and the exposition, via promtool."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from benchmarks._promql import alert_expressions, alert_rules, load_yaml
from parallel_nodes import Task, Tier, run_tier
from parallel_nodes.monitoring import (
    ALERTS_PATH,
    ALERTS_TEST_PATH,
    PROMETHEUS_CONFIG_PATH,
    ParallelMetrics,
    PrometheusObserver,
)

pytestmark = pytest.mark.prometheus


def _promtool(
    promtool: str, *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> str:
    result = subprocess.run(
        [promtool, *args], input=stdin, capture_output=True, timeout=60, cwd=cwd
    )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    return output


def test_seven_alerts_cover_the_issues() -> None:
    names = {name for name, _ in alert_expressions()}
    assert names == {
        "ParallelTierTimeoutRateHigh",
        "ParallelTierSuccessRateLow",
        "ParallelTierLatencyOverBudget",
        "ParallelTaskFailingPersistently",
        # Issue 15: from the engine gauges and the outcome counter.
        "ParallelCircuitOpen",
        "ParallelStragglersPiling",
        "ParallelTierDeadlineRatioHigh",
    }
    for rule in alert_rules():
        if "alert" in rule:
            assert rule["for"], rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_every_alert_has_a_unit_test() -> None:
    tests = load_yaml(ALERTS_TEST_PATH)["tests"]
    tested = {case["alertname"] for t in tests for case in t.get("alert_rule_test", [])}
    assert tested == {name for name, _ in alert_expressions()}


def test_check_rules(promtool: str) -> None:
    out = _promtool(promtool, "check", "rules", ALERTS_PATH)
    assert f"SUCCESS: {len(alert_rules())} rules found" in out


def test_rules_unit_tests(promtool: str) -> None:
    out = _promtool(
        promtool, "test", "rules", Path(ALERTS_TEST_PATH).name, cwd=Path(ALERTS_TEST_PATH).parent
    )
    assert "SUCCESS" in out


def test_rules_unit_tests_can_fail(promtool: str, tmp_path: Path) -> None:
    shutil.copy(ALERTS_PATH, tmp_path / "alerts.yml")
    broken = Path(ALERTS_TEST_PATH).read_text(encoding="utf-8").replace("value: 1.6", "value: 9")
    (tmp_path / "alerts_test.yml").write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0


def test_sample_scrape_config(promtool: str) -> None:
    config = load_yaml(PROMETHEUS_CONFIG_PATH)
    assert config["rule_files"] == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"
    out = _promtool(promtool, "check", "config", PROMETHEUS_CONFIG_PATH)
    assert "SUCCESS" in out


async def _hangs(state: object) -> None:
    await asyncio.sleep(5)


async def _breaks(state: object) -> None:
    raise RuntimeError("down")


async def _ok(state: object) -> str:
    return "ok"


async def test_exposition_passes_promtool_check_metrics(promtool: str) -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(ParallelMetrics(registry=registry))
    tier = Tier(
        "retrieval",
        [
            Task("ok", _ok, timeout=1.0),
            Task("broken", _breaks, timeout=1.0, default=None),
            Task("slow", _hangs, timeout=1.0, default=None),
        ],
        timeout=0.03,
    )
    for _ in range(2):
        await run_tier(tier, {}, metadata={"mode": "lint"}, observers=(observer,))
    exposition = generate_latest(registry)
    for name in ("parallel_execution_timeouts_total", "parallel_task_failures_total"):
        assert name.encode() in exposition
    # promtool reads stdin and exits non-zero on any lint problem (units, suffixes, help).
    _promtool(promtool, "check", "metrics", stdin=exposition)


def test_check_metrics_can_fail(promtool: str) -> None:
    bad = b"# HELP latency_ms Latency.\n# TYPE latency_ms counter\nlatency_ms 1\n"
    result = subprocess.run(
        [promtool, "check", "metrics"], input=bad, capture_output=True, timeout=60
    )
    assert result.returncode != 0
