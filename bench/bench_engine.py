"""Engine benchmark: one hour at a 1 s tick with all radars of the 2020 reference system.

Runs the bundled reference scenario with a raid generator of N objects (half low-flying cruise
missiles, half fighters at 8 km) crossing the region for the whole hour, for N = 200, 2 000 and
20 000, each in a fresh process so that its peak memory (max RSS) is its own. Then profiles the
2 000-object run and prints where the time goes. Run: `python bench/bench_engine.py`
(part of `make bench`). Writes out/bench/engine.json.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_info  # bench/_machine.py: scripts run from bench/

SIZES = (200, 2000, 20000)

SCENARIO = """\
include: [reference-2020]
name: engine benchmark ({n} objects)
duration_s: 3600
tick_s: 1
seed: 5
truth_interval_s: 10
traffic:
  raids:
    low:
      type: generic_cruise_missile
      nation: POL
      count: {half}
      start_s: 0
      spread_s: 600
      origin: {{lat_deg: 52.8, lon_deg: 21.5}}
      origin_radius_km: 60
      destinations: [{{lat_deg: 54.8, lon_deg: 31.5}}, {{lat_deg: 52.4, lon_deg: 31.0}}]
      speed_kmh: 800
      alt_m: 100
      alt_ref: agl
      spread_deg: 10
    high:
      type: generic_fighter
      nation: LTU
      count: {half}
      start_s: 0
      spread_s: 600
      origin: {{lat_deg: 55.2, lon_deg: 22.5}}
      origin_radius_km: 60
      destinations: [{{lat_deg: 52.5, lon_deg: 31.5}}, {{lat_deg: 55.5, lon_deg: 31.5}}]
      speed_kmh: 850
      alt_m: 8000
      spread_deg: 10
"""


def scenario_file(n: int, folder: Path) -> Path:
    path = folder / f"bench_{n}.yaml"
    path.write_text(SCENARIO.format(n=n, half=n // 2), encoding="utf-8")
    return path


def child(path: str) -> None:
    """Run one simulation and print a JSON line with times and peak memory."""
    import iadsim
    from iadsim.geo.terrain import default_terrain
    from iadsim.sim import Engine

    t0 = time.perf_counter()
    scenario = iadsim.load_scenario(path)
    t1 = time.perf_counter()
    engine = Engine(scenario, terrain=default_terrain())
    t2 = time.perf_counter()
    result = engine.run()
    t3 = time.perf_counter()
    print(json.dumps({
        "objects": len(engine.traffic), "radars": len(engine.radars),
        "load_s": t1 - t0, "setup_s": t2 - t1, "run_s": t3 - t2, "total_s": t3 - t0,
        "detections": result.detections.num_rows, "truth_rows": result.truth.num_rows,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = scenario_file(n, Path(tmp))
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                                 capture_output=True, text=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(row)
            print(f"{row['objects']:>6} objects, {row['radars']} radars: load {row['load_s']:.1f} s, "
                  f"set-up {row['setup_s']:.1f} s, 3600 ticks {row['run_s']:.1f} s, total "
                  f"{row['total_s']:.1f} s; peak RSS {row['peak_rss_mib']:.0f} MiB; "
                  f"{row['detections']:,} detections", flush=True)
        # where the time goes at 2 000 objects
        import iadsim
        from iadsim.geo.terrain import default_terrain
        from iadsim.sim import Engine

        engine = Engine(iadsim.load_scenario(scenario_file(2000, Path(tmp))),
                        terrain=default_terrain())
        profile = cProfile.Profile()
        profile.enable()
        engine.run()
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
        lines = [ln for ln in text.getvalue().splitlines() if ln.strip()]
        print("\nprofile of the 2,000-object run (top functions by own time):")
        print("\n".join(lines[:24]))
    base = results[0]
    for row in results:
        row["time_per_object_ratio"] = (row["run_s"] / row["objects"]) / (base["run_s"] / base["objects"])
    machine = machine_info()
    Path("out/bench").mkdir(parents=True, exist_ok=True)
    Path("out/bench/engine.json").write_text(json.dumps({"machine": machine, "results": results},
                                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
