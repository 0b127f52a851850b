"""The offline extractive chat model through LangChain's public entry points."""

from __future__ import annotations

import re

import pytest
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from parallel_nodes.modes._corpus import SAMPLE_CORPUS, CorpusRetriever
from parallel_nodes.modes._offline_model import (
    NO_ANSWER,
    NO_SOURCES,
    ExtractiveChatModel,
    build_messages,
    format_context,
)
from parallel_nodes.modes._text import count_tokens

DOCS = [
    Document(page_content="Cats sleep for most of the day. They purr when content."),
    Document(
        page_content="A circuit breaker opens after five consecutive failures.\n"
        "While open, every call is rejected at once."
    ),
    Document(page_content="After the recovery timeout the breaker becomes half-open."),
]
QUESTION = "When does a circuit breaker open and reject calls?"


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def test_format_context_numbers_one_line_per_document() -> None:
    assert format_context(DOCS[1:]) == (
        "[1] A circuit breaker opens after five consecutive failures. "
        "While open, every call is rejected at once.\n"
        "[2] After the recovery timeout the breaker becomes half-open."
    )
    assert format_context([]) == ""


def test_build_messages_orders_system_history_question() -> None:
    history = [HumanMessage("Hi"), AIMessage("Hello")]
    messages = build_messages(QUESTION, DOCS, history)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    assert format_context(DOCS) in messages[0].text
    assert messages[-1].text == QUESTION


def test_answer_quotes_matching_sentences_and_cites_their_sources() -> None:
    reply = ExtractiveChatModel().invoke(build_messages(QUESTION, DOCS))
    assert isinstance(reply, AIMessage)
    assert reply.text.startswith("A circuit breaker opens after five consecutive failures [2].")
    assert set(_numbers(reply.text)) == {2, 3}, "the cat source is never cited"
    assert "Cats" not in reply.text
    sentences = re.split(r"(?<=\])[.!?]\s*", reply.text)
    assert all(re.search(r"\[\d+\]$", s) for s in sentences if s), "each sentence is cited"


def test_sentence_count_stays_within_bounds() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    docs = [Document(page_content=f"Breakers trip on {w} failures.") for w in words]
    reply = ExtractiveChatModel().invoke(build_messages("why do breakers trip?", docs))
    assert len(_numbers(reply.text)) == 4
    reply = ExtractiveChatModel(max_sentences=2).invoke(build_messages("breakers trip?", docs))
    assert len(_numbers(reply.text)) == 2


def test_near_duplicate_sentences_are_quoted_once() -> None:
    docs = [Document(page_content="Breakers trip on failures."), *DOCS[2:]] * 3
    reply = ExtractiveChatModel().invoke(build_messages("why do breakers trip?", docs))
    assert reply.text.count("Breakers trip on failures") == 1


def test_no_sources_and_no_match_are_said_plainly() -> None:
    model = ExtractiveChatModel()
    assert model.invoke(build_messages(QUESTION, [])).text == NO_SOURCES
    assert model.invoke(build_messages("xylophone tuning?", DOCS)).text == NO_ANSWER
    with pytest.raises(ValueError, match="HumanMessage"):
        model.invoke([SystemMessage("[1] text")])


def test_follow_up_question_leans_on_the_previous_one() -> None:
    history = [HumanMessage("Tell me about the circuit breaker"), AIMessage("It opens.")]
    reply = ExtractiveChatModel().invoke(build_messages("And how does it recover?", DOCS, history))
    assert 3 in _numbers(reply.text)
    assert 1 not in _numbers(reply.text)


def test_usage_is_counted_on_the_message() -> None:
    messages = build_messages(QUESTION, DOCS)
    reply = ExtractiveChatModel().invoke(messages)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == sum(count_tokens(m.text) for m in messages)
    assert reply.usage_metadata["output_tokens"] == count_tokens(reply.text)
    assert reply.usage_metadata["total_tokens"] == (
        reply.usage_metadata["input_tokens"] + reply.usage_metadata["output_tokens"]
    )
    assert reply.response_metadata["model_name"] == "extractive-offline"


def test_stop_sequence_truncates() -> None:
    reply = ExtractiveChatModel().invoke(build_messages(QUESTION, DOCS), stop=[" [2]"])
    assert reply.text == "A circuit breaker opens after five consecutive failures"


