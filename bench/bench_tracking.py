"""Benchmark of the batched tracker against Stone Soup, side by side on identical detections.

The case of the tracking issue's Performance section: one 2D radar (range, azimuth) at the centre
of a 400 × 400 km square (53.9 N 27.5 E, antenna at 0 m on the ellipsoid), Pd 0.9, σ range 100 m,
σ azimuth 0.2°, Poisson false alarms with mean 20 per scan uniform over the square, 60 scans 5 s
apart, N = 10, 200 and 1 000 targets flying straight at 150–300 m/s with uniform random headings.

Geometry, chosen so that neither tracker carries a model error the other does not: targets move on
straight lines at constant velocity in the radar's local east-north-up tangent plane, at up = 0.
Their slant range then equals the horizontal range in that plane, so Stone Soup's flat 2D
constant-velocity model with ``CartesianToBearingRange`` and iadsim's 3D ENU model (origin at the
radar) are both exact. (Above the ellipsoid the targets are at 0 m at the radar and up to 6 km at
the square's corners; truth is written as lat/lon/height from the exact ENU → ECEF → geodetic
conversion.) Start points, headings and speeds are drawn uniformly; a draw whose path leaves the
square within the 295 s is drawn again, so every target stays inside and is present in all 60 scans
(no births or deaths after the start; the start-up of both trackers is in the means).

Both trackers read the same DETECTIONS table (docs/tracking-io.md): iadsim through
``track_detections``; Stone Soup through a detector that yields (time, set of ``Detection``) per
scan, built from the table's rows with bearing = 90° − azimuth (counter-clockwise from east).
Stone Soup's confirmed tracks (those its ``MultiTargetTracker`` holds) are converted to a TRACKS-like
table (ENU east/north at up = 0 → lat/lon, ``alt_m`` null, ``confirmed`` true), and both are scored
by the same ``iadsim.tracking.ospa`` (c = 1 000 m, p = 1) against the same truth at the same scan
times; ``alt_m`` is null for both (2D tracks), so the distance is horizontal for both.

Timing (wall clock): iadsim's whole ``track_detections`` call (input validation, the scans, the TRACKS
table) best of ``--repeat`` runs; Stone Soup's tracker loop only, one run, per scan (building its
Detection objects from the table and reading its tracks out are not timed). Stone Soup gets a time
budget (``--stonesoup-budget-s``, over all sizes, smaller sizes first): before each scan it stops
when the time spent plus its last scan's time would exceed the budget (after at least
``--stonesoup-min-scans`` scans). When it stops after K < 60 scans, iadsim is run and scored on the
same first K scans (its own input truncated to them) for the comparison, and on all 60 as well.

Run: `python bench/bench_tracking.py` (needs `pip install stonesoup`). Prints the tables and writes
out/bench/tracking.json; then the seed study (``--seeds K``, 200 targets on K seeds, start-up and
after, Stone Soup cached per seed under out/bench/stonesoup-cache) to out/bench/tracking-seeds.json;
``--seed-study-only`` runs that alone. `--iadsim-only` runs iadsim alone (seconds, not minutes) on
the same data and compares it with the Stone Soup OSPA of the last full run's out/bench/tracking.json, writing
nothing: for iterating on the tracker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy
from _machine import machine_info  # bench/_machine.py: scripts run from bench/
from scipy.stats import chi2

from iadsim.geo.frames import ecef_to_enu, enu_to_ecef
from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.tracking import TrackerConfig, ospa, siap, track_detections
from iadsim.tracking import tracker as iadsim_tracker

try:
    import stonesoup
    from stonesoup.base import Property
    from stonesoup.buffered_generator import BufferedGenerator
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToBearingRange
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.reader import DetectionReader
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.angle import Bearing
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater
except ImportError as exc:  # pragma: no cover - a message, not a code path
    sys.exit(f"bench_tracking needs Stone Soup: pip install stonesoup ({exc})")

RADAR_LAT_DEG, RADAR_LON_DEG, RADAR_ALT_M = 53.9, 27.5, 0.0
HALF_WIDTH_M = 200_000.0  # the 400 × 400 km square, centred on the radar
SCANS = 60
PERIOD_S = 5.0
PD = 0.9
SIGMA_RANGE_M = 100.0
SIGMA_AZIMUTH_DEG = 0.2
FALSE_ALARMS_PER_SCAN = 20.0  # Poisson mean, uniform over the square
SPEED_MPS = (150.0, 300.0)
SIZES = (10, 200, 1000)
SEED = 20_261_124
OSPA_CUTOFF_M = 1000.0
OSPA_ORDER = 1.0
STEADY_FROM_SCAN = 5  # "after start-up": scans 5.. (0-based), i.e. from t = 25 s
GOAL_SPEEDUP = 100.0
GOAL_OSPA_MARGIN = 0.05
EPOCH = dt.datetime(2026, 1, 1)

# iadsim: its TrackerConfig defaults except the altitude at which a 2D report is placed, which is set
# to 0 m (the radar's horizontal plane): the assumption Stone Soup's flat 2D model makes, and the
# truth here (up = 0). ``--iadsim-default`` runs TrackerConfig() unchanged as well (placing 2D
# reports at 5 000 m, wrong for this geometry by up to 5 km near the radar).
IADSIM_CONFIG = TrackerConfig(prior_altitude_m=0.0)
IADSIM_DEFAULT = TrackerConfig()
# Stone Soup, matched to iadsim's: the same white-acceleration q per horizontal axis and the same
# chi-square gate probability (2 dof; Stone Soup's Mahalanobis measure is d, so its missed distance is
# √γ), the same number of detections to confirm a track (counting the initiating ones), as many
# consecutive misses tolerated while tentative as iadsim's M-of-N tolerates misses, the same deletion
# after K consecutive misses. Its single-point prior velocity is 0 ± 300 m/s per axis (the fastest
# target's speed).
INITIATION_HITS = int(getattr(iadsim_tracker, "INITIATION_HITS", 0))  # 0: confirm_hits counts the first
SS_PROCESS_NOISE = IADSIM_CONFIG.process_noise_horizontal
SS_GATE_PROBABILITY = IADSIM_CONFIG.gate_probability
SS_CONFIRM_POINTS = INITIATION_HITS + IADSIM_CONFIG.confirm_hits
SS_TENTATIVE_MISSES = IADSIM_CONFIG.confirm_window - IADSIM_CONFIG.confirm_hits
SS_DELETE_MISSES = IADSIM_CONFIG.delete_misses
SS_INITIAL_SPEED_STD_MPS = 300.0


# -- the scenario ---------------------------------------------------------------------------------------

def _geodetic(east: np.ndarray, north: np.ndarray, radar: tuple[float, float, float] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of the radar's ENU plane (up = 0) as lat, lon, height; ``radar`` (lat, lon, alt) defaults
    to this benchmark's radar."""
    enu = np.column_stack([east, north, np.zeros(len(east))])
    lat0, lon0, alt0 = radar or (RADAR_LAT_DEG, RADAR_LON_DEG, RADAR_ALT_M)
    lat, lon, alt = ecef_to_geodetic(enu_to_ecef(enu, lat0, lon0, alt0))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


