"""Coverage exports: GeoTIFF grids, GeoJSON contours (lon/lat), KML for Google Earth, CSV tables, PNG
maps; ``write_coverage_study`` writes a whole study."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import shapely
from pyproj import Geod
from rasterio.features import shapes
from shapely.geometry import mapping, shape

from iadsim.coverage.compute import JOINT, Coverage, CoverageError
from iadsim.coverage.metrics import Region
from iadsim.coverage.shift import ShiftLines, boundary_shift, zone_masks
from iadsim.coverage.study import CoverageRequest, CoverageStudy
from iadsim.geo import transformer
from iadsim.io.paths import check_reusable_folder
from iadsim.oob import order_of_battle
from iadsim.scenario.schema import Scenario
from iadsim.version import __version__

__all__ = [
    "check_coverage_folder",
    "coverage_contours",
    "write_contours_geojson",
    "write_contours_kml",
    "write_coverage_geotiffs",
    "write_coverage_shift",
    "write_coverage_study",
    "write_table_csv",
]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def write_coverage_geotiffs(coverage: Coverage, folder: Path, group: str = JOINT) -> list[Path]:
    """Per RCS class: a Pd GeoTIFF with one band per altitude layer, and a depth GeoTIFF with one
    band per target aspect and altitude layer (aspect-major).

    Bands are described with their altitude (and the aspect and target speed, for depth); cells
    below ground are NaN (Pd) or -1 (depth).
    """
    folder.mkdir(parents=True, exist_ok=True)
    grid = coverage.grid
    written = []
    for r, rcs in enumerate(coverage.rcs_names):
        for kind in ("pd", "depth"):
            n_layers = len(coverage.layers_m)
            if kind == "pd":
                data = coverage.pd[group][r].astype(np.float32).copy()
                data[coverage.below_ground] = np.nan
                dtype, nodata = "float32", float("nan")
                labels = [coverage.layer_label(b) for b in range(n_layers)]
            else:
                depth = coverage.depth[group][:, r].astype(np.int16).copy()
                depth[:, coverage.below_ground] = -1
                data = depth.reshape(-1, *grid.shape)
                dtype, nodata = "int16", -1
                labels = [f"{coverage.aspect_label(a, r)}, {coverage.layer_label(b)}"
                          for a in range(len(coverage.aspects)) for b in range(n_layers)]
            path = folder / f"{kind}_{_slug(group)}_{_slug(rcs)}.tif"
            profile = {
                "driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1],
                "count": len(labels), "dtype": dtype, "crs": grid.crs,
                "transform": grid.transform, "nodata": nodata, "compress": "deflate",
            }
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(data)
                for band, label in enumerate(labels):
                    dst.set_band_description(band + 1, label)
                dst.update_tags(aspects=",".join(coverage.aspects),
                                target_speed_mps=(f"{coverage.target_speed_mps[r]:g}"
                                                  if len(coverage.target_speed_mps) else ""),
                    quantity="detection probability" if kind == "pd" else "fire units able to engage",
                    group=group, rcs_class=rcs, rcs_m2=str(coverage.rcs_m2[r]),
                    as_of=coverage.as_of.isoformat(), terrain=coverage.terrain, k=str(coverage.k),
                    scenario_hash=coverage.scenario_hash)
            written.append(path)
    return written


def coverage_contours(coverage: Coverage, group: str = JOINT, simplify_m: float | None = None,
                      ) -> list[dict[str, Any]]:
    """GeoJSON features (lon/lat) of the detected and engageable areas per RCS class and layer.

    Each feature's properties name its quantity (``detected`` at Pd ≥ threshold, ``engageable``
    by at least one fire unit), RCS class, altitude and, for ``engageable``, the target's aspect and
    speed (``aspect`` is null for ``detected``: detection does not depend on it).
    """
    grid = coverage.grid
    to_ll = transformer(grid.crs, "EPSG:4326")
    tol = simplify_m if simplify_m is not None else grid.resolution_m / 2
    features = []
    for r, rcs in enumerate(coverage.rcs_names):
        for layer in range(len(coverage.layers_m)):
            masks: list[tuple[str, int | None, Any]] = [
                ("detected", None, coverage.detected(group)[r, layer])]
            masks += [("engageable", a, coverage.engageable(group)[a, r, layer])
                      for a in range(len(coverage.aspects))]
            for quantity, a, mask in masks:
                polys = [shape(geom) for geom, value in
                         shapes(mask.astype(np.uint8), mask=mask, transform=grid.transform)
                         if value == 1]
                if not polys:
                    continue
                merged = shapely.union_all(polys).simplify(tol, preserve_topology=True)
                lonlat = shapely.transform(
                    merged, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
                lonlat = shapely.set_precision(lonlat, 1e-4)
                features.append({
                    "type": "Feature",
                    "geometry": mapping(shapely.geometry.polygon.orient(lonlat)
                                        if lonlat.geom_type == "Polygon" else lonlat),
                    "properties": {
                        "quantity": quantity, "group": group, "rcs_class": rcs,
                        "rcs_m2": float(coverage.rcs_m2[r]),
                        "altitude_m": float(coverage.layers_m[layer]),
                        "altitude_ref": coverage.altitude_reference.value,
                        "aspect": coverage.aspects[a] if a is not None else None,
                        "target_speed_mps": (float(coverage.target_speed_mps[r])
                                             if a is not None and len(coverage.target_speed_mps)
                                             else None),
                        "pd_threshold": coverage.pd_threshold, "as_of": coverage.as_of.isoformat(),
                        "terrain": coverage.terrain,
                    },
                })
    return features


def write_contours_geojson(features: list[dict[str, Any]], path: Path) -> Path:
    """Write contour features as a GeoJSON FeatureCollection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


