"""Exports to the tools analysts use, each read back by an independent reader: CZML by czml3's own
model, KML by fastkml, the GeoPackage by GDAL/OGR through pyogrio."""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import replace

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from iadsim import load_scenario
from iadsim.cli import app
from iadsim.io.export_data import read_export_data
from iadsim.io.run_folder import read_run_folder
from iadsim.runs import RUN_COVERAGE, run_scenario

czml3 = pytest.importorskip("czml3", reason="the exports extra is not installed (pip install 'iadsim[exports]')")
pytest.importorskip("simplekml", reason="the exports extra is not installed (pip install 'iadsim[exports]')")
pyogrio = pytest.importorskip("pyogrio", reason="the exports extra is not installed (pip install 'iadsim[exports]')")
fastkml = pytest.importorskip("fastkml", reason="fastkml (the KML tests' reader, in the dev extra) is not installed")

# fastkml warns at import when lxml (optional for it) is absent
pytestmark = pytest.mark.filterwarnings("ignore:Package `lxml` missing:UserWarning")

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """The bundled airspace violation, ten minutes, with coverage on a coarse grid and the C2 pass."""
    folder = tmp_path_factory.mktemp("exports")
    path = folder / "short.yaml"
    path.write_text("include: [air-policing-violation]\nname: Short violation\nduration_s: 900\n")
    coverage = replace(RUN_COVERAGE, resolution_km=40.0)
    return run_scenario(load_scenario(path), folder / "out", coverage=coverage)


@pytest.fixture(scope="module")
def data(run_dir):
    return read_export_data(run_dir)


def test_export_data_holds_units_coverage_truth_and_tracks(data, run_dir):
    rf = read_run_folder(run_dir)
    assert data.epoch == dt.datetime(2020, 12, 31, tzinfo=dt.UTC)
    from iadsim.oob import order_of_battle

    oob = order_of_battle(rf.scenario(), data.as_of)
    assert len(data.units) == sum(e.lat_deg is not None for e in oob) > 0
    assert data.coverage and data.truth is not None and data.tracks is not None
    assert data.truth.num_rows == pc.sum(pc.is_finite(rf.table("truth")["lat_deg"])).as_py()
    # civil traffic on a flight plan is neutral (civil), never friend
    objects = rf.table("objects").to_pylist()
    for o in objects:
        if o["flight_plan"]:
            assert data.objects[o["object_id"]] == "neutral"


def test_czml_is_read_back_by_czml3(data, tmp_path):
    from czml3 import Document

    from iadsim.io.export_czml import write_czml

    doc = Document.model_validate_json(write_czml(data, tmp_path / "run.czml").read_text())
    packets = {p.id: p for p in doc.packets}
    assert doc.packets[0].id == "document"
    assert sum(k.startswith("unit/") for k in packets) == len(data.units)
    objects = set(data.truth.column("object_id").to_pylist())
    assert {k.removeprefix("truth/") for k in packets if k.startswith("truth/")} == objects
    tracks = {(n, t) for n, t in zip(data.tracks.column("node").to_pylist(),
                                     data.tracks.column("track_id").to_pylist(), strict=True)}
    assert sum(k.startswith("track/") for k in packets) == len(tracks)
    assert any(k.startswith("coverage/") for k in packets)
    # an engageable zone names its target aspect: one polygon per aspect, told apart
    names = {p.name for k, p in packets.items() if k.startswith("coverage/")}
    assert {"approaching", "crossing", "receding"} <= {n.split("(")[1].split(")")[0] for n in names if "(" in n}
    # one object's samples: time, lon, lat, alt per truth row, times from the run's epoch
    oid = sorted(objects)[0]
    rows = data.truth.filter(pc.equal(data.truth["object_id"], oid))
    values = packets[f"truth/{oid}"].position.cartographicDegrees
    values = getattr(values, "values", values)
    assert len(values) == 4 * rows.num_rows
    assert values[:4] == pytest.approx([rows["time_s"][0].as_py(), rows["lon_deg"][0].as_py(),
                                        rows["lat_deg"][0].as_py(), rows["alt_m"][0].as_py()])


