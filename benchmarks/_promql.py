"""The dashboard's panels and the alert rules' PromQL, made concrete for a real Prometheus.

Shared by ``benchmarks.panels`` (which draws each panel) and the monitoring tests (which lint
the queries and check that each returns data).
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parallel_nodes.monitoring import ALERTS_PATH, DASHBOARD_PATH

__all__ = [
    "Panel",
    "Target",
    "alert_expressions",
    "alert_rules",
    "concrete",
    "dashboard",
    "dashboard_panels",
    "dashboard_queries",
    "load_yaml",
]

# Why import_module: PyYAML's stubs are a dev extra, and only plain data is read here.
_yaml: Any = importlib.import_module("yaml")

_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One query of a panel."""

    ref: str
    """Grafana's refId: ``A``, ``B``, ..."""
    expr: str
    """The PromQL, with the dashboard's variables still in it."""
    legend: str
    """Grafana's legendFormat, e.g. ``{{tier}} ({{mode}})``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Panel:
    """A dashboard panel, reduced to what a picture of it needs."""

    title: str
    kind: str
    """Grafana's panel type: ``timeseries``, ``heatmap`` or ``stat``."""
    unit: str
    """Grafana's unit id: ``s``, ``ops``, ``percentunit``, ``x``."""
    targets: tuple[Target, ...]
    stacked: bool = False
    thresholds: tuple[tuple[float | None, str], ...] = ()
    """Grafana's absolute thresholds as (from value, colour); ``None`` is the base step."""

    @property
    def slug(self) -> str:
        """The file name stem of its picture: ``Tier timeout rate`` -> ``tier-timeout-rate``."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def load_yaml(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return _yaml.safe_load(f)


def dashboard() -> dict[str, Any]:
    with open(DASHBOARD_PATH, encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def dashboard_panels() -> list[Panel]:
    """Every panel with queries (rows have none), in dashboard order."""
    panels = []
    for raw in dashboard()["panels"]:
        if not raw.get("targets"):
            continue
        defaults = raw.get("fieldConfig", {}).get("defaults", {})
        unit = defaults.get("unit") or raw.get("options", {}).get("yAxis", {}).get("unit", "")
        stacking = defaults.get("custom", {}).get("stacking", {}).get("mode", "none")
        steps = defaults.get("thresholds", {}).get("steps", [])
        panels.append(
            Panel(
                title=raw["title"],
                kind=raw["type"],
                unit=unit,
                stacked=stacking != "none",
                thresholds=tuple((step.get("value"), step["color"]) for step in steps),
                targets=tuple(
                    Target(ref=t["refId"], expr=t["expr"], legend=t.get("legendFormat", ""))
                    for t in raw["targets"]
                ),
            )
        )
    return panels


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title and refId, expr) for every target of every panel."""
    return [
        (f"{panel.title} [{target.ref}]", target.expr)
        for panel in dashboard_panels()
        for target in panel.targets
    ]


def alert_rules() -> list[dict[str, Any]]:
    """Every rule (alerting and recording) of alerts.yml."""
    return [rule for group in load_yaml(ALERTS_PATH)["groups"] for rule in group["rules"]]


def alert_expressions() -> list[tuple[str, str]]:
    """(alert name, expr) for every alerting rule."""
    return [(r["alert"], r["expr"]) for r in alert_rules() if "alert" in r]


def concrete(expr: str, *, rate_interval: str = "1m") -> str:
    """The expression as Grafana would send it with every variable set to "All"."""
    expr = expr.replace("$__rate_interval", rate_interval).replace(
        "${__rate_interval}", rate_interval
    )
    return _VARIABLE.sub(".*", expr)
