"""Benchmark of the viewshed kernel against GDAL's `gdal_viewshed`, side by side in one run.

A synthetic 6000 x 6000 DEM at 90 m posting (seeded fractal terrain, 0-600 m) is written as a
GeoTIFF in EPSG:3035 with GDAL's own tools (raw file + VRT, then `gdal_translate`); no Python GDAL
binding is needed. Observer at the centre, 30 m above ground, range 250 km. For each case both
tools run three times and the best wall-clock time counts: `gdal_viewshed` as a subprocess
(reading the GeoTIFF and writing its output GeoTIFF included), `iadsim.geo.viewshed.visible` on the
DEM in memory (numba compile excluded: it is warmed up on a small DEM first and the compile time is
reported on its own). The visibility masks are then compared cell by cell over every cell within
range, and the disagreements are located (distance from the observer, near its row/column axes or
diagonals, and how close our minimum visible height is to the target height there).

Run: `python bench/bench_viewshed.py` (needs `gdal_viewshed`: `apt-get install -y gdal-bin`).
Prints a table and writes out/bench/viewshed.json.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.geo.viewshed import min_visible_height, visible

N_ROWS = N_COLS = 6000
CELL_M = 90.0
SEED = 20_261_123
RELIEF_M = 600.0
OBS_ROW, OBS_COL = N_ROWS // 2, N_COLS // 2
OBS_HEIGHT_M = 30.0
MAX_DIST_M = 250_000.0
GRS80_A_M = 6_378_137.0  # semi-major axis of EPSG:3035's ellipsoid: GDAL's earth radius for this DEM
X0, Y0 = 4_000_000.0, 3_800_000.0  # upper-left corner in EPSG:3035 (metres), any projected place will do
REPEAT = 3
# (output mode, target height m, curvature coefficient -cc). cc = 0.75 = 1/k is the 4/3 earth of radar
# propagation; cc = 0.25 (an effective radius of 4 R) is kept as a second check of agreement. NORMAL is
# GDAL's visibility mask (ours: `visible`); GROUND is the minimum visible height above ground
# (ours: `min_visible_height`), compared in metres. tz = 500 m shows agreement where much is visible.
CASES = [("NORMAL", 0.0, 0.75), ("NORMAL", 10.0, 0.75), ("NORMAL", 500.0, 0.75), ("NORMAL", 0.0, 0.25),
         ("GROUND", 0.0, 0.75)]
OUT_OF_RANGE = 1  # -ov value, distinct from GDAL's invisible 0 and visible 255


def fractal_dem(n_rows: int, n_cols: int, seed: int, cell_m: float, relief_m: float = RELIEF_M,
                beta: float = 3.5, corner_km: float = 30.0) -> np.ndarray:
    """Seeded fractal terrain by spectral synthesis: power ~ (f^2 + f0^2)^(-beta/2), scaled to 0..relief_m.

    Args:
        n_rows, n_cols: grid shape; cell_m: posting in metres; seed: random seed.
        beta: spectral exponent (3.5 ~ Hurst 0.75, typical of real terrain); corner_km: wavelength above
            which the spectrum flattens (largest hills).

    Returns:
        ``(n_rows, n_cols)`` float32 heights in metres.
    """
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(n_rows, d=cell_m)[:, None]
    fx = np.fft.rfftfreq(n_cols, d=cell_m)[None, :]
    f0 = 1.0 / (corner_km * 1000.0)
    amp = (fy * fy + fx * fx + f0 * f0) ** (-beta / 4.0)
    amp[0, 0] = 0.0
    spec = (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) * amp
    del amp
    z = np.fft.irfft2(spec, s=(n_rows, n_cols))
    z -= z.min()
    z *= relief_m / z.max()
    return z.astype(np.float32)


def write_geotiff(dem: np.ndarray, path: Path) -> None:
    """Write a float32 DEM as an EPSG:3035 GeoTIFF via a raw file and a VRT (GDAL tools only)."""
    raw = path.with_suffix(".raw")
    dem.astype("<f4").tofile(raw)
    rows, cols = dem.shape
    vrt = path.with_suffix(".vrt")
    vrt.write_text(f"""<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">
  <SRS>EPSG:3035</SRS>
  <GeoTransform>{X0!r}, {CELL_M!r}, 0.0, {Y0!r}, 0.0, {-CELL_M!r}</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="1">{raw.name}</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>4</PixelOffset><LineOffset>{4 * cols}</LineOffset>
    <ByteOrder>LSB</ByteOrder>
  </VRTRasterBand>
