"""The comparison shape: the three tier-1 tasks as LangGraph's native parallel branches.

Run as ``python -m tests.reliability._crash_native DSN THREAD LOG QUESTION|-``: with a question,
ask it; with ``-``, resume the thread's unfinished run. Each branch logs ``pid task question``;
memory retrieval blocks while ``LOG + ".slow"`` holds the question, so the parent can SIGKILL
the process with the other two branches finished.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    question: str
    rag_retrieval: list[str]
    tool_suggestion: list[str]
    memory_retrieval: list[str]
    answer: str


def _branch(name: str, log: Path) -> Any:
    def note(question: str, what: str) -> None:
        with log.open("a") as f:
            f.write(f"{os.getpid()}\t{what}\t{question}\n")

    def blocks(question: str) -> bool:
        slow = Path(f"{log}.slow")
        return name == "memory_retrieval" and slow.exists() and slow.read_text() == question

    async def run(state: State) -> dict[str, Any]:
        question = state["question"]
        note(question, name)
        if blocks(question):
            note(question, "blocking")
            await asyncio.Event().wait()  # until SIGKILL
        await asyncio.sleep(0.01)
        return {name: [f"{name} for {question}"]}

    return run


async def _generate(state: State) -> dict[str, Any]:
    return {"answer": "; ".join(state[k][0] for k in ("rag_retrieval", "memory_retrieval"))}


async def main() -> None:
    dsn, thread, log, question = sys.argv[1:5]
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    for name in ("rag_retrieval", "tool_suggestion", "memory_retrieval"):
        builder.add_node(name, _branch(name, Path(log)))
        builder.add_edge(START, name)
    builder.add_node("generate", _generate)
    builder.add_edge(["rag_retrieval", "tool_suggestion", "memory_retrieval"], "generate")
    builder.add_edge("generate", END)
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        await saver.setup()
        graph = builder.compile(checkpointer=saver)
        out = await graph.ainvoke(None if question == "-" else {"question": question}, config)
    print(out["answer"])


if __name__ == "__main__":
    asyncio.run(main())
