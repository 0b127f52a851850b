"""What an answer cost: token usage times a per-model price table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["DEFAULT_PRICES", "CostReport", "ModelPrice", "PriceTable", "estimate_cost"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPrice:
    """USD per million tokens for one model.

    Example:
        >>> ModelPrice(input=0.15, output=0.60).cost(1_000_000, 500_000)
        0.45
    """

    input: float
    """USD per million input (prompt) tokens."""
    output: float
    """USD per million output (completion) tokens."""

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: price must be a finite number >= 0, got {value!r}")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for the given token counts."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        "extractive-offline": ModelPrice(input=0.0, output=0.0),
        "openai:gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
        "openai:gpt-4o": ModelPrice(input=2.50, output=10.00),
        "openai:gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
        "anthropic:claude-3-5-haiku": ModelPrice(input=0.80, output=4.00),
        "anthropic:claude-3-5-sonnet": ModelPrice(input=3.00, output=15.00),
    }
)
"""List prices in USD per million tokens; check your provider's page before relying on them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceTable:
    """Per-model prices, looked up by ``provider:model`` or the bare model name.

    A dated or suffixed name (``gpt-4o-mini-2024-07-18``, ``claude-3-5-haiku-latest``) uses
    the price of the longest known name it starts with.

    Example:
        >>> table = PriceTable().with_price("acme:tiny", input=1.0, output=2.0)
        >>> table.lookup("tiny-2025-01-01")
        ModelPrice(input=1.0, output=2.0)
        >>> table.lookup("gpt-4o-mini-2024-07-18")
        ModelPrice(input=0.15, output=0.6)
    """

    prices: Mapping[str, ModelPrice] = field(default_factory=lambda: DEFAULT_PRICES)
    """Model name to price; names may carry a ``provider:`` prefix."""

    def __post_init__(self) -> None:
        for name, price in self.prices.items():
            if not isinstance(price, ModelPrice):
                raise TypeError(f"prices[{name!r}]: must be a ModelPrice, got {price!r}")
        object.__setattr__(self, "prices", MappingProxyType(dict(self.prices)))

    def with_price(self, model: str, *, input: float, output: float) -> PriceTable:
        """A copy of this table with ``model`` priced (added or replaced)."""
        return PriceTable(prices={**self.prices, model: ModelPrice(input=input, output=output)})

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or ``None`` when the table does not know it."""
        if model in self.prices:
            return self.prices[model]
        bare = model.split(":", 1)[-1].lower()
        by_bare = {name.split(":", 1)[-1].lower(): price for name, price in self.prices.items()}
        if bare in by_bare:
            return by_bare[bare]
        prefixes = [name for name in by_bare if bare.startswith(f"{name}-")]
        return by_bare[max(prefixes, key=len)] if prefixes else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CostReport:
    """The tokens and USD cost of one answer."""

    model: str
    input_tokens: int
    output_tokens: int
    usd: float
    """Zero when the model is not priced."""
    priced: bool
    """Whether the table knew the model; ``False`` means ``usd`` is not a real cost."""


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key, 0) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"usage_metadata.{key}: must be a whole number >= 0, got {value!r}")
    return value


def estimate_cost(
    usage_metadata: Mapping[str, Any], model_name: str, table: PriceTable | None = None
) -> CostReport:
    """Price a model call from its ``usage_metadata``.

    Args:
        usage_metadata: ``AIMessage.usage_metadata`` or any mapping with ``input_tokens`` and
            ``output_tokens``; missing counts are 0.
        model_name: The model that answered, e.g. ``"openai:gpt-4o-mini"`` or ``"gpt-4o-mini"``.
        table: The prices; default ``PriceTable()``.

    Returns:
        The report; an unknown model costs 0 with ``priced=False``.

    Raises:
        ValueError: A token count is negative or not a whole number.
    """
    input_tokens = _count(usage_metadata, "input_tokens")
    output_tokens = _count(usage_metadata, "output_tokens")
    price = (table or PriceTable()).lookup(model_name)
    usd = price.cost(input_tokens, output_tokens) if price is not None else 0.0
    return CostReport(
        model=model_name,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usd=round(usd, 8),
        priced=price is not None,
    )
