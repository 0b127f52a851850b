"""Durable tiers: keep each finished task's value until the tier ends, so a resumed run skips it.

LangGraph checkpoints between nodes, so a process that dies inside a node re-runs the whole node
on resume. A durable tier writes each task's value to the graph's store (``runtime.store``) as
the task finishes, keyed by LangGraph's task id, which is the same when the run resumes from the
same checkpoint. On resume the tier reads those values back and runs only the tasks that had not
finished. Before the tier returns, the entries are deleted.

The store is an optimisation, never a dependency of the answer: a store that fails or is slow
makes the tier run every task, as a plain tier would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Mapping
from typing import Any, Final

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.store.base import BaseStore, PutOp

from ._errors import ConfigError

__all__ = ["TaskMemo", "open_memo"]

_log = logging.getLogger("parallel_nodes")
_SERDE: Final = JsonPlusSerializer()
_ROOT: Final = "parallel_nodes_done"
LOAD_TIMEOUT: Final = 0.5
"""The most a durable tier waits for its store before running every task anyway."""
LOAD_SHARE: Final = 0.1
"""The share of a tier's deadline its store read may take: a hanging store costs the tasks a
tenth of their time, never all of it."""
CLEAR_FLOOR: Final = 0.05
"""The least time the delete gets, even past the deadline: a store round trip or two."""
KEEP_MINUTES: Final = 24 * 60.0
"""How long a kept value lives in a store that supports TTL, if its run is never resumed."""


def _encode(value: Any) -> dict[str, str]:
    kind, data = _SERDE.dumps_typed(value)
    return {"t": kind, "b": base64.b64encode(data).decode("ascii")}


def _decode(record: Mapping[str, Any]) -> Any:
    return _SERDE.loads_typed((str(record["t"]), base64.b64decode(record["b"])))


def _quiet(atask: asyncio.Task[None]) -> None:
    """Retrieve a failed write's error: a run cut short never gathers its writes."""
    if not atask.cancelled() and atask.exception() is not None:
        _log.warning("durable tier: store write failed (%s)", atask.exception())


class TaskMemo:
    """The finished tasks of one tier run, in the store under LangGraph's task id."""

    __slots__ = ("_namespace", "_pending", "_saved", "_store", "_ttl")

    def __init__(self, store: BaseStore, namespace: tuple[str, ...]) -> None:
        self._store = store
        self._namespace = namespace
        self._pending: list[asyncio.Task[None]] = []
        self._saved: list[str] = []
        # Where the store can expire items, a run that is never resumed leaves nothing for good.
        self._ttl = KEEP_MINUTES if store.supports_ttl else None

    async def load(self, budget: float) -> dict[str, Any]:
        """The values kept by an earlier attempt of this run, by task name.

        Args:
            budget: Seconds the read may take: the tasks wait for it, so the caller gives it
                a small share of the deadline (``LOAD_SHARE``).
        """
        try:
            async with asyncio.timeout(min(LOAD_TIMEOUT, budget)):
                items = await self._store.asearch(self._namespace, limit=1000)
            kept = {item.key: _decode(item.value) for item in items}
            self._saved.extend(kept)  # deleted with the new ones when the tier returns
            return kept
        except Exception as exc:  # a broken store must not break the tier
            _log.warning("durable tier: store read failed (%s); running every task", exc)
            return {}

    def save(self, name: str, value: Any) -> None:
        """Keep ``value`` for task ``name``, without waiting for the store."""
        try:
            record = _encode(value)
        except Exception as exc:  # an unserialisable value is re-computed on resume
            _log.warning("durable tier: task %s value not kept (%s)", name, exc)
            return
        self._saved.append(name)
        put = self._store.aput(self._namespace, name, record, index=False, ttl=self._ttl)
        atask: asyncio.Task[None] = asyncio.get_running_loop().create_task(put)
        atask.add_done_callback(_quiet)
        self._pending.append(atask)

    async def clear(self, budget: float) -> None:
        """Delete the kept values once the pending writes have landed.

        Awaited, not left in the background: a process that exits right after the tier (a CLI
        turn, a batch job) would cancel it and leave the values behind.

        Args:
            budget: Seconds left before the tier's deadline; the delete takes at most that
                long, or ``CLEAR_FLOOR`` when less is left. What a slow store misses then
                expires by its TTL, where it has one.
        """
        if not self._saved:
            return
        try:
            async with asyncio.timeout(min(LOAD_TIMEOUT, max(budget, CLEAR_FLOOR))):
                await asyncio.gather(*self._pending, return_exceptions=True)  # logged by _quiet
                ops = [PutOp(self._namespace, name, None) for name in self._saved]
                await self._store.abatch(ops)
        except Exception as exc:
            _log.warning("durable tier: store delete failed (%s)", exc)


def open_memo(tier: str, runtime: Any) -> TaskMemo:
    """The memo for this node's run, from LangGraph's runtime (store and execution info).

    Keyed by thread, checkpoint namespace and LangGraph's task id: the task id alone is the
    same for two threads resumed from one copied checkpoint, which would read each other's
    values.

    Raises:
        ConfigError: The graph has no store or no checkpointer, so nothing could be resumed.
    """
    store = getattr(runtime, "store", None)
    if not isinstance(store, BaseStore):
        raise ConfigError(
            f"{tier}.durable",
            "needs the graph's store: compile(checkpointer=..., store=...), or durable=False",
        )
    info = getattr(runtime, "execution_info", None)
    if info is None or getattr(info, "thread_id", None) is None:
        raise ConfigError(
            f"{tier}.durable",
            "needs a checkpointer and a thread_id to resume from; or set durable=False",
        )
    scope = f"{info.thread_id}\x00{getattr(info, 'checkpoint_ns', '')}"
    # A digest: store namespace labels may not hold the '.' a thread id or namespace may.
    digest = hashlib.sha256(scope.encode()).hexdigest()[:32]
    return TaskMemo(store, (_ROOT, tier, digest, str(info.task_id)))