def scenario(n_targets: int, seed: int, scans: int = SCANS) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """The DETECTIONS table, the truth table and the scan times for ``n_targets`` straight flyers.

    Every random draw comes from one seeded Generator, so the same (n_targets, seed) gives the same
    tables. Rows within a scan are shuffled (targets and false alarms mixed).
    """
    rng = np.random.default_rng(seed)
    times = PERIOD_S * np.arange(scans)
    duration = float(times[-1])
    starts, velocities = np.zeros((0, 2)), np.zeros((0, 2))
    while len(starts) < n_targets:
        k = 2 * (n_targets - len(starts)) + 8
        p0 = rng.uniform(-HALF_WIDTH_M, HALF_WIDTH_M, (k, 2))
        speed = rng.uniform(*SPEED_MPS, k)
        heading = rng.uniform(0.0, 2.0 * np.pi, k)  # clockwise from north
        v = np.column_stack([speed * np.sin(heading), speed * np.cos(heading)])
        inside = np.all(np.abs(p0 + duration * v) <= HALF_WIDTH_M, axis=1)  # the square is convex
        starts = np.vstack([starts, p0[inside]])[:n_targets]
        velocities = np.vstack([velocities, v[inside]])[:n_targets]

    det: dict[str, list[np.ndarray]] = {"time_s": [], "range_m": [], "azimuth_deg": [], "object_id": []}
    truth: dict[str, list[np.ndarray]] = {c: [] for c in ("time_s", "object_id", "lat_deg", "lon_deg",
                                                          "alt_m")}
    names = np.array([f"t{i:04d}" for i in range(n_targets)], dtype=object)
    for t in times:
        pos = starts + t * velocities
        lat, lon, alt = _geodetic(pos[:, 0], pos[:, 1])
        truth["time_s"].append(np.full(n_targets, t))
        truth["object_id"].append(names)
        truth["lat_deg"].append(lat)
        truth["lon_deg"].append(lon)
        truth["alt_m"].append(alt)

        seen = rng.random(n_targets) < PD
        e, n = pos[seen, 0], pos[seen, 1]
        r = np.hypot(e, n) + SIGMA_RANGE_M * rng.standard_normal(len(e))
        az = np.degrees(np.arctan2(e, n)) + SIGMA_AZIMUTH_DEG * rng.standard_normal(len(e))
        n_fa = int(rng.poisson(FALSE_ALARMS_PER_SCAN))
        fa = rng.uniform(-HALF_WIDTH_M, HALF_WIDTH_M, (n_fa, 2))
        r = np.concatenate([r, np.hypot(fa[:, 0], fa[:, 1])])
        az = np.concatenate([az, np.degrees(np.arctan2(fa[:, 0], fa[:, 1]))]) % 360.0
        ids = np.concatenate([names[seen], np.full(n_fa, None, dtype=object)])
        order = rng.permutation(len(r))
        det["time_s"].append(np.full(len(r), t))
        det["range_m"].append(r[order])
        det["azimuth_deg"].append(az[order])
        det["object_id"].append(ids[order])

    time_s = np.concatenate(det["time_s"])
    m = len(time_s)
    detections = pa.table({
        "time_s": pa.array(time_s, pa.float64()),
        "sensor_id": pa.array(["radar"] * m, pa.string()),
        "sensor_lat_deg": pa.array(np.full(m, RADAR_LAT_DEG), pa.float64()),
        "sensor_lon_deg": pa.array(np.full(m, RADAR_LON_DEG), pa.float64()),
        "sensor_alt_m": pa.array(np.full(m, RADAR_ALT_M), pa.float64()),
        "range_m": pa.array(np.concatenate(det["range_m"]), pa.float64()),
        "azimuth_deg": pa.array(np.concatenate(det["azimuth_deg"]), pa.float64()),
        "elevation_deg": pa.nulls(m, pa.float64()),
        "sigma_range_m": pa.array(np.full(m, SIGMA_RANGE_M), pa.float64()),
        "sigma_azimuth_deg": pa.array(np.full(m, SIGMA_AZIMUTH_DEG), pa.float64()),
        "sigma_elevation_deg": pa.nulls(m, pa.float64()),
        "object_id": pa.array(list(np.concatenate(det["object_id"])), pa.string()),  # ignored by trackers
    })
    truth_table = pa.table({
        "time_s": pa.array(np.concatenate(truth["time_s"]), pa.float64()),
        "object_id": pa.array(list(np.concatenate(truth["object_id"])), pa.string()),
        "lat_deg": pa.array(np.concatenate(truth["lat_deg"]), pa.float64()),
        "lon_deg": pa.array(np.concatenate(truth["lon_deg"]), pa.float64()),
        "alt_m": pa.array(np.concatenate(truth["alt_m"]), pa.float64()),
    })
    return detections, truth_table, times


