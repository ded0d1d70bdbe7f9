"""How a coverage zone moved between two dates: the boundary's shift along parallels and along
bearings from a point (km), and the area gained and lost per region (km²), for the detection and
the engagement zone of every layer, RCS class and aspect. docs/models/coverage.md, "Shift".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

from iadsim.coverage.compute import JOINT, Coverage, CoverageError
from iadsim.coverage.metrics import Region, region_masks
from iadsim.geo import transformer

__all__ = ["SAMPLE_STEP_KM", "ShiftLines", "boundary_shift", "zone_masks"]

SAMPLE_STEP_KM = 1.0
"""Spacing of the points sampled along a parallel or a bearing, km: finer than any grid cell."""

_GEOD = Geod(ellps="WGS84")
_MAX_REACH_KM = 1500.0  # bearings are followed this far (beyond any air-defence radar's reach)


@dataclass(frozen=True)
class ShiftLines:
    """Where the boundaries are measured: parallels (degrees north) and bearings (degrees from
    north) from ``origin`` (lat, lon)."""

    latitudes: tuple[float, ...] = ()
    bearings: tuple[float, ...] = ()
    origin: tuple[float, float] | None = None

    def check(self, coverage: Coverage) -> None:
        """CoverageError for lines outside the coverage's area or bearings without an origin."""
        self.check_area(coverage.grid.area_lonlat)

    def check_area(self, area: Sequence[float]) -> None:
        """CoverageError for a parallel or an origin outside the lon/lat box ``area`` (lon_min,
        lon_max, lat_min, lat_max: the zones are not known there), bearings without an origin or
        outside 0–360°, or no line at all. Needs no coverage: a command checks before computing."""
        lon0, lon1, lat0, lat1 = (float(v) for v in area)
        for phi in self.latitudes:
            if not lat0 <= phi <= lat1:
                raise CoverageError(f"latitude {phi:g}° lies outside the area ({lat0:g}°–{lat1:g}°N); "
                                    "the zones are only computed inside it")
        if self.bearings and self.origin is None:
            raise CoverageError("bearings need a point to measure from (--shift-from LAT,LON)")
        if self.origin is not None:
            lat, lon = self.origin
            if not (lat0 <= lat <= lat1 and lon0 <= lon <= lon1):
                raise CoverageError(f"the bearings' origin {lat:g}°N {lon:g}°E lies outside the area "
                                    f"({lon0:g}°–{lon1:g}°E, {lat0:g}°–{lat1:g}°N); the zones are only "
                                    "computed inside it")
        for b in self.bearings:
            if not 0.0 <= b < 360.0:
                raise CoverageError(f"a bearing lies in 0–360°, got {b:g}")
        if not self.latitudes and not self.bearings:
            raise CoverageError("give at least one latitude or bearing to measure the shift along")


def zone_masks(coverage: Coverage, group: str = JOINT) -> dict[tuple[str, int, int, str], NDArray[np.bool_]]:
    """The zones of one coverage: (quantity, RCS index, layer index, aspect) → (rows, cols) mask.
    ``detected`` has aspect ``""`` (detection does not depend on it)."""
    out: dict[tuple[str, int, int, str], NDArray[np.bool_]] = {}
    detected = coverage.detected(group)
    engageable = coverage.engageable(group)
    for r in range(len(coverage.rcs_names)):
        for layer in range(len(coverage.layers_m)):
            out[("detected", r, layer, "")] = detected[r, layer] & coverage.grid.in_area
            for a, aspect in enumerate(coverage.aspects):
                out[("engageable", r, layer, aspect)] = engageable[a, r, layer] & coverage.grid.in_area
    return out


