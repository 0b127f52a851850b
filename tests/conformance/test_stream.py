"""Point 8: a sync task abandoned at its timeout writes nothing more to the stream, whether it
writes through an injected ``writer``, ``runtime.stream_writer`` or ``get_stream_writer()``, or
streams a chat model's tokens (``stream_mode="messages"``)."""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.config import get_stream_writer
from langgraph.types import StreamWriter

from parallel_nodes import Task
from tests.conformance._graphs import as_tier, one_node

TIMEOUT = 0.05


async def test_an_abandoned_sync_task_writes_no_ghost_events() -> None:
    wrote_late = threading.Event()

    def chatty(state: Any, writer: StreamWriter, runtime: Any) -> str:
        writer({"note": "before"})
        time.sleep(3 * TIMEOUT)  # past its timeout: abandoned, still running in its thread
        writer({"note": "ghost"})
        runtime.stream_writer({"note": "ghost"})
        get_stream_writer()({"note": "ghost"})
        wrote_late.set()
        return "late"

    def next_node(state: Any) -> dict[str, Any]:
        assert wrote_late.wait(5)  # the straggler wrote while this node ran
        return {"other": "next"}

    graph = one_node(as_tier(Task("answer", chatty, timeout=TIMEOUT, default="d")), then=next_node)
    notes = []
    async for chunk in graph.astream({}, stream_mode="custom"):
        if "note" in chunk:
            notes.append(chunk["note"])
    assert notes == ["before"]


async def test_an_abandoned_sync_task_streams_no_ghost_tokens() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("before words"), AIMessage("ghost")]))
    wrote_late = threading.Event()

    def chatty(state: Any) -> str:
        model.invoke("hi")
        time.sleep(3 * TIMEOUT)  # abandoned here; its model still streams afterwards
        model.invoke("hi")
        wrote_late.set()
        return "late"

    def next_node(state: Any) -> dict[str, Any]:
        assert wrote_late.wait(5)
        return {"other": "next"}

    graph = one_node(as_tier(Task("answer", chatty, timeout=TIMEOUT, default="d")), then=next_node)
    stream: Any = graph.astream({}, stream_mode="messages")
    tokens = [msg.content async for msg, _ in stream]
    assert "".join(tokens) == "before words"
