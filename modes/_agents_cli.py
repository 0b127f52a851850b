"""``parallel-nodes ask --agents N``: the multi-agent panel on the command line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from ._agents import PanelResult, answer_with_agents

__all__ = ["ask_agents", "render_panel"]

_T = TypeVar("_T")


@contextmanager
def _ray_started() -> Iterator[None]:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "executor: --executor ray needs Ray; pip install 'langgraph-parallel-nodes[ray]'"
        ) from None
    if ray.is_initialized():
        yield
        return
    # RAY_ADDRESS, when set, points ray.init() at an existing cluster; otherwise a local one.
    # The agents' workers read and cache the corpus index where this process does.
    env = {k: v for k in ("PARALLEL_NODES_DATA_DIR",) if (v := os.environ.get(k))}
    ray.init(
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": env} if env else None,
    )
    try:
        yield
    finally:
        ray.shutdown()


def ask_agents(
    question: str,
    *,
    agents: int,
    corpus: Path | None,
    executor: str | None,
    good_enough: float | None,
    as_json: bool,
    deadline: float = 30.0,
    out: Console,
    run: Callable[[Coroutine[Any, Any, PanelResult]], PanelResult],
) -> None:
    """Run the panel and print it: a table of the agents' scores and the best answer.

    Raises:
        ValueError: A bad option, as ``"option: what to fix"``.
    """
    if good_enough is not None and not 0 < good_enough <= 1:
        raise ValueError(f"good-enough: must be in (0, 1], got {good_enough}")
    if not 0 < deadline < float("inf"):
        raise ValueError(f"deadline: must be a positive number of seconds, got {deadline}")
    coro = answer_with_agents(
        question,
        agents=agents,
        corpus=corpus,
        executor=executor,
        good_enough=good_enough,
        deadline=deadline,
    )
    if executor == "ray":
        with _ray_started():
            panel = run(coro)
    else:
        panel = run(coro)
    if as_json:
        print(json.dumps(panel.to_json(), indent=2))
    else:
        render_panel(out, panel)


def render_panel(out: Console, panel: PanelResult) -> None:
    """The best answer, then one row per agent: status, score, seconds, sources."""
    best = panel.best
    if best is None:
        out.print("No agent answered in time.", style="red")
    else:
        out.print(best.answer, markup=False, highlight=False)
        out.print(f"\nbest: {best.agent} (score {best.score:.3f})", style="bold")
    table = Table(title="agents" + (" (early exit)" if panel.early_exit else ""))
    for column in ("agent", "status", "score", "seconds", "sources"):
        table.add_column(column)
    for a in panel.answers:
        table.add_row(
            a.agent,
            a.status,
            "-" if a.score is None else f"{a.score:.3f}",
            f"{a.seconds:.3f}",
            ", ".join(a.sources),
        )
    out.print(table)
