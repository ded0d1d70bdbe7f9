"""The coverage grid: square cells of a chosen size in an equal-area projection.

Cells are squares in ETRS89 Lambert azimuthal equal-area (EPSG:3035) by default, so every cell
has the same ground area and "% of a region's area" is a fraction of its cells. Geometry
(distances to radars) is computed from each cell centre's longitude and latitude, not from the
projected plane, so projection distortion does not enter the radar model.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from iadsim.geo import transformer

__all__ = ["DEFAULT_CRS", "CoverageGrid", "GridTooLarge"]

DEFAULT_CRS = "EPSG:3035"


class GridTooLarge(Exception):
    """The requested grid would not fit in memory; the message gives the estimate and a hint."""


@dataclass(frozen=True)
class CoverageGrid:
    """A north-up grid of square cells; row 0 is the northern edge."""

    crs: str
    transform: Affine
    shape: tuple[int, int]
    resolution_m: float
    area_lonlat: tuple[float, float, float, float]

    @classmethod
    def over(cls, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
             resolution_km: float, crs: str = DEFAULT_CRS) -> CoverageGrid:
        """The grid covering a longitude/latitude box at ``resolution_km``.

        Args:
            lon_min, lon_max, lat_min, lat_max: the box in degrees.
            resolution_km: cell size in kilometres.
            crs: a projected CRS in metres (default: EPSG:3035, equal-area).
        """
        if not (lon_min < lon_max and lat_min < lat_max):
            raise ValueError("the area must have lon_min < lon_max and lat_min < lat_max")
        if not resolution_km > 0:
            raise ValueError(f"resolution_km must be positive, got {resolution_km}")
        if cls is CoverageGrid:
            return _grid_over(float(lon_min), float(lon_max), float(lat_min), float(lat_max),
                              float(resolution_km), crs)
        return cls._build(lon_min, lon_max, lat_min, lat_max, resolution_km, crs)

    @classmethod
    def _build(cls, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
               resolution_km: float, crs: str) -> CoverageGrid:
        to_xy = transformer("EPSG:4326", crs)
        # densified outline: the box's edges are curves in the projection
        t = np.linspace(0.0, 1.0, 200)
        lons = np.concatenate([lon_min + (lon_max - lon_min) * t, np.full_like(t, lon_max),
                               lon_max - (lon_max - lon_min) * t, np.full_like(t, lon_min)])
        lats = np.concatenate([np.full_like(t, lat_min), lat_min + (lat_max - lat_min) * t,
                               np.full_like(t, lat_max), lat_max - (lat_max - lat_min) * t])
        x, y = to_xy.transform(lons, lats)
        res = resolution_km * 1000.0
        x0 = math.floor(float(np.min(x)) / res) * res
        y1 = math.ceil(float(np.max(y)) / res) * res
        cols = math.ceil((float(np.max(x)) - x0) / res)
        rows = math.ceil((y1 - float(np.min(y))) / res)
        return cls(crs, Affine(res, 0.0, x0, 0.0, -res, y1), (rows, cols), res,
                   (lon_min, lon_max, lat_min, lat_max))

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    def estimated_bytes(self, n_layers: int, n_rcs: int, n_groups: int) -> int:
        """Memory the coverage arrays of this grid need (results plus working arrays)."""
        per_cell = n_rcs * n_layers * n_groups * (4 + 2)  # float32 Pd, int16 depth
        working = 8 * 3 + 8 * 2 + 4  # unit vectors, lon/lat, ground height
        return self.n_cells * (per_cell + working)

    def check_memory(self, n_layers: int, n_rcs: int, n_groups: int,
                     limit_bytes: int = 8 * 2**30) -> None:
        """Raise GridTooLarge, with the estimate and a hint, if the arrays would pass ``limit_bytes``."""
        need = self.estimated_bytes(n_layers, n_rcs, n_groups)
        if need > limit_bytes:
            scale = math.sqrt(need / limit_bytes)
            raise GridTooLarge(
                f"a {self.shape[0]:,} × {self.shape[1]:,} grid with {n_layers} altitude layers and "
                f"{n_rcs} RCS classes needs about {need / 2**30:.1f} GiB (limit "
                f"{limit_bytes / 2**30:.0f} GiB); use a coarser resolution (≥ "
                f"{self.resolution_m / 1000 * scale:.1f} km), fewer layers or a smaller area")

    @cached_property
    def xy_m(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Projected cell-centre coordinates: x of the columns (cols,), y of the rows (rows,)."""
        rows, cols = self.shape
        x = self.transform.c + (np.arange(cols, dtype=np.float64) + 0.5) * self.transform.a
        y = self.transform.f + (np.arange(rows, dtype=np.float64) + 0.5) * self.transform.e
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    @cached_property
    def lonlat_deg(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell-centre longitude and latitude, each (rows, cols)."""
        x, y = self.xy_m
        xx, yy = np.meshgrid(x, y)
        to_ll = transformer(self.crs, "EPSG:4326")
        lon, lat = to_ll.transform(xx, yy)
        return _read_only(np.asarray(lon)), _read_only(np.asarray(lat))

    @cached_property
    def unit_vectors(self) -> NDArray[np.float64]:
        """Cell centres as unit vectors from the earth's centre (spherical), (rows, cols, 3)."""
        lon, lat = self.lonlat_deg
        return _read_only(_unit_vectors(lat, lon))

    @cached_property
    def in_area(self) -> NDArray[np.bool_]:
        """Cells whose centre lies in the longitude/latitude box the grid was made for."""
        lon, lat = self.lonlat_deg
        lon0, lon1, lat0, lat1 = self.area_lonlat
        return _read_only(np.asarray((lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)))

    def index_of(self, lon_deg: float, lat_deg: float) -> tuple[int, int]:
        """(row, col) of the cell containing a point (may lie outside the grid)."""
        x, y = transformer("EPSG:4326", self.crs).transform(lon_deg, lat_deg)
        col, row = ~self.transform @ (x, y)
        return math.floor(row), math.floor(col)

    def window(self, row: int, col: int, radius_m: float) -> tuple[slice, slice]:
        """Row and column slices of the cells within ``radius_m`` (plus a margin) of a cell,
        clipped to the grid; the margin covers the projection's scale error."""
        n = math.ceil(radius_m * 1.1 / self.resolution_m) + 1
        rows, cols = self.shape
        return (slice(max(row - n, 0), min(row + n + 1, rows)),
                slice(max(col - n, 0), min(col + n + 1, cols)))


@functools.lru_cache(maxsize=2)
def _grid_over(lon_min: float, lon_max: float, lat_min: float, lat_max: float, resolution_km: float,
               crs: str) -> CoverageGrid:
    """``CoverageGrid.over``, kept per process with its cell coordinates, unit vectors and area mask
    (read-only): a sensitivity study computes a coverage on one grid for every point, and
    recomputing them (pyproj over every cell) was a sixth of each evaluation. Two grids at most:
    at fine resolutions they take hundreds of MB."""
    return CoverageGrid._build(lon_min, lon_max, lat_min, lat_max, resolution_km, crs)


def _read_only(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


def _unit_vectors(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)
