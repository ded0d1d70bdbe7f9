"""Sensitivity benchmark: one coverage metric over 15 factors, one at a time + Morris (10 trajectories),
at 10 km, in one process, in 2 local processes and on a Dask LocalCluster of 2 workers.

The metric is the README's headline ("Lithuania, engageable, 10,000 m", reference-2020, bundled
terrain). The 15 factors are the 6 ranges and variants that move coverage (detection-range
convention, antenna heights of vehicles, masts and low-altitude towers, the 5V55R's range, the S-400
missile) and 9 that cannot (Pk, reaction times, link and processing delays, readiness, C2 timings,
reload): the study finds those inert from the coverage study's inputs and evaluates their points once,
so the design's 191 points take fewer distinct evaluations; both counts are printed. Each backend runs
the whole command's path (``run_study``) from an empty folder, worker start-up included, as a user
would. Run: ``python bench/bench_sensitivity.py``; prints a markdown table and writes
out/bench/sensitivity.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.runs.sensitivity import ScenarioEvaluator, StudySettings, parse_metric, run_study
from iadsim.runs.sweep import open_backend
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
    serial = runs[0]["wall_s"]
    print(f"\n{title}\n")
    print("| backend | wall (s) | points | distinct evaluations | speed-up vs 1 process | ≤ 120 s |")
    print("|---|---:|---:|---:|---:|---|")
    for r in runs:
        r["speedup"] = serial / r["wall_s"]
        print(f"| {r['backend']} | {r['wall_s']:.1f} | {r['points']} | {r['evaluations']} | "
              f"{r['speedup']:.2f}× | {'yes' if r['wall_s'] <= 120 else 'no'} |")


def main() -> None:
    target = [_study("1 process", jobs=1), _study("2 local processes", jobs=2),
              _study("Dask LocalCluster, 2 workers", local_cluster=2)]
    _table(f"{METRIC}, 15 factors, one at a time + Morris 10 trajectories, 10 km grid", target)
    full = [_study("1 process", FULL, jobs=1), _study("Dask LocalCluster, 2 workers", FULL, local_cluster=2)]
    _table("the same with Sobol indices (N = 32, 3 factors) and 128 draws for the interval", full)
    print(f"\ninert factors found: {target[0]['inert_factors']}; moved most by: {target[0]['top']}")
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sensitivity.json").write_text(json.dumps({"machine": machine_info(), "runs": target + full},
                                                     indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