_KML_COLOURS = {"detected": "5514a0f0", "engageable": "550000e0"}  # aabbggrr


def _kml_ring(coords: Iterable[tuple[float, ...]]) -> str:
    return " ".join(f"{x:.4f},{y:.4f},0" for x, y, *_ in coords)


def _kml_polygon(poly: shapely.Polygon) -> str:
    inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r.coords)}"
                    "</coordinates></LinearRing></innerBoundaryIs>" for r in poly.interiors)
    return (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_ring(poly.exterior.coords)}"
            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>")


def write_contours_kml(features: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Write contour features as KML (Google Earth), one folder per quantity and layer."""
    styles = "".join(
        f'<Style id="{q}"><LineStyle><color>ff{c[2:]}</color><width>1</width></LineStyle>'
        f"<PolyStyle><color>{c}</color></PolyStyle></Style>" for q, c in _KML_COLOURS.items())
    placemarks = []
    for f in features:
        p = f["properties"]
        geom = shape(f["geometry"])
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        body = "".join(_kml_polygon(poly) for poly in polys)
        name = (f"{p['quantity']} — {p['rcs_class']} at {p['altitude_m']:,.0f} m "
                f"{p['altitude_ref'].upper()}"
                + (f", {p['aspect']}" if p.get("aspect") else ""))
        placemarks.append(
            f"<Placemark><name>{escape(name)}</name><styleUrl>#{p['quantity']}</styleUrl>"
            f"<MultiGeometry>{body}</MultiGeometry></Placemark>")
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"<name>{escape(title)}</name>{styles}{''.join(placemarks)}</Document></kml>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path


def write_table_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write a list of dicts as CSV, columns in first-seen order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def check_coverage_folder(out_dir: Path) -> None:
    """Raise OutputPathError unless ``out_dir`` is absent, empty or an earlier coverage study's folder
    (its ``coverage.json``): a study's files replace an earlier study's, never a user's."""
    check_reusable_folder(out_dir, "coverage.json", lambda meta: isinstance(meta, dict),
                          owner="a coverage study",
                          unmarked="an earlier coverage study (no readable coverage.json)")


def write_coverage_study(study: CoverageStudy, scenario: Scenario, request: CoverageRequest,
                         out_dir: Path) -> CoverageStudy:
    """Write a coverage study's outputs under ``out_dir``: per date (a folder ``YYYY-MM-DD``) the
    region table, GeoTIFF grids, GeoJSON and KML contours and, if the request asks, a PNG map per
    layer and RCS class; across dates ``regions_by_date.csv`` and ``coverage.json`` (what was
    computed, on which grid, terrain, scenario hash and version). Returns the study with its
    ``files`` and ``maps`` filled in. ``out_dir`` is new, empty or an earlier study's
    (``check_coverage_folder``)."""
    check_coverage_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for date, coverage in study.coverages.items():
        folder = out_dir / date.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        study.files.append(write_table_csv(study.tables[date], folder / "regions.csv"))
        study.files += write_coverage_geotiffs(coverage, folder, JOINT)
        features = coverage_contours(coverage, JOINT)
        study.files.append(write_contours_geojson(features, folder / "contours.geojson"))
        study.files.append(write_contours_kml(features, folder / "contours.kml",
                                              f"{scenario.name}: coverage on {date.isoformat()}"))
        if request.maps:
            # matplotlib is imported when a map is drawn, not with the package (`import iadsim`)
            from iadsim.coverage.maps import coverage_map_figure
            from iadsim.io.figures import save_map

            oob = order_of_battle(scenario, date, allow_outside_data=True)
            for r, rcs in enumerate(coverage.rcs_names):
                for layer in range(len(coverage.layers_m)):
                    for a, aspect in enumerate(coverage.aspects):
                        path = folder / f"map_{rcs}_{coverage.layers_m[layer]:.0f}m_{_slug(aspect)}.png"
                        save_map(coverage_map_figure(coverage, layer, r, JOINT, oob, aspect=a), path)
                        study.maps[(date, r, layer, a)] = path
                        study.files.append(path)
    study.files.append(write_table_csv(study.comparison, out_dir / "regions_by_date.csv"))
    first = next(iter(study.coverages.values()))
    grid = first.grid
    meta = {
        "scenario": scenario.name,
        "dates": [d.isoformat() for d in request.dates],
        "layers_m": list(request.layers_m),
        "altitude_reference": request.altitude_reference,
        "rcs_classes": study.rcs_m2,
        "aspects": list(first.aspects),
        "target_speed_mps": dict(zip(first.rcs_names, first.target_speed_mps.tolist(), strict=False)),
        "resolution_km": request.resolution_km,
        "grid": {"crs": grid.crs, "shape": list(grid.shape), "transform": list(grid.transform)[:6]},
        "area_lon_lat": list(request.area),
        "k": request.k,
        "pd_threshold": request.pd_threshold,
        "terrain": first.terrain,
        "scenario_hash": first.scenario_hash,
        "iadsim_version": __version__,
    }
    summary = out_dir / "coverage.json"
    summary.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    study.files.append(summary)
    return study


def write_coverage_shift(study: CoverageStudy, lines: ShiftLines, regions: list[Region],
                         out_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Path]]:
    """How the zones moved between a study's two dates: ``shift_boundaries.csv`` (km along each
    line), ``shift_areas.csv`` (km² gained and lost per region) and a map per quantity, layer and
    aspect of the first RCS class (``shift_map_*.png``), under ``out_dir``.

    Returns:
        The boundary rows, the area rows and the files written.
    """
    if len(study.coverages) != 2:
        raise CoverageError(f"the shift compares two dates; the study has {len(study.coverages)}")
    before, after = (study.coverages[d] for d in sorted(study.coverages))
    boundary, areas = boundary_shift(before, after, lines, regions)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [write_table_csv(boundary, out_dir / "shift_boundaries.csv"),
             write_table_csv(areas, out_dir / "shift_areas.csv")]
    rays = []
    if lines.origin is not None:
        steps = np.arange(0.0, 1500e3, 5e3)
        for b in lines.bearings:
            lon, lat, _ = Geod(ellps="WGS84").fwd(np.full(len(steps), lines.origin[1]),
                                                  np.full(len(steps), lines.origin[0]),
                                                  np.full(len(steps), b), steps)
            rays.append((np.asarray(lon), np.asarray(lat)))
    from iadsim.coverage.maps import shift_map_figure  # matplotlib when drawing
    from iadsim.io.figures import save_map

    zones1, zones2 = zone_masks(before), zone_masks(after)
    for (quantity, r, layer, aspect), m1 in zones1.items():
        if r != 0:
            continue
        label = "detected" if quantity == "detected" else f"engageable, {aspect}"
        title = (f"{before.as_of.isoformat()} → {after.as_of.isoformat()}: {label}, "
                 f"{before.layer_label(layer)}, {before.rcs_names[r]}")
        name = f"shift_map_{_slug(quantity)}_{before.layers_m[layer]:.0f}m"
        name += f"_{_slug(aspect)}.png" if aspect else ".png"
        files.append(save_map(shift_map_figure(before, after, m1, zones2[(quantity, r, layer, aspect)],
                                               title, lines.latitudes, rays), out_dir / name))
    return boundary, areas, files
