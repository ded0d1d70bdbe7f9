"""Sensitivity benchmark: one coverage metric over 15 factors, one at a time + Morris (10 trajectories),
at 10 km, in one process, in 2 local processes and on a Dask LocalCluster of 2 workers.

The metric is the README's headline ("Lithuania, engageable, 10,000 m", reference-2020, bundled
terrain). The 15 factors are the 6 ranges and variants that move coverage (detection-range
convention, antenna heights of vehicles, masts and low-altitude towers, the 5V55R's range, the S-400
missile) and 9 that cannot (Pk, reaction times, link and processing delays, readiness, C2 timings,
reload): the study finds those inert from the coverage study's inputs and evaluates their points once,
so the design's 191 points take fewer distinct evaluations; both counts are printed. Each backend runs
the whole command's path (``run_study``) from an empty folder, worker start-up included, as a user
would (cold), and again with warm caches: a second study in the same process, or on a Dask cluster
already running (warm). A last row measures the machine's ceiling for this work: two warm
1-process studies at the same moment in two independent processes. Each row runs twice
(``--repeats N``), interleaved, and the tables give the median, the range, where the time went
(``SensitivityResult.timings``) and the tasks the evaluations took; ``--previous REV`` runs a
previous version's rows (``git archive`` of REV) right after each of this version's. Run:
``python bench/bench_sensitivity.py [--repeats N] [--previous main] [--designs oat+morris,full]``;
prints markdown tables and writes out/bench/sensitivity.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.runs.sensitivity import ScenarioEvaluator, StudySettings, parse_metric, run_study
from iadsim.runs.sweep import dask_local_cluster, open_backend
from iadsim.scenario import load_scenario
from iadsim.scenario.factors import collect_factors, select_factors

FACTORS = ["detection_range_convention", "vehicle_antenna_height", "surveillance_antenna_height",
           "low_altitude_radar_height", "catalog.missiles.s300ps_5v55r.max_range_km", "s400_missile",
           "sam_single_shot_pk", "sam_reaction_time", "link_latency", "command_post_processing_delay",
           "readiness_states.qra_15min.time_to_act_s", "readiness_states.sam_duty.time_to_act_s",
           "c2.sensor_report_latency_s", "c2.node_cycle_s", "engagement.reload_time_s"]
METRIC = "Lithuania, engageable, 10,000 m"
CEILING = "ceiling: 2 studies at once, 1 process each"
SETTINGS = StudySettings(oat=True, trajectories=10, levels=4, sobol_samples=0, interval_samples=0, seed=0)
FULL = StudySettings(oat=True, trajectories=10, levels=4, sobol_samples=32, sobol_factors=3,
                     interval_samples=128, seed=0)
"""The command's whole study (Sobol indices and the interval too): enough distinct evaluations for
the workers' start-up (imports, numba, terrain, viewsheds: ~9 s each here) to be a small share."""


