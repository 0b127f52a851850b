"""Point 4: a task gets what LangGraph injects into a node, by name or annotation, never by
arity; a signature nothing could fill is refused when the ``Task`` is built."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import StreamWriter

from parallel_nodes import Task, Tier, run_tier
from parallel_nodes.errors import ConfigError
from tests.conformance._graphs import CONFIG, as_tier, one_node, saver


async def by_config(state: Any, config: RunnableConfig) -> dict[str, Any]:
    return {"answer": config["configurable"]["thread_id"]}


async def with_a_default(state: Any, k: int = 3) -> dict[str, Any]:
    return {"answer": k}


def sync_writer(state: Any, writer: StreamWriter) -> dict[str, Any]:
    writer({"note": "hello"})
    return {"answer": "wrote"}


async def by_store(state: Any, *, store: BaseStore) -> dict[str, Any]:
    item = await store.aget(("ns",), "k")
    assert item is not None
    return {"answer": item.value["v"]}


async def annotated(state: Any, rt: Runtime[Any], cfg: RunnableConfig) -> dict[str, Any]:
    assert rt.store is not None
    return {"answer": cfg["configurable"]["thread_id"]}


def returns_a_coroutine(state: Any) -> Any:
    async def later() -> dict[str, Any]:
        return {"answer": "awaited"}

    return later()


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (by_config, "t1"),
        (with_a_default, 3),
        (sync_writer, "wrote"),
        (by_store, "stored"),
    ],
    ids=["config", "default", "writer", "store"],
)
async def test_a_node_function_works_unchanged_as_a_task(fn: Any, expected: Any) -> None:
    store = InMemoryStore()
    await store.aput(("ns",), "k", {"v": "stored"})
    plain = one_node(fn, checkpointer=saver(), store=store)
    tiered = one_node(
        as_tier(Task("node", fn, timeout=5, returns="update")), checkpointer=saver(), store=store
    )
    outs = []
    for graph in (plain, tiered):
        custom: list[Any] = []
        final: Any = None
        stream: Any = graph.astream({"question": "q"}, CONFIG, stream_mode=["custom", "values"])
        async for mode, chunk in stream:
            if mode == "custom" and "note" in chunk:
                custom.append(chunk)
            elif mode == "values":
                final = chunk
        outs.append((final["answer"], custom))
    assert outs[0] == outs[1]
    assert outs[0][0] == expected


async def test_an_annotation_asks_for_the_value_whatever_the_parameter_name() -> None:
    # LangGraph injects by name only; a task also accepts the annotation, as its fix says.
    tiered = one_node(
        as_tier(Task("node", annotated, timeout=5, returns="update")),
        checkpointer=saver(),
        store=InMemoryStore(),
    )
    assert (await tiered.ainvoke({}, CONFIG))["answer"] == "t1"


async def test_a_runnables_ainvoke_is_a_task_and_gets_the_nodes_config() -> None:
    runnable = RunnableLambda(lambda s: get_config()["configurable"]["thread_id"])
    plain_runnable: RunnableLambda[Any, Any] = RunnableLambda(
        lambda s: {"answer": get_config()["configurable"]["thread_id"]}
    )
    tiered = one_node(as_tier(Task("answer", runnable.ainvoke, timeout=5)), checkpointer=saver())
    plain = one_node(plain_runnable, checkpointer=saver())
    assert (await tiered.ainvoke({}, CONFIG))["answer"] == "t1"
    assert (await plain.ainvoke({}, CONFIG))["answer"] == "t1"
    # A Runnable itself is taken as its ainvoke.
    direct = one_node(as_tier(Task("answer", runnable, timeout=5)), checkpointer=saver())
    assert (await direct.ainvoke({}, CONFIG))["answer"] == "t1"


async def test_a_sync_callable_returning_a_coroutine_is_awaited() -> None:
    tiered = one_node(as_tier(Task("node", returns_a_coroutine, timeout=5, returns="update")))
    assert (await tiered.ainvoke({}))["answer"] == "awaited"


def test_a_signature_nothing_could_fill_is_refused_with_the_task_and_fix_named() -> None:
    async def two_positional(state: Any, extra: Any) -> None: ...

    async def no_state() -> None: ...

    async def keyword_state(*, state: Any) -> None: ...

    with pytest.raises(ConfigError, match=r"rag\.fn: parameter 'extra'.*name it runtime"):
        Task("rag", two_positional, timeout=1)
    for fn in (no_state, keyword_state):
        with pytest.raises(ConfigError, match=r"rag\.fn: must take the state"):
            Task("rag", fn, timeout=1)


async def test_a_function_that_raises_before_its_first_await_keeps_its_siblings() -> None:
    def broken(state: Any) -> Any:  # not async: raises when called, before any await
        raise RuntimeError("boom")

    async def fine(state: Any) -> str:
        await asyncio.sleep(0)
        return "ok"

    class Callable_:
        async def __call__(self, state: Any) -> str:
            raise RuntimeError("boom")

    tier = Tier(
        "t",
        [
            Task("a", broken, timeout=1),
            Task("b", fine, timeout=1),
            Task("c", Callable_(), timeout=1),
        ],
        timeout=1,
    )
    result = await run_tier(tier, {}, observers=())
    assert result.values["b"] == "ok"
    assert set(result.degraded) == {"a", "c"}
