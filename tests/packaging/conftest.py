"""One wheel per session, built from a copy of the checkout, for the slow packaging tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging._venv import build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))
