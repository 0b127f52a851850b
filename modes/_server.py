"""An HTTP server for the modes, to run as several worker processes behind one port.

Every worker shares one PostgreSQL checkpointer and store (conversations survive whichever
worker answers the next turn), one circuit breaker per backend in Redis, and one ``/metrics``
summed over all workers (prometheus_client's multi-process mode)::

    export PARALLEL_NODES_POSTGRES_URL=postgresql://app@db:5432/app
    export PARALLEL_NODES_REDIS_URL=redis://cache:6379/0
    export PROMETHEUS_MULTIPROC_DIR=/run/parallel-nodes/metrics   # empty it before each start
    uvicorn --factory parallel_nodes.modes:create_app --workers 4 --host 0.0.0.0 --port 8000

Routes:

* ``POST /v1/{mode}/threads/{thread_id}/turns`` with ``{"question": str, "user_id": str?}``:
  one turn; answers ``{"answer", "parallel", "messages", "pid", ...}``.
* ``GET /metrics``: Prometheus text, summed over every worker.
* ``GET /healthz``: ``{"status": "ok", "pid": ...}`` once the worker has opened its pools.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig

from parallel_nodes import BreakerPolicy, CircuitBreaker, ConfigError, RedisBreakerStore
from parallel_nodes.monitoring import metrics_asgi_app

from ._modes import MODES
from ._persistence import Persistence, PersistenceError, open_postgres_pool
from ._thread_lock import ThreadBusyError, ThreadLocks
from ._workflow import RagWorkflow, degraded_tasks

if TYPE_CHECKING:
    # Why only for typing: ``import modes`` must work without the [server] extra.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["SERVED_MODES", "ServerSettings", "WorkflowFactory", "create_app"]

log = logging.getLogger("modes.server")

SERVED_MODES = ("chat", "research")
"""Modes that answer in one request; the manual modes pause for approval and are CLI-only."""

MAX_USER_ID_CHARS = 200
_THREAD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
_BREAKER_POLICY = BreakerPolicy()

WorkflowFactory = Callable[[str, Mapping[str, CircuitBreaker]], RagWorkflow]
"""Builds the workflow of a mode name, given the breakers to pass to ``breakers=``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """The server's configuration, read from the environment by :meth:`from_env`.

    Example:
        >>> settings = ServerSettings.from_env({"PARALLEL_NODES_POSTGRES_URL": "postgresql://db/app"})
        >>> settings.pool_max_size
        4
    """

    postgres_url: str
    """``PARALLEL_NODES_POSTGRES_URL``: where threads (checkpoints) and memories (store) live."""
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
    breaker_policy: BreakerPolicy = _BREAKER_POLICY
    """When the ``rag_retrieval`` breaker opens (not read from the environment)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read and validate the settings.

        Raises:
            ConfigError: A variable is missing or malformed; ``field`` is its name.
        """
        env = os.environ if environ is None else environ
        postgres = env.get("PARALLEL_NODES_POSTGRES_URL", "").strip()
        if not postgres.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "PARALLEL_NODES_POSTGRES_URL",
                "must be set to a PostgreSQL URL, e.g. postgresql://user@host:5432/dbname",
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
            redis_url=redis_url,
            pool_max_size=int(raw_size),
            breaker_prefix=prefix,
            durable_tier1=durable in ("1", "true"),
        )


def _default_factory(retriever: BaseRetriever | None, durable_tier1: bool) -> WorkflowFactory:
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

    Args:
        settings: The configuration; default: :meth:`ServerSettings.from_env`.
        retriever: The retriever of every mode; default: the bundled corpus. A retriever with
            an async ``aclose()`` is closed when the app stops.
        workflow_factory: Builds each mode's workflow instead (``retriever`` is then unused).

    Raises:
        ConfigError: An environment variable is missing or malformed.
    """
    try:
        from starlette.applications import Starlette
        from starlette.routing import Route
    except ImportError as exc:
        raise ImportError(
            "the server needs Starlette; run: pip install 'langgraph-parallel-nodes[server]'"
        ) from exc
    config = settings or ServerSettings.from_env()
    factory = workflow_factory or _default_factory(retriever, config.durable_tier1)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            persistence = await _open_postgres(stack, config)
            redis_client = await _open_redis(stack, config)
            breakers = {"rag_retrieval": _breaker(redis_client, config)}
            app.state.locks = ThreadLocks(redis_client, prefix=config.breaker_prefix + "thread:")
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
            log.info("worker %d ready: pool max_size=%d", os.getpid(), config.pool_max_size)
            yield

    return Starlette(
        routes=[
            Route("/v1/{mode}/threads/{thread_id}/turns", _turn, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/metrics", _AsgiEndpoint(metrics_asgi_app()), methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _open_postgres(stack: AsyncExitStack, config: ServerSettings) -> Persistence:
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
    if client is None:
        return CircuitBreaker("rag_retrieval", policy=config.breaker_policy)
    store = RedisBreakerStore(client, prefix=config.breaker_prefix)
    return CircuitBreaker("rag_retrieval", policy=config.breaker_policy, store=store)


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
    try:
        async with request.app.state.locks.hold(thread_id):
            if workflow.multi_turn and (await graph.aget_state(config)).next:
                # A turn cut short when a worker died: finish it, so its question gets its
                # answer and the history stays question, answer, question, answer.
                await graph.ainvoke(None, config)
            out = await graph.ainvoke(inputs, config)
    except ThreadBusyError:
        return _error(409, "thread_id", "another turn on this thread is still running; retry")
    except Exception as exc:
        log.error("turn failed mode=%s pid=%d error=%s", mode, os.getpid(), type(exc).__name__)
        return _error(500, "", f"the turn failed ({type(exc).__name__}); retry it")
    parallel = out.get("parallel") or {}
    degraded = degraded_tasks(parallel)
    # Why no question or thread id here: INFO logs are kept, and both can carry user text.
    log.info(
        "turn mode=%s pid=%d seconds=%.3f degraded=%s",
        mode,
        os.getpid(),
        time.perf_counter() - started,
        ",".join(degraded) or "-",
    )
    return _json(
        {
            "mode": mode,
            "thread_id": thread_id,
            "answer": out.get("answer", ""),
            "parallel": parallel,
            "degraded": degraded,
            "messages": len(out.get("messages") or []),
            "pid": os.getpid(),
        }
    )
