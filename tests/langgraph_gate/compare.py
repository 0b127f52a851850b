"""Driver for the LangGraph gate: run LangGraph's tests once per mode, then compare.

Usage (``.ci/langgraph-gate.sh`` calls it after unpacking the sdist)::

    python tests/langgraph_gate/compare.py --sdist DIR --out DIR [--modes plain,run_tier,...]
        [--jobs N] [--compare-only] FILE...

``FILE`` are test files relative to the sdist. Each mode runs in its own pytest process with
``pn_gate_plugin`` loaded, writing ``<out>/<mode>.json``. The comparison takes the tests that pass
plainly and lists those that do not pass through a mode, grouped by cause; it writes
``<out>/summary.md`` and ``<out>/summary.json``. Exit status 1 when a test that passes plainly
fails through the engine and is not listed in ``known_failures.txt``; tests that fail plainly
are LangGraph's business, not ours.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "known_failures.txt"
ENGINE_MODES = ("run_tier", "parallel_node")
DEGRADED = "degraded: "
# A test that breaks through a mode runs once more, alone, before it counts: the suite has
# timing-based tests, and the machine is shared. Above this many there is no point.
RERUN_LIMIT = 300
TEST_TIMEOUT = 120  # seconds, pytest-timeout's, per test
# A test that hangs where pytest-timeout's signal cannot reach (a deadlock in the threading
# module's own locks) shows as a run that stops writing progress for this long.
STALL_SECONDS = float(os.environ.get("GATE_STALL_SECONDS", TEST_TIMEOUT * 2))

# Known causes, matched against "<test id>\n<failure>\n<degraded tasks>", first match wins.
# Then a degraded task names the cause; everything else is grouped by its failure line.
CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("state is not a mapping (Pydantic/dataclass/list/str state, Send payload)",
         r"state: expected a mapping"),
        ("no sync entry point (graph.invoke/stream on an async-only node)",
         r"No synchronous function provided"),
        ("runtime injected by arity (positional args, config/writer/store by name)",
         r"takes \d+ positional arguments? but \d+ (were|was) given"
         r"|got an unexpected keyword argument"
         r"|missing \d+ required (positional|keyword-only) arguments?"
         r"|'Runtime' object (is not (subscriptable|callable)|has no attribute)"),
        ("engine refused the node at build time (ConfigError)", r"ConfigError"),
        ("a deadline of ours fired (TaskTimeoutError)", r"TaskTimeoutError"),
        ("the engine's task_started/task_finished events appear on LangGraph's custom stream",
         r"parallel_nodes': 'task_|\{'parallel_n\.\.\.|\{'para\.\.\.|'parallel_node\.\.\."),
        ("the engine's serialisability pre-check rejects a value LangGraph accepts",
         r"UnserializableOutputError"),
        ("a reference cycle through the engine keeps LangGraph's run loop alive until gc",
         r"SyncPregelLoop|AsyncPregelLoop|PregelRunner"),
        ("the update form assumes a dict state: on a root-channel state it refuses the node's "
         "value (InvalidOutputError) or adds a Command(update={}) the channel cannot take",
         r"can only concatenate \w+ \(not \"dict\"\)|Message dict must contain 'role'"
         r"|declares output_type=dict"),
        ("the node's output shows as a list of Commands (updates/values stream, return value)",
         r"\[\[?Command\("),
        ("parallel_node finds subgraphs differently from LangGraph's detection",
         r"^tests/test_subgraph_detection\.py"),
        ("get_graph() differs: the node is a ParallelNode (its id), and the function's "
         "Command[Literal[...]] destinations are lost",
         r"snapshot\]|'---\\nconfig:|\{'nodes': \[\{"),
        ("LangGraph refuses timeout= on a sync node; parallel_node's node is async-capable",
         r"test_state_graph_compile_rejects_sync_node_timeout"),
    )
)  # fmt: skip


@dataclass
class ModeRun:
    """One mode's outcomes, as written by the plugin."""

    mode: str
    seconds: float
    tests: dict[str, dict[str, Any]]
    routed_at_collection: int = 0

    @classmethod
    def load(cls, path: Path) -> ModeRun:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            mode=data["mode"],
            seconds=float(data["seconds"]),
            tests=data["tests"],
            routed_at_collection=int(data.get("routed_at_collection", 0)),
        )

    def passed(self) -> set[str]:
        return {t for t, r in self.tests.items() if r["outcome"] == "passed"}

    def routed_tests(self) -> int:
        return sum(1 for r in self.tests.values() if r.get("routed", 0))


