"""Print what tracing costs per tier run of six no-op tasks: no handler, a no-op handler, OTel on.

Run it from the repository root as ``python benchmarks/tracing_cost.py``. Each case runs the same
tier as inside a graph node (LangChain's current config set), medians over batches:

- ``off``: no callback handler and no OTel provider (what every untraced run pays);
- ``no-op handler``: one ``BaseCallbackHandler`` that does nothing, so each task is a child run;
- ``otel``: an SDK ``TracerProvider`` with no exporter, so each tier and task is a real span.

The ``start_tier`` line is the whole per-tier cost of the tracing hook when nothing listens.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

RUNS = 200
BATCHES = 7
TASKS = 6


def main() -> int:
    """Measure and print; exit 1 if the untraced hook costs more than 20 µs per tier."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import asyncio
    import statistics

    from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackHandler
    from langchain_core.runnables.config import var_child_runnable_config
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from parallel_nodes import Task, Tier, run_tier
    from parallel_nodes._tracing import start_tier

    async def noop(state: Any) -> int:
        return 1

    tier = Tier("t", [Task(f"task{i}", noop, timeout=1.0) for i in range(TASKS)], timeout=1.0)

    class Noop(BaseCallbackHandler):
        run_inline = True

    async def per_run(config: Any) -> float:
        token = var_child_runnable_config.set(config)
        try:
            for _ in range(20):
                await run_tier(tier, {}, observers=())
            samples = []
            for _ in range(BATCHES):
                started = time.perf_counter()
                for _ in range(RUNS):
                    await run_tier(tier, {}, observers=())
                samples.append((time.perf_counter() - started) / RUNS * 1e6)
            return statistics.median(samples)
        finally:
            var_child_runnable_config.reset(token)

    real_provider = trace.get_tracer_provider
    off = asyncio.run(per_run({"callbacks": AsyncCallbackManager([])}))
    handler = asyncio.run(per_run({"callbacks": AsyncCallbackManager([Noop()])}))
    provider = TracerProvider()
    trace.get_tracer_provider = lambda: provider
    try:
        otel = asyncio.run(per_run({"callbacks": AsyncCallbackManager([])}))
    finally:
        trace.get_tracer_provider = real_provider
        provider.shutdown()
    config: Any = {"callbacks": AsyncCallbackManager([])}
    started = time.perf_counter()
    for _ in range(100_000):
        start_tier("t", {"mode": "m"}, config)
    hook = (time.perf_counter() - started) / 100_000 * 1e6

    print(f"tier of {TASKS} no-op tasks, median µs per run over {BATCHES} batches of {RUNS}")
    print(f"off (no handler, no OTel):  {off:8.1f} µs")
    print(
        f"no-op handler:              {handler:8.1f} µs  "
        f"(+{handler - off:.1f}; +{(handler - off) / TASKS:.1f} per task)"
    )
    print(
        f"OTel SDK, no exporter:      {otel:8.1f} µs  "
        f"(+{otel - off:.1f}; +{(otel - off) / TASKS:.1f} per task)"
    )
    print(f"start_tier, nothing listens: {hook:7.2f} µs per tier (no per-task cost)")
    return 0 if hook <= 20.0 else 1  # a few µs idle; the bound leaves room for a loaded machine


if __name__ == "__main__":
    sys.exit(main())
