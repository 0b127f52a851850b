"""An HTTP server for the modes: one process on embedded defaults, or several behind one port.

With no variables set it runs on embedded defaults: a SQLite checkpointer and store in the data
directory, circuit breakers in the process, the bundled sample corpus, one worker::

    uvicorn --factory parallel_nodes.modes:create_app

To scale out, every worker shares one PostgreSQL checkpointer and store (conversations survive
whichever worker answers the next turn), one circuit breaker per backend in Redis, and one
``/metrics`` summed over all workers (prometheus_client's multi-process mode)::

    export PARALLEL_NODES_POSTGRES_URL=postgresql://app@db:5432/app
    export PARALLEL_NODES_REDIS_URL=redis://cache:6379/0
    export PROMETHEUS_MULTIPROC_DIR=/run/parallel-nodes/metrics   # empty it before each start
    uvicorn --factory parallel_nodes.modes:create_app --workers 4 --host 0.0.0.0 --port 8000

Routes:

* ``POST /v1/{mode}/threads/{thread_id}/turns`` with ``{"question": str, "user_id": str?}``:
  one turn; answers ``{"answer", "sources", "parallel", "messages", "pid", ...}``.
* ``GET /metrics``: Prometheus text, summed over every worker.
* ``GET /healthz``: ``{"status": "ok", "pid": ...}`` once the worker has opened its pools.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from parallel_nodes.errors import ConfigError

# Why the rest is imported where it is used: uvicorn starts each worker by importing this
# module, and a bad setting must stop it before LangGraph has loaded (seconds per worker).
if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnableConfig

    # Why only for typing: ``import modes`` must work without the [server] extra.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Receive, Scope, Send

    from parallel_nodes import BreakerPolicy, CircuitBreaker

    from ._persistence import Persistence
    from ._workflow import RagWorkflow

__all__ = ["SERVED_MODES", "ServerSettings", "WorkflowFactory", "create_app"]

log = logging.getLogger("parallel_nodes.modes.server")

STARTUP_FAILURE = 3
"""The exit status uvicorn's supervisor reads as "the app cannot start": it stops instead of
starting the worker again (``uvicorn.config.STARTUP_FAILURE``)."""

SERVED_MODES = ("chat", "research")
"""Modes that answer in one request; the manual modes pause for approval and are CLI-only."""

MAX_USER_ID_CHARS = 200
_THREAD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
WorkflowFactory = Callable[[str, Mapping[str, "CircuitBreaker"]], "RagWorkflow"]
"""Builds the workflow of a mode name, given the breakers to pass to ``breakers=``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """The server's configuration, read from the environment by :meth:`from_env`.

    Example:
        >>> settings = ServerSettings.from_env({"PARALLEL_NODES_POSTGRES_URL": "postgresql://db/app"})
        >>> settings.pool_max_size
        4
        >>> ServerSettings.from_env({}).postgres_url is None  # embedded defaults: SQLite
        True
    """

    postgres_url: str | None = None
    """``PARALLEL_NODES_POSTGRES_URL``: where threads (checkpoints) and memories (store) live;
    unset: SQLite in the data directory (``PARALLEL_NODES_DATA_DIR``), for one worker."""
    corpus: Path | None = None
    """``PARALLEL_NODES_CORPUS``: the folder of ``.md``/``.txt``/``.rst`` files to answer from;
    unset: the bundled sample corpus."""
    redis_url: str | None = None
    """``PARALLEL_NODES_REDIS_URL``: shared breaker state; unset gives each worker its own."""
    pool_max_size: int = 4
    """``PARALLEL_NODES_POOL_MAX_SIZE``: PostgreSQL connections per worker process, at most."""
    breaker_prefix: str = "parallel_nodes:breaker:"
    """``PARALLEL_NODES_BREAKER_PREFIX``: the Redis key prefix of the breakers and of the
    per-thread turn locks (``<prefix>thread:<thread_id>``)."""
    durable_tier1: bool = False
    """``PARALLEL_NODES_DURABLE_TIER1=1``: a turn resumed after a worker died does not re-run
    the tier-1 tasks that had finished (``ParallelConfig.durable_tier1``)."""
    turn_lease: float = 120.0
    """Seconds the Redis turn lock lives unless extended; a running turn extends it every
    third of that (not read from the environment)."""
    breaker_policy: BreakerPolicy | None = None
    """When the ``rag_retrieval`` breaker opens (not read from the environment); default:
    ``BreakerPolicy()``."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read and validate the settings.

        Raises:
            ConfigError: A variable is missing or malformed; ``field`` is its name.
        """
        env = os.environ if environ is None else environ
        postgres = env.get("PARALLEL_NODES_POSTGRES_URL", "").strip() or None
        if postgres is not None and not postgres.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "PARALLEL_NODES_POSTGRES_URL",
                "must be a PostgreSQL URL, e.g. postgresql://user@host:5432/dbname, or unset "
                "for SQLite in the data directory",
            )
        raw_corpus = env.get("PARALLEL_NODES_CORPUS", "").strip()
        corpus = Path(raw_corpus).expanduser() if raw_corpus else None
        if corpus is not None and not corpus.is_dir():
            what = "does not exist" if not corpus.exists() else "is not a directory"
            raise ConfigError(
                "PARALLEL_NODES_CORPUS",
                f"{corpus} {what}; it must be a folder of .md/.txt/.rst files, or unset for "
                "the bundled sample",
            )
        redis_url = env.get("PARALLEL_NODES_REDIS_URL", "").strip() or None
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix:")):
            raise ConfigError(
                "PARALLEL_NODES_REDIS_URL",
                "must be a Redis URL, e.g. redis://host:6379/0, or unset for per-worker breakers",
            )
        raw_size = env.get("PARALLEL_NODES_POOL_MAX_SIZE", "4").strip()
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
            raise ConfigError(
                "PARALLEL_NODES_POOL_MAX_SIZE",
                f"must be a whole number from 1 to 100, got {raw_size!r}; keep workers × size "
                "under PostgreSQL's max_connections",
            )
        prefix = env.get("PARALLEL_NODES_BREAKER_PREFIX", "parallel_nodes:breaker:")
        durable = env.get("PARALLEL_NODES_DURABLE_TIER1", "0").strip().lower()
        if durable not in ("0", "1", "true", "false", ""):
            raise ConfigError(
                "PARALLEL_NODES_DURABLE_TIER1", f"must be 1 or 0 (true or false), got {durable!r}"
            )
        return cls(
            postgres_url=postgres,
            corpus=corpus,
            redis_url=redis_url,
            pool_max_size=int(raw_size),
            breaker_prefix=prefix,
            durable_tier1=durable in ("1", "true"),
        )


