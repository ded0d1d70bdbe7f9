"""Point-to-point line of sight over the effective earth, with or without terrain.

The ray between two points is straight on a sphere of radius k·R (refraction); terrain heights
sampled along the great circle between them must stay below it. Used by the engine for single
sensor–target pairs; coverage grids use the viewshed kernel instead.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

from iadsim.geo.radar_geometry import STANDARD_K, effective_radius_m, line_of_sight_clear
from iadsim.geo.terrain import Terrain

__all__ = ["line_of_sight"]

_GEOD = Geod(ellps="WGS84")


def line_of_sight(lat1_deg: ArrayLike, lon1_deg: ArrayLike, height1_m: ArrayLike,
                  lat2_deg: ArrayLike, lon2_deg: ArrayLike, height2_m: ArrayLike,
                  terrain: Terrain | None = None, k: float = STANDARD_K,
                  samples: int = 128) -> NDArray[np.bool_]:
    """Whether each pair of points sees the other; arrays of N broadcast.

    Args:
        lat1_deg, lon1_deg: first points (e.g. radars), degrees.
        height1_m: their heights above sea level, metres (on terrain: ground plus mast).
        lat2_deg, lon2_deg, height2_m: second points (e.g. targets), heights above sea level.
        terrain: a DEM; None for a smooth earth at sea level.
        k: effective-earth-radius factor.
        samples: terrain samples along each path (the DEM's resolution sets what is useful).
    """
    la1, lo1, h1, la2, lo2, h2 = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=np.float64))
          for v in (lat1_deg, lon1_deg, height1_m, lat2_deg, lon2_deg, height2_m)))
    _, _, dist = _GEOD.inv(lo1, la1, lo2, la2)
    dist = np.asarray(dist, dtype=np.float64)
    if terrain is None:
        return np.asarray(line_of_sight_clear(dist, h1, h2, k))
    re = effective_radius_m(k)
    # intermediate points along each geodesic: fractions t of the way, excluding the ends
    t = np.linspace(0.0, 1.0, samples + 2)[1:-1]
    az, _, _ = _GEOD.inv(lo1, la1, lo2, la2)
    lons, lats, _ = _GEOD.fwd(np.repeat(lo1, t.size), np.repeat(la1, t.size),
                              np.repeat(np.asarray(az), t.size), (dist[:, None] * t).ravel())
    ground = terrain.height_at(np.asarray(lats), np.asarray(lons)).reshape(dist.size, t.size)
    ground = np.nan_to_num(ground, nan=0.0)
    # ray height above the effective sphere at fraction t: chord interpolation in the plane of
    # the two points, corrected by the sphere's drop s(d - s)/(2Re) below the chord
    s = dist[:, None] * t
    chord = h1[:, None] + (h2 - h1)[:, None] * t
    ray = chord - s * (dist[:, None] - s) / (2.0 * re)
    clear = np.all(ray >= ground, axis=1)
    return np.asarray(clear & line_of_sight_clear(dist, h1, h2, k))
