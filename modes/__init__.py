"""The four mode workflows on real components, and the ``parallel-nodes`` command.

Example:
    >>> import asyncio
    >>> from parallel_nodes.modes import Mode2AutomaticWorkflow
    >>> graph = Mode2AutomaticWorkflow(config={"metrics": False}).compile()
    >>> out = asyncio.run(graph.ainvoke({"question": "What does a circuit breaker do?"}))
    >>> out["cost_tracking"]["usd"]
    0.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_exports as _lazy_exports

if _TYPE_CHECKING:
    from ._agents import AgentAnswer, PanelResult, answer_with_agents
    from ._citations import CitationReport, extract_citations
    from ._corpus import SAMPLE_CORPUS, CorpusRetriever
    from ._cost import CostReport, PriceTable, estimate_cost
    from ._memory import MemoryHit, recall, remember
    from ._models import OFFLINE_MODEL, resolve_model
    from ._modes import (
        MODES,
        Mode1ManualWorkflow,
        Mode2AutomaticWorkflow,
        Mode3ChatManualWorkflow,
        Mode4ChatAutomaticWorkflow,
    )
    from ._offline_model import ExtractiveChatModel, build_messages, format_context
    from ._persistence import (
        Persistence,
        PersistenceError,
        default_data_dir,
        open_persistence,
        open_postgres_pool,
    )
    from ._scoring import QualityScore, score_answer
    from ._server import ServerSettings, create_app
    from ._tool_ranking import ToolSuggestion, default_tools, rank_tools
    from ._tools import ToolApproval, ToolCall, run_tool_calls, validate_tool_approvals
    from ._workflow import MAX_QUESTION_CHARS, RESUME_SCHEMA, ModeState, RagWorkflow

__all__ = [
    "MAX_QUESTION_CHARS",
    "MODES",
    "OFFLINE_MODEL",
    "RESUME_SCHEMA",
    "SAMPLE_CORPUS",
    "AgentAnswer",
    "CitationReport",
    "CorpusRetriever",
    "CostReport",
    "ExtractiveChatModel",
    "MemoryHit",
    "Mode1ManualWorkflow",
    "Mode2AutomaticWorkflow",
    "Mode3ChatManualWorkflow",
    "Mode4ChatAutomaticWorkflow",
    "ModeState",
    "PanelResult",
    "Persistence",
    "PersistenceError",
    "PriceTable",
    "QualityScore",
    "RagWorkflow",
    "ServerSettings",
    "ToolApproval",
    "ToolCall",
    "ToolSuggestion",
    "answer_with_agents",
    "build_messages",
    "create_app",
    "default_data_dir",
    "default_tools",
    "estimate_cost",
    "extract_citations",
    "format_context",
    "open_persistence",
    "open_postgres_pool",
    "rank_tools",
    "recall",
    "remember",
    "resolve_model",
    "run_tool_calls",
    "score_answer",
    "validate_tool_approvals",
]

# Why lazy: the ``parallel-nodes`` command imports this package before it parses its
# arguments, and ``--help`` must not wait for LangGraph. A name is imported on first use.
_WHERE = {
    "AgentAnswer": "_agents",
    "PanelResult": "_agents",
    "answer_with_agents": "_agents",
    "CitationReport": "_citations",
    "CorpusRetriever": "_corpus",
    "CostReport": "_cost",
    "ExtractiveChatModel": "_offline_model",
    "MAX_QUESTION_CHARS": "_workflow",
    "MODES": "_modes",
    "MemoryHit": "_memory",
    "Mode1ManualWorkflow": "_modes",
    "Mode2AutomaticWorkflow": "_modes",
    "Mode3ChatManualWorkflow": "_modes",
    "Mode4ChatAutomaticWorkflow": "_modes",
    "ModeState": "_workflow",
    "OFFLINE_MODEL": "_models",
    "Persistence": "_persistence",
    "PersistenceError": "_persistence",
    "PriceTable": "_cost",
    "QualityScore": "_scoring",
    "RESUME_SCHEMA": "_workflow",
    "RagWorkflow": "_workflow",
    "SAMPLE_CORPUS": "_corpus",
    "ServerSettings": "_server",
    "ToolApproval": "_tools",
    "ToolCall": "_tools",
    "ToolSuggestion": "_tool_ranking",
    "build_messages": "_offline_model",
    "create_app": "_server",
    "default_data_dir": "_persistence",
    "default_tools": "_tool_ranking",
    "estimate_cost": "_cost",
    "extract_citations": "_citations",
    "format_context": "_offline_model",
    "open_persistence": "_persistence",
    "open_postgres_pool": "_persistence",
    "rank_tools": "_tool_ranking",
    "recall": "_memory",
    "remember": "_memory",
    "resolve_model": "_models",
    "run_tool_calls": "_tools",
    "score_answer": "_scoring",
    "validate_tool_approvals": "_tools",
}


__getattr__, __dir__ = _lazy_exports(globals(), _WHERE)
