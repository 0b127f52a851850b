"""Read a conversation back from the PostgreSQL checkpointer, as a new process would."""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig


async def saved_messages(dsn: str, thread: str, *, delete: bool = False) -> list[BaseMessage]:
    """The messages in ``thread``'s latest checkpoint; ``delete`` then removes the thread."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        saved = await saver.aget_tuple(config)
        if delete:
            await saver.adelete_thread(thread)
    assert saved is not None, f"thread {thread!r} has no checkpoint"
    messages: list[BaseMessage] = saved.checkpoint["channel_values"]["messages"]
    return messages
