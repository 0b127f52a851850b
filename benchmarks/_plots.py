"""PNG plots of the results: latency vs concurrency, the seed waterfall, tier overhead, and
the tail with and without hedging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never open a window

import matplotlib.pyplot as plt

__all__ = ["plot_all"]

_COLORS = {"ours": "tab:blue", "native": "tab:orange", "sequential": "tab:gray"}
_STAGE_COLORS = {
    "rag_retrieval": "tab:blue",
    "tool_suggestion": "tab:cyan",
    "memory_retrieval": "tab:purple",
    "generate": "tab:green",
    "quality_scoring": "tab:red",
    "citation_extraction": "tab:orange",
    "cost_tracking": "tab:brown",
}


def _latency_vs_concurrency(throughput: dict[str, Any], path: Path) -> None:
    fig, (lat, rate) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant in ("ours", "native"):
        rows = [r for r in throughput["rows"] if r["variant"] == variant]
        n = [r["concurrency"] for r in rows]
        color = _COLORS[variant]
        lat.plot(n, [r["p50_ms"] for r in rows], "o-", color=color, label=f"{variant} p50")
        lat.plot(n, [r["p99_ms"] for r in rows], "s--", color=color, label=f"{variant} p99")
        rate.plot(n, [r["runs_per_s"] for r in rows], "o-", color=color, label=variant)
    lat.axhline(throughput["floor_ms"], color="black", lw=0.8, ls=":", label="I/O floor")
    for ax in (lat, rate):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent runs")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    lat.set_yscale("log")
    lat.set_ylabel("latency per run (ms)")
    lat.set_title("Latency vs concurrency")
    rate.set_ylabel("runs / s")
    rate.set_title("Throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _waterfall(seed: dict[str, Any], path: Path) -> None:
    runs: dict[str, list[dict[str, Any]]] = seed["waterfall"]["runs"]
    scale = seed["waterfall"]["scale"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 2.3 * len(runs)), sharex=True)
    for ax, (variant, events) in zip(axes, runs.items(), strict=True):
        stages = [e for e in events if e["stage"] in _STAGE_COLORS]
        marks = {e["stage"]: e["start_ms"] for e in events if e["stage"] not in _STAGE_COLORS}
        for row, event in enumerate(stages):
            ax.barh(
                row,
                event["end_ms"] - event["start_ms"],
                left=event["start_ms"],
                color=_STAGE_COLORS[event["stage"]],
                height=0.7,
            )
        ax.set_yticks(range(len(stages)), [e["stage"] for e in stages], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(marks["answer"], color="green", ls="--", lw=1, label="answer streamed")
        ax.axvline(marks["end"], color="black", lw=1, label="run ends")
        ax.set_title(
            f"{variant}: answer {marks['answer']:.0f} ms, end {marks['end']:.0f} ms", fontsize=9
        )
        ax.grid(True, axis="x", alpha=0.3)
    axes[min(1, len(axes) - 1)].legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel(f"ms from the run's start (stage latencies × {scale})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _overhead(overhead: dict[str, Any], path: Path) -> None:
    names = list(overhead["us_per_run"])
    medians = [overhead["us_per_run"][n]["median"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(names, medians, color=["tab:gray", "tab:blue", "tab:blue", "tab:orange"])
    ax.bar_label(bars, [f"{m:.0f} µs" for m in medians], fontsize=8, padding=3)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("µs per run (median over rounds), three no-op tasks")
    ax.set_title("Overhead per tier")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hedging_tail(hedging: dict[str, Any], path: Path) -> None:
    labels = {
        "none": "no hedging",
        "observed_p95": "Hedge(delay=None): observed p95",
        "fixed_p95": f"Hedge(delay={hedging['fixed_delay_ms']:.1f} ms)",
    }
    colors = {"none": "tab:gray", "observed_p95": "tab:blue", "fixed_p95": "tab:green"}
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, v in hedging["variants"].items():
        # The survival function 1 - CDF on a log scale: the tail is what hedging changes.
        points = [(ms, 1 - q / 100) for q, ms in v["tail_ms"] if q < 100]
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "o-",
            ms=3,
            color=colors.get(name),
            label=f"{labels.get(name, name)} (+{v['extra_calls']:.1%} calls)",
        )
    for share, name in ((0.01, "p99"), (0.001, "p99.9")):
        ax.axhline(share, color="black", lw=0.6, ls=":")
        ax.annotate(name, (1, share), xycoords=("axes fraction", "data"), fontsize=7, ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tier wall time (ms)")
    ax.set_ylabel("share of runs slower (1 - CDF)")
    ax.set_title(f"Tail latency with and without hedging ({hedging['runs']:,} runs each)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_all(results: dict[str, Any], out: Path) -> list[Path]:
    """Draw every plot whose benchmark ran; return the files written."""
    written: list[Path] = []
    if "throughput" in results:
        written.append(out / "latency_vs_concurrency.png")
        _latency_vs_concurrency(results["throughput"], written[-1])
    if "seed_scenario" in results:
        written.append(out / "seed_waterfall.png")
        _waterfall(results["seed_scenario"], written[-1])
    if "overhead" in results:
        written.append(out / "tier_overhead.png")
        _overhead(results["overhead"], written[-1])
    if "hedging" in results and "skipped" not in results["hedging"]:
        written.append(out / "hedging_tail.png")
        _hedging_tail(results["hedging"], written[-1])
    return written
