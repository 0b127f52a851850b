"""The Grafana dashboard: generated in code, committed, and every query valid PromQL."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks._promql import concrete, dashboard, dashboard_queries, load_yaml
from parallel_nodes.monitoring import DASHBOARD_PATH, METRIC_NAMES
from tests._servers import unavailable


def _generator() -> ModuleType:
    try:
        importlib.import_module("grafana_foundation_sdk")
    except ImportError:
        unavailable(
            "grafana-foundation-sdk is not installed; "
            'pip install "grafana-foundation-sdk==1769699379!11.6.0" (a dev-only dependency)'
        )
    return importlib.import_module("benchmarks.dashboard")


def test_committed_json_matches_the_generator() -> None:
    generator = _generator()
    committed = Path(DASHBOARD_PATH).read_text(encoding="utf-8")
    assert committed == generator.render(), (
        "monitoring/dashboard.json is out of date: run python -m benchmarks.dashboard"
    )
    assert generator.main(["--check"]) == 0


def test_check_flag_fails_on_drift(tmp_path: Path) -> None:
    generator = _generator()
    stale = tmp_path / "dashboard.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert generator.main(["--check", "--output", str(stale)]) == 1
    assert generator.main(["--output", str(stale)]) == 0
    assert generator.main(["--check", "--output", str(stale)]) == 0


def test_the_library_does_not_import_the_sdk() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, monitoring, parallel_nodes; "
            "print(any(m.startswith('grafana_foundation_sdk') for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_dashboard_is_grafana_11_with_a_datasource_variable() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39  # Grafana 11.0 writes 39; 11.6 writes 41
    assert board["uid"] == "parallel-nodes"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("mode", "tier", "task"):
        assert variables[name]["datasource"]["uid"] == "${datasource}"
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


def _panel(title_part: str) -> dict[str, Any]:
    matches = [p for p in dashboard()["panels"] if title_part.lower() in p["title"].lower()]
    assert len(matches) == 1, f"expected one panel titled like {title_part!r}"
    panel: dict[str, Any] = matches[0]
    return panel


def _exprs(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


def test_the_issues_panels_exist() -> None:
    tier = _exprs(_panel("Tier latency"))
    assert [re.findall(r"histogram_quantile\((0\.\d+)", e) for e in tier] == [
        ["0.5"],
        ["0.95"],
        ["0.99"],
    ]
    assert all("by (tier, mode, le)" in e for e in tier)
    task = _exprs(_panel("Task latency p50"))
    assert all("parallel_task_duration_seconds_bucket" in e and "task_name" in e for e in task)
    assert _panel("heatmap")["type"] == "heatmap"
    assert "by (task_name, failure_type)" in _exprs(_panel("failures by task"))[0]
    assert "parallel_execution_timeouts_total" in _exprs(_panel("timeout rate"))[0]
    assert "parallel_execution_success_rate" in _exprs(_panel("success rate"))[0]
    assert "parallel_speedup_ratio" in _exprs(_panel("speedup"))[0]
    degraded = [p for p in dashboard()["panels"] if "degraded" in p["title"].lower()]
    assert degraded


def test_every_metric_is_on_the_dashboard() -> None:
    text = " ".join(e for _, e in dashboard_queries())
    for name in METRIC_NAMES:
        assert name.removesuffix("_total") in text, name


def test_rate_queries_use_rate_interval() -> None:
    for title, expr in dashboard_queries():
        for window in re.findall(r"\b(?:rate|increase)\([^\[]*\[([^\]]+)\]", expr):
            assert window == "$__rate_interval", title


@pytest.mark.prometheus
def test_every_dashboard_query_parses_with_promtool(promtool: str, tmp_path: Path) -> None:
    queries = dashboard_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": concrete(expr)}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is valid YAML
    assert load_yaml(path)["groups"][0]["rules"]
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout + result.stderr


@pytest.mark.prometheus
def test_promtool_rejects_a_broken_query(promtool: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(
        "groups:\n- name: x\n  rules:\n  - record: x:y\n    expr: sum by (tier (rate(x[1m]))\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