def test_kml_is_read_back_by_fastkml(data, tmp_path):
    from fastkml import kml

    from iadsim.io.export_kml import write_kml

    root = kml.KML.parse(str(write_kml(data, tmp_path / "run.kml")))
    document = root.features[0]
    folders = {f.name: f for f in document.features}
    assert set(folders) == {"Units in service", "Truth: air objects", "Tracks: the nodes' pictures"}
    units = folders["Units in service"].features
    assert len(units) == len(data.units)
    first = data.units[0]
    assert (units[0].geometry.x, units[0].geometry.y) == pytest.approx((first.lon_deg, first.lat_deg))
    truth = folders["Truth: air objects"].features
    assert len(truth) == len(set(data.truth.column("object_id").to_pylist()))
    track = truth[0]
    rows = data.truth.filter(pc.equal(data.truth["object_id"], track.name))
    items = track.kml_geometry.track_items
    assert len(items) == rows.num_rows
    assert items[0].when.dt == data.when(rows["time_s"][0].as_py())
    assert (items[0].coord.x, items[0].coord.y) == pytest.approx((rows["lon_deg"][0].as_py(),
                                                                  rows["lat_deg"][0].as_py()))


def test_geopackage_is_read_back_by_gdal(data, tmp_path):
    from iadsim.io.export_gpkg import write_gpkg

    path = write_gpkg(data, tmp_path / "run.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"units": "Point", "coverage": "MultiPolygon", "truth": "Point Z",
                      "truth_paths": "LineString Z", "tracks": "Point"}
    assert pyogrio.read_info(path, layer="units")["crs"] == "EPSG:4326"
    assert pyogrio.read_info(path, layer="truth")["features"] == data.truth.num_rows
    assert pyogrio.read_info(path, layer="tracks")["features"] == data.tracks.num_rows
    assert pyogrio.read_info(path, layer="coverage")["features"] == len(data.coverage)
    aspects = pyogrio.raw.read(path, layer="coverage", columns=["quantity", "aspect"])[3]
    assert {a for q, a in zip(*aspects, strict=True) if q == "engageable"} == {"approaching", "crossing", "receding"}
    assert {a for q, a in zip(*aspects, strict=True) if q == "detected"} == {""}
    _, truth_geom, fields = pyogrio.raw.read(path, layer="truth", columns=["object_id", "time_s", "time_utc"])[1:]
    import shapely

    first = shapely.from_wkb(truth_geom[0])
    assert (first.x, first.y, first.z) == pytest.approx((data.truth["lon_deg"][0].as_py(),
                                                         data.truth["lat_deg"][0].as_py(),
                                                         data.truth["alt_m"][0].as_py()))
    when = fields[2][0].astype("datetime64[ms]").astype(dt.datetime)
    assert when == data.when(fields[1][0]).replace(tzinfo=None)


@pytest.mark.parametrize("fmt", ["czml", "kml", "gpkg"])
def test_export_command_writes_each_format_and_never_overwrites(run_dir, fmt, tmp_path):
    out = tmp_path / f"run.{fmt}"
    result = invoke("export", str(run_dir), "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out) and out.stat().st_size > 0
    again = invoke("export", str(run_dir), "--format", fmt, "--out", str(out))
    assert again.exit_code == 2 and "exists" in again.stderr
    assert invoke("export", str(run_dir), "--format", fmt, "--out", str(out), "--force").exit_code == 0
    wrong = invoke("export", str(run_dir), "--format", fmt, "--out", str(tmp_path / "run.txt"))
    assert wrong.exit_code == 2 and f".{fmt}" in wrong.stderr


def test_export_of_a_folder_that_is_not_a_run_is_one_message(tmp_path):
    result = invoke("export", str(tmp_path), "--format", "czml")
    assert result.exit_code == 2 and "not a finished run folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_without_the_extra_says_how_to_install_it(run_dir, tmp_path, monkeypatch):
    real = builtins.__import__

    def no_czml3(name, *args, **kwargs):
        if name.startswith("czml3") or name == "iadsim.io.export_czml":
            raise ImportError(f"No module named '{name}'", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "iadsim.io.export_czml", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_czml3)
    result = invoke("export", str(run_dir), "--format", "czml", "--out", str(tmp_path / "x.czml"))
    assert result.exit_code == 2 and "pip install 'iadsim[exports]'" in result.stderr
