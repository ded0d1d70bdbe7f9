"""Tracking per command node and the picture metrics with tracks held between updates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from iadsim import load_scenario
from iadsim.c2 import reporting_node, sensor_reporting_nodes
from iadsim.tracking import ospa, siap
from iadsim.tracking.nodes import track_by_node


def test_reporting_nodes_follow_the_chain_of_command(reference):
    assert reporting_node(reference, "blr_15_aamr_bn1") == "blr_af_ad_command"
    assert reporting_node(reference, "blr_af_ad_command") == "blr_af_ad_command"
    nodes = sensor_reporting_nodes(reference, np.array(["blr_8_rtb", ""]), np.array(["BLR", "RUS"]),
                                   np.array(["", "a50"]))
    assert nodes[0] == "blr_af_ad_command"
    assert nodes[1] in reference.command_nodes and reference.command_nodes[nodes[1]].nation == "RUS"


def _tracks(rows):
    return pa.table({"time_s": [r[0] for r in rows], "track_id": [r[1] for r in rows],
                     "lat_deg": [r[2] for r in rows], "lon_deg": [r[3] for r in rows],
                     "alt_m": [1000.0] * len(rows), "vel_east_mps": [r[4] for r in rows],
                     "vel_north_mps": [0.0] * len(rows), "confirmed": [True] * len(rows)})


def test_held_picture_extrapolates_between_updates():
    # one object flying east at 100 m/s; its track is updated every 20 s only
    times = np.arange(0.0, 61.0, 1.0)
    lon = 27.0 + np.degrees(100.0 * times / (6_371_008.8 * np.cos(np.radians(54.0))))
    truth = pa.table({"time_s": times, "object_id": ["a"] * len(times), "lat_deg": [54.0] * len(times),
                      "lon_deg": lon, "alt_m": [1000.0] * len(times)})
    tracks = _tracks([(t, 1, 54.0, float(lon[int(t)]), 100.0) for t in (0.0, 20.0, 40.0, 60.0)])
    every_second = np.arange(0.0, 60.0, 1.0)
    held = ospa(tracks, truth, times_s=every_second, hold_s=30.0)
    assert held.mean_m < 1.0  # extrapolation with the track's velocity keeps it on the object
    bare = ospa(tracks, truth, times_s=every_second)
    assert bare.mean_m > 900.0  # at most times the bare track table holds nothing
    s = siap(tracks, truth, times_s=every_second, hold_s=30.0)
    assert s.completeness == 1.0 and s.spuriousness == 0.0 and s.ids_per_object == 1.0
    stale = ospa(tracks, truth, times_s=np.array([59.0]), hold_s=5.0)
    assert stale.ospa_m[0] == 1000.0  # the last update (40 s) is too old at 59 s


def test_track_by_node_splits_the_detections(write):
    from iadsim.sim import run_simulation

    from .sim_scenarios import inbound, one_radar

    scenario = load_scenario(write(one_radar(flights=inbound("t", 90.0, 5000.0, speed_kmh=900.0),
                                             duration_s=200)))
    result = run_simulation(scenario)
    sensor = result.detections["sensor_id"].cast(pa.string())[0].as_py()
    tracks = track_by_node(result.detections, {sensor: "node_a"})
    assert set(tracks) == {"node_a"} and tracks["node_a"].num_rows > 0
    assert track_by_node(result.detections, {}) == {}
