"""A run as a GeoPackage for QGIS (GDAL/OGR through pyogrio): layers ``units`` (points),
``coverage`` (detected and engageable areas), ``truth`` (a point per object and sample, with its UTC
time for QGIS's temporal controller), ``truth_paths`` (a 3-D line per object) and ``tracks`` (a
point per node, track and picture time). WGS84 (EPSG:4326); times follow ``export_data``
(simulated 0 s = 00:00 UTC of the run's date).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from iadsim.io.export_data import ExportData, groups, track_affiliation

__all__ = ["GPKG_LAYERS", "write_gpkg"]

GPKG_LAYERS = ("units", "coverage", "truth", "truth_paths", "tracks")
"""The layers a GeoPackage export may hold (those the run has data for)."""


def _layer(path: Path, layer: str, geometry: Sequence[Any], geometry_type: str,
           fields: dict[str, Sequence[Any]], append: bool) -> None:
    from pyogrio.raw import write

    names = list(fields)
    arrays = []
    for name in names:
        values = fields[name]
        if values and isinstance(values[0], np.datetime64):
            arrays.append(np.array(values, dtype="datetime64[ms]"))
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            arrays.append(np.array(values, dtype=np.int64))
        elif values and all(isinstance(v, float | int) and not isinstance(v, bool) for v in values
                            if v is not None):
            arrays.append(np.array([np.nan if v is None else v for v in values], dtype=float))
        else:
            arrays.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
    write(str(path), geometry=np.array(shapely.to_wkb(np.array(geometry, dtype=object)), dtype=object),
          field_data=arrays, fields=names, layer=layer, driver="GPKG", geometry_type=geometry_type,
          crs="EPSG:4326", append=append)


def _times(data: ExportData, seconds: Sequence[float]) -> list[np.datetime64]:
    base = np.datetime64(data.epoch.replace(tzinfo=None), "ms")
    return [base + np.timedelta64(round(t * 1000), "ms") for t in seconds]


def write_gpkg(data: ExportData, path: Path) -> Path:
    """Write ``data`` as a GeoPackage to ``path`` (a file of that name is replaced); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    written = False

    def add(layer: str, geometry: Sequence[Any], geometry_type: str,
            fields: dict[str, Sequence[Any]]) -> None:
        nonlocal written
        if geometry:
            _layer(path, layer, geometry, geometry_type, fields, append=written)
            written = True

    u = data.units
    add("units", [shapely.Point(x.lon_deg, x.lat_deg) for x in u], "Point", {
        "unit_id": [x.unit_id for x in u], "name": [x.name for x in u], "nation": [x.nation for x in u],
        "affiliation": [x.affiliation for x in u], "sidc": [x.sidc for x in u], "kind": [x.kind for x in u],
        "place": [x.place for x in u],
        "equipment": [x.equipment for x in u], "in_service_from": [x.in_service_from for x in u],
        "sources": [x.sources for x in u], "assumptions": [x.assumptions for x in u]})
    cov = data.coverage
    add("coverage", [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g
                     for g in (shape(f["geometry"]) for f in cov)], "MultiPolygon", {
        key: [f["properties"].get(key) or "" if key == "aspect" else f["properties"][key] for f in cov]
        # aspect: an engageable zone's target heading (approaching, crossing, receding); one zone
        # per aspect, so without it the three would be indistinguishable overlapping polygons
        for key in ("quantity", "rcs_class", "rcs_m2", "altitude_m", "altitude_ref", "aspect", "as_of")})
    if data.truth is not None:
        t = data.truth.to_pydict()
        add("truth", list(shapely.points(t["lon_deg"], t["lat_deg"], t["alt_m"])), "Point Z", {
            "object_id": t["object_id"], "type": t["type"], "nation": t["nation"],
            "affiliation": [data.objects.get(o, "unknown") for o in t["object_id"]],
            "time_s": t["time_s"], "time_utc": _times(data, t["time_s"]), "alt_m": t["alt_m"]})
        paths = [(oid, cols) for (oid,), cols in groups(data.truth, ["object_id"]) if len(cols["time_s"]) > 1]
        add("truth_paths", [shapely.LineString(list(zip(c["lon_deg"], c["lat_deg"], c["alt_m"], strict=True)))
                            for _, c in paths], "LineString Z", {
            "object_id": [o for o, _ in paths], "type": [c["type"][0] for _, c in paths],
            "affiliation": [data.objects.get(o, "unknown") for o, _ in paths],
            "start_utc": [_times(data, c["time_s"][:1])[0] for _, c in paths],
            "end_utc": [_times(data, c["time_s"][-1:])[0] for _, c in paths]})
    if data.tracks is not None:
        k = data.tracks.to_pydict()
        objects = data.objects
        add("tracks", list(shapely.points(k["lon_deg"], k["lat_deg"])), "Point", {
            "node": k["node"], "track_id": k["track_id"], "time_s": k["time_s"],
            "time_utc": _times(data, k["time_s"]), "identity": k["identity"],
            "affiliation": [track_affiliation(i, objects.get(o or "")) for i, o in
                            zip(k["identity"], k["object_id"], strict=True)],
            "alt_m": k["alt_m"], "object_id": k["object_id"]})
    if not written:
        raise ValueError("the run has nothing to export (no units with a place, coverage, truth or tracks)")
    return path
