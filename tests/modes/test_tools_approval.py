"""Tools run only after approval, with arguments checked against their schema first.

Every test drives a real compiled LangGraph graph with an ``InMemorySaver`` checkpointer, and
counts calls with a tool whose only side effect is to record that it ran.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from parallel_nodes.modes._modes import (
    Mode1ManualWorkflow,
    Mode2AutomaticWorkflow,
    Mode3ChatManualWorkflow,
    Mode4ChatAutomaticWorkflow,
)
from parallel_nodes.modes._tool_ranking import default_tools
from parallel_nodes.modes._tools import (
    calculate,
    run_tool_calls,
    tool_result_docs,
    validate_tool_approvals,
)
from parallel_nodes.modes._workflow import RESUME_SCHEMA, RagWorkflow

QUESTION = "How many days between 2026-01-01 and 2026-03-01?"
GOOD = {"name": "span_days", "args": {"first": "2026-01-01", "last": "2026-03-01"}}
NO_METRICS = {"metrics": False}


class _SpanInput(BaseModel):
    first: date = Field(description="The first calendar date, ISO format.")
    last: date = Field(description="The last calendar date, ISO format.")


def _counting_tool() -> tuple[BaseTool, list[dict[str, Any]]]:
    """A suggested tool that records each run: the side effect the tests count."""
    runs: list[dict[str, Any]] = []

    @tool(
        "span_days",
        args_schema=_SpanInput,
        description="Number of days between two calendar dates.",
    )
    async def span_days(first: date, last: date) -> int:
        runs.append({"first": first, "last": last})
        return (last - first).days

    return span_days, runs


def _manual(
    mode: type[RagWorkflow] = Mode1ManualWorkflow, **kwargs: Any
) -> tuple[Any, list[dict[str, Any]]]:
    counted, runs = _counting_tool()
    workflow = mode(tools=[counted, *default_tools()], config=NO_METRICS, **kwargs)
    return workflow.compile(checkpointer=InMemorySaver()), runs


def _cfg() -> RunnableConfig:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


async def _paused(graph: Any, config: RunnableConfig) -> dict[str, Any]:
    paused: dict[str, Any] = await graph.ainvoke({"question": QUESTION}, config)
    assert paused["__interrupt__"], "the manual mode did not pause for approval"
    value: dict[str, Any] = paused["__interrupt__"][0].value
    return value


# -- tools run only after approval ------------------------------------------------------------


async def test_manual_mode_runs_an_approved_tool_only_after_approval() -> None:
    graph, runs = _manual()
    config = _cfg()
    payload = await _paused(graph, config)
    offered = {t["name"]: t for t in payload["tools"]}
    assert set(offered["span_days"]["args"]) == {"first", "last"}
    assert runs == [], "a tool ran before the user approved it"
    assert (await graph.aget_state(config)).next == ("approval",)

    out = await graph.ainvoke(Command(resume={"tools": [GOOD]}), config)

    assert runs == [{"first": date(2026, 1, 1), "last": date(2026, 3, 1)}]
    [result] = out["tool_results"]
    assert result["status"] == "ok"
    assert result["output"] == 59
    assert result["n"] == len(out["rag_retrieval"]) + 1
    assert out["approval"]["tool_calls"] == [GOOD]
    # The result reaches the model as a numbered source, and the citation resolves to it.
    assert f"returned 59 [{result['n']}]" in out["answer"]
    cited = {c["marker"]: c["source"] for c in out["citation_extraction"]["citations"]}
    assert cited[result["n"]] == "tool:span_days"
    assert out["citation_extraction"]["invalid_markers"] == ()


async def test_bare_names_and_approve_all_run_no_tool() -> None:
    graph, runs = _manual()
    by_name = _cfg()
    await _paused(graph, by_name)
    out = await graph.ainvoke(Command(resume={"tools": ["span_days"]}), by_name)
    assert out["approval"]["tools"] == ["span_days"]
    assert out["approval"]["tool_calls"] == []
    assert out["tool_results"] == []

    approve_all = _cfg()
    await _paused(graph, approve_all)
    out = await graph.ainvoke(Command(resume=True), approve_all)
    assert "span_days" in out["approval"]["tools"]
    assert out["tool_results"] == []
    assert runs == []


@pytest.mark.parametrize(
    "mode", [Mode1ManualWorkflow, Mode3ChatManualWorkflow], ids=["interactive", "chat_manual"]
)
async def test_resume_with_an_empty_mapping_keeps_everything_and_does_not_pause_again(
    mode: type[RagWorkflow],
) -> None:
    graph, runs = _manual(mode)
    config = _cfg()
    payload = await _paused(graph, config)
    out = await graph.ainvoke(Command(resume={}), config)
    assert "__interrupt__" not in out
    assert out["answer"]
    assert [s["chunk_id"] for s in out["rag_retrieval"]] == [
        s["chunk_id"] for s in payload["sources"]
    ]
    assert out["approval"]["tools"] == [t["name"] for t in payload["tools"]]
    assert runs == []
    assert (await graph.aget_state(config)).next == ()


def test_the_resume_map_key_is_langgraphs() -> None:
    from langgraph._internal._constants import CONFIG_KEY_RESUME_MAP

    from parallel_nodes.modes._workflow import _RESUME_MAP_KEY

    assert _RESUME_MAP_KEY == CONFIG_KEY_RESUME_MAP


@pytest.mark.parametrize(
    "mode", [Mode2AutomaticWorkflow, Mode4ChatAutomaticWorkflow], ids=["research", "chat"]
)
async def test_automatic_modes_suggest_tools_but_never_run_them(mode: type[RagWorkflow]) -> None:
    graph, runs = _manual(mode)
    # Even an approval smuggled into the input runs nothing: these modes have no tool node.
    inputs = {
        "question": QUESTION,
        "messages": [HumanMessage(QUESTION)],
        "approval": {"tools": ["span_days"], "tool_calls": [GOOD]},
    }
    out = await graph.ainvoke(inputs, _cfg())
    assert "span_days" in [t["name"] for t in out["tool_suggestion"]]
    assert "__interrupt__" not in out
    assert "tool_results" not in out
    assert runs == []
    assert "run_tools" not in graph.get_graph().nodes


async def test_chat_manual_runs_tools_only_after_each_turns_approval() -> None:
    graph, runs = _manual(Mode3ChatManualWorkflow)
    config = _cfg()
    turn = {"question": QUESTION, "messages": [HumanMessage(QUESTION)]}
    await graph.ainvoke(turn, config)
    assert runs == []
    out = await graph.ainvoke(Command(resume={"tools": [GOOD]}), config)
    assert len(runs) == 1
    assert out["tool_results"][0]["output"] == 59

    paused = await graph.ainvoke(turn, config)
    assert paused["__interrupt__"]
    assert len(runs) == 1, "the second turn ran a tool before its approval"
    out = await graph.ainvoke(Command(resume=True), config)
    assert out["tool_results"] == [], "the first turn's tool result leaked into the second"
    assert len(runs) == 1


# -- arguments are validated against the schema before anything runs --------------------------


@pytest.mark.parametrize(
    ("calls", "field"),
    [
        (
            [{"name": "span_days", "args": {"first": "soon", "last": "2026-03-01"}}],
            r"resume\.tools\[0\]\.args\.first: Input should be a valid date",
        ),
        (
            [{"name": "span_days", "args": {"first": "2026-01-01"}}],
            r"resume\.tools\[0\]\.args\.last: Field required",
        ),
        (
            [{"name": "span_days", "args": {**GOOD["args"], "days": 3}}],  # type: ignore[dict-item]
            r"resume\.tools\[0\]\.args\.days: unknown argument; span_days takes first, last",
        ),
        (
            [{"name": "span_days", "args": ["2026-01-01", "2026-03-01"]}],
            r"resume\.tools\[0\]\.args: must be a mapping",
        ),
        (
            # One bad call among good ones: none of them runs.
            [GOOD, {"name": "span_days", "args": {"first": "2026-01-01", "last": 7.5}}],
            r"resume\.tools\[1\]\.args\.last: ",
        ),
    ],
    ids=["bad-value", "missing", "unknown-argument", "not-a-mapping", "second-of-two"],
)
async def test_a_bad_argument_is_refused_with_its_field_named_and_nothing_runs(
    calls: list[dict[str, Any]], field: str
) -> None:
    graph, runs = _manual()
    config = _cfg()
    await _paused(graph, config)
    with pytest.raises(ValueError, match=field):
        await graph.ainvoke(Command(resume={"tools": calls}), config)
    assert runs == []
    # The refused answer was not saved: the same interrupt takes a corrected one.
    assert (await graph.aget_state(config)).next == ("approval",)
    out = await graph.ainvoke(Command(resume={"tools": [GOOD]}), config)
    assert len(runs) == 1
    assert out["tool_results"][0]["status"] == "ok"


@pytest.mark.parametrize(
    ("tools", "field"),
    [
        ([{"name": "nope", "args": {}}], r"resume\.tools\[0\]\.name: unknown tool 'nope'"),
        (["nope"], r"resume\.tools\[0\]: unknown tool 'nope'"),
        (
            [GOOD, {"name": "word_count", "args": {"text": "a b"}}],
            r"resume\.tools\[1\]\.name: 'word_count' was not suggested for this question",
        ),
        (["word_count"], r"resume\.tools\[0\]: 'word_count' was not suggested"),
        ([{"tool": "span_days"}], r"resume\.tools\[0\]: unknown keys \['tool'\]"),
        ("span_days", r"resume\.tools: must be a list"),
    ],
    ids=["unknown-call", "unknown-name", "unsuggested-call", "unsuggested-name", "keys", "str"],
)
async def test_an_unknown_or_unsuggested_tool_is_refused(tools: Any, field: str) -> None:
    graph, runs = _manual()
    config = _cfg()
    payload = await _paused(graph, config)
    assert "word_count" not in [t["name"] for t in payload["tools"]]
    with pytest.raises(ValueError, match=field):
        await graph.ainvoke(Command(resume={"tools": tools}), config)
    assert runs == []


async def test_the_interrupt_advertises_the_resume_schema() -> None:
    graph, _ = _manual()
    paused = await graph.ainvoke({"question": QUESTION}, _cfg())
    assert paused["__interrupt__"][0].response_schema == RESUME_SCHEMA


def test_validated_arguments_are_plain_data_in_schema_form() -> None:
    registry = {t.name: t for t in default_tools()}
    approval = validate_tool_approvals(
        [
            "days_between",
            {"name": "convert_units", "args": {"value": "5", "from_unit": "mi", "to_unit": "km"}},
        ],
        registry=registry,
        suggested=["days_between", "convert_units"],
    )
    assert approval.names == ("days_between", "convert_units")
    [call] = approval.calls
    assert call.args == {"value": 5.0, "from_unit": "mi", "to_unit": "km"}


# -- running: failures and timeouts degrade, never crash ---------------------------------------


async def test_a_failing_tool_is_recorded_and_the_answer_still_comes() -> None:
    graph = Mode1ManualWorkflow(config=NO_METRICS).compile()
    config = _cfg()
    question = "What is the percent change in latency from 120 ms to 90 ms?"
    await graph.ainvoke({"question": question}, config)
    bad = {"name": "percent_change", "args": {"old": 0, "new": 90}}
    out = await graph.ainvoke(Command(resume={"tools": [bad]}), config)
    [result] = out["tool_results"]
    assert result["status"] == "error"
    assert result["error"].startswith("ValueError: old:")
    assert result["n"] is None
    assert out["answer"]
    assert "tool:percent_change" not in str(out["citation_extraction"])


async def test_a_slow_tool_times_out_without_holding_the_graph() -> None:
    class _Nothing(BaseModel):
        days: int = Field(description="How many days to wait.")

    @tool("wait_days", args_schema=_Nothing, description="Wait some days between two dates.")
    async def wait_days(days: int) -> int:
        await asyncio.sleep(days)
        return days

    workflow = Mode1ManualWorkflow(
        tools=[wait_days], tool_timeout=timedelta(milliseconds=100), config=NO_METRICS
    )
    graph = workflow.compile()
    config = _cfg()
    await graph.ainvoke({"question": QUESTION}, config)
    started = time.perf_counter()
    out = await graph.ainvoke(
        Command(resume={"tools": [{"name": "wait_days", "args": {"days": 30}}]}), config
    )
    assert time.perf_counter() - started < 5
    [result] = out["tool_results"]
    assert result["status"] == "timeout"
    assert out["answer"]


async def test_calls_run_at_once_and_number_their_results_after_the_sources() -> None:
    registry = {t.name: t for t in default_tools()}
    calls = [
        {"name": "percent_change", "args": {"old": 0, "new": 1}},
        {"name": "days_between", "args": {"start": "2026-01-01", "end": "2026-01-31"}},
        {"name": "word_count", "args": {"text": "One two. Three."}},
    ]
    results = await run_tool_calls(calls, registry, per_call_timeout=5, first_n=3)
    assert [r["status"] for r in results] == ["error", "ok", "ok"]
    assert [r["n"] for r in results] == [None, 3, 4]
    docs = tool_result_docs(results)
    assert [d.metadata["n"] for d in docs] == [3, 4]
    assert docs[1].page_content == (
        "The word count tool, given text One two. Three., returned words 3, sentences 2, "
        "characters 15."
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"tool_timeout": 0}, "tool_timeout: must be more than 0"),
        ({"tools": [*default_tools(), *default_tools()[:1]]}, r"tools: names must be unique"),
    ],
)
def test_bad_tool_options_are_refused(kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Mode1ManualWorkflow(config=NO_METRICS, **kwargs)


def test_the_examples_in_the_tools_module_stay_true() -> None:
    import doctest

    import parallel_nodes.modes._tools

    result = doctest.testmod(parallel_nodes.modes._tools, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- the calculator: simpleeval, with every product and power sized first ----------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("((10**1000)**1000)**1000", "exponent 1000 is too large"),
        ("9 ** 9 ** 9", "exponent 387420489 is too large"),
        ("10**2200 * 10**2200", "product of about 4,400 digits is too large"),
        ("2.0 ** 5000", "too large for a float"),
        ("1e308 * 10", "does not give a finite number"),
        ("1" * 501, "longer than 500 characters"),
    ],
)
def test_the_calculator_refuses_huge_numbers_before_computing_them(
    expression: str, message: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        calculate(expression)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "expression",
    ["'a' * 3", "(1).real", "x + 1", "1 < 2", "[1][0]", "True + 1", "f'{1}'", "lambda: 1"],
)
def test_the_calculator_reads_only_numbers_and_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError, match=r"is not allowed|is not valid arithmetic"):
        calculate(expression)


def test_the_calculator_still_computes_large_but_bounded_numbers() -> None:
    assert calculate("10**2000 * 10**2000") == 10**4000
    assert calculate("sqrt(2) ** 2") == pytest.approx(2)
    assert calculate("-7 // 2 + 7 % 3") == -3


def test_without_simpleeval_the_calculator_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "simpleeval", None)
    with pytest.raises(ValueError, match=r"needs simpleeval; run: pip install") as caught:
        calculate("1 + 1")
    assert "\n" not in str(caught.value)


async def test_an_approved_calculator_call_that_is_too_large_is_recorded_fast() -> None:
    registry = {t.name: t for t in default_tools()}
    started = time.perf_counter()
    [record] = await run_tool_calls(
        [{"name": "calculator", "args": {"expression": "((10**1000)**1000)**1000"}}],
        registry,
        per_call_timeout=5.0,
    )
    assert record["status"] == "error"
    assert "too large" in record["error"]
    assert time.perf_counter() - started < 1.0
