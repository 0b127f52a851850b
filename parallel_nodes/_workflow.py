"""``ParallelBaseWorkflow``: the two-tier RAG template that the modes subclass.

The template, apart from the kernel: only this module and ``_workflow_config`` know the six RAG
tasks, the two tiers and ``WorkflowState``. The kernel (``Task``, ``Tier``, ``run_tier``, the
node, strategies, breakers, executors) imports neither; ``tests/test_layers.py`` checks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Final, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from ._breaker import Breaker, CircuitBreaker
from ._deprecated import adapt_observers
from ._engine import Engine
from ._errors import ConfigError
from ._metadata import freeze_metadata
from ._node import both_apis, merge_tier_records, state_update
from ._observe import TierObserver
from ._run import run_tier
from ._task import Task
from ._tier import Tier
from ._workflow_config import TIER1_TASKS, TIER2_TASKS, ParallelConfig

__all__ = ["ParallelBaseWorkflow", "WorkflowState"]


class WorkflowState(TypedDict, total=False):
    """The state every workflow shares; each task writes the key named after it."""

    question: str
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str
    rag_retrieval: list[Any]
    tool_suggestion: list[Any]
    memory_retrieval: list[Any]
    quality_scoring: dict[str, Any]
    citation_extraction: dict[str, Any]
    cost_tracking: dict[str, Any]
    parallel: Annotated[dict[str, Any], merge_tier_records]


_DEFAULTS: Mapping[str, Callable[[], Any]] = {
    "rag_retrieval": list,
    "tool_suggestion": list,
    "memory_retrieval": list,
    "quality_scoring": dict,
    "citation_extraction": dict,
    "cost_tracking": dict,
}


class ParallelBaseWorkflow(ABC):
    """Retrieve in parallel, generate, then score in parallel: the template the modes subclass.

    Tier 1 (``parallel_retrieval_node``) runs ``_rag_retrieval_task``, ``_tool_suggestion_task``
    and ``_memory_retrieval_task`` at once; ``_generate`` writes the answer; tier 2
    (``parallel_post_generation_node``) runs ``_quality_scoring_task``,
    ``_citation_extraction_task`` and ``_cost_tracking_task`` at once. Override the tasks you
    need: a task whose method is not overridden is skipped and gets its empty default. Each
    task method takes ``(state, runtime)``, and may be async or sync.

    Example:
        >>> class Echo(ParallelBaseWorkflow):
        ...     async def _rag_retrieval_task(self, state, runtime):
        ...         return [f"doc for {state['question']}"]
        ...     async def _generate(self, state, runtime):
        ...         return {"answer": " ".join(state["rag_retrieval"])}
        >>> import asyncio
        >>> graph = Echo(config={"metrics": False}).compile()
        >>> asyncio.run(graph.ainvoke({"question": "q"}))["answer"]
        'doc for q'
    """

    mode: ClassVar[str] = "base"
    """The ``mode`` metric label for this workflow's tiers: its runs carry it as
    ``metadata={"mode": mode}``, where the Prometheus observer reads it."""
    state_schema: ClassVar[type[Any]] = WorkflowState
    """The graph's state type; subclasses may extend ``WorkflowState``."""
    TIER1_NAME: ClassVar[str] = "retrieval"
    TIER2_NAME: ClassVar[str] = "post_generation"
    TIER1_TASKS: Final = TIER1_TASKS
    """The tier-1 tasks, in order: ``("rag_retrieval", "tool_suggestion", "memory_retrieval")``."""
    TIER2_TASKS: Final = TIER2_TASKS
    """The tier-2 tasks, in order: ``("quality_scoring", "citation_extraction",
    "cost_tracking")``."""

    def __init__(
        self,
        *,
        config: ParallelConfig | Mapping[str, Any] | None = None,
        observers: Iterable[TierObserver] | None = None,
        breakers: Mapping[str, Breaker | CircuitBreaker] | None = None,
        engine: Engine | None = None,
    ) -> None:
        """Build the tiers from ``config``.

        Args:
            config: A ``ParallelConfig``, or a mapping of its fields.
            observers: Observers for both tiers; ``None`` means the engine's (the default
                engine's are the Prometheus metrics), and ``config.metrics=False`` means none.
            breakers: A circuit breaker per task name, e.g.
                ``{"rag_retrieval": Breaker("search", policy=BreakerPolicy())}`` (the engine
                that runs the tiers holds its state), or a ``CircuitBreaker`` instance.
            engine: What runs both tiers: its clock, breaker store, sync worker pool, cache
                and observers. ``None``: the engine of the run this graph is nested in, else
                ``default_engine()``.

        Raises:
            pydantic.ValidationError: A config value is wrong; the error names the field.
            ConfigError: ``breakers`` names an unknown task or holds something else, or
                ``engine`` is not an ``Engine``.
        """
        if engine is not None and not isinstance(engine, Engine):
            got = type(engine).__name__
            raise ConfigError("engine", f"must be a parallel_nodes.Engine (Engine()), not {got}")
        self.engine = engine
        self.breakers = _check_breakers(breakers)
        # The kernel carries metadata unread; the mode is the template's notion, put there.
        self._metadata = freeze_metadata({"mode": self.mode})
        if isinstance(config, ParallelConfig):
            self.config = config
        else:
            self.config = ParallelConfig.model_validate(dict(config or {}))
        if not self.config.metrics:
            self._observers: tuple[TierObserver, ...] | None = ()
        else:
            self._observers = None if observers is None else adapt_observers(observers)
        cfg = self.config
        self.tier1 = self._make_tier(
            self.TIER1_NAME,
            TIER1_TASKS,
            cfg.tier1_timeout,
            cfg.enable_parallel_tier1,
            cfg.enable_tier1,
            cfg.durable_tier1,
        )
        self.tier2 = self._make_tier(
            self.TIER2_NAME,
            TIER2_TASKS,
            cfg.tier2_timeout,
            cfg.enable_parallel_tier2,
            cfg.enable_tier2,
            cfg.durable_tier2,
        )

    # -- the six tasks: override the ones you need ----------------------------------------

    async def _rag_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        """Retrieve documents for ``state["question"]``."""
        raise NotImplementedError

    async def _tool_suggestion_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        """Suggest tools for the question."""
        raise NotImplementedError

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        """Recall long-term memories relevant to the question (``runtime.store``)."""
        raise NotImplementedError

    async def _quality_scoring_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        """Score the answer."""
        raise NotImplementedError

    async def _citation_extraction_task(
        self, state: Mapping[str, Any], runtime: Runtime[Any]
    ) -> Any:
        """Map the answer's citations to sources."""
        raise NotImplementedError

    async def _cost_tracking_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        """Price the generation."""
        raise NotImplementedError

    @abstractmethod
    async def _generate(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
        """Write the answer from tier 1's results; return a state update."""

    # -- building ---------------------------------------------------------------------------

    def _overrides(self, name: str) -> bool:
        attr = f"_{name}_task"
        return getattr(type(self), attr) is not getattr(ParallelBaseWorkflow, attr)

    def _make_task(self, name: str) -> Task:
        return Task(
            name,
            getattr(self, f"_{name}_task"),
            timeout=self.config.timeout_for(name),
            default_factory=_DEFAULTS[name],
            enabled=self.config.task_enabled(name) and self._overrides(name),
            breaker=self.breakers.get(name),
        )

    def _make_tier(
        self,
        name: str,
        tasks: Iterable[str],
        timeout: float,
        parallel: bool,
        enabled: bool,
        durable: bool,
    ) -> Tier:
        return Tier(
            name,
            [self._make_task(t) for t in tasks],
            timeout=timeout,
            parallel=parallel,
            enabled=enabled,
            durable=durable,
            stream_events=True,  # the template's runs show each task's progress on the stream
        )

    async def _run(self, tier: Tier, state: Mapping[str, Any], runtime: Any) -> dict[str, Any]:
        result = await run_tier(
            tier,
            state,
            runtime,
            engine=self.engine,
            metadata=self._metadata,
            observers=self._observers,
        )
        update: dict[str, Any] = state_update(result, tier=tier)
        return update

    async def parallel_retrieval_node(self, state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        """Tier 1: retrieval, tool suggestion and memory, at once."""
        return await self._run(self.tier1, state, runtime)

    async def generate_node(self, state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        """The generation step between the tiers."""
        return await self._generate(state, runtime)

    async def parallel_post_generation_node(
        self, state: Any, runtime: Runtime[Any]
    ) -> dict[str, Any]:
        """Tier 2: quality, citations and cost, at once."""
        return await self._run(self.tier2, state, runtime)

    def build_graph(self) -> StateGraph[Any, Any, Any, Any]:
        """The uncompiled graph: retrieval -> generate -> post_generation.

        Subclasses that add steps (an approval, a memory write) override this and call
        ``super().build_graph()`` before rewiring.
        """
        builder: StateGraph[Any, Any, Any, Any] = StateGraph(self.state_schema)
        # Sync and async entry points, so graph.invoke() works as graph.ainvoke() does.
        builder.add_node(
            "parallel_retrieval", both_apis(self.parallel_retrieval_node, "parallel_retrieval")
        )
        builder.add_node("generate", both_apis(self.generate_node, "generate"))
        builder.add_node(
            "parallel_post_generation",
            both_apis(self.parallel_post_generation_node, "parallel_post_generation"),
        )
        builder.add_edge(START, "parallel_retrieval")
        builder.add_edge("parallel_retrieval", "generate")
        builder.add_edge("generate", "parallel_post_generation")
        builder.add_edge("parallel_post_generation", END)
        return builder

    def compile(
        self, *, checkpointer: Any = None, store: Any = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Compile ``build_graph()``, passing the checkpointer and store through."""
        return self.build_graph().compile(checkpointer=checkpointer, store=store, **kwargs)

    @staticmethod
    def _calculate_speedup(durations: Iterable[float], wall_time: float) -> float:
        """The sum of the task durations over the wall time (0.0 for a zero wall time).

        Raises:
            ValueError: If the wall time or a duration is negative.
        """
        items = list(durations)
        if wall_time < 0 or any(d < 0 for d in items):
            raise ValueError("wall_time and durations must be >= 0 seconds")
        return 0.0 if wall_time == 0 else sum(items) / wall_time


def _check_breakers(
    breakers: Mapping[str, Breaker | CircuitBreaker] | None,
) -> dict[str, Breaker | CircuitBreaker]:
    if breakers is None:
        return {}
    if not isinstance(breakers, Mapping):
        raise ConfigError("breakers", "must be a mapping of task name to Breaker")
    known = (*TIER1_TASKS, *TIER2_TASKS)
    for name, breaker in breakers.items():
        if name not in known:
            raise ConfigError(f"breakers.{name}", f"unknown task; known tasks are {list(known)}")
        if not isinstance(breaker, Breaker | CircuitBreaker):
            raise ConfigError(
                f"breakers.{name}", f"must be a parallel_nodes.Breaker, e.g. Breaker({name!r})"
            )
    return dict(breakers)
