"""The viewer's API: playback frames, timeline, coverage, object paths, folder scenarios, background runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

import iadsim
from iadsim.io.run_folder import write_manifest
from iadsim.web import create_app
from iadsim.web.frames import Samples

from .conftest import free_port

RUN = "playback-2020-12-31"


def _write_run(folder: Path) -> None:
    """A run with two objects, two nodes' pictures, a fighter and two engagements, all at known times."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"scenario": "playback", "as_of": "2020-12-31",
                                                     "arrangement": "wartime"}), encoding="utf-8")
    (folder / "oob.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [27.5, 53.9]},
         "properties": {"unit_id": "fu1", "kind": "sam_battery", "nation": "BLR"}},
        {"type": "Feature", "geometry": None, "properties": {"unit_id": "nowhere"}}]}), encoding="utf-8")
    # a1 flies east from t=0 to t=50 (samples every 10 s); a2 from t=20 to t=100
    t1 = np.arange(0.0, 60.0, 10.0)
    t2 = np.arange(20.0, 110.0, 10.0)
    pq.write_table(pa.table({
        "time_s": np.concatenate([t2, t1]),  # not sorted: the reader sorts
        "object_id": pa.array(["a2"] * len(t2) + ["a1"] * len(t1)).dictionary_encode(),
        "type": ["uav"] * len(t2) + ["fighter"] * len(t1),
        "nation": ["XXX"] * (len(t1) + len(t2)),
        "lat_deg": np.concatenate([np.full(len(t2), 54.0), np.full(len(t1), 53.0)]),
        "lon_deg": np.concatenate([24.0 + t2 / 100.0, 23.0 + t1 / 100.0]),
        "alt_m": np.full(len(t1) + len(t2), 1000.0),
        "vel_east_mps": np.full(len(t1) + len(t2), 100.0),
        "vel_north_mps": np.concatenate([np.full(len(t2), 100.0), np.zeros(len(t1))]),
    }), folder / "truth.parquet")
    pq.write_table(pa.table({
        "time_s": [0.0, 10.0, 20.0, 30.0, 10.0, 20.0],
        "node": ["cp1", "cp1", "cp1", "cp1", "cp2", "cp2"],
        "track_id": [5, 5, 5, 5, 9, 9],
        "lat_deg": [53.0, 53.0, 53.0, 53.0, 54.0, 54.0],
        "lon_deg": [23.0, 23.1, 23.2, 23.3, 24.1, 24.2],
        "alt_m": [1000.0, 1000.0, 1000.0, 1000.0, None, None],
        "vel_east_mps": [100.0] * 6, "vel_north_mps": [0.0] * 6,
        "identity": ["pending", "unknown", "hostile", "hostile", "unknown", "unknown"],
        "sources": [1, 1, 2, 2, 1, 1], "object_id": ["a1"] * 4 + ["a2"] * 2,
    }), folder / "picture.parquet")
    pq.write_table(pa.table({
        "time_s": [30.0, 40.0, 50.0], "flight_id": ["f1"] * 3, "unit": ["base1"] * 3,
        "aircraft": ["su30sm"] * 3, "lat_deg": [53.5, 53.6, 53.7], "lon_deg": [27.0, 26.9, 26.8],
        "alt_m": [5000.0] * 3, "phase": ["scramble", "intercept", "intercept"],
    }), folder / "interceptors.parquet")
    pq.write_table(pa.table({
        "fire_unit": ["fu1", "ghost", "fu1"], "system": ["tor_m2", "s300ps", "tor_m2"],
        "node": ["cp1"] * 3, "track_id": [5, 5, 9], "object_id": ["a1", "a1", "a2"],
        "order_s": [20.0, 30.0, 90.0], "launch_s": [25.0, 35.0, 95.0], "intercept_s": [40.0, 45.0, 120.0],
        "assess_s": [45.0, 50.0, None], "missiles": [2, 1, 1], "pk": [0.8, 0.6, 0.7],
        "range_km": [10.0, 30.0, 8.0], "killed": [False, True, None],  # the run ends before the last
    }), folder / "engagements.parquet")
    pq.write_table(pa.table({
        "time_s": [12.0, 5.0, 31.0], "kind": ["declared_unknown", "track_initiated", "fire_order"],
        "node": ["cp1"] * 3, "subject": ["track 5", "track 5", "fu1"], "track_id": [5, 5, 5],
        "object_id": ["a1"] * 3, "detail": ["", "", "salvo"],
    }), folder / "c2_events.parquet")
    _seal(folder)


