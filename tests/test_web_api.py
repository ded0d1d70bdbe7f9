"""The JSON API of ``iadsim serve`` over a hand-built run folder: endpoints, limits and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from iadsim.io.run_folder import write_manifest
from iadsim.web import create_app, is_loopback
from iadsim.web.app import MAX_UPLOAD_BYTES, RUN_NAME

from .conftest import MINIMAL

RUN = "minimal-test-scenario-2020-12-31"


def _write_run(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "scenario": "minimal test scenario", "as_of": "2020-12-31", "arrangement": "joint", "seed": 7,
    }), encoding="utf-8")
    (folder / "oob.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [27.5667, 53.9]},
         "properties": {"unit": "blr_1"}}]}), encoding="utf-8")
    pq.write_table(pa.table({
        "time_s": [0.0, 1.0, 2.0], "object_id": ["a1", "a1", "a1"],
        "lat_deg": [53.123456789, 53.2, 53.3], "lon_deg": [23.987654321, 24.0, 24.1],
        "alt_m": [1000.0, 1000.0, float("nan")],
    }), folder / "truth.parquet")
    pq.write_table(pa.table({
        "time_s": [2.0, 0.0, 1.0, 0.0, 1.0],
        "node": ["cp1", "cp1", "cp1", "cp2", "cp2"],
        "track_id": [5, 5, 5, 9, 9],
        "lat_deg": [53.333333333, 53.111111111, 53.222222222, 53.0, 53.1],
        "lon_deg": [24.1, 23.9, 24.0, 23.9, 24.0],
        "alt_m": [1000.0] * 5, "vel_east_mps": [200.0] * 5, "vel_north_mps": [0.0] * 5,
        "identity": ["hostile"] * 5, "sources": [["r1"], ["r1"], ["r1", "r2"], ["r2"], ["r2"]],
        "object_id": ["a1"] * 5,
    }), folder / "picture.parquet")
    pq.write_table(pa.table({"time_s": [1.5], "fire_unit": ["fu1"], "object_id": ["a1"]}),
                   folder / "engagements.parquet")
    pq.write_table(pa.table({"time_s": [0.5], "node": ["cp1"], "event": ["track_reported"]}),
                   folder / "c2_events.parquet")
    pq.write_table(pa.table({"object_id": ["a1"], "outcome": ["killed"]}), folder / "outcomes.parquet")
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


def test_runs_lists_the_run_with_its_summary(client):
    response = client.get("/api/runs")
    assert response.status_code == 200
    [entry] = response.json()
    assert entry["name"] == RUN
    assert (entry["scenario"], entry["as_of"], entry["arrangement"]) == (
        "minimal test scenario", "2020-12-31", "joint")
    assert "error" not in entry
    assert set(entry["layers"]) == {"units", "truth", "picture", "engagements", "events", "outcomes"}


def test_half_written_and_corrupt_runs_are_listed_with_an_error(root, client):
    (root / "half").mkdir()
    (root / "half" / "summary.json").write_text('{"scenario": "cut of', encoding="utf-8")
    (root / "listy").mkdir()
    (root / "listy" / "summary.json").write_text("[1, 2]", encoding="utf-8")
    (root / "no-summary").mkdir()
    pq.write_table(pa.table({"time_s": [0.0]}), root / "no-summary" / "truth.parquet")
    for name in ("half", "listy", "no-summary"):
        _seal(root / name)
    (root / "not-a-run").mkdir()  # holds none of a run's files: not listed
    (root / "interrupted").mkdir()  # a run's files but no manifest: not a run, not listed
    (root / "interrupted" / "summary.json").write_text('{"scenario": "x"}', encoding="utf-8")
    pq.write_table(pa.table({"time_s": [0.0]}), root / "interrupted" / "truth.parquet")
    (root / "stray.txt").write_text("x", encoding="utf-8")
    response = client.get("/api/runs")
    assert response.status_code == 200
    by_name = {e["name"]: e for e in response.json()}
    assert set(by_name) == {RUN, "half", "listy", "no-summary"}
    assert "half-written" in by_name["half"]["error"]
    assert "not a JSON object" in by_name["listy"]["error"]
    assert "no summary.json" in by_name["no-summary"]["error"]
    assert client.get("/api/runs/half/summary").status_code == 422
    assert client.get("/api/runs/interrupted/summary").status_code == 404


def test_summary(client):
    response = client.get(f"/api/runs/{RUN}/summary")
    assert response.status_code == 200 and response.json()["seed"] == 7


def test_units_layer_is_the_oob_geojson(client):
    body = client.get(f"/api/runs/{RUN}/layers/units").json()
    assert body["geojson"]["type"] == "FeatureCollection"
    assert body["geojson"]["features"][0]["properties"]["unit"] == "blr_1"


def test_truth_rows_are_rounded_and_nan_is_null(client):
    body = client.get(f"/api/runs/{RUN}/layers/truth").json()
    assert body["total"] == 3 and body["returned"] == 3 and body["truncated"] is False
    first = body["rows"][0]
    assert first["lat_deg"] == 53.12346 and first["lon_deg"] == 23.98765
    assert body["rows"][2]["alt_m"] is None


@pytest.mark.parametrize("layer, rows", [("engagements", 1), ("events", 1), ("outcomes", 1), ("picture", 5)])
def test_every_parquet_layer(client, layer, rows):
    response = client.get(f"/api/runs/{RUN}/layers/{layer}")
    assert response.status_code == 200
    assert response.json()["layer"] == layer and len(response.json()["rows"]) == rows


def test_limit_caps_rows_and_says_so(client):
    body = client.get(f"/api/runs/{RUN}/layers/picture", params={"limit": 2}).json()
    assert body == {**body, "total": 5, "returned": 2, "limit": 2, "truncated": True}
    assert len(body["rows"]) == 2
    assert client.get(f"/api/runs/{RUN}/layers/picture", params={"limit": 0}).status_code == 422
    assert client.get(f"/api/runs/{RUN}/layers/picture", params={"limit": 10**9}).status_code == 422


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 200_000])
def test_a_layer_streamed_in_batches_is_the_same_json(client, monkeypatch, limit):
    """Batches of 2 rows (the server's are 2,000): the rows, their order and the header as one."""
    from iadsim.web import app as web_app

    whole = client.get(f"/api/runs/{RUN}/layers/picture", params={"limit": limit})
    monkeypatch.setattr(web_app, "STREAM_BATCH_ROWS", 2)
    batched = client.get(f"/api/runs/{RUN}/layers/picture", params={"limit": limit})
    assert batched.status_code == 200 and batched.headers["content-type"] == "application/json"
    assert batched.json() == whole.json()
    assert len(batched.json()["rows"]) == min(limit, 5)
    assert list(batched.json()) == ["layer", "total", "returned", "limit", "truncated", "columns", "rows"]


def test_a_layer_with_no_rows_is_an_empty_list(client, root):
    pq.write_table(pa.table({"time_s": pa.array([], pa.float64())}), root / RUN / "engagements.parquet")
    _seal(root / RUN)
    body = client.get(f"/api/runs/{RUN}/layers/engagements").json()
    assert body["rows"] == [] and body["total"] == 0 and body["truncated"] is False


def test_a_table_is_read_once_for_many_requests_and_again_when_rewritten(client, root, monkeypatch):
    from iadsim.web import app as web_app

    reads = []
    read_table = web_app.pq.read_table
    monkeypatch.setattr(web_app.pq, "read_table", lambda path, **kw: reads.append(path) or read_table(path, **kw))
    for _ in range(3):
        assert client.get(f"/api/runs/{RUN}/layers/truth").status_code == 200
    assert len(reads) == 1
    pq.write_table(pa.table({"time_s": [0.0], "object_id": ["b1"], "lat_deg": [53.0], "lon_deg": [24.0],
                             "alt_m": [10.0]}), root / RUN / "truth.parquet")
    _seal(root / RUN)
    body = client.get(f"/api/runs/{RUN}/layers/truth").json()
    assert len(reads) == 2 and body["total"] == 1 and body["rows"][0]["object_id"] == "b1"


def test_picture_filtered_by_node(client):
    body = client.get(f"/api/runs/{RUN}/layers/picture", params={"node": "cp2"}).json()
    assert body["total"] == 2 and {r["node"] for r in body["rows"]} == {"cp2"}
    assert body["rows"][0]["sources"] == ["r2"]
    assert client.get(f"/api/runs/{RUN}/layers/truth", params={"node": "cp2"}).status_code == 400
    unknown = client.get(f"/api/runs/{RUN}/layers/picture", params={"node": "cp9"})
    assert unknown.status_code == 404 and "cp9" in unknown.json()["detail"]


def test_unknown_layer_is_404(client):
    response = client.get(f"/api/runs/{RUN}/layers/secrets")
    assert response.status_code == 404 and "layers:" in response.json()["detail"]


def test_track_history_in_time_order(client):
    response = client.get(f"/api/runs/{RUN}/tracks/cp1/5")
    assert response.status_code == 200
    body = response.json()
    assert body["points"] == 3
    assert [r["time_s"] for r in body["rows"]] == [0.0, 1.0, 2.0]
    assert body["rows"][0]["lat_deg"] == 53.11111
    assert client.get(f"/api/runs/{RUN}/tracks/cp2/5").status_code == 404
    assert client.get(f"/api/runs/{RUN}/tracks/cp1/77").status_code == 404


def test_basemap_is_the_bundled_borders(client):
    response = client.get("/api/basemap")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.json()["type"] == "FeatureCollection" and response.json()["features"]


def test_bundled_scenarios(client):
    ids = {s["id"] for s in client.get("/api/scenarios").json()}
    assert "reference-2020" in ids


def test_unknown_run_is_404_with_a_message(client):
    response = client.get("/api/runs/no-such-run/summary")
    assert response.status_code == 404 and "no-such-run" in response.json()["detail"]
    assert client.get("/api/runs/no-such-run/layers/truth").status_code == 404


def test_missing_layer_file_is_404(root, client):
    (root / RUN / "outcomes.parquet").unlink()
    response = client.get(f"/api/runs/{RUN}/layers/outcomes")
    assert response.status_code == 404 and "outcomes.parquet" in response.json()["detail"]


@pytest.mark.parametrize("path", [
    "/api/runs/../summary",
    "/api/runs/%2E%2E/summary",
    "/api/runs/%2e%2e%2f%2e%2e%2fetc/summary",
    "/api/runs/..%2F..%2Fetc/summary",
    "/api/runs/%252e%252e/summary",
    "/api/runs/.hidden/summary",
    "/api/runs/a..b/summary",
    "/api/runs/%00/summary",
    "/api/runs/x%5C..%5C/summary",
])
def test_path_traversal_is_refused(tmp_path, client, path):
    (tmp_path / "summary.json").write_text('{"scenario": "outside root"}', encoding="utf-8")
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert "outside root" not in response.text


def test_symlink_out_of_root_is_refused(tmp_path, root, client):
    outside = tmp_path / "outside"
    _write_run(outside)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    assert client.get("/api/runs/linked/summary").status_code == 404
    assert "linked" not in {e["name"] for e in client.get("/api/runs").json()}


def test_run_name_pattern():
    assert RUN_NAME.fullmatch(RUN) and RUN_NAME.fullmatch("run_1.v2")
    for bad in ("..", ".", "a/b", "a..b", ".x", "x.", "a b", "a\\b", ""):
        assert not RUN_NAME.fullmatch(bad), bad


@pytest.mark.parametrize("content", [b"PAR1 this is not parquet", b"", b"PAR1\x00\x00"])
def test_corrupt_parquet_is_422_not_500(root, client, content):
    (root / RUN / "truth.parquet").write_bytes(content)
    response = client.get(f"/api/runs/{RUN}/layers/truth")
    assert response.status_code == 422 and "corrupt or half-written" in response.json()["detail"]


def test_half_written_parquet_is_422(root, client):
    path = root / RUN / "picture.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert client.get(f"/api/runs/{RUN}/layers/picture").status_code == 422
    assert client.get(f"/api/runs/{RUN}/tracks/cp1/5").status_code == 422


def test_corrupt_geojson_is_422(root, client):
    (root / RUN / "oob.geojson").write_text("{not json", encoding="utf-8")
    assert client.get(f"/api/runs/{RUN}/layers/units").status_code == 422


def test_validate_a_valid_upload(client):
    response = client.post("/api/scenarios/validate", content=MINIMAL.encode(),
                           headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "errors": []}


def test_validate_reports_schema_errors_with_lines(client):
    text = MINIMAL.replace("seed: 7", "seed: seven")
    body = client.post("/api/scenarios/validate", content=text.encode()).json()
    assert body["ok"] is False
    [err] = body["errors"]
    assert err["path"] == ["seed"] and err["file"] == "upload.yaml"
    assert err["line"] == MINIMAL.splitlines().index("seed: 7") + 1


@pytest.mark.parametrize("text, words", [
    ("name: [unclosed", "malformed YAML"),
    ("", "empty"),
    ("- a list\n- not a mapping\n", "mapping"),
    ("x: !!python/object/apply:os.system ['echo hi']\n", ""),
    ("a: &a [1]\nb: *a\n", ""),
])
def test_validate_malformed_uploads_give_errors_not_500(client, text, words):
    response = client.post("/api/scenarios/validate", content=text.encode())
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["errors"]
    assert any(words in e["message"] for e in body["errors"])


@pytest.mark.parametrize("include", ["/etc/passwd", "../../secret.yaml", "sub/file.yaml"])
def test_uploads_may_include_only_bundled_names(client, include):
    body = client.post("/api/scenarios/validate", content=f"include: [{include}]\nname: x\n".encode()).json()
    assert body["ok"] is False
    [err] = body["errors"]
    assert "only bundled" in err["message"] and err["given"] == include


def test_upload_including_the_bundled_reference_is_read(client):
    body = client.post("/api/scenarios/validate", content=b"include: [reference]\nseed: nope\n").json()
    assert body["ok"] is False
    assert any(e["path"] == ["seed"] for e in body["errors"])


def test_oversized_upload_is_413(client):
    big = b"# " + b"x" * MAX_UPLOAD_BYTES + b"\nname: x\n"
    assert client.post("/api/scenarios/validate", content=big).status_code == 413


def test_oversized_streamed_upload_is_413(client):
    def chunks():
        for _ in range(MAX_UPLOAD_BYTES // 65536 + 2):
            yield b"#" * 65536

    assert client.post("/api/scenarios/validate", content=chunks()).status_code == 413


@pytest.mark.parametrize("content", [b"\xff\xfe name: x", b"name: x\x00"])
def test_binary_or_non_utf8_upload_is_400(client, content):
    assert client.post("/api/scenarios/validate", content=content).status_code == 400


def test_token_is_required_on_every_api_call(root):
    client = TestClient(create_app(root, token="s3cret-token"))
    paths = ["/api/runs", f"/api/runs/{RUN}/summary", f"/api/runs/{RUN}/layers/truth",
             f"/api/runs/{RUN}/tracks/cp1/5", "/api/basemap", "/api/scenarios", "/api/nonexistent"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers={"Authorization": "s3cret-token"}).status_code == 401
    assert client.post("/api/scenarios/validate", content=MINIMAL.encode()).status_code == 401
    auth = {"Authorization": "Bearer s3cret-token"}
    for path in paths[:-1]:
        assert client.get(path, headers=auth).status_code == 200, path
    assert client.post("/api/scenarios/validate", content=MINIMAL.encode(), headers=auth).json()["ok"]


def test_no_token_means_open_api(client):
    assert client.get("/api/runs").status_code == 200


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.1.2.3", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False), ("::", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_serve_refuses_a_missing_folder(tmp_path):
    from typer.testing import CliRunner

    from iadsim.cli import app

    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "not a folder of runs" in result.output


@pytest.mark.parametrize("name", ["..", "../runs", "../../etc", "/etc", "a/../..", ".", "x" * 200])
def test_run_lookup_refuses_names_outside_root(root, name):
    from fastapi import HTTPException

    from iadsim.web.app import _Runs

    with pytest.raises(HTTPException) as info:
        _Runs(root).folder(name)
    assert info.value.status_code == 404


def test_layer_and_track_names_cannot_traverse(client):
    for path in [f"/api/runs/{RUN}/layers/..%2Fsummary.json", f"/api/runs/{RUN}/layers/%2E%2E",
                 f"/api/runs/{RUN}/tracks/%2E%2E/5", f"/api/runs/{RUN}/tracks/cp1/..%5C..%5Cx"]:
        assert client.get(path).status_code == 404, path


def test_lone_surrogates_in_uploads_and_summaries_are_escaped_not_500(root, client):
    response = client.post("/api/scenarios/validate", content=b'{"\\ud800\\udc00": null}')
    assert response.status_code == 200 and response.json()["ok"] is False
    (root / RUN / "summary.json").write_text('{"scenario": "\\ud800"}', encoding="utf-8")
    response = client.get(f"/api/runs/{RUN}/summary")
    assert response.status_code == 200 and response.json()["scenario"] == "\\ud800"
    assert client.get("/api/runs").status_code == 200


# -- the upload and the folder's scenarios get what iadsim validate says (check_scenario) ------------

_FAST_UPLOAD = ("name: too fast\ninclude: [reference]\nas_of: 2020-12-31\narrangement: joint\n"
                "duration_s: 600\ntraffic:\n  flights:\n    violator:\n      type: generic_light_aircraft\n"
                "      nation: LTU\n      speed_kmh: 2000\n      alt_m: 3000\n      route:\n"
                "        - {lat_deg: 54.95, lon_deg: 25.45}\n        - {place: minsk}\n")
_ORPHAN_UPLOAD = ("name: orphan radar brigade\ninclude: [reference]\nas_of: 2020-12-31\n"
                  "arrangement: national\nduration_s: 60\nunits:\n  blr_8_rtb:\n    parent: null\n")


@pytest.mark.parametrize(("text", "path", "line", "column", "words"), [
    (_FAST_UPLOAD, ["traffic", "flights", "violator", "speed_kmh"], 11, 7, "is faster than"),
    (_ORPHAN_UPLOAD, ["units", "blr_8_rtb", "parent"], 8, 5, "unit 'blr_8_rtb' has no commander"),
])
def test_validate_upload_refuses_what_a_run_would_once_with_its_line(client, text, path, line, column, words):
    body = client.post("/api/scenarios/validate", content=text.encode()).json()
    assert body["ok"] is False
    [err] = body["errors"]
    assert err["path"] == path and (err["file"], err["line"], err["column"]) == ("upload.yaml", line, column)
    assert words in err["message"]


def test_the_folder_scenario_list_names_what_a_run_would_refuse(root, client):
    (root / "fast.yaml").write_text(_FAST_UPLOAD, encoding="utf-8")
    listed = {s["id"]: s for s in client.get("/api/scenarios").json()}
    error = listed["fast.yaml"]["error"]
    assert error.startswith("fast.yaml:11:7: traffic.flights.violator.speed_kmh: 2,000 km/h is faster")
    assert str(root) not in error
    (root / "fast.yaml").write_text(_FAST_UPLOAD.replace("speed_kmh: 2000", "speed_kmh: 200"),
                                    encoding="utf-8")
    listed = {s["id"]: s for s in client.get("/api/scenarios").json()}
    assert "error" not in listed["fast.yaml"]


def test_rows_made_json_safe_by_column_are_those_made_safe_by_value():
    """NaN and infinities null, latitude and longitude rounded, in Arrow; other types by value."""
    import datetime as dt

    from iadsim.web.app import _jsonable, _rows

    table = pa.table({"lat_deg": [53.123456789, float("nan")], "x": [float("inf"), -1.5],
                      "n": [1, None], "s": ["é", None], "l": [["a"], []], "ok": [True, False]})
    assert _rows(table) == [{"lat_deg": 53.12346, "x": None, "n": 1, "s": "é", "l": ["a"], "ok": True},
                            {"lat_deg": None, "x": -1.5, "n": None, "s": None, "l": [], "ok": False}]
    dated = table.append_column("d", pa.array([dt.date(2020, 1, 2), None]))
    assert _rows(dated)[0]["d"] == _jsonable(dt.date(2020, 1, 2)) == "2020-01-02"
    assert _rows(dated)[0]["x"] is None and _rows(dated)[0]["lat_deg"] == 53.12346
