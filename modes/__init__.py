"""The four mode workflows on real components, and the ``parallel-nodes`` command.

Example:
    >>> import asyncio
    >>> from parallel_nodes.modes import Mode2AutomaticWorkflow
    >>> graph = Mode2AutomaticWorkflow(config={"metrics": False}).compile()
    >>> out = asyncio.run(graph.ainvoke({"question": "What does a circuit breaker do?"}))
    >>> out["cost_tracking"]["usd"]
    0.0
"""

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
    "Persistence",
    "PersistenceError",
    "PriceTable",
    "QualityScore",
    "RagWorkflow",
    "ServerSettings",
    "ToolApproval",
    "ToolCall",
    "ToolSuggestion",
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
