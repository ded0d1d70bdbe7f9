"""The run-time estimate stated before a run (``iadsim.pipeline.estimate``), against measured runs:
one replication (``run_replication``, after a first run that warms the caches) of each bundled
scenario with traffic, at its own tick, at half of it and at a twentieth, CPU time of this process. The fitted
constants of ``estimate.py`` come from these runs; writes out/bench/estimate.json and prints it.

    .venv/bin/python bench/bench_estimate.py
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info

from iadsim.geo.terrain import default_terrain
from iadsim.pipeline.estimate import estimate_run
from iadsim.pipeline.replication import run_replication
from iadsim.scenario import load_scenario
from iadsim.sim.radars import radar_roster
from iadsim.sim.random import Stage, stream
from iadsim.sim.traffic import check_trajectories
from iadsim.world import compile_world

HERE = Path(__file__).resolve().parent
CASES = (("air-policing-violation", (1.0, 0.5, 0.05)), ("mixed-raid", (1.0, 0.5, 0.05)),
         ("reference-2020", (1.0,)))


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    results: dict[str, Any] = {"machine": machine_info(load_avg=os.getloadavg()), "runs": []}
    for name, factors in CASES:
        base = load_scenario(name)
        for factor in factors:
            sc = base.with_changes(tick_s=base.tick_s * factor)
            trajectories, _ = check_trajectories(sc, stream(sc.seed, 0, Stage.traffic), default_terrain())
            roster = radar_roster(sc, compile_world(sc, sc.as_of), trajectories.object_id,
                                  trajectories.type_id, trajectories.nation, trajectories.radar_on)
            est = estimate_run(sc.duration_s, sc.tick_s, len(roster.sensor_id), trajectories.start_s,
                               trajectories.end_s)
            run_replication(sc)  # warm: launch regions, terrain, imports
            start = cpu_s()
            run_replication(sc)
            measured = cpu_s() - start
            row = {"scenario": name, "tick_s": sc.tick_s, "clock_steps": est.clock_steps,
                   "objects": est.objects, "object_steps": est.object_steps, "radars": est.radars,
                   "measured_cpu_s": round(measured, 2),
                   "estimated_s": round(est.seconds, 2), "ratio": round(est.seconds / measured, 2)}
            assert est.clock_steps == math.floor(sc.duration_s / sc.tick_s + 1e-9)
            print(row, flush=True)
            results["runs"].append(row)
    results["load_avg_after"] = [round(x, 1) for x in os.getloadavg()]
    out = HERE.parent / "out" / "bench" / "estimate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
