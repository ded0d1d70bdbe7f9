"""Terrain heights from a digital elevation model (DEM): the bundled ETOPO5 extract or any raster.

A :class:`Terrain` holds one DEM in memory in its own CRS: a float32 ``(rows, cols)`` array of
heights in metres above mean sea level (NaN = no data) and its affine transform. It answers two
questions: the height under points given in WGS84 lon/lat (:meth:`Terrain.height_at`, bilinear),
and the heights on another grid (:meth:`Terrain.resample`, GDAL warp), e.g. the coverage grid or
the viewshed kernel's grid. :meth:`Terrain.check_covers` tells the user, in one line, when the
DEM does not cover the analysis area or has no-data holes in it.

Array-shape rule: lat/lon arguments are scalars or arrays of N (broadcast); heights come back as
float64 arrays of N (at least one-dimensional). Heights are metres, as the DEM gives them: above
mean sea level (orthometric), not above the WGS84 ellipsoid (see docs/models/terrain.md).

Sea: the radar sees the sea surface, not the sea floor, so heights below 0 m are raised to 0 m
(always for the bundled ETOPO5, whose ocean cells hold depths; by default, ``clamp_sea=True``,
for a user's DEM). Errors in a user's DEM raise :class:`TerrainError` with one line that names
the file; bad arguments from calling code raise ``ValueError``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
import rasterio.errors
import rasterio.features
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from pyproj.exceptions import CRSError, ProjError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from iadsim.geo.geodesy import transformer

__all__ = [
    "DEFAULT_DEM_ATTRIBUTION",
    "DEFAULT_DEM_DESCRIPTION",
    "MAX_HEIGHT_M",
    "MIN_HEIGHT_M",
    "NO_TERRAIN_DESCRIPTION",
    "Terrain",
    "TerrainError",
    "default_dem_path",
    "default_terrain",
    "load_dem",
]

#: Heights above this are taken as a wrong unit or scale (Everest is 8,849 m).
MAX_HEIGHT_M = 9000.0
#: Heights below this are taken as a wrong unit, scale or an undeclared no-data value
#: (the Challenger Deep is about -10,935 m).
MIN_HEIGHT_M = -12000.0
#: The largest DEM read into memory (float32 cells): 250 million cells, 1 GB.
MAX_CELLS = 250_000_000

#: What outputs say about the bundled DEM.
DEFAULT_DEM_DESCRIPTION = "ETOPO5 (NOAA, 5 arc-minute, ~9 km), bundled"
#: The credit line for outputs that use the bundled DEM.
DEFAULT_DEM_ATTRIBUTION = "Terrain: ETOPO5, NOAA National Geophysical Data Center (public domain)"
#: What outputs say when no DEM is used.
NO_TERRAIN_DESCRIPTION = "none: smooth earth at sea level"

_DEFAULT_DEM_FILE = "etopo5_region.tif"
_EDGE_POINTS = 101  # points per edge when an outline is carried from one CRS to another

Float32Array = NDArray[np.float32]
Float64Array = NDArray[np.float64]


class TerrainError(Exception):
    """A DEM the user gave cannot be used; the message says why (one line, names the file)."""


@dataclass(frozen=True)
class Terrain:
    """A DEM in memory: heights in metres above mean sea level on a grid in the DEM's own CRS.

    Attributes:
        path: the DEM file; for the bundled default, the bundled GeoTIFF inside the package
            (``bundled`` is then True).
        description: one line for outputs, e.g. ``"ETOPO5 (NOAA, 5 arc-minute, ~9 km), bundled"``
            or ``"my.tif: 90 m, EPSG:32635"`` (a CRS without an EPSG code by its name).
        crs: the DEM's CRS as ``"EPSG:nnnn"`` when it has an EPSG code, else WKT.
        resolution_m: approximate ground spacing in metres: the coarser of the two pixel
            spacings (for a lon/lat DEM, measured at the DEM's centre latitude).
        bounds_lonlat: (lon_min, lat_min, lon_max, lat_max) in degrees, WGS84: the box around
            the raster's outer pixel edges.
        heights_m: float32 ``(rows, cols)`` heights in metres, read-only; NaN where no data;
            sea clamped to 0 m unless the DEM was loaded with ``clamp_sea=False``.
        transform: affine map from (col, row) pixel-corner coordinates to DEM CRS coordinates
            (pixel centres at col + 0.5, row + 0.5).
        bundled: True for the bundled default DEM.
    """

    path: Path
    description: str
    crs: str
    resolution_m: float
    bounds_lonlat: tuple[float, float, float, float]
    heights_m: Float32Array = field(repr=False, compare=False)
    transform: Affine = field(repr=False)
    bundled: bool = False

    @property
    def label(self) -> str:
        """How error messages name the DEM: the path as given, or the bundled file."""
        return f"the bundled DEM ({self.path.name})" if self.bundled else str(self.path)

    def height_at(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> Float64Array:
        """Terrain heights under points, bilinear between pixel centres.

        Args:
            lat_deg, lon_deg: WGS84 latitude and longitude in degrees, scalars or arrays of N
                (broadcast).

        Returns:
            float64 array of N heights in metres above mean sea level (shape ``(1,)`` for
            scalars); NaN outside the DEM or where a contributing cell has no data. In the outer
            half-pixel rim the edge value is held.
        """
        lat, lon = np.broadcast_arrays(
            np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)),
            np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)),
        )
        x, y = _from_lonlat(self.crs).transform(lon.ravel(), lat.ravel())
        return _bilinear(self.heights_m, self.transform, np.asarray(x), np.asarray(y)).reshape(lat.shape)

    def resample(
        self,
        crs: str,
        transform: Affine,
        shape: tuple[int, int],
        resampling: str = "bilinear",
    ) -> Float32Array:
        """Terrain heights on a target grid (GDAL warp).

        Args:
            crs: target CRS, anything GDAL understands (``"EPSG:4326"``, ``"EPSG:32635"``, WKT,
                a PROJ string).
            transform: target affine transform (pixel corners to target CRS coordinates).
            shape: target (rows, cols).
            resampling: a GDAL resampling name: ``"bilinear"`` (default; averages over the source
                cells when the target is coarser), ``"nearest"``, ``"cubic"``, ``"average"``,
                ``"max"`` (keeps peaks: conservative for line-of-sight masking), ``"min"`` ...

        Returns:
            float32 ``(rows, cols)`` heights in metres; NaN where the DEM has no data or does
            not reach. No-data holes are not filled: call :meth:`check_covers` first.
        """
        rows, cols = (int(n) for n in shape)
        if rows <= 0 or cols <= 0:
            raise ValueError(f"shape must be two positive integers (rows, cols), got {shape!r}")
        try:
            method = Resampling[resampling]
        except KeyError:
            allowed = ", ".join(m.name for m in Resampling if m.value <= 14)
            raise ValueError(f"unknown resampling {resampling!r}; allowed: {allowed}") from None
        try:
            dst_crs = CRS.from_user_input(crs)
        except rasterio.errors.CRSError as exc:
            raise ValueError(f"target CRS {crs!r} not understood: {exc}") from None
        out = np.full((rows, cols), np.nan, dtype=np.float32)
        reproject(
            self.heights_m,
            out,
            src_transform=self.transform,
            src_crs=CRS.from_user_input(self.crs),
            src_nodata=np.nan,
            dst_transform=transform,
            dst_crs=dst_crs,
            dst_nodata=np.nan,
            resampling=method,
            num_threads=min(4, os.cpu_count() or 1),
        )
        return out

    def check_covers(
        self,
        lon_min: float,
        lat_min: float,
        lon_max: float,
        lat_max: float,
        *,
        allow_holes: bool = False,
    ) -> None:
        """Raise TerrainError unless the DEM covers a lon/lat box without no-data holes.

        Args:
            lon_min, lat_min, lon_max, lat_max: the area in WGS84 degrees.
            allow_holes: if True, no-data cells inside the area are accepted (heights there
                are NaN, and the caller decides what NaN means).

        Raises:
            TerrainError: the area reaches beyond the DEM (the message gives both extents and
                which edges stick out), or, unless ``allow_holes``, DEM cells whose centres lie
                in the area have no data (the message gives their count, share and rough place).
        """
        if not (-180 <= lon_min < lon_max <= 360 and -90 <= lat_min < lat_max <= 90):
            raise ValueError(f"not a lon/lat box: {(lon_min, lat_min, lon_max, lat_max)}")
        area = _fmt_box(lon_min, lat_min, lon_max, lat_max)
        n = _EDGE_POINTS
        lons = np.linspace(lon_min, lon_max, n)
        lats = np.linspace(lat_min, lat_max, n)
        ring_lon = np.concatenate([lons, np.full(n, lon_max), lons[::-1], np.full(n, lon_min)])
        ring_lat = np.concatenate([np.full(n, lat_min), lats, np.full(n, lat_max), lats[::-1]])
        x_all, y_all = (np.asarray(v) for v in _from_lonlat(self.crs).transform(ring_lon, ring_lat))
        c_all, r_all = (np.asarray(v, dtype=np.float64) for v in ~self.transform @ (x_all, y_all))
        rows, cols = self.heights_m.shape
        placed = bool(np.all(np.isfinite(c_all) & np.isfinite(r_all)))
        beyond = [side for side, out in (
            ("west" if self.transform.a > 0 else "east", c_all.min() < 0),
            ("east" if self.transform.a > 0 else "west", c_all.max() > cols),
            ("north" if self.transform.e < 0 else "south", r_all.min() < 0),
            ("south" if self.transform.e < 0 else "north", r_all.max() > rows),
        ) if out] if placed else []
        if beyond or not placed:
            where = f"it reaches beyond the DEM to the {_join(beyond)}" if placed else \
                f"it reaches beyond the DEM's CRS, {self.crs}"
            raise TerrainError(
                f"{self.label}: does not cover the area: the DEM spans {_fmt_box(*self.bounds_lonlat)}, "
                f"the area is {area} ({where})"
            )
        if allow_holes:
            return
        c0 = max(int(np.floor(np.min(c_all))), 0)
        c1 = min(int(np.ceil(np.max(c_all))), cols)
        r0 = max(int(np.floor(np.min(r_all))), 0)
        r1 = min(int(np.ceil(np.max(r_all))), rows)
        window = self.heights_m[r0:r1, c0:c1]
        window_transform = self.transform @ Affine.translation(c0, r0)
        ring = np.column_stack([x_all, y_all]).tolist()
        inside = rasterio.features.geometry_mask(
            [{"type": "Polygon", "coordinates": [[*ring, ring[0]]]}],
            out_shape=window.shape,
            transform=window_transform,
            invert=True,
        )
        holes = np.isnan(window) & inside
        n_holes = int(holes.sum())
        if n_holes == 0:
            return
        n_inside = int(inside.sum())
        hr, hc = np.nonzero(holes)
        box = _pixel_box_lonlat(window_transform, self.crs, hc.min(), hr.min(), hc.max() + 1, hr.max() + 1)
        if box[2] - box[0] < 0.1 and box[3] - box[1] < 0.1:
            where = f"around {_fmt_lon(0.5 * (box[0] + box[2]))}, {_fmt_lat(0.5 * (box[1] + box[3]))}"
        else:
            where = f"within {_fmt_box(*box)}"
        raise TerrainError(
            f"{self.label}: {n_holes:,} no-data cell{'s' if n_holes > 1 else ''} "
            f"({_fmt_percent(n_holes / n_inside)} of the {n_inside:,} cells) inside the area {area}, "
            f"{where}; fill them first (e.g. gdal_fillnodata.py), or, if they are sea, "
            f"set them to 0 m"
        )


def load_dem(path: str | Path, *, clamp_sea: bool = True, nodata_as_sea: bool = False) -> Terrain:
    """Read a DEM: any single-band raster that GDAL reads (GeoTIFF, ...) in any CRS.

    The whole band is read into memory as float32; GDAL scale and offset are applied; no-data
    cells (the declared no-data value, a mask band, NaN) become NaN.

    Args:
        path: the DEM file.
        clamp_sea: raise heights below 0 m to 0 m (the sea surface). Land below sea level (a few
            metres in the region's polders and depressions) is raised with it; pass False to keep
            negative heights.
        nodata_as_sea: set no-data cells to 0 m, for DEMs that leave the sea empty.

    Returns:
        The Terrain.

    Raises:
        TerrainError: the file does not exist or cannot be read as a raster, has more than one
            band, has no CRS or no georeferencing, is too large, has no valid cell, or has heights
            above ``MAX_HEIGHT_M`` or below ``MIN_HEIGHT_M`` (wrong unit or scale, or an undeclared
            no-data value).
    """
    path = Path(path).expanduser()
    label = str(path)
    if not path.exists():
        raise TerrainError(f"{label}: DEM file not found")
    if path.is_dir():
        raise TerrainError(f"{label}: is a folder, not a DEM file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        try:
            with rasterio.open(path) as ds:
                heights, transform, crs = _read_band(ds, label)
        except TerrainError:
            raise
        except (rasterio.errors.RasterioError, OSError) as exc:
            reason = " ".join(str(exc).replace(f"'{path}' ", "").replace(str(path), "").split())
            reason = reason.rstrip(".") or type(exc).__name__
            raise TerrainError(f"{label}: not a raster iadsim can read ({reason})") from None

    finite = np.isfinite(heights)
    if not finite.any():
        raise TerrainError(f"{label}: has no valid heights (every cell is no-data)")
    try:
        to_lonlat = _to_lonlat(crs)
        bounds = _pixel_box_lonlat(transform, crs, 0, 0, heights.shape[1], heights.shape[0])
    except (CRSError, ProjError, ValueError) as exc:
        raise TerrainError(f"{label}: its CRS cannot be converted to longitude/latitude ({exc})") from None
    if not all(math.isfinite(b) for b in bounds):
        raise TerrainError(f"{label}: its extent cannot be converted to longitude/latitude (CRS {crs})")

    for limit, bad, word, hint in (
        (MAX_HEIGHT_M, heights > MAX_HEIGHT_M, "above", "higher than Everest"),
        (MIN_HEIGHT_M, heights < MIN_HEIGHT_M, "below", "deeper than any ocean"),
    ):
        if bad.any():
            r, c = np.unravel_index(int(np.argmax(np.where(bad, np.abs(heights), -np.inf))), heights.shape)
            lon, lat = to_lonlat.transform(*(transform @ (c + 0.5, r + 0.5)))
            raise TerrainError(
                f"{label}: {int(bad.sum()):,} cell{'s' if bad.sum() > 1 else ''} {word} {limit:,.0f} m "
                f"({hint}), e.g. {heights[r, c]:,.6g} m at {_fmt_lon(lon)}, {_fmt_lat(lat)}; heights must "
                f"be metres above sea level: check the unit and scale, and declare the no-data value "
                f"(gdal_edit.py -a_nodata VALUE)"
            )

    if nodata_as_sea:
        heights[~finite] = 0.0
    if clamp_sea:
        np.maximum(heights, 0.0, out=heights, where=finite)
    heights.setflags(write=False)

    resolution_m = _resolution_m(transform, crs, 0.5 * (bounds[1] + bounds[3]))
    return Terrain(
        path=path,
        description=f"{path.name}: {_fmt_resolution(resolution_m, transform, crs)}, {_crs_name(crs)}",
        crs=crs,
        resolution_m=resolution_m,
        bounds_lonlat=bounds,
        heights_m=heights,
        transform=transform,
    )


def default_dem_path() -> Path:
    """The bundled default DEM: ETOPO5, lon 8–46 E, lat 42–65 N, int16 GeoTIFF in EPSG:4326."""
    return Path(str(resources.files("iadsim").joinpath("data", "dem", _DEFAULT_DEM_FILE)))


@cache
def default_terrain() -> Terrain:
    """The bundled ETOPO5 extract for the region (lon 8–46 E, lat 42–65 N), sea at 0 m.

    ``path`` is the bundled GeoTIFF inside the package and ``bundled`` is True. Loaded once.
    """
    terrain = load_dem(default_dem_path(), clamp_sea=True)
    return replace(terrain, description=DEFAULT_DEM_DESCRIPTION, bundled=True)


# --- internals -------------------------------------------------------------------------------


def _read_band(ds: Any, label: str) -> tuple[Float32Array, Affine, str]:
    """Band 1 of an open rasterio dataset as float32 heights (NaN = no data), its transform, CRS."""
    if ds.crs is None or not ds.crs.to_wkt():
        raise TerrainError(
            f"{label}: has no coordinate reference system; a DEM needs one "
            f"(add it with gdal_edit.py -a_srs EPSG:nnnn, or use a GeoTIFF)"
        )
    transform: Affine = ds.transform
    if transform == Affine.identity():
        if ds.gcps[0]:
            raise TerrainError(
                f"{label}: is georeferenced by ground control points only; warp it onto a grid first "
                f"(e.g. gdalwarp -t_srs EPSG:4326 {label} out.tif)"
            )
        raise TerrainError(f"{label}: has a CRS but no georeferencing (no geotransform: cells have no place)")
    if ds.count != 1:
        raise TerrainError(f"{label}: has {ds.count} bands (an image?); a DEM has one band of heights")
    if ds.width * ds.height > MAX_CELLS:
        raise TerrainError(
            f"{label}: {ds.width:,} x {ds.height:,} cells is more than the {MAX_CELLS:,} iadsim reads; "
            f"crop or coarsen it first (gdalwarp -te ... -tr ...)"
        )
    if np.issubdtype(np.dtype(ds.dtypes[0]), np.complexfloating):
        raise TerrainError(f"{label}: holds complex numbers ({ds.dtypes[0]}), not heights")
    band = ds.read(1, masked=True)
    scale = ds.scales[0] if ds.scales and ds.scales[0] is not None else 1.0
    offset = ds.offsets[0] if ds.offsets and ds.offsets[0] is not None else 0.0
    values = np.ma.filled(band.astype(np.float64) * scale + offset, np.nan)
    heights = values.astype(np.float32)
    heights[~np.isfinite(values)] = np.nan
    epsg = ds.crs.to_epsg()
    crs = f"EPSG:{epsg}" if epsg is not None else ds.crs.to_wkt()
    return heights, transform, crs


def _from_lonlat(crs: str) -> Transformer:
    return transformer("EPSG:4326", crs)


def _to_lonlat(crs: str) -> Transformer:
    return transformer(crs, "EPSG:4326")


def _bilinear(heights: Float32Array, transform: Affine, x: Float64Array, y: Float64Array) -> Float64Array:
    """Bilinear interpolation between pixel centres at DEM-CRS points; NaN outside or near no data."""
    rows, cols = heights.shape
    c, r = (np.asarray(v, dtype=np.float64) for v in ~transform @ (x, y))
    out = np.full(c.shape, np.nan)
    inside = np.isfinite(c) & np.isfinite(r) & (c >= 0) & (c <= cols) & (r >= 0) & (r <= rows)
    # centre-based coordinates, the outer half-pixel rim clamped onto the edge centres
    cc = np.clip(c[inside] - 0.5, 0, cols - 1)
    rr = np.clip(r[inside] - 0.5, 0, rows - 1)
    c0 = np.minimum(np.floor(cc).astype(np.intp), max(cols - 2, 0))
    r0 = np.minimum(np.floor(rr).astype(np.intp), max(rows - 2, 0))
    c1 = np.minimum(c0 + 1, cols - 1)
    r1 = np.minimum(r0 + 1, rows - 1)
    fc = cc - c0
    fr = rr - r0
    total = np.zeros(cc.shape)
    missing = np.zeros(cc.shape, dtype=bool)
    for ri, ci, w in (
        (r0, c0, (1 - fr) * (1 - fc)),
        (r0, c1, (1 - fr) * fc),
        (r1, c0, fr * (1 - fc)),
        (r1, c1, fr * fc),
    ):
        z = heights[ri, ci].astype(np.float64)
        used = w > 0
        missing |= used & np.isnan(z)
        total += np.where(used, w * np.nan_to_num(z), 0.0)
    out[inside] = np.where(missing, np.nan, total)
    return out


def _pixel_box_lonlat(
    transform: Affine, crs: str, c0: float, r0: float, c1: float, r1: float
) -> tuple[float, float, float, float]:
    """The lon/lat box around a pixel rectangle's outline (pixel-corner coordinates)."""
    n = _EDGE_POINTS
    cs = np.linspace(c0, c1, n)
    rs = np.linspace(r0, r1, n)
    c = np.concatenate([cs, np.full(n, c1), cs, np.full(n, c0)])
    r = np.concatenate([np.full(n, r0), rs, np.full(n, r1), rs])
    x, y = transform @ (c, r)  # type: ignore[operator]  # affine's stubs say floats; arrays work
    lon, lat = (np.asarray(v) for v in _to_lonlat(crs).transform(x, y))
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _resolution_m(transform: Affine, crs: str, lat_deg: float) -> float:
    """The coarser pixel spacing in metres (lon/lat DEMs: at lat_deg)."""
    dx = math.hypot(transform.a, transform.d)
    dy = math.hypot(transform.b, transform.e)
    proj = pyproj.CRS.from_user_input(crs)
    if proj.is_geographic:
        phi = math.radians(lat_deg)
        m_per_deg_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        m_per_deg_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
        return max(dx * m_per_deg_lon, dy * m_per_deg_lat)
    axis = proj.axis_info[0] if proj.axis_info else None
    factor = axis.unit_conversion_factor if axis is not None and axis.unit_conversion_factor else 1.0
    return max(dx, dy) * factor


def _fmt_resolution(resolution_m: float, transform: Affine, crs: str) -> str:
    """E.g. ``"90 m"``, or ``"~31 m (1″)"`` for a lon/lat DEM."""
    metres = f"{resolution_m:,.0f} m" if resolution_m < 10_000 else f"{resolution_m / 1000:,.1f} km"
    if not pyproj.CRS.from_user_input(crs).is_geographic:
        return metres
    step = max(math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))
    angle = f"{step * 3600:.3g}″" if step < 1 / 60 else f"{step * 60:.3g}′"
    return f"~{metres} ({angle})"


def _crs_name(crs: str) -> str:
    """``"EPSG:nnnn"``, or the CRS's name when it has no EPSG code (WKT is too long for a line)."""
    return crs if crs.startswith("EPSG:") else pyproj.CRS.from_user_input(crs).name


def _fmt_lon(lon: float) -> str:
    return f"{abs(lon):.2f} {'E' if lon >= 0 else 'W'}"


def _fmt_lat(lat: float) -> str:
    return f"{abs(lat):.2f} {'N' if lat >= 0 else 'S'}"


def _fmt_box(lon_min: float, lat_min: float, lon_max: float, lat_max: float) -> str:
    return f"{_fmt_lon(lon_min)}–{_fmt_lon(lon_max)}, {_fmt_lat(lat_min)}–{_fmt_lat(lat_max)}"


def _fmt_percent(share: float) -> str:
    pct = 100 * share
    return f"{pct:.0f} %" if pct >= 10 else f"{pct:.2g} %"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
