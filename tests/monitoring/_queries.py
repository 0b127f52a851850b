"""The dashboard's and the alert rules' PromQL expressions, made concrete for Prometheus."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from monitoring import ALERTS_PATH, DASHBOARD_PATH

# Why import_module: PyYAML ships no type stubs here, and the tests only need plain data.
_yaml: Any = importlib.import_module("yaml")

_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def load_yaml(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return _yaml.safe_load(f)


def dashboard() -> dict[str, Any]:
    with open(DASHBOARD_PATH, encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title and refId, expr) for every target of every panel."""
    found: list[tuple[str, str]] = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            found.append((f"{panel['title']} [{target['refId']}]", target["expr"]))
    return found


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