def _seal(folder: Path) -> None:
    """Make a folder written by hand a finished run: its manifest, through the contract."""
    write_manifest(folder, {"scenario_hash": "0" * 64, "seed": 7, "replication": 0, "arrangement": "joint"})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    out = tmp_path / "runs"
    _write_run(out / RUN)
    return out


@pytest.fixture
def client(root: Path) -> TestClient:
    return TestClient(create_app(root))


def _frame(client: TestClient, t: float, *nodes: str) -> dict:
    response = client.get(f"/api/runs/{RUN}/frame", params={"t": t, "node": list(nodes)})
    assert response.status_code == 200, response.text
    return response.json()


def test_timeline_gives_the_span_step_nodes_layers_and_events_in_time_order(client):
    body = client.get(f"/api/runs/{RUN}/timeline").json()
    assert (body["start_s"], body["end_s"], body["step_s"]) == (0.0, 100.0, 10.0)
    assert body["nodes"] == ["cp1", "cp2"]
    assert body["layers"] == {"truth": True, "picture": True, "engagements": True, "interceptors": True,
                              "coverage": False, "units": True}
    assert [e["time_s"] for e in body["events"]] == [5.0, 12.0, 31.0]
    assert body["events"][2] == {"time_s": 31.0, "kind": "fire_order", "node": "cp1", "subject": "fu1",
                                 "object_id": "a1", "detail": "salvo", "track_id": 5}
    assert body["events_truncated"] is False


def test_truth_at_a_time_is_each_objects_latest_sample_with_speed_and_heading(client):
    frame = _frame(client, 34.0)
    by_id = {o["object_id"]: o for o in frame["truth"]}
    assert set(by_id) == {"a1", "a2"}
    assert by_id["a1"]["lon_deg"] == pytest.approx(23.3)  # the sample at 30 s, not 40 s
    assert by_id["a1"]["speed_mps"] == pytest.approx(100.0)
    assert by_id["a1"]["heading_deg"] == pytest.approx(90.0)
    assert by_id["a2"]["speed_mps"] == pytest.approx(141.4, abs=0.1)
    assert by_id["a2"]["heading_deg"] == pytest.approx(45.0)
    assert by_id["a2"]["type"] == "uav"


def test_objects_appear_at_their_first_sample_and_go_one_interval_after_their_last(client):
    assert {o["object_id"] for o in _frame(client, 15.0)["truth"]} == {"a1"}
    # a1's last sample is at 50 s: logged every 10 s, it would have one at 60 s were it still there
    assert {o["object_id"] for o in _frame(client, 59.9)["truth"]} == {"a1", "a2"}
    assert {o["object_id"] for o in _frame(client, 60.0)["truth"]} == {"a2"}
    assert _frame(client, -5.0)["truth"] == []
    assert _frame(client, 1000.0)["truth"] == []


def test_pictures_come_per_node_asked_for_with_identity_and_age(client):
    frame = _frame(client, 24.0, "cp1", "cp2")
    [track] = frame["picture"]["cp1"]
    assert (track["track_id"], track["identity"], track["sources"], track["object_id"]) == (5, "hostile", 2, "a1")
    assert track["age_s"] == pytest.approx(4.0)
    assert track["lon_deg"] == pytest.approx(23.2)
    [other] = frame["picture"]["cp2"]
    assert other["alt_m"] is None  # a 2D track has no altitude
    assert set(_frame(client, 24.0)["picture"]) == set()


