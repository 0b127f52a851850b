"""Beyond one core and one machine: processes against threads for CPU-bound tasks, a Ray task
cut at a tier deadline, a process stuck forever, and replica ejection.

Run it from the repository root: ``python -m benchmarks.scaling [--quick]``. It prints JSON:
ratios and counts, one run. The Ray part starts a local Ray instance (seconds) and waits for
the remote task's would-be end to prove it never wrote its side effect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from parallel_nodes import Task, Tier, run_tier
from parallel_nodes._balance import OutlierDetection, ReplicaSet

from ._report import machine

CPU_SECONDS = 0.2


def _burn(state: dict[str, Any]) -> float:
    """A fixed amount of pure-Python work (``state["loops"]`` iterations): under the GIL,
    threads share one core for it; processes get one each. Returns the CPU seconds it took."""
    c0 = time.thread_time()
    total = 0
    for i in range(state.get("loops", 1000)):
        total += i * i % 7
    return time.thread_time() - c0 + 0 * total


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _calibrate(seconds: float) -> int:
    """Iterations of ``_burn`` that take ``seconds`` of CPU time (not wall time: other users'
    load on a shared machine stretches the wall time, not the work)."""
    loops = 100_000
    while True:
        took = _burn({"loops": loops})
        if took > 0.05:
            return int(loops * seconds / took)
        loops *= 2


def _stuck(state: dict[str, Any]) -> None:
    time.sleep(3600)


def _slow_side_effect(state: dict[str, Any]) -> str:
    time.sleep(state["seconds"])
    Path(state["path"]).write_text("ran to the end")
    return "finished"


def _tier(n: int, executor: Any) -> Tier:
    extra = {} if executor is None else {"executor": executor}
    return Tier(
        "cpu", [Task(f"t{i}", _burn, timeout=30.0, **extra) for i in range(n)], timeout=30.0
    )


async def _timed(tier: Tier, state: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    await run_tier(tier, state, observers=())
    return time.perf_counter() - t0


async def _cores(tier: Tier, state: dict[str, Any]) -> tuple[float, float]:
    """The tier's wall time, and the cores its tasks got: their CPU seconds over that time."""
    t0 = time.perf_counter()
    result = await run_tier(tier, state, observers=())
    wall = time.perf_counter() - t0
    return wall, sum(float(v) for v in result.values.values()) / wall


def cpu(*, quick: bool = False) -> dict[str, Any]:
    """Three (and two, and four) CPU-bound tasks: in sequence, on threads, on processes."""
    from parallel_nodes._remote import ProcessExecutor

    pool = ProcessExecutor()  # the default size, as Task(executor="process") gets
    pool.warm_up()
    out: dict[str, Any] = {"cores": os.cpu_count(), "task_seconds": CPU_SECONDS}
    state = {"loops": _calibrate(CPU_SECONDS)}
    t0 = time.perf_counter()
    alone_cpu = _burn(state)
    out["one_task_cpu_share"] = round(alone_cpu / (time.perf_counter() - t0), 2)
    rounds = 3 if quick else 7
    try:
        for n in (2, 3, 4):
            seq_s, thr_s, proc_s, cores_s, thr_cores = [], [], [], [], []
            for _ in range(rounds):  # interleaved, so a burst of other load hits all three
                t0 = time.perf_counter()
                for _ in range(n):
                    _burn(state)
                seq_s.append(time.perf_counter() - t0)
                wall, cores = asyncio.run(_cores(_tier(n, None), state))
                thr_s.append(wall)
                thr_cores.append(cores)
                wall, cores = asyncio.run(_cores(_tier(n, pool), state))
                proc_s.append(wall)
                cores_s.append(cores)
            sequential, threads, processes = _median(seq_s), _median(thr_s), _median(proc_s)
            out[f"{n}_tasks"] = {
                "sequential_s": round(sequential, 3),
                "threads_s": round(threads, 3),
                "processes_s": round(processes, 3),
                "threads_speedup": round(sequential / threads, 2),
                "processes_speedup": round(sequential / processes, 2),
                # other users' load decides how many of the cores the workers really got
                "cores_the_processes_got": round(_median(cores_s), 2),
                "cores_the_threads_got": round(_median(thr_cores), 2),
                # n equal tasks on c cores, one worker each, cannot beat n / c task times
                # (the OS shares the cores between the workers)
                "ideal_speedup": float(min(n, os.cpu_count() or 1)),
            }
    finally:
        pool.close()
    return out


