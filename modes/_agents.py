"""Several agents answer the same question in one tier; a judge keeps the best answer.

The agents are the offline extractive model with different retrieval depths, answer lengths
and sources, so their answers really differ: a one-sentence answer from the two best chunks,
a thorough one from eight, a second opinion that leaves the top chunk out, a focused one. The
judge is our quality score by default (groundedness and relevance, see ``score_answer``); any
``judge(question, answer) -> float`` replaces it. With ``good_enough=``, the tier returns as
soon as one answer scores at least that much, and the agents still running are cancelled
(on Ray or processes, stopped).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.documents import Document

from parallel_nodes import Task, TaskResult, Tier, TierResult, run_tier

from ._corpus import SAMPLE_CORPUS, CorpusRetriever
from ._offline_model import ExtractiveChatModel, build_messages
from ._scoring import score_answer

__all__ = [
    "AGENT_PROFILES",
    "Agent",
    "AgentAnswer",
    "AgentProfile",
    "PanelResult",
    "agent_profiles",
    "answer_with_agents",
    "quality_judge",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentProfile:
    """How one agent answers: how deep it retrieves and how much it says.

    Example:
        >>> AGENT_PROFILES[0].name
        'brief'
    """

    name: str
    """The agent's name: its task name and its row in the output."""
    depth: int
    """Chunks retrieved."""
    max_sentences: int
    """The most sentences the answer quotes."""
    min_sentences: int = 1
    """The fewest, when there are matches."""
    skip_top: int = 0
    """Leave out this many of the best chunks: a second opinion from other sources."""


AGENT_PROFILES: tuple[AgentProfile, ...] = (
    AgentProfile(name="brief", depth=2, max_sentences=1),
    AgentProfile(name="thorough", depth=8, max_sentences=5, min_sentences=3),
    AgentProfile(name="second_opinion", depth=5, max_sentences=3, min_sentences=2, skip_top=1),
    AgentProfile(name="focused", depth=3, max_sentences=2, min_sentences=2),
)
"""The built-in agents, in the order ``agent_profiles(n)`` takes them."""


def agent_profiles(n: int) -> tuple[AgentProfile, ...]:
    """The first ``n`` agents; past the built-in four, deeper variants of them.

    Raises:
        ValueError: ``n`` is not between 1 and 12.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 12:
        raise ValueError(f"agents: must be between 1 and 12, got {n!r}")
    out = []
    for i in range(n):
        base = AGENT_PROFILES[i % len(AGENT_PROFILES)]
        rnd = i // len(AGENT_PROFILES)
        if rnd == 0:
            out.append(base)
        else:
            out.append(
                AgentProfile(
                    name=f"{base.name}_{rnd + 1}",
                    depth=base.depth + 3 * rnd,
                    max_sentences=base.max_sentences + rnd,
                    min_sentences=base.min_sentences,
                    skip_top=base.skip_top + rnd,
                )
            )
    return tuple(out)


@functools.lru_cache(maxsize=4)
def _retriever(corpus: str | None) -> CorpusRetriever:
    # Once per process: a process or Ray worker keeps its index between calls.
    return CorpusRetriever.from_directory(Path(corpus) if corpus else SAMPLE_CORPUS, k=4)


class AgentOutput(TypedDict):
    """What an agent task returns (plain data, so it crosses process boundaries)."""

    agent: str
    answer: str
    sources: list[str]
    texts: list[str]


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent as a task function: a picklable callable, so it runs on any executor.

    Example:
        >>> out = Agent(AGENT_PROFILES[0])({"question": "What does a circuit breaker do?"})
        >>> out["agent"], len(out["sources"]) <= 2
        ('brief', True)
    """

    profile: AgentProfile
    """How it answers."""
    corpus: str | None = None
    """The corpus folder; ``None``: the bundled sample."""

    def __call__(self, state: Mapping[str, Any]) -> AgentOutput:
        """Retrieve, answer and return the answer with its sources' names and texts."""
        p = self.profile
        question = str(state["question"])
        docs = _retriever(self.corpus).search(question, k=p.depth)[p.skip_top :]
        model = ExtractiveChatModel(max_sentences=p.max_sentences, min_sentences=p.min_sentences)
        answer = model.answer(build_messages(question, docs))
        return {
            "agent": p.name,
            "answer": answer,
            "sources": [str(d.metadata.get("source", "")) for d in docs],
            "texts": [d.page_content for d in docs],
        }


