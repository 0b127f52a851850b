"""The Markdown report: one table per benchmark, from the runner's results."""

from __future__ import annotations

from typing import Any

__all__ = ["machine", "markdown"]


def machine() -> dict[str, Any]:
    """The CPU count and model, and the Python and LangGraph versions (no host names or paths)."""
    import importlib.metadata
    import os
    import platform

    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "langgraph": importlib.metadata.version("langgraph"),
        "os": platform.system(),
    }


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _overhead(r: dict[str, Any]) -> list[str]:
    us = r["us_per_run"]
    lines = [
        f"### 1. Overhead per tier (three no-op tasks; median of {r['rounds']} interleaved rounds)",
        "",
        _row("variant", "µs per run (median)", "p10", "p90"),
        _row("---", "---:", "---:", "---:"),
    ]
    lines += [
        _row(name, f"{s['median']:.1f}", f"{s['p10']:.1f}", f"{s['p90']:.1f}")
        for name, s in us.items()
    ]
    lines += ["", _row("ratio", "measured", "target", "guard", "meets target"), _row(*["---"] * 5)]
    lines += [
        _row(name, f"{x['value']:.2f}x", f"≤ {x['target']}x", f"≤ {x['guard']}x", x["meets_target"])
        for name, x in r["ratios"].items()
    ]
    return lines


def _seed(r: dict[str, Any]) -> list[str]:
    lines = ["### 2. The seed scenario", ""]
    for s in r["scales"]:
        lim, ms, over, speed = (
            s["limits"],
            s["ms"],
            s["overhead_over_limit_ms"],
            s["speedup_vs_sequential"],
        )
        lines += [
            f"Scale {s['scale']} (stage latencies × {s['scale']}; "
            f"{r['rounds'][str(s['scale'])]} interleaved rounds; medians):",
            "",
            _row(
                "variant",
                "time to answer (ms)",
                "end to end (ms)",
                "above its ideal (ms, e2e)",
                "speedup vs sequential (e2e)",
                "speedup (answer)",
            ),
            _row("---", "---:", "---:", "---:", "---:", "---:"),
        ]
        for name in ("sequential", "ours", "native"):
            e2e = speed.get(f"{name}_end_to_end", 1.0)
            ans = speed.get(f"{name}_answer", 1.0)
            lines.append(
                _row(
                    name,
                    f"{ms[name]['answer_ms']['median']:.1f}",
                    f"{ms[name]['end_to_end_ms']['median']:.1f}",
                    f"{over[name]['end_to_end']:.1f}",
                    f"{e2e:.2f}x",
                    f"{ans:.2f}x",
                )
            )
        lines += [
            _row(
                "physical limit",
                f"{lim['answer_ms']:.0f}",
                f"{lim['end_to_end_ms']:.0f}",
                "0",
                f"{speed['physical_limit_end_to_end']:.2f}x",
                f"{speed['physical_limit_answer']:.2f}x",
            ),
            _row(
                "seed's claim",
                "—",
                f"{1960 * s['scale']:.0f}",
                "—",
                f"{speed['seed_claim']:.2f}x",
                "—",
            ),
            "",
        ]
    return lines


