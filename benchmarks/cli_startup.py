"""``parallel-nodes --help`` against ``python -c "import json"``, each a fresh process.

Run it from the repository root as ``python -m benchmarks.cli_startup``. The budget (issue 17)
is ``4 × json + 0.3 s``: the command may cost a few interpreter start-ups plus typer and rich,
but not LangGraph. Both are timed interleaved in one run, so a busy machine slows both.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["BUDGET_FACTOR", "BUDGET_SECONDS", "measure", "run"]

BUDGET_FACTOR = 4.0
BUDGET_SECONDS = 0.3


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(repeats: int = 15) -> dict[str, Any]:
    """Median wall time of each command over ``repeats`` interleaved runs, and the budget."""
    command = str(Path(sys.executable).with_name("parallel-nodes"))
    baseline = [sys.executable, "-c", "import json"]
    for argv in ([command, "--help"], baseline):  # warm the file cache and .pyc files
        _seconds(argv)
    helps, jsons = [], []
    for _ in range(repeats):
        helps.append(_seconds([command, "--help"]))
        jsons.append(_seconds(baseline))
    help_s, json_s = statistics.median(helps), statistics.median(jsons)
    budget = BUDGET_FACTOR * json_s + BUDGET_SECONDS
    return {
        "repeats": repeats,
        "help_seconds": help_s,
        "json_seconds": json_s,
        "ratio": help_s / json_s,
        "budget_seconds": budget,
        "within_budget": help_s <= budget,
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """The benchmark runner's entry point."""
    return measure(5 if quick else 15)


def main() -> int:
    """Measure, print, and exit 1 if ``--help`` is over its budget."""
    r = measure()
    print(
        f'python -c "import json":  {r["json_seconds"] * 1000:7.1f} ms (median of {r["repeats"]})'
    )
    print(f"parallel-nodes --help:    {r['help_seconds'] * 1000:7.1f} ms")
    print(f"ratio:                    {r['ratio']:7.2f}x")
    print(
        f"budget:                   {r['budget_seconds'] * 1000:7.1f} ms "
        f"({BUDGET_FACTOR:g} x json + {BUDGET_SECONDS:g} s): "
        f"{'within' if r['within_budget'] else 'OVER'}"
    )
    return 0 if r["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
