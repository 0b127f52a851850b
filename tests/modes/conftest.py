"""Keep every test's index cache (and other data) out of the user's data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("PARALLEL_NODES_DATA_DIR", str(data_dir))
    return data_dir