def first_scans(detections: pa.Table, times: np.ndarray, k: int) -> pa.Table:
    """The rows of the first ``k`` scans."""
    t = detections.column("time_s").to_numpy()
    return detections.filter(pa.array(t <= times[k - 1]))


# -- Stone Soup -----------------------------------------------------------------------------------------

class TableDetector(DetectionReader):  # type: ignore[misc]
    """Yields (time, set of Detection) per scan, prepared from a DETECTIONS table."""

    scans: list = Property(doc="[(datetime, set of Detection)] in time order")  # type: ignore[type-arg]

    @BufferedGenerator.generator_method
    def detections_gen(self):  # type: ignore[no-untyped-def]
        yield from self.scans


def stonesoup_components(sigma_range_m: float = SIGMA_RANGE_M, sigma_azimuth_deg: float = SIGMA_AZIMUTH_DEG
                         ) -> tuple[Any, Any, Any, Any, Any]:
    """(measurement model, updater, data associator, main deleter, initiator) of the standard pipeline,
    for a radar of these measurement standard deviations (default: this benchmark's)."""
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(SS_PROCESS_NOISE),
                                                        ConstantVelocity(SS_PROCESS_NOISE)])
    # state [x, vx, y, vy] (east, north); measurement [bearing (CCW from east), range]
    measurement = CartesianToBearingRange(
        ndim_state=4, mapping=(0, 2),
        noise_covar=np.diag([np.radians(sigma_azimuth_deg) ** 2, sigma_range_m**2]))
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                        missed_distance=float(np.sqrt(chi2.ppf(SS_GATE_PROBABILITY, 2))))
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeStepsDeleter(time_steps_since_update=SS_DELETE_MISSES)
    prior = GaussianState(StateVector([0.0, 0.0, 0.0, 0.0]),
                          np.diag([0.0, SS_INITIAL_SPEED_STD_MPS**2, 0.0, SS_INITIAL_SPEED_STD_MPS**2]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior, measurement_model=measurement,
        deleter=UpdateTimeStepsDeleter(time_steps_since_update=SS_TENTATIVE_MISSES + 1),
        data_associator=associator, updater=updater, min_points=SS_CONFIRM_POINTS)
    return measurement, updater, associator, deleter, initiator


def stonesoup_scans(detections: pa.Table, measurement: Any) -> list[tuple[dt.datetime, set[Any]]]:
    """The table's rows as Stone Soup Detections, one (time, set) per scan, in time order."""
    t = detections.column("time_s").to_numpy()
    r = detections.column("range_m").to_numpy()
    bearing = np.pi / 2.0 - np.radians(detections.column("azimuth_deg").to_numpy())
    scans = []
    for time_s in np.unique(t):
        stamp = EPOCH + dt.timedelta(seconds=float(time_s))
        rows = np.flatnonzero(t == time_s)
        scans.append((stamp, {Detection(StateVector([Bearing(bearing[i]), r[i]]), timestamp=stamp,
                                        measurement_model=measurement) for i in rows}))
    return scans


def run_stonesoup(detections: pa.Table, budget_s: float, min_scans: int,
                  radar: tuple[float, float, float] | None = None) -> tuple[pa.Table, list[float]]:
    """Stone Soup's tracker on the table for as many scans as the budget allows.

    Returns:
        the TRACKS-like table of its confirmed tracks per scan, and the wall-clock time of each scan run.
    """
    sigma = (float(detections["sigma_range_m"][0].as_py()), float(detections["sigma_azimuth_deg"][0].as_py())
             ) if detections.num_rows else (SIGMA_RANGE_M, SIGMA_AZIMUTH_DEG)
    measurement, updater, associator, deleter, initiator = stonesoup_components(*sigma)
    scans = stonesoup_scans(detections, measurement)
    tracker = MultiTargetTracker(initiator=initiator, deleter=deleter, detector=TableDetector(scans),
                                 data_associator=associator, updater=updater)
    ids: dict[int, int] = {}
    rows: dict[str, list[float]] = {"time_s": [], "track_id": [], "e": [], "n": [], "ve": [], "vn": []}
    per_scan: list[float] = []
    steps = iter(tracker)
    for i in range(len(scans)):
        if i >= min_scans and per_scan and sum(per_scan) + per_scan[-1] > budget_s:
            break
        t0 = time.perf_counter()
        stamp, tracks = next(steps)
        per_scan.append(time.perf_counter() - t0)
        time_s = (stamp - EPOCH).total_seconds()
        for track in tracks:
            sv = np.asarray(track.state_vector, dtype=np.float64).ravel()
            rows["time_s"].append(time_s)
            rows["track_id"].append(ids.setdefault(id(track), len(ids) + 1))
            rows["e"].append(sv[0])
            rows["ve"].append(sv[1])
            rows["n"].append(sv[2])
            rows["vn"].append(sv[3])
    e, n = np.asarray(rows["e"]), np.asarray(rows["n"])
    lat, lon, _ = _geodetic(e, n, radar) if len(e) else (np.zeros(0), np.zeros(0), np.zeros(0))
    m = len(e)
    table = pa.table({
        "time_s": pa.array(rows["time_s"], pa.float64()),
        "track_id": pa.array(rows["track_id"], pa.int64()),
        "lat_deg": pa.array(lat, pa.float64()),
        "lon_deg": pa.array(lon, pa.float64()),
        "alt_m": pa.nulls(m, pa.float64()),
        "vel_east_mps": pa.array(rows["ve"], pa.float64()),  # in the radar's frame (not rotated)
        "vel_north_mps": pa.array(rows["vn"], pa.float64()),
        "confirmed": pa.array(np.ones(m, dtype=bool), pa.bool_()),
    })
    return table, per_scan


# -- scoring and timing ---------------------------------------------------------------------------------

RANGE_BANDS_KM = ((0, 50), (50, 150), (150, 300))


def _plane(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Horizontal east/north of lat/lon points in the radar's ENU frame (height 0), ``(M, 2)``."""
    return ecef_to_enu(geodetic_to_ecef(lat, lon, 0.0), RADAR_LAT_DEG, RADAR_LON_DEG)[:, :2]


def accuracy_by_range(tracks: pa.Table, truth: pa.Table, times: np.ndarray) -> dict[str, float]:
    """RMS horizontal error of confirmed tracks within OSPA_CUTOFF_M of their nearest truth, by the
    truth's range from the radar (a diagnostic of where the errors are)."""
    conf = tracks.filter(tracks.column("confirmed"))
    t = conf.column("time_s").to_numpy()
    xy = _plane(conf.column("lat_deg").to_numpy(), conf.column("lon_deg").to_numpy())
    gt = truth.column("time_s").to_numpy()
    gxy = _plane(truth.column("lat_deg").to_numpy(), truth.column("lon_deg").to_numpy())
    err, rng = [], []
    for time_s in times:
        r, g = np.flatnonzero(t == time_s), np.flatnonzero(gt == time_s)
        if not len(r) or not len(g):
            continue
        d = np.linalg.norm(xy[r][:, None, :] - gxy[g][None, :, :], axis=2)
        j = d.argmin(axis=1)
        err.append(d[np.arange(len(r)), j])
        rng.append(np.linalg.norm(gxy[g][j], axis=1))
    e = np.concatenate(err) if err else np.zeros(0)
    rg = np.concatenate(rng) / 1000.0 if rng else np.zeros(0)
    out = {}
    for lo, hi in RANGE_BANDS_KM:
        sel = (e <= OSPA_CUTOFF_M) & (rg >= lo) & (rg < hi)
        out[f"{lo}-{hi} km"] = float(np.sqrt(np.mean(e[sel] ** 2))) if sel.any() else float("nan")
    return out


def score(tracks: pa.Table, truth: pa.Table, times: np.ndarray) -> dict[str, Any]:
    """Mean OSPA over ``times`` (all, after start-up, and horizontal only), SIAP-style measures,
    confirmed-track counts, accuracy by range."""
    result = ospa(tracks, truth, cutoff_m=OSPA_CUTOFF_M, order=OSPA_ORDER, times_s=times)
    s = siap(tracks, truth, association_distance_m=OSPA_CUTOFF_M, times_s=times)
    steady = result.ospa_m[STEADY_FROM_SCAN:]
    conf = tracks.filter(tracks.column("confirmed"))
    with_alt = len(conf) - conf.column("alt_m").null_count
    horizontal = result.mean_m
    if with_alt:  # the same OSPA with every alt_m null: horizontal distance for all rows
        flat = tracks.set_column(tracks.schema.get_field_index("alt_m"), "alt_m",
                                 pa.nulls(len(tracks), pa.float64()))
        horizontal = ospa(flat, truth, cutoff_m=OSPA_CUTOFF_M, order=OSPA_ORDER, times_s=times).mean_m
    return {
        "ospa_mean_m": result.mean_m,
        "ospa_after_startup_m": float(steady.mean()) if len(steady) else float("nan"),
        "ospa_horizontal_m": horizontal,
        "ospa_per_scan_m": [round(float(v), 2) for v in result.ospa_m],
        "confirmed_per_scan": [int(v) for v in result.n_tracks],
        "confirmed_tracks_last_scan": int(result.n_tracks[-1]),
        "confirmed_rows": len(conf),
        "confirmed_rows_with_alt": int(with_alt),
        "completeness": s.completeness,
        "spuriousness": s.spuriousness,
        "ids_per_object": s.ids_per_object,
        "accuracy_m": s.accuracy_m,
        "accuracy_by_range_m": accuracy_by_range(tracks, truth, times),
    }


def best_of(fn: Callable[[], pa.Table], repeat: int) -> tuple[float, pa.Table]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def run_iadsim(detections: pa.Table, truth: pa.Table, times: np.ndarray, repeat: int,
               config: TrackerConfig = IADSIM_CONFIG) -> dict[str, Any]:
    seconds, tracks = best_of(lambda: track_detections(detections, config,
                                                       origin=(RADAR_LAT_DEG, RADAR_LON_DEG)), repeat)
    return {"scans": len(times), "time_s": seconds, "time_per_scan_s": seconds / len(times),
            "runs": repeat, **score(tracks, truth, times)}


# -- report ---------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    return machine_info(scipy=scipy.__version__, stonesoup=stonesoup.__version__,
                        pyarrow=pa.__version__)


def source_state() -> str:
    """The git commit of the tracker measured, and whether src/iadsim/tracking differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", "src/iadsim/tracking"], cwd=root,
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    if not diff:
        return f"{head} (src/iadsim/tracking as committed)"
    digest = hashlib.sha1(diff.encode()).hexdigest()[:10]
    return f"{head} + uncommitted changes to src/iadsim/tracking (diff sha1 {digest})"


def settings() -> dict[str, Any]:
    cfg = IADSIM_CONFIG
    gate = float(chi2.ppf(SS_GATE_PROBABILITY, 2))
    initiation = (f"two-point (a left-over detection, then one within the speed gate at one of its next "
                  f"{getattr(cfg, 'candidate_misses', 0) + 1} opportunities, max "
                  f"{getattr(cfg, 'max_speed_mps', float('nan')):g} m/s), then "
                  f"{cfg.confirm_hits} of the next {cfg.confirm_window} opportunities"
                  if INITIATION_HITS == 2 else
                  f"single point, velocity 0 ± {cfg.initial_speed_std_mps:g} m/s; {cfg.confirm_hits} of "
                  f"{cfg.confirm_window} opportunities (the first included)")
    return {
        "scenario": {
            "radar": f"2D, {RADAR_LAT_DEG} N {RADAR_LON_DEG} E, {RADAR_ALT_M:g} m, centre of the square",
            "square_km": 2 * HALF_WIDTH_M / 1000, "scans": SCANS, "period_s": PERIOD_S, "pd": PD,
            "sigma_range_m": SIGMA_RANGE_M, "sigma_azimuth_deg": SIGMA_AZIMUTH_DEG,
            "false_alarms_per_scan": f"Poisson mean {FALSE_ALARMS_PER_SCAN:g}, uniform over the square",
            "targets": f"straight, {SPEED_MPS[0]:g}-{SPEED_MPS[1]:g} m/s, uniform headings, in the radar's "
                       "ENU plane at up = 0; redrawn if the path leaves the square (all stay all 60 scans)",
            "seed": f"{SEED} + N",
        },
        "iadsim": {
            "source": source_state(),
            "call": "track_detections(table, config, origin=(radar lat, lon))",
            "config": {k: v for k, v in asdict(cfg).items()},
            "initiation": initiation,
            "confirm_after_detections": SS_CONFIRM_POINTS,
            "gate": f"chi-square {cfg.gate_probability} on d² (gamma = {gate:.3f} for 2D reports)",
            "assignment": "GNN on gated clusters" + (", confirmed tracks first" if cfg.two_stage_assignment
                                                     else ""),
            "deletion": f"{cfg.delete_misses} consecutive missed opportunities (confirmed)",
            "changed_from_defaults": "prior_altitude_m = 0 (default 5000)",
        },
        "stonesoup": {
            "transition": "CombinedLinearGaussianTransitionModel([ConstantVelocity(noise_diff_coeff="
                          f"{SS_PROCESS_NOISE:g})] * 2), state [x, vx, y, vy] = east, north",
            "measurement": "CartesianToBearingRange(ndim_state=4, mapping=(0, 2), "
                           f"noise_covar=diag([{SIGMA_AZIMUTH_DEG:g} deg, {SIGMA_RANGE_M:g} m]^2)), "
                           "bearing = 90 deg - azimuth",
            "filter": "ExtendedKalmanPredictor / ExtendedKalmanUpdater",
            "hypothesiser": "DistanceHypothesiser(measure=Mahalanobis(), "
                            f"missed_distance={np.sqrt(gate):.3f}) (= sqrt of the chi-square "
                            f"{SS_GATE_PROBABILITY} quantile, 2 dof)",
            "associator": "GNNWith2DAssignment (tracker and initiator)",
            "initiator": f"MultiMeasurementInitiator(min_points={SS_CONFIRM_POINTS}, prior velocity 0 ± "
                         f"{SS_INITIAL_SPEED_STD_MPS:g} m/s per axis (SimpleMeasurementInitiator inside), "
                         f"holding-track deleter UpdateTimeStepsDeleter({SS_TENTATIVE_MISSES + 1}))",
            "deleter": f"UpdateTimeStepsDeleter({SS_DELETE_MISSES})",
            "tracker": "MultiTargetTracker, one run per size",
        },
        "ospa": {"cutoff_m": OSPA_CUTOFF_M, "order": OSPA_ORDER, "function": "iadsim.tracking.ospa",
                 "tracks": "confirmed", "times": "every scan time compared (start-up included)",
                 "after_startup": f"scans {STEADY_FROM_SCAN}.. (0-based)"},
    }


def goals(cmp: dict[str, Any]) -> dict[str, bool]:
    limit = (1.0 + GOAL_OSPA_MARGIN) * cmp["stonesoup"]["ospa_mean_m"]
    return {"speed": cmp["speedup"] >= GOAL_SPEEDUP, "ospa": cmp["iadsim"]["ospa_mean_m"] <= limit}


def print_report(results: dict[str, Any]) -> None:
    cases = results["cases"]
    print("\nSide by side (same detections, same scans, same OSPA function; c = 1000 m, p = 1):")
    head = (f"{'N':>5} {'scans':>5} | {'iadsim s':>8} {'ms/scan':>8} {'OSPA m':>7} | {'StoneSoup s':>11} "
            f"{'s/scan':>7} {'OSPA m':>7} | {'speed-up':>8} {'OSPA diff':>9}")
    print(head)
    print("-" * len(head))
    for c in cases:
        i, s = c["iadsim"], c["stonesoup"]
        print(f"{c['n_targets']:>5} {c['scans_compared']:>5} | {i['time_s']:>8.3f} "
              f"{1e3 * i['time_per_scan_s']:>8.2f} {i['ospa_mean_m']:>7.1f} | {s['time_s']:>11.1f} "
              f"{s['time_per_scan_s']:>7.3f} {s['ospa_mean_m']:>7.1f} | {c['speedup']:>7.0f}× "
              f"{c['ospa_diff_pct']:>+8.1f}%")
    print("\nDiagnostics over the same scans: mean OSPA after start-up (scans 5..) and with alt_m "
          "ignored (horizontal\ndistance for every row); SIAP-style completeness, spuriousness, track ids "
          "per object, RMS accuracy of held\npairs (within 1 km); confirmed tracks at the last scan, "
          "confirmed rows that report alt_m")
    for c in cases:
        rows = [("iadsim", c["iadsim"]), ("Stone Soup", c["stonesoup"])]
        if "iadsim_default" in c:
            rows.append(("iadsim dflt", c["iadsim_default"]))
        for name, r in rows:
            bands = ", ".join(f"{k} {v:.0f}" for k, v in r["accuracy_by_range_m"].items())
            print(f"  N = {c['n_targets']:>4} {name:<11}: OSPA {r['ospa_mean_m']:6.1f} m, after start-up "
                  f"{r['ospa_after_startup_m']:6.1f} m, horizontal only {r['ospa_horizontal_m']:6.1f} m; "
                  f"completeness {r['completeness']:.3f}, spuriousness {r['spuriousness']:.4f}, ids/object "
                  f"{r['ids_per_object']:.3f}, accuracy {r['accuracy_m']:.0f} m; confirmed "
                  f"{r['confirmed_tracks_last_scan']}, rows with alt_m {r['confirmed_rows_with_alt']} of "
                  f"{r['confirmed_rows']}\n{'':<21}confirmed at scans 3-7: {r['confirmed_per_scan'][3:8]}; "
                  f"RMS horizontal error by truth range (m): {bands}")
        a = c["iadsim_all_scans"]
        if c["scans_compared"] < a["scans"]:
            print(f"  N = {c['n_targets']:>4} iadsim, all {a['scans']} scans: {a['time_s']:.3f} s "
                  f"({1e3 * a['time_per_scan_s']:.2f} ms/scan), OSPA {a['ospa_mean_m']:.1f} m, after "
                  f"start-up {a['ospa_after_startup_m']:.1f} m, completeness {a['completeness']:.3f}")
    print("\nGoals (issue: iadsim ≥ 100× faster at 200 and 1 000 targets, mean OSPA ≤ Stone Soup's + 5 %):")
    for c in cases:
        g = c["goals"]
        note = "" if c["n_targets"] >= 200 else " (not a goal size)"
        print(f"  N = {c['n_targets']}: speed ≥ {GOAL_SPEEDUP:g}×: {'MET' if g['speed'] else 'NOT MET'} "
              f"({c['speedup']:.0f}×); OSPA ≤ Stone Soup + {100 * GOAL_OSPA_MARGIN:g} %: "
              f"{'MET' if g['ospa'] else 'NOT MET'} ({c['ospa_diff_pct']:+.1f} %){note}")


def _stonesoup_key(n_targets: int, seed: int) -> str:
    """A file name for Stone Soup's tracks of one case: its size, seed, version and settings."""
    sets = settings()
    text = json.dumps([stonesoup.__version__, sets["stonesoup"], sets["scenario"]], sort_keys=True)
    return f"n{n_targets}-seed{seed}-{hashlib.sha1(text.encode()).hexdigest()[:10]}.parquet"


def stonesoup_tracks(detections: pa.Table, n_targets: int, seed: int, cache: Path) -> pa.Table:
    """Stone Soup's confirmed tracks of a whole case (all scans), from ``cache`` when it holds them.

    Stone Soup is deterministic on a table, and its result does not depend on iadsim, so a case is
    run once per Stone Soup version and settings (the file name holds a hash of both).
    """
    path = cache / _stonesoup_key(n_targets, seed)
    if path.exists():
        return pq.read_table(path)
    tracks, _ = run_stonesoup(detections, float("inf"), 0)
    cache.mkdir(parents=True, exist_ok=True)
    pq.write_table(tracks, path)
    return tracks


def seed_study(n_targets: int, seeds: list[int], cache: Path) -> list[dict[str, Any]]:
    """Mean OSPA of iadsim and Stone Soup at ``n_targets`` on each seed (all scans), with start-up
    (scans 0–4) and after start-up separately."""
    rows = []
    for seed in seeds:
        detections, truth, times = scenario(n_targets, seed)
        ss = score(stonesoup_tracks(detections, n_targets, seed, cache), truth, times)
        iad = run_iadsim(detections, truth, times, 1)
        row = {"seed": seed, "n_targets": n_targets}
        for name, r in (("iadsim", iad), ("stonesoup", ss)):
            per_scan = np.asarray(r["ospa_per_scan_m"])
            row[name] = {"ospa_mean_m": r["ospa_mean_m"],
                         "ospa_startup_m": float(per_scan[:STEADY_FROM_SCAN].mean()),
                         "ospa_after_startup_m": r["ospa_after_startup_m"],
                         "ospa_per_scan_m": r["ospa_per_scan_m"][:8],
                         "confirmed_per_scan": r["confirmed_per_scan"][:8],
                         "completeness": r["completeness"], "spuriousness": r["spuriousness"]}
        row["ospa_diff_pct"] = 100.0 * (iad["ospa_mean_m"] / ss["ospa_mean_m"] - 1.0)
        # unmatched: iadsim's default 2D prior (5 000 ± 4 000 m) for targets at the radar's height
        default = run_iadsim(detections, truth, times, 1, IADSIM_DEFAULT)
        row["iadsim_default_ospa_mean_m"] = default["ospa_mean_m"]
        rows.append(row)
        i, s = row["iadsim"], row["stonesoup"]
        print(f"  seed {seed}: iadsim {i['ospa_mean_m']:.1f} m (start-up {i['ospa_startup_m']:.1f}, after "
              f"{i['ospa_after_startup_m']:.1f}), Stone Soup {s['ospa_mean_m']:.1f} m (start-up "
              f"{s['ospa_startup_m']:.1f}, after {s['ospa_after_startup_m']:.1f}): "
              f"{row['ospa_diff_pct']:+.1f} %; confirmed at scans 3-7 {i['confirmed_per_scan'][3:]} vs "
              f"{s['confirmed_per_scan'][3:]}", flush=True)
    return rows


SEED_STUDY_TARGETS = 200
SEED_STUDY_SEEDS = 6


def run_seed_study(n_seeds: int, out: Path) -> int:
    """iadsim and Stone Soup at 200 targets on ``n_seeds`` seeds (``SEED + 200 + 1000 k``), both
    with the targets' altitude as the 2D prior (matched assumptions); writes tracking-seeds.json."""
    if n_seeds <= 0:
        return 0
    seeds = [SEED + SEED_STUDY_TARGETS + 1000 * k for k in range(n_seeds)]
    print(f"\nSeed study: {SEED_STUDY_TARGETS} targets, {n_seeds} seeds, all 60 scans "
          f"(Stone Soup cached in {out / 'stonesoup-cache'})")
    rows = seed_study(SEED_STUDY_TARGETS, seeds, out / "stonesoup-cache")
    diffs = np.array([r["ospa_diff_pct"] for r in rows])
    startup = np.array([100.0 * (r["iadsim"]["ospa_startup_m"] / r["stonesoup"]["ospa_startup_m"] - 1.0)
                        for r in rows])
    after = np.array([100.0 * (r["iadsim"]["ospa_after_startup_m"] / r["stonesoup"]["ospa_after_startup_m"]
                               - 1.0) for r in rows])
    summary = {"seeds": seeds, "ospa_diff_pct_mean": float(diffs.mean()),
               "ospa_diff_pct_max": float(diffs.max()), "startup_diff_pct_mean": float(startup.mean()),
               "after_startup_diff_pct_mean": float(after.mean()),
               "goal_met_every_seed": bool(np.all(diffs <= 100.0 * GOAL_OSPA_MARGIN))}
    print(f"  mean OSPA difference {diffs.mean():+.1f} % (max {diffs.max():+.1f} %); start-up scans 0-4 "
          f"{startup.mean():+.1f} %, after {after.mean():+.1f} %; within {100 * GOAL_OSPA_MARGIN:g} % on "
          f"every seed: {summary['goal_met_every_seed']}")
    out.mkdir(parents=True, exist_ok=True)
    record = {"date": dt.date.today().isoformat(), "machine": machine(), "iadsim_source": source_state(),
              "summary": summary, "cases": rows}
    (out / "tracking-seeds.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


def iadsim_only(sizes: list[int], repeat: int, recorded_path: Path) -> int:
    """iadsim alone on the benchmark's data, against the Stone Soup OSPA recorded by the last full run."""
    recorded: dict[int, dict[str, Any]] = {}
    if recorded_path.exists():
        recorded = {c["n_targets"]: c for c in json.loads(recorded_path.read_text())["cases"]}
    print(f"iadsim only; Stone Soup as recorded in {recorded_path} "
          f"({'found' if recorded else 'not found: no comparison'})")
    for n in sorted(sizes):
        detections, truth, times = scenario(n, SEED + n)
        k = recorded[n]["scans_compared"] if n in recorded else len(times)
        same = detections if k == len(times) else first_scans(detections, times, k)
        iad = run_iadsim(same, truth, times[:k], repeat)
        line = (f"N = {n}, {k} scans: iadsim {iad['time_s']:.3f} s, OSPA {iad['ospa_mean_m']:.1f} m "
                f"(after start-up {iad['ospa_after_startup_m']:.1f} m, "
                f"completeness {iad['completeness']:.3f})")
        if n in recorded:
            ss = recorded[n]["stonesoup"]["ospa_mean_m"]
            diff = 100.0 * (iad["ospa_mean_m"] / ss - 1.0)
            line += f"; Stone Soup (recorded) {ss:.1f} m, difference {diff:+.1f} %"
        print(line, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="numbers of targets")
    parser.add_argument("--stonesoup-budget-s", type=float, default=600.0,
                        help="wall-clock budget for Stone Soup over all sizes, seconds (default 600)")
    parser.add_argument("--stonesoup-min-scans", type=int, default=3,
                        help="Stone Soup runs at least this many scans per size (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="iadsim runs per case, best counts (default 3)")
    parser.add_argument("--no-iadsim-default", action="store_true",
                        help="skip the extra iadsim run with TrackerConfig() unchanged")
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    parser.add_argument("--seeds", type=int, default=SEED_STUDY_SEEDS,
                        help=f"seeds of the start-up study at {SEED_STUDY_TARGETS} targets (default "
                             f"{SEED_STUDY_SEEDS}; 0: none); Stone Soup's tracks are cached under --out")
    parser.add_argument("--seed-study-only", action="store_true",
                        help="run only the seed study (and write out/bench/tracking-seeds.json)")
    parser.add_argument("--iadsim-only", action="store_true",
                        help="run iadsim alone and compare with the Stone Soup OSPA recorded in the last "
                             "full run's tracking.json under --out; writes nothing")
    args = parser.parse_args()
    if args.iadsim_only:
        return iadsim_only(args.sizes, args.repeat, args.out / "tracking.json")
    if args.seed_study_only:
        return run_seed_study(args.seeds, args.out)

    info = machine()
    sets = settings()
    print(f"machine: {info['cpu']}, {info['nproc']} cpus; python {info['python']}, numpy {info['numpy']}, "
          f"scipy {info['scipy']}, pyarrow {info['pyarrow']}, stonesoup {info['stonesoup']}, "
          f"iadsim {info['iadsim']}")
    print(f"iadsim source: {sets['iadsim']['source']}")
    print(f"iadsim: {sets['iadsim']['initiation']}; {sets['iadsim']['changed_from_defaults']}")
    print(f"Stone Soup: {sets['stonesoup']['initiator']}; {sets['stonesoup']['deleter']}")
    print(f"Stone Soup budget {args.stonesoup_budget_s:g} s over all sizes (at least "
          f"{args.stonesoup_min_scans} scans each); iadsim best of {args.repeat}")
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": info, "settings": sets,
                               "budget": {"stonesoup_budget_s": args.stonesoup_budget_s,
                                          "stonesoup_min_scans": args.stonesoup_min_scans,
                                          "iadsim_repeat": args.repeat},
                               "cases": []}
    spent = 0.0
    for n in sorted(args.sizes):
        detections, truth, times = scenario(n, SEED + n)
        n_false = int(detections.column("object_id").null_count)
        print(f"\nN = {n}: {len(detections)} detections ({n_false} false alarms) in {len(times)} scans")
        iad_all = run_iadsim(detections, truth, times, args.repeat)
        print(f"  iadsim, {len(times)} scans: {iad_all['time_s']:.3f} s, OSPA {iad_all['ospa_mean_m']:.1f} m",
              flush=True)
        ss_tracks, per_scan = run_stonesoup(detections, max(args.stonesoup_budget_s - spent, 0.0),
                                            args.stonesoup_min_scans)
        spent += sum(per_scan)
        k = len(per_scan)
        ss = {"scans": k, "time_s": sum(per_scan), "time_per_scan_s": sum(per_scan) / k,
              "time_per_scan_max_s": max(per_scan), "runs": 1,
              "per_scan_s": [round(v, 4) for v in per_scan], **score(ss_tracks, truth, times[:k])}
        print(f"  Stone Soup, {k} scans: {ss['time_s']:.1f} s, OSPA {ss['ospa_mean_m']:.1f} m", flush=True)
        same = detections if k == len(times) else first_scans(detections, times, k)
        iad = iad_all if k == len(times) else run_iadsim(same, truth, times[:k], args.repeat)
        if k < len(times):
            print(f"  iadsim, same {k} scans: {iad['time_s']:.3f} s, OSPA {iad['ospa_mean_m']:.1f} m")
        cmp: dict[str, Any] = {
            "n_targets": n, "detections": len(detections), "false_alarms": n_false, "scans_compared": k,
            "iadsim": iad, "stonesoup": ss, "iadsim_all_scans": iad_all,
            "speedup": ss["time_s"] / iad["time_s"],
            "ospa_diff_pct": 100.0 * (iad["ospa_mean_m"] / ss["ospa_mean_m"] - 1.0)}
        if not args.no_iadsim_default:
            cmp["iadsim_default"] = run_iadsim(same, truth, times[:k], 1, IADSIM_DEFAULT)
        cmp["goals"] = goals(cmp)
        results["cases"].append(cmp)

    print_report(results)
    run_seed_study(args.seeds, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tracking.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out / 'tracking.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
