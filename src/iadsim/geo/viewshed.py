"""Terrain line of sight over a DEM: the viewshed of one observer, as GDAL's ``gdal_viewshed`` computes it.

The sweep is the algorithm of Wang, Robinson & White (2000), "Generating viewsheds without using
sightlines", as implemented in GDAL (``alg/viewshed``, GDAL >= 3.1) in its default ``EDGE`` cell mode;
the formulas, GDAL's conventions and where this module departs from them are in docs/models/viewshed.md.

Array-shape rule: a DEM is a ``(rows, cols)`` array of ground heights in metres on a square grid of a
projected CRS, row 0 north; results are arrays of the same shape. The cost is linear in the number of
cells within range; on large DEMs the four quadrants around the observer are swept in parallel (numba).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.constants import EARTH_RADIUS_M

__all__ = ["PARALLEL_MIN_CELLS", "min_visible_height", "visible"]

PARALLEL_MIN_CELLS = 4_000_000
"""A DEM of at least this many cells has its four quadrants swept on numba's threads; a smaller one
on the calling thread. Called back to back, two threads sweep a small window faster (a 401 × 401
window in 0.15 ms against 0.28 ms), but between the sweeps of a coverage study or a run the threads
sleep, and waking them for a fraction of a millisecond of work costs more than it saves once another
process holds a core: the default ``iadsim sensitivity`` study took 11.2 s with threads and 9.1 s
without (idle, 9.4 s and 9.2 s; docs/benchmarks.md). Coverage grids (10 km: some 6,000 cells a
site) and the engine's terrain grid (2 km: some 160,000) are far below this; the 36-million-cell
DEM of the GDAL comparison sweeps 1.7 times faster on two threads."""

_F = TypeVar("_F", bound=Callable[..., Any])

# Output modes of the kernel.
_MODE_HEIGHT = 0  # minimum visible target height above ground, float32 (GDAL's -om GROUND)
_MODE_VISIBLE = 1  # visibility of a target of a given height, bool (GDAL's -om NORMAL)


def _jit(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


def _jit_parallel(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, parallel=True)(fn))


@_jit
def _sweep_quadrant(dem: Any, out_h: Any, out_v: Any, mode: int, obs_row: int, obs_col: int,
                    quadrant: int, z_observer: float, cell_m: float, drop_per_m2: float,
                    max_dist2: float, target_m: float) -> None:
    """Sweep one quadrant (0–3: north-west, north-east, south-west, south-east) outward from the
    observer, writing its cells of out_h or out_v.

    a = |column offset| and b = |row offset| from the observer. Heights are relative to the observer's
    eye after the curvature drop: h = z - drop_per_m2 * d^2 - z_observer. ``cur`` and ``prev`` hold, for
    the row being swept and the one before it (one step closer to the observer), the horizon height
    carried forward at each a: max(h, line-of-sight height), as GDAL does. A cell's line-of-sight
    height comes from its neighbours one step closer to the observer (GDAL's EDGE mode): on the axes
    and diagonals the one neighbour on the ray, scaled by n / (n - 1); elsewhere the two neighbours
    the ray passes between, interpolated and scaled. The observer's 8 neighbours are always visible
    (los = -inf). Axis cells (a == 0 or b == 0) are shared with the neighbouring quadrant, which
    computes the same values; only the quadrant stepping forward writes them.
    """
    step_row = -1 if quadrant < 2 else 1
    step_col = -1 if quadrant % 2 == 0 else 1
    n_rows, n_cols = dem.shape
    a_grid = n_cols - 1 - obs_col if step_col > 0 else obs_col
    b_grid = n_rows - 1 - obs_row if step_row > 0 else obs_row
    write_a0 = step_col > 0  # this quadrant writes the cells with a == 0
    write_b0 = step_row > 0  # ... and those with b == 0
    n_max = max(a_grid, b_grid) + 1
    ratio = np.full(n_max + 1, np.inf)  # n / (n - 1): extrapolation along a ray by one cell
    inv = np.full(n_max + 1, np.inf)  # 1 / (n - 1)
    for n in range(2, n_max + 1):
        ratio[n] = n / (n - 1)
        inv[n] = 1.0 / (n - 1)
    drop_a = np.empty(a_grid + 1)  # curvature drop of the column offset: drop * (a * cell)^2
    for a in range(a_grid + 1):
        dx = a * cell_m
        drop_a[a] = drop_per_m2 * (dx * dx)
    prev = np.empty(a_grid + 1)
    cur = np.empty(a_grid + 1)
    neg_inf = -np.inf
    a_end = a_grid  # last column offset within range on the previous row (never grows with b)
    for b in range(b_grid + 1):
        r = obs_row + step_row * b
        dy = b * cell_m
        dy2 = dy * dy
        if dy2 > max_dist2:
            break
        # Last column offset within range on this row: GDAL's test, (dx)^2 + (dy)^2 > md^2 is out.
        a_max = a_end
        dxm = a_max * cell_m
        if dxm * dxm + dy2 > max_dist2:
            a_max = min(a_max, int(math.sqrt(max(max_dist2 - dy2, 0.0)) / cell_m) + 1)
            while a_max > 0:
                dxm = a_max * cell_m
                if dxm * dxm + dy2 <= max_dist2:
                    break
                a_max -= 1
        a_end = a_max
        base = drop_per_m2 * dy2 + z_observer
        dem_row = dem[r]
        # Four runs of a, each with one formula: the observer's column (a == 0), steep rays
        # (0 < a < b), the diagonal (a == b), shallow rays (a > b; on the observer's row, the row itself).
        for run in range(4):
            if run == 0:
                a0, a1 = 0, 1
            elif run == 1:
                a0, a1 = 1, min(b, a_max + 1)
            elif run == 2:
                a0, a1 = b, (b + 1 if 0 < b <= a_max else b)
            else:
                a0, a1 = b + 1, a_max + 1
            # The horizon of the previous cell on this row stays in a register: on shallow rays it is
            # the serial dependency of the sweep (a multiply-add and a max per cell).
            carry = cur[a0 - 1] if 0 < a0 < a1 else 0.0
            for a in range(a0, a1):
                c = obs_col + step_col * a
                z = dem_row[c]
                h = z - (drop_a[a] + base)
                if run == 0:  # (0, b), from (0, b - 1)
                    los = neg_inf if b <= 1 else prev[0] * ratio[b]
                elif run == 1:  # between (a - 1, b - 1) and (a, b - 1)
                    los = (prev[a - 1] * a + prev[a] * (b - a)) * inv[b]
                elif run == 2:  # (b, b), from (b - 1, b - 1)
                    los = neg_inf if b == 1 else prev[b - 1] * ratio[b]
                elif b == 0:  # (a, 0), from (a - 1, 0)
                    los = neg_inf if a == 1 else carry * ratio[a]
                else:  # between (a - 1, b - 1) and (a - 1, b)
                    w = inv[a]
                    los = prev[a - 1] * (b * w) + carry * ((a - b) * w)
                if z != z:  # no data: transparent, no result
                    carry = los
                else:
                    carry = h if h > los else los
                    if (a > 0 or write_a0) and (b > 0 or write_b0):
                        if mode == 0:
                            out_h[r, c] = los - h if los > h else 0.0
                        else:
                            out_v[r, c] = h + target_m >= los
                cur[a] = carry
        prev, cur = cur, prev


@_jit_parallel
def _viewshed_parallel(dem: Any, out_h: Any, out_v: Any, mode: int, obs_row: int, obs_col: int,
                       z_observer: float, cell_m: float, drop_per_m2: float, max_dist2: float,
                       target_m: float) -> None:
    for q in numba.prange(4):
        _sweep_quadrant(dem, out_h, out_v, mode, obs_row, obs_col, q, z_observer, cell_m, drop_per_m2,
                        max_dist2, target_m)


@_jit
def _viewshed_serial(dem: Any, out_h: Any, out_v: Any, mode: int, obs_row: int, obs_col: int,
                     z_observer: float, cell_m: float, drop_per_m2: float, max_dist2: float,
                     target_m: float) -> None:
    for q in range(4):
        _sweep_quadrant(dem, out_h, out_v, mode, obs_row, obs_col, q, z_observer, cell_m, drop_per_m2,
                        max_dist2, target_m)


def _viewshed(dem: NDArray[Any], out_h: NDArray[np.float32], out_v: NDArray[np.bool_], mode: int,
              obs_row: int, obs_col: int, z_observer: float, cell_m: float, drop_per_m2: float,
              max_dist2: float, target_m: float) -> None:
    """The sweep of every quadrant, on numba's threads for a DEM of ``PARALLEL_MIN_CELLS`` or more;
    the quadrants write disjoint cells, so both kernels give the same arrays."""
    kernel = _viewshed_parallel if dem.size >= PARALLEL_MIN_CELLS else _viewshed_serial
    kernel(dem, out_h, out_v, mode, obs_row, obs_col, z_observer, cell_m, drop_per_m2, max_dist2, target_m)


def _prepare(dem_m: ArrayLike, cell_size_m: float, observer_row: int, observer_col: int,
             observer_height_m: float, max_distance_m: float, curvature_coeff: float,
             earth_radius_m: float) -> tuple[NDArray[Any], float, float, float]:
    dem = np.asarray(dem_m)
    if dem.ndim != 2 or dem.shape[0] == 0 or dem.shape[1] == 0:
        raise ValueError(f"dem_m must be a non-empty 2-D array, got shape {dem.shape}")
    if dem.dtype not in (np.float32, np.float64):
        dem = dem.astype(np.float64)
    dem = np.ascontiguousarray(dem)
    rows, cols = dem.shape
    if not (0 <= observer_row < rows and 0 <= observer_col < cols):
        raise ValueError(f"observer cell ({observer_row}, {observer_col}) is outside the DEM of shape "
                         f"{dem.shape}")
    if not cell_size_m > 0 or not math.isfinite(cell_size_m):
        raise ValueError(f"cell_size_m must be a positive finite number, got {cell_size_m}")
    if not max_distance_m >= 0:
        raise ValueError(f"max_distance_m must be >= 0 (inf for no limit), got {max_distance_m}")
    if not earth_radius_m > 0:
        raise ValueError(f"earth_radius_m must be positive, got {earth_radius_m}")
    ground = float(dem[observer_row, observer_col])
    if math.isnan(ground):
        raise ValueError(f"the observer cell ({observer_row}, {observer_col}) has no data (NaN)")
    z_observer = ground + float(observer_height_m)
    drop_per_m2 = float(curvature_coeff) / (2.0 * float(earth_radius_m))
    max_dist2 = float(max_distance_m) ** 2
    return dem, z_observer, drop_per_m2, max_dist2


def min_visible_height(dem_m: ArrayLike, cell_size_m: float, observer_row: int, observer_col: int,
                       observer_height_m: float, max_distance_m: float, curvature_coeff: float = 0.75,
                       earth_radius_m: float = EARTH_RADIUS_M) -> NDArray[np.float32]:
    """Minimum height above ground (m) at which a target in each DEM cell is seen from the observer.

    Args:
        dem_m: ``(rows, cols)`` ground heights in metres (float32 or float64) on a square grid of a
            projected CRS, row 0 north. NaN is no data: such cells are never visible, their result is
            NaN, and they do not block the view of cells behind them.
        cell_size_m: grid spacing in metres.
        observer_row, observer_col: integer cell indices of the observer (its cell must have data).
        observer_height_m: observer's eye (antenna) height above the ground of its cell, metres.
        max_distance_m: cells whose centre is farther than this from the observer's centre are NaN;
            ``math.inf`` for no limit.
        curvature_coeff: GDAL's ``-cc``: the ground is lowered by ``curvature_coeff * d**2 / (2 R)``
            at distance d. ``1 / k`` for an effective-earth-radius factor k: 0.75 for the 4/3 earth
            of radar propagation (the default), 0.85714 (GDAL's default) for visible light, 1 for
            geometry without refraction, 0 for a flat earth.
        earth_radius_m: R in metres (GDAL takes the semi-major axis of the DEM's CRS).

    Returns:
        ``(rows, cols)`` float32: 0 where the ground itself is visible, the minimum target height
        above ground where it is not, NaN outside ``max_distance_m`` and where ``dem_m`` is NaN.
    """
    dem, z_obs, drop, max_d2 = _prepare(dem_m, cell_size_m, observer_row, observer_col, observer_height_m,
                                        max_distance_m, curvature_coeff, earth_radius_m)
    out = np.full(dem.shape, np.nan, dtype=np.float32)
    _viewshed(dem, out, np.zeros((1, 1), np.bool_), _MODE_HEIGHT, int(observer_row), int(observer_col),
              z_obs, float(cell_size_m), drop, max_d2, 0.0)
    return out


def visible(dem_m: ArrayLike, cell_size_m: float, observer_row: int, observer_col: int,
            observer_height_m: float, target_height_m: float, max_distance_m: float,
            curvature_coeff: float = 0.75, earth_radius_m: float = EARTH_RADIUS_M) -> NDArray[np.bool_]:
    """Whether a target at a given height above the ground of each DEM cell is seen from the observer.

    Same arguments as `min_visible_height`, plus:
        target_height_m: target height above ground in metres (GDAL's ``-tz``).

    Returns:
        ``(rows, cols)`` bool: True where visible (GDAL's ``-om NORMAL`` visible value); False where
        hidden, outside ``max_distance_m`` or where ``dem_m`` is NaN. For ``target_height_m >= 0`` this
        is ``min_visible_height(...) <= target_height_m`` up to float32 rounding of the heights.
    """
    dem, z_obs, drop, max_d2 = _prepare(dem_m, cell_size_m, observer_row, observer_col, observer_height_m,
                                        max_distance_m, curvature_coeff, earth_radius_m)
    out = np.zeros(dem.shape, dtype=np.bool_)
    _viewshed(dem, np.zeros((1, 1), np.float32), out, _MODE_VISIBLE, int(observer_row), int(observer_col),
              z_obs, float(cell_size_m), drop, max_d2, float(target_height_m))
    return out
