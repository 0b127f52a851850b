"""Random tiers (sizes, delays, failure mixes, DAG edges) against the engine's invariants:
the deadline holds, every task ends with exactly one status, dependency order is respected,
and no task is left running after the tier returns."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallel_nodes import Task, TaskStatus, Tier, run_tier
from parallel_nodes.diagnostics import straggler_count

DEADLINE = 0.06
BEHAVIOURS = ("ok", "fail", "hang", "stubborn", "sync", "sync_fail")


@dataclass(frozen=True)
class Spec:
    behaviour: str
    delay: float
    deps: tuple[int, ...]


def _fn(spec: Spec, log: dict[str, list[float]], name: str) -> Any:
    delay = spec.delay

    async def run_async(state: Any) -> str:
        log.setdefault(name, []).append(time.perf_counter())
        if spec.behaviour == "hang":
            await asyncio.sleep(60)
        elif spec.behaviour == "stubborn":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                await asyncio.sleep(0.02)  # ignores the first cancellation, then ends
        else:
            await asyncio.sleep(delay)
        if spec.behaviour == "fail":
            raise RuntimeError(name)
        return name

    def run_sync(state: Any) -> str:
        log.setdefault(name, []).append(time.perf_counter())
        time.sleep(delay)
        if spec.behaviour == "sync_fail":
            raise ValueError(name)
        return name

    return run_sync if spec.behaviour.startswith("sync") else run_async


@st.composite
def tiers(draw: st.DrawFn) -> list[Spec]:
    n = draw(st.integers(min_value=1, max_value=7))
    specs = []
    for i in range(n):
        deps = draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=2)) if i else set()
        specs.append(
            Spec(
                behaviour=draw(st.sampled_from(BEHAVIOURS)),
                delay=draw(st.floats(min_value=0.0, max_value=0.03)),
                deps=tuple(sorted(deps)),
            )
        )
    return specs


async def _check(specs: list[Spec], parallel: bool) -> None:
    log: dict[str, list[float]] = {}
    tasks = [
        Task(
            f"t{i}",
            _fn(s, log, f"t{i}"),
            timeout=0.04,
            depends_on=[f"t{d}" for d in s.deps],
            default=f"d{i}",
        )
        for i, s in enumerate(specs)
    ]
    tier = Tier("prop", tasks, timeout=DEADLINE, parallel=parallel)
    start = time.perf_counter()
    result = await run_tier(tier, {}, observers=())
    elapsed = time.perf_counter() - start

    assert elapsed < DEADLINE * 1.5 + 0.02  # the deadline holds
    assert list(result.tasks) == [t.name for t in tasks]  # exactly one result per task
    for r in result.tasks.values():
        assert isinstance(r.status, TaskStatus)
        assert (r.status is TaskStatus.OK) == (r.value == r.name)
        assert len(log.get(r.name, [])) <= 1  # never started twice
    for i, spec in enumerate(specs):  # a task starts only after its dependencies ended
        name = f"t{i}"
        if name not in log:
            continue
        for d in spec.deps:
            dep = result.tasks[f"t{d}"]
            assert dep.status is not TaskStatus.TIMEOUT or dep.attempts > 0
            assert f"t{d}" in log
            ended = dep.started + dep.duration
            assert result.tasks[name].started >= ended - 0.002
    if not parallel:  # one at a time: no two tasks overlap
        spans = sorted(
            (r.started, r.started + r.duration) for r in result.tasks.values() if r.attempts
        )
        for (_, end), (begin, _) in itertools.pairwise(spans):
            assert begin >= end - 0.002
    # nothing left running: async stragglers end once cancelled (stubborn ones soon after)
    for _ in range(50):
        if straggler_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert straggler_count() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=tiers(), parallel=st.booleans())
def test_random_tiers_keep_the_invariants(specs: list[Spec], parallel: bool) -> None:
    asyncio.run(_check(specs, parallel))
