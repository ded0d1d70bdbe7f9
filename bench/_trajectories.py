"""Real aircraft trajectories as truth, and a 2D radar's detections of them by iadsim's detection
model (bench/bench_real_trajectories.py, tests/test_real_trajectories.py).

The trajectories are the samples that ship with the ``traffic`` package (X. Olive, derived from the
OpenSky Network), read as its JSON files with pandas: traffic 2.13's own loader fails on pandas 3
(it imports ``DatetimeTZBlock``), and only the data are needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow as pa

from iadsim.geo.frames import ecef_to_enu
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.sensors.detection import detection_probability

FT_M = 0.3048


def sample_path(name: str) -> Path | None:
    """The JSON file of a traffic sample (e.g. ``collections/quickstart``), or None without traffic."""
    spec = importlib.util.find_spec("traffic")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "samples" / f"{name}.json.gz"
    return path if path.exists() else None


def truth_from_sample(path: Path, start_s: float, duration_s: float, period_s: float,
                      max_gap_s: float = 60.0) -> tuple[pa.Table, np.ndarray]:
    """A truth table (``time_s, object_id, lat_deg, lon_deg, alt_m``) at the scan times of one radar.

    Each aircraft (``icao24``) airborne (altitude > 0 ft, not on the ground) is interpolated linearly
    to the scan times inside its own sampled span, not across a gap in its reports longer than
    ``max_gap_s``; ``time_s`` counts from ``start_s`` seconds after the sample's first report.
    """
    import pandas as pd

    d = pd.read_json(path)
    t = (pd.to_datetime(d["timestamp"], utc=True) - pd.to_datetime(d["timestamp"], utc=True).min()
         ).dt.total_seconds().to_numpy()
    airborne = (d["altitude"].fillna(-1.0).to_numpy() > 0.0)
    if "onground" in d.columns:
        airborne &= ~d["onground"].fillna(False).to_numpy(dtype=bool)
    keep = airborne & d["latitude"].notna().to_numpy() & d["longitude"].notna().to_numpy()
    times = start_s + period_s * np.arange(int(duration_s // period_s) + 1)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("time_s", "object_id", "lat_deg", "lon_deg",
                                                         "alt_m")}
    ids = d["icao24"].astype(str).to_numpy()
    for obj in np.unique(ids[keep]):
        sel = np.flatnonzero(keep & (ids == obj))
        ts, order = np.unique(t[sel], return_index=True)
        sel = sel[order]
        if len(ts) < 2:
            continue
        inside = (times >= ts[0]) & (times <= ts[-1])
        at = times[inside]
        j = np.clip(np.searchsorted(ts, at), 1, len(ts) - 1)
        ok = (ts[j] - ts[j - 1]) <= max_gap_s
        at, j = at[ok], j[ok]
        if not len(at):
            continue
        w = (at - ts[j - 1]) / (ts[j] - ts[j - 1])

        def interp(col: str, j: np.ndarray = j, w: np.ndarray = w, sel: np.ndarray = sel) -> np.ndarray:
            v = d[col].to_numpy(dtype=float)[sel]
            return v[j - 1] + w * (v[j] - v[j - 1])

        rows["time_s"].append(at - start_s)
        rows["object_id"].append(np.full(len(at), obj, dtype=object))
        rows["lat_deg"].append(interp("latitude"))
        rows["lon_deg"].append(interp("longitude"))
        rows["alt_m"].append(interp("altitude") * FT_M)
    table = pa.table({k: pa.array(list(np.concatenate(v)) if k == "object_id" else np.concatenate(v),
                                  pa.string() if k == "object_id" else pa.float64())
                      for k, v in rows.items()})
    order = np.lexsort((np.asarray(table["object_id"].to_pylist(), dtype=str), table["time_s"].to_numpy()))
    return table.take(order), times - start_s


def radar_detections(truth: pa.Table, times: np.ndarray, radar: tuple[float, float, float], *,
                     detection_range_m: float, reference_rcs_m2: float, reference_pd: float,
                     rcs_m2: float, instrumented_range_m: float, sigma_range_m: float,
                     sigma_azimuth_deg: float,
                     false_alarms_per_scan: float, seed: int) -> pa.Table:
    """A 2D radar's DETECTIONS of the truth (docs/tracking-io.md): iadsim's Swerling 1 detection
    probability from the radar's published range (``iadsim.sensors.detection``), the 4/3-earth radar
    horizon (``iadsim.geo.radar_geometry``), Gaussian range and azimuth errors, Poisson false alarms
    uniform in range and azimuth within the instrumented range. One seeded Generator."""
    rng = np.random.default_rng(seed)
    lat0, lon0, h0 = radar
    t = truth["time_s"].to_numpy()
    lat, lon, alt = (truth[c].to_numpy() for c in ("lat_deg", "lon_deg", "alt_m"))
    enu = ecef_to_enu(geodetic_to_ecef(lat, lon, alt), lat0, lon0, h0)
    ground = np.hypot(enu[:, 0], enu[:, 1])
    slant = np.linalg.norm(enu, axis=1)
    visible = (ground <= horizon_distance_m(h0, np.maximum(alt, 0.0))) & (slant <= instrumented_range_m)
    pd_ = detection_probability(slant, rcs_m2, detection_range_m, reference_rcs_m2, reference_pd)
    seen = visible & (rng.random(len(t)) < pd_)
    az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1]))
    r = slant[seen] + sigma_range_m * rng.standard_normal(int(seen.sum()))
    a = az[seen] + sigma_azimuth_deg * rng.standard_normal(int(seen.sum()))
    names = np.asarray(truth["object_id"].to_pylist(), dtype=object)
    det_t, det_r, det_a, det_obj = [t[seen]], [r], [a], [names[seen]]
    for time_s in times:
        n = int(rng.poisson(false_alarms_per_scan))
        det_t.append(np.full(n, time_s))
        det_r.append(instrumented_range_m * np.sqrt(rng.random(n)))  # uniform over the disc
        det_a.append(rng.uniform(0.0, 360.0, n))
        det_obj.append(np.full(n, None, dtype=object))
    tt, rr, aa, oo = (np.concatenate(x) for x in (det_t, det_r, det_a, det_obj))
    order = np.argsort(tt, kind="stable")
    m = len(tt)
    return pa.table({
        "time_s": pa.array(tt[order], pa.float64()),
        "sensor_id": pa.array(["radar"] * m, pa.string()),
        "sensor_lat_deg": pa.array(np.full(m, lat0), pa.float64()),
        "sensor_lon_deg": pa.array(np.full(m, lon0), pa.float64()),
        "sensor_alt_m": pa.array(np.full(m, h0), pa.float64()),
        "range_m": pa.array(np.maximum(rr[order], 1.0), pa.float64()),
        "azimuth_deg": pa.array(aa[order] % 360.0, pa.float64()),
        "elevation_deg": pa.nulls(m, pa.float64()),
        "sigma_range_m": pa.array(np.full(m, sigma_range_m), pa.float64()),
        "sigma_azimuth_deg": pa.array(np.full(m, sigma_azimuth_deg), pa.float64()),
        "sigma_elevation_deg": pa.nulls(m, pa.float64()),
        "object_id": pa.array(list(oo[order]), pa.string()),
    })
