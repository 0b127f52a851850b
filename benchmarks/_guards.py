"""The regression guards behind ``--check``: ratio targets missed by a wide margin.

Only ratios measured side by side in one run are guarded, never absolute times, so a slow or
busy machine does not trip them.
"""

from __future__ import annotations

from typing import Any

from .corpus_index import RANKING_GUARD_MS, SECOND_ASK_GUARD
from .durable import RATIO_GUARD as DURABLE_GUARD
from .hedging import EXTRA_CALLS_GUARD, P50_RATIO_GUARD, P99_REDUCTION_GUARD
from .seed_scenario import SPEEDUP_GUARD

__all__ = ["SEED_VS_NATIVE_GUARD", "failed_guards"]

SEED_VS_NATIVE_GUARD = 1.10
"""Ours may be at most this much slower than native branches end to end in the seed scenario."""


def failed_guards(results: dict[str, Any]) -> list[str]:
    """Each guard the results miss, as a sentence; empty when all hold.

    Args:
        results: The runner's results; benchmarks that did not run are not checked.
    """
    failures: list[str] = []
    overhead = results.get("overhead")
    if overhead is not None:
        for name, r in overhead["ratios"].items():
            if not r["within_guard"]:
                failures.append(
                    f"overhead {name} = {r['value']:.2f}x, guard {r['guard']}x "
                    f"(target {r['target']}x)"
                )
    seed = results.get("seed_scenario")
    if seed is not None:
        for scale in seed["scales"]:
            speedup = scale["speedup_vs_sequential"]["ours_end_to_end"]
            if speedup < SPEEDUP_GUARD:
                failures.append(
                    f"seed scenario at scale {scale['scale']}: ours is {speedup:.2f}x faster "
                    f"than sequential, guard {SPEEDUP_GUARD}x "
                    f"(limit {scale['speedup_vs_sequential']['physical_limit_end_to_end']:.2f}x)"
                )
            vs_native = scale["ours_vs_native_end_to_end"]
            if vs_native > SEED_VS_NATIVE_GUARD:
                failures.append(
                    f"seed scenario at scale {scale['scale']}: ours takes {vs_native:.2f}x "
                    f"native branches' time end to end, guard {SEED_VS_NATIVE_GUARD}x"
                )
    hedging = results.get("hedging")
    if hedging is not None and "skipped" not in hedging:
        g = hedging["guard"]
        if g["p99_reduction"] < P99_REDUCTION_GUARD:
            failures.append(
                f"hedging cuts the p99 by {g['p99_reduction']:.2f}x, guard {P99_REDUCTION_GUARD}x "
                f"(target {g['p99_reduction_target']}x)"
            )
        if g["extra_calls"] > EXTRA_CALLS_GUARD:
            failures.append(
                f"hedging adds {g['extra_calls']:.1%} calls, guard {EXTRA_CALLS_GUARD:.0%} "
                f"(target {g['extra_calls_target']:.0%})"
            )
        # Results written before the p50 was guarded have no ratio: nothing to check there.
        if g.get("p50_ratio", 0.0) > P50_RATIO_GUARD:
            failures.append(
                f"hedging makes the p50 {g['p50_ratio']:.2f}x the unhedged p50, guard "
                f"{P50_RATIO_GUARD}x (target {g['p50_ratio_target']}x)"
            )
    durable = results.get("durable")
    if durable is not None:
        for where in ("memory", "postgres"):
            r = durable[where]
            if "skipped" not in r and r["ratio"] > DURABLE_GUARD:
                failures.append(
                    f"durable tier 1 ({where}) takes {r['ratio']:.2f}x a plain tier's time, "
                    f"guard {DURABLE_GUARD}x"
                )
    corpus = results.get("corpus_index")
    if corpus is not None:
        second = corpus["second_ask"]
        if second["ratio"] > SECOND_ASK_GUARD:
            failures.append(
                f"a second ask spends {second['ratio']:.2f}x the first one's time beyond "
                f"start-up, guard {SECOND_ASK_GUARD}x (target {second['target']}x)"
            )
        ms = corpus["ranking"]["ms_per_query"]["median"]
        if ms > RANKING_GUARD_MS:
            failures.append(
                f"ranking {corpus['ranking']['chunks']} chunks takes {ms:.2f} ms per query, "
                f"guard {RANKING_GUARD_MS} ms (target {corpus['ranking']['target_ms']} ms)"
            )
    return failures
