"""Graph factories for LangGraph's own server and Studio (see ``langgraph.json``).

The server supplies its own checkpointer and store, so these compile without one.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from ._modes import (
    Mode1ManualWorkflow,
    Mode2AutomaticWorkflow,
    Mode3ChatManualWorkflow,
    Mode4ChatAutomaticWorkflow,
)
from ._workflow import RagWorkflow

__all__ = ["chat", "chat_manual", "interactive", "research"]


def _graph(cls: type[RagWorkflow]) -> CompiledStateGraph[Any, Any, Any, Any]:
    return cls.build_graph(cls()).compile()


def research() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 2, automatic research."""
    return _graph(Mode2AutomaticWorkflow)


def interactive() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 1, manual interactive."""
    return _graph(Mode1ManualWorkflow)


def chat() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 4, chat automatic."""
    return _graph(Mode4ChatAutomaticWorkflow)


def chat_manual() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Mode 3, chat manual."""
    return _graph(Mode3ChatManualWorkflow)