def test_a_dropped_track_leaves_the_picture(client):
    assert _frame(client, 54.0, "cp1")["picture"]["cp1"]  # last update 30 s, interval 10 s
    assert _frame(client, 56.0, "cp1")["picture"]["cp1"] == []


def test_an_unknown_node_is_refused_naming_the_nodes(client):
    response = client.get(f"/api/runs/{RUN}/frame", params={"t": 10, "node": ["cp9"]})
    assert response.status_code == 404
    assert "cp9" in response.json()["detail"] and "cp1, cp2" in response.json()["detail"]


def test_fighters_are_shown_while_airborne_with_their_phase(client):
    assert _frame(client, 20.0)["interceptors"] == []
    [fighter] = _frame(client, 45.0)["interceptors"]
    assert (fighter["flight_id"], fighter["phase"], fighter["lat_deg"]) == ("f1", "intercept", 53.6)


def test_engagements_go_from_in_flight_to_their_result_and_leave_after_a_minute(client):
    assert _frame(client, 20.0)["engagements"] == []
    [flying] = _frame(client, 30.0)["engagements"]
    assert flying["state"] == "in_flight"
    assert (flying["unit_lat_deg"], flying["unit_lon_deg"]) == (53.9, 27.5)
    assert flying["target_lon_deg"] == pytest.approx(23.3)  # the target's position at 30 s
    states = {e["fire_unit"]: e for e in _frame(client, 60.0)["engagements"]}
    assert states["fu1"]["state"] == "missed"
    assert states["ghost"]["state"] == "killed"
    assert states["ghost"]["unit_lat_deg"] is None  # a unit without a public location: no line start
    assert states["fu1"]["target_lon_deg"] == pytest.approx(23.4)  # where the missiles arrived (40 s)
    assert [(e["fire_unit"], e["state"]) for e in _frame(client, 101.0)["engagements"]] == [
        ("ghost", "killed"), ("fu1", "in_flight")]
    assert [e["state"] for e in _frame(client, 121.0)["engagements"]] == ["unassessed"]
    assert _frame(client, 181.0)["engagements"] == []


def test_a_frame_lists_the_events_of_the_last_minute(client):
    assert [e["kind"] for e in _frame(client, 31.0)["events"]] == ["track_initiated", "declared_unknown",
                                                                   "fire_order"]
    assert [e["kind"] for e in _frame(client, 72.0)["events"]] == ["fire_order"]  # (12, 72]


def test_object_history_is_the_truth_path_in_time_order(client):
    body = client.get(f"/api/runs/{RUN}/objects/a1").json()
    assert body["points"] == 6
    assert [r["time_s"] for r in body["rows"]] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert client.get(f"/api/runs/{RUN}/objects/zz").status_code == 404
    assert client.get(f"/api/runs/{RUN}/objects/..%2Fetc").status_code == 404


def test_frames_follow_a_rewritten_run(root, client):
    assert len(_frame(client, 15.0)["truth"]) == 1
    table = pq.read_table(root / RUN / "truth.parquet")
    pq.write_table(table.filter(pa.compute.equal(pa.compute.cast(table["object_id"], pa.string()), "a2")),
                   root / RUN / "truth.parquet")
    assert _frame(client, 15.0)["truth"] == []


@pytest.mark.parametrize("name", ["picture.parquet", "engagements.parquet", "interceptors.parquet",
                                  "c2_events.parquet", "truth.parquet"])
def test_a_corrupt_table_is_left_out_and_named_while_the_rest_plays(root, client, name):
    (root / RUN / name).write_bytes(b"PAR1 cut short")
    body = client.get(f"/api/runs/{RUN}/timeline").json()
    [problem] = body["problems"]
    assert problem.startswith(f"{name} is left out") and "corrupt or half-written" in problem
    layer = {"picture.parquet": "picture", "engagements.parquet": "engagements",
             "interceptors.parquet": "interceptors", "truth.parquet": "truth"}.get(name)
    assert all(present == (key != layer) for key, present in body["layers"].items() if key not in
               ("coverage",))
    frame = _frame(client, 30.0)
    assert (frame["truth"] == []) == (name == "truth.parquet")
    assert (frame["engagements"] == []) == (name == "engagements.parquet")
    assert (frame["events"] == []) == (name == "c2_events.parquet")
    if name == "picture.parquet":
        assert client.get(f"/api/runs/{RUN}/frame", params={"t": 10, "node": ["cp1"]}).status_code == 404
    if layer in ("truth", "picture", "engagements"):  # the raw table is still refused as it is
        assert client.get(f"/api/runs/{RUN}/layers/{layer}").status_code == 422


