"""WGS84 conversions between geodetic (lat, lon, height) and ECEF, and geodesic distances."""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod, Transformer

__all__ = ["ecef_to_geodetic", "geodesic_distance_m", "geodetic_to_ecef", "transformer"]

_GEOD = Geod(ellps="WGS84")


@cache
def transformer(source_crs: str, target_crs: str) -> Transformer:
    """A cached pyproj Transformer with x = longitude/easting first (building one costs ~50 ms)."""
    return Transformer.from_crs(source_crs, target_crs, always_xy=True)


def _to_ecef() -> Transformer:
    return transformer("EPSG:4979", "EPSG:4978")


def _to_geodetic() -> Transformer:
    return transformer("EPSG:4978", "EPSG:4979")


def geodetic_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, alt_m: ArrayLike = 0.0) -> NDArray[np.float64]:
    """ECEF positions of geodetic points.

    Args:
        lat_deg, lon_deg: latitude and longitude in degrees, scalars or arrays of N.
        alt_m: height above the WGS84 ellipsoid in metres (broadcast).

    Returns:
        ``(N, 3)`` ECEF metres (``(1, 3)`` for scalars).
    """
    lat, lon, alt = np.broadcast_arrays(
        np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)),
        np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)),
        np.atleast_1d(np.asarray(alt_m, dtype=np.float64)),
    )
    x, y, z = _to_ecef().transform(lon, lat, alt)
    return np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=-1)


Float64Array = NDArray[np.float64]


def ecef_to_geodetic(ecef_m: ArrayLike) -> tuple[Float64Array, Float64Array, Float64Array]:
    """Geodetic coordinates of ECEF positions.

    Args:
        ecef_m: ``(N, 3)`` or ``(3,)`` ECEF metres.

    Returns:
        (lat_deg, lon_deg, alt_m), each an array of N.
    """
    xyz = np.atleast_2d(np.asarray(ecef_m, dtype=np.float64))
    lon, lat, alt = _to_geodetic().transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


def geodesic_distance_m(lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike,
                        lon2_deg: ArrayLike) -> NDArray[np.float64]:
    """Ellipsoidal (WGS84) surface distance in metres between point pairs; broadcasts."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (lat1_deg, lon1_deg, lat2_deg, lon2_deg))
    )
    _, _, dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist, dtype=np.float64)
