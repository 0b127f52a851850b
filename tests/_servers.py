"""Find the test servers (Redis, PostgreSQL) on 127.0.0.1, or skip; under ``CI=true``, fail.

A test that needs a server calls :func:`require_redis` or :func:`require_postgres` first. On a
developer machine without the server the test is skipped with a reason that says what is
missing; in CI (``CI=true``) a missing server is a broken environment, so the test fails.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"

_START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def in_ci() -> bool:
    """Whether the run is in CI, where a missing server fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``CI=true`` fail with it instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing server or tool fails the run)")
    pytest.skip(reason)


def require_redis(*, host: str = REDIS_HOST, port: int = REDIS_PORT) -> str:
    """The URL of a Redis server that answered ``PING``, or skip/fail.

    A URL rather than a client: an asyncio client belongs to one event loop, so each test makes
    its own with ``redis.asyncio.Redis.from_url(url)``.
    """
    try:
        import redis
    except ImportError:
        unavailable("the redis package is not installed; pip install -e '.[redis]'")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: the client's default backoff would spend seconds on a closed port.
    client = redis.Redis(
        host=host,
        port=port,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        unavailable(
            f"Redis is not reachable on {host}:{port} ({exc}); start it with: {_START_REDIS}"
        )
    finally:
        client.close()
    return f"redis://{host}:{port}/0"


def require_postgres(dsn: str = POSTGRES_DSN) -> str:
    """``dsn`` once a PostgreSQL server there answered ``select 1``, or skip/fail."""
    try:
        import psycopg
    except ImportError:
        unavailable("the psycopg package is not installed; pip install -e '.[postgres]'")
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("select 1")
    except (psycopg.Error, OSError) as exc:
        unavailable(
            f"PostgreSQL is not reachable at {dsn} ({' '.join(str(exc).split())}); "
            "start it and create the database: createdb -h 127.0.0.1 -U postgres test"
        )
    return dsn


def free_port() -> int:
    """A local TCP port with nothing listening on it (for testing the unreachable path)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
