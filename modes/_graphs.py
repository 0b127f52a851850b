"""Graph factories for LangGraph's own server and Studio (see ``langgraph.json``).

The server calls a factory on every run, inside its event loop, so nothing here may block:
the corpus is indexed once, at import. The server supplies its own checkpointer and store, so
the graphs compile without one.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from parallel_nodes.diagnostics import get_default_observers

from ._corpus import SAMPLE_CORPUS, CorpusRetriever
from ._modes import (
    Mode1ManualWorkflow,
    Mode2AutomaticWorkflow,
    Mode3ChatManualWorkflow,
    Mode4ChatAutomaticWorkflow,
)

__all__ = ["chat", "chat_manual", "interactive", "research"]

# Why here: the default observers import the metrics module on first use, which reads files;
# inside the server's event loop that is a blocking call (``langgraph dev`` refuses it).
get_default_observers()
_RETRIEVER = CorpusRetriever.from_directory(SAMPLE_CORPUS, k=4)
_RESEARCH = Mode2AutomaticWorkflow(retriever=_RETRIEVER)
_INTERACTIVE = Mode1ManualWorkflow(retriever=_RETRIEVER)
_CHAT = Mode4ChatAutomaticWorkflow(retriever=_RETRIEVER)
_CHAT_MANUAL = Mode3ChatManualWorkflow(retriever=_RETRIEVER)


def research() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 2, automatic research."""
    return _RESEARCH.build_graph().compile()


def interactive() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 1, manual interactive."""
    return _INTERACTIVE.build_graph().compile()


def chat() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 4, chat automatic."""
    return _CHAT.build_graph().compile()


def chat_manual() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 3, chat manual."""
    return _CHAT_MANUAL.build_graph().compile()
