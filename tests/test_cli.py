"""End-to-end tests of each CLI command: exit codes, files written, messages users see."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iadsim.cli import app

from .conftest import MINIMAL

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("iadsim ")


def test_validate_valid_file(write):
    path = write(MINIMAL)
    result = invoke("validate", str(path))
    assert result.exit_code == 0
    assert f"{path}: valid" in result.stdout


def test_validate_states_the_run_s_work_and_warns_of_a_long_run(write):
    path = write(MINIMAL)
    result = invoke("validate", str(path))
    assert result.exit_code == 0
    assert f"{path}: 600 clock steps × " in result.stderr and "estimated run time about" in result.stderr
    assert "warning" not in result.stderr
    # docs/scenario-language.md's example: the mixed raid for 4 hours at a hundredth of a second
    long = write("include: [mixed-raid]\nduration_s: 14400\ntick_s: 0.01\n", "long.yaml")
    result = invoke("validate", str(long))
    assert result.exit_code == 0, result.output
    assert "1,440,000 clock steps × 20 radars and 73 air objects" in result.stderr
    assert "warning: this run is estimated to take about" in result.stderr and "tick_s" in result.stderr


def test_validate_reports_three_errors_with_lines_and_exit_2(write):
    text = (MINIMAL.replace("seed: 7", "seed: seven")
            .replace("lat_deg: 53.9,", "lat_deg: 153.9,")
            .replace("- {place: minsk}", "- {place: minks}"))
    path = write(text)
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert "3 errors" in result.stderr
    lines = text.splitlines()
    for snippet in ("seed: seven", "153.9", "minks"):
        line = next(i for i, ln in enumerate(lines, 1) if snippet in ln)
        assert f"{path}:{line}:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_several_files_reports_each(write):
    good = write(MINIMAL, "good.yaml")
    bad = write("name: x\n", "bad.yaml")
    result = invoke("validate", str(good), str(bad))
    assert result.exit_code == 2
    assert f"{good}: valid" in result.stdout
    assert f"{bad}:" in result.stderr and "as_of" in result.stderr


def test_scenarios_lists_bundled_with_one_line_each():
    result = invoke("scenarios")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("reference-2020 (default):") for line in lines)
    assert len(lines) >= 3


def test_oob_table(write):
    result = invoke("oob", str(write(MINIMAL)), "--as-of", "2020-12-31")
    assert result.exit_code == 0
    assert "1st Regiment" in result.stdout and "20 × SAM One" in result.stdout


def test_oob_lists_planned_items_as_planned(write):
    """An item whose date is a plan is counted and said to be planned, in the table and in JSON."""
    text = MINIMAL.replace("equipment: [{type: sam1, count: 12}]",
                           "equipment: [{type: sam1, count: 12}, {type: sam1, count: 4, planned: true}]")
    path = write(text)
    result = invoke("oob", str(path), "--as-of", "2020-12-31")
    assert result.exit_code == 0
    assert "of which planned: 4 × SAM One" in " ".join(result.stdout.split())
    doc = json.loads(invoke("oob", str(path), "--format", "json").stdout)
    bn1 = next(u for u in doc["units"] if u["unit_id"] == "bn1")
    assert {"type": "sam1", "name": "SAM One", "count": 16, "planned": 4} in bn1["equipment"]


def test_oob_csv_rows_per_unit_and_type(write):
    result = invoke("oob", str(write(MINIMAL)), "--format", "csv", "--as-of", "2010")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["unit_id"] for r in rows} == {"regt", "bn1"}  # bn2 is not in service in 2010
    bn1 = next(r for r in rows if r["unit_id"] == "bn1")
    assert bn1["equipment_type"] == "sam1" and bn1["count"] == "12" and bn1["as_of"] == "2010-12-31"


def test_oob_json_and_nation_filter(write):
    result = invoke("oob", str(write(MINIMAL)), "--format", "json", "--nation", "BLR")
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2020-12-31"
    assert doc["totals_by_type"] == {"BLR": {"SAM One": 20}}


def test_oob_geojson_lon_lat_order(write, tmp_path):
    out = tmp_path / "oob.geojson"
    result = invoke("oob", str(write(MINIMAL)), "--format", "geojson", "--out", str(out))
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert (lon, lat) == (23.8258, 53.6884)  # Hrodna: lon first (RFC 7946)


def test_oob_unknown_nation_is_a_user_error(write):
    result = invoke("oob", str(write(MINIMAL)), "--nation", "XX")
    assert result.exit_code == 2
    assert "unknown nation 'XX'" in result.stderr


def test_bad_date_is_a_usage_error(write):
    result = invoke("oob", str(write(MINIMAL)), "--as-of", "31.12.2020")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_oob_sources_and_map_never_replace_a_file_without_force(write, tmp_path):
    """An existing file is replaced only with --force, never the scenario itself or a file it
    includes (even with --force), and a link at --out is replaced, not written through."""
    scenario = write(MINIMAL)
    mine = tmp_path / "notes.csv"
    mine.write_text("my notes")
    for args in (["oob", str(scenario), "--format", "csv"], ["sources", str(scenario), "--format", "csv"]):
        result = invoke(*args, "--out", str(mine))
        assert result.exit_code == 2 and f"--out {mine} exists; add --force" in result.stderr, args
        assert mine.read_text() == "my notes"
    result = invoke("oob", str(scenario), "--out", str(mine), "--force")  # the format from the ending
    assert result.exit_code == 0 and mine.read_text().startswith("as_of,unit_id,")
    copy = tmp_path / "scenario.json"
    copy.write_text(json.dumps({"include": [str(scenario)], "name": "x", "as_of": "2020-12-31"}))
    result = invoke("oob", str(copy), "--out", str(copy), "--force")
    assert result.exit_code == 2 and "is the input" in result.stderr
    assert json.loads(copy.read_text())["name"] == "x"
    result = invoke("oob", str(scenario), "--format", "csv", "--out", str(tmp_path / "o.json"))
    assert result.exit_code == 2 and "does not end in .csv" in result.stderr
    # map: a link to a user's file is not written through
    link = tmp_path / "link.png"
    link.symlink_to(mine)
    assert invoke("map", str(scenario), "--out", str(link)).exit_code == 2
    assert invoke("map", str(scenario), "--out", str(link), "--force").exit_code == 0
    assert not link.is_symlink() and link.read_bytes()[:4] == b"\x89PNG"
    assert mine.read_text().startswith("as_of,unit_id,")


@pytest.mark.parametrize("where", ["file", "/proc/x", "under-a-file/x"])
def test_init_refuses_an_out_that_is_not_a_folder_with_one_message(tmp_path, where):
    (tmp_path / "file").write_text("x")
    (tmp_path / "under-a-file").write_text("x")
    out = where if where.startswith("/") else str(tmp_path / where)
    result = invoke("init", "y", "--out", out)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: --out {out}"), result.output
    assert "Traceback" not in result.output


def test_init_takes_a_name_in_any_script_and_a_yml_ending(tmp_path):
    result = invoke("init", "Полацк 2020", "--out", str(tmp_path))
    assert result.exit_code == 0 and Path(result.stdout.strip()).name == "Полацк-2020.yaml"
    result = invoke("init", "x.yml", "--out", str(tmp_path))
    assert result.exit_code == 0 and Path(result.stdout.strip()).name == "x.yml"


def test_map_without_out_takes_a_fresh_name_each_time(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = str(write(MINIMAL))
    first, second = (Path(invoke("map", scenario).stdout.strip()) for _ in range(2))
    assert first != second and first.exists() and second.name.endswith("-2.png")


def test_map_writes_png(write, tmp_path):
    out = tmp_path / "m.png"
    result = invoke("map", str(write(MINIMAL)), "--out", str(out))
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_writes_report_and_prints_its_path(write, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", str(write(MINIMAL)), "--out", str(out))
    assert result.exit_code == 0
    report = Path(result.stdout.strip())
    assert report.exists() and report.name == "report.html" and report.parent.parent == out
    for name in ("map.png", "launchers_by_year.png", "oob.csv", "oob.geojson", "summary.json"):
        assert (report.parent / name).exists(), name


def test_bad_scenario_writes_nothing(write, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", str(write(MINIMAL.replace("count: 12}", "count: x}"))), "--out", str(out))
    assert result.exit_code == 2
    assert "count" in result.stderr
    assert not out.exists()


def test_unknown_scenario_name_is_a_user_error():
    result = invoke("run", "no-such-scenario")
    assert result.exit_code == 2
    assert "neither a file nor a bundled scenario" in result.stderr


@pytest.mark.parametrize("args", [["validate", "{bad}"], ["run", "{bad}", "--out", "{tmp}"],
                                  ["oob", "{bad}"], ["map", "{bad}", "--out", "{tmp}/m.png"]])
def test_real_process_exit_code_2_without_traceback(write, tmp_path, args):
    bad = write(b"\x00\x01binary")
    argv = [a.format(bad=bad, tmp=tmp_path) for a in args]
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.run([sys.executable, "-m", "iadsim", *argv], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2
    assert "binary file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_coverage_command_writes_maps_grids_contours_and_tables(write, tmp_path):
    out = tmp_path / "cov"
    result = invoke("coverage", "reference-2020", "--as-of", "2009,2020", "--alt", "100,10000", "--resolution-km", "25",
                    "--dem", "none", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(out / "regions_by_date.csv"))
    assert "Lithuania" in result.stdout
    for date in ("2009-12-31", "2020-12-31"):
        folder = out / date
        for name in ("regions.csv", "contours.geojson", "contours.kml", "pd_joint_fighter.tif",
                     "depth_joint_fighter.tif", "map_fighter_100m_approaching.png",
                     "map_fighter_10000m_receding.png"):
            assert (folder / name).exists(), name
    rows = list(csv.DictReader(io.StringIO((out / "regions_by_date.csv").read_text())))
    assert {r["as_of"] for r in rows} == {"2009-12-31", "2020-12-31"}
    assert {r["aspect"] for r in rows} == {"approaching", "crossing", "receding"}
    assert {r["target_speed_mps"] for r in rows} == {"250.0"}  # the fighter class's speed
    ltu = {r["aspect"]: float(r["engageable_pct"]) for r in rows
           if r["region"] == "Lithuania" and r["as_of"] == "2020-12-31" and r["altitude_m"] == "10000.0"}
    assert ltu["approaching"] >= ltu["crossing"] >= ltu["receding"]
    meta = json.loads((out / "coverage.json").read_text())
    assert meta["terrain"].startswith("none") and meta["resolution_km"] == 25


@pytest.mark.parametrize(("args", "message"), [
    (["--alt", "100,high"], "not an altitude"),
    (["--rcs", "blimp"], "unknown RCS class 'blimp'"),
    (["--dem", "{tmp}/missing.tif"], "missing.tif"),
    (["--region", "{tmp}/missing.geojson"], "no such file"),
    (["--resolution-km", "0.05"], "coarser resolution"),
    (["--alt", "-20"], "≥ 0 m"),
    (["--aspect", "sideways"], "not an aspect"),
    (["--target-speed", "-5"], "--target-speed"),
    (["--as-of", ""], "gives no date"),
    (["--as-of", ","], "gives no date"),
    (["--as-of", "2020,2020-12-31"], "gives 2020-12-31 twice"),
    (["--alt", "3000,3000"], "3000 m is given twice"),
])
def test_coverage_bad_input(tmp_path, args, message):
    argv = [a.format(tmp=tmp_path) for a in args]
    result = invoke("coverage", "reference-2020", "--dem", "none", "--out", str(tmp_path / "o"), *argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "o").exists()


def test_coverage_refuses_a_region_outside_the_area_and_notes_built_in_ones(tmp_path):
    def region(name, ring):
        path = tmp_path / f"{name}.geojson"
        path.write_text(json.dumps({"type": "Feature", "properties": {"name": name},
                                    "geometry": {"type": "Polygon", "coordinates": [ring]}}))
        return str(path)

    far = region("far", [[100, 10], [101, 10], [101, 11], [100, 11], [100, 10]])
    swapped = region("swapped", [[54.5, 25], [54.9, 25], [54.9, 25.5], [54.5, 25.5], [54.5, 25]])
    base = ["coverage", "reference-2020", "--dem", "none", "--alt", "10000", "--resolution-km", "50",
            "--no-maps", "--aspect", "approaching", "--out", str(tmp_path / "o")]
    result = invoke(*base, "--region", far, "--region", swapped)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: --region {far}: region 'far' has no 50 km grid cell inside the area (14°–40°E, 45°–62°N); "
        "widen --area or leave the region out",
        f"--region {swapped}: region 'swapped' has no 50 km grid cell inside the area (14°–40°E, 45°–62°N); "
        "with its coordinates swapped it would lie inside: GeoJSON gives longitude, then latitude"]
    assert not (tmp_path / "o").exists()
    result = invoke(*base, "--area", "20,30,51,57")
    assert result.exit_code == 0, result.output
    assert "note: Estonia lies outside the area (20°–30°E, 51°–57°N); its rows are empty (NaN)" in result.stderr


def test_coverage_never_writes_into_a_users_folder(tmp_path):
    """--out into a folder of other files was written into, a user's regions_by_date.csv replaced:
    only a new, empty or earlier study's folder (its coverage.json) is written into."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "regions_by_date.csv").write_text("mine")
    result = invoke("coverage", "reference-2020", "--dem", "none", "--resolution-km", "100", "--no-maps",
                    "--alt", "3000", "--out", str(theirs))
    assert result.exit_code == 2 and "holds files, but not an earlier coverage study" in result.stderr
    assert (theirs / "regions_by_date.csv").read_text() == "mine"
    result = invoke("coverage", "reference-2020", "--out", "")
    assert result.exit_code == 2 and "not the current folder" in result.stderr
    fresh = tmp_path / "fresh"
    for _ in range(2):  # an earlier study's folder is written again
        result = invoke("coverage", "reference-2020", "--dem", "none", "--resolution-km", "100",
                        "--no-maps", "--alt", "3000", "--out", str(fresh))
        assert result.exit_code == 0, result.stderr


