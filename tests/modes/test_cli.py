"""The command-line tool, run as a user runs it: in a subprocess."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

TASK_CHOICES = (
    "rag_retrieval",
    "tool_suggestion",
    "memory_retrieval",
    "quality_scoring",
    "citation_extraction",
    "cost_tracking",
)
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
        (("ask", "q", "--corpus", __file__), "--corpus"),
        (("ask",), "question"),
        (("chat", "--mode", "research"), "--mode"),
        (("ask", "x" * 5000), "question"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message.lower() in lines[0].lower()  # older click spells the argument QUESTION
    assert "Traceback" not in done.stderr


def _one_line(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_unreachable_postgres_is_a_clear_error() -> None:
    done = _cli("chat", "--postgres", "postgresql://nobody@127.0.0.1:1/none", stdin="hi\n")
    _one_line(done, 1, "--postgres", "cannot reach PostgreSQL")


def test_a_postgres_value_that_is_no_dsn_is_one_line_naming_the_flag() -> None:
    done = _cli("chat", "--postgres", "notadsn", stdin="hi\n")
    _one_line(done, 1, "--postgres", "'notadsn' is not a PostgreSQL DSN", "postgresql://")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str) -> None:
    args = ("--debug",) if how == "flag" else ()
    env = {"PARALLEL_NODES_DEBUG": "1"} if how == "env" else {}
    done = _cli(*args, "chat", "--postgres", "notadsn", stdin="hi\n", env=env)
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: --postgres")


def _without_keys() -> dict[str, str]:
    return {k: "" for k in os.environ if k.endswith("_API_KEY") or k.startswith("OPENAI_")}


def test_a_remote_model_without_its_key_is_one_line_naming_the_variable() -> None:
    pytest.importorskip("langchain_openai", reason="pip install langchain langchain-openai")
    env = {k: v for k, v in os.environ.items() if k not in _without_keys()}
    done = subprocess.run(
        [sys.executable, "-m", "parallel_nodes.modes", "ask", "q", "--model", "openai:gpt-4o-mini"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PARALLEL_NODES_METRICS": "0"},
        check=False,
    )
    _one_line(done, 2, "--model", "OPENAI_API_KEY")


def test_an_unreachable_model_endpoint_fails_fast_in_one_line() -> None:
    pytest.importorskip("langchain_openai", reason="pip install langchain langchain-openai")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    # Fast means next to an offline answer, measured alongside (the machine may be loaded):
    # the client's retries with backoff would take several times as long.
    started = time.perf_counter()
    _cli("ask", QUESTION, "--json")
    offline = time.perf_counter() - started
    started = time.perf_counter()
    done = _cli("ask", QUESTION, "--json", "--model", "openai:gpt-4o-mini", env=env)
    elapsed = time.perf_counter() - started
    _one_line(done, 1, "cannot reach the model's endpoint", "OPENAI_BASE_URL")
    assert elapsed < 3 * offline, f"took {elapsed:.1f} s, an offline answer {offline:.1f} s"


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    done = _cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"parallel-nodes {version('langgraph-parallel-nodes')}"


_HARNESS = """
import sys
from parallel_nodes.modes._cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("langgraph", "langchain_core", "bm25s") if m in sys.modules)
print("HEAVY", heavy, code, file=sys.stderr)
"""


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("ask", "--help")])
def test_help_and_version_do_not_import_langgraph(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HARNESS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr.strip().splitlines()[-1] == "HEAVY [] 0", done.stderr


def test_the_task_choices_are_the_engines_tasks() -> None:
    from parallel_nodes import ParallelBaseWorkflow
    from parallel_nodes.modes._cli import TASK_NAMES

    assert (*ParallelBaseWorkflow.TIER1_TASKS, *ParallelBaseWorkflow.TIER2_TASKS) == TASK_NAMES


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_every_option_has_help(command: str) -> None:
    import typer

    from parallel_nodes.modes._cli import app

    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    options = [p for p in cmd.params if p.param_type_name == "option"]
    assert len(options) >= 8
    for option in options:
        assert option.help, f"{command} {option.opts[0]} has no help"


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (("ask", "q", "--mode", "telepathy"), ["research", "interactive"]),
        (("chat", "--mode", "interactive"), ["chat", "chat-manual"]),
        (("ask", "q", "--disable-task", "web_search"), list(TASK_CHOICES)),
    ],
)
def test_modes_and_task_names_are_choices(args: tuple[str, ...], choices: list[str]) -> None:
    line = _one_line(_cli(*args), 2, "Invalid value for")
    assert ", ".join(f"'{c}'" for c in choices) in line


# -- approval prompts ---------------------------------------------------------------------------

DAYS = "How many days between 2026-01-01 and 2026-03-01?"


def test_enter_at_the_approval_prompts_keeps_everything() -> None:
    plain = json.loads(_cli("ask", DAYS, "--json").stdout)
    done = _cli("ask", DAYS, "--mode", "interactive", "--json", stdin="\n\n")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [s["chunk_id"] for s in data["sources"]] == [s["chunk_id"] for s in plain["sources"]]
    assert done.stderr.count("keep which sources?") == 1  # asked once, not again


def test_enter_at_the_approval_prompt_in_chat_manual_answers_the_turn(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    stdin = f"{DAYS}\n\n\n/quit\n"
    done = _cli("chat", "--mode", "chat-manual", "--thread", "m1", stdin=stdin, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("assistant>") == 1
    assert done.stderr.count("keep which sources?") == 1


def test_bad_approval_input_is_asked_again() -> None:
    stdin = "99\nabc\n1\nnot_a_tool\n\n"
    done = _cli("ask", DAYS, "--mode", "interactive", "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("keep which sources?") == 3
    assert "choose numbers from 1 to" in done.stderr
    assert "'abc' is not a list of numbers" in done.stderr
    assert "not_a_tool not suggested" in done.stderr
    assert [s["n"] for s in json.loads(done.stdout)["sources"]] == [1]


def test_end_of_input_at_an_approval_prompt_exits_130_cleanly() -> None:
    done = _cli("ask", DAYS, "--mode", "interactive", stdin="99\n")
    assert done.returncode == 130
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "approval cancelled (standard input closed); nothing was applied"
    )
    assert done.stdout == ""


def _interrupt_at(prompt: str, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """Start the CLI, wait until it shows ``prompt``, press Ctrl-C once (SIGINT)."""
    with subprocess.Popen(
        [sys.executable, "-m", "parallel_nodes.modes", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PARALLEL_NODES_METRICS": "0", "COLUMNS": "120", **env},
    ) as process:
        return _press_ctrl_c(process, prompt)


def _press_ctrl_c(process: subprocess.Popen[bytes], prompt: str) -> tuple[int, str]:
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.write(f"{DAYS}\n".encode())
    process.stdin.flush()
    seen = b""
    deadline = time.monotonic() + 60
    os.set_blocking(process.stderr.fileno(), False)
    try:
        while prompt.encode() not in seen:
            assert time.monotonic() < deadline, seen.decode()
            chunk = process.stderr.read()
            seen += chunk or b""
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)  # the first Ctrl-C is enough: no line typed after it
        os.set_blocking(process.stderr.fileno(), True)
        seen += process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    return code, seen.decode()


def test_ctrl_c_at_an_approval_prompt_exits_130_and_the_thread_asks_again(
    tmp_path: Path,
) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    args = ("chat", "--mode", "chat-manual", "--thread", "c1")
    code, stderr = _interrupt_at("keep which sources?", *args, env=env)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "interrupted; nothing was applied"
    # Nothing half-applied: reopening the thread asks the same approval, then answers it.
    done = _cli(*args, stdin="\n\n/quit\n", env=env)
    assert done.returncode == 0, done.stderr
    assert "resuming the unfinished turn" in done.stderr
    assert done.stderr.count("keep which sources?") == 1
    assert done.stdout.count("assistant>") == 1


# -- chat ----------------------------------------------------------------------------------------


def test_help_and_quit_in_chat_are_commands_not_questions(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    done = _cli("chat", stdin="/help\n/what\n/quit\nnot asked\n", env=env)
    assert done.returncode == 0, done.stderr
    assert "/quit, /exit" in done.stderr
    assert "unknown command /what; /help lists the commands" in done.stderr
    assert "assistant>" not in done.stdout


def test_reopening_a_thread_says_how_many_turns_were_kept(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    first = _cli("chat", "--thread", "work", stdin=f"{QUESTION}\nHow does it recover?\n", env=env)
    assert "new thread work" in first.stderr
    second = _cli("chat", "--thread", "work", stdin="/quit\n", env=env)
    assert "resuming thread work: 2 earlier turns" in second.stderr


def test_chat_prints_the_numbered_sources_after_every_answer(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    done = _cli("chat", stdin=f"{QUESTION}\nWhat is a tier deadline?\n", env=env)
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("assistant>")[1:]
    assert len(answers) == 2
    for answer in answers:
        text, _, sources = answer.partition("sources:")
        listed = {int(n) for n in re.findall(r"^  \[(\d+)\] \S+", sources, re.M)}
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        assert cited, text
        assert cited <= listed, (cited, sources)


def test_chat_json_prints_one_object_per_answer(tmp_path: Path) -> None:
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path)}
    stdin = f"{QUESTION}\n/help\nWhat is a tier deadline?\n"
    done = _cli("chat", "--json", "--thread", "j1", stdin=stdin, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, question in zip(lines, (QUESTION, "What is a tier deadline?"), strict=True):
        data = json.loads(line)
        assert data["thread_id"] == "j1"
        assert data["question"] == question
        assert data["answer"]
        assert data["sources"][0]["n"] == 1


# -- every command the README and the modes page show, run as written ----------------------------

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> list[tuple[str, str]]:
    found = []
    for page in ("README.md", "docs/modes.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
            found += [(page, line) for line in block.splitlines() if line.startswith("parallel-")]
    return found


def test_the_docs_show_the_commands() -> None:
    assert len(_documented()) >= 12


@pytest.mark.parametrize(("page", "command"), _documented())
def test_every_documented_command_runs_as_written(page: str, command: str, tmp_path: Path) -> None:
    from tests._servers import require_postgres

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PARALLEL_NODES_DATA_DIR": str(tmp_path),
        "PARALLEL_NODES_METRICS": "0",
    }
    if "$PARALLEL_NODES_POSTGRES_URL" in command:
        env["PARALLEL_NODES_POSTGRES_URL"] = require_postgres()
    stdin = f"{QUESTION}\n\n\n/quit\n" if " chat" in command else "\n\n"
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"{page}: {command}\n{done.stderr}"
    assert done.stdout.strip(), f"{page}: {command} printed nothing"
    assert "Traceback" not in done.stderr


def test_ask_on_a_corpus_says_what_it_skipped_and_then_reads_the_cache(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "breakers.md").write_text(
        "# Circuit breakers\n\nA circuit breaker stops calls to a backend that keeps failing.\n",
        encoding="utf-8",
    )
    (corpus / "blob.md").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    env = {"PARALLEL_NODES_DATA_DIR": str(tmp_path / "data")}
    first = _cli("ask", QUESTION, "--corpus", str(corpus), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert "corpus: 1 files" in first.stderr
    assert "indexed; skipped 1 binary" in first.stderr
    assert json.loads(first.stdout)["answer"]
    second = _cli("ask", QUESTION, "--corpus", str(corpus), "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert "loaded from the index cache; skipped 1 binary" in second.stderr
