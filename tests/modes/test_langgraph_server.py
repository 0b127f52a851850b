"""The ``research`` graph served by ``langgraph dev``, driven over loopback with langgraph-sdk."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._servers import free_port, unavailable

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
QUESTION = "What does a circuit breaker do?"
READY_TIMEOUT = 60.0
RUN_TIMEOUT = 30.0


def _server_config(tmp_path: Path) -> Path:
    """The repository's ``langgraph.json``, with its dependency pointing at the checkout.

    The server runs in a temp folder (it writes ``./.langgraph_api``), so ``"."`` would point
    there; the graph specs are used exactly as shipped.
    """
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    assert all(not spec.split(":")[0].endswith(".py") for spec in config["graphs"].values())
    config["dependencies"] = [str(REPO)]
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _log_tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


async def _wait_ready(url: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                pytest.fail(f"langgraph dev exited with {server.returncode}:\n{_log_tail(log)}")
            try:
                if (await http.get(f"{url}/ok")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    pytest.fail(f"langgraph dev not ready within {READY_TIMEOUT:.0f} s:\n{_log_tail(log)}")


async def _stop(server: asyncio.subprocess.Process) -> None:
    if server.returncode is not None:
        return
    server.terminate()
    try:
        await asyncio.wait_for(server.wait(), timeout=10)
    except TimeoutError:
        server.kill()
        await server.wait()


async def test_research_over_langgraph_dev_server(tmp_path: Path) -> None:
    if any(importlib.util.find_spec(m) is None for m in ("langgraph_cli", "langgraph_api")):
        unavailable(
            "langgraph dev's in-memory server is not installed; "
            "pip install 'langgraph-cli[inmem]>=0.4.40'"
        )
    from langgraph_sdk import get_client

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false"}
    _server_config(tmp_path)  # as ./langgraph.json: the docs run the command from the root
    [documented] = [
        line
        for line in (REPO / "docs" / "modes.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("langgraph dev")
    ]
    # As written, plus a free port; `langgraph` is the venv's console script.
    command = [*documented.split()[1:], "--port", str(port)]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        # cwd=tmp_path: the in-memory runtime persists into ./.langgraph_api.
        server = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("langgraph")),
            *command,
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            await _wait_ready(url, server, log)
            async with get_client(url=url, timeout=RUN_TIMEOUT) as client:
                thread = await client.threads.create()
                result: Any = await client.runs.wait(
                    thread["thread_id"], "research", input={"question": QUESTION}
                )
        finally:
            await _stop(server)

    assert isinstance(result, dict), f"{result!r}\n{_log_tail(log)}"
    assert "[1]" in result["answer"], result["answer"]
    parallel = result["parallel"]
    assert set(parallel) == {"retrieval", "post_generation"}
    for tier in ("retrieval", "post_generation"):
        assert parallel[tier]["degraded"] == []
        assert {task["status"] for task in parallel[tier]["tasks"].values()} == {"ok"}
