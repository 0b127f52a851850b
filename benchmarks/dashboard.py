"""Generates ``dashboard.json``, the Grafana 11 dashboard, with grafana-foundation-sdk.

A development tool, not part of the runtime library: it needs the dev-only dependency
``grafana-foundation-sdk==1769699379!11.6.0``. Rewrite the committed JSON after a change::

    python -m benchmarks.dashboard           # writes monitoring/dashboard.json
    python -m benchmarks.dashboard --check   # exits 1 when the JSON is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import heatmap as heatmap_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import prometheus as prom_m

from parallel_nodes.monitoring import DASHBOARD_PATH

__all__ = ["UID", "build_dashboard", "main", "render"]

UID: Final = "parallel-nodes"
"""The dashboard's stable uid: re-importing replaces it instead of adding a copy."""

_DS: Final = dash_m.DataSourceRef(type_val="prometheus", uid="${datasource}")
_TIER: Final = 'tier=~"$tier", mode=~"$mode"'
_TASK: Final = 'task_name=~"$task", mode=~"$mode"'
_RATE: Final = "$__rate_interval"


def _query(expr: str, legend: str, ref: str) -> prom_b.Dataquery:
    return (
        prom_b.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref)
        .range()
        .datasource(_DS)
        .editor_mode(prom_m.QueryEditorMode.CODE)
    )


