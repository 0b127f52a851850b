"""Turns sent at once on one thread, to two workers, all land: one turn at a time per thread.

Two app instances in this process stand for two workers: each has its own pool, graphs and
in-process locks, and they share only PostgreSQL and Redis, as uvicorn's workers do.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import httpx
import pytest

from parallel_nodes.modes import ServerSettings, create_app
from parallel_nodes.modes._thread_lock import ThreadBusyError, ThreadLocks
from tests._servers import require_postgres, require_redis
from tests._threads import saved_messages

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

QUESTIONS = (
    "What does a circuit breaker do?",
    "When does it go half-open?",
    "How are retries budgeted?",
    "What is a tier deadline?",
)


async def test_concurrent_turns_on_one_thread_across_workers_all_land() -> None:
    dsn, redis_url = require_postgres(), require_redis()
    thread = f"lock-{uuid.uuid4().hex[:10]}"
    settings = ServerSettings(postgres_url=dsn, redis_url=redis_url)
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = create_app(settings=settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
            clients.append(await stack.enter_async_context(client))
        replies = await asyncio.gather(
            *(
                clients[i % 2].post(f"/v1/chat/threads/{thread}/turns", json={"question": q})
                for i, q in enumerate(QUESTIONS)
            )
        )
    assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
    assert sorted(r.json()["messages"] for r in replies) == [2, 4, 6, 8]

    messages = await saved_messages(dsn, thread, delete=True)
    assert [type(m).__name__ for m in messages] == ["HumanMessage", "AIMessage"] * 4
    assert sorted(m.content for m in messages[::2]) == sorted(QUESTIONS)


async def test_a_lock_held_too_long_is_a_busy_error() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(require_redis())
    try:
        first = ThreadLocks(client, prefix=f"test:{uuid.uuid4().hex}:", wait=0.2)
        second = ThreadLocks(client, prefix=first._prefix, wait=0.2)
        async with first.hold("t"):
            with pytest.raises(ThreadBusyError):
                async with second.hold("t"):
                    pass
        async with second.hold("t"):  # released: free again
            pass
        assert first._local == {}  # nothing kept per thread
        assert second._local == {}
    finally:
        await client.aclose()