def test_a_corrupt_order_of_battle_leaves_engagements_without_their_units(root, client):
    (root / RUN / "oob.geojson").write_text('{"type": "FeatureCollection", "feat', encoding="utf-8")
    [problem] = client.get(f"/api/runs/{RUN}/timeline").json()["problems"]
    assert problem.startswith("oob.geojson is left out")
    [flying] = _frame(client, 30.0)["engagements"]
    assert flying["unit_lat_deg"] is None and flying["target_lon_deg"] == pytest.approx(23.3)


def test_truth_without_a_usable_time_is_left_out_and_named(root, client):
    truth = pq.read_table(root / RUN / "truth.parquet")
    pq.write_table(truth.set_column(0, "time_s", pa.array([float("nan")] * truth.num_rows)),
                   root / RUN / "truth.parquet")
    body = client.get(f"/api/runs/{RUN}/timeline").json()
    [problem] = body["problems"]
    assert "truth.parquet cannot be played back" in problem and "finite time_s" in problem
    assert body["layers"]["truth"] is False and (body["start_s"], body["end_s"]) == (0.0, 30.0)  # picture's
    assert client.get(f"/api/runs/{RUN}/objects/a1").status_code == 404


def test_a_time_that_is_not_a_finite_number_is_refused_as_such(client):
    for bad in ("nan", "inf", "-inf"):
        response = client.get(f"/api/runs/{RUN}/frame", params={"t": bad})
        assert response.status_code == 422
        assert "finite number" in json.dumps(response.json()["detail"])


def test_the_track_history_is_in_time_order_even_with_times_stored_as_text(root, client):
    picture = pq.read_table(root / RUN / "picture.parquet")
    times = pa.array(["100", "20", "3", "40", "10", "20"])
    pq.write_table(picture.set_column(0, "time_s", times), root / RUN / "picture.parquet")
    body = client.get(f"/api/runs/{RUN}/tracks/cp1/5").json()
    assert [r["time_s"] for r in body["rows"]] == [3.0, 20.0, 40.0, 100.0]


def test_a_table_with_unusable_columns_is_left_out_and_named_while_the_rest_plays(root, client):
    picture = pq.read_table(root / RUN / "picture.parquet")
    picture = picture.set_column(picture.schema.get_field_index("track_id"), "track_id",
                                 pa.array(["x"] * picture.num_rows))
    pq.write_table(picture, root / RUN / "picture.parquet")
    body = client.get(f"/api/runs/{RUN}/timeline").json()
    assert body["nodes"] == [] and body["layers"]["picture"] is False
    [problem] = body["problems"]
    assert problem.startswith("picture.parquet cannot be played back")
    assert len(_frame(client, 34.0)["truth"]) == 2
    assert client.get(f"/api/runs/{RUN}/objects/a1").status_code == 200


def test_sources_as_lists_count_and_rows_without_an_object_are_skipped(root, client):
    picture = pq.read_table(root / RUN / "picture.parquet")
    lists = pa.array([["r1"], ["r1"], ["r1", "r2"], ["r1", "r2"], ["r2"], []])
    pq.write_table(picture.set_column(picture.schema.get_field_index("sources"), "sources", lists),
                   root / RUN / "picture.parquet")
    truth = pq.read_table(root / RUN / "truth.parquet")
    ids = pa.array([None] * truth.num_rows, pa.string())
    pq.write_table(pa.concat_tables([truth.cast(truth.schema.set(1, pa.field("object_id", pa.string()))),
                                     truth.cast(truth.schema.set(1, pa.field("object_id", pa.string())))
                                     .set_column(1, "object_id", ids)]),
                   root / RUN / "truth.parquet")
    frame = _frame(client, 24.0, "cp1", "cp2")
    assert frame["picture"]["cp1"][0]["sources"] == 2 and frame["picture"]["cp2"][0]["sources"] == 0
    assert {o["object_id"] for o in frame["truth"]} == {"a1", "a2"}
    assert client.get(f"/api/runs/{RUN}/timeline").json()["problems"] == []


