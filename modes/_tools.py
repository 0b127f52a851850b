"""Approved tool calls: checked against the suggestions and each tool's schema, then run.

The manual modes resume their approval interrupt with ``"tools"``, a list whose items are
either a bare name or a call:

* ``"days_between"`` approves the suggestion but runs nothing: a name carries no arguments.
* ``{"name": "days_between", "args": {"start": "2026-01-01", "end": "2026-03-01"}}`` approves
  the tool and asks for it to be run with those arguments.

``validate_tool_approvals`` checks every item before anything runs: the tool must be in the
registry and among the suggestions, and its arguments must pass the tool's ``args_schema``.
One bad item refuses the whole approval, so either every approved call runs or none does.
``run_tool_calls`` then runs the calls, each under its own timeout; a failing or slow tool
is recorded, never raised.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import operator
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from langchain_core.documents import Document
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel, ValidationError

__all__ = [
    "DEFAULT_TOOL_TIMEOUT",
    "MAX_EXPRESSION_CHARS",
    "MAX_RESULT_DIGITS",
    "ToolApproval",
    "ToolCall",
    "calculate",
    "coerce_timeout",
    "run_tool_calls",
    "tool_result_docs",
    "validate_tool_approvals",
]

DEFAULT_TOOL_TIMEOUT = 10.0
"""Seconds one approved tool may run before its result is recorded as a timeout."""

_CALL_KEYS = frozenset({"name", "args"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """One approved call, its arguments already validated.

    Example:
        >>> from parallel_nodes.modes._tool_ranking import default_tools
        >>> registry = {t.name: t for t in default_tools()}
        >>> approval = validate_tool_approvals(
        ...     [{"name": "days_between", "args": {"start": "2026-01-01", "end": "2026-03-01"}}],
        ...     registry=registry,
        ...     suggested=["days_between"],
        ... )
        >>> approval.calls[0].args
        {'start': '2026-01-01', 'end': '2026-03-01'}
    """

    name: str
    """The tool's name in the registry."""
    args: dict[str, Any] = field(default_factory=dict)
    """The arguments as the schema parsed them, dumped back to JSON-safe data."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolApproval:
    """What the user approved: tool names, and the calls among them to run."""

    names: tuple[str, ...]
    """Every approved tool, bare names and calls alike, in order, without repeats."""
    calls: tuple[ToolCall, ...]
    """The approved calls, in the order given; only these run."""


def coerce_timeout(value: float | timedelta, *, name: str = "tool_timeout") -> float:
    """Seconds as a positive float, from a number or a ``timedelta``.

    Raises:
        ValueError: ``value`` is not positive.
        TypeError: ``value`` is neither a number nor a ``timedelta``.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{name}: expected seconds (float) or a timedelta, got {value!r}")
    if not seconds > 0:
        raise ValueError(f"{name}: must be more than 0 seconds, got {seconds}")
    return seconds


def validate_tool_approvals(
    items: object,
    *,
    registry: Mapping[str, BaseTool],
    suggested: Collection[str],
    where: str = "resume.tools",
) -> ToolApproval:
    """Check an approval's ``"tools"`` list against the registry, suggestions and schemas.

    Args:
        items: A list of tool names and ``{"name": ..., "args": {...}}`` calls.
        registry: The tools the workflow may run, by name.
        suggested: The names tier 1 suggested; only these may be approved.
        where: How error messages name ``items``.

    Returns:
        The approved names and the validated calls.

    Raises:
        ValueError: An item names an unknown or unsuggested tool, is malformed, or has
            arguments the tool's schema refuses. The message names every bad field, e.g.
            ``resume.tools[0].args.start: Input should be a valid date ...``.
    """
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ValueError(
            f"{where}: must be a list of tool names or calls like "
            "{'name': 'days_between', 'args': {'start': '2026-01-01', 'end': '2026-03-01'}}"
        )
    errors: list[str] = []
    names: dict[str, None] = {}
    calls: list[ToolCall] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            if _check_name(item, f"{at}", registry, suggested, errors):
                names.setdefault(item)
            continue
        if not isinstance(item, Mapping):
            errors.append(f"{at}: must be a tool name or {{'name': ..., 'args': {{...}}}}")
            continue
        extra = sorted(str(k) for k in item if k not in _CALL_KEYS)
        if extra:
            errors.append(f"{at}: unknown keys {extra}; a call has 'name' and 'args'")
        name = item.get("name")
        if not isinstance(name, str):
            errors.append(f"{at}.name: must be the tool's name, a string")
            continue
        if not _check_name(name, f"{at}.name", registry, suggested, errors):
            continue
        args = item.get("args", {})
        if not isinstance(args, Mapping):
            errors.append(f"{at}.args: must be a mapping of argument names to values")
            continue
        parsed = _validate_args(registry[name], args, f"{at}.args", errors)
        if parsed is not None:
            names.setdefault(name)
            calls.append(ToolCall(name=name, args=parsed))
    if errors:
        raise ValueError("; ".join(errors))
    return ToolApproval(names=tuple(names), calls=tuple(calls))


