"""Choosing the chat model: any LangChain ``BaseChatModel``, a name for ``init_chat_model``,
or the offline extractive model."""

from __future__ import annotations

import importlib

from langchain_core.language_models import BaseChatModel

from ._offline_model import ExtractiveChatModel

__all__ = ["OFFLINE_MODEL", "resolve_model"]

OFFLINE_MODEL = "extractive-offline"


def resolve_model(model: BaseChatModel | str | None) -> BaseChatModel:
    """Return a chat model for ``model``.

    Raises:
        ValueError: The name is malformed or its provider package is not installed; the
            message says what to install.
    """
    if model is None or model == OFFLINE_MODEL:
        return ExtractiveChatModel()
    if isinstance(model, BaseChatModel):
        return model
    if not isinstance(model, str) or ":" not in model:
        raise ValueError(
            f"model: {model!r} is not a chat model; use 'extractive-offline' or "
            "'provider:model' such as 'openai:gpt-4o-mini'"
        )
    try:
        init_chat_model = importlib.import_module("langchain.chat_models").init_chat_model
    except ImportError as exc:
        raise ValueError(
            f"model: {model!r} needs LangChain's init_chat_model; run: pip install langchain "
            f"langchain-{model.split(':', 1)[0]}"
        ) from exc
    try:
        chosen = init_chat_model(model)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"model: cannot load {model!r}: {exc}") from exc
    if not isinstance(chosen, BaseChatModel):
        raise ValueError(f"model: {model!r} did not give a chat model")
    return chosen