def _study(label: str, settings: StudySettings = SETTINGS, **backend: Any) -> dict[str, Any]:
    scenario = load_scenario("reference-2020")
    factors = select_factors(collect_factors(scenario), FACTORS)
    assert len(factors) == 15
    evaluator = ScenarioEvaluator(scenario, (parse_metric(METRIC, scenario),), resolution_km=10.0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with open_backend(**backend) as be:
            result = run_study(factors, evaluator, Path(tmp) / "study", be, settings)
        wall = time.perf_counter() - t0
    top = result.top_factors(METRIC, 2)
    return {"backend": label, "design": "full" if settings is FULL else "oat+morris", "wall_s": wall,
            "points": len(result.cases), "evaluations": result.ran, "tasks": result.tasks,
            "inert_factors": sum(not r for r in result.relevant), "top": top,
            "relevant_s": result.timings["relevant factors"], "evaluations_s": result.timings["evaluations"],
            "client_s": sum(v for k, v in result.timings.items()
                            if k not in ("relevant factors", "evaluations")),
            "backend_s": wall - sum(result.timings.values())}


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _table(title: str, runs: list[dict[str, Any]]) -> None:
    """One row per version, backend and start: the median wall of its repeats and their range; the
    speed-up is the median against the 1-process row of the same version and start (cold or warm),
    times the studies the row ran (2 for the ceiling row: work done per unit of time),
    and "vs previous" this version's median against the previous version's on the same backend and
    start. The phases (medians; — for a version without ``timings``): probing which factors are
    relevant, evaluating (the part the workers share), the rest of the study in the client, and
    opening and closing the backend (workers' start-up)."""
    rows: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        rows.setdefault((r["version"], r["backend"], r["start"]), []).append(r)
    median = {key: statistics.median(x["wall_s"] for x in rs) for key, rs in rows.items()}
    print(f"\n{title}\n")
    print("| version | backend | start | wall (s), median | range (s) | relevant factors (s) | "
          "evaluations (s) | rest of the study (s) | backend start/stop (s) | points | "
          "distinct evaluations | tasks | speed-up vs 1 process | vs previous | ≤ 120 s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for (version, backend, start), rs in rows.items():
        walls = [x["wall_s"] for x in rs]
        med: dict[str, float | None] = {
            k: statistics.median(x[k] for x in rs) if all(x.get(k) is not None for x in rs) else None
            for k in ("relevant_s", "evaluations_s", "client_s", "backend_s")}
        wall = median[(version, backend, start)]
        serial = median[(version, "1 process", start)]
        previous = median.get(("previous", backend, start)) if version != "previous" else None
        speedup = rs[0].get("studies", 1) * serial / wall
        print(f"| {version} | {backend} | {start} | {wall:.1f} | {min(walls):.1f}–{max(walls):.1f} | "
              f"{_fmt(med['relevant_s'])} | {_fmt(med['evaluations_s'])} | {_fmt(med['client_s'])} | "
              f"{_fmt(med['backend_s'])} | {rs[0]['points']} | {rs[0]['evaluations']} | "
              f"{rs[0].get('tasks', '—')} | "
              f"{speedup:.2f}× | {'' if previous is None else f'{previous / wall:.2f}×'} | "
              f"{'yes' if wall <= 120 else 'no'} |")


_ROWS = (("1 process", "cold", {"jobs": 1}), ("2 local processes", "cold", {"jobs": 2}),
         ("Dask LocalCluster, 2 workers", "cold", {"local_cluster": 2}),
         ("1 process", "warm", {"jobs": 1}), ("Dask cluster running, 2 workers", "warm", {"dask": 2}),
         (CEILING, "warm", {"jobs": 1}))
"""Cold: each backend from nothing (worker start-up, imports, terrain and viewsheds included), as
`iadsim sensitivity` run once. Warm: a second study in the same process, or on a Dask cluster that is
already running and has run one (the way a Dask deployment is used: `--scheduler ADDRESS`). The last
row is the machine's ceiling: two independent warm 1-process studies timed at once (see ``_pair``)."""


def _pair_member(settings: StudySettings, barrier: Any, rows: Any) -> None:
    """One of the ceiling row's two processes: a warm-up study, then the timed one, started with the
    other process's at the barrier."""
    _study("warm-up", settings, jobs=1)
    barrier.wait()
    rows.put(_study(CEILING, settings, jobs=1))


def _pair(settings: StudySettings) -> dict[str, Any]:
    """Two warm 1-process studies at the same moment, in two processes with nothing shared: twice
    the work of the 1-process row with no scheduling, no transfer and no serial step. The slower
    one's time against one study alone bounds what any 2-worker backend can reach on this machine
    for this work (memory bandwidth, shared caches, the hypervisor's share of the 2 CPUs)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    members = [ctx.Process(target=_pair_member, args=(settings, barrier, queue)) for _ in range(2)]
    for m in members:
        m.start()
    rows = [queue.get() for _ in members]  # before join: a child with queued data waits to exit
    for m in members:
        m.join()
    walls = [r["wall_s"] for r in rows]
    return {**rows[0], "wall_s": max(walls), "walls_s": walls, "studies": 2}


def _row(index: int, design: str) -> dict[str, Any]:
    """One row, in this process (a fresh one: a LocalCluster leaves threads behind in the process
    that ran it, which slowed the rows measured after it in the same process)."""
    label, start, backend = _ROWS[index]
    settings = FULL if design == "full" else SETTINGS
    if label == CEILING:
        row = _pair(settings)
    elif "dask" in backend:
        with dask_local_cluster(backend["dask"]) as cluster:
            _study("warm-up", settings, scheduler=cluster.scheduler_address)
            row = _study(label, settings, scheduler=cluster.scheduler_address)
    else:
        if start == "warm":
            _study("warm-up", settings, **backend)
        row = _study(label, settings, **backend)
    row["start"] = start
    return row


def _previous_tree(rev: str) -> Path:
    """``git archive`` of ``rev``'s src and bench in out/bench/sensitivity-previous (remade each run);
    its rows run with this environment's interpreter and dependencies and PYTHONPATH on its src, so
    the comparison is of iadsim's code. Its numba functions are compiled once before any row is
    timed (a fresh tree has no numba cache)."""
    tree = Path("out/bench/sensitivity-previous").resolve()
    if tree.exists():
        shutil.rmtree(tree)  # out/bench is the benchmarks' own output folder
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "src", "bench"], check=True,
                             stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    _run_row(0, "oat+morris", tree)  # compiles and caches its numba functions
    return tree


def _run_row(index: int, design: str, tree: Path | None = None) -> dict[str, Any]:
    """Row ``index`` in a fresh process: this tree's, or the bench script of ``tree`` on its src."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = __file__
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
        script = str(tree / "bench" / "bench_sensitivity.py")
    done = subprocess.run([sys.executable, script, "--row", str(index), design], check=True,
                          capture_output=True, text=True, env=env)
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["version"] = "this" if tree is None else "previous"
    return row


def _rows(design: str, repeats: int, previous: Path | None) -> list[dict[str, Any]]:
    """Every row of a design ``repeats`` times, interleaved (row 1, 2, …, 5, then again; with a
    previous version, its row right after this version's: a machine whose load changes slows both
    alike), each in a fresh process."""
    out = []
    for _ in range(repeats):
        for i in range(len(_ROWS)):
            out.append(_run_row(i, design))
            if previous is not None and _ROWS[i][0] != CEILING:  # the machine's, not a version's
                out.append(_run_row(i, design, previous))
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--row":
        print(json.dumps(_row(int(sys.argv[2]), sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each row (interleaved)")
    parser.add_argument("--previous", metavar="REV", help="also run a previous version's rows "
                        "(a git revision, e.g. main), side by side")
    parser.add_argument("--designs", default="oat+morris,full",
                        help="oat+morris (the issue's study), full (with Sobol and the interval), or both: "
                        "oat+morris,full (the default)")
    args = parser.parse_args()
    designs = args.designs.split(",")
    unknown = sorted(set(designs) - {"oat+morris", "full"})
    if unknown:
        parser.error(f"--designs: unknown {', '.join(unknown)} (oat+morris, full, or oat+morris,full)")
    load_before = os.getloadavg()
    previous = _previous_tree(args.previous) if args.previous else None
    runs: list[dict[str, Any]] = []
    titles = {"oat+morris": f"{METRIC}, 15 factors, one at a time + Morris 10 trajectories, 10 km grid",
              "full": "the same with Sobol indices (N = 32, 3 factors) and 128 draws for the interval"}
    for design in designs:
        design_runs = _rows(design, args.repeats, previous)
        _table(titles[design], design_runs)
        runs += design_runs
    print(f"\ninert factors found: {runs[0]['inert_factors']}; moved most by: {runs[0]['top']}")
    print(f"load average (1, 5, 15 min) before: {load_before}, after: {os.getloadavg()}")
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sensitivity.json").write_text(json.dumps({"machine": machine_info(), "previous": args.previous,
                                                      "runs": runs}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