def _check_name(
    name: str,
    at: str,
    registry: Mapping[str, BaseTool],
    suggested: Collection[str],
    errors: list[str],
) -> bool:
    if name not in registry:
        errors.append(f"{at}: unknown tool {name!r}; the registry has {', '.join(registry)}")
        return False
    if name not in suggested:
        offered = ", ".join(suggested) or "none"
        errors.append(
            f"{at}: {name!r} was not suggested for this question, so it cannot be approved; "
            f"suggested: {offered}"
        )
        return False
    return True


def _validate_args(
    tool: BaseTool, args: Mapping[Any, Any], at: str, errors: list[str]
) -> dict[str, Any] | None:
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        errors.append(f"{at}: tool {tool.name!r} has no pydantic args_schema to check against")
        return None
    fields = schema.model_fields
    accepted = set(fields) | {f.alias for f in fields.values() if f.alias}
    unknown = sorted(str(k) for k in args if k not in accepted)
    if unknown:
        errors.extend(
            f"{at}.{k}: unknown argument; {tool.name} takes {', '.join(fields)}" for k in unknown
        )
        return None
    try:
        model = schema.model_validate(dict(args))
    except ValidationError as exc:
        errors.extend(f"{at}{_loc(e['loc'])}: {e['msg']}" for e in exc.errors())
        return None
    return model.model_dump(mode="json", by_alias=True)


