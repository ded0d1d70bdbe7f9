"""Sweep benchmark: throughput of a Dask LocalCluster of 2 workers against 1, and per-task overhead.

Runs N replications of the bundled mixed raid, cut to 20 minutes of simulated time (``duration_s:
1200``, ~7 s a task on this machine; the full hour would keep the benchmark well over 10 minutes),
through ``iadsim.runs.sweep.run_sweep`` (the path of ``iadsim sweep --local-cluster``: a task is a
sensing pass and its C2 pass, its outcomes written to the Parquet dataset by the parent) on a
LocalCluster of 1 and of 2 single-threaded workers, each warmed up first (numba compiles in every
worker). Then pushes trivial tasks (``abs``) through the same submit/wait loop to measure the
per-task scheduling overhead of Dask and of local processes. Run: ``python bench/bench_sweep.py
[N]`` (default N = 16). Prints a markdown table and writes out/bench/sweep.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.runs.sweep import (
    DaskBackend,
    SweepTask,
    apply_overrides,
    execute,
    open_backend,
    parse_spec,
    plan_sweep,
    run_sweep,
    run_task,
)
from iadsim.scenario import load_scenario

DURATION_S = 1200.0
TRIVIAL_TASKS = 400


def _warm() -> None:
    """Compile numba's kernels in this worker: one short pass of the raid."""
    sc = apply_overrides(load_scenario("mixed-raid"), {"duration_s": 120})
    run_task(SweepTask(sc, 0, (("warm", str(sc.arrangement.value)),)))


def _throughput(workers: int, replications: int) -> dict[str, Any]:
    spec = parse_spec({"scenario": "mixed-raid", "replications": replications,
                       "base": {"duration_s": DURATION_S}})
    plan = plan_sweep(spec)
    with open_backend(local_cluster=workers) as backend, tempfile.TemporaryDirectory() as tmp:
        assert isinstance(backend, DaskBackend)
        backend.client.run(_warm)
        t0 = time.perf_counter()
        run_sweep(plan, Path(tmp) / "out", backend)
        wall = time.perf_counter() - t0
    return {"workers": workers, "tasks": replications, "wall_s": wall,
            "tasks_per_min": 60 * replications / wall}


def _overhead(kind: str) -> dict[str, Any]:
    opts: dict[str, Any] = {"local_cluster": 1} if kind == "dask" else {"jobs": 2}
    with open_backend(**opts) as backend:
        list(execute(backend, abs, range(-20, 0)))  # start-up out of the measurement
        t0 = time.perf_counter()
        got = sorted(execute(backend, abs, range(-TRIVIAL_TASKS, 0)))
        wall = time.perf_counter() - t0
    assert got == list(range(1, TRIVIAL_TASKS + 1))
    return {"backend": kind, "tasks": TRIVIAL_TASKS, "per_task_ms": 1000 * wall / TRIVIAL_TASKS}


def main() -> None:
    """Run the benchmark and print the table."""
    replications = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    one = _throughput(1, replications)
    two = _throughput(2, replications)
    ratio = two["tasks_per_min"] / one["tasks_per_min"]
    dask = _overhead("dask")
    procs = _overhead("processes")
    print(f"Sweep throughput: mixed-raid, duration_s {DURATION_S:.0f}, {replications} replications\n")
    print("| backend | wall | tasks/min |")
    print("|---|---:|---:|")
    for r in (one, two):
        print(f"| Dask LocalCluster, {r['workers']} worker{'s' if r['workers'] > 1 else ''} | "
              f"{r['wall_s']:.1f} s | {r['tasks_per_min']:.2f} |")
    print(f"\nThroughput ratio 2 workers / 1 worker: **{ratio:.2f}×** (goal ≥ 1.7×)\n")
    print("| scheduling overhead (trivial tasks, submit → result) | per task |")
    print("|---|---:|")
    print(f"| Dask LocalCluster, 1 worker, {dask['tasks']} tasks | {dask['per_task_ms']:.2f} ms |")
    print(f"| local processes (spawn), 2 workers, {procs['tasks']} tasks | {procs['per_task_ms']:.2f} ms |")
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    record = {"throughput": [one, two], "ratio": ratio, "overhead": [dask, procs],
              "machine": machine_info(duration_s=DURATION_S)}
    (out / "sweep.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
