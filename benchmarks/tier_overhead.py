"""Print ``run_tier`` against a raw ``asyncio.gather`` in µs per run, and the ratio.

Run it from the repository root as ``python benchmarks/tier_overhead.py`` (the core issue's
"done when" check: the ratio should be at most 3x).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    """Measure, print, and exit 1 if the ratio is above the guard."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # run as a script, the package's parent is not on the path
        sys.path.insert(0, root)
    import asyncio

    from benchmarks._stats import ratio, summarise
    from benchmarks.overhead import GATHER_GUARD, GATHER_TARGET, measure

    samples = asyncio.run(measure(30, batch={"our_graph": 5, "native_graph": 5}))
    gather = summarise(samples["gather"])["median"]
    tier = summarise(samples["run_tier"])["median"]
    value = ratio(tier, gather)
    print(f"asyncio.gather + asyncio.timeout: {gather:8.1f} µs per run")
    print(f"run_tier:                         {tier:8.1f} µs per run")
    print(f"ratio:                            {value:8.2f}x (target <= {GATHER_TARGET}x)")
    return 0 if value <= GATHER_GUARD else 1


if __name__ == "__main__":
    sys.exit(main())
