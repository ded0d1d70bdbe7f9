"""Passive (ESM) bearings on emitters: radars and jammers seen by an electronic-support station.

Array-shape rule: S sensors and E emitters; positions are ``(S, 3)`` and ``(E, 3)`` ECEF metres,
per-sensor values arrays of S, per-emitter values arrays of E, and pairwise masks ``(S, E)``.
Bearings are radians clockwise from true north in [0, 2π).

An ESM station hears an emitter that radiates, is in one of its bands, lies within its range and
has a clear line of sight; it measures the direction of arrival only (no range). The bearing
error is Gaussian, N(0, σ), independent between looks (Adamy, *EW 101*, direction finding:
accuracy as an RMS error; Wiley, *ELINT: The Interception and Analysis of Radar Signals*). Band
matching and line of sight are the engine's (``jamming.band_of``, the terrain model); this module
is pure. See docs/models/ew.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["bearings_rad", "passive_bearings"]

_TWO_PI = 2.0 * np.pi


def _east_north(sensor_ecef_m: ArrayLike, sensor_lat_deg: ArrayLike, sensor_lon_deg: ArrayLike,
                points_ecef_m: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                   NDArray[np.float64]]:
    """East and north components ``(S, E)`` of each point seen from each sensor, and the range."""
    sensors = np.atleast_2d(np.asarray(sensor_ecef_m, dtype=np.float64))
    points = np.atleast_2d(np.asarray(points_ecef_m, dtype=np.float64))
    lat = np.radians(np.atleast_1d(np.asarray(sensor_lat_deg, dtype=np.float64)))
    lon = np.radians(np.atleast_1d(np.asarray(sensor_lon_deg, dtype=np.float64)))
    east_axis = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], axis=-1)        # (S, 3)
    north_axis = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)],
                          axis=-1)                                                         # (S, 3)
    d = points[None, :, :] - sensors[:, None, :]                                           # (S, E, 3)
    east = np.einsum("sek,sk->se", d, east_axis)
    north = np.einsum("sek,sk->se", d, north_axis)
    return east, north, np.linalg.norm(d, axis=-1)


def bearings_rad(sensor_ecef_m: ArrayLike, sensor_lat_deg: ArrayLike, sensor_lon_deg: ArrayLike,
                 points_ecef_m: ArrayLike) -> NDArray[np.float64]:
    """True bearings ``(S, E)`` of points from sensors: rad clockwise from true north, [0, 2π).

    The azimuth in each sensor's local east-north-up frame (geodetic latitude and longitude of
    the sensor), so a point due east is π/2. Also serves radar-to-target and radar-to-jammer
    azimuths for ``jamming.azimuth_separation_rad``.
    """
    east, north, _ = _east_north(sensor_ecef_m, sensor_lat_deg, sensor_lon_deg, points_ecef_m)
    return np.asarray(np.arctan2(east, north) % _TWO_PI)


def passive_bearings(sensor_ecef_m: ArrayLike, sensor_lat_deg: ArrayLike, sensor_lon_deg: ArrayLike,
                     sensor_max_range_m: ArrayLike, sensor_sigma_rad: ArrayLike,
                     emitter_ecef_m: ArrayLike, emitter_active: ArrayLike, line_of_sight: ArrayLike,
                     rng: np.random.Generator) -> dict[str, NDArray[np.generic]]:
    """One noisy bearing per (sensor, emitter) pair that the sensor hears this look.

    A pair is heard when the emitter is active, the line of sight is clear (``line_of_sight``,
    which the engine also uses for band matching: pass False where no band matches) and the
    slant range is within the sensor's maximum range. The measured bearing is the true one plus
    N(0, σ) of that sensor, wrapped to [0, 2π). Draws: one normal per detection, in row-major
    (sensor, emitter) order, from ``rng``.

    Args:
        sensor_ecef_m: ``(S, 3)`` sensor antenna positions, ECEF m.
        sensor_lat_deg, sensor_lon_deg: geodetic position of each sensor (S,), for its local
            north.
        sensor_max_range_m: (S,) maximum range, m.
        sensor_sigma_rad: (S,) bearing standard deviation, rad.
        emitter_ecef_m: ``(E, 3)`` emitter positions, ECEF m.
        emitter_active: (E,) bool, radiating now.
        line_of_sight: ``(S, E)`` bool.
        rng: the stage's random generator.

    Returns:
        a dict of equal-length arrays, one row per detection: ``sensor`` and ``emitter`` (int64
        indices), ``bearing`` (measured, rad), ``true_bearing`` (rad) and ``range_m`` (truth,
        for scoring; an ESM does not measure range).
    """
    east, north, slant = _east_north(sensor_ecef_m, sensor_lat_deg, sensor_lon_deg, emitter_ecef_m)
    n_sensors, n_emitters = slant.shape
    max_range = np.broadcast_to(np.asarray(sensor_max_range_m, dtype=np.float64), (n_sensors,))
    sigma = np.broadcast_to(np.asarray(sensor_sigma_rad, dtype=np.float64), (n_sensors,))
    active = np.broadcast_to(np.asarray(emitter_active, dtype=bool), (n_emitters,))
    los = np.broadcast_to(np.asarray(line_of_sight, dtype=bool), (n_sensors, n_emitters))
    heard = los & active[None, :] & (slant <= max_range[:, None])
    sensor_idx, emitter_idx = np.nonzero(heard)
    true = np.arctan2(east[heard], north[heard]) % _TWO_PI
    measured = (true + rng.normal(0.0, 1.0, size=true.shape) * sigma[sensor_idx]) % _TWO_PI
    return {
        "sensor": sensor_idx.astype(np.int64),
        "emitter": emitter_idx.astype(np.int64),
        "bearing": measured,
        "true_bearing": true,
        "range_m": slant[heard],
    }