</VRTDataset>
""")
    subprocess.run(["gdal_translate", "-q", "-of", "GTiff", str(vrt), str(path)], check=True)
    raw.unlink()
    vrt.unlink()


def read_raster(path: Path, dtype: type) -> tuple[np.ndarray, list[float]]:
    """Read a single-band raster with GDAL's tools (ENVI raw copy): (array, geotransform)."""
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(path)], check=True, capture_output=True,
                                     text=True).stdout)
    cols, rows = info["size"]
    raw = path.with_suffix(".bin")
    subprocess.run(["gdal_translate", "-q", "-of", "ENVI", str(path), str(raw)], check=True)
    arr = np.fromfile(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(rows, cols)
    return arr, [float(v) for v in info["geoTransform"]]


def on_full_grid(arr: np.ndarray, gt: list[float], fill: float) -> np.ndarray:
    """Place GDAL's output (clipped to the bounding box of the range) back on the DEM's grid."""
    col0 = round((gt[0] - X0) / CELL_M)
    row0 = round((Y0 - gt[3]) / CELL_M)
    full = np.full((N_ROWS, N_COLS), fill, dtype=arr.dtype)
    full[row0:row0 + arr.shape[0], col0:col0 + arr.shape[1]] = arr
    return full


def gdal_version() -> str:
    # gdal_viewshed --version prints the version but exits 1 on GDAL 3.6; gdalinfo agrees with it
    done = subprocess.run(["gdalinfo", "--version"], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def compile_times() -> tuple[float, float]:
    """First-call time of the kernel in a fresh process: with an empty numba cache (the compile), then
    with the cache that run filled (what a user sees after the first run)."""
    code = ("import time, numpy as np\n"
            "from iadsim.geo.viewshed import visible, min_visible_height\n"
            "t0 = time.perf_counter()\n"
            "visible(np.zeros((64, 64), np.float32), 90.0, 32, 32, 30.0, 0.0, 1e6)\n"
            "min_visible_height(np.zeros((64, 64), np.float32), 90.0, 32, 32, 30.0, 1e6)\n"
            "print(time.perf_counter() - t0)\n")
    with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                     text=True).stdout) for _ in range(2)]
    return runs[0], runs[1]


def gdal_cpu_per_wall(cmd: list[str], out: Path) -> float:
    """CPU seconds per wall-clock second of one gdal_viewshed run: about the number of busy threads."""
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / wall


def best_of(fn: Any, repeat: int) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def machine() -> dict[str, Any]:
    return machine_info(numba=numba.__version__, numba_threads=numba.get_num_threads())


def where_they_differ(diff: np.ndarray, in_range: np.ndarray, hmin: np.ndarray,
                      target_m: float) -> dict[str, Any]:
    """Locate the disagreeing cells: distance bands, near the observer's axes/diagonals, margin in metres."""
    rows, cols = np.nonzero(diff)
    dy, dx = rows - OBS_ROW, cols - OBS_COL
    dist_km = np.hypot(dx, dy) * CELL_M / 1000.0
    near_axis = (np.abs(dx) <= 2) | (np.abs(dy) <= 2)
    near_diag = np.abs(np.abs(dx) - np.abs(dy)) <= 2
    margin = np.abs(hmin[rows, cols].astype(np.float64) - target_m)
    rr, cc = np.nonzero(in_range)
    all_km = np.hypot(cc - OBS_COL, rr - OBS_ROW) * CELL_M / 1000.0
    bands = {}
    for lo in range(0, 250, 50):
        sel = (dist_km >= lo) & (dist_km < lo + 50)
        n_band = int(((all_km >= lo) & (all_km < lo + 50)).sum())
        bands[f"{lo}-{lo + 50} km"] = {"cells": int(sel.sum()),
                                       "pct_of_band": 100.0 * sel.sum() / max(n_band, 1)}
    return {
        "cells": int(diff.sum()),
        "near_axes_pct": 100.0 * near_axis.mean() if len(rows) else 0.0,
        "near_diagonals_pct": 100.0 * near_diag.mean() if len(rows) else 0.0,
        "within_2_cells_of_observer": int((np.maximum(np.abs(dx), np.abs(dy)) <= 2).sum()),
        "by_distance": bands,
        "margin_m_median": float(np.median(margin)) if len(rows) else 0.0,
        "margin_m_p90": float(np.percentile(margin, 90)) if len(rows) else 0.0,
    }


