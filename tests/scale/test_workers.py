"""Four uvicorn workers behind one port: shared PostgreSQL threads, Redis breakers, summed metrics.

Run with ``pytest -s tests/scale`` to see the measured throughput.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from prometheus_client.parser import text_string_to_metric_families

from tests._servers import free_port, require_postgres, require_redis

from ._app import RETRIEVER_URL_VAR
from ._retrieval import RetrievalBackend

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
POOL_MAX_SIZE = 4
CONVERSATIONS = 200
TURNS = 3
CONCURRENCY = 32
MAX_BREAKER_REQUESTS = 200
TOPICS = ("circuit breaker", "tier deadline", "hedged request", "retry policy", "metrics")


@dataclass
class Server:
    base_url: str
    run: str
    backend: RetrievalBackend
    process: subprocess.Popen[bytes]
    log: Path
    prefix: str
    dsn: str


@pytest.fixture
def backend() -> Iterator[RetrievalBackend]:
    served = RetrievalBackend()
    try:
        yield served
    finally:
        served.close()


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"uvicorn did not answer /healthz in 45 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path: Path, backend: RetrievalBackend) -> Iterator[Server]:
    dsn = require_postgres()
    redis_url = require_redis()
    run = uuid.uuid4().hex[:10]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    prefix = f"scale-test:{run}:breaker:"
    env = {
        **os.environ,
        "PARALLEL_NODES_POSTGRES_URL": dsn,
        "PARALLEL_NODES_REDIS_URL": redis_url,
        "PARALLEL_NODES_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "PARALLEL_NODES_BREAKER_PREFIX": prefix,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        RETRIEVER_URL_VAR: backend.url,
    }
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.scale._app:make_app",
                "--workers",
                str(WORKERS),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield Server(base_url, run, backend, process, log, prefix, dsn)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        _forget_breakers(redis_url, prefix)


def _forget_breakers(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _question(conversation: int, turn: int) -> str:
    topic = TOPICS[(conversation + turn) % len(TOPICS)]
    return f"What does a {topic} do? (conversation {conversation}, turn {turn})"


def _thread(server: Server, conversation: int) -> str:
    return f"scale-{server.run}-{conversation}"


def _down_thread(server: Server, n: int) -> str:
    return f"scale-{server.run}-down-{n}"


def _rag_status(body: dict[str, Any]) -> str:
    status: str = body["parallel"]["retrieval"]["tasks"]["rag_retrieval"]["status"]
    return status


async def _load(server: Server, client: httpx.AsyncClient) -> tuple[list[str], Counter[int]]:
    failures: list[str] = []
    pids: Counter[int] = Counter()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def conversation(i: int) -> None:
        async with gate:
            for turn in range(1, TURNS + 1):
                url = f"/v1/chat/threads/{_thread(server, i)}/turns"
                payload = {"question": _question(i, turn), "user_id": f"user-{server.run}-{i}"}
                try:
                    response = await client.post(url, json=payload)
                except httpx.HTTPError as exc:
                    failures.append(f"{i}.{turn}: {type(exc).__name__}")
                    return
                if response.status_code != 200:
                    failures.append(f"{i}.{turn}: {response.status_code} {response.text[:200]}")
                    return
                body = response.json()
                pids[body["pid"]] += 1
                if body["messages"] != 2 * turn or _rag_status(body) != "ok":
                    failures.append(f"{i}.{turn}: {body['messages']} messages, {body['parallel']}")

    async with asyncio.TaskGroup() as group:
        for i in range(CONVERSATIONS):
            group.create_task(conversation(i))
    return failures, pids


async def _check_threads(server: Server) -> None:
    async with AsyncPostgresSaver.from_conn_string(server.dsn) as saver:
        for i in range(CONVERSATIONS):
            config: Any = {"configurable": {"thread_id": _thread(server, i)}}
            saved = await saver.aget_tuple(config)
            assert saved is not None, f"thread {i} was not saved"
            messages = saved.checkpoint["channel_values"]["messages"]
            kinds = [type(m) for m in messages]
            assert kinds == [HumanMessage, AIMessage] * TURNS, f"thread {i}: {kinds}"
            asked = [m.content for m in messages[::2]]
            assert asked == [_question(i, t) for t in range(1, TURNS + 1)], f"thread {i}"
            assert all(m.content for m in messages[1::2]), f"thread {i}: an empty answer"


async def _forget(server: Server, breaker_turns: int) -> None:
    """Delete this run's threads and memories, so the shared database does not grow."""
    threads = [_thread(server, i) for i in range(CONVERSATIONS)]
    threads += [_down_thread(server, n) for n in range(breaker_turns)]
    mine = f"user-{server.run}-"
    async with (
        AsyncPostgresSaver.from_conn_string(server.dsn) as saver,
        AsyncPostgresStore.from_conn_string(server.dsn) as store,
    ):
        for thread in threads:
            await saver.adelete_thread(thread)
        namespaces = await store.alist_namespaces(prefix=("memories",), limit=10 * CONVERSATIONS)
        for namespace in namespaces:
            while namespace[-1].startswith(mine) and (
                items := await store.asearch(namespace, limit=100)
            ):
                for item in items:
                    await store.adelete(namespace, item.key)