def ray_deadline(*, quick: bool = False) -> dict[str, Any]:
    """A Ray task that would run 10 s under a 0.5 s tier deadline."""
    import ray

    seconds = 3.0 if quick else 10.0
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    init_s = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "side-effect")
            task = Task("remote", _slow_side_effect, timeout=30.0, executor="ray")
            warm = Tier("warm", [Task("w", _burn, timeout=30.0, executor="ray")], timeout=30.0)
            asyncio.run(run_tier(warm, {"loops": 1000}, observers=()))  # worker started
            tier = Tier("deadline", [task], timeout=0.5)
            wall = asyncio.run(_timed(tier, {"seconds": seconds, "path": path}))
            call_ms = _call_ms("ray", 20 if quick else 100)
            time.sleep(seconds + 1.0)  # past the remote task's would-be end
            wrote = os.path.exists(path)
    finally:
        ray.shutdown()
    return {
        "ray_init_s": round(init_s, 2),
        "call_ms": call_ms,
        "remote_task_s": seconds,
        "deadline_s": 0.5,
        "wall_s": round(wall, 4),
        "late_ms": round((wall - 0.5) * 1000, 1),
        "side_effect_written": wrote,
    }


def stuck_process(*, quick: bool = False) -> dict[str, Any]:
    """A process task stuck forever, 100 times under a 0.1 s deadline: on time, no leak."""
    import psutil

    from parallel_nodes._remote import ProcessExecutor

    runs = 20 if quick else 100
    pool = ProcessExecutor(max_workers=2)
    me = psutil.Process()
    tier = Tier("stuck", [Task("stuck", _stuck, timeout=30.0, executor=pool)], timeout=0.1)

    async def many() -> list[float]:
        return [await _timed(tier, {}) for _ in range(runs)]

    try:
        pool.warm_up()
        before = len(me.children(recursive=True))
        walls = asyncio.run(many())
        time.sleep(2.0)  # the last killed worker's replacement has started
        after = len(me.children(recursive=True))
    finally:
        pool.close()
    return {
        "runs": runs,
        "deadline_s": 0.1,
        "max_wall_s": round(max(walls), 4),
        "max_late_ms": round((max(walls) - 0.1) * 1000, 1),
        "processes_before": before,
        "processes_after": after,
    }


def _noop(state: dict[str, Any]) -> int:
    return 1


