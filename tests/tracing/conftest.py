"""A callback handler that records every run event, to assert the tree tracers would draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler


@dataclass
class Run:
    """One run as a tracer sees it."""

    run_id: UUID
    parent_run_id: UUID | None
    name: str
    run_type: str
    metadata: dict[str, Any]
    outputs: Any = None
    error: BaseException | None = None


@dataclass
class RecordingHandler(BaseCallbackHandler):
    """Keeps every run it is told about, by id; runs inline, as LangChain's own tracers do."""

    runs: dict[UUID, Run] = field(default_factory=dict)
    run_inline: bool = True

    def _start(self, run_type: str, serialized: Any, kw: dict[str, Any]) -> None:
        name = kw.get("name") or (serialized or {}).get("name") or run_type
        self.runs[kw["run_id"]] = Run(
            kw["run_id"], kw.get("parent_run_id"), name, run_type, kw.get("metadata") or {}
        )

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._start(kw.get("run_type") or "chain", serialized, kw)

    def on_retriever_start(self, serialized: Any, query: str, **kw: Any) -> None:
        self._start("retriever", serialized, kw)

    def on_tool_start(self, serialized: Any, input_str: str, **kw: Any) -> None:
        self._start("tool", serialized, kw)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self._start("llm", serialized, kw)

    def _end(self, kw: dict[str, Any], outputs: Any = None, error: Any = None) -> None:
        run = self.runs[kw["run_id"]]
        run.outputs, run.error = outputs, error

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._end(kw, outputs)

    def on_retriever_end(self, documents: Any, **kw: Any) -> None:
        self._end(kw, documents)

    def on_tool_end(self, output: Any, **kw: Any) -> None:
        self._end(kw, output)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self._end(kw, response)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._end(kw, error=error)

    def on_retriever_error(self, error: BaseException, **kw: Any) -> None:
        self._end(kw, error=error)

    def on_tool_error(self, error: BaseException, **kw: Any) -> None:
        self._end(kw, error=error)

    def named(self, name: str) -> list[Run]:
        return [r for r in self.runs.values() if r.name == name]

    def one(self, name: str) -> Run:
        (run,) = self.named(name)
        return run

    def children(self, parent: Run) -> dict[str, Run]:
        return {r.name: r for r in self.runs.values() if r.parent_run_id == parent.run_id}


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()
