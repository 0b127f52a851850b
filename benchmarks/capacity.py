"""Benchmark 7: what one chat turn costs a worker, for the capacity model in docs/operations.md.

One process (one event loop, so at most one core) runs chat turns of the ``chat`` mode over a
PostgreSQL checkpointer and store sharing one connection pool, as
``parallel_nodes.modes.create_app`` does: conversations of three turns, many at once. It
reports, per turn: CPU seconds of the process,
connection-seconds held from the pool (psycopg_pool's ``usage_ms``), statements' share of that,
and turns per second of wall time. The offline model and the BM25 index run in the same
process, so the CPU figure is an upper bound for a deployment whose model is remote.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from .durable import POSTGRES_DSN

__all__ = ["run"]

QUESTIONS = (
    "What does a circuit breaker do?",
    "When does it go half-open?",
    "How are retries budgeted?",
)


async def _measure(conversations: int, in_flight: int, pool_size: int) -> dict[str, Any]:
    from parallel_nodes.modes import Mode4ChatAutomaticWorkflow, open_postgres_pool

    workflow = Mode4ChatAutomaticWorkflow(config={"metrics": False})
    async with open_postgres_pool(POSTGRES_DSN, min_size=pool_size, max_size=pool_size) as pg:
        pool = pg.pool
        graph = workflow.compile(checkpointer=pg.checkpointer, store=pg.store)
        run = uuid.uuid4().hex[:8]
        gate = asyncio.Semaphore(in_flight)

        async def conversation(n: int) -> None:
            config: Any = {"configurable": {"thread_id": f"capacity-{run}-{n}"}}
            for q in QUESTIONS:
                async with gate:
                    inputs = workflow.turn_input(q, user_id=f"capacity-{run}-{n}")
                    await graph.ainvoke(inputs, config)

        await conversation(-1)  # warm up: imports, index, prepared paths
        pool.pop_stats()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(conversation(n) for n in range(conversations)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        stats = pool.pop_stats()
        async with pool.connection() as conn:  # leave the shared database as it was
            pattern = f"capacity-{run}-%"
            for table in ("checkpoints", "checkpoint_writes", "checkpoint_blobs"):
                await conn.execute(
                    f"delete from {table} where thread_id like %s",
                    (pattern,),
                )
            await conn.execute("delete from store where prefix like %s", (f"%{pattern}",))
    turns = conversations * len(QUESTIONS)
    return {
        "turns": turns,
        "in_flight": in_flight,
        "pool_size": pool_size,
        "turns_per_second": turns / wall,
        "cpu_ms_per_turn": cpu / turns * 1e3,
        "cpu_share": cpu / wall,
        "connection_ms_per_turn": stats.get("usage_ms", 0) / turns,
        "pool_requests_per_turn": stats.get("requests_num", 0) / turns,
        "pool_wait_ms_per_turn": stats.get("requests_wait_ms", 0) / turns,
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run benchmark 7, or report why it was skipped (no PostgreSQL)."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_DSN, connect_timeout=2):
            pass
    except (ImportError, OSError, psycopg.Error) as exc:
        return {"skipped": f"PostgreSQL not reachable at {POSTGRES_DSN} ({type(exc).__name__})"}
    conversations = 30 if quick else 100
    return asyncio.run(_measure(conversations, in_flight=16, pool_size=4))
