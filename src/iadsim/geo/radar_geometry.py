"""Radar geometry over a smooth earth with an effective earth radius (standard refraction).

Refraction bends radar rays toward the ground; the classic model replaces the earth's radius R by
an effective radius k·R (k = 4/3 for the standard atmosphere) and treats rays as straight lines.
Heights are above the (smooth) earth surface; ground distances are along it. All functions take
scalars or arrays and broadcast (NumPy rules). See docs/models/coverage.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.constants import EARTH_RADIUS_M

__all__ = [
    "EARTH_RADIUS_M",
    "STANDARD_K",
    "curvature_coefficient",
    "effective_radius_m",
    "horizon_distance_m",
    "line_of_sight_clear",
    "slant_range_and_elevation",
]

STANDARD_K = 4.0 / 3.0
"""Effective-earth-radius factor of the standard atmosphere (Skolnik, Radar Handbook, ch. 26)."""


def effective_radius_m(k: float = STANDARD_K, earth_radius_m: float = EARTH_RADIUS_M) -> float:
    """The effective earth radius k·R in metres."""
    if not k > 0:
        raise ValueError(f"k must be positive, got {k}")
    return k * earth_radius_m


def curvature_coefficient(k: float = STANDARD_K) -> float:
    """GDAL's curvature coefficient for refraction factor k: cc = 1/k (0.75 for k = 4/3).

    GDAL lowers the ground by cc·d²/(2R), the drop of a sphere of radius R/cc; the effective
    earth has radius k·R, hence cc = 1/k. (GDAL's default 0.85714 = 1 − 1/7 is for light.)
    """
    return 1.0 / k


def horizon_distance_m(radar_height_m: ArrayLike, target_height_m: ArrayLike,
                       k: float = STANDARD_K) -> NDArray[np.float64]:
    """Greatest ground distance at which a target is above the radar's smooth-earth horizon.

    Sum of the two tangent-point distances along the effective sphere, exact for the model:
    Re·(acos(Re/(Re+h1)) + acos(Re/(Re+h2))), ≈ 4.12·(√h1 + √h2) km with h in metres.

    Args:
        radar_height_m, target_height_m: heights above the surface, metres (negative clipped to 0).
        k: effective-earth-radius factor.
    """
    re = effective_radius_m(k)
    h1 = np.maximum(np.asarray(radar_height_m, dtype=np.float64), 0.0)
    h2 = np.maximum(np.asarray(target_height_m, dtype=np.float64), 0.0)
    return np.asarray(re * (np.arccos(re / (re + h1)) + np.arccos(re / (re + h2))))


def slant_range_and_elevation(ground_distance_m: ArrayLike, radar_height_m: ArrayLike,
                              target_height_m: ArrayLike, k: float = STANDARD_K,
                              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Slant range (m) and elevation angle (rad) from radar to target on the effective sphere.

    With a = Re + h1, b = Re + h2 and central angle θ = d/Re:
    R² = a² + b² − 2ab·cos θ and elevation = atan2(b·cos θ − a, b·sin θ).

    Args:
        ground_distance_m: distance along the surface between radar and target ground points.
        radar_height_m, target_height_m: heights above the surface (metres).
        k: effective-earth-radius factor.
    """
    re = effective_radius_m(k)
    theta = np.asarray(ground_distance_m, dtype=np.float64) / re
    a = re + np.asarray(radar_height_m, dtype=np.float64)
    b = re + np.asarray(target_height_m, dtype=np.float64)
    # (a - b)² + 4ab·sin²(θ/2) is R² written to keep precision at short range
    s = np.sin(theta / 2.0)
    slant = np.sqrt((a - b) ** 2 + 4.0 * a * b * s * s)
    elevation = np.arctan2(b * np.cos(theta) - a, b * np.sin(theta))
    return slant, elevation


def line_of_sight_clear(ground_distance_m: ArrayLike, radar_height_m: ArrayLike,
                        target_height_m: ArrayLike, k: float = STANDARD_K) -> NDArray[np.bool_]:
    """Whether the straight ray on the effective sphere clears the smooth earth."""
    d = np.asarray(ground_distance_m, dtype=np.float64)
    return np.asarray(d <= horizon_distance_m(radar_height_m, target_height_m, k))
