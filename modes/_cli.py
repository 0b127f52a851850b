"""``parallel-nodes``: ask a question, or chat, on the embedded defaults or your own corpus."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from rich.console import Console
from rich.progress import Progress

from parallel_nodes import TIER1_TASKS, TIER2_TASKS

from ._modes import MODES
from ._persistence import PersistenceError, open_persistence
from ._render import render_result, result_json
from ._workflow import RagWorkflow

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
_out = Console()
_err = Console(stderr=True)
TASKS = (*TIER1_TASKS, *TIER2_TASKS)

# Options both commands take, declared once.
CorpusOption = Annotated[Path | None, typer.Option(help="Folder of .md/.txt/.rst files.")]
ModelOption = Annotated[str | None, typer.Option(help="'extractive-offline' or 'provider:model'.")]
NoParallelTier1 = Annotated[bool, typer.Option("--no-parallel-tier1")]
NoParallelTier2 = Annotated[bool, typer.Option("--no-parallel-tier2")]
DisableTier2 = Annotated[bool, typer.Option("--disable-tier2")]
DisableTask = Annotated[list[str] | None, typer.Option("--disable-task", help="Repeatable.")]


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


def _fail(message: str, code: int) -> typer.Exit:
    _err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _config(
    no_parallel_tier1: bool, no_parallel_tier2: bool, disable_tier2: bool, disable_task: list[str]
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "enable_parallel_tier1": not no_parallel_tier1,
        "enable_parallel_tier2": not no_parallel_tier2,
        "enable_tier2": not disable_tier2,
    }
    for name in disable_task:
        if name not in TASKS:
            raise UsageError(
                f"--disable-task: unknown task {name!r}; choose from {', '.join(TASKS)}"
            )
        config[f"enable_{name}"] = False
    return config


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(console=_err, transient=True) as progress:
        bar = progress.add_task("indexing corpus", total=None)

        def update(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        yield update


def _build(
    mode: str,
    modes: tuple[str, ...],
    corpus: Path | None,
    model: str | None,
    config: dict[str, Any],
    show_progress: bool,
    user_id: str = "default",
) -> RagWorkflow:
    if mode not in modes:
        raise UsageError(f"--mode: unknown mode {mode!r}; choose from {', '.join(modes)}")
    if corpus is not None and not corpus.is_dir():
        raise UsageError(f"--corpus: {corpus} is not a directory; pass a folder of .md/.txt/.rst")
    with _progress(show_progress) as on_progress:
        try:
            return MODES[mode](
                corpus=corpus,
                model=model,
                config=config,
                on_progress=on_progress,
                user_id=user_id,
            )
        except (ValueError, FileNotFoundError) as exc:
            raise UsageError(str(exc)) from exc


def _approve(payload: dict[str, Any], ask: Callable[[str], str]) -> dict[str, Any]:
    """Show what tier 1 found; ask which sources and tools to keep (Enter keeps all)."""
    sources, tools = payload.get("sources", []), payload.get("tools", [])
    _err.print("retrieved sources:")
    for i, s in enumerate(sources, 1):
        _err.print(f"  {i}. {s['source']} — {s['heading']} (score {s['score']:.2f})", markup=False)
    _err.print("suggested tools: " + (", ".join(t["name"] for t in tools) or "none"))
    decision: dict[str, Any] = {}
    keep = ask("keep which sources? numbers separated by commas, Enter for all: ").strip()
    if keep:
        try:
            picked = [int(x) for x in keep.replace(" ", "").split(",") if x]
        except ValueError as exc:
            raise UsageError(f"approval: {keep!r} is not a list of numbers") from exc
        if any(not 1 <= i <= len(sources) for i in picked):
            raise UsageError(f"approval: choose numbers between 1 and {len(sources)}")
        decision["sources"] = [sources[i - 1]["chunk_id"] for i in picked]
    if tools:
        # Names approve a suggestion without running it: a tool runs only when approved with
        # its arguments, which the API takes as {"name": ..., "args": {...}}.
        keep_tools = ask("keep which tools? names separated by commas, Enter for all: ").strip()
        if keep_tools:
            names = [t.strip() for t in keep_tools.split(",") if t.strip()]
            offered = [t["name"] for t in tools]
            unknown = [n for n in names if n not in offered]
            if unknown:
                raise UsageError(
                    f"approval: {', '.join(unknown)} not suggested; "
                    f"choose from {', '.join(offered)}"
                )
            decision["tools"] = names
    return decision


def _read(prompt: str) -> str:
    _err.print(prompt, end="")
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


async def _turn(graph: Any, inputs: Any, config: RunnableConfig) -> dict[str, Any]:
    """Run until the graph ends, answering each approval interrupt on the terminal."""
    out: dict[str, Any] = await graph.ainvoke(inputs, config)
    while out.get("__interrupt__"):
        payload = out["__interrupt__"][0].value
        out = await graph.ainvoke(Command(resume=_approve(payload, _read)), config)
    return out


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    mode: Annotated[
        str, typer.Option(help="research (auto) or interactive (approve sources).")
    ] = "research",
    corpus: CorpusOption = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    no_parallel_tier1: NoParallelTier1 = False,
    no_parallel_tier2: NoParallelTier2 = False,
    disable_tier2: DisableTier2 = False,
    disable_task: DisableTask = None,
) -> None:
    """Answer one question from the corpus, with citations, scores, cost and a waterfall."""
    try:
        if not question.strip():
            raise UsageError(
                "question: must not be empty, e.g. parallel-nodes ask 'What is a tier?'"
            )
        config = _config(no_parallel_tier1, no_parallel_tier2, disable_tier2, disable_task or [])
        workflow = _build(mode, ("research", "interactive"), corpus, model, config, not as_json)
        workflow.question_of({"question": question})
        run_config: RunnableConfig = {"configurable": {"thread_id": uuid.uuid4().hex}}
        out = asyncio.run(_turn(workflow.compile(), {"question": question}, run_config))
    except (UsageError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    except EOFError:
        raise _fail("approval: no answer on standard input", 2) from None
    if as_json:
        print(json.dumps(result_json(out), indent=2, default=str))
    else:
        render_result(_out, out)


@app.command()
def chat(
    mode: Annotated[
        str, typer.Option(help="chat (auto) or chat-manual (approve sources).")
    ] = "chat",
    thread: Annotated[
        str | None, typer.Option(help="Conversation id; reuse it to continue.")
    ] = None,
    corpus: CorpusOption = None,
    model: ModelOption = None,
    postgres: Annotated[str | None, typer.Option(help="PostgreSQL DSN; default: SQLite.")] = None,
    user: Annotated[str, typer.Option(help="Whose long-term memories to use.")] = "default",
    no_parallel_tier1: NoParallelTier1 = False,
    no_parallel_tier2: NoParallelTier2 = False,
    disable_tier2: DisableTier2 = False,
    disable_task: DisableTask = None,
    durable: Annotated[
        bool,
        typer.Option(
            help="Keep finished tier-1 results until the turn ends: a turn resumed "
            "after a crash does not repeat them."
        ),
    ] = False,
) -> None:
    """Chat, one question per line; the conversation persists per --thread. /quit ends.

    A turn cut short (the process was killed) is finished when the thread is opened again.
    """
    try:
        config = _config(no_parallel_tier1, no_parallel_tier2, disable_tier2, disable_task or [])
        config["durable_tier1"] = durable
        workflow = _build(mode, ("chat", "chat-manual"), corpus, model, config, True, user)
        thread_id = thread or uuid.uuid4().hex[:12]
        asyncio.run(_chat(workflow, thread_id, postgres))
    except UsageError as exc:
        raise _fail(str(exc), 2) from None
    except PersistenceError as exc:
        raise _fail(str(exc), 1) from None


def _pending_input(snapshot: Any) -> Any:
    """``None`` resumes a run cut short; a pending approval is asked for again."""
    for task in snapshot.tasks:
        if task.interrupts:
            return Command(resume=_approve(task.interrupts[0].value, _read))
    return None


async def _chat(workflow: RagWorkflow, thread_id: str, postgres: str | None) -> None:
    async with open_persistence(postgres_dsn=postgres) as persistence:
        graph = workflow.compile(checkpointer=persistence.checkpointer, store=persistence.store)
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        _err.print(f"thread {thread_id} (stored in {persistence.where}); /quit to end")
        snapshot = await graph.aget_state(config)
        if snapshot.next:  # a turn cut short by a crash: finish it before the next question
            question = snapshot.values.get("question", "")
            _err.print(f"resuming the unfinished turn: {question}", markup=False)
            out = await _turn(graph, _pending_input(snapshot), config)
            _out.print(f"assistant> {out.get('answer', '')}", markup=False, highlight=False)
        while True:
            try:
                line = _read("you> ").strip()
            except EOFError:
                break
            if line in ("/quit", "/exit"):
                break
            if not line:
                continue
            try:
                workflow.question_of({"question": line})
            except ValueError as exc:
                _err.print(f"error: {exc}", markup=False)
                continue
            inputs = workflow.turn_input(line, user_id=workflow.user_id)
            out = await _turn(graph, inputs, config)
            _out.print(f"assistant> {out.get('answer', '')}", markup=False, highlight=False)


def main() -> None:
    """Console-script entry point."""
    app()
