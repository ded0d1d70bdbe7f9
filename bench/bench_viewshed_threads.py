"""Viewshed threads: the sweep on numba's threads or on the calling thread, idle and on a busy machine.

Two parts, each run idle and with one core held by another process (a spinning Python loop, as a
browser tab or a second iadsim command would hold it):

- ``calls``: one viewshed, ``min_visible_height`` of a fractal DEM with the observer at its centre,
  for the windows iadsim sweeps: 81 × 81 (a site on a 10 km coverage grid), 401 × 401 (a site on the
  engine's 2 km terrain grid) and 6000 × 6000 (the GDAL comparison's DEM). Each with the parallel
  kernel (the quadrants on numba's threads, as before ``PARALLEL_MIN_CELLS``) and the serial one;
  the median of many calls in one process.
- ``paths``: commands users wait on, in fresh processes, this tree alternated with a previous one
  (``--previous REV``, ``git archive`` of its src, run on this environment's interpreter):
  ``iadsim sensitivity`` with its default designs in one process (``--jobs 1``), ``iadsim coverage``
  of reference-2020, and ``iadsim run`` of the default scenario (what ``make run`` runs: its coverage
  study in a worker process beside the replication).

Run: ``.venv/bin/python bench/bench_viewshed_threads.py [--repeats N] [--previous REV] [--only
calls,paths]`` (``make bench`` runs it); prints markdown tables and writes
out/bench/viewshed_threads.json.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.geo import viewshed

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = [(81, 10_000.0, 400e3, 2000), (401, 2_000.0, 400e3, 300), (6000, 90.0, 250e3, 5)]
"""(cells a side, cell size m, range m, calls): the windows iadsim sweeps and the GDAL comparison's DEM."""

BEFORE = "0cd47c2"
"""The last tree that swept every DEM's quadrants on numba's threads."""

PATHS = {
    "sensitivity": ["sensitivity", "--metric", "Lithuania, engageable, 10,000 m", "--jobs", "1"],
    "coverage": ["coverage", "reference-2020"],
    "run": ["run"],
}
"""The commands, each given ``--out`` in a fresh temporary folder."""


@contextlib.contextmanager
def busy_core(load: bool) -> Iterator[None]:
    """With ``load``, another process spinning on one core for the duration."""
    if not load:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # running before the timing starts
        yield
    finally:
        spinner.kill()
        spinner.wait()


def fractal_dem(n: int, seed: int = 20261207) -> np.ndarray:
    """A rough 0–600 m surface: white noise smoothed at a few scales (numpy only)."""
    rng = np.random.default_rng(seed)
    dem = np.zeros((n, n), np.float32)
    for scale in (64, 16, 4, 1):
        m = max(2, n // scale)
        coarse = rng.random((m, m)).astype(np.float32)
        idx = (np.arange(n) * (m - 1) // max(1, n - 1))
        dem += coarse[np.ix_(idx, idx)] * (600.0 / 4)
    return dem


def _time_calls(dem: np.ndarray, cell_m: float, range_m: float, calls: int, threshold: int) -> float:
    """Median seconds of one ``min_visible_height`` with ``PARALLEL_MIN_CELLS`` = threshold."""
    centre = dem.shape[0] // 2
    saved = viewshed.PARALLEL_MIN_CELLS
    viewshed.PARALLEL_MIN_CELLS = threshold
    try:
        viewshed.min_visible_height(dem, cell_m, centre, centre, 10.0, range_m)  # compile or load
        times = []
        for i in range(calls):
            t0 = time.perf_counter()
            viewshed.min_visible_height(dem, cell_m, centre, centre, 10.0 + 0.01 * i, range_m)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        viewshed.PARALLEL_MIN_CELLS = saved


def calls() -> list[dict[str, Any]]:
    rows = []
    for load in (False, True):
        for n, cell_m, range_m, count in WINDOWS:
            dem = fractal_dem(n)
            with busy_core(load):
                parallel = _time_calls(dem, cell_m, range_m, count, 0)
                serial = _time_calls(dem, cell_m, range_m, count, dem.size + 1)
            rows.append({"window": f"{n} × {n}", "busy_core": load, "parallel_s": parallel,
                         "serial_s": serial, "calls": count})
    return rows


def _previous_tree(rev: str) -> Path:
    """``git archive`` of ``rev``'s src in out/bench/viewshed-previous (remade each run), with its
    numba functions compiled once before anything is timed."""
    tree = ROOT / "out" / "bench" / "viewshed-previous"
    if tree.exists():
        shutil.rmtree(tree)  # out/bench is the benchmarks' own output folder
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "src"], check=True, cwd=ROOT,
                             stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    _command(PATHS["coverage"], tree)
    return tree


def _command(args: list[str], tree: Path | None) -> float:
    """Seconds of ``python -m iadsim ARGS --out <tmp>`` in a fresh process (this tree, or ``tree``)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "iadsim", *args, "--out", str(Path(tmp) / "out")],
                       check=True, cwd=tmp, env=env, capture_output=True)
        return time.perf_counter() - t0


def paths(repeats: int, previous: Path, only: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in only:
        _command(PATHS[name], None)  # numba's cache and the OS's file cache warm for both
        _command(PATHS[name], previous)
        for load in (False, True):
            with busy_core(load):
                this, before = [], []
                for _ in range(repeats):
                    this.append(_command(PATHS[name], None))
                    before.append(_command(PATHS[name], previous))
            rows.append({"command": name, "busy_core": load, "this_s": this, "previous_s": before})
    return rows


def _print_calls(rows: list[dict[str, Any]]) -> None:
    print("| window | other core | parallel kernel | serial kernel | parallel / serial |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['window']} | {'busy' if r['busy_core'] else 'idle'} | {r['parallel_s'] * 1e3:.3f} ms "
              f"| {r['serial_s'] * 1e3:.3f} ms | {r['parallel_s'] / r['serial_s']:.2f}× |")


def _print_paths(rows: list[dict[str, Any]]) -> None:
    print("| command | other core | this tree, median (range) | previous, median (range) | previous / this |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        a, b = statistics.median(r["this_s"]), statistics.median(r["previous_s"])
        print(f"| {r['command']} | {'busy' if r['busy_core'] else 'idle'} | {a:.1f} s "
              f"({min(r['this_s']):.1f}–{max(r['this_s']):.1f}) | {b:.1f} s "
              f"({min(r['previous_s']):.1f}–{max(r['previous_s']):.1f}) | {b / a:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="samples of each command and tree")
    parser.add_argument("--previous", default=BEFORE, metavar="REV",
                        help=f"the tree to compare with (default {BEFORE}: every sweep on threads)")
    parser.add_argument("--only", default="calls,paths", help="calls, paths, or both")
    parser.add_argument("--commands", default=",".join(PATHS), help="the paths' commands")
    args = parser.parse_args()
    parts = args.only.split(",")
    result: dict[str, Any] = {"machine": machine_info(), "command": " ".join(sys.argv)}
    if "calls" in parts:
        result["calls"] = calls()
        _print_calls(result["calls"])
    if "paths" in parts:
        tree = _previous_tree(args.previous)
        result["previous"] = args.previous
        result["paths"] = paths(args.repeats, tree, args.commands.split(","))
        print()
        _print_paths(result["paths"])
    out = ROOT / "out" / "bench" / "viewshed_threads.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