def quality_judge(question: str, output: AgentOutput) -> float:
    """The default judge: our quality score (mean of groundedness and relevance), 0..1."""
    docs = [Document(page_content=t) for t in output["texts"]]
    return score_answer(question, output["answer"], docs).overall


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswer:
    """One agent's part in a panel: its answer and score, or why it has none."""

    agent: str
    """The agent's name."""
    status: str
    """How its task ended: ``ok``, ``cancelled`` (the early exit), ``timeout``, ``error``."""
    answer: str
    """Its answer; empty without one."""
    score: float | None
    """The judge's score, ``None`` without an answer."""
    sources: tuple[str, ...]
    """The files its answer drew on."""
    seconds: float
    """How long its task ran."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PanelResult:
    """What :func:`answer_with_agents` returns."""

    question: str
    """The question."""
    best: AgentAnswer | None
    """The highest-scoring answer (the first agent's on a tie); ``None`` if none answered."""
    answers: tuple[AgentAnswer, ...]
    """Every agent's part, in agent order."""
    early_exit: bool
    """Whether an answer was good enough and the rest were cancelled."""
    wall_time: float
    """Seconds the panel took."""

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""

        def one(a: AgentAnswer) -> dict[str, Any]:
            return {
                "agent": a.agent,
                "status": a.status,
                "score": a.score,
                "seconds": round(a.seconds, 4),
                "answer": a.answer,
                "sources": list(a.sources),
            }

        return {
            "question": self.question,
            "best": None if self.best is None else one(self.best),
            "agents": [one(a) for a in self.answers],
            "early_exit": self.early_exit,
            "wall_time": round(self.wall_time, 4),
        }


class _Panel:
    """One panel's run state: the scores so far, and the signal that one is good enough."""

    def __init__(
        self, question: str, judge: Callable[[str, AgentOutput], float], bar: float | None
    ):
        self.question = question
        self.judge = judge
        self.bar = bar
        self.scores: dict[str, float] = {}
        self.results: dict[str, TaskResult] = {}
        self.enough = asyncio.Event()

    def on_task_finished(self, tier: str, result: TaskResult, metadata: Mapping[str, str]) -> None:
        self.results[result.name] = result
        if result.ok:
            score = self.judge(self.question, result.value)
            self.scores[result.name] = score
            if self.bar is not None and score >= self.bar:
                self.enough.set()

    def on_tier_finished(self, result: TierResult) -> None:
        pass


async def answer_with_agents(
    question: str,
    *,
    agents: int = 3,
    corpus: str | Path | None = None,
    executor: Any = None,
    judge: Callable[[str, AgentOutput], float] | None = None,
    good_enough: float | None = None,
    deadline: float = 30.0,
) -> PanelResult:
    """Ask ``agents`` agents at once; the judge keeps the best answer.

    Args:
        question: The question.
        agents: How many agents answer (see :func:`agent_profiles`).
        corpus: The corpus folder; default: the bundled sample.
        executor: Where the agents run: ``Task(executor=...)``'s spellings (``"ray"``,
            ``"process"``, ...); default: the worker threads.
        judge: Scores an answer 0..1; default :func:`quality_judge`.
        good_enough: Return as soon as an answer scores at least this, cancelling the rest.
        deadline: Seconds the panel may take; agents still running then are abandoned.

    Returns:
        Every agent's answer and score, and the best one.

    Example:
        >>> import asyncio
        >>> panel = asyncio.run(answer_with_agents("What does a circuit breaker do?"))
        >>> [a.agent for a in panel.answers]
        ['brief', 'thorough', 'second_opinion']
    """
    profiles = agent_profiles(agents)
    where = None if corpus is None else str(corpus)
    extra = {} if executor is None else {"executor": executor}
    tier = Tier(
        "agents",
        [Task(p.name, Agent(p, where), timeout=deadline, default=None, **extra) for p in profiles],
        timeout=deadline,
    )
    panel = _Panel(question, judge or quality_judge, good_enough)
    started = time.perf_counter()
    run = asyncio.ensure_future(run_tier(tier, {"question": question}, observers=(panel,)))
    enough = asyncio.ensure_future(panel.enough.wait())
    try:
        await asyncio.wait((run, enough), return_when=asyncio.FIRST_COMPLETED)
    finally:
        enough.cancel()
    early = not run.done()
    if early:
        run.cancel()  # the agents still running are cancelled and recorded as such
        await asyncio.gather(run, return_exceptions=True)
    else:
        run.result()
    answers = tuple(_answer(p.name, panel) for p in profiles)
    scored = [a for a in answers if a.score is not None]
    best = max(scored, key=lambda a: a.score or 0.0) if scored else None
    return PanelResult(
        question=question,
        best=best,
        answers=answers,
        early_exit=early,
        wall_time=time.perf_counter() - started,
    )


def _answer(name: str, panel: _Panel) -> AgentAnswer:
    result = panel.results.get(name)
    if result is None or not result.ok:
        return AgentAnswer(
            agent=name,
            status="cancelled" if result is None else result.status.value,
            answer="",
            score=None,
            sources=(),
            seconds=0.0 if result is None else result.duration,
        )
    out: AgentOutput = result.value
    return AgentAnswer(
        agent=name,
        status="ok",
        answer=out["answer"],
        score=round(panel.scores[name], 4),
        sources=tuple(dict.fromkeys(s for s in out["sources"] if s)),
        seconds=result.duration,
    )
