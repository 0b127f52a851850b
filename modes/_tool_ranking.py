"""Which tools fit a question: TF-IDF cosine over each tool's name, description and arguments.

Also a small registry of real, offline tools (arithmetic, units, word counts, dates, percent
change) so the modes have something to suggest out of the box.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from ._text import content_tokens, split_sentences, tokenize

__all__ = ["ToolSuggestion", "default_tools", "rank_tools"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSuggestion:
    """A tool worth offering for a question.

    Example:
        >>> rank_tools("how many days between two dates?", default_tools(), k=1)[0].name
        'days_between'
    """

    name: str
    """The tool's name, as the model would call it."""
    score: float
    """Cosine similarity of question and tool text, in 0..1."""
    description: str
    """The tool's description, for showing to the user."""


def _tool_text(t: BaseTool) -> str:
    fields = " ".join(f"{name} {info.get('description', '')}" for name, info in t.args.items())
    return f"{t.name.replace('_', ' ')} {t.description} {fields}"


def rank_tools(question: str, tools: Sequence[BaseTool], *, k: int = 3) -> list[ToolSuggestion]:
    """Rank ``tools`` by how well their name, description and arguments match ``question``.

    Args:
        question: The user's question.
        tools: The registry to choose from.
        k: The most suggestions to return.

    Returns:
        At most ``k`` suggestions, best first (ties by name); tools sharing no word with the
        question are left out.

    Raises:
        ValueError: ``k`` is below 1.
    """
    if k < 1:
        raise ValueError(f"k: must be at least 1, got {k}")
    docs = [Counter(content_tokens(_tool_text(t))) for t in tools]
    df = Counter(term for doc in docs for term in doc)
    # Smoothed IDF, as in scikit-learn: never zero, so a word every tool shares still counts.
    idf = {term: math.log((1 + len(docs)) / (1 + n)) + 1 for term, n in df.items()}
    query = _unit({t: c * idf[t] for t, c in Counter(content_tokens(question)).items() if t in idf})
    suggestions = []
    for t, doc in zip(tools, docs, strict=True):
        vector = _unit({term: c * idf[term] for term, c in doc.items()})
        score = sum(w * vector.get(term, 0.0) for term, w in query.items())
        if score > 0:
            suggestions.append(
                ToolSuggestion(
                    name=t.name, score=round(min(score, 1.0), 4), description=t.description
                )
            )
    suggestions.sort(key=lambda s: (-s.score, s.name))
    return suggestions[:k]


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


# -- the default registry -------------------------------------------------------------------------

_DESCRIPTIONS = {
    "calculator": "Calculate the numeric value of an arithmetic expression: sums, products, "
    "ratios, powers and square roots (math, compute, evaluate).",
    "convert_units": "Convert a measurement between units of length (millimetres, centimetres, "
    "metres, kilometres, inches, feet, yards, miles), mass (grams, kilograms, pounds, ounces), "
    "time (milliseconds, seconds, minutes, hours, days) or temperature (Celsius, Fahrenheit, "
    "Kelvin).",
    "word_count": "Count the words, sentences and characters in a text, e.g. to check the length "
    "of a paragraph, summary or document.",
    "days_between": "Number of days between two calendar dates; negative when end is before "
    "start. Use it for date differences, durations and how long ago something happened.",
    "percent_change": "Percentage change from an old value to a new one, e.g. how much latency, "
    "cost or throughput increased or decreased.",
}
"""What each default tool does, in the words questions use; the ranking reads these."""


class _CalculatorInput(BaseModel):
    expression: str = Field(description="Arithmetic such as '(120 + 30) * 0.95' or '2 ** 10'.")


@tool("calculator", args_schema=_CalculatorInput, description=_DESCRIPTIONS["calculator"])
def _calculator(expression: str) -> float:
    # simpleeval with size limits, in _tools beside the other code that runs approved calls.
    from ._tools import calculate

    return calculate(expression)


