"""The viewer shows civil traffic on a flight plan as neutral (civil), not friend."""

from __future__ import annotations

import pyarrow as pa

from iadsim.web.frames import RunFrames


def _picture() -> pa.Table:
    return pa.table({
        "time_s": [0.0, 0.0, 0.0], "node": ["n", "n", "n"], "track_id": [1, 2, 3],
        "lat_deg": [54.0, 54.1, 54.2], "lon_deg": [27.0, 27.1, 27.2], "alt_m": [10000.0, 300.0, 5000.0],
        "vel_east_mps": [200.0, 50.0, 100.0], "vel_north_mps": [0.0, 0.0, 0.0],
        "identity": ["friend", "unknown", "friend"], "object_id": ["airliner", "violator", "fighter"],
    })


def test_a_friend_track_of_civil_traffic_on_a_flight_plan_is_shown_neutral():
    frames = RunFrames(None, _picture(), None, None, None, {}, civil_objects=frozenset({"airliner"}))
    shown = {t["object_id"]: t["identity"] for t in frames.picture_at("n", 0.0)}
    # the airliner (flight plan, no IFF) is civil; the own fighter (IFF) stays friend
    assert shown == {"airliner": "neutral", "violator": "unknown", "fighter": "friend"}


def test_without_civil_objects_identities_are_the_nodes():
    frames = RunFrames(None, _picture(), None, None, None, {})
    assert [t["identity"] for t in frames.picture_at("n", 0.0)] == ["friend", "unknown", "friend"]


def test_the_picture_gives_each_tracks_error_ellipse_to_the_viewer():
    table = _picture().append_column("error_major_m", pa.array([900.0, 300.0, 120.0])) \
        .append_column("error_minor_m", pa.array([400.0, 300.0, 60.0])) \
        .append_column("error_bearing_deg", pa.array([30.0, 0.0, 175.0]))
    frames = RunFrames(None, table, None, None, None, {})
    tracks = {t["object_id"]: t for t in frames.picture_at("n", 0.0)}
    assert (tracks["airliner"]["error_major_m"], tracks["airliner"]["error_minor_m"],
            tracks["airliner"]["error_bearing_deg"]) == (900.0, 400.0, 30.0)
    # a run written before the columns existed plays without ellipses
    assert RunFrames(None, _picture(), None, None, None, {}).picture_at("n", 0.0)[0]["error_major_m"] is None
