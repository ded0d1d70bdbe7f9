"""Guard rails: dates outside the data's period, places outside the borders iadsim has."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from iadsim import data as iadsim_data
from iadsim.cli import app
from iadsim.oob import order_of_battle, outside_borders_warning
from iadsim.pipeline.checks import check_scenario
from iadsim.scenario import OutsideDataPeriod, as_date, check_data_period, load_scenario

from .conftest import MINIMAL

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def reference():
    return load_scenario("reference-2020")


# --- dates ----------------------------------------------------------------------------------------


def test_as_date_takes_date_iso_string_and_year():
    day = dt.date(2010, 1, 1)
    assert as_date(day) == day
    assert as_date(dt.datetime(2010, 1, 1, 13, 5)) == day
    assert as_date("2010-01-01") == day
    assert as_date(" 2010-01-01 ") == day
    assert as_date(2010) == dt.date(2010, 12, 31)
    assert as_date("2010") == dt.date(2010, 12, 31)


@pytest.mark.parametrize("bad", ["2010-13-01", "yesterday", "", True, 0, 3.5, None])
def test_as_date_refuses_what_is_not_a_date(bad):
    with pytest.raises(ValueError, match="not a"):
        as_date(bad)


@given(st.dates())
def test_as_date_round_trips_iso(day):
    assert as_date(day.isoformat()) == day


def test_reference_data_declare_their_period(reference):
    period = reference.data_period
    assert period is not None
    assert (period.start.year, period.end.year) == (1996, 2021)


@pytest.mark.parametrize("year", [1980, 1995, 2022, 2035])
def test_date_outside_the_period_is_refused_with_the_period(reference, year):
    with pytest.raises(OutsideDataPeriod) as info:
        order_of_battle(reference, year)
    text = str(info.value)
    assert str(year) in text and "1996-01-01 to 2021-12-31" in text and "--allow-outside-data" in text


def test_date_outside_the_period_allowed_gives_a_warning(reference):
    warning = check_data_period(reference, dt.date(2035, 12, 31), allow_outside_data=True)
    assert warning is not None and "after" in warning and "2021-12-31" in warning
    assert check_data_period(reference, dt.date(2010, 6, 1)) is None
    # the ends are in the period
    assert check_data_period(reference, reference.data_period.start) is None
    assert check_data_period(reference, reference.data_period.end) is None
    oob = order_of_battle(reference, "2035-01-01", allow_outside_data=True)
    assert oob.as_of == dt.date(2035, 1, 1) and len(oob) > 0


def test_scenario_without_a_period_takes_every_date(write):
    sc = load_scenario(write(MINIMAL))
    assert sc.data_period is None
    assert order_of_battle(sc, 1980).as_of == dt.date(1980, 12, 31)


def test_check_scenario_points_at_the_files_as_of(write):
    text = MINIMAL.replace("as_of: 2020-12-31", "as_of: 1990-06-01") + (
        "data_period: {from: 1996-01-01, to: 2021-12-31, note: test data}\n")
    path = write(text)
    problems = check_scenario(load_scenario(path))
    assert len(problems) == 1
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("as_of"))
    assert problems[0].location is not None and problems[0].location.line == line
    assert "1996-01-01 to 2021-12-31" in problems[0].message
    assert check_scenario(load_scenario(path), allow_outside_data=True) == []


def test_cli_oob_refuses_1980_and_accepts_2035_on_request():
    refused = invoke("oob", "--as-of", "1980")
    assert refused.exit_code == 2
    assert "1996-01-01 to 2021-12-31" in refused.stderr and "Traceback" not in refused.stderr
    allowed = invoke("oob", "--as-of", "2035", "--allow-outside-data", "--format", "csv")
    assert allowed.exit_code == 0
    assert "warning:" in allowed.stderr and "2035-12-31" in allowed.stderr
    assert allowed.stdout.count("\n") > 10


@pytest.mark.parametrize("command", [["map"], ["run", "--no-sim", "--no-coverage"],
                                     ["compare", "--replications", "1"], ["coverage", "--no-maps"]])
def test_every_dated_command_refuses_outside_the_period(command, tmp_path):
    result = invoke(*command, "--as-of", "2040", "--out", str(tmp_path / ("x.png" if command == ["map"] else "x")))
    assert result.exit_code == 2
    assert "2021-12-31" in result.stderr and "--allow-outside-data" in result.stderr
    assert not any(tmp_path.iterdir())


def test_run_outside_the_period_puts_the_warning_in_the_report(tmp_path):
    result = invoke("run", "--no-sim", "--no-coverage", "--as-of", "2035", "--allow-outside-data",
                    "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    summary = json.loads((folder / "summary.json").read_text())
    assert any("2035-12-31" in w and "2021-12-31" in w for w in summary["warnings"])
    report = (folder / "report.html").read_text()
    assert 'class="warning"' in report and "1996-01-01 to 2021-12-31" in report


# --- borders --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_borders(monkeypatch):
    """Clear the cached borders before and after a test that sets IADSIM_BORDERS."""
    def clear():
        for f in (iadsim_data.borders_geojson, iadsim_data.load_regions, iadsim_data.borders_extent):
            f.cache_clear()
    clear()
    yield monkeypatch
    monkeypatch.delenv(iadsim_data.BORDERS_ENV, raising=False)
    clear()


def _far_away(write) -> Path:
    text = MINIMAL.replace("hrodna: {name: Hrodna, lat_deg: 53.6884, lon_deg: 23.8258, country: BLR",
                           "hrodna: {name: Faraway, lat_deg: 35.0, lon_deg: 70.0, country: BLR")
    return write(text)


def test_a_place_outside_the_borders_is_warned_with_how_to_add_borders(write, fresh_borders):
    sc = load_scenario(_far_away(write))
    warning = outside_borders_warning(order_of_battle(sc))
    assert warning is not None
    assert "Faraway" in warning and "IADSIM_BORDERS" in warning and "docs/regions.md" in warning
    assert outside_borders_warning(order_of_battle(load_scenario(write(MINIMAL, "in.yaml")))) is None
    result = invoke("oob", str(_far_away(write)))
    assert result.exit_code == 0 and "warning:" in result.stderr and "Faraway" in result.stderr


def test_borders_from_iadsim_borders_add_to_the_bundled_ones(write, tmp_path, fresh_borders):
    extra = tmp_path / "far.geojson"
    extra.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "FAR", "name": "Far region"},
        "geometry": {"type": "Polygon", "coordinates": [[[66, 30], [74, 30], [74, 40], [66, 40], [66, 30]]]},
    }]}))
    fresh_borders.setenv(iadsim_data.BORDERS_ENV, str(extra))
    regions = iadsim_data.load_regions()
    assert "FAR" in regions and "BLR" in regions  # added, bundled ones kept
    assert outside_borders_warning(order_of_battle(load_scenario(_far_away(write)))) is None


def test_a_bad_borders_file_is_one_clear_error(tmp_path, fresh_borders):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "no id"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}))
    fresh_borders.setenv(iadsim_data.BORDERS_ENV, str(bad))
    with pytest.raises(iadsim_data.BordersError, match="no 'id' property"):
        iadsim_data.load_regions()
    result = invoke("map", "--out", str(tmp_path / "m.png"))
    assert result.exit_code == 2 and "no 'id' property" in result.stderr
    assert "Traceback" not in result.stderr
