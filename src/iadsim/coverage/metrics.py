"""Region metrics of coverage: share of a region's area detected and engageable, overlap depth."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.features import geometry_mask
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from iadsim.coverage.compute import JOINT, Coverage
from iadsim.coverage.grid import CoverageGrid
from iadsim.data import Region, load_regions
from iadsim.geo import transformer

__all__ = [
    "DEFAULT_REGIONS",
    "Region",  # defined in iadsim.data, the one home of a region; re-exported for coverage users
    "RegionError",
    "check_region_names",
    "default_regions",
    "load_region_file",
    "region_masks",
    "region_metrics",
    "regions_without_cells",
]

DEFAULT_REGIONS = ("LTU", "LVA", "EST", "POL", "UKR", "BLR", "RUS-KGD")
"""The regions of the report's tables: the Baltic states, Poland, Ukraine, Belarus, Kaliningrad."""


class RegionError(Exception):
    """A region file that cannot be used (message names the file and the problem)."""


def default_regions() -> list[Region]:
    """The bundled regions of ``DEFAULT_REGIONS``."""
    bundled = load_regions()
    return [bundled[rid] for rid in DEFAULT_REGIONS]


def load_region_file(path: str | Path) -> list[Region]:
    """Polygons from a GeoJSON file (lon/lat): a FeatureCollection, a Feature or a geometry.

    Each feature's name is its ``name`` property, else its ``id``, else the file name and index.
    """
    p = Path(path)
    if not p.is_file():
        raise RegionError(f"{p}: no such file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegionError(f"{p}: not a GeoJSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise RegionError(f"{p}: not a GeoJSON object")
    features: list[dict[str, Any]]
    if doc.get("type") == "FeatureCollection":
        raw = doc.get("features") or []
        if not isinstance(raw, list):
            raise RegionError(f"{p}: features is not a list of GeoJSON Features")
        features = raw
    elif doc.get("type") == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    if not features:
        raise RegionError(f"{p}: the file holds no features")
    regions = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise RegionError(f"{p}: feature {i + 1} is not a GeoJSON Feature (an object)")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise RegionError(f"{p}: feature {i + 1}'s properties are not an object")
        name = str(props.get("name") or feature.get("id") or f"{p.stem}-{i + 1}")
        try:
            geom = shape(feature.get("geometry"))
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            raise RegionError(f"{p}: feature {i + 1} ({name}) has no valid geometry ({exc})") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise RegionError(f"{p}: feature {i + 1} ({name}) is a {geom.geom_type}, not a polygon")
        if geom.is_empty or geom.area == 0:
            raise RegionError(f"{p}: feature {i + 1} ({name}) is an empty polygon")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise RegionError(f"{p}: feature {i + 1} ({name}) has coordinates outside lon/lat "
                              "ranges; GeoJSON is longitude, latitude in degrees")
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        regions.append(Region(f"{p.stem}:{name}", name, geom))
    return regions


def check_region_names(extra: Sequence[Region], builtin: Sequence[Region]) -> None:
    """Raise RegionError if a region of ``extra`` (the user's files) is named like a built-in region
    or like another of ``extra``: the tables key regions by name, so one would hide the other."""
    taken = {r.name.casefold(): "a built-in region" for r in builtin}
    taken |= {r.id.casefold(): "a built-in region" for r in builtin}
    for r in extra:
        key = r.name.casefold()
        if key in taken:
            raise RegionError(f"region '{r.name}' ({r.id}) has the name of {taken[key]}; rename it "
                              "(its figures would be mixed with the other's)")
        taken[key] = f"region {r.id}"


def region_masks(grid: CoverageGrid, regions: list[Region]) -> dict[str, NDArray[np.bool_]]:
    """For each region, the grid cells whose centre lies inside it (and inside the grid's area).

    Kept per process by the grid and the region's geometry (a study evaluates many coverages on one
    grid); each call returns fresh arrays."""
    key = (grid.crs, tuple(grid.transform), grid.shape)
    return {region.id: _region_mask(key, shapely.to_wkb(region.geometry)) & grid.in_area
            for region in regions}


@functools.lru_cache(maxsize=256)
def _region_mask(grid_key: tuple[Any, ...], region_wkb: bytes) -> NDArray[np.bool_]:
    crs, transform, out_shape = grid_key
    tr = transformer("EPSG:4326", crs)
    projected = shapely.transform(
        shapely.segmentize(shapely.from_wkb(region_wkb), 0.05),
        lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    inside: NDArray[np.bool_] = ~geometry_mask([projected], out_shape=out_shape,
                                               transform=Affine(*transform[:6]))
    inside.setflags(write=False)
    return inside


def regions_without_cells(grid: CoverageGrid, regions: Sequence[Region]) -> list[tuple[Region, bool]]:
    """The regions with no grid cell inside the grid's area (their rows would all be empty), each
    with whether it would have cells with its coordinates swapped (latitude, longitude written in
    place of GeoJSON's longitude, latitude)."""
    masks = region_masks(grid, list(regions))
    out = []
    for region in regions:
        if masks[region.id].any():
            continue
        swapped = shapely.transform(region.geometry, lambda xy: xy[:, ::-1])
        lon0, lon1, lat0, lat1 = grid.area_lonlat
        minx, miny, maxx, maxy = swapped.bounds
        out.append((region, bool(minx <= lon1 and maxx >= lon0 and miny <= lat1 and maxy >= lat0)))
    return out


def _region_area_km2(geometry: BaseGeometry) -> float:
    return _area_km2(shapely.to_wkb(geometry))


@functools.lru_cache(maxsize=256)
def _area_km2(wkb: bytes) -> float:
    """The geodesic area of a lon/lat geometry (WKB), km² (kept per process: regions repeat)."""
    from pyproj import Geod

    geometry = shapely.from_wkb(wkb)
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(shapely.segmentize(geometry, 0.01))
    return abs(area) / 1e6


def region_metrics(coverage: Coverage, regions: list[Region],
                   masks: dict[str, NDArray[np.bool_]] | None = None) -> list[dict[str, Any]]:
    """One row per region, RCS class, altitude layer and target aspect.

    Columns: region, rcs, altitude, aspect and target speed, % of the region's area detected and
    engageable (joint and per nation; detection does not depend on the aspect), mean and max
    overlap depth, and the share of the region inside the grid.
    """
    masks = masks if masks is not None else region_masks(coverage.grid, regions)
    cell_km2 = (coverage.grid.resolution_m / 1000.0) ** 2
    nations = [g for g in coverage.groups if g != JOINT]
    detected = {g: coverage.detected(g) for g in coverage.groups}
    engageable = {g: coverage.engageable(g) for g in coverage.groups}
    rows = []
    for region in regions:
        mask = masks[region.id]
        n = int(mask.sum())
        area_km2 = _region_area_km2(region.geometry)
        for r, rcs in enumerate(coverage.rcs_names):
            for layer in range(len(coverage.layers_m)):
                valid = mask & ~coverage.below_ground[layer]
                nv = int(valid.sum())
                for a, aspect in enumerate(coverage.aspects):
                    depth = coverage.depth[JOINT][a, r, layer][valid]
                    speed = (float(coverage.target_speed_mps[r]) if len(coverage.target_speed_mps)
                             else float("nan"))
                    row: dict[str, Any] = {
                        "as_of": coverage.as_of.isoformat(),
                        "region": region.name,
                        "rcs_class": rcs,
                        "rcs_m2": float(coverage.rcs_m2[r]),
                        "altitude_m": float(coverage.layers_m[layer]),
                        "altitude_ref": coverage.altitude_reference.value,
                        "aspect": aspect,
                        "target_speed_mps": speed,
                        "detected_pct": _pct(detected[JOINT][r, layer], valid, nv),
                        "engageable_pct": _pct(engageable[JOINT][a, r, layer], valid, nv),
                    }
                    for g in nations:
                        row[f"detected_pct_{g}"] = _pct(detected[g][r, layer], valid, nv)
                        row[f"engageable_pct_{g}"] = _pct(engageable[g][a, r, layer], valid, nv)
                    row["mean_depth"] = round(float(depth.mean()), 2) if nv else float("nan")
                    row["max_depth"] = int(depth.max()) if nv else 0
                    row["region_in_grid_pct"] = round(min(100.0, 100.0 * n * cell_km2 / area_km2), 1)
                    rows.append(row)
    return rows


def _pct(hit: NDArray[np.bool_], valid: NDArray[np.bool_], n: int) -> float:
    return round(100.0 * int((hit & valid).sum()) / n, 1) if n else float("nan")