def _loc(loc: Sequence[int | str]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


async def run_tool_calls(
    calls: Sequence[Mapping[str, Any]],
    registry: Mapping[str, BaseTool],
    *,
    per_call_timeout: float,
    first_n: int = 1,
) -> list[dict[str, Any]]:
    """Run approved calls at once, each under its timeout; failures are recorded, not raised.

    Args:
        calls: ``{"name": ..., "args": {...}}`` as ``validate_tool_approvals`` produced them.
        registry: The tools, by name.
        per_call_timeout: Seconds each call may take. A synchronous tool runs in a thread
            that cannot be stopped; past the timeout its result is ignored.
        first_n: The source number the first successful result gets in the model's context.

    Returns:
        One plain-data record per call, in order: ``name``, ``args``, ``status`` (``"ok"``,
        ``"error"`` or ``"timeout"``), ``output``, ``error``, ``duration`` and ``n`` (the
        source number, ``None`` unless ``ok``).
    """
    records = await asyncio.gather(*(_run_one(c, registry, per_call_timeout) for c in calls))
    n = first_n
    for record in records:
        if record["status"] == "ok":
            record["n"] = n
            n += 1
    return records


async def _run_one(
    call: Mapping[str, Any], registry: Mapping[str, BaseTool], limit: float
) -> dict[str, Any]:
    name, args = str(call["name"]), dict(call.get("args") or {})
    record: dict[str, Any] = {
        "name": name,
        "args": args,
        "status": "ok",
        "output": None,
        "error": None,
        "duration": 0.0,
        "n": None,
    }
    started = time.perf_counter()
    try:
        tool = registry.get(name)
        if tool is None:
            raise LookupError(f"tool {name!r} is no longer in the registry")
        async with asyncio.timeout(limit):
            record["output"] = _plain_output(await tool.ainvoke(args))
    except GraphBubbleUp:
        raise
    except TimeoutError:
        record.update(status="timeout", error=f"TimeoutError: no result within {limit:g} s")
    except Exception as exc:  # a tool's failure degrades the answer, never the graph
        record.update(status="error", error=f"{type(exc).__name__}: {exc}")
    record["duration"] = round(time.perf_counter() - started, 6)
    return record


def _plain_output(value: Any) -> Any:
    """The output as JSON-safe data, so the checkpoint can store it; else its text."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


def tool_result_docs(records: Sequence[Mapping[str, Any]]) -> list[Document]:
    """The successful results as sources the model can read and cite, after the retrieved ones.

    Example:
        >>> record = {"name": "days_between", "args": {"start": "2026-01-01", "end": "2026-03-01"},
        ...           "status": "ok", "output": 59, "n": 3}
        >>> tool_result_docs([record])[0].page_content
        'The days between tool, given start 2026-01-01 and end 2026-03-01, returned 59.'
    """
    docs = []
    for r in records:
        if r.get("status") != "ok":
            continue
        name = str(r["name"])
        given = " and ".join(f"{k} {_text(v)}" for k, v in dict(r.get("args") or {}).items())
        text = f"The {name.replace('_', ' ')} tool"
        text += f", given {given}," if given else ""
        text += f" returned {_text(r.get('output'))}."
        docs.append(
            Document(
                page_content=text,
                metadata={
                    "n": r.get("n"),
                    "chunk_id": f"tool:{name}:{r.get('n')}",
                    "source": f"tool:{name}",
                    "heading": name,
                    "score": 1.0,
                },
            )
        )
    return docs


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    return str(value)


# -- the calculator ------------------------------------------------------------------------------

MAX_EXPRESSION_CHARS = 500
"""Longer expressions are refused before they are parsed."""
MAX_RESULT_DIGITS = 4300
"""The most decimal digits any intermediate integer may have: CPython's own limit for turning
an integer into text. Why a limit: Python's integers grow without bound, so
``((10**1000)**1000)**1000`` would otherwise compute for minutes; every product and power is
sized before it is computed."""


def _digits(n: int) -> float:
    return math.log10(n) if n else 0.0


def _checked_pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        digits = b * _digits(abs(a))
        if digits > MAX_RESULT_DIGITS:
            raise ValueError(
                f"expression: exponent {b} is too large: the result would have about "
                f"{digits:,.0f} digits (limit {MAX_RESULT_DIGITS})"
            )
    try:
        return a**b
    except OverflowError:
        raise ValueError(f"expression: {a!r} ** {b!r} is too large for a float") from None


def _checked_mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        digits = _digits(abs(a)) + _digits(abs(b))
        if digits > MAX_RESULT_DIGITS + 1:
            raise ValueError(
                f"expression: a product of about {digits:,.0f} digits is too large "
                f"(limit {MAX_RESULT_DIGITS})"
            )
    return a * b


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expression: {value!r} is not allowed; only numbers are")
    return value


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _checked_mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _checked_pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"sqrt": math.sqrt, "abs": abs, "round": round}
_NODES = (ast.Expr, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)
"""The only syntax the calculator reads: no names, attributes, subscripts or comparisons."""


def calculate(expression: str) -> float:
    """Evaluate arithmetic with ``simpleeval``: numbers, ``+ - * / // % **``, parentheses,
    ``sqrt()``, ``abs()`` and ``round()``, with every intermediate result size-limited.

    Raises:
        ValueError: The expression is not such arithmetic, divides by zero, or would produce
            a number over ``MAX_RESULT_DIGITS`` digits; the message says which.

    Example:
        >>> calculate("(120 + 30) * 0.95")
        142.5
    """
    try:
        from simpleeval import InvalidExpression, SimpleEval  # type: ignore[import-untyped]
    except ImportError:
        raise ValueError(
            "calculator: needs simpleeval; run: pip install 'langgraph-parallel-nodes[cli]'"
        ) from None
    allowed = f"use numbers, + - * / // % **, parentheses and {', '.join(sorted(_FUNCTIONS))}()"
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression: longer than {MAX_EXPRESSION_CHARS} characters")
    evaluator = SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names={})
    evaluator.nodes = {k: v for k, v in evaluator.nodes.items() if k in _NODES}
    plain_constant = evaluator.nodes[ast.Constant]
    evaluator.nodes[ast.Constant] = lambda node: _number(plain_constant(node))
    try:
        value = evaluator.eval(expression)
    except SyntaxError:
        raise ValueError(f"expression: {expression!r} is not valid arithmetic") from None
    except ZeroDivisionError:
        raise ValueError(f"expression: {expression!r} divides by zero") from None
    except (InvalidExpression, KeyError, TypeError) as exc:
        raise ValueError(f"expression: {expression!r} is not allowed ({exc}); {allowed}") from None
    except ValueError as exc:
        if str(exc).startswith("expression:"):
            raise
        raise ValueError(f"expression: {expression!r}: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expression: {expression!r} does not give a finite number")
    return _number(value)  # type: ignore[no-any-return]
