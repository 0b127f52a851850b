"""The README's server command, run exactly as written (plus ``--port``) on a fresh machine.

"Fresh" means none of the server's variables set and an empty home directory, so the data
directory (SQLite) is new. The server is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests._servers import free_port, require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUESTION = "What does a circuit breaker do?"
START_TIMEOUT = 60.0


def readme_commands(prefix: str) -> list[str]:
    """The lines of the README's ``bash`` blocks that start with ``prefix``."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.startswith(prefix)]


SERVER_COMMAND = "uvicorn --factory parallel_nodes.modes:create_app"


def _fresh_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARALLEL_NODES_", "PROMETHEUS_", "XDG_"))
    }
    return {**env, "HOME": str(home), **extra}


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    # The venv's own uvicorn, as `uvicorn` on the PATH is after `. .venv/bin/activate`.
    return [str(Path(sys.executable).with_name(argv[0])), *argv[1:]]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(command: str, env: dict[str, str], log: Path) -> Iterator[Served]:
    port = free_port()
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_argv(command), "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz within {START_TIMEOUT:.0f} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield Served(url, process, log, time.perf_counter() - started)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cited(answer: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer)}


def test_the_readme_shows_the_server_command_bare() -> None:
    assert SERVER_COMMAND in readme_commands("uvicorn ")


def test_the_readme_server_command_works_on_a_fresh_machine(tmp_path: Path) -> None:
    env = _fresh_env(tmp_path)
    with served(SERVER_COMMAND, env, tmp_path / "server.log") as server:
        reply = httpx.post(
            f"{server.url}/v1/chat/threads/work/turns", json={"question": QUESTION}, timeout=30
        )
        # The README's curl line too, against this port.
        [curl] = readme_commands("curl ")
        done = subprocess.run(
            ["bash", "-c", curl.replace("127.0.0.1:8000", server.url.removeprefix("http://"))],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        time.sleep(0.2)  # the log line is written after the response
        log = server.text()
    print(f"\nstarted in {server.started_in:.2f} s")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    sources = {s["n"]: s for s in body["sources"]}
    assert sources, body
    assert _cited(body["answer"]) <= set(sources), (body["answer"], sources)
    assert all(s["source"] and s["heading"] for s in sources.values())

    assert done.returncode == 0, done.stderr
    assert _cited(json.loads(done.stdout)["answer"])

    [warning] = [line for line in log.splitlines() if line.startswith("WARNING:")]
    assert "set PARALLEL_NODES_POSTGRES_URL" in warning
    assert (tmp_path / ".local/share/parallel-nodes/parallel-nodes.sqlite").exists()
    turns = [line for line in log.splitlines() if "turn thread=work mode=chat status=200" in line]
    assert len(turns) == 2, log  # one per turn: the request above and the README's curl
    assert all(line.startswith("INFO:") and "seconds=" in line for line in turns)
    assert QUESTION not in log
    assert "Traceback" not in log


def test_the_server_answers_from_parallel_nodes_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "zebras.md").write_text(
        "# Zebra stripes\n\nZebra stripes confuse biting flies, which fail to land on them.\n",
        encoding="utf-8",
    )
    (corpus / "other.md").write_text("# Tea\n\nGreen tea is steamed, not oxidised.\n")
    env = _fresh_env(tmp_path, PARALLEL_NODES_CORPUS=str(corpus))
    with served(SERVER_COMMAND, env, tmp_path / "server.log") as server:
        reply = httpx.post(
            f"{server.url}/v1/research/threads/z1/turns",
            json={"question": "Why do zebras have stripes?"},
            timeout=30,
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["sources"][0]["source"] == "zebras.md"
    assert "[1]" in reply.json()["answer"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_same_command_with_postgres_and_redis_set_scales_out(tmp_path: Path) -> None:
    env = _fresh_env(
        tmp_path,
        PARALLEL_NODES_POSTGRES_URL=require_postgres(),
        PARALLEL_NODES_REDIS_URL=require_redis(),
    )
    with served(SERVER_COMMAND, env, tmp_path / "server.log") as server:
        reply = httpx.post(
            f"{server.url}/v1/chat/threads/readme-pg-{os.getpid()}/turns",
            json={"question": QUESTION},
            timeout=30,
        )
        log = server.text()
    assert reply.status_code == 200, reply.text
    assert "postgresql://" in log  # "worker ... ready: threads in postgresql://..."
    assert "WARNING" not in log, log


@pytest.mark.parametrize("workers", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_a_bad_setting_stops_uvicorn_at_once_with_one_line(tmp_path: Path, workers: int) -> None:
    env = _fresh_env(tmp_path, PARALLEL_NODES_REDIS_URL="cache:6379")
    command = [*_argv(SERVER_COMMAND), "--port", str(free_port())]
    if workers > 1:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    elapsed = time.perf_counter() - started
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: PARALLEL_NODES_REDIS_URL: must be a Redis URL, e.g. redis://host:6379/0, or "
        "unset for per-worker breakers"
    ], done.stderr
    assert "Traceback" not in done.stderr
    assert "died" not in done.stderr  # no worker was started again
    if workers == 1:
        assert done.returncode == 3  # uvicorn's STARTUP_FAILURE
    else:
        # uvicorn's supervisor stops at the first worker that cannot start; it exits 0 then.
        assert "failed to start, stopping the parent process" in done.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"
