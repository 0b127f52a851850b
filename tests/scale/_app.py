"""The app the scale test runs: ``uvicorn --factory tests.scale._app:make_app``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from parallel_nodes.modes import create_app

from ._retrieval import HttpRetriever

if TYPE_CHECKING:
    from starlette.applications import Starlette

RETRIEVER_URL_VAR = "SCALE_TEST_RETRIEVER_URL"


def make_app() -> Starlette:
    """The modes server, retrieving from the test's backend at ``$SCALE_TEST_RETRIEVER_URL``."""
    return create_app(retriever=HttpRetriever(url=os.environ[RETRIEVER_URL_VAR]))
