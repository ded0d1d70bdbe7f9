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

__all__ = ["SiteViewsheds"]


class SiteViewsheds:
    """Ground heights on a grid and per-site minimum visible heights (cached per site)."""

    def __init__(self, ground: NDArray[np.float32], grid: CoverageGrid, k: float) -> None:
        self.ground = ground
        self.grid = grid
        self.cc = curvature_coefficient(k)
        self.cache: dict[tuple[int, int, float, float],
                         tuple[tuple[slice, slice], NDArray[np.float32]]] = {}

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
            self.cache[key] = (window, np.asarray(minvis, dtype=np.float32))
        return self.cache[key]