def test_stream_is_token_by_token_with_usage_on_the_last_chunk() -> None:
    model = ExtractiveChatModel()
    messages = build_messages(QUESTION, DOCS)
    chunks = list(model.stream(messages))
    assert len(chunks) > 10
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.usage_metadata for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    whole = chunks[0]
    for c in chunks[1:]:
        whole += c
    assert whole.text == model.invoke(messages).text
    assert whole.usage_metadata == model.invoke(messages).usage_metadata


async def test_async_invoke_and_stream_match_sync() -> None:
    model = ExtractiveChatModel()
    messages = build_messages(QUESTION, DOCS)
    sync = model.invoke(messages)
    assert (await model.ainvoke(messages)).text == sync.text
    pieces = [c async for c in model.astream(messages)]
    assert "".join(c.text for c in pieces) == sync.text
    assert pieces[-1].usage_metadata == sync.usage_metadata
    assert pieces[-1].chunk_position == "last"


async def test_usage_aggregates_across_calls_by_model_name() -> None:
    model = ExtractiveChatModel()
    messages = build_messages(QUESTION, DOCS)
    with get_usage_metadata_callback() as callback:
        one = model.invoke(messages)
        await model.ainvoke(messages)
        list(model.stream(messages))
    assert one.usage_metadata is not None
    totals = callback.usage_metadata["extractive-offline"]
    assert totals["total_tokens"] == 3 * one.usage_metadata["total_tokens"]


def test_names() -> None:
    model = ExtractiveChatModel()
    assert model.model_name == "extractive-offline"
    assert model._llm_type == "extractive-offline"


def test_answers_from_the_sample_corpus_cite_the_right_file() -> None:
    retriever = CorpusRetriever.from_directory(SAMPLE_CORPUS, k=4)
    question = "How should retries wait with exponential backoff and jitter?"
    docs = retriever.invoke(question)
    reply = ExtractiveChatModel().invoke(build_messages(question, docs))
    cited = {docs[n - 1].metadata["source"] for n in _numbers(reply.text)}
    assert cited == {"retries-and-backoff.md"}
    assert "jitter" in reply.text


STRUCTURED = [
    Document(
        page_content="A lambda is defined with:\n\n```\ndef <lambda>(args):\n    return expr\n```"
        "\n\nLambdas cannot contain statements."
    ),
    Document(
        page_content="A dictionary can be created by several means:\n\n"
        "- with braces around key: value pairs\n- with a dict comprehension\n\n"
        "| operation | result |\n|---|---|\n| len(d) | number of items in the dictionary |"
    ),
]


def test_code_blocks_lists_and_tables_survive_in_the_answer() -> None:
    model = ExtractiveChatModel()
    lam = model.invoke(build_messages("How is a lambda defined?", STRUCTURED)).text
    assert "A lambda is defined with [1]:\n\n```\ndef <lambda>(args):\n    return expr\n```" in lam
    dicts = model.invoke(build_messages("How is a dictionary created?", STRUCTURED)).text
    assert (
        "means [2]:\n\n- with braces around key: value pairs\n- with a dict comprehension" in dicts
    )
    table = model.invoke(build_messages("What does len(d) return for a dictionary?", STRUCTURED))
    assert "| len(d) | number of items in the dictionary |" in table.text.splitlines()


def test_markup_in_a_source_never_reaches_the_answer() -> None:
    rst = Document(page_content="Use **bold** ``code`` and :func:`len`::\n\n   x = 1\n\n****")
    text = ExtractiveChatModel().invoke(build_messages("How is len used with code?", [rst])).text
    for markup in ("**", "``", ":func:", "::", "****"):
        assert markup not in text.replace("```", "")


def test_the_same_sentence_in_several_sources_is_quoted_once() -> None:
    same = "The finally clause always runs when the try statement is left."
    docs = [
        Document(page_content=f"{same} It runs last."),
        Document(page_content=f"Intro. {same}"),
        Document(page_content=same.replace("always", "always ")),
    ]
    text = ExtractiveChatModel().invoke(build_messages("When does the finally clause run?", docs))
    assert text.text.count("finally clause always runs") == 1
    sentences = [s.strip() for s in re.split(r"\[\d+\][.:]", text.text) if s.strip()]
    assert len(sentences) == len(set(sentences))


def test_a_source_spanning_several_lines_is_read_whole() -> None:
    docs = [Document(page_content="Intro:\n\n```\n[2] not a source\n```"), DOCS[2]]
    messages = build_messages("What is the intro?", docs)
    reply = ExtractiveChatModel().invoke(messages).text
    assert reply.startswith("Intro [1]:\n\n```\n[2] not a source\n```")