def _default_factory(retriever: BaseRetriever | None, durable_tier1: bool) -> WorkflowFactory:
    from ._modes import MODES

    def build(mode: str, breakers: Mapping[str, CircuitBreaker]) -> RagWorkflow:
        config = {"durable_tier1": durable_tier1}
        return MODES[mode](retriever=retriever, breakers=breakers, config=config)

    return build


def create_app(
    *,
    settings: ServerSettings | None = None,
    retriever: BaseRetriever | None = None,
    workflow_factory: WorkflowFactory | None = None,
) -> Starlette:
    """The ASGI app; ``uvicorn --factory parallel_nodes.modes:create_app`` calls it bare.

    Called bare, it reads :meth:`ServerSettings.from_env`; a bad variable then prints one line
    naming it and exits the process with ``STARTUP_FAILURE`` (3), so uvicorn stops instead of
    starting the worker again and again.

    Args:
        settings: The configuration; default: :meth:`ServerSettings.from_env`.
        retriever: The retriever of every mode; default: a BM25 index over ``settings.corpus``
            (the bundled sample when unset). A retriever with an async ``aclose()`` is closed
            when the app stops.
        workflow_factory: Builds each mode's workflow instead (``retriever`` is then unused).

    Raises:
        ConfigError: ``settings`` names a corpus that cannot be indexed.
    """
    try:
        from starlette.applications import Starlette
        from starlette.routing import Route
    except ImportError as exc:
        raise ImportError(
            "the server needs Starlette; run: pip install 'langgraph-parallel-nodes[server]'"
        ) from exc
    _log_like_uvicorn()
    if settings is None:
        try:
            config = ServerSettings.from_env()
            factory = workflow_factory or _default_factory(
                retriever or _index(config), config.durable_tier1
            )
        except ConfigError as exc:
            _stop(str(exc))
    else:
        config = settings
        factory = workflow_factory or _default_factory(
            retriever or _index(config), config.durable_tier1
        )

    from parallel_nodes.monitoring import metrics_asgi_app

    from ._persistence import PersistenceError
    from ._thread_lock import ThreadLocks

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                persistence = await _open_store(stack, config)
                redis_client = await _open_redis(stack, config)
            except (ConfigError, PersistenceError) as exc:
                if settings is not None:  # an embedding application handles its own errors
                    raise
                _stop(str(exc))
            breakers = {"rag_retrieval": _breaker(redis_client, config)}
            app.state.locks = ThreadLocks(
                redis_client, prefix=config.breaker_prefix + "thread:", lease=config.turn_lease
            )
            if retriever is not None and callable(getattr(retriever, "aclose", None)):
                stack.push_async_callback(retriever.aclose)  # type: ignore[attr-defined]
            workflows = {mode: factory(mode, breakers) for mode in SERVED_MODES}
            app.state.graphs = {
                mode: (
                    w.compile(checkpointer=persistence.checkpointer, store=persistence.store),
                    w,
                )
                for mode, w in workflows.items()
            }
            _warn_if_embedded(config, persistence, redis_client)
            log.info("worker %d ready: threads in %s", os.getpid(), persistence.where)
            yield

    return Starlette(
        routes=[
            Route("/v1/{mode}/threads/{thread_id}/turns", _turn, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/metrics", _AsgiEndpoint(metrics_asgi_app()), methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _index(config: ServerSettings) -> BaseRetriever:
    """The BM25 index of the configured corpus, built once per worker at start."""
    from ._corpus import SAMPLE_CORPUS, CorpusRetriever

    try:
        return CorpusRetriever.from_directory(config.corpus or SAMPLE_CORPUS, k=4)
    except (ValueError, OSError) as exc:
        raise ConfigError("PARALLEL_NODES_CORPUS", str(exc)) from exc


def _stop(message: str) -> NoReturn:
    """One line on stderr, then exit as uvicorn's "cannot start" (no traceback, no respawn)."""
    if _first_to_report():
        print(f"error: {message}", file=sys.stderr, flush=True)
    # Why os._exit: uvicorn's worker would print SystemExit's traceback from its own thread
    # pool in some versions; the one line above is all the user needs.
    os._exit(STARTUP_FAILURE)


def _first_to_report() -> bool:
    """Under ``--workers N`` every worker fails alike: only the first of them prints."""
    import multiprocessing
    import tempfile

    if multiprocessing.parent_process() is None:
        return True
    marker = Path(tempfile.gettempdir()) / f"parallel-nodes-{os.getppid()}.config-error"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


def _log_like_uvicorn() -> None:
    """Make the per-turn INFO lines appear under uvicorn's default logging config.

    uvicorn configures only its own loggers, so an app's INFO lines would reach no handler.
    Unless the application configured logging itself (the root logger has a handler), the
    server's logger gets one, in uvicorn's format and at its ``--log-level``.
    """
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    try:
        from uvicorn.logging import DefaultFormatter

        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    except ImportError:  # served by another ASGI server
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.getLogger("uvicorn.error").level or logging.INFO)


def _warn_if_embedded(config: ServerSettings, persistence: Persistence, redis: Any) -> None:
    if config.postgres_url is None:
        log.warning(
            "embedded defaults: threads in SQLite at %s and circuit breakers in this process; "
            "run one worker. To scale out, set PARALLEL_NODES_POSTGRES_URL (and "
            "PARALLEL_NODES_REDIS_URL for shared breakers and turn locks)",
            persistence.where,
        )
    elif redis is None:
        log.warning(
            "PARALLEL_NODES_REDIS_URL is unset: each worker keeps its own circuit breakers and "
            "turn locks; set it when running more than one worker"
        )


async def _open_store(stack: AsyncExitStack, config: ServerSettings) -> Persistence:
    from ._persistence import PersistenceError, open_persistence, open_postgres_pool

    if config.postgres_url is None:
        return await stack.enter_async_context(open_persistence())
    try:
        return await stack.enter_async_context(
            open_postgres_pool(config.postgres_url, max_size=config.pool_max_size)
        )
    except PersistenceError as exc:
        raise PersistenceError(f"PARALLEL_NODES_POSTGRES_URL: {exc}") from exc


async def _open_redis(stack: AsyncExitStack, config: ServerSettings) -> Any:
    """The shared Redis client (breakers, thread locks), or ``None`` when none is configured."""
    if config.redis_url is None:
        return None
    import redis.asyncio as redis

    client = redis.Redis.from_url(config.redis_url, socket_connect_timeout=5)
    stack.push_async_callback(client.aclose)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ConfigError(
            "PARALLEL_NODES_REDIS_URL",
            f"cannot reach Redis ({type(exc).__name__}); start it, fix the URL, or unset the "
            "variable for per-worker breakers",
        ) from exc
    return client


def _breaker(client: Any, config: ServerSettings) -> CircuitBreaker:
    from parallel_nodes import BreakerPolicy, CircuitBreaker
    from parallel_nodes.breakers import RedisBreakerStore

    policy = config.breaker_policy or BreakerPolicy()
    if client is None:
        return CircuitBreaker("rag_retrieval", policy=policy)
    store = RedisBreakerStore(client, prefix=config.breaker_prefix)
    return CircuitBreaker("rag_retrieval", policy=policy, store=store)


class _AsgiEndpoint:
    """Serves an ASGI app at exactly one path (a ``Mount`` would redirect to a trailing ``/``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _BadRequest(Exception):
    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


def _error(status: int, field: str, message: str) -> JSONResponse:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"field": field, "message": message}}, status_code=status)


def _json(content: dict[str, Any]) -> JSONResponse:
    from starlette.responses import JSONResponse

    return JSONResponse(content)


async def _healthz(request: Request) -> JSONResponse:
    return _json({"status": "ok", "pid": os.getpid()})


def _parse_turn(body: Any) -> tuple[str, str | None]:
    if not isinstance(body, dict):
        raise _BadRequest(422, "body", 'must be a JSON object like {"question": "..."}')
    from ._workflow import RagWorkflow

    question = body.get("question")
    try:
        RagWorkflow.question_of({"question": question})  # the graph's own check, as a 422
    except ValueError as exc:
        raise _BadRequest(422, "question", str(exc).removeprefix("question: ")) from None
    user_id = body.get("user_id")
    if user_id is not None and (
        not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID_CHARS
    ):
        raise _BadRequest(
            422, "user_id", f"must be a non-empty string of at most {MAX_USER_ID_CHARS} characters"
        )
    return str(question), user_id  # a str: question_of checked it


async def _turn(request: Request) -> JSONResponse:
    from ._thread_lock import LeaseLostError, ThreadBusyError
    from ._workflow import degraded_tasks, source_records

    mode = request.path_params["mode"]
    thread_id = request.path_params["thread_id"]
    if mode not in SERVED_MODES:
        return _error(404, "mode", f"unknown mode; this server serves {list(SERVED_MODES)}")
    if not _THREAD_ID.match(thread_id):
        return _error(422, "thread_id", "must be 1 to 200 of the characters A-Z a-z 0-9 . _ : -")
    try:
        question, user_id = _parse_turn(await request.json())
    except ValueError:
        return _error(400, "body", "is not valid JSON")
    except _BadRequest as bad:
        return _error(bad.status, bad.field, bad.message)
    graph, workflow = request.app.state.graphs[mode]
    inputs = workflow.turn_input(question, user_id=user_id)
    started = time.perf_counter()
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}

    def logged(status: int, degraded: str = "-") -> None:
        # Why no question: INFO logs are kept, and the question is the user's text.
        log.info(
            "turn thread=%s mode=%s status=%d seconds=%.3f degraded=%s pid=%d",
            thread_id,
            mode,
            status,
            time.perf_counter() - started,
            degraded,
            os.getpid(),
        )

    try:
        async with request.app.state.locks.hold(thread_id):
            if workflow.multi_turn and (await graph.aget_state(config)).next:
                # A turn cut short when a worker died: finish it, so its question gets its
                # answer and the history stays question, answer, question, answer.
                await graph.ainvoke(None, config)
            out = await graph.ainvoke(inputs, config)
    except ThreadBusyError:
        logged(409)
        return _error(409, "thread_id", "another turn on this thread is still running; retry")
    except LeaseLostError:
        logged(409)
        return _error(
            409, "thread_id", "the turn lost its lock on the thread; read the thread, then retry"
        )
    except Exception as exc:
        logged(500)
        log.error("turn failed mode=%s pid=%d error=%s", mode, os.getpid(), type(exc).__name__)
        return _error(500, "", f"the turn failed ({type(exc).__name__}); retry it")
    parallel = out.get("parallel") or {}
    degraded = degraded_tasks(parallel)
    logged(200, ",".join(degraded) or "-")
    return _json(
        {
            "mode": mode,
            "thread_id": thread_id,
            "answer": out.get("answer", ""),
            "sources": source_records(out),
            "parallel": parallel,
            "degraded": degraded,
            "messages": len(out.get("messages") or []),
            "pid": os.getpid(),
        }
    )
