"""``parallel-nodes chat``'s conversation loop: resume the thread, then one question per line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._cli_errors import EXIT_FAILURE, Cancelled, UserError
from ._cli_terminal import approve, err, out, read, turn

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from ._workflow import RagWorkflow

__all__ = ["CHAT_HELP", "converse"]

CHAT_HELP = """\
commands:
  /help          this list
  /quit, /exit   end the chat (so does Ctrl-D); the thread is kept
anything else is a question."""


def _pending_input(snapshot: Any) -> Any:
    """``None`` resumes a run cut short; a pending approval is asked for again."""
    from langgraph.types import Command

    for task in snapshot.tasks:
        if task.interrupts:
            return Command(resume=approve(task.interrupts[0].value, read))
    return None


def _earlier_turns(values: Mapping[str, Any]) -> int:
    return sum(1 for m in values.get("messages") or () if getattr(m, "type", "") == "human")


def _show(result: Mapping[str, Any], thread_id: str, as_json: bool) -> None:
    from ._render import render_sources, result_json

    if as_json:
        print(json.dumps({"thread_id": thread_id, **result_json(result)}, default=str), flush=True)
        return
    out.print(f"assistant> {result.get('answer', '')}", markup=False, highlight=False)
    render_sources(out, result)


async def converse(
    workflow: RagWorkflow, thread_id: str, postgres: str | None, as_json: bool = False
) -> None:
    """Chat on ``thread_id`` until ``/quit`` or Ctrl-D, kept in PostgreSQL or else SQLite.

    Raises:
        UserError: The store cannot be opened (exit status 1).
    """
    from ._persistence import PersistenceError, open_persistence

    try:
        async with open_persistence(postgres_dsn=postgres) as persistence:
            await _converse(workflow, persistence, thread_id, as_json)
    except PersistenceError as exc:
        raise UserError(f"--postgres: {exc}" if postgres else str(exc), EXIT_FAILURE) from None


async def _converse(workflow: RagWorkflow, persistence: Any, thread_id: str, as_json: bool) -> None:
    graph = workflow.compile(checkpointer=persistence.checkpointer, store=persistence.store)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    snapshot = await graph.aget_state(config)
    turns = _earlier_turns(snapshot.values)
    if turns:
        kept = f"{turns} earlier turn{'s' if turns != 1 else ''}"
        err.print(
            f"resuming thread {thread_id}: {kept} (stored in {persistence.where})", soft_wrap=True
        )
    else:
        err.print(f"new thread {thread_id} (stored in {persistence.where})", soft_wrap=True)
    err.print("ask a question; /help lists commands, /quit ends", markup=False)
    if snapshot.next:  # a turn cut short by a crash: finish it before the next question
        question = snapshot.values.get("question", "")
        err.print(f"resuming the unfinished turn: {question}", markup=False)
        _show(await turn(graph, _pending_input(snapshot), config), thread_id, as_json)
    while True:
        try:
            line = read("you> ").strip()
        except Cancelled:  # Ctrl-D at the question prompt ends the chat, as in a shell
            return
        if not line:
            continue
        if line.startswith("/"):
            command = line.split()[0].lower()
            if command in ("/quit", "/exit"):
                return
            if command == "/help":
                err.print(CHAT_HELP, markup=False, highlight=False)
            else:
                err.print(f"unknown command {command}; /help lists the commands", markup=False)
            continue
        try:
            workflow.question_of({"question": line})
        except ValueError as exc:
            err.print(f"error: {exc}", markup=False)
            continue
        inputs = workflow.turn_input(line, user_id=workflow.user_id)
        _show(await turn(graph, inputs, config), thread_id, as_json)
