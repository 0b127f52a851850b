"""Where conversations and memories live: SQLite in a per-user data directory by default,
PostgreSQL when given a DSN."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

__all__ = [
    "Persistence",
    "PersistenceError",
    "default_data_dir",
    "open_persistence",
    "open_postgres_pool",
]


class PersistenceError(Exception):
    """The checkpointer or store could not be opened; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Persistence:
    """An open checkpointer and store, to pass to ``compile(checkpointer=..., store=...)``."""

    checkpointer: BaseCheckpointSaver[str]
    store: BaseStore
    where: str
    """Where the data lives, for messages: a file path, or a DSN with its password removed."""
    pool: Any = None
    """The ``psycopg_pool.AsyncConnectionPool`` both share, from :func:`open_postgres_pool`."""


def default_data_dir() -> Path:
    """``$PARALLEL_NODES_DATA_DIR``, else the platform's per-user data directory."""
    override = os.environ.get("PARALLEL_NODES_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path("parallel-nodes", appauthor=False)


def redact(dsn: str) -> str:
    """A DSN without its password, safe to print."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


@asynccontextmanager
async def open_persistence(
    *, postgres_dsn: str | None = None, data_dir: Path | None = None
) -> AsyncIterator[Persistence]:
    """Open a checkpointer and a store, creating their tables on first use.

    Args:
        postgres_dsn: A PostgreSQL DSN (``postgresql://user@host:5432/db``); None for SQLite.
        data_dir: The SQLite directory; ``default_data_dir()`` when None.

    Raises:
        PersistenceError: PostgreSQL is unreachable, or the data directory is not writable.
    """
    if postgres_dsn:
        async with _postgres(postgres_dsn) as persistence:
            yield persistence
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    folder = data_dir or default_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PersistenceError(
            f"cannot create the data directory {folder}: {exc.strerror}; "
            "set PARALLEL_NODES_DATA_DIR to a writable folder"
        ) from exc
    path = folder / "parallel-nodes.sqlite"
    async with (
        AsyncSqliteSaver.from_conn_string(str(path)) as saver,
        AsyncSqliteStore.from_conn_string(str(path)) as store,
    ):
        await saver.setup()
        await store.setup()
        yield Persistence(checkpointer=saver, store=store, where=str(path))


CONNECT_TIMEOUT = 5
"""Seconds to wait for PostgreSQL to accept a connection, unless the DSN sets its own."""


def checked_dsn(dsn: str) -> str:
    """``dsn`` with a ``connect_timeout`` (unless it has one), or a ``PersistenceError``.

    Raises:
        PersistenceError: ``dsn`` is neither a ``postgresql://`` URL nor ``key=value`` pairs.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError:
        raise PersistenceError(
            f"{dsn!r} is not a PostgreSQL DSN; use a URL such as postgresql://user@host:5432/dbname"
        ) from None
    if "connect_timeout" in params:
        return dsn
    return make_conninfo(dsn, connect_timeout=CONNECT_TIMEOUT)


@asynccontextmanager
async def _postgres(dsn: str) -> AsyncIterator[Persistence]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from langgraph.store.postgres.aio import AsyncPostgresStore
    except ImportError as exc:
        raise PersistenceError(
            "PostgreSQL support is not installed; "
            "run: pip install 'langgraph-parallel-nodes[postgres]'"
        ) from exc
    bounded = checked_dsn(dsn)
    try:
        async with (
            AsyncPostgresSaver.from_conn_string(bounded) as saver,
            AsyncPostgresStore.from_conn_string(bounded) as store,
        ):
            await saver.setup()
            await store.setup()
            opened = Persistence(checkpointer=saver, store=store, where=redact(dsn))
            yield opened
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PersistenceError(
            f"cannot reach PostgreSQL at {redact(dsn)}: {first}; "
            "check that the server is running and the DSN is right"
        ) from exc


_SETUP_LOCK = 0x70A7_0DE5
"""The advisory-lock key that serialises table creation when several processes start at once."""


@asynccontextmanager
async def open_postgres_pool(
    dsn: str, *, max_size: int, min_size: int = 1
) -> AsyncIterator[Persistence]:
    """A PostgreSQL checkpointer and store sharing one connection pool, for a server process.

    Args:
        dsn: A PostgreSQL DSN.
        max_size: The most connections the pool opens.
        min_size: The connections it keeps open.

    Raises:
        PersistenceError: PostgreSQL is unreachable.
    """
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    where = redact(dsn)
    bounded = checked_dsn(dsn)
    try:
        # One connection first: an unreachable server fails here within CONNECT_TIMEOUT, in
        # one error, instead of the pool retrying (and logging) until its own timeout.
        probe = await psycopg.AsyncConnection.connect(bounded, autocommit=True)
    except psycopg.Error as exc:
        first = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        raise PersistenceError(
            f"cannot reach PostgreSQL at {where}: {first}; check that the server is running "
            "and the URL is right"
        ) from exc
    await probe.close()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        bounded,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    try:
        await pool.open(wait=True, timeout=10)
    except Exception as exc:
        await pool.close()
        raise PersistenceError(
            f"cannot reach PostgreSQL at {where}; check that the server is running and the URL "
            "is right"
        ) from exc
    try:
        checkpointer = AsyncPostgresSaver(pool)
        store = AsyncPostgresStore(pool)
        # Why the lock: setup() runs migrations, and several workers starting together would
        # race on the same CREATE TABLE and migration rows.
        async with await psycopg.AsyncConnection.connect(bounded, autocommit=True) as c:
            await c.execute("select pg_advisory_lock(%s)", (_SETUP_LOCK,))
            try:
                await checkpointer.setup()
                await store.setup()
            finally:
                await c.execute("select pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        yield Persistence(checkpointer=checkpointer, store=store, where=where, pool=pool)
    finally:
        await pool.close()