_FACTORS: dict[str, tuple[str, float]] = {
    **{u: ("length", f) for u, f in {"mm": 1e-3, "cm": 1e-2, "m": 1.0, "km": 1e3}.items()},
    **{u: ("length", f) for u, f in {"in": 0.0254, "ft": 0.3048, "yd": 0.9144}.items()},
    "mi": ("length", 1609.344),
    **{
        u: ("mass", f)
        for u, f in {"g": 1e-3, "kg": 1.0, "lb": 0.45359237, "oz": 0.028349523125}.items()
    },
    **{
        u: ("time", f)
        for u, f in {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0}.items()
    },
}
_TEMPERATURE = {"c", "f", "k"}
_ALIASES = {
    **dict.fromkeys(("millimetre", "millimeter"), "mm"),
    **dict.fromkeys(("centimetre", "centimeter"), "cm"),
    **dict.fromkeys(("metre", "meter"), "m"),
    **dict.fromkeys(("kilometre", "kilometer"), "km"),
    **dict.fromkeys(("inch", "inche"), "in"),
    **dict.fromkeys(("foot", "feet"), "ft"),
    "yard": "yd",
    "mile": "mi",
    "gram": "g",
    "kilogram": "kg",
    **dict.fromkeys(("pound", "lbs"), "lb"),
    "ounce": "oz",
    "millisecond": "ms",
    **dict.fromkeys(("sec", "second"), "s"),
    "minute": "min",
    **dict.fromkeys(("hr", "hour"), "h"),
    **dict.fromkeys(("d", "days"), "day"),
    **dict.fromkeys(("celsius", "°c"), "c"),
    **dict.fromkeys(("fahrenheit", "°f"), "f"),
    "kelvin": "k",
}


def _unit_name(unit: str) -> str:
    """``"Miles"`` and ``"mi"`` are both ``"mi"``; plural names are accepted."""
    name = unit.strip().lower()
    if name in _FACTORS or name in _TEMPERATURE:
        return name
    name = _ALIASES.get(name) or _ALIASES.get(name.removesuffix("s"), name)
    return name


def _to_kelvin(value: float, unit: str) -> float:
    return {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"c": value - 273.15, "f": (value - 273.15) * 9 / 5 + 32, "k": value}[unit]


class _ConvertInput(BaseModel):
    value: float = Field(description="The quantity to convert.")
    from_unit: str = Field(description="Unit of the value, e.g. km, mi, kg, lb, h, min, c, f.")
    to_unit: str = Field(description="Unit to convert to, of the same kind.")


@tool("convert_units", args_schema=_ConvertInput, description=_DESCRIPTIONS["convert_units"])
def _convert_units(value: float, from_unit: str, to_unit: str) -> float:
    src, dst = _unit_name(from_unit), _unit_name(to_unit)
    if src in _TEMPERATURE and dst in _TEMPERATURE:
        return _from_kelvin(_to_kelvin(value, src), dst)
    known = sorted([*_FACTORS, *_TEMPERATURE])
    for unit in (src, dst):
        if unit not in _FACTORS and unit not in _TEMPERATURE:
            raise ValueError(f"unit: {unit!r} is unknown; use one of {', '.join(known)}")
    if src in _TEMPERATURE or dst in _TEMPERATURE or _FACTORS[src][0] != _FACTORS[dst][0]:
        raise ValueError(f"unit: cannot convert {src} to {dst}; they measure different things")
    return value * _FACTORS[src][1] / _FACTORS[dst][1]


class _CountInput(BaseModel):
    text: str = Field(description="The text to count.")


@tool("word_count", args_schema=_CountInput, description=_DESCRIPTIONS["word_count"])
def _word_count(text: str) -> dict[str, int]:
    return {
        "words": len(tokenize(text)),
        "sentences": len(split_sentences(text)),
        "characters": len(text),
    }


class _DaysInput(BaseModel):
    start: date = Field(description="The first date, ISO format (2024-01-31).")
    end: date = Field(description="The second date, ISO format.")


@tool("days_between", args_schema=_DaysInput, description=_DESCRIPTIONS["days_between"])
def _days_between(start: date, end: date) -> int:
    return (end - start).days


class _PercentInput(BaseModel):
    old: float = Field(description="The earlier value.")
    new: float = Field(description="The later value.")


@tool("percent_change", args_schema=_PercentInput, description=_DESCRIPTIONS["percent_change"])
def _percent_change(old: float, new: float) -> float:
    if old == 0:
        raise ValueError("old: the percent change from 0 is undefined; pass a non-zero value")
    return (new - old) / abs(old) * 100


def default_tools() -> list[BaseTool]:
    """The bundled offline tools: calculator, convert_units, word_count, days_between and
    percent_change.

    Returns:
        A new list each call, so callers may add or remove tools freely.
    """
    return [_calculator, _convert_units, _word_count, _days_between, _percent_change]
