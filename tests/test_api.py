"""The notebook API: dates in any form, DataFrames, short reprs, run/coverage/compare at the top."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import iadsim
from iadsim import dataframes

from .conftest import MINIMAL

gpd = pytest.importorskip("geopandas", reason="the analysis extra is not installed (pip install 'iadsim[analysis]')")


def test_order_of_battle_takes_dates_iso_strings_and_years(reference):
    by_date = iadsim.order_of_battle(reference, dt.date(2010, 1, 1))
    by_text = iadsim.order_of_battle(reference, "2010-01-01")
    assert [e.unit_id for e in by_date] == [e.unit_id for e in by_text]
    assert iadsim.order_of_battle(reference, 2016).as_of == dt.date(2016, 12, 31)
    with pytest.raises(ValueError, match="not a date"):
        iadsim.order_of_battle(reference, "2010-1-1x")


def test_order_of_battle_is_short_to_print_and_converts(reference):
    oob = iadsim.order_of_battle(reference)
    text = repr(oob)
    assert len(text) < 400 and text.startswith("<OrderOfBattle") and f"{len(oob)} units" in text
    assert "<table>" in oob._repr_html_()
    frame = oob.to_pandas()
    assert len(frame) == len(oob) and list(frame.unit_id) == [e.unit_id for e in oob]
    assert frame.launchers.iloc[0] == sum(n for t, n in oob.entries[0].totals.items()
                                          if reference.catalog.kind_of(t) == "sam_systems")
    geo = oob.to_geopandas()
    assert geo.crs.to_epsg() == 4326
    placed = [e for e in oob if e.lat_deg is not None]
    row = geo[geo.unit_id == placed[0].unit_id].iloc[0]
    assert (row.geometry.x, row.geometry.y) == pytest.approx((placed[0].lon_deg, placed[0].lat_deg))


def test_run_coverage_compare_are_at_the_top_level():
    assert callable(iadsim.run) and callable(iadsim.compare) and callable(iadsim.open_run)
    assert callable(iadsim.coverage)
    assert iadsim.coverage.CoverageGrid is not None  # still the coverage package
    for name in ("run", "compare", "coverage", "open_run"):
        assert name in iadsim.__all__


def test_the_notebook_api_is_listed_for_tab_completion():
    assert {"run", "compare", "open_run", "Run"} <= set(dir(iadsim))


def test_import_iadsim_does_not_load_the_notebook_api():
    code = ("import sys, iadsim; print('iadsim.api' in sys.modules, 'iadsim.report.run' in sys.modules, "
            "'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]  # plotting is loaded when a map is drawn


@pytest.fixture(scope="module")
def minimal_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    path = folder / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return iadsim.run(path, folder / "out", coverage=False)


def test_run_returns_a_run_with_tables_as_dataframes(minimal_run):
    assert minimal_run.report is not None and minimal_run.report.is_file()
    text = repr(minimal_run)
    assert text.startswith("<Run 'minimal test scenario' on 2020-12-31") and len(text) < 400
    assert "Key findings" in minimal_run._repr_html_()
    truth = minimal_run.table("truth")
    geo = minimal_run.to_geopandas("truth")
    assert len(geo) == truth.num_rows and geo.crs.to_epsg() == 4326
    assert geo.geometry.x.tolist() == pytest.approx(truth.column("lon_deg").to_pylist())
    assert len(minimal_run.to_pandas("units")) == len(minimal_run.order_of_battle())
    with pytest.raises(KeyError, match="has no table 'nope'"):
        minimal_run.table("nope")
    with pytest.raises(ValueError, match="no lat_deg/lon_deg"):
        minimal_run.to_geopandas("objects")
    again = iadsim.open_run(minimal_run.folder)
    assert again.summary == minimal_run.summary


def test_run_refuses_a_date_outside_the_data(tmp_path):
    with pytest.raises(iadsim.scenario.OutsideDataPeriod, match="1996-01-01 to 2021-12-31"):
        iadsim.run("reference-2020", tmp_path, as_of=1990, simulate=False)
    assert not any(tmp_path.iterdir())


def test_coverage_result_converts_and_shows(reference):
    result = iadsim.coverage(reference, as_of=[2012, "2020-12-31"], altitudes_m=[10000], resolution_km=40)
    assert "2012-12-31, 2020-12-31" in repr(result)
    rows = result.to_pandas()
    assert set(rows.as_of) == {"2012-12-31", "2020-12-31"} and (rows.altitude_m == 10000).all()
    areas = result.to_geopandas()
    assert set(areas.quantity) <= {"detected", "engageable"} and areas.crs.to_epsg() == 4326
    assert "<table>" in result._repr_html_()


def test_a_missing_extra_says_how_to_install_it(monkeypatch):
    real = dataframes.importlib.import_module

    def fake(name, *args, **kwargs):
        if name.split(".")[0] in ("pandas", "geopandas"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(dataframes.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"pip install 'iadsim\[analysis\]'"):
        iadsim.order_of_battle(iadsim.load_scenario("reference-2020")).to_pandas()


def test_a_script_without_the_main_guard_gets_the_advice_and_jobs_1_needs_none(tmp_path):
    """Workers are spawned and import the calling script again: without a main guard each re-runs
    the call and stops as it starts. The caller gets WorkerStartError saying so (was a bare
    BrokenProcessPool); jobs=1 runs in the one process."""
    body = ("import iadsim\n"
            "sc = iadsim.load_scenario('air-policing-violation').with_changes(duration_s=120.0)\n"
            "print(iadsim.run(sc, {out!r}, force=True, report=False{jobs}).folder)\n")
    script = tmp_path / "unguarded.py"
    script.write_text(body.format(out=str(tmp_path / "a"), jobs=""))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=600)
    assert result.returncode == 1
    assert "WorkerStartError" in result.stderr and 'if __name__ == "__main__":' in result.stderr
    script.write_text(body.format(out=str(tmp_path / "b"), jobs=", jobs=1"))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b").is_dir()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"altitudes_m": "1000"}, "altitudes_m takes a list of altitudes"),  # was layers 1, 0, 0, 0 m
    ({"altitudes_m": 1000}, "altitudes_m takes a list of altitudes"),
    ({"altitudes_m": [float("nan")]}, "altitudes_m must be a finite number"),
    ({"altitudes_m": [1e9]}, "altitudes_m must be a finite number"),
    ({"altitudes_m": [1000, 1000.0]}, "1000 m is given twice"),
    ({"as_of": [2020, "2020-12-31"]}, "as_of gives 2020-12-31 twice"),
    ({"as_of": []}, "as_of: give at least one date"),
    ({"as_of": 2020.0}, "is not a date"),
    ({"resolution_km": "10"}, "resolution_km takes a number"),
    ({"resolution_km": 0}, "resolution_km must be a finite number"),
])
def test_coverage_refuses_what_the_command_refuses(reference, kwargs, message):
    with pytest.raises(ValueError, match=message):
        iadsim.coverage(reference, **kwargs)


def test_lower_level_functions_take_dates_and_say_when_given_a_name(reference):
    world = iadsim.compile_world(reference, 2016)
    assert world.as_of == dt.date(2016, 12, 31)
    assert iadsim.compile_world(reference, "2016-12-31").as_of == world.as_of
    for call in (lambda: iadsim.compile_world("reference-2020"),
                 lambda: iadsim.order_of_battle("reference-2020", 2016)):
        with pytest.raises(TypeError, match="takes a loaded Scenario"):
            call()
    assert iadsim.load_scenario(reference) is reference
    with pytest.raises(TypeError, match="load_scenario takes a file"):
        iadsim.load_scenario(42)


def test_coverage_takes_any_sequence_of_numbers_and_dates(reference):
    import numpy as np

    result = iadsim.coverage(reference, as_of=(d for d in [2020]), altitudes_m=range(1000, 2001, 1000),
                             resolution_km=np.int64(100), dem=None)
    assert result.request.layers_m == (1000.0, 2000.0) and result.request.resolution_km == 100.0
    with pytest.raises(ValueError, match="takes a list of altitudes"):
        iadsim.coverage(reference, altitudes_m=np.array(5.0))
