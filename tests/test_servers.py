"""The rule in ``tests/_servers.py``: a missing server skips locally and fails under ``CI=true``."""

from __future__ import annotations

import re

import pytest

from tests._servers import free_port, require_postgres, require_redis


@pytest.mark.parametrize("ci", ["", "false"])
def test_unreachable_redis_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    port = free_port()
    with pytest.raises(
        pytest.skip.Exception, match=re.escape(f"Redis is not reachable on 127.0.0.1:{port}")
    ):
        require_redis(port=port)


def test_unreachable_redis_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"Redis is not reachable.*CI=true"):
        require_redis(port=free_port())


def test_unreachable_postgres_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not reachable"):
        require_postgres(dsn)


def test_unreachable_postgres_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    with pytest.raises(pytest.fail.Exception, match=r"PostgreSQL is not reachable.*CI=true"):
        require_postgres(dsn)


@pytest.mark.redis
def test_reachable_redis_gives_a_url() -> None:
    assert require_redis() == "redis://127.0.0.1:6379/0"


@pytest.mark.postgres
def test_reachable_postgres_gives_the_dsn() -> None:
    assert require_postgres() == "postgresql://postgres@127.0.0.1:5432/test"
