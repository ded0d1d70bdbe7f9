"""Time to confirmed track and track continuity, on small hand-built tables with answers by hand.

Truth objects stand still at latitude 54°, about 65 km apart in longitude, at 1 000 m; tracks sit
on them or a stated distance north (1° of latitude ≈ 111.2 km, so 500 m ≈ 0.0045°).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from iadsim.tracking import confirmation_summary, siap, time_to_confirmed_track, track_breaks

LAT = 54.0
LON = {"a": 27.0, "b": 28.0, "c": 29.0, "d": 30.0, "e": 31.0}
M_PER_DEG_LAT = 111_200.0


def _truth(objects, t_end=100.0):
    rows = [(t, o, LAT, LON[o], 1000.0) for o in objects for t in (0.0, t_end)]
    return pa.table({"time_s": [r[0] for r in rows], "object_id": [r[1] for r in rows],
                     "lat_deg": [r[2] for r in rows], "lon_deg": [r[3] for r in rows],
                     "alt_m": [r[4] for r in rows]})


def _tracks(rows):
    """rows: (time_s, track_id, object it sits on, metres north of it, confirmed)."""
    return pa.table({
        "time_s": pa.array([float(r[0]) for r in rows], pa.float64()),
        "track_id": pa.array([r[1] for r in rows], pa.int64()),
        "lat_deg": pa.array([LAT + r[3] / M_PER_DEG_LAT for r in rows], pa.float64()),
        "lon_deg": pa.array([LON[r[2]] for r in rows], pa.float64()),
        "alt_m": pa.array([1000.0] * len(rows), pa.float64()),
        "vel_east_mps": pa.array([0.0] * len(rows), pa.float64()),
        "vel_north_mps": pa.array([0.0] * len(rows), pa.float64()),
        "confirmed": pa.array([r[4] for r in rows], pa.bool_()),
    })


def _detections(rows):
    """rows: (time_s, object_id or None, false_alarm)."""
    return pa.table({"time_s": pa.array([float(r[0]) for r in rows], pa.float64()),
                     "object_id": pa.array([r[1] for r in rows], pa.string()),
                     "false_alarm": pa.array([r[2] for r in rows], pa.bool_())})


def test_time_to_confirmed_track_by_hand():
    truth = _truth("abde")
    detections = _detections([
        (3.0, None, True),  # a false alarm: no object
        (2.0, "a", True),  # flagged as a false alarm: not a detection of a
        (5.0, "a", False),  # a's first detection
        (12.0, "a", False),
        (10.0, "b", False),  # b's first detection
        (7.0, "c", False),  # c is not in truth: not scored
        (40.0, "e", False),  # e is detected but never tracked
    ])
    tracks = _tracks([
        (4.0, 1, "a", 0.0, True),  # before a's first detection: not a's track yet
        (8.0, 1, "a", 0.0, False),  # tentative
        (20.0, 1, "a", 0.0, True),  # → a confirmed at 20 s, 15 s after its detection at 5 s
        (20.0, 2, "b", 2000.0, True),  # 2 km from b: outside 1 000 m
        (30.0, 2, "b", 500.0, True),  # → b confirmed at 30 s, 20 s after 10 s
    ])
    table = time_to_confirmed_track(tracks, truth, detections)
    assert table.column_names == ["object_id", "first_detection_s", "first_confirmed_s", "delay_s"]
    rows = {r["object_id"]: r for r in table.to_pylist()}
    assert list(rows) == ["a", "b", "d", "e"]
    assert (rows["a"]["first_detection_s"], rows["a"]["first_confirmed_s"], rows["a"]["delay_s"]) == (
        5.0, 20.0, 15.0)
    assert (rows["b"]["first_detection_s"], rows["b"]["first_confirmed_s"], rows["b"]["delay_s"]) == (
        10.0, 30.0, 20.0)
    assert all(math.isnan(rows["d"][k]) for k in ("first_detection_s", "first_confirmed_s", "delay_s"))
    assert rows["e"]["first_detection_s"] == 40.0 and math.isnan(rows["e"]["delay_s"])
    # 2 km as the association distance takes b at 20 s
    wide = {r["object_id"]: r for r in time_to_confirmed_track(tracks, truth, detections, 2500.0).to_pylist()}
    assert wide["b"]["delay_s"] == 10.0

    summary = confirmation_summary(table)
    assert (summary.n_detected, summary.n_confirmed) == (3, 2)  # a, b, e detected; d never
    assert summary.share_confirmed == pytest.approx(2 / 3)
    assert summary.median_delay_s == 17.5 and summary.mean_delay_s == 17.5


def test_time_to_confirmed_track_with_integer_ids_and_nothing_confirmed():
    truth = _truth("ab").set_column(1, "object_id", pa.array([2, 2, 10, 10], pa.int64()))
    detections = pa.table({"time_s": [1.0, 2.0], "object_id": pa.array([10, None], pa.int64())})
    table = time_to_confirmed_track(_tracks([(5.0, 1, "a", 0.0, True)]), truth, detections)
    # truth's ids sort numerically (2, 10); the detection of 10 is matched as text
    assert table["object_id"].to_pylist() == ["2", "10"]
    assert np.isnan(table["first_detection_s"][0].as_py()) and table["first_detection_s"][1].as_py() == 1.0
    assert np.isnan(table["delay_s"].to_numpy()).all()  # the track sits on 2, which was never detected
    summary = confirmation_summary(table)
    assert (summary.n_detected, summary.n_confirmed) == (1, 0) and summary.share_confirmed == 0.0
    assert math.isnan(summary.median_delay_s) and math.isnan(summary.mean_delay_s)


def test_track_breaks_count_holder_changes():
    truth = _truth("abc")
    tracks = _tracks([
        (10.0, 1, "a", 0.0, True),
        (10.0, 3, "b", 0.0, True),
        (20.0, 1, "a", 0.0, True),
        (20.0, 4, "b", 5000.0, True),  # b not held at 20 s (5 km off): a gap, not a break
        (30.0, 2, "a", 0.0, True),  # break 1: 1 → 2
        (30.0, 3, "b", 0.0, True),  # b held by 3 again: no break
        (40.0, 2, "a", 100.0, True),
        (40.0, 5, "a", 50.0, True),  # two tracks on a; the nearer (5) holds it: break 2
        (50.0, 2, "a", 0.0, True),  # break 3: 5 → 2
        (50.0, 6, "a", 300.0, False),  # tentative: ignored
    ])
    table = track_breaks(tracks, truth)
    assert table.to_pylist() == [
        {"object_id": "a", "held_times": 5, "track_ids": 3, "breaks": 3},
        {"object_id": "b", "held_times": 2, "track_ids": 1, "breaks": 0},
        {"object_id": "c", "held_times": 0, "track_ids": 0, "breaks": 0},
    ]
    measures = siap(tracks, truth)
    assert measures.track_breaks_per_object == 1.5  # (3 + 0) / 2 objects ever held
    assert measures.ids_per_object == 2.0  # (3 + 1) / 2, as before
    # 15 (time, truth) pairs, 7 held; 9 confirmed (time, track) pairs, 1 spurious (track 4)
    assert measures.completeness == pytest.approx(7 / 15)
    assert measures.spuriousness == pytest.approx(1 / 9)
    assert measures.ambiguity == pytest.approx(8 / 7)


def test_continuity_of_no_tracks_is_undefined():
    measures = siap(_tracks([]), _truth("a"))
    assert math.isnan(measures.track_breaks_per_object) and math.isnan(measures.ids_per_object)
    assert track_breaks(_tracks([]), _truth("a"))["breaks"].to_pylist() == [0]


def test_gospa_and_siap_position_accuracy_of_tables_by_hand():
    from iadsim.tracking import gospa

    truth = _truth("abc")
    # at 10 s: a held 300 m off, b held 500 m off, c missed; a false track 5 km north of d's place
    tracks = _tracks([(10.0, 1, "a", 300.0, True), (10.0, 2, "b", 500.0, True),
                      (10.0, 3, "d", 5000.0, True), (10.0, 4, "c", 0.0, False)])
    g = gospa(tracks, truth, cutoff_m=1000.0, order=1.0)
    assert g.time_s.tolist() == [10.0] and (g.n_tracks[0], g.n_truths[0]) == (3, 3)
    assert g.localisation[0] == pytest.approx(800.0, abs=2.0)
    assert (g.missed[0], g.false[0]) == (500.0, 500.0)  # c^p/2 each
    assert g.mean_m == pytest.approx(1800.0, abs=2.0)
    s = siap(tracks, truth, association_distance_m=1000.0)
    assert s.position_accuracy_m == pytest.approx(400.0, abs=1.0)  # mean of 300 and 500
    assert s.accuracy_m == pytest.approx(math.sqrt((300.0**2 + 500.0**2) / 2), abs=1.0)  # their RMS
