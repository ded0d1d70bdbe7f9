"""Tracking per command node, the picture metrics with tracks held between updates, and the
engine's detections as tracker input (fixed and airborne sensors)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from iadsim import load_scenario
from iadsim.c2 import reporting_node, sensor_reporting_nodes
from iadsim.tracking import (
    TrackingInputError,
    confirmation_summary,
    ospa,
    siap,
    time_to_confirmed_track,
    track_detections,
)
from iadsim.tracking.io import validate_detections
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
    # the ground radar's rows say it is fixed, and it is
    assert result.detections["sensor_fixed"].to_pylist() == [True] * result.detections.num_rows
    # one target, detected and then confirmed: within a few 10 s scans (4 detections at least)
    delays = time_to_confirmed_track(tracks["node_a"], result.truth, result.detections)
    assert delays["object_id"].to_pylist() == ["t"]
    summary = confirmation_summary(delays)
    assert summary.share_confirmed == 1.0 and 30.0 <= summary.median_delay_s <= 120.0, summary


# -- fixed and airborne sensors ---------------------------------------------------------------------------

def _detections(lat, lon, alt, fixed, sensor=("s1",) * 4):
    """Four 2D reports of one or two sensors at 0, 10, 20, 30 s with the sensor positions given."""
    n = len(lat)
    table = pa.table({
        "time_s": pa.array([10.0 * i for i in range(n)], pa.float64()),
        "sensor_id": pa.array(list(sensor[:n]), pa.string()),
        "sensor_lat_deg": pa.array(lat, pa.float64()), "sensor_lon_deg": pa.array(lon, pa.float64()),
        "sensor_alt_m": pa.array(alt, pa.float64()),
        "range_m": pa.array([50e3] * n, pa.float64()), "azimuth_deg": pa.array([90.0] * n, pa.float64()),
        "elevation_deg": pa.array([None] * n, pa.float64()),
        "sigma_range_m": pa.array([100.0] * n, pa.float64()),
        "sigma_azimuth_deg": pa.array([0.2] * n, pa.float64()),
        "sigma_elevation_deg": pa.array([None] * n, pa.float64()),
    })
    return table if fixed is None else table.append_column("sensor_fixed", pa.array(fixed, pa.bool_()))


MOVING = dict(lat=[54.0, 54.0, 54.0, 54.1], lon=[27.0, 27.0, 27.00001, 27.0], alt=[20.0, 20.0, 20.5, 20.0])
"""Row 2 differs by 0.00001° of longitude (0.66 m at 54° N) and 0.5 m of altitude: within 1 m;
row 3 by 0.1° of latitude (11 km)."""


def test_a_fixed_sensor_that_moves_is_named_with_its_row():
    with pytest.raises(TrackingInputError) as info:
        validate_detections(_detections(**MOVING, fixed=[True] * 4))
    message = str(info.value)
    assert message.startswith("row 3: sensor 's1' is fixed (column 'sensor_fixed') but moved: "
                              "lat 54.100000°, lon 27.000000°, alt 20.0 m here, "
                              "lat 54.000000°, lon 27.000000°, alt 20.0 m in row 0 (")
    assert "m horizontally" in message and "1 bad row(s) in all" in message
    horizontal = float(message.split("in row 0 (")[1].split(" m horizontally")[0])
    assert horizontal == pytest.approx(11_132.0, rel=2e-3)  # 0.1° of latitude at 54° N
    # an altitude step of 2 m alone is also a move
    with pytest.raises(TrackingInputError, match=r"row 1: sensor 's1' .* 2\.0 m in altitude"):
        validate_detections(_detections([54.0] * 2, [27.0] * 2, [20.0, 22.0], [True] * 2))


def test_airborne_and_unmarked_sensors_may_move():
    for fixed in ([False] * 4, None, [None] * 4):
        validate_detections(_detections(**MOVING, fixed=fixed))  # no error: false or empty is not fixed
    # within the tolerance a fixed sensor passes
    validate_detections(_detections(MOVING["lat"][:3], MOVING["lon"][:3], MOVING["alt"][:3], [True] * 3))


@pytest.mark.parametrize(("fixed", "message"), [
    ([True, True, False, True], "column 'sensor_fixed', row 2: false for sensor 's1', which is true in row 0"),
    ([False, None, True, True], "column 'sensor_fixed', row 2: true for sensor 's1', which is false in row 0"),
    ([True, None, True, True], "column 'sensor_fixed', row 1: false for sensor 's1'"),
])
def test_a_sensor_is_fixed_in_all_its_rows_or_none(fixed, message):
    with pytest.raises(TrackingInputError) as info:
        validate_detections(_detections(*([54.0] * 4, [27.0] * 4, [20.0] * 4), fixed=fixed))
    assert message in str(info.value)


def test_sensor_fixed_is_per_sensor_and_boolean():
    # s1 fixed and still, s2 airborne and moving: valid
    validate_detections(_detections(**MOVING, fixed=[True, True, False, False],
                                    sensor=("s1", "s1", "s2", "s2")))
    table = _detections([54.0] * 4, [27.0] * 4, [20.0] * 4, None).append_column(
        "sensor_fixed", pa.array(["yes"] * 4))
    with pytest.raises(TrackingInputError, match="column 'sensor_fixed' must be boolean"):
        validate_detections(table)


AIRBORNE_RADAR = """  radars:
    fr:
      name: Test airborne radar
      role: airborne
      detection_range_km: 150
      reference_rcs_m2: 1
      reference_pd: 0.5
      scan_period_s: 10
      frequency_mhz: 9500
      bandwidth_mhz: 5
      antenna_gain_dbi: 33
      sidelobe_level_db: -30
      noise_figure_db: 4
      losses_db: 5
      assumed: {detection_range_km: t, reference_rcs_m2: t, reference_pd: t, scan_period_s: t,
                frequency_mhz: t, bandwidth_mhz: t, antenna_gain_dbi: t, sidelobe_level_db: t,
                noise_figure_db: t, losses_db: t}