def _metric_sum(text: str, sample: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def _open_breakers(server: Server, client: httpx.AsyncClient, pids: set[int]) -> int:
    """Send turns while the backend is down until every worker has answered with the breaker
    open; returns the number of requests sent."""
    opened: set[int] = set()
    sent = 0
    while opened != pids and sent < MAX_BREAKER_REQUESTS:
        batch = [
            client.post(
                f"/v1/chat/threads/{_down_thread(server, sent + n)}/turns",
                json={
                    "question": "What does a circuit breaker do?",
                    "user_id": f"user-{server.run}-0",
                },
            )
            for n in range(16)
        ]
        sent += len(batch)
        for response in await asyncio.gather(*batch):
            assert response.status_code == 200, response.text[:300]
            body = response.json()
            assert body["answer"], "a degraded turn still answers"
            assert "rag_retrieval" in body["degraded"] or _rag_status(body) == "ok"
            if _rag_status(body) == "circuit_open":
                opened.add(body["pid"])
    assert opened == pids, f"breaker open in {sorted(opened)} of {sorted(pids)} after {sent}"
    return sent


async def test_four_workers_share_threads_breakers_and_metrics(server: Server) -> None:
    started = time.perf_counter()
    # Why no keep-alive: the kernel hands a burst of new connections to whichever worker
    # accepts first, so pooled connections would pin the load on one or two workers.
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        load_started = time.perf_counter()
        failures, pids = await _load(server, client)
        load_seconds = time.perf_counter() - load_started
        assert failures == [], f"{len(failures)} failed turns, e.g. {failures[:5]}"
        assert sum(pids.values()) == CONVERSATIONS * TURNS
        assert len(pids) == WORKERS, f"responses came from {dict(pids)}"

        await _check_threads(server)

        metrics = (await client.get("/metrics")).text
        for tier in ("retrieval", "post_generation"):
            runs = _metric_sum(
                metrics, "parallel_execution_duration_seconds_count", tier=tier, mode="chat"
            )
            assert runs == CONVERSATIONS * TURNS, f"{tier}: {runs} tier runs counted"
        tasks = _metric_sum(
            metrics, "parallel_task_duration_seconds_count", task_name="rag_retrieval"
        )
        assert tasks == CONVERSATIONS * TURNS

        server.backend.close()
        sent = await _open_breakers(server, client, set(pids))
    await _forget(server, sent)

    turns = CONVERSATIONS * TURNS
    print(
        f"\n[scale] {WORKERS} workers, pool max_size={POOL_MAX_SIZE} per worker, "
        f"concurrency={CONCURRENCY}: {turns} turns in {load_seconds:.2f} s = "
        f"{turns / load_seconds:.1f} turns/s; by pid {sorted(pids.values())}; "
        f"breaker open in all workers after {sent} requests; "
        f"test body {time.perf_counter() - started:.1f} s"
    )
