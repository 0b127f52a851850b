"""Crash and resume on PostgreSQL: SIGKILL a chat in the middle of tier 1, then resume it.

A child process runs the chat CLI's loop (``parallel_nodes.modes._cli_chat.converse``) on the real
PostgreSQL checkpointer and store. Two turns complete; the third is killed while memory
retrieval blocks and the other two tier-1 tasks have finished. A new process with the same
``thread_id`` finishes that turn, then takes a fourth. Every turn must be in the thread exactly
once, in order, and the executions of each tier-1 task are counted: with ``durable_tier1`` the
tasks that finished before the crash do not run again."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests._servers import require_postgres
from tests._threads import saved_messages

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

QUESTIONS = (
    "What does a circuit breaker do?",
    "When does a breaker go half-open?",
    "What is a tier deadline?",
    "How are retries budgeted?",
)
CRASH_TURN = 2  # the third question


def _child(dsn: str, thread: str, log: Path, durable: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.reliability._crash_child"),
            *(dsn, thread, str(log), "1" if durable else "0"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _executions(log: Path, question: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        _pid, task, asked = line.split("\t")
        if asked == question:
            counts[task] += 1
    return counts


async def _messages(dsn: str, thread: str) -> list[tuple[str, str]]:
    return [(type(m).__name__, str(m.content)) for m in await saved_messages(dsn, thread)]


def _kill_when_blocking(child: subprocess.Popen[str], log: Path, question: str) -> None:
    """SIGKILL ``child`` once its memory retrieval blocks on ``question``."""
    slow = Path(f"{log}.slow")
    slow.write_text(question)
    try:
        deadline = time.monotonic() + 60
        while "blocking" not in (log.read_text() if log.exists() else ""):
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "the child never reached tier 1"
            time.sleep(0.02)
        time.sleep(0.3)  # the finished tasks' values reach the store
        child.kill()  # SIGKILL: no cleanup, no flush
    finally:
        child.kill()
        child.communicate()
        slow.unlink()
    assert child.returncode == -9


def _crash_in_tier1(dsn: str, thread: str, log: Path, durable: bool) -> None:
    child = _child(dsn, thread, log, durable)
    assert child.stdin is not None
    child.stdin.write("".join(f"{q}\n" for q in QUESTIONS[: CRASH_TURN + 1]))
    child.stdin.flush()
    _kill_when_blocking(child, log, QUESTIONS[CRASH_TURN])


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "plain"])
def test_sigkill_in_tier1_then_resume(tmp_path: Path, durable: bool) -> None:
    dsn = require_postgres()
    thread = f"crash-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "executions.log"

    _crash_in_tier1(dsn, thread, log, durable)
    before = asyncio.run(_messages(dsn, thread))
    assert before[:4] == [
        ("HumanMessage", QUESTIONS[0]),
        ("AIMessage", before[1][1]),
        ("HumanMessage", QUESTIONS[1]),
        ("AIMessage", before[3][1]),
    ]

    resumed = _child(dsn, thread, log, durable)
    out, err = resumed.communicate(f"{QUESTIONS[3]}\n/quit\n", timeout=60)
    assert resumed.returncode == 0, err
    assert f"resuming the unfinished turn: {QUESTIONS[CRASH_TURN]}" in err
    assert out.count("assistant>") == 2

    messages = asyncio.run(_messages(dsn, thread))
    assert [kind for kind, _ in messages] == ["HumanMessage", "AIMessage"] * 4
    assert [text for kind, text in messages if kind == "HumanMessage"] == list(QUESTIONS)
    assert messages[:4] == before[:4]  # earlier turns intact
    assert all(text for kind, text in messages if kind == "AIMessage")

    counts = _executions(log, QUESTIONS[CRASH_TURN])
    runs = 1 if durable else 2
    assert counts == {
        "rag_retrieval": runs,
        "tool_suggestion": runs,
        "memory_retrieval": 2,
        "blocking": 1,
    }
    for question in (QUESTIONS[0], QUESTIONS[1], QUESTIONS[3]):
        assert set(_executions(log, question).values()) == {1}
    print(f"\nexecutions of the crashed turn's tier-1 tasks ({'durable' if durable else 'plain'}):")
    print(dict(counts))


def test_native_branches_for_comparison(tmp_path: Path) -> None:
    """The same crash with the three tasks as LangGraph's native branches (pending writes)."""
    dsn = require_postgres()
    thread = f"native-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "executions.log"
    question = QUESTIONS[0]

    def native(arg: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.reliability._crash_native", dsn, thread, str(log), arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    _kill_when_blocking(native(question), log, question)
    resumed = native("-")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert out.strip() == f"rag_retrieval for {question}; memory_retrieval for {question}"
    counts = _executions(log, question)
    assert counts == {
        "rag_retrieval": 1,
        "tool_suggestion": 1,
        "memory_retrieval": 2,
        "blocking": 1,
    }
    print(f"\nexecutions of the crashed step's branches (native): {dict(counts)}")
