"""Pricing token usage per model."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from parallel_nodes.modes._cost import (
    DEFAULT_PRICES,
    CostReport,
    ModelPrice,
    PriceTable,
    estimate_cost,
)
from parallel_nodes.modes._offline_model import ExtractiveChatModel, build_messages

USAGE = {"input_tokens": 2_000_000, "output_tokens": 500_000, "total_tokens": 2_500_000}


@pytest.mark.parametrize(
    ("model", "usd"),
    [
        ("openai:gpt-4o-mini", 0.30 + 0.30),
        ("gpt-4o-mini", 0.60),
        ("gpt-4o-mini-2024-07-18", 0.60),
        ("openai:gpt-4o", 5.00 + 5.00),
        ("anthropic:claude-3-5-haiku", 1.60 + 2.00),
        ("claude-3-5-haiku-latest", 3.60),
        ("extractive-offline", 0.0),
    ],
)
def test_known_models_are_priced(model: str, usd: float) -> None:
    report = estimate_cost(USAGE, model, PriceTable())
    assert report == CostReport(
        model=model,
        input_tokens=2_000_000,
        output_tokens=500_000,
        usd=pytest.approx(usd),  # type: ignore[arg-type]
        priced=True,
    )


def test_unknown_model_costs_nothing_and_says_so() -> None:
    report = estimate_cost(USAGE, "acme:mystery-1", PriceTable())
    assert (report.usd, report.priced) == (0.0, False)
    assert report.input_tokens == 2_000_000


def test_missing_counts_are_zero_and_bad_counts_are_named() -> None:
    assert estimate_cost({}, "openai:gpt-4o").usd == 0.0
    bad: list[dict[str, Any]] = [{"input_tokens": -1}, {"output_tokens": 1.5}]
    for usage in bad:
        with pytest.raises(ValueError, match=r"usage_metadata\.(input|output)_tokens"):
            estimate_cost(usage, "openai:gpt-4o")


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"input": -0.1, "output": 1.0}, "input"),
        ({"input": 1.0, "output": -2.0}, "output"),
        ({"input": float("nan"), "output": 1.0}, "input"),
    ],
)
def test_negative_or_nan_prices_are_refused_with_the_field(
    fields: dict[str, float], name: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{name}: price must be a finite number >= 0"):
        ModelPrice(**fields)


def test_tables_are_frozen_and_extended_by_copy() -> None:
    base = PriceTable()
    custom = base.with_price("local:llama", input=0.0, output=0.1)
    assert base.lookup("local:llama") is None
    assert custom.lookup("llama") == ModelPrice(input=0.0, output=0.1)
    assert custom.lookup("openai:gpt-4o") == DEFAULT_PRICES["openai:gpt-4o"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.prices = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        base.prices["x"] = ModelPrice(input=0, output=0)  # type: ignore[index]
    with pytest.raises(TypeError, match=r"prices\['x'\]: must be a ModelPrice"):
        PriceTable(prices={"x": 1.0})  # type: ignore[dict-item]


def test_longest_known_prefix_wins() -> None:
    assert PriceTable().lookup("gpt-4o-2024-08-06") == DEFAULT_PRICES["openai:gpt-4o"]
    assert PriceTable().lookup("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["openai:gpt-4o-mini"]
    assert PriceTable().lookup("gpt-4") is None


def test_offline_model_usage_prices_to_zero() -> None:
    model = ExtractiveChatModel()
    reply = model.invoke(build_messages("What is a breaker?", []))
    assert reply.usage_metadata is not None
    report = estimate_cost(reply.usage_metadata, model.model_name)
    assert report.priced
    assert report.usd == 0.0
    assert report.output_tokens == reply.usage_metadata["output_tokens"] > 0
