"""Choosing the chat model: any LangChain ``BaseChatModel``, a name for ``init_chat_model``,
or the offline extractive model."""

from __future__ import annotations

import importlib
from typing import Any

from langchain_core.language_models import BaseChatModel

from ._offline_model import ExtractiveChatModel

__all__ = ["OFFLINE_MODEL", "resolve_model"]

OFFLINE_MODEL = "extractive-offline"

CONNECT_TIMEOUT = 5.0
"""Seconds a model's client waits to connect: an unreachable endpoint fails in seconds."""
REQUEST_TIMEOUT = 120.0
"""Seconds a model's client waits for an answer."""

_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "azure_openai": "AZURE_OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google_genai": "GOOGLE_API_KEY",
    "mistralai": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
}


def _client_options(provider: str) -> dict[str, Any]:
    """Timeouts and retries for the providers whose clients take them (httpx-based)."""
    if provider in ("openai", "azure_openai"):
        import httpx

        return {
            "timeout": httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT),
            "max_retries": 1,
        }
    if provider == "anthropic":
        return {"timeout": REQUEST_TIMEOUT, "max_retries": 1}
    return {}


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
    provider = model.split(":", 1)[0]
    try:
        chosen = init_chat_model(model, **_client_options(provider))
    except Exception as exc:  # providers raise their own types for a missing key
        first = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        if "api_key" in first.lower() or "credentials" in first.lower():
            variable = _KEY_VARIABLES.get(provider, "the provider's API key variable")
            raise ValueError(f"model: {model!r} needs an API key; set {variable}") from exc
        raise ValueError(f"model: cannot load {model!r}: {first}") from exc
    if not isinstance(chosen, BaseChatModel):
        raise ValueError(f"model: {model!r} did not give a chat model")
    return chosen
