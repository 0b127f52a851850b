"""What a task receives besides the state: LangGraph's runtime, config, writer and store.

Most tasks get the node's own values, read once per tier run (``node_sources``). A sync task
whose tier streams, or a task with an idle timeout, gets its own: a writer that goes quiet once
the task is abandoned, and a heartbeat that refreshes its idle timer (``task_sources``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from langchain_core.callbacks.base import BaseCallbackManager
from langgraph.pregel._messages import StreamMessagesHandler  # private: see guarantees.md
from langgraph.runtime import Runtime

if TYPE_CHECKING:
    from ._slot import Slot
    from ._task import Task

__all__ = [
    "CONF",
    "EMPTY",
    "RUNTIME_KEY",
    "channels_of",
    "checkpointer_of",
    "injected",
    "node_sources",
    "task_config",
    "task_sources",
]

EMPTY: Final[dict[str, Any]] = {}
CONF: Final = "configurable"
RUNTIME_KEY: Final = "__pregel_runtime"
_CHECKPOINTER_KEY: Final = "__pregel_checkpointer"
_READ_KEY: Final = "__pregel_read"
"""Where LangGraph keeps a node's ``Runtime``, saver and state reader in its config (private
there, so named here)."""


def channels_of(config: Any) -> Mapping[str, Any] | None:
    """The graph's channels, from the state reader LangGraph puts in a node's config.

    The reader is ``partial(local_read, scratchpad, channels, ...)``, private to LangGraph
    (see guarantees.md); ``None`` when it is not there or not of that shape.
    """
    read = config.get(CONF, EMPTY).get(_READ_KEY) if config else None
    args: tuple[Any, ...] = getattr(read, "args", ())
    channels = args[1] if len(args) > 1 else None
    return channels if isinstance(channels, Mapping) else None


def checkpointer_of(config: Any) -> Any:
    """The graph's checkpointer, from a node's config (``None`` outside a graph)."""
    return config.get(CONF, EMPTY).get(_CHECKPOINTER_KEY) if config else None


def _no_writer(_: Any) -> None:
    """LangGraph's stand-in when nothing streams custom events."""


def node_sources(runtime: Any, config: Any) -> dict[str, Any]:
    """The node's own injected values, shared by every task that needs no writer of its own.

    Never changed once built (a task that needs its own copies it), so a run outside a graph
    shares one.
    """
    if runtime is None and config is None:
        return _NO_SOURCES
    writer = getattr(runtime, "stream_writer", None) if runtime is not None else None
    return {
        "runtime": runtime,
        "config": config,
        "writer": writer or _no_writer,
        "store": getattr(runtime, "store", None) if runtime is not None else None,
    }


_NO_SOURCES: Final[dict[str, Any]] = {
    "runtime": None,
    "config": None,
    "writer": _no_writer,
    "store": None,
}


def _quiet_messages(callbacks: Any, slot: Slot) -> BaseCallbackManager | None:
    """The node's callbacks with LangGraph's token streamer silenced once ``slot`` closes.

    Tokens an abandoned sync task's chat model streams (``stream_mode="messages"``) would
    otherwise reach the stream while the next node runs. ``None`` when nothing streams them.
    """
    if not isinstance(callbacks, BaseCallbackManager):
        return None
    streamers = (StreamMessagesHandler,)
    if not any(isinstance(h, streamers) for h in callbacks.handlers):
        return None

    def quiet(handler: Any) -> Any:
        if not isinstance(handler, streamers):
            return handler
        stream = handler.stream

        def gated(chunk: Any) -> None:
            if not slot.closed:
                stream(chunk)

        twin = copy.copy(handler)  # shares what it has seen, so nothing is emitted twice
        twin.stream = gated
        return twin

    manager = callbacks.copy()
    manager.handlers = [quiet(h) for h in manager.handlers]
    manager.inheritable_handlers = [quiet(h) for h in manager.inheritable_handlers]
    return manager


def task_sources(
    sources: dict[str, Any],
    emit: Callable[[Any], None] | None,
    slot: Slot,
    task: Task,
    clock: Callable[[], float],
) -> dict[str, Any]:
    """The injected values for one task, when its stream writer or heartbeat must differ.

    An abandoned sync task runs on in its thread: what it writes to the stream after the
    tier has moved on is dropped, as a cancelled node writes nothing more. A task with an
    idle timeout gets a ``runtime.heartbeat`` (and, under ``refresh_on="auto"``, a stream
    writer) that refreshes its idle timer, and still reaches the node's own.

    Args:
        clock: The loop's monotonic clock, which is safe to read from a worker thread.
    """
    out = emit or _no_writer
    quiet_when_closed = not task.is_async
    beat_on_write = task.idle_timeout is not None and task.refresh_on == "auto"

    def writer(chunk: Any) -> None:
        if quiet_when_closed and slot.closed:
            return
        if beat_on_write:
            slot.beat = clock()
        out(chunk)

    runtime = sources["runtime"]
    if isinstance(runtime, Runtime):
        overrides: dict[str, Any] = {"stream_writer": writer}
        if task.idle_timeout is not None:
            node_heartbeat = runtime.heartbeat

            def heartbeat() -> None:
                slot.beat = clock()
                node_heartbeat()

            overrides["heartbeat"] = heartbeat
        runtime = runtime.override(**overrides)
    return {**sources, "writer": writer, "runtime": runtime}


def injected(task: Task, sources: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``task.fn`` takes besides the state, from ``sources``; a
    parameter with a default is left out when its value is ``None``."""
    return {
        param: value
        for param, source, has_default in task.inject
        if (value := sources[source]) is not None or not has_default
    }


def task_config(config: Any, sources: dict[str, Any], slot: Slot, task: Task) -> Any:
    """The node's config with the task's own runtime, and (for a sync task) a token stream
    that goes quiet once the task is abandoned."""
    if config is None:
        return None
    conf = {**config.get(CONF, EMPTY), RUNTIME_KEY: sources["runtime"]}
    config = {**config, CONF: conf}
    if not task.is_async:
        callbacks = _quiet_messages(config.get("callbacks"), slot)
        if callbacks is not None:
            config["callbacks"] = callbacks
    return config