def _call_ms(executor: Any, runs: int) -> float:
    """Median milliseconds of a one-task tier whose task does nothing, on ``executor``."""
    extra = {} if executor is None else {"executor": executor}
    tier = Tier("noop", [Task("noop", _noop, timeout=30.0, **extra)], timeout=30.0)

    async def many() -> list[float]:
        await _timed(tier, {})  # warm up
        return [await _timed(tier, {}) for _ in range(runs)]

    walls = sorted(asyncio.run(many()))
    return round(walls[len(walls) // 2] * 1000, 3)


def call_cost(*, quick: bool = False) -> dict[str, Any]:
    """What one call costs on each local executor: a no-op task's tier, median."""
    from distributed import Client, LocalCluster

    from parallel_nodes._remote import ProcessExecutor

    runs = 20 if quick else 100
    pool = ProcessExecutor(max_workers=2)
    pool.warm_up()
    try:
        out = {
            "default_ms": _call_ms(None, runs),
            "thread_ms": _call_ms("thread", runs),
            "process_ms": _call_ms(pool, runs),
        }
    finally:
        pool.close()
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        out["dask_inprocess_ms"] = _call_ms(client.get_executor(), runs)
    return out


def ejection(*, quick: bool = False) -> dict[str, Any]:
    """One of three replicas failing, on a fake clock: its share, and how soon it is back."""
    now = [0.0]
    policy = OutlierDetection(consecutive_failures=5, cool_down=1.0)
    replicas = ReplicaSet(["a", "b", "c"], outlier=policy, clock=lambda: now[0])
    step = 0.01  # a call every 10 ms
    calls = [0, 0, 0]
    recover_at = 30.0
    readmitted_at = None
    warm_up = 100
    k = 0
    while now[0] < 40.0:
        i = replicas.pick()
        replicas.started(i)
        failing = i == 0 and now[0] < recover_at
        replicas.finished(i, 0.005, ok=not failing)
        if k >= warm_up and now[0] < recover_at:
            calls[i] += 1
        if now[0] >= recover_at and readmitted_at is None and not replicas.is_ejected(0):
            readmitted_at = now[0]
        now[0] += step
        k += 1
    share = calls[0] / sum(calls)
    back = None if readmitted_at is None else (readmitted_at - recover_at) / 1.0
    return {
        "calls_after_warm_up": sum(calls),
        "failing_share": round(share, 4),
        "readmitted_after_cool_downs": None if back is None else round(back, 2),
        "ejections": replicas.stats()[0].ejections,
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """Every part, in one run."""
    return {
        "machine": machine(),
        "cpu": cpu(quick=quick),
        "call_cost": call_cost(quick=quick),
        "stuck_process": stuck_process(quick=quick),
        "ejection": ejection(quick=quick),
        "ray_deadline": ray_deadline(quick=quick),
    }


def markdown(results: dict[str, Any]) -> str:
    """The results as the tables of ``docs/benchmarks.md``."""
    lines = []
    cpu_part = results.get("cpu")
    if cpu_part:
        lines += [
            "| CPU-bound tasks (0.2 s of CPU each) | sequential | threads | processes "
            "| speedup, threads | speedup, processes | cores the processes got | ideal |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n in (2, 3, 4):
            r = cpu_part[f"{n}_tasks"]
            lines.append(
                f"| {n} | {r['sequential_s']} s | {r['threads_s']} s | {r['processes_s']} s "
                f"| {r['threads_speedup']}x | {r['processes_speedup']}x "
                f"| {r['cores_the_processes_got']} | {r['ideal_speedup']}x |"
            )
        lines.append("")
    cost = results.get("call_cost")
    ray = results.get("ray_deadline")
    if cost:
        lines += [
            "| one no-op task's tier, median | default | `thread` | `process` "
            "| Dask (in-process) | Ray (local) |",
            "|---|---|---|---|---|---|",
            f"| ms | {cost['default_ms']} | {cost['thread_ms']} | {cost['process_ms']} "
            f"| {cost['dask_inprocess_ms']} | {ray['call_ms'] if ray else '-'} |",
            "",
        ]
    if ray:
        lines.append(
            f"- Ray: a task that would run {ray['remote_task_s']} s under a "
            f"{ray['deadline_s']} s deadline: the tier returned in {ray['wall_s']} s "
            f"({ray['late_ms']} ms late); side effect written: {ray['side_effect_written']}; "
            f"`ray.init` took {ray['ray_init_s']} s."
        )
    stuck = results.get("stuck_process")
    if stuck:
        lines.append(
            f"- A process task stuck forever, {stuck['runs']} runs under a "
            f"{stuck['deadline_s']} s deadline: slowest return {stuck['max_wall_s']} s "
            f"({stuck['max_late_ms']} ms late); our child processes before "
            f"{stuck['processes_before']}, after {stuck['processes_after']}."
        )
    ej = results.get("ejection")
    if ej:
        lines.append(
            f"- One of three replicas failing (a call every 10 ms, cool-down 1 s, fake clock): "
            f"its share after warm-up {ej['failing_share'] * 100:.2f}% of "
            f"{ej['calls_after_warm_up']} calls; re-admitted "
            f"{ej['readmitted_after_cool_downs']} cool-downs after it recovered."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the results as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="tables instead of JSON")
    parts = ["cpu", "call_cost", "stuck_process", "ejection", "ray_deadline"]
    parser.add_argument("--only", choices=parts)
    args = parser.parse_args(argv)
    if args.only:
        results = {args.only: globals()[args.only](quick=args.quick)}
    else:
        results = run(quick=args.quick)
    print(markdown(results) if args.markdown else json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
