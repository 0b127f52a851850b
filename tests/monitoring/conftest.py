"""Helpers for the monitoring tests: find the Prometheus binaries, or skip (fail under CI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from parallel_nodes.diagnostics import get_default_observers, set_default_observers
from tests._servers import unavailable


def binary(name: str) -> str:
    """The path of ``name`` on PATH, or skip/fail saying how to install it."""
    path = shutil.which(name)
    if path is None:
        unavailable(
            f"{name} is not on PATH; install it with `bash .ci/install-prometheus.sh` "
            "(Debian's prometheus package ships prometheus and promtool)"
        )
        raise AssertionError("unreachable")  # pragma: no cover - skip/fail raise
    return path


@pytest.fixture
def promtool() -> str:
    return binary("promtool")


@pytest.fixture
def prometheus() -> str:
    return binary("prometheus")


@pytest.fixture
def no_default_observers() -> Iterator[None]:
    """Keeps tests from writing into the process-wide default registry."""
    saved = get_default_observers()
    set_default_observers(())
    try:
        yield
    finally:
        set_default_observers(saved)