def test_a_run_without_simulation_plays_nothing(root, client):
    (root / "oob-only").mkdir()
    (root / "oob-only" / "summary.json").write_text("{}", encoding="utf-8")
    _seal(root / "oob-only")
    body = client.get("/api/runs/oob-only/timeline").json()
    assert (body["start_s"], body["end_s"], body["nodes"]) == (0.0, 0.0, [])
    assert client.get("/api/runs/oob-only/frame", params={"t": 0}).json()["truth"] == []


def _write_coverage(folder: Path) -> None:
    cov = folder / "coverage"
    (cov / "2020-12-31").mkdir(parents=True)
    (cov / "coverage.json").write_text(json.dumps({"dates": ["2019-12-31", "2020-12-31"],
                                                   "layers_m": [100.0, 1000.0]}), encoding="utf-8")
    (cov / "2020-12-31" / "contours.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"quantity": "detected", "altitude_m": 100.0},
         "geometry": {"type": "Polygon", "coordinates": [[[23, 52], [24, 52], [24, 53], [23, 52]]]}}]}),
        encoding="utf-8")


def test_coverage_gives_the_contours_of_the_last_date_with_dates_and_altitudes(root, client):
    assert client.get(f"/api/runs/{RUN}/coverage").status_code == 404
    _write_coverage(root / RUN)
    body = client.get(f"/api/runs/{RUN}/coverage").json()
    assert (body["as_of"], body["dates"], body["layers_m"]) == ("2020-12-31", ["2019-12-31", "2020-12-31"],
                                                                 [100.0, 1000.0])
    assert body["geojson"]["features"][0]["properties"]["quantity"] == "detected"
    missing = client.get(f"/api/runs/{RUN}/coverage", params={"as_of": "2019-12-31"})
    assert missing.status_code == 404 and "2019-12-31" in missing.json()["detail"]
    for bad in ("../../etc", "2021-01-01", "x" * 10):
        assert client.get(f"/api/runs/{RUN}/coverage", params={"as_of": bad}).status_code == 404
    (root / RUN / "coverage" / "coverage.json").write_text('{"dates": "2020-12-31", "layers_m": [100]}',
                                                          encoding="utf-8")
    assert client.get(f"/api/runs/{RUN}/coverage").status_code == 422
    (root / RUN / "coverage" / "coverage.json").write_text("{cut", encoding="utf-8")
    assert client.get(f"/api/runs/{RUN}/coverage").status_code == 422


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60_000_000).map(lambda ms: ms / 1000.0)),
                min_size=1, max_size=40, unique=True),
       st.floats(-5.0, 6.1e4, allow_nan=False))
def test_samples_at_agrees_with_a_direct_search(rows, t):
    """Times to the millisecond over the span of a long run (17 h), where the composite key
    entity·span + time must keep its order (it resolves about 1e-10 s there)."""
    entity = np.array([e for e, _ in rows])
    time_s = np.array([s for _, s in rows])
    samples = Samples.build(entity, time_s, {"row": np.arange(len(rows))}, 5)
    got = {int(samples.entity[r]): int(samples.columns["row"][r]) for r in samples.at(t)}
    want = {}
    for e in range(5):
        mine = [(s, i) for i, (ee, s) in enumerate(rows) if ee == e]
        before = [(s, i) for s, i in mine if s <= t]
        if before and t - max(s for s, _ in mine) < samples.tolerance_s:
            s, i = max(before)
            if t - s < samples.tolerance_s:
                want[e] = i
    assert got == want


