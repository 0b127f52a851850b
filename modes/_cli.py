"""``parallel-nodes``: ask a question, or chat, on the embedded defaults or your own corpus.

Only ``typer`` and ``rich`` load before the arguments are parsed: ``--help`` and ``--version``
answer without importing LangGraph. Every failure a user can cause ends in one line on stderr
that says what to fix (exit 2 for bad input, 1 for an environment problem, 130 when
interrupted); ``--debug`` or ``PARALLEL_NODES_DEBUG=1`` shows the traceback instead.

This module holds the options and the commands. The failure lines are in ``_cli_errors``, the
prompts and the Ctrl-C handling in ``_cli_terminal``, the chat loop in ``_cli_chat``, and what
an answer looks like in ``_render``.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ._cli_chat import converse
from ._cli_errors import EXIT_INTERRUPTED, Cancelled, UserError, describe
from ._cli_terminal import err as _err
from ._cli_terminal import out as _out
from ._cli_terminal import run as _run
from ._cli_terminal import turn as _turn

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from ._corpus import CorpusReport
    from ._workflow import RagWorkflow

__all__ = ["TASK_NAMES", "app", "main"]

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

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Why plain help: rich's help panels import Markdown rendering and double --help's time.
    rich_markup_mode=None,
    help="Answer questions from a folder of documents with tiered, parallel LangGraph nodes.",
)


@dataclass(slots=True)
class _Session:
    """What the global options set for this process."""

    debug: bool = False


_session = _Session(debug=os.environ.get("PARALLEL_NODES_DEBUG", "") not in ("", "0"))


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
    deadline: Annotated[
        float,
        typer.Option(help="With --agents: seconds the panel may take; later agents are dropped."),
    ] = 30.0,
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
                deadline=deadline,
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
    _run(converse(workflow, thread_id, postgres, as_json))


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: run the command, turn any failure into one line."""
    try:
        code = app(args=argv, prog_name="parallel-nodes", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        _err.print("\ninterrupted; nothing was applied", markup=False, highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except Cancelled:
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