def run_case(tif: Path, mode: str, target_m: float, cc_coeff: float, dem: np.ndarray, in_range: np.ndarray,
             threads: int) -> dict[str, Any]:
    """Time gdal_viewshed and our kernel on one case and compare their outputs cell by cell."""
    out = tif.with_name("viewshed.tif")
    ox = X0 + (OBS_COL + 0.5) * CELL_M
    oy = Y0 - (OBS_ROW + 0.5) * CELL_M
    cmd = ["gdal_viewshed", "-q", "-om", mode, "-ox", repr(ox), "-oy", repr(oy), "-oz", repr(OBS_HEIGHT_M),
           "-tz", repr(target_m), "-md", repr(MAX_DIST_M), "-cc", repr(cc_coeff), "-ov", str(OUT_OF_RANGE),
           str(tif), str(out)]

    def run_gdal() -> None:
        out.unlink(missing_ok=True)
        subprocess.run(cmd, check=True)

    def run_ours() -> np.ndarray:
        if mode == "GROUND":
            return min_visible_height(dem, CELL_M, OBS_ROW, OBS_COL, OBS_HEIGHT_M, MAX_DIST_M,
                                      curvature_coeff=cc_coeff, earth_radius_m=GRS80_A_M)
        return visible(dem, CELL_M, OBS_ROW, OBS_COL, OBS_HEIGHT_M, target_m, MAX_DIST_M,
                       curvature_coeff=cc_coeff, earth_radius_m=GRS80_A_M)

    gdal_s, _ = best_of(run_gdal, REPEAT)
    gdal_threads = gdal_cpu_per_wall(cmd, out)
    ours_s, ours = best_of(run_ours, REPEAT)
    numba.set_num_threads(1)
    ours_1t_s, _ = best_of(run_ours, REPEAT)
    numba.set_num_threads(threads)
    hmin = min_visible_height(dem, CELL_M, OBS_ROW, OBS_COL, OBS_HEIGHT_M, MAX_DIST_M,
                              curvature_coeff=cc_coeff, earth_radius_m=GRS80_A_M)
    n_in_range = int(in_range.sum())
    case: dict[str, Any] = {"mode": mode, "target_height_m": target_m, "curvature_coeff": cc_coeff,
                            "gdal_s": gdal_s, "ours_s": ours_s, "ours_1thread_s": ours_1t_s,
                            "ratio": ours_s / gdal_s, "ratio_1thread": ours_1t_s / gdal_s,
                            "gdal_cpu_per_wall": gdal_threads,
                            "cells_in_range": n_in_range}
    if mode == "GROUND":
        g_arr, gt = read_raster(out, np.float64)
        gdal_h = on_full_grid(g_arr, gt, np.nan)
        err = np.abs(ours[in_range].astype(np.float64) - gdal_h[in_range])
        within = err <= 0.01
        case |= {"max_abs_diff_m": float(err.max()), "p99_abs_diff_m": float(np.percentile(err, 99)),
                 "agreement_pct": 100.0 * within.mean(), "agreement_def": "|height difference| <= 1 cm",
                 "visible_pct_gdal": 100.0 * (gdal_h[in_range] == 0).mean(),
                 "visible_pct_ours": 100.0 * (ours[in_range] == 0).mean(),
                 "outside_range_all_nan": bool(np.isnan(ours[~in_range]).all())}
        diff = np.zeros(in_range.shape, bool)
        diff[in_range] = ~within
        d = where_they_differ(diff, in_range, hmin, target_m)
        bad = err[~within]
        d["margin_m_median"] = float(np.median(bad)) if bad.size else 0.0
        d["margin_m_p90"] = float(np.percentile(bad, 90)) if bad.size else 0.0
        d["margin_is"] = "|our height - GDAL's height|"
        case["disagreements"] = d
    else:
        g_arr, gt = read_raster(out, np.uint8)
        g_full = on_full_grid(g_arr, gt, OUT_OF_RANGE)
        gdal_vis = g_full == 255
        diff = (ours != gdal_vis) & in_range
        case |= {"range_masks_equal": bool(np.array_equal(g_full != OUT_OF_RANGE, in_range)),
                 "visible_pct_gdal": 100.0 * gdal_vis[in_range].mean(),
                 "visible_pct_ours": 100.0 * ours[in_range].mean(),
                 "agreement_pct": 100.0 * (1.0 - diff.sum() / n_in_range),
                 "agreement_def": "same visible/invisible value",
                 "hmin_reproduces_mask": bool(np.array_equal((hmin <= target_m) & in_range, ours)),
                 "disagreements": where_they_differ(diff, in_range, hmin, target_m)}
        case["disagreements"]["margin_is"] = "|our min visible height - tz|"
    return case