def test_track_refuses_to_replace_a_file_without_force_and_a_format_it_does_not_write(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("my tracks")
    result = invoke("track", str(tmp_path / "detections.csv"), "--out", str(mine))
    assert result.exit_code == 2 and "exists; add --force" in result.stderr and mine.read_text() == "my tracks"
    result = invoke("track", str(tmp_path / "detections.csv"), "--out", str(tmp_path / "t.json"))
    assert result.exit_code == 2 and "ends in .parquet or .csv" in result.stderr


def test_run_simulates_and_writes_parquet(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    # the bundled violation, cut to 30 minutes: the violator is intercepted by then
    short = tmp_path / "short.yaml"
    short.write_text("include: [air-policing-violation]\nduration_s: 1800\n", encoding="utf-8")
    result = invoke("run", str(short), "--no-coverage", "--out", str(out))
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip()).parent
    # the work was stated before the run: its clock steps and the objects and radars it then had
    stats = json.loads((folder / "summary.json").read_text())["simulation"]
    assert (f"1,800 clock steps × {stats['radars']} radars and {stats['objects']} air objects"
            in result.stderr), result.stderr
    detections = pq.read_table(folder / "detections.parquet")
    for column in ("time_s", "sensor_id", "sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m",
                   "range_m", "azimuth_deg", "elevation_deg", "sigma_range_m",
                   "sigma_azimuth_deg", "sigma_elevation_deg", "object_id", "false_alarm"):
        assert column in detections.column_names, column
    truth = pq.read_table(folder / "truth.parquet")
    assert "violator" in set(truth["object_id"].to_pylist())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["simulation"]["objects"] >= 2 and summary["simulation"]["detections"] > 0
    html = (folder / "report.html").read_text()
    assert "violator" in html and "First detection of each air object" in html
    # command and control under the scenario's arrangement (joint): the RADS command decides
    assert "Command and control: the joint arrangement" in html and "scramble_order" in html
    outcome = pq.read_table(folder / "outcomes.parquet").to_pylist()
    assert [o["object_id"] for o in outcome] == ["violator"]
    assert outcome[0]["deciding_node"] == "rads_command" and not outcome[0]["leaker"]
    assert summary["c2"]["outcomes"][0]["intercept_s"] == outcome[0]["intercept_s"]
    for name in ("picture", "c2_events", "interceptors", "tracks_rads_command", "tracks_blr_af_ad_command"):
        assert (folder / f"{name}.parquet").exists(), name
    assert (folder / "timeline.png").exists() and 'alt="timeline per object"' in html


@pytest.mark.parametrize(("edit", "message"), [
    ("speed_kmh: 180", "speed_kmh: 2000"),
    ("count: 1", "count: 3000000"),
])
def test_run_refuses_bad_traffic_without_writing(write, tmp_path, edit, message):
    text = ("include: [reference]\nname: bad traffic\nas_of: 2020-12-31\nduration_s: 600\n"
            "traffic:\n  flights:\n    f:\n      type: generic_light_aircraft\n      nation: LTU\n"
            "      speed_kmh: 180\n      alt_m: 500\n      route:\n"
            "        - {lat_deg: 54.9, lon_deg: 25.4}\n        - {place: astravyets}\n"
            "  raids:\n    r:\n      type: generic_small_uav\n      nation: POL\n      count: 1\n"
            "      origin: {lat_deg: 52.6, lon_deg: 23.0}\n      destinations: [{place: brest}]\n"
            "      speed_kmh: 150\n      alt_m: 300\n")
    out = tmp_path / "out"
    result = invoke("run", str(write(text.replace(edit, message))), "--no-coverage", "--out", str(out))
    assert result.exit_code == 2, result.output
    expected = "max_speed_kmh" if "speed" in message else "GiB"
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_track_command_end_to_end(write, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from iadsim import load_scenario
    from iadsim.io.parquet import write_table
    from iadsim.sim import run_simulation

    from .sim_scenarios import inbound, one_radar

    scenario = load_scenario(write(one_radar(flights=inbound("t", 90.0, 5000.0, speed_kmh=900.0),
                                             duration_s=300)))
    detections = write_table(run_simulation(scenario).detections, tmp_path / "det.parquet")
    out = tmp_path / "tracks.csv"
    result = invoke("track", str(detections), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{out} (1 confirmed tracks")
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {"time_s", "track_id", "lat_deg", "lon_deg", "alt_m", "vel_east_mps", "vel_north_mps",
            "confirmed"} <= set(rows[0])
    assert {"quality", "alt_std_m"} <= set(rows[0])
    parquet = tmp_path / "tracks.parquet"
    assert invoke("track", str(detections), "--out", str(parquet)).exit_code == 0
    assert pq.read_table(parquet).num_rows == len(rows)
    # the 2D prior from the command line: the same reports without elevation give 2D-only tracks,
    # whose altitude's standard deviation starts at the prior's (4 km by default)
    table = pq.read_table(detections)
    for column in ("elevation_deg", "sigma_elevation_deg"):
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.nulls(table.num_rows, pa.float64()))
    flat = write_table(table, tmp_path / "flat.parquet")
    low = tmp_path / "low.parquet"
    result = invoke("track", str(flat), "--out", str(low), "--prior-altitude-m", "5000",
                    "--prior-altitude-std-m", "300")
    assert result.exit_code == 0, result.output
    tracks = pq.read_table(low)
    assert tracks.num_rows and tracks["alt_m"].null_count == tracks.num_rows
    assert 300.0 <= min(tracks["alt_std_m"].to_pylist()) < 400.0
    for option, value in (("--prior-altitude-m", "nan"), ("--prior-altitude-m", "200000"),
                          ("--prior-altitude-std-m", "0")):
        bad = invoke("track", str(detections), "--out", str(tmp_path / "bad.parquet"), option, value)
        assert bad.exit_code == 2 and option in bad.stderr and "Traceback" not in bad.stderr
        assert not (tmp_path / "bad.parquet").exists()


def test_track_command_bad_input(write, tmp_path):
    bad = write("time_s,sensor_id\n1,a\n", "det.csv")
    result = invoke("track", str(bad), "--out", str(tmp_path / "t.parquet"))
    assert result.exit_code == 2
    assert "range_m" in result.stderr or "column" in result.stderr
    assert not (tmp_path / "t.parquet").exists()


# -- validate checks what run checks (check_scenario), and every command says it the same way ---------

_FAST = ("name: too fast\ninclude: [reference]\nas_of: 2020-12-31\narrangement: joint\nduration_s: 600\n"
         "traffic:\n  flights:\n    violator:\n      type: generic_light_aircraft\n      nation: LTU\n"
         "      speed_kmh: 2000\n      alt_m: 3000\n      route:\n"
         "        - {lat_deg: 54.95, lon_deg: 25.45}\n        - {place: minsk}\n")
_ORPHAN = ("name: orphan radar brigade\ninclude: [reference]\nas_of: 2020-12-31\narrangement: national\n"
           "duration_s: 60\nunits:\n  blr_8_rtb:\n    parent: null\n")
_LOCATED = {"fast": ":11:7: traffic.flights.violator.speed_kmh: 2,000 km/h is faster than the "
                    "generic_light_aircraft type's max_speed_kmh (302 km/h)",
            "orphan": ":8:5: units.blr_8_rtb.parent: unit 'blr_8_rtb' has no commander in the 'national' "
                      "arrangement on 2020-12-31"}


@pytest.mark.parametrize("case", ["fast", "orphan"])
def test_validate_run_compare_and_sweep_refuse_with_the_same_located_message(write, tmp_path, case):
    path = write({"fast": _FAST, "orphan": _ORPHAN}[case], f"{case}.yaml")
    spec = write(f"scenario: {path.name}\nreplications: 1\nparameters:\n  grid:\n"
                 f"    seed: [1, 2]\n", f"sweep-{case}.yaml")
    expected = f"{path}{_LOCATED[case]}"
    out = tmp_path / "out"
    validate = invoke("validate", str(path))
    assert validate.exit_code == 2 and f"{path}: 1 error" in validate.stderr
    assert validate.stderr.count(expected) == 1, validate.stderr
    for args in (["run", str(path), "--no-coverage", "--out", str(out)],
                 ["compare", str(path), "--arrangements", "national", "--replications", "1", "--jobs", "1",
                  "--out", str(out)],
                 ["sweep", str(spec), "--jobs", "1", "--out", str(out)]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("1 error in the scenario:"), (args, result.stderr)
        assert result.stderr.count(expected) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert not out.exists(), args  # refused before anything ran


def test_a_sweep_value_a_run_would_refuse_points_at_the_spec(write, tmp_path):
    spec = write("scenario: air-policing-violation\nreplications: 1\nparameters:\n  grid:\n"
                 "    traffic.flights.violator.speed_kmh: [150, 2000]\n"
                 "    as_of: [2010-12-31, 2020-12-31]\n", "sweep.yaml")
    result = invoke("sweep", str(spec), "--jobs", "1", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if "is faster than" in line]
    assert lines == [f"{spec}:5:5: traffic.flights.violator.speed_kmh: 2,000 km/h is faster than the "
                     "generic_light_aircraft type's max_speed_kmh (302 km/h) (the sweep sets "
                     "traffic.flights.violator.speed_kmh = 2000)"]
    assert not (tmp_path / "out").exists()


def test_coverage_shift_between_two_dates(tmp_path):
    out = tmp_path / "cov"
    result = invoke("coverage", "reference-2020", "--as-of", "2009,2020", "--alt", "10000",
                    "--resolution-km", "50", "--dem", "none", "--shift", "--shift-lat", "54,55",
                    "--shift-bearing", "270", "--shift-from", "53.9,27.57", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(out / "shift" / "shift_boundaries.csv"))
    assert "Boundary moved, km" in result.stdout and "Lithuania" in result.stdout
    rows = list(csv.DictReader(io.StringIO((out / "shift" / "shift_boundaries.csv").read_text())))
    assert {r["line"] for r in rows} == {"latitude 54°N", "latitude 55°N", "bearing 270° from 53.9°N 27.57°E"}
    assert {r["aspect"] for r in rows} == {"", "approaching", "crossing", "receding"}
    areas = list(csv.DictReader(io.StringIO((out / "shift" / "shift_areas.csv").read_text())))
    ltu = [a for a in areas if a["region"] == "Lithuania" and a["quantity"] == "engageable"]
    # the Kaliningrad S-400 (2012) brought most of Lithuania into engagement range
    assert all(int(a["gained_km2"]) > 0 for a in ltu)
    assert (out / "shift" / "shift_map_engageable_10000m_receding.png").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2020", "--shift"], "two dates"),
    (["--as-of", "2020,2009", "--shift"], "earlier date first"),
    (["--as-of", "2009,2020", "--shift-lat", "54"], "need --shift"),
    (["--as-of", "2009,2020", "--shift", "--shift-from", "95,20", "--shift-bearing", "90"], "LAT,LON"),
    (["--as-of", "2009,2020", "--shift", "--shift-bearing", "90"], "--shift-from"),
    (["--as-of", "2009,2020", "--shift", "--shift-from", "53.9,27.6"], "give --shift-bearing too"),
    # lines where no zone is computed: refused before the study, not rows of NaN after it
    (["--as-of", "2009,2020", "--shift", "--shift-lat", "54,64"],
     "--shift: latitude 64° lies outside the area (45°–62°N)"),
    (["--as-of", "2009,2020", "--shift", "--shift-from", "10,10", "--shift-bearing", "0"],
     "--shift: the bearings' origin 10°N 10°E lies outside the area"),
])
def test_coverage_shift_bad_input(tmp_path, args, message):
    result = invoke("coverage", "reference-2020", "--dem", "none", "--alt", "10000",
                    "--resolution-km", "50", "--no-maps", "--out", str(tmp_path / "o"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


@pytest.mark.parametrize("text", ["2020-W01-1", "20201231", "2021-02-30"])
def test_a_date_option_takes_yyyy_mm_dd_or_a_year_only_and_names_the_option(text):
    result = invoke("oob", "--as-of", text)
    assert result.exit_code == 2 and "--as-of" in result.output and "is not a date" in result.output


def test_validate_accepts_a_date_outside_the_data_when_asked(write):
    path = write("include: [reference]\nname: x\nas_of: 1995-12-31\n", "old.yaml")
    refused = invoke("validate", str(path))
    assert refused.exit_code == 2 and "--allow-outside-data" in refused.stderr
    allowed = invoke("validate", "--allow-outside-data", str(path))
    assert "before the period the scenario's data describe" not in allowed.stderr


def test_output_that_cannot_be_written_is_one_message_and_a_closed_pipe_is_quiet():
    """`> /dev/full` (a full disk) and `| head` (the reader stops early) as the shell gives them."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    cmd = [sys.executable, "-m", "iadsim", "oob", "--format", "json"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: cannot write the output (No space left on device)"
    # the JSON (about 67 kB) outgrows the pipe's buffer (64 kB), so the writer meets the closed end
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"{")
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err and b"Exception ignored" not in err