@dataclass
class Comparison:
    """Tests that pass plainly but not through ``mode``, with their causes."""

    mode: str
    baseline: int
    broken: dict[str, str]  # test id -> failure summary
    known: dict[str, str]  # the broken tests excused by known_failures.txt, with the reason
    stale_known: list[str] = field(default_factory=list)
    flaky: dict[str, str] = field(default_factory=dict)  # failed once, then passed on a rerun

    @property
    def unexcused(self) -> dict[str, str]:
        return {t: e for t, e in self.broken.items() if t not in self.known}

    def by_cause(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for test, error in sorted(self.broken.items()):
            groups[cause_of(test, error)].append(test)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def cause_of(test: str, error: str) -> str:
    """A short label for a failure: a known cause, a degraded task, or the failure's first line.

    ``error`` is the failure summary, then one ``degraded: <status> <Error>: <message>`` line
    per task that degraded during the test (as the plugin's observer noted them).
    """
    for label, pattern in CAUSES:
        if pattern.search(f"{test}\n{error}"):
            return label
    degraded = [line for line in error.splitlines() if line.startswith(DEGRADED)]
    if degraded:
        status_and_type = degraded[0].removeprefix(DEGRADED).split(":")[0]
        return f"the tier absorbed the node's failure: task degraded ({status_and_type})"
    first = error.splitlines()[0] if error else "(no error recorded: missing from this run)"
    first = re.sub(r"0x[0-9a-f]+", "0x…", first)
    first = re.sub(r"'[0-9a-f-]{36}'", "'<uuid>'", first)
    return first[:160]


def read_known_failures(path: Path) -> dict[tuple[str, str], str]:
    """``(mode, test id) -> reason`` from ``known_failures.txt``.

    Each line is ``<mode> <test id>  # <reason>``; a line without a reason is refused, because
    a failure is only excusable when we can say why the engine cannot fix it.
    """
    known: dict[tuple[str, str], str] = {}
    if not path.exists():
        return known
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        parts = entry.split()
        if len(parts) != 2 or parts[0] not in ENGINE_MODES or not reason.strip():
            raise SystemExit(
                f"{path}:{n}: expected '<run_tier|parallel_node> <test id>  # <reason>', "
                f"got {raw!r}"
            )
        known[(parts[0], parts[1])] = reason.strip()
    return known


def compare(
    plain: ModeRun,
    other: ModeRun,
    known_failures: Mapping[tuple[str, str], str],
    rerun: ModeRun | None = None,
) -> Comparison:
    """Every test that passes in ``plain`` and does not pass in ``other`` (nor in ``rerun``)."""
    baseline = plain.passed()
    broken: dict[str, str] = {}
    for test in sorted(baseline):
        record = other.tests.get(test)
        if record is None:
            broken[test] = "(no error recorded: missing from this run)"
        elif record["outcome"] != "passed":
            error = record.get("error") or f"outcome {record['outcome']}"
            notes = [f"{DEGRADED}{d}" for d in record.get("degraded", ())]
            broken[test] = "\n".join([error, *notes])
    passed_again = rerun.passed() if rerun is not None else set()
    flaky = {t: e for t, e in broken.items() if t in passed_again}
    broken = {t: e for t, e in broken.items() if t not in passed_again}
    listed = {t: r for (m, t), r in known_failures.items() if m == other.mode}
    return Comparison(
        mode=other.mode,
        baseline=len(baseline),
        broken=broken,
        known={t: r for t, r in listed.items() if t in broken},
        stale_known=sorted(t for t in listed if t not in broken),
        flaky=flaky,
    )


def parallel_node_pending() -> bool:
    """Whether ``parallel_node``'s update form (``Task(..., returns="update")``) is missing."""
    from parallel_nodes import Task

    return "returns" not in inspect.signature(Task).parameters


def run_mode(
    mode: str,
    sdist: Path,
    files: Sequence[str],
    out: Path,
    extra: Sequence[str],
    tag: str | None = None,
) -> Path:
    """Run LangGraph's ``files`` (or test ids) through one mode, in fresh pytest processes.

    One process, unless a test hangs past pytest-timeout (the interpreter's own locks can
    deadlock where no signal reaches): after ``STALL_SECONDS`` without progress the process is
    killed, the test is recorded as hung, and the run resumes with the tests not yet run.
    """
    tag = tag or mode
    report = out / f"{tag}.json"
    progress = Path(f"{report}.progress")
    report.unlink(missing_ok=True)
    progress.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PN_GATE_MODE": mode,
        "PN_GATE_REPORT": str(report),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        # Docker-backed fixtures (PostgreSQL, Redis checkpointers, caches and stores) are
        # LangGraph's own integration matrix; the node contract is the same on every saver.
        "NO_DOCKER": "true",
        "PARALLEL_NODES_METRICS": "0",
    }
    base = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pn_gate_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-o",
        "addopts=",  # LangGraph's --full-trace and --durations only make the log longer
        f"--timeout={TEST_TIMEOUT}",  # a wedged test fails alone instead of hanging the job
        *extra,
    ]
    started = time.monotonic()
    log = out / f"{tag}.log"
    earlier: dict[str, dict[str, Any]] = {}  # outcomes from processes killed at a hang
    todo: Sequence[str] = files
    with log.open("w", encoding="utf-8") as f:
        while True:
            proc = subprocess.Popen(
                [*base, *todo], cwd=sdist, env=env, stdout=f, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            if _wait_for_progress(proc, progress):
                break
            finished, hung = _progress_records(progress)
            if hung is None and not finished:
                raise SystemExit(f"{tag}: pytest made no progress at all; see {log}")
            earlier.update(finished)
            if hung is None:
                # Between tests: a fixture's teardown or the interpreter's exit (joining a
                # thread a test left behind) hung. Every finished test's record stands.
                print(f"  {tag}: pytest hung after its last finished test; killed")
            else:
                print(f"  {tag}: {hung} hung; killed, resuming after it")
                earlier[hung] = {
                    "outcome": "failed",
                    "phase": "call",
                    "error": f"hung: no progress for {STALL_SECONDS:.0f} s, past "
                    "pytest-timeout; the process was killed",
                }
            every = _collect(base, files, sdist, env)
            todo = [t for t in every if t not in earlier]
            if not todo:
                break
    seconds = time.monotonic() - started
    print(f"  {tag}: pytest exit {proc.returncode} in {seconds:.0f} s (log: {log})")
    if report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
    elif earlier:
        data = {"mode": mode, "routed_at_collection": 0, "tests": {}}
    else:
        raise SystemExit(f"{tag}: pytest wrote no report; see {log}")
    data["tests"] = {**earlier, **data["tests"]}
    data["seconds"] = round(seconds, 1)
    report.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return report


def _wait_for_progress(proc: subprocess.Popen[bytes], progress: Path) -> bool:
    """Wait for ``proc``; kill its process group if ``progress`` stops growing. True: it ended."""
    size, moved = -1, time.monotonic()
    while proc.poll() is None:
        time.sleep(2)
        now = progress.stat().st_size if progress.exists() else 0
        if now != size:
            size, moved = now, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what it started
            proc.wait()
            return False
    return True


def _progress_records(progress: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The finished tests' records, and the test that started last without finishing."""
    finished: dict[str, dict[str, Any]] = {}
    current = None
    if not progress.exists():  # killed before its first test started
        return finished, current
    for line in progress.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "started" in entry:
            current = entry["started"]
        else:
            test = entry.pop("finished")
            finished[test] = entry
            if test == current:
                current = None
    return finished, current


def _collect(
    base: Sequence[str], files: Sequence[str], sdist: Path, env: Mapping[str, str]
) -> list[str]:
    """Every test id in ``files``, in run order."""
    quiet = {k: v for k, v in env.items() if k != "PN_GATE_REPORT"}  # no report to overwrite
    listing = subprocess.run(
        [*base, "--collect-only", *files], cwd=sdist, env=quiet, capture_output=True, text=True
    )
    return [line.strip() for line in listing.stdout.splitlines() if "::" in line]


def render(
    runs: Mapping[str, ModeRun], comparisons: Iterable[Comparison], pending: Iterable[str]
) -> str:
    """The gate's report, as Markdown."""
    lines = ["# LangGraph gate", "", "| mode | tests | passed | broken vs plain | time |"]
    lines.append("|---|---:|---:|---:|---:|")
    comps = list(comparisons)
    broken = {c.mode: len(c.broken) for c in comps}
    for mode, run in runs.items():
        counts = Counter(r["outcome"] for r in run.tests.values())
        lines.append(
            f"| {mode} | {len(run.tests)} | {counts['passed']} | "
            f"{broken.get(mode, '—')} | {run.seconds:.0f} s |"
        )
    for mode in pending:
        lines.append(f"| {mode} | pending | | | |")
    lines.append("")
    for comp in comps:
        run = runs[comp.mode]
        lines.append(
            f"## {comp.mode}: {len(comp.broken)} of {comp.baseline} plainly passing tests break"
        )
        lines.append("")
        lines.append(
            f"{run.routed_tests()} tests routed at least one node through the engine "
            f"({run.routed_at_collection} nodes built at import time)."
        )
        lines.append("")
        for cause, tests in comp.by_cause().items():
            lines.append(f"### {len(tests)}: {cause}")
            lines.append("")
            lines.extend(f"- `{t}`" + (" (known)" if t in comp.known else "") for t in tests)
            lines.append("")
        if comp.flaky:
            lines.append(f"Failed once, then passed when rerun alone ({len(comp.flaky)}):")
            lines.extend(f"- `{t}`: {comp.flaky[t].splitlines()[0][:160]}" for t in comp.flaky)
            lines.append("")
        if comp.stale_known:
            lines.append("Known failures that now pass (remove them from known_failures.txt):")
            lines.extend(f"- `{t}`" for t in comp.stale_known)
            lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sdist", type=Path, required=True, help="the unpacked langgraph sdist")
    parser.add_argument("--out", type=Path, required=True, help="where reports go")
    parser.add_argument("--modes", default="plain,run_tier,parallel_node")
    parser.add_argument("--compare-only", action="store_true", help="reuse <out>/<mode>.json")
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed to pytest")
    parser.add_argument(
        "--jobs", type=int, default=1, help="modes run at once, each in its own pytest process"
    )
    parser.add_argument("files", nargs="+", help="test files, relative to the sdist")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # pytest runs in the sdist, not here

    asked = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(asked) - {"plain", *ENGINE_MODES})
    if unknown:
        parser.error(f"unknown modes {unknown}; choose from plain, {', '.join(ENGINE_MODES)}")
    modes = ["plain", *(m for m in ENGINE_MODES if m in asked)]  # the baseline comes first
    pending = []
    if "parallel_node" in modes and parallel_node_pending():
        print("parallel_node: pending (Task has no returns='update' yet)")
        modes.remove("parallel_node")
        pending.append("parallel_node")
    args.out.mkdir(parents=True, exist_ok=True)
    # Modes are independent pytest processes: on a machine with cores to spare they run at once.
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    with pool:
        if args.compare_only:
            paths = {mode: args.out / f"{mode}.json" for mode in modes}
        else:
            started = {
                mode: pool.submit(run_mode, mode, args.sdist, args.files, args.out, args.pytest_arg)
                for mode in modes
            }
            paths = {mode: future.result() for mode, future in started.items()}
        runs = {mode: ModeRun.load(path) for mode, path in paths.items()}

        known = read_known_failures(KNOWN_FAILURES)
        reruns = []
        for mode in modes[1:]:
            first = compare(runs["plain"], runs[mode], known)
            rerun_path = args.out / f"{mode}-rerun.json"
            if not args.compare_only:
                rerun_path.unlink(missing_ok=True)
                if 0 < len(first.broken) <= RERUN_LIMIT:
                    tests = sorted(first.broken)
                    tag = f"{mode}-rerun"
                    reruns.append(
                        pool.submit(
                            run_mode, mode, args.sdist, tests, args.out, args.pytest_arg, tag
                        )
                    )
        for rerun_job in reruns:
            rerun_job.result()
    comparisons = []
    for mode in modes[1:]:
        rerun_path = args.out / f"{mode}-rerun.json"
        rerun = ModeRun.load(rerun_path) if rerun_path.exists() else None
        comparisons.append(compare(runs["plain"], runs[mode], known, rerun))
    report = render(runs, comparisons, pending)
    (args.out / "summary.md").write_text(report + "\n", encoding="utf-8")
    summary = {
        "modes": {
            m: {"tests": len(r.tests), "passed": len(r.passed()), "seconds": r.seconds}
            for m, r in runs.items()
        },
        "pending": pending,
        "broken": {c.mode: c.by_cause() for c in comparisons},
        "flaky": {c.mode: sorted(c.flaky) for c in comparisons},
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(report)
    failing = {c.mode: len(c.unexcused) for c in comparisons if c.unexcused}
    if failing:
        print(f"\nGATE FAILED: plainly passing tests break through the engine: {failing}")
        return 1
    print("\nGATE PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
