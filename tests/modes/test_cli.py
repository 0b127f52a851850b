"""The command-line tool, run as a user runs it: in a subprocess."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

QUESTION = "What does a circuit breaker do when a backend keeps failing?"


def _cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parallel_nodes.modes", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PARALLEL_NODES_METRICS": "0", "COLUMNS": "120", **(env or {})},
        check=False,
    )


def test_ask_prints_answer_sources_scores_cost_and_waterfall() -> None:
    done = _cli("ask", QUESTION)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[1]" in out
    assert "quality: groundedness" in out
    assert "cost: $0.000000" in out
    assert "retrieval: wall" in out
    assert "post_generation: wall" in out
    assert "█" in out
    assert "Traceback" not in done.stderr


def test_ask_json_with_flags() -> None:
    done = _cli("ask", QUESTION, "--json", "--no-parallel-tier1", "--disable-task", "cost_tracking")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answer"]
    assert data["sources"]
    assert data["tiers"]["retrieval"]["tasks"]["rag_retrieval"]["status"] == "ok"
    assert data["tiers"]["post_generation"]["tasks"]["cost_tracking"]["status"] == "skipped"
    # sequential tier 1: no two tasks overlap
    spans = sorted(
        (t["started"], t["started"] + t["duration"])
        for t in data["tiers"]["retrieval"]["tasks"].values()
    )
    assert all(b[0] >= a[1] - 0.002 for a, b in itertools.pairwise(spans))


def test_ask_disable_tier2() -> None:
    done = _cli("ask", QUESTION, "--json", "--disable-tier2")
    data = json.loads(done.stdout)
    statuses = {t["status"] for t in data["tiers"]["post_generation"]["tasks"].values()}
    assert statuses == {"skipped"}


def test_interactive_ask_removes_a_source_at_approval() -> None:
    done = _cli("ask", QUESTION, "--mode", "interactive", "--json", stdin="2,3\n\n")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [s["n"] for s in data["sources"]] == [1, 2]
    assert "retrieved sources" in done.stderr


def test_chat_keeps_the_thread_across_processes(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    first = _cli("chat", "--thread", "t1", stdin=f"{QUESTION}\n/quit\n", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("assistant>") == 1
    second = _cli("chat", "--thread", "t1", stdin="And how does it recover?\n", env=env)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "parallel-nodes.sqlite").exists()


def test_durable_chat_on_sqlite_answers_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    done = _cli("chat", "--durable", "--thread", "d1", stdin=f"{QUESTION}\n/quit\n", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("assistant>") == 1
    # closing(): a connection's own `with` only commits, and Python 3.13 warns about it unclosed.
    with closing(sqlite3.connect(tmp_path / "parallel-nodes.sqlite")) as db:
        kept = db.execute("select count(*) from store where prefix like 'parallel_nodes_done%'")
        assert kept.fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", ""), "question"),
        (("ask", "q", "--corpus", "/nonexistent/dir"), "--corpus"),
        (("ask", "q", "--mode", "telepathy"), "--mode"),
        (("ask", "q", "--model", "nonsense"), "model"),
        (("ask", "q", "--disable-task", "web_search"), "--disable-task"),
        (("ask", "x" * 5000), "question"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_unreachable_postgres_is_a_clear_error() -> None:
    done = _cli("chat", "--postgres", "postgresql://nobody@127.0.0.1:1/none", stdin="hi\n")
    assert done.returncode == 1
    assert "cannot reach PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr
