"""``RagWorkflow``: the six tasks doing real work on real components, shared by the four modes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.graph import END, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BeforeValidator, ValidationError, WithJsonSchema

from parallel_nodes import (
    Breaker,
    CircuitBreaker,
    Engine,
    ParallelBaseWorkflow,
    ParallelConfig,
    TierObserver,
    WorkflowState,
)

from ._citations import extract_citations
from ._corpus import SAMPLE_CORPUS, CorpusRetriever
from ._cost import PriceTable, estimate_cost
from ._memory import recall, remember
from ._models import resolve_model
from ._offline_model import build_messages
from ._scoring import score_answer
from ._tool_ranking import default_tools, rank_tools
from ._tools import (
    DEFAULT_TOOL_TIMEOUT,
    coerce_timeout,
    run_tool_calls,
    tool_result_docs,
    validate_tool_approvals,
)

__all__ = ["MAX_QUESTION_CHARS", "RESUME_SCHEMA", "ModeState", "RagWorkflow"]

RESUME_SCHEMA: dict[str, Any] = {
    "title": "Approval",
    "description": "What to keep; True approves every source and tool, running none.",
    "type": "object",
    "properties": {
        "sources": {"type": "array", "items": {"type": "string"}, "title": "Chunk ids"},
        "tools": {
            "type": "array",
            "title": "Tool names (approved, not run) or calls (approved and run)",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "args": {"type": "object"}},
                        "required": ["name"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
}
"""The JSON Schema the approval interrupt advertises for its resume value."""

_RESUME_MAP_KEY = "__pregel_resume_map"
"""Where LangGraph keeps a ``Command(resume={interrupt_id: value})`` map in the run's config."""

MAX_QUESTION_CHARS = 4000
"""Longer questions are refused: they are pasted documents, not questions."""


class ModeState(WorkflowState, total=False):
    """``WorkflowState`` plus what the modes add: who asks, what they approved, token usage."""

    user_id: str
    usage: dict[str, Any]
    model_name: str
    approval: dict[str, Any]
    tool_results: list[dict[str, Any]]
    """The approved tool calls' records (manual modes only; see ``run_tools_node``)."""


def doc_to_record(doc: Document, n: int) -> dict[str, Any]:
    """A retrieved chunk as plain data (checkpoint-safe), numbered as the model cites it."""
    meta = doc.metadata
    return {
        "n": n,
        "chunk_id": str(meta.get("chunk_id", f"doc{n}")),
        "source": str(meta.get("source", "")),
        "heading": str(meta.get("heading", "")),
        "score": float(meta.get("score", 0.0)),
        "text": doc.page_content,
    }


def record_to_doc(record: Mapping[str, Any]) -> Document:
    meta = {k: v for k, v in record.items() if k != "text"}
    return Document(page_content=str(record["text"]), metadata=meta)


