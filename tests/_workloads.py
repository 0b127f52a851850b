"""Task functions for the remote executors: module-level, so process and Ray workers import them
by name (a test module's local function would not pickle)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def burn(state: dict[str, Any]) -> int:
    """Hold a core for ``state["seconds"]`` (0.2 by default); returns the worker's pid."""
    end = time.perf_counter() + state.get("seconds", 0.2)
    n = 0
    while time.perf_counter() < end:
        n += 1
    return os.getpid()


def stuck(state: dict[str, Any]) -> None:
    """Never return on its own (an hour is forever for a test)."""
    time.sleep(3600)


def slow_side_effect(state: dict[str, Any]) -> str:
    """Sleep ``state["seconds"]``, then write ``state["path"]``: a file that exists only if the
    call was not stopped."""
    time.sleep(state["seconds"])
    Path(state["path"]).write_text("ran to the end")
    return "finished"


def pid(state: dict[str, Any]) -> int:
    """The worker's process id."""
    return os.getpid()


async def async_double(state: dict[str, Any]) -> int:
    """An async function, for executors that give it a loop of its own."""
    return 2 * int(state["x"])


def fails(state: dict[str, Any]) -> None:
    """Always raise, so retries and defaults can be seen."""
    raise ConnectionError("backend down")


def stuck_briefly(state: dict[str, Any]) -> str:
    """Block a worker thread for 1.5 s: past a short timeout, short enough to let the cluster
    shut down after the test."""
    time.sleep(1.5)
    return "late"
