"""Real aircraft trajectories as truth: one 2D radar's detections by iadsim's model, tracked by iadsim
and by Stone Soup on the same detections, scored side by side.

Truth: samples that ship with the ``traffic`` package (bench extra), derived from the OpenSky
Network: ``collections/quickstart`` (traffic around Paris, 7 October 2021; 15 minutes from 12:10
UTC: 40-odd aircraft at once, climbing, descending, turning), ``military/inflight_refuelling`` (a
tanker's racetrack orbits over France, 30 minutes) and ``surveillance/border_control`` (a patrol
aircraft over the Channel coast, 30 minutes); read by ``bench/_trajectories.py``.

Radar: a P-18 as the reference catalog gives it (2D, 150 km against 3 m² at Pd 0.5, 10 s scan,
σ 500 m and 1°, instrumented range 250 km), antenna 30 m above the ellipsoid, at the median
position of each sample's aircraft; targets of 100 m² (the catalog's airliner) — the detection
probability of iadsim's Swerling 1 model, the 4/3-earth horizon, Gaussian errors, 5 false alarms
per scan (seed 20261207). Trackers: iadsim's ``track_detections`` with the 2D prior at the median
± the standard deviation of the sample's altitudes (what an analyst knows of such traffic) and with
its default (5 000 ± 4 000 m); Stone Soup as in bench_tracking.py (flat 2D, the same q, gate,
confirmation and deletion), built for the radar's σ. Scores (iadsim.tracking.metrics, the same for
all): OSPA (c = 5 km, p = 1: the P-18's azimuth error is 1.7 km at 100 km), SIAP completeness and
spuriousness, track breaks and ids per object (association within 5 km), confirmed tracks, every
scan.

Run: ``.venv/bin/python bench/bench_real_trajectories.py`` (needs the bench extra: stonesoup,
traffic); writes out/bench/real_trajectories.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from _machine import machine_info
from _trajectories import radar_detections, sample_path, truth_from_sample

from iadsim.tracking import TrackerConfig, ospa, siap, track_detections

try:
    import bench_tracking as bt
except SystemExit as exc:  # pragma: no cover - a message, not a code path
    sys.exit(str(exc))

CASES = (("collections/quickstart", 600.0, 900.0), ("military/inflight_refuelling", 1800.0, 1800.0),
         ("surveillance/border_control", 1800.0, 1800.0))
PERIOD_S = 10.0
RADAR = {"detection_range_m": 150e3, "reference_rcs_m2": 3.0, "reference_pd": 0.5, "rcs_m2": 100.0,
         "instrumented_range_m": 250e3, "sigma_range_m": 500.0, "sigma_azimuth_deg": 1.0,
         "false_alarms_per_scan": 5.0}
ANTENNA_M = 30.0
CUTOFF_M = 5000.0
SEED = 20261207


def score(tracks: pa.Table, truth: pa.Table, times: np.ndarray) -> dict[str, Any]:
    o = ospa(tracks, truth, cutoff_m=CUTOFF_M, order=1.0, times_s=times)
    s = siap(tracks, truth, association_distance_m=CUTOFF_M, times_s=times)
    return {"ospa_mean_m": o.mean_m, "completeness": s.completeness, "spuriousness": s.spuriousness,
            "track_breaks_per_object": s.track_breaks_per_object, "ids_per_object": s.ids_per_object,
            "accuracy_m": s.accuracy_m}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    args = parser.parse_args()
    results = []
    for name, start_s, duration_s in CASES:
        path = sample_path(name)
        if path is None:
            print(f"{name}: traffic's sample not found (pip install -e '.[bench]'); skipped")
            continue
        truth, times = truth_from_sample(path, start_s, duration_s, PERIOD_S)
        lat = float(np.median(truth["lat_deg"].to_numpy()))
        lon = float(np.median(truth["lon_deg"].to_numpy()))
        alt = truth["alt_m"].to_numpy()
        detections = radar_detections(truth, times, (lat, lon, ANTENNA_M), seed=SEED, **RADAR)
        known = {"prior_altitude_m": float(np.median(alt)),
                 "prior_altitude_std_m": max(float(alt.std()), 300.0)}
        prior = TrackerConfig(**known)
        row: dict[str, Any] = {"sample": name, "objects": len(set(truth["object_id"].to_pylist())),
                               "scans": len(times), "detections": detections.num_rows,
                               "false_alarms": detections["object_id"].null_count,
                               "radar": [lat, lon, ANTENNA_M],
                               "altitude_m": {"median": float(np.median(alt)), "std": float(alt.std()),
                                              "min": float(alt.min()), "max": float(alt.max())}}
        for label, config in (("iadsim", prior), ("iadsim_imm", TrackerConfig(motion_model="imm", **known)),
                              ("iadsim_default_prior", TrackerConfig())):
            t0 = time.perf_counter()
            tracks = track_detections(detections, config, origin=(lat, lon))
            row[label] = {"time_s": time.perf_counter() - t0, **score(tracks, truth, times)}
        t0 = time.perf_counter()
        ss_tracks, _ = bt.run_stonesoup(detections, float("inf"), 0, radar=(lat, lon, ANTENNA_M))
        row["stonesoup"] = {"time_s": time.perf_counter() - t0, **score(ss_tracks, truth, times)}
        results.append(row)
        for label in ("iadsim", "iadsim_imm", "iadsim_default_prior", "stonesoup"):
            r = row[label]
            print(f"{name:<30} {label:<21} OSPA {r['ospa_mean_m']:7.1f} m  completeness "
                  f"{r['completeness']:.3f}  "
                  f"spuriousness {r['spuriousness']:.3f}  breaks/object {r['track_breaks_per_object']:.2f}  "
                  f"ids/object {r['ids_per_object']:.2f}  {r['time_s']:.2f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"date": dt.date.today().isoformat(), "machine": machine_info(), "radar": RADAR,
              "period_s": PERIOD_S, "cutoff_m": CUTOFF_M, "seed": SEED, "cases": results}
    (args.out / "real_trajectories.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'real_trajectories.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
