"""Point 9: a durable tier's kept values belong to one thread. Two threads resumed from one
copied checkpoint (same checkpoint id, so the same LangGraph task id) never read each other's
values; on PostgreSQL, as in production."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore

from parallel_nodes import Task, Tier, parallel_node
from tests._servers import require_postgres
from tests.conformance._graphs import one_node

pytestmark = pytest.mark.postgres


async def test_two_threads_resumed_from_one_copied_checkpoint_stay_isolated() -> None:
    dsn = require_postgres()
    calls: Counter[str] = Counter()
    profile_done = asyncio.Event()
    gate = asyncio.Event()

    async def profile(state: Any, config: RunnableConfig) -> str:
        calls[config["configurable"]["user"]] += 1
        profile_done.set()
        return f"profile of {config['configurable']['user']}"

    async def slow(state: Any) -> str:
        await gate.wait()
        return "done"

    tier = Tier(
        "t",
        [Task("answer", profile, timeout=30), Task("other", slow, timeout=30)],
        timeout=30,
        durable=True,
    )
    run = uuid.uuid4().hex
    alice: RunnableConfig = {"configurable": {"thread_id": f"{run}-a", "user": "alice"}}
    bob: RunnableConfig = {"configurable": {"thread_id": f"{run}-b", "user": "bob"}}
    async with (
        AsyncPostgresSaver.from_conn_string(dsn) as saver,
        AsyncPostgresStore.from_conn_string(dsn) as store,
    ):
        await saver.setup()
        await store.setup()
        graph = one_node(parallel_node(tier, observers=()), checkpointer=saver, store=store)

        # Alice's run is cut short once her profile is kept and `other` still waits.
        cut = asyncio.ensure_future(graph.ainvoke({"question": "q"}, alice))
        await asyncio.wait_for(profile_done.wait(), 10)
        await asyncio.sleep(0.1)  # the kept value lands
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut

        # Bob's thread starts from a copy of Alice's checkpoint: same checkpoint id, same task id.
        copied = await saver.aget_tuple(alice)
        assert copied is not None
        await saver.aput(
            {"configurable": {"thread_id": f"{run}-b", "checkpoint_ns": ""}},
            copied.checkpoint,
            copied.metadata,
            {},
        )
        gate.set()
        bob_out = await graph.ainvoke(None, bob)
        alice_out = await graph.ainvoke(None, alice)

    assert bob_out["answer"] == "profile of bob"  # before: Alice's, read from her kept values
    assert alice_out["answer"] == "profile of alice"
    assert alice_out["parallel"]["t"]["tasks"]["answer"]["resumed"]  # hers was kept
    assert calls == {"alice": 1, "bob": 1}
