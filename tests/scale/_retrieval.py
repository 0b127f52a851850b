"""A real retrieval backend on loopback, and the LangChain retriever that calls it over HTTP."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr

DOCUMENTS = (
    ("breakers.md", "Circuit breakers", "A circuit breaker stops calling a failing backend."),
    ("tiers.md", "Tier deadlines", "A tier deadline bounds how long one tier may run."),
    ("hedging.md", "Hedged requests", "A hedged request sends a second call after a delay."),
    ("retries.md", "Retries", "A retry policy repeats a failed call with backoff."),
    ("metrics.md", "Metrics", "Prometheus counters add up across worker processes."),
    ("memory.md", "Memory", "Long-term memories are kept per user in the store."),
)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def search(query: str, k: int) -> list[dict[str, Any]]:
    """The ``k`` documents sharing the most words with ``query``."""
    wanted = _words(query)
    scored = sorted(
        ((len(wanted & _words(f"{h} {t}")), s, h, t) for s, h, t in DOCUMENTS),
        key=lambda row: (-row[0], row[1]),
    )
    return [
        {"chunk_id": source, "source": source, "heading": heading, "score": float(n), "text": text}
        for n, source, heading, text in scored[:k]
    ]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = parse_qs(parts.query)
        if parts.path != "/search" or "q" not in params:
            self.send_error(404)
            return
        body = json.dumps(search(params["q"][0], int(params.get("k", ["4"])[0]))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # Why: one line per request would drown the test's output.


class RetrievalBackend:
    """``GET /search?q=...&k=4`` on 127.0.0.1, served from a thread until :meth:`close`."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/search"
        self._closed = False

    def close(self) -> None:
        """Stop serving and release the port (later calls are refused); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class HttpRetriever(BaseRetriever):
    """Documents from a :class:`RetrievalBackend` (or anything answering like it), via httpx."""

    url: str
    k: int = 4
    timeout: float = 2.0
    _client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def _documents(self, rows: list[dict[str, Any]]) -> list[Document]:
        return [
            Document(page_content=r["text"], metadata={k: v for k, v in r.items() if k != "text"})
            for r in rows
        ]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        response = httpx.get(self.url, params={"q": query, "k": self.k}, timeout=self.timeout)
        response.raise_for_status()
        return self._documents(response.json())

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        response = await self._client.get(self.url, params={"q": query, "k": self.k})
        response.raise_for_status()
        return self._documents(response.json())

    async def aclose(self) -> None:
        """Close the connection pool (the server calls this when it stops)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
