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
already running (warm). Run: ``python bench/bench_sensitivity.py``; prints markdown tables and
writes out/bench/sensitivity.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
            "points": len(result.cases), "evaluations": result.ran,
            "inert_factors": sum(not r for r in result.relevant), "top": top}


def _table(title: str, runs: list[dict[str, Any]]) -> None:
    """Each row's speed-up is against the 1-process row of the same start (cold or warm)."""
    serial = {r["start"]: r["wall_s"] for r in runs if r["backend"] == "1 process"}
    print(f"\n{title}\n")
    print("| backend | start | wall (s) | points | distinct evaluations | speed-up vs 1 process | ≤ 120 s |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in runs:
        r["speedup"] = serial[r["start"]] / r["wall_s"]
        print(f"| {r['backend']} | {r['start']} | {r['wall_s']:.1f} | {r['points']} | {r['evaluations']} | "
              f"{r['speedup']:.2f}× | {'yes' if r['wall_s'] <= 120 else 'no'} |")


_ROWS = (("1 process", "cold", {"jobs": 1}), ("2 local processes", "cold", {"jobs": 2}),
         ("Dask LocalCluster, 2 workers", "cold", {"local_cluster": 2}),
         ("1 process", "warm", {"jobs": 1}), ("Dask cluster running, 2 workers", "warm", {"dask": 2}))
"""Cold: each backend from nothing (worker start-up, imports, terrain and viewsheds included), as
`iadsim sensitivity` run once. Warm: a second study in the same process, or on a Dask cluster that is
already running and has run one (the way a Dask deployment is used: `--scheduler ADDRESS`)."""


def _row(index: int, design: str) -> dict[str, Any]:
    """One row, in this process (a fresh one: a LocalCluster leaves threads behind in the process
    that ran it, which slowed the rows measured after it in the same process)."""
    label, start, backend = _ROWS[index]
    settings = FULL if design == "full" else SETTINGS
    if "dask" in backend:
        with dask_local_cluster(backend["dask"]) as cluster:
            _study("warm-up", settings, scheduler=cluster.scheduler_address)
            row = _study(label, settings, scheduler=cluster.scheduler_address)
    else:
        if start == "warm":
            _study("warm-up", settings, **backend)
        row = _study(label, settings, **backend)
    row["start"] = start
    return row


def _rows(design: str) -> list[dict[str, Any]]:
    """Every row of a design, each in a fresh process."""
    out = []
    for i in range(len(_ROWS)):
        done = subprocess.run([sys.executable, __file__, "--row", str(i), design], check=True,
                              capture_output=True, text=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--row":
        print(json.dumps(_row(int(sys.argv[2]), sys.argv[3])))
        return
    target = _rows("oat+morris")
    _table(f"{METRIC}, 15 factors, one at a time + Morris 10 trajectories, 10 km grid", target)
    full = _rows("full")
    _table("the same with Sobol indices (N = 32, 3 factors) and 128 draws for the interval", full)
    print(f"\ninert factors found: {target[0]['inert_factors']}; moved most by: {target[0]['top']}")
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sensitivity.json").write_text(json.dumps({"machine": machine_info(), "runs": target + full},
                                                     indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