def _plain(value: Any) -> Any:
    """Frozen dataclass reports as dicts, so state stays checkpoint-safe."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


class RagWorkflow(ParallelBaseWorkflow):
    """Retrieval-augmented answers with citations, quality scores and cost.

    Args:
        retriever: Any LangChain retriever; default: a BM25 index over ``corpus``.
        corpus: A folder of ``.md``, ``.txt`` and ``.rst`` files; default: the bundled sample.
        model: Any LangChain chat model, or a name for ``init_chat_model``
            (``"openai:gpt-4o-mini"``); default: the offline extractive model.
        tools: The tool registry to suggest from; default: the bundled tools. Tools run only
            in the manual modes, after the user approves a call with its arguments.
        tool_timeout: Seconds each approved tool call may run (``float`` or ``timedelta``).
        prices: USD per million tokens, per model.
        user_id: Whose long-term memories to read and write.
        config: A ``ParallelConfig`` or a mapping of its fields.
        observers: Tier observers; default: the engine's (the default engine's are the
            Prometheus metrics).
        breakers: A circuit breaker per task name (see ``ParallelBaseWorkflow``).
        on_progress: Called as ``on_progress(done, total)`` while ``corpus`` is read.
        engine: What runs the tiers (see ``ParallelBaseWorkflow``).

    Example:
        >>> import asyncio
        >>> graph = RagWorkflow(config={"metrics": False}).compile()
        >>> out = asyncio.run(graph.ainvoke({"question": "What is a tier deadline?"}))
        >>> "[1]" in out["answer"]
        True
    """

    mode: ClassVar[str] = "research"
    state_schema: ClassVar[type[Any]] = ModeState
    needs_approval: ClassVar[bool] = False
    """Pause after tier 1 for the user to approve sources and tools (``interrupt``)."""
    multi_turn: ClassVar[bool] = False
    """Keep the conversation in ``messages`` and write memories after each turn."""

    def __init__(
        self,
        *,
        retriever: BaseRetriever | None = None,
        corpus: str | Path | None = None,
        model: BaseChatModel | str | None = None,
        tools: Sequence[BaseTool] | None = None,
        tool_timeout: float | timedelta = DEFAULT_TOOL_TIMEOUT,
        prices: PriceTable | None = None,
        user_id: str = "default",
        config: ParallelConfig | Mapping[str, Any] | None = None,
        observers: Iterable[TierObserver] | None = None,
        breakers: Mapping[str, Breaker | CircuitBreaker] | None = None,
        on_progress: Any = None,
        engine: Engine | None = None,
    ) -> None:
        if retriever is not None and corpus is not None:
            raise ValueError("retriever, corpus: pass one of them, not both")
        if retriever is not None and not isinstance(retriever, BaseRetriever):
            raise TypeError("retriever: must be a langchain_core BaseRetriever")
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError("user_id: must be a non-empty string")
        self.retriever = retriever or CorpusRetriever.from_directory(
            Path(corpus) if corpus is not None else SAMPLE_CORPUS, k=4, on_progress=on_progress
        )
        self.model = resolve_model(model)
        self.tools = list(tools) if tools is not None else default_tools()
        self.tool_timeout = coerce_timeout(tool_timeout)
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"tools: names must be unique; {twice} appear more than once")
        self.tool_registry: dict[str, BaseTool] = dict(zip(names, self.tools, strict=True))
        self.prices = prices or PriceTable()
        self.user_id = user_id
        super().__init__(config=config, observers=observers, breakers=breakers, engine=engine)

    # -- input ------------------------------------------------------------------------------

    @staticmethod
    def question_of(state: Mapping[str, Any]) -> str:
        """The question, validated: a non-empty string of at most ``MAX_QUESTION_CHARS``."""
        question = state.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question: must be a non-empty string, e.g. 'What is a tier?'")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"question: {len(question)} characters is over the {MAX_QUESTION_CHARS} limit; "
                "ask a shorter question"
            )
        return question.strip()

    def turn_input(self, question: str, *, user_id: str | None = None) -> dict[str, Any]:
        """The graph input for one turn: the question, whose it is (``None``: the workflow's
        user), and, in the multi-turn modes, the question as the conversation's next message."""
        inputs: dict[str, Any] = {"question": question}
        if user_id is not None:
            inputs["user_id"] = user_id
        if self.multi_turn:
            inputs["messages"] = [HumanMessage(content=question)]
        return inputs

    def _user(self, state: Mapping[str, Any]) -> str:
        user = state.get("user_id")
        return user if isinstance(user, str) and user else self.user_id

    async def parallel_retrieval_node(self, state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        """Validate the question before any task runs, then run tier 1."""
        self.question_of(state)
        return await super().parallel_retrieval_node(state, runtime)

    # -- tier 1 -----------------------------------------------------------------------------

    async def _rag_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        docs = await self.retriever.ainvoke(self.question_of(state))
        return [doc_to_record(d, n) for n, d in enumerate(docs, 1)]

    async def _tool_suggestion_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return [_plain(s) for s in rank_tools(self.question_of(state), self.tools, k=3)]

    async def _memory_retrieval_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        store = runtime.store if runtime is not None else None
        if store is None:
            return []
        hits = await recall(store, self._user(state), self.question_of(state), k=3)
        return [_plain(h) for h in hits]

    # -- approval (manual modes) ------------------------------------------------------------

    async def approval_node(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Pause with the retrieved sources and suggested tools; resume with what to keep.

        Resume with ``Command(resume={"sources": [chunk_id, ...], "tools": [...]})``. A
        missing key keeps everything of that kind; ``True`` approves all. Items of
        ``"tools"`` are bare names, which approve a suggestion without running it (a name
        has no arguments), or calls ``{"name": ..., "args": {...}}``, which ``run_tools_node``
        runs next. Approving all never runs a tool.

        Everything is checked before any tool runs: an unknown source, an unknown or
        unsuggested tool, or arguments the tool's ``args_schema`` refuses raise a
        ``ValueError`` naming the field (``resume.tools[0].args.start: ...``). Nothing runs
        and nothing is saved, so the same interrupt can be answered again.
        """
        sources = list(state.get("rag_retrieval") or [])
        tools = list(state.get("tool_suggestion") or [])

        def check(decision: Any) -> dict[str, Any]:
            return self._check_decision(decision, sources, tools)

        if _empty_resume_map():
            # LangGraph reads Command(resume={}) as a map of interrupt ids naming none, so
            # interrupt() would pause again; {} means "keep everything", as True does.
            return check({})
        try:
            update: dict[str, Any] = interrupt(
                {
                    "question": state.get("question", ""),
                    "sources": [
                        {k: s[k] for k in ("chunk_id", "source", "heading", "score")}
                        for s in sources
                    ],
                    "tools": [self._offer(t) for t in tools],
                },
                # Validating through interrupt() keeps a refused answer out of the
                # checkpoint; raising after it returned would pin the bad answer for good.
                response_schema=Annotated[  # type: ignore[call-overload]
                    Any, BeforeValidator(check), WithJsonSchema(RESUME_SCHEMA)
                ],
            )
        except ValidationError as exc:
            raise _user_error(exc) from None
        return update

    def _check_decision(
        self, decision: Any, sources: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The state update an approval asks for, or a ``ValueError`` naming the bad field."""
        if decision is True or decision is None:
            decision = {}
        if not isinstance(decision, Mapping):
            raise ValueError(
                "resume: must be a mapping like {'sources': [chunk_id, ...], 'tools': [name, "
                "{'name': name, 'args': {...}}, ...]}, or True to approve all"
            )
        keep_sources = decision.get("sources")
        keep_tools = decision.get("tools")
        if keep_sources is not None:
            if isinstance(keep_sources, str) or not isinstance(keep_sources, Iterable):
                raise ValueError("resume.sources: must be a list of chunk ids")
            wanted = {str(x) for x in keep_sources}
            unknown = wanted - {s["chunk_id"] for s in sources}
            if unknown:
                raise ValueError(f"resume.sources: unknown chunk ids {sorted(unknown)}")
            sources = [s for s in sources if s["chunk_id"] in wanted]
            sources = [{**s, "n": n} for n, s in enumerate(sources, 1)]
        calls: list[dict[str, Any]] = []
        if keep_tools is not None:
            approved = validate_tool_approvals(
                keep_tools, registry=self.tool_registry, suggested=[t["name"] for t in tools]
            )
            tools = [t for t in tools if t["name"] in approved.names]
            calls = [_plain(c) for c in approved.calls]
        return {
            "rag_retrieval": sources,
            "tool_suggestion": tools,
            "approval": {
                "sources": [s["chunk_id"] for s in sources],
                "tools": [t["name"] for t in tools],
                "tool_calls": calls,
            },
        }

    def _offer(self, suggestion: Mapping[str, Any]) -> dict[str, Any]:
        """A suggestion as the user sees it, with the arguments a call must pass."""
        tool = self.tool_registry.get(suggestion["name"])
        return {
            "name": suggestion["name"],
            "score": suggestion["score"],
            "description": suggestion.get("description", ""),
            "args": dict(tool.args) if tool is not None else {},
        }

    async def run_tools_node(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Run the calls approved in this turn, each under ``tool_timeout``.

        Only the manual modes have this node, right after ``approval_node``, so no tool runs
        before the user approved it. A failing or timed-out call is recorded in
        ``tool_results`` with its error; the answer is still generated.
        """
        calls = list((state.get("approval") or {}).get("tool_calls") or [])
        first_n = len(state.get("rag_retrieval") or []) + 1
        results = await run_tool_calls(
            calls, self.tool_registry, per_call_timeout=self.tool_timeout, first_n=first_n
        )
        return {"tool_results": results}

    # -- generation -------------------------------------------------------------------------

    async def _generate(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
        question = self.question_of(state)
        docs = self._docs(state)
        history: list[AnyMessage] = []
        if self.multi_turn:
            history = list(state.get("messages") or [])
            if history and isinstance(history[-1], HumanMessage):
                history = history[:-1]  # the current question goes in once
        message = await self.model.ainvoke(build_messages(question, docs, history))
        answer = message.content if isinstance(message.content, str) else str(message.content)
        usage = dict(getattr(message, "usage_metadata", None) or {})
        update: dict[str, Any] = {
            "answer": answer,
            "usage": usage,
            "model_name": _model_name(self.model),
        }
        if self.multi_turn:
            update["messages"] = [AIMessage(content=answer)]
        return update

    # -- tier 2 -----------------------------------------------------------------------------

    def _docs(self, state: Mapping[str, Any]) -> list[Document]:
        """The model's numbered sources: the retrieved chunks, then the approved tools' results."""
        docs = [record_to_doc(r) for r in state.get("rag_retrieval") or []]
        if self.needs_approval:
            docs += tool_result_docs(state.get("tool_results") or [])
        return docs

    async def _quality_scoring_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        return _plain(score_answer(state.get("question", ""), state["answer"], self._docs(state)))

    async def _citation_extraction_task(
        self, state: Mapping[str, Any], runtime: Runtime[Any]
    ) -> Any:
        return _plain(extract_citations(state["answer"], self._docs(state)))

    async def _cost_tracking_task(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> Any:
        model = state.get("model_name") or _model_name(self.model)
        return _plain(estimate_cost(state.get("usage") or {}, model, self.prices))

    # -- after the turn (chat modes) --------------------------------------------------------

    async def remember_node(
        self, state: Mapping[str, Any], runtime: Runtime[Any]
    ) -> dict[str, Any]:
        """Write this turn to the user's long-term memory."""
        if runtime.store is not None and state.get("answer"):
            await remember(runtime.store, self._user(state), state["question"], state["answer"])
        return {}

    def build_graph(self) -> StateGraph[Any, Any, Any, Any]:
        builder = super().build_graph()
        if self.needs_approval:
            builder = _rewire(
                builder, "parallel_retrieval", "generate", "approval", self.approval_node
            )
            builder = _rewire(builder, "approval", "generate", "run_tools", self.run_tools_node)
        if self.multi_turn:
            builder = _rewire(
                builder, "parallel_post_generation", END, "remember", self.remember_node
            )
        return builder


def _empty_resume_map() -> bool:
    """Whether this run was resumed with ``Command(resume={})``."""
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # called outside a graph run
        return False
    return configurable.get(_RESUME_MAP_KEY) == {}


def _user_error(exc: ValidationError) -> Exception:
    """The ``ValueError`` our check raised, unwrapped from pydantic's ``ValidationError``."""
    for error in exc.errors():
        original = (error.get("ctx") or {}).get("error")
        if isinstance(original, Exception):
            return original
    return exc


def _rewire(
    builder: StateGraph[Any, Any, Any, Any], before: str, after: str, name: str, node: Any
) -> StateGraph[Any, Any, Any, Any]:
    """Put ``node`` between ``before`` and ``after``."""
    builder.edges.discard((before, after))
    builder.add_node(name, node)
    builder.add_edge(before, name)
    builder.add_edge(name, after)
    return builder


def degraded_tasks(parallel: Mapping[str, Any] | None) -> list[str]:
    """The tasks that fell back to their default in any tier, sorted, from ``state["parallel"]``."""
    records = (parallel or {}).values()
    return sorted({name for record in records for name in record.get("degraded", ())})


def source_records(out: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the answer's ``[n]`` markers point to, from a final state: the retrieved chunks
    (``n``, ``chunk_id``, ``source``, ``heading``, ``score``), then the approved tools' results.
    One function for the CLI's JSON and the server's response."""
    records = [
        {k: s.get(k) for k in ("n", "chunk_id", "source", "heading", "score")}
        for s in out.get("rag_retrieval") or []
    ]
    records += [
        {
            "n": r["n"],
            "chunk_id": f"tool:{r['name']}:{r['n']}",
            "source": f"tool:{r['name']}",
            "heading": r["name"],
            "score": 1.0,
        }
        for r in out.get("tool_results") or []
        if r.get("n") is not None
    ]
    return records


def _model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__