def test_scenarios_list_bundled_ones_and_the_files_in_the_folder(root, client):
    (root / "short.yaml").write_text("name: Short one\ndescription: cut\ninclude: [air-policing-violation]\n",
                                     encoding="utf-8")
    (root / "notes.txt").write_text("not a scenario", encoding="utf-8")
    (root / "broken.yaml").write_text("name: [unclosed", encoding="utf-8")
    listed = {s["id"]: s for s in client.get("/api/scenarios").json()}
    assert listed["air-policing-violation"]["source"] == "bundled"
    assert listed["short.yaml"] == {"id": "short.yaml", "name": "Short one", "description": "cut",
                                    "source": "folder"}
    assert listed["broken.yaml"]["name"] == "broken.yaml"
    assert "malformed YAML" in listed["broken.yaml"]["error"] and "broken.yaml:1" in listed["broken.yaml"]["error"]
    assert "error" not in listed["air-policing-violation"]
    assert "notes.txt" not in listed


def test_a_file_that_would_crash_a_yaml_reader_is_listed_with_its_error(root, client):
    (root / "loop.yaml").write_text("a: &a [*a]\n", encoding="utf-8")
    (root / "deep.yaml").write_text("[" * 2000 + "\n", encoding="utf-8")
    listed = {s["id"]: s for s in client.get("/api/scenarios").json()}
    assert "nest more than 64 levels" in listed["loop.yaml"]["error"]
    assert "nest more than 64 levels" in listed["deep.yaml"]["error"]
    check = client.post("/api/scenarios/validate", content="a: &a [*a]\n",
                        headers={"Content-Type": "text/plain"}).json()
    assert check["ok"] is False and "nest more than 64 levels" in check["errors"][0]["message"]


def test_the_openapi_schema_documents_the_error_answers(client):
    paths = client.get("/openapi.json").json()["paths"]
    frame = paths["/api/runs/{run}/frame"]["get"]["responses"]
    assert {"200", "404", "422"} <= set(frame)
    assert frame["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Message")
    assert set(paths["/api/jobs"]["post"]["responses"]) >= {"202", "403", "404", "409", "422"}
    assert "application/geo+json" in paths["/api/basemap"]["get"]["responses"]["200"]["content"]


def test_the_page_is_served_at_the_root_with_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "static/viewer.js" in page.text
    assert client.get("/static/viewer.js").status_code == 200
    assert client.get("/static/viewer.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/static/viewer.js", "/api/runs", f"/api/runs/{RUN}/frame?t=0", "/api/runs/nope/timeline"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:8000", 200), ("localhost", 200), ("[::1]:8000", 200), ("LOCALHOST:1", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("127.0.0.1.evil.example", 400), ("", 400),
])
def test_a_loopback_server_answers_only_to_loopback_host_names(root, host, status):
    from iadsim.web.app import LOOPBACK_HOSTS

    client = TestClient(create_app(root, allowed_hosts=list(LOOPBACK_HOSTS)))
    response = client.get("/api/runs", headers={"host": host})
    assert response.status_code == status
    if status == 400:
        assert "wrong Host header" in response.json()["detail"]


def test_the_token_holds_behind_a_proxy_prefix_and_there_are_no_cdn_docs(root):
    client = TestClient(create_app(root, token="t" * 20), root_path="/iad")
    assert client.get("/iad/api/runs").status_code == 401
    assert client.get("/iad/api/runs", headers={"Authorization": "Bearer " + "t" * 20}).status_code == 200
    plain = TestClient(create_app(root))
    assert plain.get("/docs").status_code == 404 and plain.get("/redoc").status_code == 404
    assert plain.get("/openapi.json").status_code == 200


def test_the_page_and_assets_need_no_token_but_the_api_does(root):
    client = TestClient(create_app(root, token="s3cret-token-0123456789"))
    assert client.get("/").status_code == 200
    assert client.get("/static/viewer.js").status_code == 200
    assert client.get(f"/api/runs/{RUN}/frame", params={"t": 0}).status_code == 401
    assert client.post("/api/jobs", json={"scenario": "air-policing-violation"}).status_code == 401


