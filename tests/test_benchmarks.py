"""The benchmarks' ratio guards, run in-process in quick mode (ratios only, never times)."""

from __future__ import annotations

import math

import pytest

from benchmarks import overhead, seed_scenario
from benchmarks._guards import failed_guards
from benchmarks._stats import percentile, ratio, summarise


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert summarise([3.0, 1.0, 2.0])["median"] == 2.0
    assert ratio(1.0, 0.0) == math.inf
    with pytest.raises(ValueError, match="at least one"):
        percentile([], 50)


def test_guards_report_a_missed_ratio() -> None:
    results = {
        "overhead": {
            "ratios": {
                "run_tier_vs_gather": {
                    "value": 5.0,
                    "target": 3.0,
                    "guard": 4.5,
                    "within_guard": False,
                }
            }
        }
    }
    assert failed_guards(results) == [
        "overhead run_tier_vs_gather = 5.00x, guard 4.5x (target 3.0x)"
    ]


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_quick_overhead_and_seed_scenario_hold_their_guards() -> None:
    results = {
        "overhead": overhead.run(quick=True),
        "seed_scenario": seed_scenario.run(quick=True),
    }
    assert failed_guards(results) == []
    ratios = results["overhead"]["ratios"]
    assert ratios["run_tier_vs_gather"]["value"] <= overhead.GATHER_GUARD
    assert ratios["our_graph_vs_native"]["value"] <= overhead.GRAPH_GUARD
    speedup = results["seed_scenario"]["scales"][0]["speedup_vs_sequential"]
    assert speedup["ours_end_to_end"] >= seed_scenario.SPEEDUP_GUARD
