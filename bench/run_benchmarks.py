"""Benchmarks of the foundation: loading the reference data, the order of battle, compiling, the report.

Run with `make bench`. Prints a table and writes out/bench/results.json. Each figure is the
median of repeated runs in this process (after one warm-up), wall-clock, on this machine.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _machine import machine_info  # bench/_machine.py: scripts run from bench/

import iadsim
from iadsim.coverage import CoverageGrid, compute_coverage
from iadsim.oob import order_of_battle
from iadsim.report import render_run_report
from iadsim.runs import run_scenario
from iadsim.world import compile_world


def measure(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    fn()  # warm-up: imports, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": repeat}


LAYERS = [30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0]


def smooth_coverage(scenario: iadsim.Scenario) -> object:
    grid = CoverageGrid.over(14, 40, 45, 62, resolution_km=2.0)
    return compute_coverage(iadsim.compile_world(scenario), grid, LAYERS, {"fighter": 3.0})


def terrain_coverage(scenario: iadsim.Scenario) -> object:
    from iadsim.geo.terrain import default_terrain

    grid = CoverageGrid.over(14, 40, 45, 62, resolution_km=2.0)
    ground = default_terrain().resample(grid.crs, grid.transform, grid.shape)
    return compute_coverage(iadsim.compile_world(scenario), grid, LAYERS, {"fighter": 3.0},
                            ground_m=ground, terrain="ETOPO5")


def cold_cli_coverage(out: Path) -> None:
    """The whole command in a fresh process: imports, loading, compute and all outputs but maps."""
    subprocess.run([sys.executable, "-m", "iadsim", "coverage", "--dem", "none", "--resolution-km",
                    "2", "--no-maps", "--out", str(out)], check=True, capture_output=True)


def main() -> int:
    scenario = iadsim.load_scenario("reference-2020")
    years = [dt.date(y, 12, 31) for y in range(1996, 2022)]
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "load + validate reference-2020 (9 files, 54 units)": (
                lambda: iadsim.load_scenario("reference-2020"), 20),
            "order of battle at one date": (lambda: order_of_battle(scenario), 200),
            "order of battle for 26 year-ends (1996-2021)": (
                lambda: [order_of_battle(scenario, d) for d in years], 20),
            "compile_world at 2020-12-31": (lambda: compile_world(scenario), 50),
            "iadsim run: full report (incl. 3 coverage layers at 10 km)": (
                lambda: render_run_report(run_scenario(scenario, Path(tmp))), 3),
            "coverage, smooth earth: 2020, 2 km grid 14-40E 45-62N, 6 layers, 1 RCS "
            "(grid + compile + compute)": (lambda: smooth_coverage(scenario), 3),
            "coverage, ETOPO5 terrain: same grid and layers (incl. DEM resampling)": (
                lambda: terrain_coverage(scenario), 3),
            "`iadsim coverage --dem none --resolution-km 2 --no-maps`, cold process, "
            "6 layers, with GeoTIFF/GeoJSON/KML/CSV outputs": (
                lambda: cold_cli_coverage(Path(tmp) / "cli"), 3),
        }
        results = {name: measure(fn, n) for name, (fn, n) in cases.items()}
    machine = machine_info()
    width = max(len(k) for k in results)
    print(f"{'benchmark':<{width}}  {'median':>10}  {'min':>10}  runs")
    for name, r in results.items():
        median_ms, min_ms = r["median_s"] * 1000, r["min_s"] * 1000
        print(f"{name:<{width}}  {median_ms:>8.1f}ms  {min_ms:>8.1f}ms  {r['runs']}")
    print("machine:", json.dumps(machine))
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