def main() -> int:
    if shutil.which("gdal_viewshed") is None:
        print("gdal_viewshed not found: install it with `apt-get install -y gdal-bin`", file=sys.stderr)
        return 1
    info = machine()
    info["gdal"] = gdal_version()
    print(f"machine: {info['cpu']}, {info['nproc']} cpus; {info['gdal']} (its viewshed is single-threaded); "
          f"numba {info['numba']} ({info['numba_threads']} threads)", flush=True)

    # The numba compile, timed on its own in fresh processes; then warm up this process.
    compile_s, cache_load_s = compile_times()
    visible(np.zeros((64, 64), np.float32), CELL_M, 32, 32, OBS_HEIGHT_M, 0.0, 1e6)
    min_visible_height(np.zeros((64, 64), np.float32), CELL_M, 32, 32, OBS_HEIGHT_M, 1e6)

    t0 = time.perf_counter()
    dem = fractal_dem(N_ROWS, N_COLS, SEED, CELL_M)
    gen_s = time.perf_counter() - t0
    rr, cc = np.ogrid[:N_ROWS, :N_COLS]
    in_range = ((cc - OBS_COL) * CELL_M) ** 2 + ((rr - OBS_ROW) * CELL_M) ** 2 <= MAX_DIST_M**2
    n_in_range = int(in_range.sum())
    results: dict[str, Any] = {"machine": info, "compile_s": compile_s, "cache_load_s": cache_load_s,
                               "dem_generation_s": gen_s,
                               "grid": [N_ROWS, N_COLS], "cell_m": CELL_M, "seed": SEED,
                               "observer_height_m": OBS_HEIGHT_M, "max_distance_m": MAX_DIST_M,
                               "cells_in_range": n_in_range, "repeat": REPEAT, "cases": []}
    with tempfile.TemporaryDirectory(prefix="bench_viewshed_") as tmp:
        tif = Path(tmp) / "dem.tif"
        write_geotiff(dem, tif)
        for mode, target_m, cc_coeff in CASES:
            case = run_case(tif, mode, target_m, cc_coeff, dem, in_range, info["numba_threads"])
            results["cases"].append(case)
            print(f"  {mode} tz={target_m:g} m cc={cc_coeff:g}: gdal {case['gdal_s']:.3f} s, "
                  f"ours {case['ours_s']:.3f} s, agreement {case['agreement_pct']:.4f} %", flush=True)

    print()
    print(f"DEM {N_ROWS} x {N_COLS} at {CELL_M:g} m (seed {SEED}), observer at the centre "
          f"{OBS_HEIGHT_M:g} m above ground, range {MAX_DIST_M / 1000:g} km ({n_in_range:,} cells); "
          f"best of {REPEAT} wall-clock runs")
    print(f"numba compile {compile_s:.2f} s, or {cache_load_s:.2f} s loading numba's cache (both excluded); "
          f"DEM generation {gen_s:.2f} s (excluded); gdal_viewshed CPU/wall "
          + ", ".join(f"{c['gdal_cpu_per_wall']:.2f}" for c in results["cases"]))
    print(f"{'mode':<7} {'tz m':>5} {'cc':>5} {'gdal_viewshed':>14} {'iadsim 2 thr':>13} "
          f"{'iadsim 1 thr':>13} {'ratio':>6} {'visible':>8} {'agreement':>10} {'differ':>7}")
    for c in results["cases"]:
        print(f"{c['mode']:<7} {c['target_height_m']:>5g} {c['curvature_coeff']:>5g} {c['gdal_s']:>12.3f} s "
              f"{c['ours_s']:>11.3f} s {c['ours_1thread_s']:>11.3f} s {c['ratio']:>6.3f} "
              f"{c['visible_pct_gdal']:>7.2f}% {c['agreement_pct']:>9.4f}% {c['disagreements']['cells']:>7d}")
    print("ratio = iadsim (2 threads) / gdal_viewshed; visible = % of in-range cells GDAL marks visible "
          "(GROUND: ground visible);\nagreement = same mask value (NORMAL) or |height difference| <= 1 cm "
          "(GROUND), over all cells in range")
    for c in results["cases"]:
        d = c["disagreements"]
        bands = ", ".join(f"{k}: {v['cells']}" for k, v in d["by_distance"].items())
        extra = (f"max |diff| {c['max_abs_diff_m']:.3g} m, p99 {c['p99_abs_diff_m']:.3g} m"
                 if c["mode"] == "GROUND" else
                 f"range masks equal: {c['range_masks_equal']}; min_visible_height <= tz gives the same "
                 f"mask: {c['hmin_reproduces_mask']}")
        print(f"{c['mode']} tz={c['target_height_m']:g} cc={c['curvature_coeff']:g}: {d['cells']} cells "
              f"differ ({d['within_2_cells_of_observer']} within 2 cells of the observer, "
              f"{d['near_axes_pct']:.0f} % within 2 cells of its row/column, {d['near_diagonals_pct']:.0f} % "
              f"of its diagonals); by distance {bands}; {d['margin_is']} there: median "
              f"{d['margin_m_median']:.3g} m, p90 {d['margin_m_p90']:.3g} m; {extra}")
    out_dir = Path("out/bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "viewshed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"machine: {json.dumps(info)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