def _wait(client: TestClient, job_id: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout_s} s")


SHORT = "name: Short violation\ndescription: two minutes\ninclude: [air-policing-violation]\nduration_s: 120\n"


def test_a_background_run_reports_progress_and_its_run_appears(root, client):
    (root / "short.yaml").write_text(SHORT, encoding="utf-8")
    response = client.post("/api/jobs", json={"scenario": "short.yaml", "arrangement": "national"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["scenario"], job["state"], job["arrangement"], job["coverage"]) == (
        "short.yaml", "running", "national", False)
    busy = client.post("/api/jobs", json={"scenario": "air-policing-violation"})
    assert busy.status_code == 409 and "one run at a time" in busy.json()["detail"]
    done = _wait(client, job["id"])
    assert done["state"] == "done", done
    assert done["run"] == "short-violation-2020-12-31"
    # the report is rendered into the run folder before it is published: the last phase
    assert done["fraction"] == 1.0 and done["phase"] == "report"
    runs = {r["name"]: r for r in client.get("/api/runs").json()}
    assert runs["short-violation-2020-12-31"]["arrangement"] == "national"
    assert client.get("/api/runs/short-violation-2020-12-31/timeline").json()["end_s"] > 100
    assert [j["id"] for j in client.get("/api/jobs").json()] == [job["id"]]
    assert not [p for p in root.iterdir() if p.name.startswith(".job-")]  # its work folder is gone
    # the same scenario again does not overwrite the first run: it gets a new name
    again = _wait(client, client.post("/api/jobs", json={"scenario": "short.yaml"}).json()["id"])
    assert again["run"] == "short-violation-2020-12-31-2"
    runs = {r["name"]: r for r in client.get("/api/runs").json()}
    assert runs["short-violation-2020-12-31"]["arrangement"] == "national"
    assert runs["short-violation-2020-12-31-2"]["arrangement"] == "joint"


def test_a_failing_run_reports_its_error_message(root, client):
    (root / "bad.yaml").write_text("name: Bad\ninclude: [air-policing-violation]\nduration_s: -5\n",
                                   encoding="utf-8")
    job = client.post("/api/jobs", json={"scenario": "bad.yaml"}).json()
    done = _wait(client, job["id"])
    assert done["state"] == "failed"
    assert "duration_s" in done["message"]
    assert "Traceback" not in done["message"]


def test_a_crashed_run_shows_its_last_line_never_a_traceback():
    from iadsim.web.jobs import _failure_message

    crash = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
             "RecursionError: maximum recursion depth exceeded"]
    for stderr in (crash, crash[1:]):  # the header may have scrolled out of the kept lines
        message = _failure_message(stderr, 1)
        assert "Traceback" not in message and 'File "' not in message
        assert "RecursionError: maximum recursion depth exceeded" in message and "bug in iadsim" in message
    assert _failure_message(["bad.yaml:3:13: duration_s: must be positive"], 2) == (
        "bad.yaml:3:13: duration_s: must be positive")
    assert _failure_message([], 9) == "iadsim run exited with code 9"


def test_a_running_job_can_be_cancelled_and_its_child_ends(root):
    app = create_app(root)
    client = TestClient(app)
    job = client.post("/api/jobs", json={"scenario": "mixed-raid"}).json()
    cancelled = client.delete(f"/api/jobs/{job['id']}").json()
    assert cancelled["state"] == "cancelled"
    manager = app.state.jobs
    process = manager.get(job["id"]).process
    assert process.wait(timeout=30) is not None  # the child was terminated
    deadline = time.monotonic() + 10
    while any(p.name.startswith(".job-") for p in root.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in root.iterdir() if p.name.startswith(".job-")]
    assert [r["name"] for r in client.get("/api/runs").json()] == [RUN]  # nothing half-written shown
    second = client.post("/api/jobs", json={"scenario": "mixed-raid"})
    assert second.status_code == 202  # free again
    manager.shutdown()
    assert manager.get(second.json()["id"]).process.poll() is not None


