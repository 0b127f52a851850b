"""Tiered fan-out nodes for LangGraph."""

__all__: list[str] = []
