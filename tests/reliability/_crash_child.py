"""The chat CLI's loop on PostgreSQL, with tier-1 tasks that log each execution.

Run as ``python -m tests.reliability._crash_child DSN THREAD LOG DURABLE``, questions on stdin.
While the file ``LOG + ".slow"`` holds the question asked, memory retrieval logs ``blocking``
and never returns,
so the parent can SIGKILL the process in the middle of tier 1 with the other two tasks done.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from parallel_nodes.modes import Mode4ChatAutomaticWorkflow
from parallel_nodes.modes._cli_chat import converse


class CountingChat(Mode4ChatAutomaticWorkflow):
    """The chat mode, logging ``pid task question`` each time a tier-1 task runs."""

    def __init__(self, log: Path, **kwargs: Any) -> None:
        self.log = log
        super().__init__(**kwargs)

    def _note(self, task: str, state: Mapping[str, Any]) -> None:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()}\t{task}\t{state.get('question', '')}\n")

    def _blocks(self, state: Mapping[str, Any]) -> bool:
        slow = Path(f"{self.log}.slow")
        return slow.exists() and slow.read_text() == state.get("question")

    async def _rag_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        self._note("rag_retrieval", state)
        return await super()._rag_retrieval_task(state, runtime)

    async def _tool_suggestion_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        self._note("tool_suggestion", state)
        return await super()._tool_suggestion_task(state, runtime)

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        self._note("memory_retrieval", state)
        if self._blocks(state):
            self._note("blocking", state)
            await asyncio.Event().wait()  # until SIGKILL
        return await super()._memory_retrieval_task(state, runtime)


def main() -> None:
    dsn, thread, log, durable = sys.argv[1:5]
    workflow = CountingChat(
        Path(log),
        config={
            "durable_tier1": durable == "1",
            "metrics": False,
            # Long enough that only the SIGKILL ends the blocked task.
            "tier1_timeout": 60,
            "task_timeouts": {"memory_retrieval": 60},
        },
    )
    asyncio.run(converse(workflow, thread, dsn))


if __name__ == "__main__":
    main()
