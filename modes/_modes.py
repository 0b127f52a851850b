"""The four modes: each a small subclass of ``RagWorkflow`` that sets two switches."""

from __future__ import annotations

from typing import Any, ClassVar

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from ._workflow import RagWorkflow

__all__ = [
    "MODES",
    "Mode1ManualWorkflow",
    "Mode2AutomaticWorkflow",
    "Mode3ChatManualWorkflow",
    "Mode4ChatAutomaticWorkflow",
]


class _NeedsCheckpointer(RagWorkflow):
    """Modes that pause or remember need a checkpointer; default to one in memory."""

    def compile(
        self, *, checkpointer: Any = None, store: Any = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        return super().compile(
            checkpointer=InMemorySaver() if checkpointer is None else checkpointer,
            store=store,
            **kwargs,
        )


class Mode1ManualWorkflow(_NeedsCheckpointer):
    """Manual interactive: single-shot; pauses after retrieval for the user to approve sources
    and tools, then generates from what was approved."""

    mode: ClassVar[str] = "interactive"
    needs_approval: ClassVar[bool] = True


class Mode2AutomaticWorkflow(RagWorkflow):
    """Automatic research: single-shot, auto-approved, no pause."""

    mode: ClassVar[str] = "research"


class Mode3ChatManualWorkflow(_NeedsCheckpointer):
    """Chat with confirmation: multi-turn per ``thread_id``, pausing at each turn's approval."""

    mode: ClassVar[str] = "chat_manual"
    needs_approval: ClassVar[bool] = True
    multi_turn: ClassVar[bool] = True


class Mode4ChatAutomaticWorkflow(_NeedsCheckpointer):
    """Chat: multi-turn per ``thread_id``, auto-approved."""

    mode: ClassVar[str] = "chat"
    multi_turn: ClassVar[bool] = True


MODES: dict[str, type[RagWorkflow]] = {
    "research": Mode2AutomaticWorkflow,
    "interactive": Mode1ManualWorkflow,
    "chat": Mode4ChatAutomaticWorkflow,
    "chat-manual": Mode3ChatManualWorkflow,
}
"""The CLI's ``--mode`` names."""
