"""``parallel-nodes``: ask a question, or chat, on the embedded defaults or your own corpus.

Only ``typer`` and ``rich`` load before the arguments are parsed: ``--help`` and ``--version``
answer without importing LangGraph. Every failure a user can cause ends in one line on stderr
that says what to fix (exit 2 for bad input, 1 for an environment problem, 130 when
interrupted); ``--debug`` or ``PARALLEL_NODES_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import enum
import json
import os
import signal
import sys
import traceback
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from ._corpus import CorpusReport
    from ._workflow import RagWorkflow

__all__ = ["TASK_NAMES", "app", "main"]

_T = TypeVar("_T")

TASK_NAMES = (
    "rag_retrieval",
    "tool_suggestion",
    "memory_retrieval",
    "quality_scoring",
    "citation_extraction",
    "cost_tracking",
)
"""``TIER1_TASKS + TIER2_TASKS``, spelled out so ``--help`` need not import the engine (a test
keeps the two equal)."""

EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Why plain help: rich's help panels import Markdown rendering and double --help's time.
    rich_markup_mode=None,
    help="Answer questions from a folder of documents with tiered, parallel LangGraph nodes.",
)
_out = Console()
_err = Console(stderr=True)


@dataclass(slots=True)
class _Session:
    """What the global options set for this process."""

    debug: bool = False


_session = _Session(debug=os.environ.get("PARALLEL_NODES_DEBUG", "") not in ("", "0"))


class UserError(Exception):
    """A failure the user can fix: printed as one line, with ``code`` as the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Cancelled(Exception):
    """The user closed standard input at a prompt."""


class AskMode(enum.StrEnum):
    research = "research"
    interactive = "interactive"


class Executor(enum.StrEnum):
    thread = "thread"
    process = "process"
    ray = "ray"


class ChatMode(enum.StrEnum):
    chat = "chat"
    chat_manual = "chat-manual"


TaskName = enum.StrEnum("TaskName", {n: n for n in TASK_NAMES})  # type: ignore[misc]

# Options both commands take, declared once.
CorpusOption = Annotated[
    Path | None,
    typer.Option(help="Folder of .md/.txt/.rst files to answer from; default: the bundled sample."),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        help="'extractive-offline' (default, no key needed) or 'provider:model' for "
        "init_chat_model, e.g. 'openai:gpt-4o-mini' (needs langchain, the provider package "
        "and its API key)."
    ),
]
NoParallelTier1 = Annotated[
    bool,
    typer.Option(
        "--no-parallel-tier1",
        help="Run retrieval, tool suggestion and memory one after another (the rollback switch).",
    ),
]
NoParallelTier2 = Annotated[
    bool,
    typer.Option(
        "--no-parallel-tier2",
        help="Run quality scoring, citations and cost one after another.",
    ),
]
DisableTier2 = Annotated[
    bool,
    typer.Option(
        "--disable-tier2", help="Skip the tier after the answer: scores, citations, cost."
    ),
]
DisableTask = Annotated[
    list[TaskName] | None,
    typer.Option(
        "--disable-task",
        metavar="TASK",
        help=f"Skip one task, one of {', '.join(TASK_NAMES)}; repeat the flag for several.",
        case_sensitive=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"parallel-nodes {version('langgraph-parallel-nodes')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="PARALLEL_NODES_DEBUG",
            help="Show the full traceback of an error instead of one line.",
        ),
    ] = False,
) -> None:
    """Answer questions from a folder of documents with tiered, parallel LangGraph nodes."""
    _session.debug = _session.debug or debug


