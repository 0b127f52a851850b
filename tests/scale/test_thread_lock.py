"""Turns sent at once on one thread, to two workers, all land: one turn at a time per thread.

Two app instances in this process stand for two workers: each has its own pool, graphs and
in-process locks, and they share only PostgreSQL and Redis, as uvicorn's workers do.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from parallel_nodes.modes import MODES, RagWorkflow, ServerSettings, create_app
from parallel_nodes.modes._thread_lock import LeaseLostError, ThreadBusyError, ThreadLocks
from tests._servers import require_postgres, require_redis
from tests._threads import saved_messages

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

QUESTIONS = (
    "What does a circuit breaker do?",
    "When does it go half-open?",
    "How are retries budgeted?",
    "What is a tier deadline?",
)

LEASE = 1.0
"""A short lease for the tests that outlast it. It is extended every third of itself, so the
event loop may stall for up to two thirds of it (0.67 s) before the lease is lost; on a loaded
2-CPU machine running three suites at once, 0.3 s leases were lost to 0.2 s stalls."""


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


# -- the lease: extended while a turn runs, and a lost lease is noticed ---------------------------


async def test_a_turn_longer_than_the_lease_keeps_the_lock() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(require_redis())
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        first = ThreadLocks(client, prefix=prefix, lease=LEASE, wait=0.2)
        second = ThreadLocks(client, prefix=prefix, lease=LEASE, wait=0.2)
        async with first.hold("t"):
            await asyncio.sleep(3 * LEASE)  # three leases long
            assert await client.pttl(prefix + "t") > 0
            with pytest.raises(ThreadBusyError):
                async with second.hold("t"):
                    pass
        async with second.hold("t"):  # released: free again
            pass
    finally:
        await client.aclose()


async def test_a_lease_taken_by_another_worker_cancels_the_turn_at_once() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(require_redis())
    prefix = f"test:{uuid.uuid4().hex}:"
    finished = False
    locks = ThreadLocks(client, prefix=prefix, lease=0.3)

    async def turn() -> None:
        nonlocal finished
        async with locks.hold("t"):
            await client.set(prefix + "t", "another-worker", px=5000)
            await asyncio.sleep(5)
            finished = True

    try:
        started = time.perf_counter()
        with pytest.raises(LeaseLostError) as caught:
            await turn()
        elapsed = time.perf_counter() - started
        assert caught.value.thread_id == "t"
        assert not finished, "the turn ran on after losing its lock"
        assert elapsed < 1.0, f"noticed after {elapsed:.2f} s"
        assert await client.get(prefix + "t") == b"another-worker"  # theirs, left alone
        assert locks._local == {}
    finally:
        await client.aclose()


async def test_a_blocked_worker_loses_its_lease_to_another_and_is_told() -> None:
    import redis.asyncio as redis

    url = require_redis()
    client = redis.Redis.from_url(url)
    prefix = f"test:{uuid.uuid4().hex}:"
    entered = threading.Event()

    async def other_worker() -> None:  # its own process in production: its own loop here
        other = redis.Redis.from_url(url)
        try:
            async with ThreadLocks(other, prefix=prefix, lease=5.0, wait=3.0).hold("t"):
                entered.set()
        finally:
            await other.aclose()

    locks = ThreadLocks(client, prefix=prefix, lease=0.3)
    worker = threading.Thread(target=asyncio.run, args=(other_worker(),))

    async def turn() -> None:
        async with locks.hold("t"):
            worker.start()
            time.sleep(1.0)  # noqa: ASYNC251 - the point: a loop blocked past the lease
            assert entered.wait(5), "the other worker never got the expired lock"
            await asyncio.sleep(1.0)  # the next extension finds the lock gone

    try:
        with pytest.raises(LeaseLostError):
            await turn()
        worker.join(5)
    finally:
        await client.aclose()


async def test_two_workers_with_a_short_lease_and_slow_turns_lose_no_turn() -> None:
    """The issue's case: a turn longer than the lease let a second worker into the thread."""
    dsn, redis_url = require_postgres(), require_redis()
    thread = f"lease-{uuid.uuid4().hex[:10]}"
    settings = ServerSettings(
        postgres_url=dsn,
        redis_url=redis_url,
        turn_lease=LEASE,
        breaker_prefix=f"test:{uuid.uuid4().hex}:",
    )

    def slow(mode: str, breakers: Mapping[str, Any]) -> RagWorkflow:
        return MODES[mode](
            retriever=_SlowRetriever(),
            breakers=breakers,
            config={"metrics": False, "tier1_timeout": 10, "task_timeouts": {"rag_retrieval": 10}},
        )

    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = create_app(settings=settings, workflow_factory=slow)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=30)
            clients.append(await stack.enter_async_context(client))
        url = f"/v1/chat/threads/{thread}/turns"
        first = asyncio.create_task(clients[0].post(url, json={"question": QUESTIONS[0]}))
        await asyncio.sleep(1.3 * LEASE)  # the first turn is inside its lock, past one lease
        second = await clients[1].post(url, json={"question": QUESTIONS[1]})
        replies = [await first, second]
    assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
    assert [r.json()["messages"] for r in replies] == [2, 4]
    messages = await saved_messages(dsn, thread, delete=True)
    assert [m.content for m in messages[::2]] == list(QUESTIONS[:2])


class _SlowRetriever(BaseRetriever):
    """Retrieval for the first question takes three leases; for the others, no time."""

    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        raise NotImplementedError

    async def _aget_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        if query == QUESTIONS[0]:
            await asyncio.sleep(3 * LEASE)
        return [Document(page_content="A tier runs its tasks at once.", metadata={"n": 1})]
