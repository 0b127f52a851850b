"""A task names its breaker (``Breaker``), and the engine that runs it holds the handle: tasks
naming one breaker share it, two engines keep two, a Redis store shares one between engines
(processes), bad input is a one-line ``ConfigError``, and a ``CircuitBreaker`` instance still
works. The graphs are real compiled LangGraph graphs."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from prometheus_client import CollectorRegistry

from parallel_nodes import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    Engine,
    ParallelState,
    Task,
    TaskStatus,
    Tier,
    parallel_node,
    run_tier,
)
from parallel_nodes.breakers import InMemoryBreakerStore, RedisBreakerStore
from parallel_nodes.errors import ConfigError
from parallel_nodes.monitoring import EngineCollector

SEARCH = Breaker("search", policy=BreakerPolicy(failure_threshold=2, recovery_timeout=30))


class State(ParallelState, total=False):
    question: str
    web: list[str]
    news: list[str]


class Backend:
    """The search backend both tasks call: counts its calls, fails while ``down``."""

    def __init__(self, *, down: bool = True) -> None:
        self.down = down
        self.calls = 0

    async def __call__(self, state: Any) -> list[str]:
        self.calls += 1
        if self.down:
            raise ConnectionError("search is down")
        return [f"hit:{state['question']}"]


def _tier(backend: Backend, breaker: Breaker | CircuitBreaker = SEARCH) -> Tier:
    return Tier(
        "retrieval",
        [
            Task("web", backend, timeout=1, default_factory=list, breaker=breaker),
            Task("news", backend, timeout=1, default_factory=list, breaker=breaker),
        ],
        timeout=2,
    )


def _graph(tier: Tier, engine: Engine) -> Any:
    builder = StateGraph(State)
    builder.add_node("fanout", parallel_node(tier, engine=engine, observers=()))
    builder.add_edge(START, "fanout")
    builder.add_edge("fanout", END)
    return builder.compile()


def _statuses(out: dict[str, Any]) -> dict[str, str]:
    tasks = out["parallel"]["retrieval"]["tasks"]
    return {name: tasks[name]["status"] for name in ("web", "news")}


async def test_two_tasks_naming_one_breaker_share_it_through_one_engine() -> None:
    backend, engine = Backend(), Engine()
    graph = _graph(_tier(backend), engine)
    first = await graph.ainvoke({"question": "q"})
    assert _statuses(first) == {"web": "error", "news": "error"}
    assert engine.breaker("search").state is BreakerState.OPEN  # two failures, one breaker
    second = await graph.ainvoke({"question": "q"})
    assert _statuses(second) == {"web": "circuit_open", "news": "circuit_open"}
    assert second["web"] == second["news"] == []
    assert backend.calls == 2  # the open breaker called nothing
    assert engine.breaker(SEARCH) is engine.breaker("search")


async def test_two_engines_keep_two_breakers_for_one_task() -> None:
    backend = Backend()
    tier = _tier(backend)
    one, two = Engine(), Engine()
    await _graph(tier, one).ainvoke({"question": "q"})
    assert one.breaker("search").state is BreakerState.OPEN
    out = await _graph(tier, two).ainvoke({"question": "q"})
    assert _statuses(out) == {"web": "error", "news": "error"}  # called, not refused
    assert backend.calls == 4
    assert one.breaker("search") is not two.breaker("search")


@pytest.mark.redis
async def test_a_redis_store_opens_the_breaker_for_both_engines(
    redis_url: str,
    redis_prefix: str,
) -> None:
    import redis.asyncio as redis

    url, prefix = redis_url, redis_prefix
    clients = [redis.Redis.from_url(url), redis.Redis.from_url(url, decode_responses=True)]
    try:
        # Two engines on two clients: the two worker processes of one deployment.
        a, b = (Engine(breakers=RedisBreakerStore(c, prefix=prefix)) for c in clients)
        backend = Backend()
        tier = _tier(backend)
        await _graph(tier, a).ainvoke({"question": "q"})
        assert await b.breaker(SEARCH).refresh() is BreakerState.OPEN
        out = await _graph(tier, b).ainvoke({"question": "q"})
        assert _statuses(out) == {"web": "circuit_open", "news": "circuit_open"}
        assert backend.calls == 2
        assert await clients[0].exists(prefix + "search") == 1
    finally:
        for c in clients:
            await c.aclose()


async def test_a_circuit_breaker_instance_still_works_and_is_shared_by_every_engine() -> None:
    legacy = CircuitBreaker("legacy", policy=BreakerPolicy(failure_threshold=2))
    backend = Backend()
    tier = _tier(backend, legacy)
    await _graph(tier, Engine()).ainvoke({"question": "q"})
    assert legacy.state is BreakerState.OPEN
    out = await _graph(tier, Engine()).ainvoke({"question": "q"})
    assert _statuses(out) == {"web": "circuit_open", "news": "circuit_open"}
    assert backend.calls == 2


async def test_a_store_given_to_the_engine_keeps_its_own_clock() -> None:
    store_now, engine_now = [0.0], [0.0]
    store = InMemoryBreakerStore(clock=lambda: store_now[0])
    engine = Engine(clock=lambda: engine_now[0], breakers=store)
    backend = Backend()
    tier = _tier(backend)
    await run_tier(tier, {"question": "q"}, engine=engine, observers=())
    backend.down = False
    engine_now[0] = 1000.0  # the engine's clock does not drive a store that has its own
    refused = await run_tier(tier, {"question": "q"}, engine=engine, observers=())
    assert refused.tasks["web"].status is TaskStatus.CIRCUIT_OPEN
    store_now[0] = 30.0
    probe = await run_tier(tier, {"question": "q"}, engine=engine, observers=())
    assert probe.tasks["web"].status is TaskStatus.OK
    assert engine.breaker("search").state is BreakerState.CLOSED


async def test_the_breaker_gauge_reads_the_engines_handle() -> None:
    registry, engine = CollectorRegistry(), Engine()
    collector = EngineCollector(registry=registry)
    tier = _tier(Backend())
    collector.watch(tier, engine=engine)
    value = registry.get_sample_value
    assert value("parallel_breaker_state", {"task_name": "web"}) == 0.0
    await run_tier(tier, {"question": "q"}, engine=engine, observers=())
    assert value("parallel_breaker_state", {"task_name": "web"}) == 2.0
    assert value("parallel_breaker_state", {"task_name": "news"}) == 2.0


async def _noop(state: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("build", "field", "fix"),
    [
        (
            lambda: Task("rag", _noop, timeout=1, breaker="search"),  # type: ignore[arg-type]
            "rag.breaker",
            "Breaker('search'",
        ),
        (
            lambda: Task("rag", _noop, timeout=1, breaker=BreakerPolicy()),  # type: ignore[arg-type]
            "rag.breaker",
            "a policy needs a name: Breaker('rag'",
        ),
        (lambda: Task("rag", _noop, timeout=1, breaker=3), "rag.breaker", "got int"),  # type: ignore[arg-type]
        (lambda: Breaker(""), "breaker.name", "non-empty string"),
        (
            lambda: Breaker("search", policy={"failure_threshold": 3}),  # type: ignore[arg-type]
            "breaker.policy",
            "BreakerPolicy(failure_threshold=3)",
        ),
        (lambda: Engine(breakers="redis://x"), "breakers", "RedisBreakerStore("),  # type: ignore[arg-type]
        (lambda: Engine().breaker("search"), "breaker", "pass the task's Breaker('search'"),
        (
            lambda: Tier(
                "t",
                [
                    Task("a", _noop, timeout=1, breaker=SEARCH),
                    Task("b", _noop, timeout=1, breaker=Breaker("search")),
                ],
                timeout=1,
            ),
            "t.tasks[1].breaker",
            "two policies",
        ),
    ],
)
def test_bad_breaker_input_is_one_line_naming_the_field_and_the_fix(
    build: Any, field: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert caught.value.field == field
    assert fix in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_two_tiers_naming_one_breaker_with_two_policies_fail_the_second_task() -> None:
    engine = Engine()
    await run_tier(_tier(Backend(down=False)), {"question": "q"}, engine=engine, observers=())
    other = Tier("t", [Task("a", _noop, timeout=1, breaker=Breaker("search"))], timeout=1)
    result = (await run_tier(other, {}, engine=engine, observers=())).tasks["a"]
    assert result.status is TaskStatus.ERROR
    assert isinstance(result.error, ConfigError)
    assert result.error.field == "a.breaker"
    assert "already used with BreakerPolicy(" in str(result.error)
