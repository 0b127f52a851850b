"""The runner: ``python -m benchmarks [--quick] [--out DIR] [--check] [--only NAME ...]``.

Writes ``results.json``, ``results.md`` and the PNG plots into ``--out`` (default
``benchmarks/results``). ``--check`` exits 1 when a ratio guard is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    capacity,
    corpus_index,
    durable,
    hedging,
    instrumentation,
    overhead,
    seed_scenario,
    throughput,
)
from ._guards import failed_guards
from ._plots import plot_all
from ._report import machine, markdown

BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {
    "overhead": overhead.run,
    "seed_scenario": seed_scenario.run,
    "throughput": throughput.run,
    "hedging": hedging.run,
    "instrumentation": instrumentation.run,
    "durable": durable.run,
    "capacity": capacity.run,
    "corpus_index": corpus_index.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, write the results, and apply the guards when asked."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio guard fails")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"quick": args.quick, "machine": machine()}
    started = time.perf_counter()
    for name, bench in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        results[name] = bench(quick=args.quick)
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    results["failed_guards"] = failed_guards(results)
    results["total_seconds"] = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report = markdown(results)
    (args.out / "results.md").write_text(report, encoding="utf-8")
    plots = [] if args.no_plots else plot_all(results, args.out)
    print(report)
    print(f"wrote {args.out / 'results.json'}, results.md and {len(plots)} plots", file=sys.stderr)
    if args.check and results["failed_guards"]:
        for failure in results["failed_guards"]:
            print(f"guard failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