"""


def test_engine_marks_ground_radars_fixed_and_airborne_radars_not(write):
    from iadsim.sim import run_simulation

    from .sim_scenarios import inbound, one_radar

    # a defending (BLR) aircraft carries a radar and flies towards the ground radar; a POL target
    own = inbound("own", 60.0, 7000.0, speed_kmh=800.0, bearing="north").replace(
        "nation: POL", "nation: BLR").replace("type: dart", "type: dart\n      radar_on: true")
    text = one_radar(flights=inbound("t", 90.0, 5000.0, speed_kmh=900.0) + own, duration_s=120)
    text = text.replace("      rcs_m2: 1.0\n      max_speed_kmh: 6000",
                        "      rcs_m2: 1.0\n      radar: fr\n      max_speed_kmh: 6000")
    text = text.replace("  radars:\n    r:\n", AIRBORNE_RADAR + "    r:\n", 1)
    det = run_simulation(load_scenario(write(text))).detections
    assert det.column_names[:5] == ["time_s", "sensor_id", "radar_type", "sensor_nation", "sensor_fixed"]
    sensors = det["sensor_id"].cast(pa.string()).to_numpy(zero_copy_only=False).astype(str)
    fixed = det["sensor_fixed"].to_numpy(zero_copy_only=False)
    airborne = np.char.startswith(sensors, "own/")
    assert airborne.any() and (~airborne).any()
    assert not fixed[airborne].any() and fixed[~airborne].all()
    # the airborne radar moves between its scans, the ground radar does not; the input is valid
    lat = det["sensor_lat_deg"].to_numpy()
    assert np.ptp(lat[airborne]) > 0.01 and np.ptp(lat[~airborne]) == 0.0
    validate_detections(det)
    assert track_detections(det).num_rows > 0