def _lookup(coverage: Coverage, mask: NDArray[np.bool_], lon: NDArray[np.float64],
            lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    """The mask at lon/lat points (False outside the grid)."""
    grid = coverage.grid
    x, y = transformer("EPSG:4326", grid.crs).transform(lon, lat)
    t = grid.transform
    col = np.floor((np.asarray(x) - t.c) / t.a).astype(np.int64)
    row = np.floor((np.asarray(y) - t.f) / t.e).astype(np.int64)
    rows, cols = grid.shape
    inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    out = np.zeros(len(lon), dtype=bool)
    out[inside] = mask[row[inside], col[inside]]
    return out


def _parallel(coverage: Coverage, phi: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lon, _ = coverage.grid.lonlat_deg
    lo, hi = float(np.nanmin(lon)), float(np.nanmax(lon))
    km_per_deg = 111.32 * np.cos(np.radians(phi))
    n = max(2, int((hi - lo) * km_per_deg / SAMPLE_STEP_KM) + 1)
    lons = np.linspace(lo, hi, n)
    return lons, np.full(n, phi)


def _edges_along_parallel(inside: NDArray[np.bool_], lons: NDArray[np.float64]) -> tuple[float, float]:
    if not inside.any():
        return float("nan"), float("nan")
    hit = lons[inside]
    return float(hit.min()), float(hit.max())


def _east_km(phi: float, lon_from: float, lon_to: float) -> float:
    """Signed distance along the parallel, km (positive eastward); NaN if either is NaN."""
    if not (np.isfinite(lon_from) and np.isfinite(lon_to)):
        return float("nan")
    _, _, d = _GEOD.inv(lon_from, phi, lon_to, phi)
    return float(np.sign(lon_to - lon_from) * d / 1000.0)


def _reach_km(coverage: Coverage, mask: NDArray[np.bool_], origin: tuple[float, float],
              bearing: float) -> float:
    """The farthest distance along the bearing (geodesic) at which the point is in the zone, km;
    NaN when nowhere."""
    steps = np.arange(0.0, _MAX_REACH_KM + SAMPLE_STEP_KM, SAMPLE_STEP_KM)
    lat0, lon0 = origin
    lon, lat, _ = _GEOD.fwd(np.full(len(steps), lon0), np.full(len(steps), lat0),
                            np.full(len(steps), bearing), steps * 1000.0)
    inside = _lookup(coverage, mask, np.asarray(lon), np.asarray(lat))
    return float(steps[inside].max()) if inside.any() else float("nan")


def boundary_shift(before: Coverage, after: Coverage, lines: ShiftLines, regions: Sequence[Region],
                   group: str = JOINT) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The boundary movement and the area gained between two coverages on one grid.

    Args:
        before, after: coverage at the earlier and the later date (same grid, layers, RCS classes
            and aspects).
        lines: the parallels and bearings to measure along.
        regions: the regions whose area gained and lost is measured.
        group: ``joint`` or a nation.

    Returns:
        (boundary rows, area rows). A boundary row per quantity, RCS class, layer, aspect and line:
        the edge's position at each date and how far it moved (km; along a parallel the west edge
        moving west and the east edge moving east count positive; along a bearing, the reach
        growing). An area row per quantity, RCS class, layer, aspect and region: km² gained, lost
        and the net change.
    """
    g1, g2 = before.grid, after.grid
    if g1.crs != g2.crs or g1.transform != g2.transform or g1.shape != g2.shape:
        raise CoverageError("the two dates must be computed on the same grid")
    if (before.layers_m.tolist() != after.layers_m.tolist() or before.rcs_names != after.rcs_names
            or before.aspects != after.aspects):
        raise CoverageError("the two dates must have the same layers, RCS classes and aspects")
    lines.check(before)
    zones1, zones2 = zone_masks(before, group), zone_masks(after, group)
    cell_km2 = (before.grid.resolution_m / 1000.0) ** 2
    masks = region_masks(before.grid, list(regions))
    parallels = {phi: _parallel(before, phi) for phi in lines.latitudes}
    d1, d2 = before.as_of.isoformat(), after.as_of.isoformat()
    boundary: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    for key, m1 in zones1.items():
        quantity, r, layer, aspect = key
        m2 = zones2[key]
        base = {"quantity": quantity, "rcs_class": before.rcs_names[r],
                "altitude_m": float(before.layers_m[layer]),
                "altitude_ref": before.altitude_reference.value, "aspect": aspect or None,
                "group": group, "from": d1, "to": d2}
        for phi, (lons, lats) in parallels.items():
            w1, e1 = _edges_along_parallel(_lookup(before, m1, lons, lats), lons)
            w2, e2 = _edges_along_parallel(_lookup(after, m2, lons, lats), lons)
            boundary.append({**base, "line": f"latitude {phi:g}°N", "edge": "west",
                             "edge_from_lon_deg": w1, "edge_to_lon_deg": w2,
                             "moved_km": round(-_east_km(phi, w1, w2), 1)})
            boundary.append({**base, "line": f"latitude {phi:g}°N", "edge": "east",
                             "edge_from_lon_deg": e1, "edge_to_lon_deg": e2,
                             "moved_km": round(_east_km(phi, e1, e2), 1)})
        for b in lines.bearings:
            assert lines.origin is not None
            r1 = _reach_km(before, m1, lines.origin, b)
            r2 = _reach_km(after, m2, lines.origin, b)
            boundary.append({**base, "line": f"bearing {b:g}° from {lines.origin[0]:g}°N "
                             f"{lines.origin[1]:g}°E", "edge": "outer", "reach_from_km": r1,
                             "reach_to_km": r2, "moved_km": round(r2 - r1, 1)})
        gained, lost = m2 & ~m1, m1 & ~m2
        for region in regions:
            inside = masks[region.id]
            g = float(np.count_nonzero(gained & inside)) * cell_km2
            lo = float(np.count_nonzero(lost & inside)) * cell_km2
            areas.append({**base, "region": region.name, "gained_km2": round(g),
                          "lost_km2": round(lo), "net_km2": round(g - lo),
                          "covered_from_km2": round(float(np.count_nonzero(m1 & inside)) * cell_km2),
                          "covered_to_km2": round(float(np.count_nonzero(m2 & inside)) * cell_km2)})
    return boundary, areas
