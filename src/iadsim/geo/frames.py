"""Local east-north-up (ENU) frames on the WGS84 ellipsoid.

Array-shape rule: positions are ``(N, 3)`` ECEF metres; an origin is one geodetic point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.geo.geodesy import geodetic_to_ecef

__all__ = ["ecef_to_enu", "enu_rotation", "enu_rotations", "enu_to_ecef"]


def enu_rotations(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
    """Rotations whose rows are the east, north and up unit vectors at each point, (N, 3, 3)."""
    lat = np.radians(np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)))
    lon = np.radians(np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    return np.stack([np.stack([-so, co, zero], -1),
                     np.stack([-sl * co, -sl * so, cl], -1),
                     np.stack([cl * co, cl * so, sl], -1)], axis=1)


def enu_rotation(lat_deg: float, lon_deg: float) -> NDArray[np.float64]:
    """The 3 × 3 matrix whose rows are the east, north and up unit vectors at a geodetic point."""
    return np.asarray(enu_rotations(lat_deg, lon_deg)[0], dtype=np.float64)


def ecef_to_enu(ecef_m: ArrayLike, lat0_deg: float, lon0_deg: float,
                alt0_m: float = 0.0) -> NDArray[np.float64]:
    """ECEF positions ``(N, 3)`` (or ``(3,)``) in the ENU frame at an origin, metres ``(N, 3)``."""
    origin = geodetic_to_ecef(lat0_deg, lon0_deg, alt0_m)[0]
    xyz = np.atleast_2d(np.asarray(ecef_m, dtype=np.float64))
    return np.asarray((xyz - origin) @ enu_rotation(lat0_deg, lon0_deg).T)


def enu_to_ecef(enu_m: ArrayLike, lat0_deg: float, lon0_deg: float,
                alt0_m: float = 0.0) -> NDArray[np.float64]:
    """ENU positions ``(N, 3)`` at an origin back to ECEF metres ``(N, 3)``."""
    origin = geodetic_to_ecef(lat0_deg, lon0_deg, alt0_m)[0]
    enu = np.atleast_2d(np.asarray(enu_m, dtype=np.float64))
    return np.asarray(enu @ enu_rotation(lat0_deg, lon0_deg) + origin)
