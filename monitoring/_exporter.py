"""Serve ``/metrics``: a standalone HTTP endpoint, or an ASGI app to mount in your server."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["MetricsServer", "metrics_asgi_app", "start_metrics_server"]


def _exposition_registry(registry: CollectorRegistry | None) -> CollectorRegistry:
    """The registry to expose: the given one, else the default one, else in multi-process
    serving (``PROMETHEUS_MULTIPROC_DIR`` set) a fresh one that sums every process's files."""
    if registry is not None:
        return registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Why a fresh registry: the default one holds this process's values only, and would
        # double-count them next to the collector's aggregate.
        aggregate = CollectorRegistry()
        MultiProcessCollector(aggregate)  # type: ignore[no-untyped-call]
        return aggregate
    return REGISTRY


class MetricsServer:
    """A running ``/metrics`` HTTP endpoint, served from a daemon thread.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> with start_metrics_server(0, registry=CollectorRegistry()) as server:
        ...     server.url.startswith("http://127.0.0.1:")
        True
    """

    __slots__ = ("_server", "_thread")

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        """The bound port (useful after asking for port 0)."""
        port: int = self._server.server_address[1]
        return port

    @property
    def address(self) -> str:
        """The bound address."""
        return str(self._server.server_address[0])

    @property
    def url(self) -> str:
        """The endpoint's URL, e.g. ``http://127.0.0.1:9464/metrics``."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetricsServer(url={self.url!r})"


def start_metrics_server(
    port: int,
    *,
    addr: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
) -> MetricsServer:
    """Serve the metrics over HTTP at ``http://addr:port/metrics`` from a daemon thread.

    Args:
        port: The port; ``0`` picks a free one (read it from ``.port``).
        addr: The address to bind; loopback by default, ``"0.0.0.0"`` to be scraped remotely.
        registry: What to expose; by default the default registry, or in multi-process
            serving (``PROMETHEUS_MULTIPROC_DIR`` set) the sum of every process's metrics.

    Returns:
        The running server; ``close()`` it (or use it as a context manager) to stop.

    Raises:
        OSError: If the address cannot be bound, e.g. the port is taken.
    """
    server, thread = start_http_server(port, addr=addr, registry=_exposition_registry(registry))
    return MetricsServer(server, thread)


def metrics_asgi_app(registry: CollectorRegistry | None = None) -> Callable[..., Any]:
    """An ASGI app that serves the metrics, to mount in Starlette, FastAPI or any ASGI server.

    Args:
        registry: What to expose; by default the default registry, or in multi-process
            serving (``PROMETHEUS_MULTIPROC_DIR`` set) the sum of every process's metrics.

    Returns:
        The ASGI application (prometheus_client's ``make_asgi_app``).

    Example:
        >>> from starlette.applications import Starlette
        >>> from starlette.routing import Mount
        >>> app = Starlette(routes=[Mount("/metrics", app=metrics_asgi_app())])
    """
    app: Callable[..., Any] = make_asgi_app(registry=_exposition_registry(registry))
    return app
