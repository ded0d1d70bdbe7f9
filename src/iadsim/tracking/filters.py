"""Batched extended Kalman filter: constant-velocity motion and polar (radar) measurements.

Array-shape rule: T tracks at a time. States are ``(T, 6)`` ``[e, n, u, ve, vn, vu]`` in metres
and metres per second in the tracker's local east-north-up frame; covariances are ``(T, 6, 6)``.
A measurement has k = 3 components (range m, azimuth rad, elevation rad) from a 3D radar or
k = 2 (range, azimuth) from a 2D radar, in the radar's own ENU frame. No function loops over tracks.

Formulas and references: docs/models/tracking.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "constant_velocity_predict",
    "extended_kalman_update",
    "polar_measurement",
    "polar_to_cartesian",
    "process_noise",
    "transition_matrix",
    "wrap_angle",
]

Array = NDArray[np.float64]

_MIN_GROUND_RANGE_M = 1.0
"""Floor of the horizontal distance in the azimuth Jacobian (a target straight overhead)."""


def wrap_angle(angle_rad: Array) -> Array:
    """Angles wrapped to [-π, π), any shape."""
    return np.asarray(np.mod(angle_rad + np.pi, 2.0 * np.pi) - np.pi)


def transition_matrix(dt_s: float) -> Array:
    """The constant-velocity transition matrix ``(6, 6)`` over ``dt_s`` seconds."""
    f = np.eye(6)
    f[0, 3] = f[1, 4] = f[2, 5] = dt_s
    return f


def process_noise(dt_s: float, q_horizontal: float, q_vertical: float) -> Array:
    """Process noise ``(6, 6)`` of continuous white acceleration over ``dt_s`` seconds.

    Per axis ``q · [[dt³/3, dt²/2], [dt²/2, dt]]`` (Bar-Shalom et al. 2001, §6.2.2), with the
    power spectral density ``q`` in m²/s³: ``q_horizontal`` for east and north, ``q_vertical`` for up.
    """
    q = np.zeros((6, 6))
    for axis, psd in ((0, q_horizontal), (1, q_horizontal), (2, q_vertical)):
        q[axis, axis] = psd * dt_s**3 / 3.0
        q[axis, axis + 3] = q[axis + 3, axis] = psd * dt_s**2 / 2.0
        q[axis + 3, axis + 3] = psd * dt_s
    return q


def constant_velocity_predict(states: Array, covariances: Array, dt_s: float | Array, q_horizontal: float,
                              q_vertical: float) -> tuple[Array, Array]:
    """Predict all tracks ``dt_s`` seconds ahead: ``x' = F x``, ``P' = F P Fᵀ + Q``.

    Args:
        states: ``(T, 6)``; covariances: ``(T, 6, 6)``.
        dt_s: seconds (≥ 0): one interval for all tracks, or ``(T,)`` one per track.
        q_horizontal, q_vertical: white-acceleration spectral densities, m²/s³.

    Returns:
        The predicted ``(T, 6)`` states and ``(T, 6, 6)`` covariances (new arrays).
    """
    if np.ndim(dt_s):
        dt = np.asarray(dt_s, dtype=np.float64)
        f = np.broadcast_to(np.eye(6), (len(dt), 6, 6)).copy()
        f[:, 0, 3] = f[:, 1, 4] = f[:, 2, 5] = dt
        q = np.zeros((len(dt), 6, 6))
        for axis, psd in ((0, q_horizontal), (1, q_horizontal), (2, q_vertical)):
            q[:, axis, axis] = psd * dt**3 / 3.0
            q[:, axis, axis + 3] = q[:, axis + 3, axis] = psd * dt**2 / 2.0
            q[:, axis + 3, axis + 3] = psd * dt
        predicted = np.einsum("tij,tj->ti", f, states)
        return predicted, np.asarray(f @ covariances @ np.swapaxes(f, 1, 2) + q)
    dt_scalar = float(dt_s)
    if dt_scalar == 0.0 or not len(states):
        return states.copy(), covariances.copy()
    f1 = transition_matrix(dt_scalar)
    predicted = states @ f1.T
    cov = f1 @ covariances @ f1.T + process_noise(dt_scalar, q_horizontal, q_vertical)
    return predicted, np.asarray(cov)


def polar_measurement(positions: Array, sensor_position: Array, sensor_rotation: Array,
                      dims: int) -> tuple[Array, Array]:
    """Predicted polar measurements and their Jacobian (the measurement matrix) for T positions.

    The measurement function: ``d = R_s (p − p_s)`` in the sensor's ENU frame, range ``|d|``,
    azimuth ``atan2(d_e, d_n)`` (clockwise from north), elevation ``atan2(d_u, √(d_e² + d_n²))``.

    Args:
        positions: ``(T, 3)`` track positions, local-frame metres.
        sensor_position: ``(3,)`` the sensor in the local frame, metres.
        sensor_rotation: ``(3, 3)`` rotation from local-frame vectors to the sensor's ENU frame.
        dims: 3 (range, azimuth, elevation) or 2 (range, azimuth).

    Returns:
        ``(T, dims)`` predicted measurements (m, rad, rad) and the ``(T, dims, 6)`` measurement
        matrix (zero on the velocity columns).
    """
    d = (positions - sensor_position) @ sensor_rotation.T
    de, dn, du = d[:, 0], d[:, 1], d[:, 2]
    rho2 = np.maximum(de * de + dn * dn, _MIN_GROUND_RANGE_M**2)
    rho = np.sqrt(rho2)
    r = np.sqrt(rho2 + du * du)
    n = len(positions)
    # filled in place rather than stacked: the same numbers with fewer temporary arrays (this runs
    # once per radar scan in every node's tracker)
    jac_sensor = np.zeros((n, dims, 3))  # with respect to d
    z = np.empty((n, dims))
    jac_sensor[:, 0, 0], jac_sensor[:, 0, 1], jac_sensor[:, 0, 2] = de / r, dn / r, du / r
    jac_sensor[:, 1, 0], jac_sensor[:, 1, 1] = dn / rho2, -de / rho2
    z[:, 0] = r
    z[:, 1] = np.mod(np.arctan2(de, dn), 2.0 * np.pi)
    if dims == 3:
        jac_sensor[:, 2, 0] = -de * du / (r * r * rho)
        jac_sensor[:, 2, 1] = -dn * du / (r * r * rho)
        jac_sensor[:, 2, 2] = rho / (r * r)
        z[:, 2] = np.arctan2(du, rho)
    matrix = np.zeros((n, dims, 6))
    matrix[:, :, :3] = jac_sensor @ sensor_rotation
    return z, matrix


def polar_to_cartesian(measurements: Array, variances: Array, sensor_position: Array,
                       sensor_rotation: Array) -> tuple[Array, Array]:
    """Positions and their linearised covariances from (range, azimuth, elevation) measurements.

    Args:
        measurements: ``(M, 3)`` range m, azimuth rad, elevation rad (for a 2D radar, the prior
            elevation the tracker chose).
        variances: ``(M, 3)`` their variances (m², rad², rad²).
        sensor_position, sensor_rotation: as in ``polar_measurement``.

    Returns:
        ``(M, 3)`` local-frame positions, metres, and ``(M, 3, 3)`` covariances, m².
    """
    r, az, el = measurements[:, 0], measurements[:, 1], measurements[:, 2]
    sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    d = np.empty((len(r), 3))
    d[:, 0], d[:, 1], d[:, 2] = r * sa * ce, r * ca * ce, r * se
    jac = np.zeros((len(r), 3, 3))  # rows e, n, u; columns range, azimuth, elevation
    jac[:, 0, 0], jac[:, 0, 1], jac[:, 0, 2] = sa * ce, r * ca * ce, -r * sa * se
    jac[:, 1, 0], jac[:, 1, 1], jac[:, 1, 2] = ca * ce, -r * sa * ce, -r * ca * se
    jac[:, 2, 0], jac[:, 2, 2] = se, r * ce
    cov_sensor = jac @ (variances[:, :, None] * np.swapaxes(jac, 1, 2))
    positions = d @ sensor_rotation + sensor_position
    cov = sensor_rotation.T @ cov_sensor @ sensor_rotation
    return positions, np.asarray(cov)


def extended_kalman_update(states: Array, covariances: Array, innovations: Array,
                           measurement_matrix: Array, measurement_noise: Array,
                           fixed: NDArray[np.bool_] | None = None) -> tuple[Array, Array]:
    """The EKF update of P tracks, each with one measurement, in the Joseph form.

    ``S = H P Hᵀ + R``, ``K = P Hᵀ S⁻¹``, ``x' = x + K ν``, ``P' = (I − K H) P (I − K H)ᵀ + K R Kᵀ``.
    Components marked ``fixed`` are *considered*, not estimated (Schmidt–Kalman): their rows of K
    are zeroed, so their means and variances are not changed by the measurement while their
    uncertainty still enters ``S`` and the cross-covariances; the Joseph form keeps ``P'`` the exact
    covariance for that gain.

    Args:
        states: ``(P, n)``; covariances: ``(P, n, n)`` (n = 6, or 7 for the coordinated-turn state).
        innovations: ``(P, k)`` measured minus predicted (azimuth already wrapped).
        measurement_matrix: ``(P, k, n)``; measurement_noise: ``(P, k, k)``.
        fixed: ``(P, n)`` True for the components to consider only (None: estimate all).

    Returns:
        Updated ``(P, n)`` states and ``(P, n, n)`` covariances.
    """
    h = measurement_matrix
    hp = h @ covariances  # (P, k, n)
    s = hp @ np.swapaxes(h, 1, 2) + measurement_noise
    gain = np.swapaxes(np.linalg.solve(s, hp), 1, 2)  # P Hᵀ S⁻¹ (P and S symmetric), (P, n, k)
    if fixed is not None:
        gain = np.where(fixed[:, :, None], 0.0, gain)
    updated = states + np.einsum("pik,pk->pi", gain, innovations)
    a = np.eye(states.shape[1]) - gain @ h
    cov = a @ covariances @ np.swapaxes(a, 1, 2) + gain @ measurement_noise @ np.swapaxes(gain, 1, 2)
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    return updated, np.asarray(cov)
