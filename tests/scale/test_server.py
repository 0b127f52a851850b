"""The server's configuration and request checks, in process (no PostgreSQL or Redis needed:
the checks answer before the lifespan's pools would be used)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parallel_nodes.errors import ConfigError
from parallel_nodes.modes import MAX_QUESTION_CHARS, ServerSettings, create_app
from tests._servers import POSTGRES_DSN as DSN

TURNS = "/v1/chat/threads/t1/turns"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PARALLEL_NODES_POSTGRES_URL": "mysql://db/app"}, "PARALLEL_NODES_POSTGRES_URL"),
        ({"PARALLEL_NODES_CORPUS": "/nonexistent/docs"}, "PARALLEL_NODES_CORPUS"),
        ({"PARALLEL_NODES_CORPUS": __file__}, "PARALLEL_NODES_CORPUS"),
        (
            {"PARALLEL_NODES_POSTGRES_URL": DSN, "PARALLEL_NODES_REDIS_URL": "127.0.0.1:6379"},
            "PARALLEL_NODES_REDIS_URL",
        ),
        (
            {"PARALLEL_NODES_POSTGRES_URL": DSN, "PARALLEL_NODES_POOL_MAX_SIZE": "0"},
            "PARALLEL_NODES_POOL_MAX_SIZE",
        ),
        (
            {"PARALLEL_NODES_POSTGRES_URL": DSN, "PARALLEL_NODES_DURABLE_TIER1": "yes please"},
            "PARALLEL_NODES_DURABLE_TIER1",
        ),
    ],
)
def test_settings_name_the_bad_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerSettings.from_env(env)
    assert caught.value.field == variable
    assert "e.g." in str(caught.value) or "must be" in str(caught.value)


def test_settings_read_every_variable() -> None:
    settings = ServerSettings.from_env(
        {
            "PARALLEL_NODES_POSTGRES_URL": DSN,
            "PARALLEL_NODES_REDIS_URL": "redis://127.0.0.1:6379/0",
            "PARALLEL_NODES_POOL_MAX_SIZE": "8",
            "PARALLEL_NODES_BREAKER_PREFIX": "app:",
            "PARALLEL_NODES_DURABLE_TIER1": "1",
        }
    )
    assert (
        settings.redis_url,
        settings.pool_max_size,
        settings.breaker_prefix,
        settings.durable_tier1,
    ) == ("redis://127.0.0.1:6379/0", 8, "app:", True)


def test_no_variables_means_embedded_defaults() -> None:
    settings = ServerSettings.from_env({})
    assert (settings.postgres_url, settings.redis_url, settings.corpus) == (None, None, None)


def test_a_corpus_that_cannot_be_indexed_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ConfigError) as caught:
        create_app(settings=ServerSettings(corpus=tmp_path))
    assert caught.value.field == "PARALLEL_NODES_CORPUS"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=ServerSettings(postgres_url=DSN))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/nope/threads/t1/turns", {"question": "q"}, 404, "mode"),
        ("/v1/interactive/threads/t1/turns", {"question": "q"}, 404, "mode"),
        (TURNS, {}, 422, "question"),
        (TURNS, {"question": "   "}, 422, "question"),
        (TURNS, {"question": "x" * (MAX_QUESTION_CHARS + 1)}, 422, "question"),
        (TURNS, {"question": "q", "user_id": 7}, 422, "user_id"),
        (TURNS, ["q"], 422, "body"),
        ("/v1/chat/threads/a%20b/turns", {"question": "q"}, 422, "thread_id"),
    ],
)
async def test_bad_requests_name_the_field(
    client: httpx.AsyncClient, path: str, body: Any, status: int, field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == status
    assert response.json()["error"]["field"] == field


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(TURNS, content=b"{question")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"


async def test_the_error_does_not_echo_the_question(client: httpx.AsyncClient) -> None:
    question = "secret " * (MAX_QUESTION_CHARS // 7 + 1)
    response = await client.post(TURNS, json={"question": question})
    assert response.status_code == 422
    assert "secret" not in response.text


async def test_healthz_answers_with_the_pid(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
