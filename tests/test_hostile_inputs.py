"""The issue's hostile inputs (lists 4, 5 and 8 of issue 20) as regression tests: each is refused
with exit code 2 and one clear message, never a traceback, before any work is done."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iadsim.cli import app
from iadsim.tracking.io import DETECTION_COLUMNS

from .conftest import MINIMAL

runner = CliRunner()

RAID = """\
  raids:
    strike:
      type: light
      nation: LTU
      count: 4
      start_s: 0
      spread_s: 60
      origin: {lat_deg: 54.6, lon_deg: 25.3}
      origin_radius_km: 10
      destinations: [{place: minsk}]
      speed_kmh: 800
      alt_m: 3000
"""
WITH_RAID = MINIMAL.replace("traffic:\n", "traffic:\n" + RAID, 1)


def refused(*args: str) -> str:
    """Run the CLI; assert exit code 2 with one `error:` or scenario message and no traceback."""
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.exit_code, result.output)
    text = result.stderr
    assert "Traceback" not in text and text.strip()
    return text


# --- list 4: values that passed validation and crashed the run -----------------------------

@pytest.mark.parametrize(("old", "new", "expected"), [
    ("max_range_km: 75", "max_range_km: .inf", "finite number in kilometres"),
    ("max_range_km: 75", "max_range_km: 1.0e+300", "physical limit of ±20000"),
    ("origin_radius_km: 10", "origin_radius_km: .inf", "finite number in kilometres"),
    ("spread_s: 60", "spread_s: .inf", "finite number in seconds"),
    ("start_s: 0", "start_s: .nan", "finite number in seconds"),
    ("speed_kmh: 800", "speed_kmh: 1.0e-300", "greater than or equal to 1"),
    ("count: 4", "count: true", "not the boolean true"),
    ("reference_rcs_m2: 1.0", "reference_rcs_m2: .inf", "finite number"),
    ("tick_s: 1", "tick_s: 0.000001", "greater than or equal to 0.01"),
])
def test_values_that_crashed_the_run_are_refused_by_validate(write, old, new, expected):
    text = WITH_RAID.replace(old, new, 1)
    assert text != WITH_RAID
    message = refused("validate", str(write(text)))
    assert expected in message and "1 error" in message


def test_too_many_clock_steps_is_one_message(write):
    text = MINIMAL.replace("duration_s: 600", "duration_s: 2500000").replace("tick_s: 1", "tick_s: 0.5")
    assert "clock steps, more than 3,000,000" in refused("validate", str(write(text)))


def test_the_raid_scenario_itself_is_valid(write):
    """The edits above are the only problem: the unedited scenario with its raid validates."""
    result = runner.invoke(app, ["validate", str(write(WITH_RAID))])
    assert result.exit_code == 0, result.output


def test_alt_nan_is_refused(write):
    assert "--alt must be a finite number" in refused("coverage", str(write(MINIMAL)), "--alt", "nan")


# --- list 5: command-line options ------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    (["--area", "40,14,62,45"], "lon_min (40) must be below lon_max (14)"),
    (["--area", "nan,40,45,62"], "--area lon_min must be a finite number"),
    (["--area", "14,14,45,62"], "lon_min (14) must be below lon_max (14)"),
    (["--area", "-200,40,45,62"], "in [-180, 180] degrees"),
    (["--area", "14,40,45,95"], "in [-90, 90] degrees"),
    (["--area", "14,40,45"], "needs four numbers"),
    (["--resolution-km", "inf"], "--resolution-km must be a finite number"),
    (["--resolution-km", "0"], "--resolution-km must be a finite number"),
    (["--k", "0"], "--k must be a finite number"),
    (["--k", "-1"], "--k must be a finite number"),
    (["--k", "nan"], "--k must be a finite number"),
    (["--pd", "1.5"], "--pd must be a finite number"),
    (["--alt", "1e309"], "--alt must be a finite number"),
    (["--out", "/dev/null"], "/dev/null"),
])
def test_coverage_options(write, args, expected):
    assert expected in refused("coverage", str(write(MINIMAL)), *args)


def test_run_out_dev_null(write):
    assert "outputs are not written under /proc, /sys or /dev" in refused(
        "run", str(write(MINIMAL)), "--out", "/dev/null")


def test_run_out_an_existing_file(write, tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    message = refused("run", str(write(MINIMAL)), "--out", str(existing))
    assert "is a file, not a folder" in message and existing.read_text() == "keep me"


def _detections(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, DETECTION_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(t: float, **change: object) -> dict[str, object]:
    row: dict[str, object] = {"time_s": t, "sensor_id": "r1", "sensor_lat_deg": 53.9,
                              "sensor_lon_deg": 27.5, "sensor_alt_m": 200, "range_m": 50_000,
                              "azimuth_deg": 270 + t / 100, "elevation_deg": "",
                              "sigma_range_m": 100, "sigma_azimuth_deg": 0.5,
                              "sigma_elevation_deg": ""}
    return row | change


def test_track_out_proc_version(tmp_path):
    det = _detections(tmp_path / "d.csv", [_row(0), _row(10)])
    assert "outputs are not written under /proc" in refused("track", str(det), "--out",
                                                            "/proc/version")


def test_track_out_is_its_input(tmp_path):
    det = _detections(tmp_path / "d.csv", [_row(0), _row(10)])
    before = det.read_bytes()
    message = refused("track", str(det), "--out", str(det))
    assert "is the input" in message and det.read_bytes() == before


def test_track_out_is_its_input_through_a_link(tmp_path):
    det = _detections(tmp_path / "d.csv", [_row(0), _row(10)])
    os.symlink(det, tmp_path / "link.csv")
    assert "is the input" in refused("track", str(det), "--out", str(tmp_path / "link.csv"))


def test_long_scenario_name_gives_a_short_folder_name(write):
    from iadsim.runs import run_folder_name
    from iadsim.scenario import load_scenario

    sc = load_scenario(write(MINIMAL.replace("name: minimal test scenario", "name: " + "x" * 1900)))
    name = run_folder_name(sc, sc.as_of)
    assert len(name) <= 128 and name.startswith("xxxx")


def test_sweep_of_a_billion_replications(write):
    spec = write(f"scenario: {write(MINIMAL)}\nreplications: 1000000000\nparameters:\n"
                 "  grid: {seed: [1, 2]}\n", "spec.yaml")
    assert "replications: expected a whole number from 1 to 1,000,000" in refused(
        "sweep", str(spec), "--yes")


# --- list 8: smaller ----------------------------------------------------------------------

def test_track_a_folder(tmp_path):
    message = refused("track", str(tmp_path), "--out", str(tmp_path / "t.parquet"))
    assert "is a folder" in message


def test_track_message_names_the_file_once(tmp_path):
    message = refused("track", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "t.csv"))
    assert message.count("missing.csv") == 1 and "no such file" in message


def test_time_minus_1e308_is_refused(tmp_path):
    det = _detections(tmp_path / "d.csv", [_row(0), _row(-1e308)])
    assert "column 'time_s', row 1" in refused("track", str(det), "--out", str(tmp_path / "t.csv"))


def test_exact_duplicate_detections_are_refused(tmp_path):
    det = _detections(tmp_path / "d.csv", [_row(0), _row(10), _row(0)])
    message = refused("track", str(det), "--out", str(tmp_path / "t.csv"))
    assert "rows 0 and 2 are the same detection" in message


def test_docs_table_of_unit_limits_is_the_schema_s():
    from iadsim.scenario.schema import COUNT_LIMIT, UNIT_LIMITS

    doc = (Path(__file__).parent.parent / "docs" / "scenario-language.md").read_text("utf-8")
    rows = {}
    for line in doc[doc.index("| unit suffix |"):].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not cells[0].startswith("`"):
            rows[cells[0]] = float(cells[1].replace(",", ""))
            continue
        for suffix in cells[0].replace("`", "").split(","):
            rows[suffix.strip()] = float(cells[1].replace(",", ""))
    assert rows.pop("no unit (counts, factors)") == COUNT_LIMIT
    assert rows == {k: v for k, (v, _) in UNIT_LIMITS.items()}
