"""An offline chat model that answers by quoting the best-matching sentences of its sources.

It needs no network and no weights, so every mode runs anywhere, and tests see real answers
with real citations. Context travels the way it would to a hosted model: a system message
listing numbered sources (``format_context``), then the conversation, then the question.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ._markup import Block, BlockKind, parse_blocks, render_blocks
from ._text import content_tokens, count_tokens, split_sentences

__all__ = [
    "NO_ANSWER",
    "NO_SOURCES",
    "SYSTEM_PROMPT",
    "ExtractiveChatModel",
    "build_messages",
    "format_context",
]

MODEL_NAME = "extractive-offline"

SYSTEM_PROMPT = (
    "Answer the user's question using only the numbered sources below. Put the number of the "
    "source in square brackets, like [1], after every sentence that uses it. If the sources "
    "do not contain the answer, say so."
)
NO_SOURCES = "I have no sources to answer this question from, so I cannot give a grounded answer."
NO_ANSWER = "The sources I was given do not address this question, so I cannot answer it."

_SOURCE_START = re.compile(r"^\[(\d+)\] ", re.MULTILINE)
_STREAM_PIECE = re.compile(r"\s*\S+")
_BLOCK_WEIGHT = {
    BlockKind.PROSE: 1.0,
    BlockKind.CODE: 0.6,
    BlockKind.LIST: 0.6,
    BlockKind.TABLE: 0.4,
}
"""A code block, list or table matches many words by its size alone; a sentence that says
as much should win. Blocks still come with the sentence that introduces them."""


def format_context(docs: Sequence[Document]) -> str:
    """Number the documents as the model cites them: ``[n] text`` for each document.

    Args:
        docs: The retrieved documents, best first.

    Returns:
        ``"[1] first text\\n[2] second text"``. Prose is collapsed onto one line; code
        blocks (fenced), lists and tables keep their lines, so a model can quote them whole.
        Empty when ``docs`` is empty.
    """
    return "\n".join(
        f"[{n}] {render_blocks(parse_blocks(d.page_content))}" for n, d in enumerate(docs, 1)
    )


def _sources(system: str) -> dict[int, str]:
    """The numbered sources in a system message, as ``format_context`` wrote them.

    A source runs until the line that starts the next number outside a code block, so a
    source's own lines (and a ``[2]`` at the start of a line of code) stay inside it.
    """
    sources: dict[int, list[str]] = {}
    current: list[str] | None = None
    in_fence = False
    for line in system.splitlines():
        m = _SOURCE_START.match(line)
        if m and not in_fence and int(m.group(1)) == len(sources) + 1:
            current = sources.setdefault(int(m.group(1)), [])
            line = line[m.end() :]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if current is not None:
            current.append(line)
    return {n: "\n".join(lines).strip() for n, lines in sources.items()}


@dataclass(frozen=True, slots=True)
class _Unit:
    """A quotable piece of a source: one prose sentence, or a whole code block, list or table."""

    source: int
    text: str
    kind: BlockKind
    tokens: frozenset[str]
    lead: int | None = None
    """The unit (index) this block belongs after: the sentence ending in ":" before it."""
    block: int | None = None
    """For a sentence ending in ":", the block (index) it introduces."""


def _units(sources: dict[int, str]) -> list[_Unit]:
    units: list[_Unit] = []
    for n, text in sorted(sources.items()):
        previous: Block | None = None
        for block in parse_blocks(text):
            if block.kind is BlockKind.PROSE:
                for sentence in split_sentences(block.text):
                    tokens = frozenset(content_tokens(sentence))
                    units.append(_Unit(n, sentence, block.kind, tokens))
            else:
                lead = None
                if previous is not None and previous.kind is BlockKind.PROSE:
                    last = units[-1]
                    if last.source == n and last.text.endswith(":"):
                        lead = len(units) - 1
                        units[lead] = _Unit(
                            last.source, last.text, last.kind, last.tokens, block=len(units)
                        )
                body = block.render()
                units.append(_Unit(n, body, block.kind, frozenset(content_tokens(body)), lead))
            previous = block
    return units


def build_messages(
    question: str, docs: Sequence[Document], history: Iterable[BaseMessage] = ()
) -> list[BaseMessage]:
    """The prompt for any chat model: instructions and sources, the conversation, the question.

    Args:
        question: The user's question.
        docs: The sources, numbered from 1 in this order.
        history: Earlier turns of the conversation, oldest first.

    Returns:
        ``[SystemMessage, *history, HumanMessage(question)]``.
    """
    context = format_context(docs) if docs else "(no sources were retrieved)"
    system = SystemMessage(content=f"{SYSTEM_PROMPT}\n\nSources:\n{context}")
    return [system, *history, HumanMessage(content=question)]


def _text(message: BaseMessage) -> str:
    return message.text if isinstance(message.text, str) else str(message.content)


class ExtractiveChatModel(BaseChatModel):
    """A chat model that quotes its sources, with ``[n]`` citations and token usage.

    It picks the context sentences that share the most (rare) words with the question and
    cites each one. Without sources it says so instead of guessing.

    Example:
        >>> from langchain_core.documents import Document
        >>> docs = [Document(page_content="Breakers open after five failures. Cats sleep.")]
        >>> ExtractiveChatModel().invoke(build_messages("When do breakers open?", docs)).content
        'Breakers open after five failures [1].'
    """

    max_sentences: int = 4
    """The most sentences an answer quotes."""
    min_sentences: int = 2
    """Quote at least this many matching sentences, even weaker ones, when there are some."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def model_name(self) -> str:
        """The name cost tracking and usage aggregation see: ``"extractive-offline"``."""
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"max_sentences": self.max_sentences, "min_sentences": self.min_sentences}

    # -- answering ------------------------------------------------------------------------------

    def answer(self, messages: Sequence[BaseMessage]) -> str:
        """The answer to the last human message, from the sources in the system messages.

        Raises:
            ValueError: There is no human message to answer.
        """
        humans = [_text(m) for m in messages if isinstance(m, HumanMessage)]
        if not humans:
            raise ValueError("messages: need a HumanMessage with the question to answer")
        sources: dict[int, str] = {}
        for m in messages:
            if isinstance(m, SystemMessage):
                sources.update(_sources(_text(m)))
        if not sources:
            return NO_SOURCES
        weights = dict.fromkeys(content_tokens(humans[-1]), 1.0)
        if len(humans) > 1:
            # A follow-up ("and how does it recover?") leans on the previous question's topic.
            for t in content_tokens(humans[-2]):
                weights.setdefault(t, 0.5)
        units = _units(sources)
        picked = self._pick(weights, units)
        if not picked:
            return NO_ANSWER
        return _compose(units, picked)

    def _pick(self, weights: dict[str, float], units: list[_Unit]) -> list[int]:
        """The indexes of the units to quote, best first, without repeats."""
        df: dict[str, int] = {}
        for unit in units:
            for t in unit.tokens & weights.keys():
                df[t] = df.get(t, 0) + 1
        # Rare question words say more about a sentence than words every sentence shares.
        idf = {t: math.log(1 + len(units) / d) for t, d in df.items()}
        scored = []
        for i, unit in enumerate(units):
            score = sum(weights[t] * idf[t] for t in unit.tokens & weights.keys())
            score *= _BLOCK_WEIGHT[unit.kind]
            if score > 0:
                scored.append((score, i))
        scored.sort(key=lambda s: (-s[0], s[1]))
        chosen: list[int] = []
        seen: set[str] = set()
        for score, i in scored:
            if len(chosen) >= self.max_sentences:
                break
            if len(chosen) >= self.min_sentences and score < 0.5 * scored[0][0]:
                break
            unit = units[i]
            key = " ".join(unit.tokens) if unit.tokens else unit.text
            if key in seen or any(_jaccard(unit.tokens, units[j].tokens) > 0.8 for j in chosen):
                continue  # the same point, quoted from another chunk
            seen.add(key)
            chosen.append(i)
        return chosen

    def _result(self, messages: list[BaseMessage], stop: list[str] | None) -> AIMessage:
        text = _truncate(self.answer(messages), stop)
        return AIMessage(
            content=text,
            usage_metadata=_usage(messages, text),
            response_metadata={"model_name": MODEL_NAME, "finish_reason": "stop"},
        )

    def _chunks(self, message: AIMessage) -> Iterator[ChatGenerationChunk]:
        text = message.text
        pieces = _STREAM_PIECE.findall(text) or [""]
        for i, piece in enumerate(pieces):
            if i < len(pieces) - 1:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            else:
                yield ChatGenerationChunk(
                    message=AIMessageChunk(
                        content=piece,
                        usage_metadata=message.usage_metadata,
                        response_metadata=message.response_metadata,
                        chunk_position="last",
                    )
                )

    # -- BaseChatModel ----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._result(messages, stop))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Pure computation on a few kilobytes of text: cheaper inline than in a thread.
        return self._generate(messages, stop)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._result(messages, stop)):
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._result(messages, stop)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _cite(sentence: str, n: int) -> str:
    """``"Breakers open."`` becomes ``"Breakers open [1]."``; ``"Like this:"``, ``"Like this
    [1]:"``."""
    if sentence[-1] in ".!?:":
        return f"{sentence[:-1].rstrip()} [{n}]{sentence[-1]}"
    return f"{sentence} [{n}]."


