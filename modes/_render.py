"""What the CLI prints: the answer with its sources, scores, cost, and a waterfall per tier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._workflow import degraded_tasks, source_records

__all__ = [
    "BAR_WIDTH",
    "numbered_sources",
    "render_result",
    "render_sources",
    "result_json",
    "waterfall",
]

BAR_WIDTH = 40
_STYLE = {
    "ok": "green",
    "timeout": "red",
    "error": "red",
    "skipped": "dim",
    "cancelled": "yellow",
    "circuit_open": "magenta",
    "invalid_output": "red",
}


def waterfall(tier: str, record: Mapping[str, Any], *, width: int = BAR_WIDTH) -> Table:
    """One bar per task on the tier's time axis; degraded tasks are marked."""
    wall = max(float(record.get("wall_time", 0.0)), 1e-9)
    tasks: Mapping[str, Any] = record.get("tasks", {})
    total = sum(float(t["duration"]) for t in tasks.values())
    title = (
        f"{tier}: wall {wall * 1000:.0f} ms, tasks {total * 1000:.0f} ms in sequence, "
        f"speedup {float(record.get('speedup', 0.0)):.2f}x"
    )
    table = Table(title=title, title_justify="left", show_edge=False, box=None)
    table.add_column("task")
    table.add_column("status")
    table.add_column("ms", justify="right")
    table.add_column("timeline")
    for name, t in tasks.items():
        status = str(t["status"])
        start = round(float(t.get("started", 0.0)) / wall * width)
        length = max(1, round(float(t["duration"]) / wall * width)) if t["duration"] else 0
        start = min(start, width - length) if length else start
        bar = Text(" " * start)
        bar.append("█" * length, style=_STYLE.get(status, "white"))
        marker = " degraded" if status not in ("ok", "skipped") else ""
        table.add_row(
            name,
            Text(status + marker, style=_STYLE.get(status, "white")),
            f"{float(t['duration']) * 1000:.0f}",
            bar,
        )
    return table


def result_json(out: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a final state a user or a script wants, as plain data."""
    tiers = dict(out.get("parallel") or {})
    degraded = degraded_tasks(tiers)
    return {
        "question": out.get("question"),
        "answer": out.get("answer"),
        "sources": source_records(out),
        "tools": out.get("tool_suggestion") or [],
        "tool_results": out.get("tool_results") or [],
        "memories": out.get("memory_retrieval") or [],
        "quality": out.get("quality_scoring") or {},
        "citations": out.get("citation_extraction") or {},
        "cost": out.get("cost_tracking") or {},
        "degraded": degraded,
        "tiers": tiers,
    }


def numbered_sources(out: Mapping[str, Any]) -> list[tuple[int, str]]:
    """``(n, "source — heading")`` for every source the answer may cite as ``[n]``: the
    retrieved chunks, then the approved tools' results."""
    lines = [
        (int(s["n"]), f"{s.get('source', '')} — {s.get('heading', '')}")
        for s in out.get("rag_retrieval") or []
    ]
    lines += [
        (int(r["n"]), f"tool:{r['name']} — {r.get('output')}")
        for r in out.get("tool_results") or []
        if r.get("n") is not None
    ]
    return lines


def render_sources(console: Console, out: Mapping[str, Any]) -> None:
    """The numbered sources under an answer, so each ``[n]`` can be looked up."""
    sources = numbered_sources(out)
    if not sources:
        console.print("sources: none", style="dim")
        return
    console.print("sources:", style="dim")
    for n, where in sources:
        console.print(f"  [{n}] {where}", markup=False, highlight=False)


def render_result(console: Console, out: Mapping[str, Any]) -> None:
    """Print the answer, sources, quality, cost and the waterfalls."""
    data = result_json(out)
    console.print(Panel(str(data["answer"] or "(no answer)"), title="answer", title_align="left"))
    if data["sources"]:
        sources = Table(show_edge=False, box=None)
        sources.add_column("#")
        sources.add_column("source")
        sources.add_column("heading")
        for s in data["sources"]:
            sources.add_row(f"[{s['n']}]", str(s["source"]), str(s["heading"]))
        console.print(sources)
    quality, cost = data["quality"], data["cost"]
    if quality:
        console.print(
            f"quality: groundedness {quality.get('groundedness', 0):.2f} "
            f"({quality.get('groundedness_reason', '')}); relevance "
            f"{quality.get('relevance', 0):.2f} ({quality.get('relevance_reason', '')})"
        )
    if cost:
        console.print(
            f"cost: ${cost.get('usd', 0.0):.6f} for {cost.get('input_tokens', 0)} input + "
            f"{cost.get('output_tokens', 0)} output tokens ({cost.get('model', '')})"
        )
    if data["degraded"]:
        console.print(Text(f"degraded: {', '.join(data['degraded'])}", style="yellow"))
    console.print(Group(*(waterfall(name, rec) for name, rec in data["tiers"].items())))
