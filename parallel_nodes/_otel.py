"""OpenTelemetry spans for tier runs: one per tier, one per task, following the GenAI conventions.

The OTel rule for libraries: depend on ``opentelemetry-api`` only, and do nothing unless the
application installed a tracer provider. Without the API, or with the API's default (proxy or
no-op) provider, :func:`otel_tracer` returns ``None`` and no span object is ever built.

Names and attributes:
    * tier span ``parallel_tier <tier>``, task span ``<operation> <task>`` where the operation is
      ``execute_tool`` for tool tasks, ``retrieval`` for retrievers, ``parallel_task`` otherwise;
    * ``gen_ai.operation.name`` (that operation), ``gen_ai.tool.name`` on tool tasks,
      ``error.type`` on a degraded task (the failure type, or the exception's class for an error);
    * ours under ``parallel_nodes.``: ``tier``, ``task``, ``status``, ``attempts``, ``hedged``,
      ``deadline_left_s``, and on the tier ``outcome``, ``degraded``, ``wall_time_s``;
    * the run's metadata, each key under ``parallel_nodes.metadata.`` (a workflow's mode is
      ``parallel_nodes.metadata.mode``);
    * ``openinference.span.kind`` (``CHAIN``, ``RETRIEVER``, ``TOOL``), so Phoenix draws each
      span with the right icon.

A task still running when it is abandoned ends its span with an error at once; the rest of its
run is a ``parallel_straggler <task>`` span, started at the abandonment, ended when the task
really ends, and *linked* to its tier span (it outlives the tier, so it is not its child).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

try:
    from opentelemetry import trace as _trace
except ImportError:  # the extra is not installed: spans stay off
    _trace = None  # type: ignore[assignment]

__all__ = ["OPERATIONS", "SPAN_KINDS", "otel_tracer", "start_straggler", "trace_ids"]

OPERATIONS: Final[dict[str, str]] = {
    "retriever": "retrieval",
    "tool": "execute_tool",
    "chain": "parallel_task",
}
"""``gen_ai.operation.name`` for each run type."""

SPAN_KINDS: Final[dict[str, str]] = {"retriever": "RETRIEVER", "tool": "TOOL", "chain": "CHAIN"}
"""``openinference.span.kind`` for each run type."""

_SCOPE: Final = "parallel_nodes"
_cache: list[Any] = [None, None]  # [provider, tracer]: one tracer per installed provider
_SET: Final = object()  # stands for a provider when OTel's private global is not there
_PROVIDER_FROM_ENV: Final = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
_GETTER: Final = _trace.get_tracer_provider if _trace is not None else None


def otel_tracer() -> Tracer | None:
    """The library's tracer when the application installed a real tracer provider, else ``None``.

    Checked on every tier run (one global read) rather than once, because applications often
    install their provider after importing their libraries.
    """
    if _trace is None:
        return None
    # OTel's getter looks ``OTEL_PYTHON_TRACER_PROVIDER`` up in os.environ on every call until
    # a provider is set (a microsecond per run); its module global says "none set" for free.
    # The variable names a provider class for the process, so it is read once, at import.
    # (Unless the getter was replaced, as tests do to install a provider of their own.)
    getter = _trace.get_tracer_provider
    if (
        getter is _GETTER
        and getattr(_trace, "_TRACER_PROVIDER", _SET) is None
        and not _PROVIDER_FROM_ENV
    ):
        return None
    provider = getter()
    if provider is _cache[0]:
        tracer: Tracer | None = _cache[1]
        return tracer
    if isinstance(provider, _trace.ProxyTracerProvider | _trace.NoOpTracerProvider):
        tracer = None
    else:
        tracer = provider.get_tracer(_SCOPE, _version())
    _cache[0], _cache[1] = provider, tracer
    return tracer


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("langgraph-parallel-nodes")
    except PackageNotFoundError:  # a checkout on sys.path, not installed
        return None


def trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids as hex, or ``None`` when no span is recording."""
    if _trace is None:
        return None
    ctx = _trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def start_straggler(
    tracer: Tracer,
    tier_span: Span,
    name: str,
    attributes: dict[str, Any],
    atask: asyncio.Future[Any],
) -> None:
    """A span from now until ``atask`` really ends, linked to the tier span it outlived."""
    assert _trace is not None
    span = tracer.start_span(
        f"parallel_straggler {name}",
        context=_trace.set_span_in_context(_trace.INVALID_SPAN),
        links=[_trace.Link(tier_span.get_span_context())],
        attributes={**attributes, "parallel_nodes.straggler": True},
    )

    def ended(fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            exc = fut.exception()
            span.set_attribute("error.type", type(exc).__qualname__)
        span.end()

    atask.add_done_callback(ended)
