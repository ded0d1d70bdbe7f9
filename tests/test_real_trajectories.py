"""A real trajectory as truth (the traffic package's border-surveillance sample, derived from the
OpenSky Network): a P-18's detections by iadsim's detection model, tracked by iadsim, scored with
SIAP and OSPA — the test of bench/bench_real_trajectories.py (docs/benchmarks.md), iadsim's side."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from iadsim.tracking import TrackerConfig, ospa, siap, track_detections

BENCH = Path(__file__).resolve().parent.parent / "bench"
if importlib.util.find_spec("traffic") is None:
    pytest.skip("the traffic package is not installed (pip install -e '.[bench]')", allow_module_level=True)
sys.path.insert(0, str(BENCH))
from _trajectories import radar_detections, sample_path, truth_from_sample  # noqa: E402

RADAR = {"detection_range_m": 150e3, "reference_rcs_m2": 3.0, "reference_pd": 0.5, "rcs_m2": 100.0,
         "instrumented_range_m": 250e3, "sigma_range_m": 500.0, "sigma_azimuth_deg": 1.0,
         "false_alarms_per_scan": 5.0}


def test_a_patrol_aircraft_is_held_by_one_track_through_its_turns():
    path = sample_path("surveillance/border_control")
    if path is None:
        pytest.skip("traffic's border_control sample is missing from this traffic version")
    truth, times = truth_from_sample(path, 1800.0, 1800.0, 10.0)
    assert len(set(truth["object_id"].to_pylist())) == 1 and truth.num_rows > 150
    lat, lon = float(np.median(truth["lat_deg"].to_numpy())), float(np.median(truth["lon_deg"].to_numpy()))
    alt = truth["alt_m"].to_numpy()
    detections = radar_detections(truth, times, (lat, lon, 30.0), seed=20261207, **RADAR)
    config = TrackerConfig(prior_altitude_m=float(np.median(alt)), prior_altitude_std_m=max(float(alt.std()), 300.0))
    tracks = track_detections(detections, config, origin=(lat, lon))
    s = siap(tracks, truth, association_distance_m=5000.0, times_s=times)
    # measured (seed 20261207): completeness 0.983, spuriousness 0, one break, OSPA 410 m; the
    # bounds leave room for other numpy builds, not for a lost or doubled track
    assert s.completeness > 0.95 and s.spuriousness < 0.02
    assert s.track_breaks_per_object <= 1.0
    assert ospa(tracks, truth, cutoff_m=5000.0, times_s=times).mean_m < 600.0
    # a prior far from the aircraft's altitude costs accuracy: the reason for --prior-altitude-m
    default = track_detections(detections, TrackerConfig(), origin=(lat, lon))
    assert ospa(default, truth, cutoff_m=5000.0, times_s=times).mean_m > 1.5 * ospa(
        tracks, truth, cutoff_m=5000.0, times_s=times).mean_m
