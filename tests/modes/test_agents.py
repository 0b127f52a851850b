"""The multi-agent answer: agents that really differ, a pluggable judge, a good-enough early
exit that cancels the rest, and ``ask --agents`` run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from parallel_nodes.modes._agents import (
    Agent,
    AgentOutput,
    agent_profiles,
    answer_with_agents,
)

QUESTION = "How do hedged requests cut tail latency?"


async def test_three_agents_give_three_different_answers_and_the_best_score_wins() -> None:
    panel = await answer_with_agents(QUESTION, agents=3)
    answers = [a.answer for a in panel.answers]
    assert len(set(answers)) == 3
    assert all(a.status == "ok" and a.score is not None for a in panel.answers)
    assert panel.best is not None
    assert panel.best.score == max(a.score or 0.0 for a in panel.answers)
    assert not panel.early_exit


async def test_any_judge_replaces_the_quality_score() -> None:
    def fewest_words(question: str, output: AgentOutput) -> float:
        return 1 / len(output["answer"].split())

    panel = await answer_with_agents(QUESTION, agents=3, judge=fewest_words)
    assert panel.best is not None
    assert panel.best.agent == "brief"  # the quality score prefers "thorough" here


async def test_a_good_enough_answer_returns_at_once_and_cancels_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = Agent.__call__

    def slow_unless_brief(self: Agent, state: Any) -> AgentOutput:
        if self.profile.name != "brief":
            time.sleep(2.0)
        return answer(self, state)

    monkeypatch.setattr(Agent, "__call__", slow_unless_brief)
    t0 = time.perf_counter()
    panel = await answer_with_agents(QUESTION, agents=3, judge=lambda q, o: 1.0, good_enough=0.9)
    assert time.perf_counter() - t0 < 1.5
    assert panel.early_exit
    assert [a.status for a in panel.answers] == ["ok", "cancelled", "cancelled"]
    assert panel.best is not None
    assert panel.best.agent == "brief"


def test_agent_profiles_past_the_built_in_four_go_deeper() -> None:
    profiles = agent_profiles(6)
    assert [p.name for p in profiles][4:] == ["brief_2", "thorough_2"]
    assert profiles[4].depth > profiles[0].depth
    with pytest.raises(ValueError, match="agents: must be between 1 and 12"):
        agent_profiles(0)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parallel_nodes.modes", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PARALLEL_NODES_METRICS": "0", "COLUMNS": "120", **(env or {})},
        check=False,
    )


def test_ask_with_agents_prints_every_agents_score_and_the_best_answer() -> None:
    done = _cli("ask", QUESTION, "--agents", "3")
    assert done.returncode == 0, done.stderr
    for name in ("brief", "thorough", "second_opinion", "best:", "score"):
        assert name in done.stdout
    assert "[1]" in done.stdout


def test_ask_with_agents_json_has_the_scores_and_the_best() -> None:
    done = _cli("ask", QUESTION, "--agents", "3", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [a["agent"] for a in data["agents"]] == ["brief", "thorough", "second_opinion"]
    assert all(isinstance(a["score"], float) for a in data["agents"])
    assert data["best"]["score"] == max(a["score"] for a in data["agents"])


def test_ask_with_a_bad_good_enough_says_what_to_fix() -> None:
    done = _cli("ask", QUESTION, "--agents", "2", "--good-enough", "3")
    assert done.returncode == 2
    assert "--good-enough: must be in (0, 1]" in done.stderr


def test_ask_with_a_bad_deadline_says_what_to_fix() -> None:
    done = _cli("ask", QUESTION, "--agents", "2", "--deadline", "0")
    assert done.returncode == 2
    assert "--deadline: must be a positive number of seconds" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ask_with_agents_on_ray_runs_them_on_the_cluster(ray_session: Any) -> None:
    address = ray_session.get_runtime_context().gcs_address
    done = _cli(
        "ask",
        QUESTION,
        "--agents",
        "3",
        "--executor",
        "ray",
        "--json",
        # Each agent starts a Ray worker of this job and builds its index there: seconds each
        # on two shared cores, so the panel gets more than the interactive default of 30 s.
        "--deadline",
        "120",
        env={"RAY_ADDRESS": address},
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [a["status"] for a in data["agents"]] == ["ok", "ok", "ok"], (data, done.stderr)
    assert data["best"] is not None
