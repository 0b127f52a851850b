"""``CachePolicy`` on a task works as it does on a node: same keys, same hits, same misses.

LangGraph caches a node's writes in the graph's cache (``compile(cache=...)``); a task's value
lives in the engine's cache (``Engine(cache=...)``), which may be the same object. Each test
runs one function as a plain cached node and as a cached task, and counts the calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.cache.memory import InMemoryCache
from langgraph.cache.sqlite import SqliteCache
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy

from parallel_nodes import Engine, Task, Tier, parallel_node
from parallel_nodes.errors import ConfigError
from tests.conformance._graphs import State


def _counted(fail_first: bool = False) -> tuple[Any, list[str]]:
    calls: list[str] = []

    async def answer(state: Any) -> str:
        calls.append(state["question"])
        if fail_first and len(calls) == 1:
            raise RuntimeError("the backend is down")
        return f"answer to {state['question']}"

    return answer, calls


def _plain(fn: Any, cache: Any, policy: CachePolicy[Any]) -> Any:
    async def node(state: Any) -> dict[str, Any]:
        return {"answer": await fn(state)}

    builder: StateGraph[Any] = StateGraph(State)
    builder.add_node("node", node, cache_policy=policy)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(cache=cache)


def _tiered(fn: Any, cache: Any, policy: CachePolicy[Any]) -> Any:
    task = Task("answer", fn, timeout=5.0, default="no answer", cache_policy=policy)
    node = parallel_node(Tier("t", [task], timeout=5.0), engine=Engine(cache=cache))
    builder: StateGraph[Any] = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(cache=cache)  # one cache for the graph and its tasks


@pytest.mark.parametrize("build", [_plain, _tiered], ids=["plain node", "task"])
async def test_a_second_run_on_the_same_input_is_a_hit_and_a_new_input_a_miss(build: Any) -> None:
    fn, calls = _counted()
    graph = build(fn, InMemoryCache(), CachePolicy())
    first = await graph.ainvoke({"question": "q1"})
    again = await graph.ainvoke({"question": "q1"})
    other = await graph.ainvoke({"question": "q2"})
    assert first["answer"] == again["answer"] == "answer to q1"
    assert other["answer"] == "answer to q2"
    assert calls == ["q1", "q2"]


@pytest.mark.parametrize("build", [_plain, _tiered], ids=["plain node", "task"])
async def test_the_key_is_what_key_func_makes_of_the_state(build: Any) -> None:
    fn, calls = _counted()
    by_length = CachePolicy(key_func=lambda state: str(len(state["question"])))
    graph = build(fn, InMemoryCache(), by_length)
    await graph.ainvoke({"question": "aa"})
    out = await graph.ainvoke({"question": "bb"})  # same length: the cached answer
    assert out["answer"] == "answer to aa"
    assert calls == ["aa"]


def test_the_sync_api_reads_the_same_cache(tmp_path: Any) -> None:
    fn, calls = _counted()
    cache: SqliteCache[Any] = SqliteCache(path=str(tmp_path / "cache.db"))
    graph = _tiered(fn, cache, CachePolicy())
    assert graph.invoke({"question": "q"})["answer"] == "answer to q"
    # A new graph, engine and cache object on the same file: the value outlives the process's
    # objects, as the graph's own entries do.
    again = _tiered(fn, SqliteCache(path=str(tmp_path / "cache.db")), CachePolicy())
    assert again.invoke({"question": "q"})["answer"] == "answer to q"
    assert calls == ["q"]


async def test_a_failure_is_not_cached_and_the_next_run_calls_again() -> None:
    fn, calls = _counted(fail_first=True)
    graph = _tiered(fn, InMemoryCache(), CachePolicy())
    first = await graph.ainvoke({"question": "q"})
    second = await graph.ainvoke({"question": "q"})
    third = await graph.ainvoke({"question": "q"})
    assert first["answer"] == "no answer"  # the default, not stored
    assert second["answer"] == third["answer"] == "answer to q"
    assert calls == ["q", "q"]


async def test_a_hit_is_marked_cached_in_the_result() -> None:
    from parallel_nodes import run_tier

    fn, calls = _counted()
    engine = Engine(cache=InMemoryCache())
    tier = Tier("t", [Task("answer", fn, timeout=5.0, cache_policy=CachePolicy())], timeout=5.0)
    miss = await run_tier(tier, {"question": "q"}, engine=engine)
    hit = await run_tier(tier, {"question": "q"}, engine=engine)
    assert (miss.tasks["answer"].cached, hit.tasks["answer"].cached) == (False, True)
    assert hit.values == miss.values == {"answer": "answer to q"}
    assert calls == ["q"]


async def test_without_a_cache_nothing_is_cached_as_in_a_graph_compiled_without_one() -> None:
    fn, calls = _counted()
    plain, tiered = _plain(fn, None, CachePolicy()), _tiered(fn, None, CachePolicy())
    for graph in (plain, tiered):
        await graph.ainvoke({"question": "q"})
        await graph.ainvoke({"question": "q"})
    assert calls == ["q"] * 4


@pytest.mark.parametrize("build", [_plain, _tiered], ids=["plain node", "task"])
async def test_an_entry_expires_after_its_ttl(build: Any) -> None:
    # Real time: InMemoryCache dates its entries with time.time().
    fn, calls = _counted()
    graph = build(fn, InMemoryCache(), CachePolicy(ttl=1))
    await graph.ainvoke({"question": "q"})
    await graph.ainvoke({"question": "q"})
    await asyncio.sleep(1.2)  # past the ttl by the wall clock too, whatever the loop's clock
    await graph.ainvoke({"question": "q"})
    assert calls == ["q", "q"]


def test_two_tasks_of_the_same_name_and_different_code_do_not_share_entries() -> None:
    from parallel_nodes._cache import namespace

    async def one(state: Any) -> int:
        return 1

    async def two(state: Any) -> int:
        return 2

    policy: CachePolicy[Any] = CachePolicy()
    first = Task("x", one, timeout=1.0, cache_policy=policy)
    assert namespace(first) != namespace(Task("x", two, timeout=1.0, cache_policy=policy))
    assert namespace(first) == namespace(Task("x", one, timeout=2.0, cache_policy=policy))


def test_a_cache_policy_that_is_not_one_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"answer\.cache_policy"):
        Task("answer", lambda s: 1, timeout=1.0, cache_policy={"ttl": 5})  # type: ignore[arg-type]
