"""Ranking tools by relevance, and the bundled tools doing real work."""

from __future__ import annotations

import dataclasses

import pytest
from langchain_core.tools import BaseTool, tool
from pydantic import ValidationError

from parallel_nodes.modes._tool_ranking import ToolSuggestion, default_tools, rank_tools


@pytest.fixture(scope="module")
def tools() -> dict[str, BaseTool]:
    return {t.name: t for t in default_tools()}


@pytest.mark.parametrize(
    ("question", "best"),
    [
        ("How many days are there between two dates?", "days_between"),
        ("Convert 5 miles to kilometres", "convert_units"),
        ("What is 2 to the power 10? Calculate it.", "calculator"),
        ("Count the words in this paragraph", "word_count"),
        ("By what percent did latency increase?", "percent_change"),
    ],
)
def test_the_fitting_tool_ranks_first(tools: dict[str, BaseTool], question: str, best: str) -> None:
    ranked = rank_tools(question, list(tools.values()))
    assert ranked[0].name == best
    assert ranked[0].description == tools[best].description
    assert all(0 < s.score <= 1 for s in ranked)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)


def test_irrelevant_tools_are_dropped(tools: dict[str, BaseTool]) -> None:
    assert rank_tools("What does a circuit breaker do?", list(tools.values())) == []
    assert rank_tools("", list(tools.values())) == []
    assert rank_tools("anything", []) == []


def test_k_limits_and_is_validated(tools: dict[str, BaseTool]) -> None:
    question = "calculate the days, words, percent and units"
    assert len(rank_tools(question, list(tools.values()), k=5)) == 5
    assert len(rank_tools(question, list(tools.values()), k=2)) == 2
    with pytest.raises(ValueError, match="k: must be at least 1"):
        rank_tools(question, list(tools.values()), k=0)


def test_identical_text_scores_one_and_suggestions_are_frozen() -> None:
    @tool
    def weather(city: str) -> str:
        """Weather forecast for a city."""
        return city

    # Name, description and argument names together are the tool's text.
    [only] = rank_tools("weather: weather forecast for a city (city)", [weather])
    assert only == ToolSuggestion(name="weather", score=1.0, description=weather.description)
    with pytest.raises(dataclasses.FrozenInstanceError):
        only.score = 0.5  # type: ignore[misc]


def test_default_registry_is_fresh_and_schema_backed() -> None:
    first, second = default_tools(), default_tools()
    assert first is not second
    assert 4 <= len(first) <= 6
    assert len({t.name for t in first}) == len(first)
    assert all(t.args_schema is not None and t.description for t in first)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("(120 + 30) * 0.95", 142.5),
        ("2 ** 10", 1024),
        ("-7 // 2 + 7 % 3", -3),
        ("sqrt(16) + abs(-2) + round(2.6)", 9),
    ],
)
def test_calculator_evaluates(tools: dict[str, BaseTool], expression: str, value: float) -> None:
    assert tools["calculator"].invoke({"expression": expression}) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "is not allowed"),
        ("open('x')", "is not allowed"),
        ("(1).real", "is not allowed"),
        ("'a' * 3", "is not allowed"),
        ("9 ** 9 ** 9", "exponent .* is too large"),
        ("1 / 0", "divides by zero"),
        ("2 +", "is not valid arithmetic"),
    ],
)
def test_calculator_refuses_anything_but_arithmetic(
    tools: dict[str, BaseTool], expression: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        tools["calculator"].invoke({"expression": expression})


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (5, "miles", "km", 8.04672),
        (1, "ft", "inches", 12),
        (100, "Celsius", "F", 212),
        (0, "k", "c", -273.15),
        (90, "minutes", "h", 1.5),
        (2, "lb", "g", 907.18474),
    ],
)
def test_convert_units(
    tools: dict[str, BaseTool], value: float, src: str, dst: str, expected: float
) -> None:
    result = tools["convert_units"].invoke({"value": value, "from_unit": src, "to_unit": dst})
    assert result == pytest.approx(expected)


def test_convert_units_rejects_mismatched_and_unknown_units(tools: dict[str, BaseTool]) -> None:
    with pytest.raises(ValueError, match="cannot convert kg to m"):
        tools["convert_units"].invoke({"value": 1, "from_unit": "kg", "to_unit": "m"})
    with pytest.raises(ValueError, match="'parsec' is unknown"):
        tools["convert_units"].invoke({"value": 1, "from_unit": "parsec", "to_unit": "m"})


def test_word_count(tools: dict[str, BaseTool]) -> None:
    text = "Breakers open fast. They recover later!"
    assert tools["word_count"].invoke({"text": text}) == {
        "words": 6,
        "sentences": 2,
        "characters": len(text),
    }


def test_days_between_parses_iso_dates(tools: dict[str, BaseTool]) -> None:
    assert tools["days_between"].invoke({"start": "2024-02-01", "end": "2024-03-01"}) == 29
    assert tools["days_between"].invoke({"start": "2024-03-01", "end": "2024-02-01"}) == -29
    with pytest.raises(ValidationError):
        tools["days_between"].invoke({"start": "yesterday", "end": "2024-02-01"})


def test_percent_change(tools: dict[str, BaseTool]) -> None:
    assert tools["percent_change"].invoke({"old": 200, "new": 150}) == pytest.approx(-25)
    with pytest.raises(ValueError, match="from 0 is undefined"):
        tools["percent_change"].invoke({"old": 0, "new": 1})
