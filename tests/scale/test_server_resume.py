"""A turn cut short when a worker dies is finished by the next request on that thread.

The app runs in process with its lifespan (real PostgreSQL checkpointer and store). The
"dying worker" is a second compiled chat graph on the same database whose memory retrieval
blocks; its run is cancelled in tier 1, as a killed process leaves it: question saved, no
answer. The next turn through the app must answer that question first, then the new one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore

from parallel_nodes.modes import Mode4ChatAutomaticWorkflow, ServerSettings, create_app
from tests._servers import require_postgres
from tests._threads import saved_messages

pytestmark = [pytest.mark.postgres]


class Blocking(Mode4ChatAutomaticWorkflow):
    """The chat mode, with a memory retrieval that waits until the run is cancelled."""

    reached = asyncio.Event()

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Any) -> Any:
        self.reached.set()
        await asyncio.Event().wait()


async def _cut_short(dsn: str, thread: str, first: str, second: str) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    async with (
        AsyncPostgresSaver.from_conn_string(dsn) as saver,
        AsyncPostgresStore.from_conn_string(dsn) as store,
    ):
        await saver.setup()
        await store.setup()
        ok = Mode4ChatAutomaticWorkflow(config={"metrics": False})
        graph = ok.compile(checkpointer=saver, store=store)
        await graph.ainvoke({"question": first, "messages": [HumanMessage(first)]}, config)
        blocking = Blocking(config={"metrics": False}).compile(checkpointer=saver, store=store)
        run = asyncio.ensure_future(
            blocking.ainvoke({"question": second, "messages": [HumanMessage(second)]}, config)
        )
        await asyncio.wait_for(Blocking.reached.wait(), 10)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert (await graph.aget_state(config)).next == ("parallel_retrieval",)


async def test_next_turn_finishes_the_turn_a_dead_worker_left() -> None:
    dsn = require_postgres()
    thread = f"resume-{uuid.uuid4().hex[:10]}"
    questions = [
        "What does a circuit breaker do?",
        "When does it go half-open?",
        "How are retries budgeted?",
    ]
    await _cut_short(dsn, thread, questions[0], questions[1])

    app = create_app(settings=ServerSettings(postgres_url=dsn))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as client,
    ):
        reply = await client.post(
            f"/v1/chat/threads/{thread}/turns", json={"question": questions[2]}
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["messages"] == 6

    messages = await saved_messages(dsn, thread, delete=True)
    assert [type(m).__name__ for m in messages] == ["HumanMessage", "AIMessage"] * 3
    assert [m.content for m in messages[::2]] == questions
    assert all(m.content for m in messages[1::2])