def _legend() -> common_b.VizLegendOptions:
    return (
        common_b.VizLegendOptions()
        .display_mode(common_m.LegendDisplayMode.TABLE)
        .placement(common_m.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(["mean", "max", "lastNotNull"])
    )


def _timeseries(panel_id: int, title: str, description: str, unit: str) -> ts_b.Panel:
    return (
        ts_b.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .datasource(_DS)
        .unit(unit)
        .span(12)
        .height(8)
        .legend(_legend())
        .tooltip(common_b.VizTooltipOptions().mode(common_m.TooltipDisplayMode.MULTI))
    )


def _variable(name: str, label: str, query: str) -> dash_b.QueryVariable:
    return (
        dash_b.QueryVariable(name)
        .label(label)
        .datasource(_DS)
        .query(query)
        .refresh(dash_m.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dash_m.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dash_m.VariableOption(selected=True, text="All", value="$__all"))
    )


def _tier_latency() -> ts_b.Panel:
    panel = _timeseries(
        1,
        "Tier latency p50 / p95 / p99 by mode",
        "Wall time of one tier run (parallel_execution_duration_seconds). A tier returns within "
        "its deadline plus a few milliseconds, so p99 sitting on the deadline means runs are cut.",
        "s",
    )
    for ref, q in (("A", "0.5"), ("B", "0.95"), ("C", "0.99")):
        panel.with_target(
            _query(
                f"histogram_quantile({q}, sum by (tier, mode, le) "
                f"(rate(parallel_execution_duration_seconds_bucket{{{_TIER}}}[{_RATE}])))",
                f"p{q[2:].ljust(2, '0')} {{{{tier}}}} ({{{{mode}}}})",
                ref,
            )
        )
    return panel


def _task_latency() -> ts_b.Panel:
    panel = _timeseries(
        2,
        "Task latency p50 / p95 / p99 by task",
        "Duration of each task run, retries included (parallel_task_duration_seconds).",
        "s",
    )
    for ref, q in (("A", "0.5"), ("B", "0.95"), ("C", "0.99")):
        panel.with_target(
            _query(
                f"histogram_quantile({q}, sum by (task_name, le) "
                f"(rate(parallel_task_duration_seconds_bucket{{{_TASK}}}[{_RATE}])))",
                f"p{q[2:].ljust(2, '0')} {{{{task_name}}}}",
                ref,
            )
        )
    return panel


def _task_heatmap() -> heatmap_b.Panel:
    return (
        heatmap_b.Panel()
        .id(3)
        .title("Task latency heatmap")
        .description("Task runs per duration bucket over time, all selected tasks together.")
        .datasource(_DS)
        .span(12)
        .height(8)
        .calculate(False)
        .y_axis(heatmap_b.YAxisConfig().unit("s"))
        .color(heatmap_b.HeatmapColorOptions().scheme("Oranges").steps(64))
        .with_target(
            _query(
                "sum by (le) "
                f"(increase(parallel_task_duration_seconds_bucket{{{_TASK}}}[{_RATE}]))",
                "{{le}}",
                "A",
            ).format(prom_m.PromQueryFormat.HEATMAP)
        )
    )


def _failures() -> ts_b.Panel:
    return (
        _timeseries(
            4,
            "Task failures by task and failure type",
            "Tasks that fell back to their default per second (parallel_task_failures_total): "
            "timeout, error, circuit_open, invalid_output, cancelled.",
            "ops",
        )
        .stacking(common_b.StackingConfig().mode(common_m.StackingMode.NORMAL))
        .fill_opacity(30)
        .with_target(
            _query(
                "sum by (task_name, failure_type) "
                f"(rate(parallel_task_failures_total{{{_TASK}}}[{_RATE}]))",
                "{{task_name}} {{failure_type}}",
                "A",
            )
        )
    )


def _timeout_rate() -> ts_b.Panel:
    return (
        _timeseries(
            5,
            "Tier timeout rate",
            "Share of tier runs cut off by the tier deadline "
            "(parallel_execution_timeouts_total over runs).",
            "percentunit",
        )
        .span(8)
        .min(0)
        .with_target(
            _query(
                f"sum by (tier, mode) (rate(parallel_execution_timeouts_total{{{_TIER}}}[{_RATE}]))"
                " / sum by (tier, mode) "
                f"(rate(parallel_execution_duration_seconds_count{{{_TIER}}}[{_RATE}]))",
                "{{tier}} ({{mode}})",
                "A",
            )
        )
    )


def _success_rate() -> ts_b.Panel:
    return (
        _timeseries(
            6,
            "Tier success rate",
            "Share of recent tier runs (a sliding window per process) in which no task degraded "
            "(parallel_execution_success_rate); the worst instance is shown.",
            "percentunit",
        )
        .span(8)
        .min(0)
        .max(1)
        .with_target(
            _query(
                f"min by (tier, mode) (parallel_execution_success_rate{{{_TIER}}})",
                "{{tier}} ({{mode}})",
                "A",
            )
        )
    )


def _speedup() -> ts_b.Panel:
    return (
        _timeseries(
            7,
            "Speedup (sum of task durations / wall time)",
            "parallel_speedup_ratio of the last run: about 1 when a tier runs one task at a time, "
            "up to its task count when the tasks overlap fully.",
            "x",
        )
        .span(8)
        .min(0)
        .with_target(
            _query(
                f"avg by (tier, mode) (parallel_speedup_ratio{{{_TIER}}})",
                "{{tier}} ({{mode}})",
                "A",
            )
        )
    )


def _degraded_now() -> stat_b.Panel:
    return (
        stat_b.Panel()
        .id(8)
        .title("Degraded answers (recent runs)")
        .description(
            "Share of recent tier runs that answered with at least one default in place of a "
            "task's value: 1 - parallel_execution_success_rate, worst instance."
        )
        .datasource(_DS)
        .unit("percentunit")
        .span(8)
        .height(8)
        .min(0)
        .max(1)
        .thresholds(
            dash_b.ThresholdsConfig()
            .mode(dash_m.ThresholdsMode.ABSOLUTE)
            .steps(
                [
                    dash_m.Threshold(value=None, color="green"),
                    dash_m.Threshold(value=0.05, color="orange"),
                    dash_m.Threshold(value=0.1, color="red"),
                ]
            )
        )
        .with_target(
            _query(
                f"1 - min by (tier, mode) (parallel_execution_success_rate{{{_TIER}}})",
                "{{tier}} ({{mode}})",
                "A",
            )
        )
    )


def _degraded_rate() -> ts_b.Panel:
    return (
        _timeseries(
            9,
            "Degraded task results by mode",
            "Task values replaced by their safe default, per second, by mode and failure type: "
            "each one is a part of an answer built without that task.",
            "ops",
        )
        .span(16)
        .stacking(common_b.StackingConfig().mode(common_m.StackingMode.NORMAL))
        .fill_opacity(30)
        .with_target(
            _query(
                "sum by (mode, failure_type) "
                f'(rate(parallel_task_failures_total{{mode=~"$mode"}}[{_RATE}]))',
                "{{mode}} {{failure_type}}",
                "A",
            )
        )
    )


def _tier_outcomes() -> ts_b.Panel:
    return (
        _timeseries(
            10,
            "Tier runs by outcome",
            "Tier runs per second by outcome (parallel_tier_runs_total): ok, degraded (a task "
            "fell back to its default), deadline (cut off by the tier deadline), "
            "cancelled_by_caller.",
            "ops",
        )
        .span(12)
        .stacking(common_b.StackingConfig().mode(common_m.StackingMode.NORMAL))
        .fill_opacity(30)
        .with_target(
            _query(
                f"sum by (tier, outcome) (rate(parallel_tier_runs_total{{{_TIER}}}[{_RATE}]))",
                "{{tier}} {{outcome}}",
                "A",
            )
        )
    )


def _breakers() -> ts_b.Panel:
    return (
        _timeseries(
            11,
            "Circuit breakers",
            "Breaker state per task, read at scrape time: 0 closed, 1 half-open, 2 open.",
            "short",
        )
        .span(12)
        .min(0)
        .max(2)
        .with_target(_query("max by (task_name) (parallel_breaker_state)", "{{task_name}}", "A"))
    )


def _engine() -> ts_b.Panel:
    return (
        _timeseries(
            12,
            "Stragglers and sync workers",
            "Abandoned tasks still running (they hold a thread or a connection), sync workers "
            "busy, and sync calls blocked waiting for a worker; read at scrape time.",
            "short",
        )
        .span(24)
        .min(0)
        .with_target(_query("sum(parallel_stragglers)", "stragglers", "A"))
        .with_target(_query("sum by (state) (parallel_sync_workers)", "sync {{state}}", "B"))
    )


def build_dashboard() -> dict[str, Any]:
    """The dashboard as a JSON-ready dict (Grafana 11, Prometheus datasource variable)."""
    builder = (
        dash_b.Dashboard("Parallel nodes")
        .uid(UID)
        .description(
            "langgraph-parallel-nodes: tier and task latency, failures, timeouts, success rate, "
            "speedup and degraded answers."
        )
        .tags(["langgraph", "parallel-nodes", "prometheus"])
        .editable()
        .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_variable(
            dash_b.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
            .current(dash_m.VariableOption(selected=True, text="default", value="default"))
        )
        .with_variable(
            _variable(
                "mode", "Mode", "label_values(parallel_execution_duration_seconds_count, mode)"
            )
        )
        .with_variable(
            _variable(
                "tier",
                "Tier",
                'label_values(parallel_execution_duration_seconds_count{mode=~"$mode"}, tier)',
            )
        )
        .with_variable(
            _variable(
                "task",
                "Task",
                'label_values(parallel_task_duration_seconds_count{mode=~"$mode"}, task_name)',
            )
        )
        .with_row(dash_b.Row("Latency").id(100))
        .with_panel(_tier_latency())
        .with_panel(_task_latency())
        .with_panel(_task_heatmap())
        .with_panel(_failures())
        .with_row(dash_b.Row("Outcomes").id(101))
        .with_panel(_timeout_rate())
        .with_panel(_success_rate())
        .with_panel(_speedup())
        .with_panel(_degraded_now())
        .with_panel(_degraded_rate())
        .with_row(dash_b.Row("Engine").id(102))
        .with_panel(_tier_outcomes())
        .with_panel(_breakers())
        .with_panel(_engine())
    )
    encoded: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return encoded


def render() -> str:
    """The dashboard JSON exactly as committed: sorted keys, two-space indent, final newline."""
    return json.dumps(build_dashboard(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboard JSON, or with ``--check`` report whether it is out of date."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=Path(DASHBOARD_PATH))
    args = parser.parse_args(argv)
    text = render()
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m benchmarks.dashboard", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
