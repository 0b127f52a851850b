"""The command's terminal: its two consoles, line prompts, the approval questions, and running
a coroutine so that Ctrl-C interrupts at once.

Nothing here imports LangGraph before it is called, so ``--help`` stays fast.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Coroutine, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from rich.console import Console

from ._cli_errors import Cancelled

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["approve", "ask_until", "err", "out", "read", "run", "turn"]

_T = TypeVar("_T")

out = Console()
"""Standard output: answers, and ``--json``'s documents."""
err = Console(stderr=True)
"""Standard error: prompts, progress and status lines, so stdout stays parseable."""


def read(prompt: str) -> str:
    """One line from standard input after ``prompt`` on stderr, without its newline.

    Raises:
        Cancelled: Standard input was closed (Ctrl-D).
    """
    err.print(prompt, end="", markup=False, highlight=False)
    line = sys.stdin.readline()
    if not line:
        raise Cancelled
    return line.rstrip("\n")


def ask_until(ask: Callable[[str], str], prompt: str, parse: Callable[[str], _T]) -> _T:
    """Ask until ``parse`` accepts the answer; a refused answer is explained, then re-asked."""
    while True:
        try:
            return parse(ask(prompt).strip())
        except ValueError as exc:
            err.print(f"  {exc}; try again", markup=False, highlight=False)


def approve(payload: Mapping[str, Any], ask: Callable[[str], str]) -> dict[str, Any]:
    """Show what tier 1 found; ask which sources and tools to keep (Enter keeps all).

    Returns the ``Command(resume=...)`` value: ``{}`` when Enter kept everything.
    """
    sources, tools = list(payload.get("sources", [])), list(payload.get("tools", []))
    err.print("retrieved sources:")
    for i, s in enumerate(sources, 1):
        err.print(f"  {i}. {s['source']} — {s['heading']} (score {s['score']:.2f})", markup=False)
    err.print("suggested tools: " + (", ".join(t["name"] for t in tools) or "none"), markup=False)

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
    if (keep := ask_until(ask, prompt, pick_sources)) is not None:
        decision["sources"] = keep
    if tools:
        # Names approve a suggestion without running it: a tool runs only when approved with
        # its arguments, which the API takes as {"name": ..., "args": {...}}.
        prompt = "keep which tools? names separated by commas, Enter for all: "
        if (keep := ask_until(ask, prompt, pick_tools)) is not None:
            decision["tools"] = keep
    return decision


async def turn(graph: Any, inputs: Any, config: RunnableConfig) -> dict[str, Any]:
    """Run until the graph ends, answering each approval interrupt on the terminal."""
    from langgraph.types import Command

    result: dict[str, Any] = await graph.ainvoke(inputs, config)
    while result.get("__interrupt__"):
        payload = result["__interrupt__"][0].value
        result = await graph.ainvoke(Command(resume=approve(payload, read)), config)
    return result


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def run(coro: Coroutine[Any, Any, _T]) -> _T:
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
