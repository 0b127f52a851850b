"""``python -m parallel_nodes``: a tier of three simulated tasks, one of which hangs."""

from __future__ import annotations

import asyncio
from typing import Any

from . import Task, Tier, run_tier


async def _after(seconds: float, value: Any) -> Any:
    await asyncio.sleep(seconds)
    return value


async def _demo() -> None:
    async def rag(state: Any) -> list[str]:
        return await _after(0.5, [f"3 documents about {state['question']!r}"])  # type: ignore[no-any-return]

    async def tools(state: Any) -> list[str]:
        return await _after(0.3, ["calculator"])  # type: ignore[no-any-return]

    async def memory(state: Any) -> list[str]:
        return await _after(60, ["never"])  # type: ignore[no-any-return]

    tier = Tier(
        "retrieval",
        [
            Task("rag_retrieval", rag, timeout=2, default_factory=list),
            Task("tool_suggestion", tools, timeout=2, default_factory=list),
            Task("memory_retrieval", memory, timeout=0.6, default_factory=list),
        ],
        timeout=1.0,
    )
    result = await run_tier(tier, {"question": "tier deadlines"}, observers=())
    for r in result.tasks.values():
        print(f"{r.name:<18} {r.status.value:<8} {r.duration * 1000:7.1f} ms  {r.value}")
    print(
        f"wall {result.wall_time * 1000:.0f} ms, speedup {result.speedup:.2f}x, "
        f"degraded: {', '.join(result.degraded) or 'none'}"
    )


if __name__ == "__main__":
    asyncio.run(_demo())