def _config(
    no_parallel_tier1: bool,
    no_parallel_tier2: bool,
    disable_tier2: bool,
    disable_task: list[Any],
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "enable_parallel_tier1": not no_parallel_tier1,
        "enable_parallel_tier2": not no_parallel_tier2,
        "enable_tier2": not disable_tier2,
    }
    for name in disable_task:
        config[f"enable_{name.value}"] = False
    return config


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=_err, transient=True) as progress:
        bar = progress.add_task("indexing corpus", total=None)

        def update(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        yield update


def _build(
    mode: str,
    corpus: Path | None,
    model: str | None,
    config: dict[str, Any],
    show_progress: bool,
    user_id: str = "default",
) -> RagWorkflow:
    if corpus is not None and not corpus.is_dir():
        what = "does not exist" if not corpus.exists() else "is not a directory"
        raise UserError(f"--corpus: {corpus} {what}; pass a folder of .md/.txt/.rst files")
    from ._modes import MODES

    with _progress(show_progress) as on_progress:
        try:
            workflow = MODES[mode](
                corpus=corpus,
                model=model,
                config=config,
                on_progress=on_progress,
                user_id=user_id,
            )
        except (ValueError, FileNotFoundError) as exc:
            message = str(exc)
            if message.startswith("model:"):
                raise UserError(f"--{message}") from exc
            raise UserError(f"--corpus: {message}") from exc
    from ._corpus import CorpusRetriever

    retriever = workflow.retriever
    if corpus is not None and isinstance(retriever, CorpusRetriever) and retriever.report:
        # On stderr, so --json's stdout stays one JSON document.
        _err.print(_corpus_summary(retriever.report), markup=False, highlight=False)
    return workflow


def _corpus_summary(report: CorpusReport) -> str:
    """``corpus: 120 files (1.4 MB) indexed; skipped 2 binary``: what loading a corpus did."""
    how = "loaded from the index cache" if report.from_cache else "indexed"
    line = f"corpus: {report.files} files ({report.bytes / 1e6:.1f} MB) {how}"
    skipped = report.skipped_summary()
    return f"{line}; skipped {skipped}" if skipped else line


# -- prompts ----------------------------------------------------------------------------------


def _read(prompt: str) -> str:
    _err.print(prompt, end="", markup=False, highlight=False)
    line = sys.stdin.readline()
    if not line:
        raise _Cancelled
    return line.rstrip("\n")


def _ask_until(ask: Callable[[str], str], prompt: str, parse: Callable[[str], _T]) -> _T:
    """Ask until ``parse`` accepts the answer; a refused answer is explained, then re-asked."""
    while True:
        try:
            return parse(ask(prompt).strip())
        except ValueError as exc:
            _err.print(f"  {exc}; try again", markup=False, highlight=False)


def _approve(payload: Mapping[str, Any], ask: Callable[[str], str]) -> dict[str, Any]:
    """Show what tier 1 found; ask which sources and tools to keep (Enter keeps all).

    Returns the ``Command(resume=...)`` value: ``{}`` when Enter kept everything.
    """
    sources, tools = list(payload.get("sources", [])), list(payload.get("tools", []))
    _err.print("retrieved sources:")
    for i, s in enumerate(sources, 1):
        _err.print(f"  {i}. {s['source']} — {s['heading']} (score {s['score']:.2f})", markup=False)
    _err.print("suggested tools: " + (", ".join(t["name"] for t in tools) or "none"), markup=False)

    def pick_sources(answer: str) -> list[str] | None:
        if not answer:
            return None
        parts = [x for x in answer.replace(" ", ",").split(",") if x]
        if not all(x.isdigit() for x in parts):
            raise ValueError(f"{answer!r} is not a list of numbers like 1,3")
        picked = [int(x) for x in parts]
        if not sources or any(not 1 <= i <= len(sources) for i in picked):
            raise ValueError(f"choose numbers from 1 to {len(sources)}, or press Enter for all")
        return [sources[i - 1]["chunk_id"] for i in dict.fromkeys(picked)]

    def pick_tools(answer: str) -> list[str] | None:
        if not answer:
            return None
        names = [t.strip() for t in answer.split(",") if t.strip()]
        offered = [t["name"] for t in tools]
        unknown = [n for n in names if n not in offered]
        if unknown:
            choose = ", ".join(offered)
            raise ValueError(f"{', '.join(unknown)} not suggested; choose from {choose}")
        return names

    decision: dict[str, Any] = {}
    prompt = "keep which sources? numbers separated by commas, Enter for all: "
    if (keep := _ask_until(ask, prompt, pick_sources)) is not None:
        decision["sources"] = keep
    if tools:
        # Names approve a suggestion without running it: a tool runs only when approved with
        # its arguments, which the API takes as {"name": ..., "args": {...}}.
        prompt = "keep which tools? names separated by commas, Enter for all: "
        if (keep := _ask_until(ask, prompt, pick_tools)) is not None:
            decision["tools"] = keep
    return decision


async def _turn(graph: Any, inputs: Any, config: RunnableConfig) -> dict[str, Any]:
    """Run until the graph ends, answering each approval interrupt on the terminal."""
    from langgraph.types import Command

    out: dict[str, Any] = await graph.ainvoke(inputs, config)
    while out.get("__interrupt__"):
        payload = out["__interrupt__"][0].value
        out = await graph.ainvoke(Command(resume=_approve(payload, _read)), config)
    return out


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` where the first Ctrl-C interrupts at once, even at a prompt.

    Why: ``asyncio.run``'s own handler only cancels the main task, which a coroutine blocked
    in ``readline()`` notices after the next line is typed; that line then became the answer.
    A handler of our own makes ``asyncio.run`` leave SIGINT alone.
    """
    import asyncio

    previous = signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        return asyncio.run(coro)
    finally:
        signal.signal(signal.SIGINT, previous)


# -- commands ---------------------------------------------------------------------------------


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    mode: Annotated[
        AskMode,
        typer.Option(help="research: automatic; interactive: approve sources and tools first."),
    ] = AskMode.research,
    corpus: CorpusOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
    no_parallel_tier1: NoParallelTier1 = False,
    no_parallel_tier2: NoParallelTier2 = False,
    disable_tier2: DisableTier2 = False,
    disable_task: DisableTask = None,
    agents: Annotated[
        int | None,
        typer.Option(min=1, max=12, help="Ask N agents at once and keep the best-scored answer."),
    ] = None,
    executor: Annotated[
        Executor | None, typer.Option(help="With --agents: where the agents run.")
    ] = None,
    good_enough: Annotated[
        float | None,
        typer.Option(help="With --agents: stop at the first answer scoring at least this (0-1)."),
    ] = None,
) -> None:
    """Answer one question from the corpus, with citations, scores, cost and a waterfall."""
    from ._workflow import RagWorkflow

    try:
        RagWorkflow.question_of({"question": question})
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if agents is not None:
        from ._agents_cli import ask_agents

        try:
            ask_agents(
                question,
                agents=agents,
                corpus=corpus,
                executor=None if executor is None else executor.value,
                good_enough=good_enough,
                as_json=as_json,
                out=_out,
                run=_run,
            )
        except ValueError as exc:
            raise UserError(f"--{exc}") from None
        return
    config = _config(no_parallel_tier1, no_parallel_tier2, disable_tier2, disable_task or [])
    workflow = _build(mode.value, corpus, model, config, not as_json)
    run_config: RunnableConfig = {"configurable": {"thread_id": uuid.uuid4().hex}}
    out = _run(_turn(workflow.compile(), {"question": question}, run_config))
    from ._render import render_result, result_json

    if as_json:
        print(json.dumps(result_json(out), indent=2, default=str))
    else:
        render_result(_out, out)


CHAT_HELP = """\
commands:
  /help          this list
  /quit, /exit   end the chat (so does Ctrl-D); the thread is kept
anything else is a question."""


@app.command()
def chat(
    mode: Annotated[
        ChatMode,
        typer.Option(help="chat: automatic; chat-manual: approve sources and tools each turn."),
    ] = ChatMode.chat,
    thread: Annotated[
        str | None, typer.Option(help="Conversation id; reuse it to continue the conversation.")
    ] = None,
    corpus: CorpusOption = None,
    model: ModelOption = None,
    postgres: Annotated[
        str | None,
        typer.Option(help="PostgreSQL DSN, e.g. postgresql://user@host:5432/db; default: SQLite."),
    ] = None,
    user: Annotated[str, typer.Option(help="Whose long-term memories to use.")] = "default",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per answer (JSON Lines).")
    ] = False,
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
    """Chat, one question per line; the conversation persists per --thread. /help lists commands.

    A turn cut short (the process was killed) is finished when the thread is opened again.
    """
    config = _config(no_parallel_tier1, no_parallel_tier2, disable_tier2, disable_task or [])
    config["durable_tier1"] = durable
    workflow = _build(mode.value, corpus, model, config, True, user)
    thread_id = thread or uuid.uuid4().hex[:12]
    _run(_chat(workflow, thread_id, postgres, as_json))


def _pending_input(snapshot: Any) -> Any:
    """``None`` resumes a run cut short; a pending approval is asked for again."""
    from langgraph.types import Command

    for task in snapshot.tasks:
        if task.interrupts:
            return Command(resume=_approve(task.interrupts[0].value, _read))
    return None


def _earlier_turns(values: Mapping[str, Any]) -> int:
    return sum(1 for m in values.get("messages") or () if getattr(m, "type", "") == "human")


def _show(out: Mapping[str, Any], thread_id: str, as_json: bool) -> None:
    from ._render import render_sources, result_json

    if as_json:
        print(json.dumps({"thread_id": thread_id, **result_json(out)}, default=str), flush=True)
        return
    _out.print(f"assistant> {out.get('answer', '')}", markup=False, highlight=False)
    render_sources(_out, out)


async def _chat(
    workflow: RagWorkflow, thread_id: str, postgres: str | None, as_json: bool = False
) -> None:
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
        _err.print(
            f"resuming thread {thread_id}: {kept} (stored in {persistence.where})", soft_wrap=True
        )
    else:
        _err.print(f"new thread {thread_id} (stored in {persistence.where})", soft_wrap=True)
    _err.print("ask a question; /help lists commands, /quit ends", markup=False)
    if snapshot.next:  # a turn cut short by a crash: finish it before the next question
        question = snapshot.values.get("question", "")
        _err.print(f"resuming the unfinished turn: {question}", markup=False)
        _show(await _turn(graph, _pending_input(snapshot), config), thread_id, as_json)
    while True:
        try:
            line = _read("you> ").strip()
        except _Cancelled:  # Ctrl-D at the question prompt ends the chat, as in a shell
            return
        if not line:
            continue
        if line.startswith("/"):
            command = line.split()[0].lower()
            if command in ("/quit", "/exit"):
                return
            if command == "/help":
                _err.print(CHAT_HELP, markup=False, highlight=False)
            else:
                _err.print(f"unknown command {command}; /help lists the commands", markup=False)
            continue
        try:
            workflow.question_of({"question": line})
        except ValueError as exc:
            _err.print(f"error: {exc}", markup=False)
            continue
        inputs = workflow.turn_input(line, user_id=workflow.user_id)
        _show(await _turn(graph, inputs, config), thread_id, as_json)


# -- errors -----------------------------------------------------------------------------------

_UNREACHABLE = ("ConnectionError", "ConnectError", "ConnectTimeout", "APITimeoutError")
"""Endings of the exception class names (ours, httpx's, the providers') of an endpoint that
did not answer: matched by name so no provider package needs importing."""


def _is_usage_error(exc: BaseException) -> bool:
    """Click's ``UsageError``, whether typer vendors click or depends on it."""
    return callable(getattr(exc, "format_message", None)) and getattr(exc, "exit_code", 0) == 2


def describe(exc: BaseException) -> tuple[str, int]:
    """One line saying what went wrong and how to fix it, and the exit status."""
    if isinstance(exc, UserError):
        return str(exc), exc.code
    if _is_usage_error(exc):
        ctx = getattr(exc, "ctx", None)
        command = getattr(ctx, "command_path", None) or "parallel-nodes"
        text = str(exc.format_message()).replace("Value error, ", "")  # type: ignore[attr-defined]
        return (f"{text} (see {command} --help)" if text else ""), EXIT_USAGE
    name = type(exc).__name__
    first = next(iter(str(exc).strip().splitlines()), "")
    if any(c.__name__.endswith(_UNREACHABLE) for c in type(exc).__mro__):
        return (
            f"cannot reach the model's endpoint ({name}: {first}); check its URL "
            "(e.g. OPENAI_BASE_URL) and the network, or use --model extractive-offline",
            EXIT_FAILURE,
        )
    if name in ("AuthenticationError", "PermissionDeniedError"):
        return (
            f"the model's provider refused the API key ({first}); check the key's variable "
            "(e.g. OPENAI_API_KEY)",
            EXIT_FAILURE,
        )
    return f"{name}: {first}; rerun with --debug for the traceback", EXIT_FAILURE


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: run the command, turn any failure into one line."""
    try:
        code = app(args=argv, prog_name="parallel-nodes", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        _err.print("\ninterrupted; nothing was applied", markup=False, highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except _Cancelled:
        _err.print(
            "\napproval cancelled (standard input closed); nothing was applied",
            markup=False,
            highlight=False,
        )
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _session.debug:
            traceback.print_exc()
        message, status = describe(exc)
        if message:  # empty: the help was printed instead
            _err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(status)
    if code == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
        _err.print("\ninterrupted; nothing was applied", markup=False, highlight=False)
    sys.exit(code if isinstance(code, int) else 0)
