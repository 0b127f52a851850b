"""LangChain callback events for a task's run: its start, and its end by run type.

Split from ``_tracing`` so that module holds only the engine's hook.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.callbacks.manager import (
    AsyncCallbackManagerForChainRun,
    AsyncCallbackManagerForRetrieverRun,
    AsyncCallbackManagerForToolRun,
)
from langchain_core.documents import Document

from ._results import TaskResult

__all__ = ["MANAGERS", "RunManager", "fire_end", "fire_start"]

_log = logging.getLogger("parallel_nodes")

RunManager = (
    AsyncCallbackManagerForChainRun
    | AsyncCallbackManagerForRetrieverRun
    | AsyncCallbackManagerForToolRun
)
MANAGERS: Final[dict[str, type[RunManager]]] = {
    "chain": AsyncCallbackManagerForChainRun,
    "retriever": AsyncCallbackManagerForRetrieverRun,
    "tool": AsyncCallbackManagerForToolRun,
}


async def fire_start(
    parent: AsyncCallbackManager,
    run_type: str,
    run_id: UUID,
    name: str,
    state: Any,
    metadata: dict[str, Any],
) -> None:
    # The manager passes its own metadata to each handler, so ours joins a copy, not inherited:
    # a chat model inside the task has its own run and should not carry the task's fields.
    starter = parent.copy()
    starter.add_metadata(metadata, inherit=False)
    inputs = dict(state) if isinstance(state, Mapping) else {"input": state}
    try:
        if run_type == "retriever":
            await starter.on_retriever_start(None, _query(state, name), run_id=run_id, name=name)
        elif run_type == "tool":
            await starter.on_tool_start(
                None, _query(state, name), run_id=run_id, name=name, inputs=inputs
            )
        else:
            await starter.on_chain_start(None, inputs, run_id=run_id, name=name, run_type="chain")
    except Exception:  # tracing must never fail a task
        _log.exception("could not start the trace run of task %r", name)


def _query(state: Any, fallback: str) -> str:
    if isinstance(state, Mapping):
        for key in ("query", "question", "input"):
            value = state.get(key)
            if isinstance(value, str):
                return value
    return fallback


def _documents(value: Any) -> list[Document]:
    items = value if isinstance(value, list | tuple) else [value]
    return [d if isinstance(d, Document) else Document(page_content=str(d)) for d in items]


async def fire_end(
    manager: RunManager | None, result: TaskResult, error: BaseException | None
) -> None:
    """End a run: its outputs, or the error that says why the task fell back."""
    if isinstance(manager, AsyncCallbackManagerForChainRun):
        if error is None:
            value = result.value
            await manager.on_chain_end(
                {"output": value, "status": result.status.value, "attempts": result.attempts}
            )
        else:
            await manager.on_chain_error(error)
    elif isinstance(manager, AsyncCallbackManagerForRetrieverRun):
        if error is None:
            await manager.on_retriever_end(_documents(result.value))
        else:
            await manager.on_retriever_error(error)
    elif isinstance(manager, AsyncCallbackManagerForToolRun):
        if error is None:
            await manager.on_tool_end(result.value)
        else:
            await manager.on_tool_error(error)
