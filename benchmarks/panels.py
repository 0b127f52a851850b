"""Pictures of the Grafana dashboard's panels, drawn from a real Prometheus.

``python -m benchmarks.panels [--seconds 50] [--out docs/img/panels]`` starts Prometheus on a
free loopback port (1 s scrapes), runs the ``demo`` traffic of ``benchmarks._traffic`` (healthy,
then an incident, then recovery), asks the HTTP API's ``query_range`` for every target of every
panel in ``monitoring/dashboard.json`` over the run, and writes one PNG per panel,
``<out>/<panel slug>.png``. It exits 1 when a panel gets no data. Needs Debian's ``prometheus``
(``bash .ci/install-prometheus.sh``) and matplotlib.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never open a window

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, PercentFormatter

from parallel_nodes.monitoring import ALERTS_PATH

from ._prometheus import Prometheus, run_prometheus, run_traffic
from ._promql import Panel, concrete, dashboard_panels

__all__ = ["Series", "fetch", "main", "render"]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "panels"
SIZE = (8.0, 3.5)  # inches; at DPI, 800 x 350 px
DPI = 100
RATE_INTERVAL = "10s"  # Grafana's $__rate_interval for 1 s scrapes would be 4 s: too noisy
_LINESTYLES = ("-", "--", ":", "-.")
_UNIT_LABELS = {"s": "seconds", "ops": "per second", "percentunit": "share", "x": "speedup (×)"}
_LEGEND_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")

Series = tuple[str, dict[str, str], list[tuple[float, float]]]
"""(refId, labels, [(unix time, value)]) of one returned series."""


def fetch(server: Prometheus, panel: Panel, *, start: float, end: float) -> list[Series]:
    """Every series every target of ``panel`` returns over ``[start, end]`` at 1 s steps."""
    found: list[Series] = []
    for target in panel.targets:
        expr = concrete(target.expr, rate_interval=RATE_INTERVAL)
        for series in server.query_range(expr, start=start, end=end, step=1):
            points = [(float(t), float(v)) for t, v in series["values"]]
            found.append((target.ref, series["metric"], points))
    return found


def _legend(panel: Panel, ref: str, labels: dict[str, str]) -> str:
    template = next(t.legend for t in panel.targets if t.ref == ref)
    return _LEGEND_VAR.sub(lambda m: labels.get(m.group(1), ""), template).strip()


def _seconds(value: float, _pos: object = None) -> str:
    return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.1f} s"


def _format_axis(ax: Axes, unit: str) -> None:
    ax.set_ylabel(_UNIT_LABELS.get(unit, unit), fontsize=8)
    if unit == "s":
        ax.yaxis.set_major_formatter(FuncFormatter(_seconds))
    elif unit == "percentunit":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    elif unit == "x":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1f}×"))
    ax.tick_params(labelsize=7)


def _outside_legend(ax: Axes, count: int) -> None:
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=6,
        ncol=1 if count <= 14 else 2,
        frameon=False,
    )


def _timeseries(ax: Axes, panel: Panel, series: list[Series], start: float) -> None:
    refs = [t.ref for t in panel.targets]
    # One colour per label set, one line style per target (p50 solid, p95 dashed, p99 dotted).
    keys = sorted({_legend(panel, refs[0], labels) for _, labels, _ in series} if refs else set())
    colours = {
        key: plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")(i) for i, key in enumerate(keys)
    }
    if panel.stacked:
        times = sorted({t for _, _, points in series for t, _ in points})
        stacks = []
        for ref, labels, points in series:
            values = dict(points)
            stacks.append(
                (
                    _legend(panel, ref, labels),
                    [v if math.isfinite(v := values.get(t, 0.0)) else 0.0 for t in times],
                )
            )
        # A failure type that never happened is a flat zero band: leave it out of the legend.
        stacks = sorted((item for item in stacks if any(item[1])), key=lambda item: item[0])
        ax.stackplot(
            [t - start for t in times],
            [values for _, values in stacks],
            labels=[label for label, _ in stacks],
            alpha=0.6,
            colors=[plt.get_cmap("tab20")(i % 20) for i in range(len(stacks))],
        )
    else:
        for ref, labels, points in sorted(series, key=lambda s: (s[0], _legend(panel, s[0], s[1]))):
            colour_key = _legend(panel, refs[0], labels)
            ax.plot(
                [t - start for t, _ in points],
                [v for _, v in points],
                _LINESTYLES[refs.index(ref) % len(_LINESTYLES)],
                color=colours.get(colour_key),
                lw=1.1,
                label=_legend(panel, ref, labels),
            )
    ax.set_ylim(bottom=0)
    if panel.unit == "percentunit" and "success" in panel.title.lower():
        ax.set_ylim(0, 1.05)
    ax.set_xlabel("seconds into the run", fontsize=8)
    ax.grid(True, alpha=0.3)
    _format_axis(ax, panel.unit)
    _outside_legend(ax, len(ax.get_legend_handles_labels()[1]))


def _heatmap(fig: Any, ax: Axes, panel: Panel, series: list[Series], start: float) -> None:
    # Grafana's heatmap format de-accumulates the cumulative le buckets; so does this.
    rows = sorted(series, key=lambda s: float(s[1]["le"]))
    times = sorted({t for _, _, points in rows for t, _ in points})
    cumulative = []
    for _, _, points in rows:
        values = dict(points)
        cumulative.append([v if math.isfinite(v := values.get(t, 0.0)) else 0.0 for t in times])
    counts = [
        [max(0.0, hi - lo) for hi, lo in zip(row, below, strict=True)]
        for row, below in zip(cumulative, [[0.0] * len(times), *cumulative[:-1]], strict=True)
    ]
    used = [i for i, row in enumerate(counts) if any(row)]
    lo, hi = (used[0], used[-1] + 1) if used else (0, len(counts))
    bounds = [rows[i][1]["le"] for i in range(lo, hi)]
    mesh = ax.pcolormesh(
        [t - start for t in times],
        range(hi - lo),
        counts[lo:hi],
        cmap="Oranges",
        shading="nearest",
    )
    ax.set_yticks(range(hi - lo))
    ax.set_yticklabels(
        ["+Inf" if b == "+Inf" else "≤ " + _seconds(float(b)) for b in bounds], fontsize=6
    )
    ax.set_ylabel("task duration bucket", fontsize=8)
    ax.set_xlabel("seconds into the run", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    bar = fig.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label(f"task runs per bucket per {RATE_INTERVAL}", fontsize=7)
    bar.ax.tick_params(labelsize=6)


def _stat(ax: Axes, panel: Panel, series: list[Series]) -> None:
    # Grafana shows the last value of each series, coloured by the panel's thresholds.
    rows = sorted(
        (
            _legend(panel, ref, labels),
            next((v for _, v in reversed(points) if math.isfinite(v)), 0.0),
        )
        for ref, labels, points in series
    )

    def colour(value: float) -> str:
        chosen = "green"
        for start, name in panel.thresholds:
            if start is None or value >= start:
                chosen = name
        return chosen

    names = [name for name, _ in rows]
    values = [value for _, value in rows]
    ax.barh(names, values, color=[colour(v) for v in values], alpha=0.8)
    for i, value in enumerate(values):
        ax.text(value + 0.01, i, f"{value:.1%}", va="center", fontsize=8)
    for start, name in panel.thresholds:
        if start is not None:
            ax.axvline(start, color=name, ls="--", lw=0.9, label=f"{name} from {start:.0%}")
    ax.set_xlim(0, max([*values, 0.15]) * 1.25)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("degraded share of recent runs, at the end of the run", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.invert_yaxis()
    _outside_legend(ax, len(panel.thresholds))


def render(panel: Panel, series: list[Series], path: Path, *, start: float) -> None:
    """Draw one panel's series into a PNG at ``path``, titled like the Grafana panel."""
    fig, ax = plt.subplots(figsize=SIZE)
    if panel.kind == "heatmap":
        _heatmap(fig, ax, panel, series, start)
    elif panel.kind == "stat":
        _stat(ax, panel, series)
    else:
        _timeseries(ax, panel, series, start)
    ax.set_title(panel.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the traffic under Prometheus and write one PNG per dashboard panel."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.panels", description=__doc__)
    parser.add_argument("--seconds", type=float, default=50, help="traffic to record")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--prometheus", default=shutil.which("prometheus"))
    args = parser.parse_args(argv)
    if args.prometheus is None:
        print("prometheus is not on PATH: run bash .ci/install-prometheus.sh", file=sys.stderr)
        return 1
    began = time.perf_counter()
    panels = dashboard_panels()
    with (
        tempfile.TemporaryDirectory(prefix="panels-") as tmp,
        run_traffic(args.seconds, scenario="demo") as target,
        run_prometheus(
            args.prometheus, targets=[target], rule_files=[ALERTS_PATH], workdir=Path(tmp)
        ) as server,
    ):
        server.wait_ready()
        start = time.time()
        end = start + args.seconds - 1  # the exporter has started before Prometheus
        while time.time() < end:
            server.child.check()
            time.sleep(0.5)
        fetched = {panel.slug: fetch(server, panel, start=start, end=end) for panel in panels}
    empty = [panel.title for panel in panels if not fetched[panel.slug]]
    if empty:
        print(f"no data for: {empty}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for panel in panels:
        render(panel, fetched[panel.slug], args.out / f"{panel.slug}.png", start=start)
    print(
        f"wrote {len(panels)} panels into {args.out} in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
