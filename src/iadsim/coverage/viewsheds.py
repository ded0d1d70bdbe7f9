"""Terrain line of sight from sites on a grid: one viewshed per site, cached.

Coverage and the engine both ask, for a radar at a grid cell, the minimum height above ground a
target must have to be seen at every cell around it; identical sites share one computation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iadsim.coverage.grid import CoverageGrid
from iadsim.geo.radar_geometry import curvature_coefficient
from iadsim.geo.viewshed import min_visible_height

__all__ = ["SiteViewsheds", "shared_viewsheds"]

MAX_CACHED_BYTES = 256 * 2**20
"""A SiteViewsheds drops its oldest viewsheds beyond this many bytes (fine grids over long studies)."""


class SiteViewsheds:
    """Ground heights on a grid and per-site minimum visible heights (cached per site)."""

    def __init__(self, ground: NDArray[np.float32], grid: CoverageGrid, k: float) -> None:
        self.ground = ground
        self.grid = grid
        self.cc = curvature_coefficient(k)
        self.cache: dict[tuple[int, int, float, float],
                         tuple[tuple[slice, slice], NDArray[np.float32]]] = {}
        self.cached_bytes = 0

    def min_visible(self, row: int, col: int, height_m: float, radius_m: float,
                    ) -> tuple[tuple[slice, slice], NDArray[np.float32]]:
        """(window, minimum visible height above ground in the window) for a site at a cell.

        Args:
            row, col: the site's cell (inside the grid).
            height_m: antenna height above ground.
            radius_m: how far to look; cells beyond are NaN.
        """
        key = (row, col, round(height_m, 2), round(radius_m, -2))
        if key not in self.cache:
            window = self.grid.window(row, col, radius_m)
            box = self.ground[window]
            minvis = min_visible_height(box, self.grid.resolution_m, row - window[0].start,
                                        col - window[1].start, height_m, radius_m * 1.1,
                                        curvature_coeff=self.cc)
            shed = np.asarray(minvis, dtype=np.float32)
            while self.cache and self.cached_bytes + shed.nbytes > MAX_CACHED_BYTES:
                oldest = next(iter(self.cache))
                self.cached_bytes -= self.cache.pop(oldest)[1].nbytes
            self.cache[key] = (window, shed)
            self.cached_bytes += shed.nbytes
        return self.cache[key]


_SHARED: dict[tuple[object, ...], SiteViewsheds] = {}


def shared_viewsheds(ground: NDArray[np.float32], grid: CoverageGrid, k: float) -> SiteViewsheds:
    """The SiteViewsheds of this ground, grid and k, kept for the process's next call: a sensitivity
    study or a coverage study over several dates computes each site's viewshed once (a site's
    viewshed depends on its cell, antenna height and reach only). Keeps the last one."""
    key = (grid.crs, tuple(grid.transform), grid.shape, float(k), ground.shape,
           hash(np.ascontiguousarray(ground).tobytes()))
    if key not in _SHARED:
        _SHARED.clear()
        _SHARED[key] = SiteViewsheds(ground, grid, k)
    return _SHARED[key]