@pytest.mark.parametrize(("body", "status"), [
    ({"scenario": "no-such-scenario"}, 404),
    ({"scenario": "../../etc/passwd.yaml"}, 404),
    ({"scenario": "/etc/passwd"}, 404),
    ({"scenario": "air-policing-violation", "arrangement": "martial"}, 422),
    ({"scenario": "air-policing-violation", "extra": 1}, 422),
    ({"scenario": ""}, 422),
    ({}, 422),
])
def test_job_requests_for_unlisted_scenarios_or_bad_options_are_refused(client, body, status):
    response = client.post("/api/jobs", json=body)
    assert response.status_code == status
    assert client.get("/api/jobs").json() == []


def test_info_says_whether_runs_can_be_started_and_a_token_is_needed(root):
    assert TestClient(create_app(root)).get("/api/info").json() == {
        "version": iadsim.__version__, "jobs": True, "token": False}
    client = TestClient(create_app(root, token="t" * 20, jobs=False))
    assert client.get("/api/info").status_code == 401
    assert client.get("/api/info", headers={"Authorization": "Bearer " + "t" * 20}).json()["jobs"] is False


def test_jobs_can_be_switched_off(root):
    client = TestClient(create_app(root, jobs=False))
    response = client.post("/api/jobs", json={"scenario": "air-policing-violation"})
    assert response.status_code == 403 and "--no-jobs" in response.json()["detail"]
    assert client.get("/api/jobs/1").status_code == 404


@contextmanager
def _serve(root: Path, *args: str) -> Iterator[str]:
    """``iadsim serve`` run as a user starts it, stopped afterwards; yields the URL it printed."""
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "iadsim", "serve", str(root), "--port", str(port), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if "open http" in line:
                    yield line.split("open ", 1)[1].strip()
                    break
            else:
                raise AssertionError("iadsim serve printed no URL")
        finally:
            proc.terminate()
            proc.wait(timeout=10)



def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_with_a_chosen_token_requires_it_and_does_not_print_it(root):
    token = "fixed-token-for/tests&more"
    with _serve(root, "--token", token) as url:
        base, _, fragment = url.partition("#")
        assert fragment == "token=<your token>"
        status, body = _get(base)
        assert status == 200 and b"static/viewer.js" in body
        assert _get(base + "api/runs")[0] == 401
        status, body = _get(base + "api/runs", token)
        assert status == 200 and json.loads(body)[0]["name"] == RUN


def test_serve_on_loopback_needs_no_token_and_refuses_a_short_one(root):
    with _serve(root) as url:
        assert "#" not in url
        assert _get(url + f"api/runs/{RUN}/timeline")[0] == 200
    from typer.testing import CliRunner

    from iadsim.cli import app

    for bad in ("short", "ünïcode-token-0123456789", "with spaces in the token"):
        result = CliRunner().invoke(app, ["serve", str(root), "--token", bad])
        assert result.exit_code == 2 and "at least 16 printable ASCII characters" in result.output


def test_run_reports_progress_as_json_lines(tmp_path):
    (tmp_path / "short.yaml").write_text(SHORT, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "iadsim", "run", str(tmp_path / "short.yaml"), "--out",
                           str(tmp_path), "--no-coverage", "--progress-format", "json"],
                          capture_output=True, text=True, check=True)
    *lines, last = done.stdout.strip().splitlines()
    progress = [json.loads(line) for line in lines]
    assert {p["phase"] for p in progress} == {"simulation", "command and control", "report"}
    assert progress[-1]["phase"] == "report"
    for phase in ("simulation", "command and control", "report"):
        mine = [p for p in progress if p["phase"] == phase]
        assert mine[-1]["done"] == mine[-1]["total"] > 0
        assert [p["done"] for p in mine] == sorted(p["done"] for p in mine)
        assert len(mine) <= 102  # one line per percent at most
    assert last.endswith("report.html") and Path(last).is_file()
    # stderr holds only the run-time estimate said before the run (docs/scenario-language.md)
    assert [line for line in done.stderr.splitlines() if "estimated run time" not in line] == []