def _compose(units: list[_Unit], picked: list[int]) -> str:
    """The answer: quoted sentences run on as prose; a block stands on its own lines, after
    the sentence that introduced it, and cited on its last line (a list) or just after it."""
    order: list[int] = []
    for i in picked:
        unit = units[i]
        group = [i]
        if unit.block is not None:
            group = [i, unit.block]  # "defined with:" is nothing without what follows
        elif unit.lead is not None:
            group = [unit.lead, i]
        order += [j for j in group if j not in order]
    parts: list[str] = []
    prose: list[str] = []
    for j in order:
        unit = units[j]
        if unit.kind is BlockKind.PROSE:
            prose.append(_cite(unit.text, unit.source))
            continue
        if prose:
            parts.append(" ".join(prose))
            prose = []
        cited = unit.lead is not None and unit.lead in order
        if unit.kind is BlockKind.LIST and not cited:
            parts.append(f"{unit.text} [{unit.source}]")
        else:
            parts.append(unit.text if cited else f"{unit.text}\n\n[{unit.source}]")
    if prose:
        parts.append(" ".join(prose))
    return "\n\n".join(parts)


def _jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _truncate(text: str, stop: list[str] | None) -> str:
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def _usage(messages: Iterable[BaseMessage], answer: str) -> UsageMetadata:
    prompt = sum(count_tokens(_text(m)) for m in messages)
    output = count_tokens(answer)
    return UsageMetadata(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)