def _throughput(r: dict[str, Any]) -> list[str]:
    lines = [
        f"### 3. Throughput under concurrency ({r['io_ms_per_stage']:.0f} ms simulated I/O per "
        f"stage; floor {r['floor_ms']:.0f} ms per run; each row a fresh process)",
        "",
        _row(
            "variant",
            "N",
            "runs/s",
            "p50 (ms)",
            "p99 (ms)",
            "peak RSS (MB)",
            "KB per in-flight run",
        ),
        _row("---", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    lines += [
        _row(
            x["variant"],
            x["concurrency"],
            f"{x['runs_per_s']:.0f}",
            f"{x['p50_ms']:.0f}",
            f"{x['p99_ms']:.0f}",
            f"{x['peak_rss_mb']:.0f}",
            f"{x['kb_per_inflight_run']:.1f}",
        )
        for x in r["rows"]
    ]
    lines += [
        "",
        _row("N", "runs/s ours/native", "p99 ours/native", "memory ours/native"),
        _row(*["---"] * 4),
    ]
    lines += [
        _row(
            n,
            f"{c['runs_per_s_ours_vs_native']:.2f}x",
            f"{c['p99_ours_vs_native']:.2f}x",
            f"{c['memory_ours_vs_native']:.2f}x",
        )
        for n, c in r["ours_vs_native"].items()
    ]
    return lines


def _instrumentation(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return ["### 5. Cost of instrumentation", "", f"Skipped: {r['skipped']}."]
    lines = [
        f"### 5. Cost of instrumentation (`run_tier`, three no-op tasks; {r['rounds']} rounds)",
        "",
        _row("observers", "µs per run (median)", "added µs", "ratio to none"),
        _row("---", "---:", "---:", "---:"),
    ]
    lines += [
        _row(
            name,
            f"{s['median']:.1f}",
            f"{r['added_us_per_run'][name]:.1f}",
            f"{r['ratio_vs_none'][name]:.2f}x",
        )
        for name, s in r["us_per_run"].items()
    ]
    return lines


def _hedging(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return ["### 4. Tail latency with hedging", "", f"Skipped: {r['skipped']}."]
    b, g = r["backend"], r["guard"]
    lines = [
        f"### 4. Tail latency with hedging ({r['runs']:,} tier runs per variant in waves of "
        f"{r['wave']}; backend lognormal median {b['median_ms']:.0f} ms, sigma {b['sigma']}, "
        f"{b['straggler_share']:.0%} stragglers {b['straggler_factor'][0]:.0f}-"
        f"{b['straggler_factor'][1]:.0f}x slower)",
        "",
        _row("hedge", "p50 (ms)", "p99 (ms)", "p99.9 (ms)", "max (ms)", "hedges", "extra calls"),
        _row("---", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    labels = {
        "none": "none",
        "observed_p95": "`Hedge(delay=None)` (observed p95)",
        "fixed_p95": f"`Hedge(delay={r['fixed_delay_ms'] / 1000:.4f})` (p95 without hedging)",
    }
    lines += [
        _row(
            labels.get(name, name),
            f"{v['p50_ms']:.1f}",
            f"{v['p99_ms']:.1f}",
            f"{v['p999_ms']:.1f}",
            f"{v['max_ms']:.1f}",
            v["hedges"],
            f"{v['extra_calls']:.1%}",
        )
        for name, v in r["variants"].items()
    ]
    p50_ratios = r.get("p50_ratios", {})  # absent from results written before it was measured
    lines += [
        "",
        _row("hedge", "p99 reduction", "p99.9 reduction", "p50 / unhedged p50"),
        _row(*["---"] * 4),
    ]
    lines += [
        _row(
            labels.get(name, name),
            f"{x['p99']:.2f}x",
            f"{x['p999']:.2f}x",
            f"{p50_ratios[name]:.2f}x" if name in p50_ratios else "—",
        )
        for name, x in r["reductions"].items()
    ]
    guarded = (
        f"Guarded (observed p95): p99 cut {g['p99_reduction']:.2f}x (target ≥ "
        f"{g['p99_reduction_target']}x, guard ≥ {g['p99_reduction_guard']}x), extra calls "
        f"{g['extra_calls']:.1%} (target ≤ {g['extra_calls_target']:.0%}, guard ≤ "
        f"{g['extra_calls_guard']:.0%})"
    )
    if "p50_ratio" in g:
        guarded += (
            f", p50 {g['p50_ratio']:.2f}x the unhedged p50 (target ≤ {g['p50_ratio_target']}x, "
            f"guard ≤ {g['p50_ratio_guard']}x)"
        )
    guarded += f"; meets target: {g['meets_target']}."
    if "issue_14" in r:
        t = r["issue_14"]["targets"]
        guarded += (
            f" Issue 14 (p99 cut ≥ {t['p99_reduction']}x, extra calls ≤ {t['extra_calls']:.0%}, "
            f"p50 ≤ {t['p50_ratio']}x): {'met' if r['issue_14']['met'] else 'not met'}."
        )
    lines += ["", guarded]
    return lines


def _durable(r: dict[str, Any]) -> list[str]:
    lines = [
        f"### 6. Cost of `durable_tier1` (three tasks of {r['task_wait_ms']:.0f} ms, a new "
        f"thread per run; {r['rounds']} rounds of {r['runs_per_round']} runs)",
        "",
        _row("checkpointer and store", "plain (ms/run)", "durable (ms/run)", "added ms", "ratio"),
        _row("---", "---:", "---:", "---:", "---:"),
    ]
    for where in ("memory", "postgres"):
        v = r[where]
        if "skipped" in v:
            lines.append(_row(where, "skipped", v["skipped"], "", ""))
            continue
        lines.append(
            _row(
                where,
                f"{v['ms_per_run']['plain']['median']:.2f}",
                f"{v['ms_per_run']['durable']['median']:.2f}",
                f"{v['added_ms']:.2f}",
                f"{v['ratio']:.2f}x",
            )
        )
    return lines


def _capacity(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return ["### 7. Cost of one chat turn", "", f"Skipped: {r['skipped']}."]
    return [
        f"### 7. Cost of one chat turn (`chat` mode on PostgreSQL, one process, {r['turns']} "
        f"turns, {r['in_flight']} in flight, pool of {r['pool_size']})",
        "",
        _row("turns/s", "CPU ms/turn", "CPU share", "connection-ms/turn", "pool requests/turn"),
        _row(*["---:"] * 5),
        _row(
            f"{r['turns_per_second']:.1f}",
            f"{r['cpu_ms_per_turn']:.1f}",
            f"{r['cpu_share']:.0%}",
            f"{r['connection_ms_per_turn']:.1f}",
            f"{r['pool_requests_per_turn']:.1f}",
        ),
    ]


def _corpus_index(r: dict[str, Any]) -> list[str]:
    second, local, rank = r["second_ask"], r["in_process"], r["ranking"]
    s = second["seconds"]
    return [
        f"### 8. The corpus index (`ask --corpus` on {second['files']} files, "
        f"{second['megabytes']:.1f} MB, {local['chunks']} chunks; medians of "
        f"{second['rounds']} first asks and {second['rounds'] * second['repeats']} of the others)",
        "",
        _row("process", "seconds", "beyond start-up"),
        _row("---", "---:", "---:"),
        _row("start-up baseline (one-file corpus)", f"{s['baseline']['median']:.2f}", ""),
        _row(
            "first ask (builds and caches the index)",
            f"{s['first']['median']:.2f}",
            f"{second['beyond_start_up']['first']:.2f}",
        ),
        _row(
            "second ask (loads the cached index)",
            f"{s['second']['median']:.2f}",
            f"{second['beyond_start_up']['second']:.2f}",
        ),
        "",
        f"Second ask beyond start-up: **{second['ratio']:.3f}x** the first (a negative time "
        f"beyond start-up is noise and counts as 0; target "
        f"<= {second['target']}x). In-process: building {local['build_seconds']:.2f} s, "
        f"loading from the cache {local['cached_load_seconds']:.3f} s ({local['ratio']:.3f}x).",
        "",
        f"Ranking {rank['chunks']} chunks: **{rank['ms_per_query']['median']:.3f} ms** per query "
        f"(p90 {rank['ms_per_query']['p90']:.3f} ms, {rank['queries']} queries; target "
        f"<= {rank['target_ms']} ms); bm25s' own `retrieve(k=4)` took "
        f"{rank['bm25s_retrieve_ms_per_query']['median']:.3f} ms, and a Python sort over every "
        f"chunk's score {rank['python_sort_ms_per_query']['median']:.2f} ms "
        f"({rank['speedup_vs_python_sort']:.0f}x slower).",
    ]


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    m = results["machine"]
    lines = [
        "## Results",
        "",
        f"Mode: {'quick' if results['quick'] else 'full'}. Machine: {m['nproc']} CPUs "
        f"({m['cpu_model']}), {m['os']}, Python {m['python']}, langgraph {m['langgraph']}.",
        "",
    ]
    sections = {
        "overhead": _overhead,
        "seed_scenario": _seed,
        "throughput": _throughput,
        "hedging": _hedging,
        "instrumentation": _instrumentation,
        "durable": _durable,
        "capacity": _capacity,
        "corpus_index": _corpus_index,
    }
    for key, render in sections.items():
        if key in results:
            lines += [*render(results[key]), ""]
    failures = results.get("failed_guards", [])
    lines += ["### Guards", ""]
    lines += [f"- FAILED: {f}" for f in failures] or ["- all ratio guards hold"]
    return "\n".join(lines) + "\n"
