"""Interacting multiple model (IMM) filter, constant velocity (CV) + coordinated turn (CT), batched.

Array-shape rule: T tracks, M = 2 modes (``CV``, ``CT``), each mode a 7-state
``[e, n, u, ve, vn, vu, ω]`` (m, m/s, rad/s; ω the horizontal turn rate, positive counter-clockwise
seen from above, i.e. a left turn) in the tracker's local east-north-up frame: mode states
``(T, M, 7)``, covariances ``(T, M, 7, 7)``, mode probabilities ``(T, M)``. The CV mode has no turn
rate: its ω is held at 0 with zero variance, and in the mixing it enters as the turn-rate prior
N(0, σ_ω²) — a switch from CV to CT is the onset of a turn whose rate is not yet known (on the
choices for states of unequal dimension: Granström, Willett & Bar-Shalom 2015). The combined
estimate is the 6-state ``[e, n, u, ve, vn, vu]`` the rest of the tracker uses. No function loops
over tracks.

The cycle (Bar-Shalom, Li & Kirubarajan 2001, §11.6): ``imm_predict`` mixes the mode estimates
with the mode transition probabilities and predicts each mode with its own model;
``imm_update`` updates each mode with the same polar measurement (the tracker's EKF) and the mode
probabilities with each mode's measurement likelihood; ``combine`` gives the moment-matched
combined state and covariance. Formulas and defaults: docs/models/tracking.md, "IMM".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iadsim.tracking.filters import (
    extended_kalman_update,
    polar_measurement,
    process_noise,
    transition_matrix,
    wrap_angle,
)

__all__ = [
    "CT",
    "CV",
    "MODES",
    "STATE_DIM",
    "combine",
    "coordinated_turn_predict",
    "imm_predict",
    "imm_update",
    "initial_modes",
    "mode_transition_matrix",
]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

CV, CT = 0, 1
"""Mode indices: constant velocity, coordinated turn."""
MODES = 2
STATE_DIM = 7
"""The mode state ``[e, n, u, ve, vn, vu, ω]``."""
OMEGA = 6

_SMALL_TURN_RAD = 1e-4
"""Below this |ω Δt| the turn functions use their Taylor series (the closed forms divide by ω)."""
_MIN_PROBABILITY = 1e-9
"""Floor of a mode probability, so a mode can always come back (and no weight divides by zero)."""


def mode_transition_matrix(dt_s: float, sojourn_s: tuple[float, float]) -> Array:
    """The ``(M, M)`` mode transition probabilities over ``dt_s`` seconds, ``p_ij = P(j at t+Δt | i at t)``.

    A continuous-time Markov chain with mean sojourn time ``τ_i`` in mode i: ``p_ii = exp(−Δt/τ_i)``,
    the rest to the other mode (two modes), so scans at irregular intervals are handled and Δt = 0
    changes nothing.

    Args:
        dt_s: seconds (≥ 0). sojourn_s: ``(τ_CV, τ_CT)`` seconds.
    """
    stay = np.exp(-dt_s / np.asarray(sojourn_s, dtype=np.float64))
    return np.array([[stay[0], 1.0 - stay[0]], [1.0 - stay[1], stay[1]]])


def initial_modes(states: Array, covariances: Array, turn_rate_std_radps: float,
                  sojourn_s: tuple[float, float]) -> tuple[Array, Array, Array]:
    """Mode states, covariances and probabilities of new tracks from their 6-state estimates.

    Both modes start at the estimate; the CT mode's turn rate is 0 with standard deviation
    ``turn_rate_std_radps`` (uncorrelated); the mode probabilities are the chain's stationary ones,
    ``μ_i = τ_i / (τ_CV + τ_CT)``.

    Args:
        states: ``(T, 6)``; covariances: ``(T, 6, 6)``. turn_rate_std_radps: rad/s.
        sojourn_s: ``(τ_CV, τ_CT)`` seconds.

    Returns:
        ``(T, M, 7)`` states, ``(T, M, 7, 7)`` covariances, ``(T, M)`` probabilities.
    """
    n = len(states)
    x = np.zeros((n, MODES, STATE_DIM))
    x[:, :, :6] = states[:, None, :]
    p = np.zeros((n, MODES, STATE_DIM, STATE_DIM))
    p[:, :, :6, :6] = covariances[:, None, :, :]
    p[:, CT, OMEGA, OMEGA] = turn_rate_std_radps**2
    tau = np.asarray(sojourn_s, dtype=np.float64)
    return x, p, np.broadcast_to(tau / tau.sum(), (n, MODES)).copy()


def _turn_functions(omega: Array, dt_s: float) -> tuple[Array, Array, Array, Array, Array, Array]:
    """``sin ωΔt``, ``cos ωΔt``, ``A = sin(ωΔt)/ω``, ``B = (1 − cos ωΔt)/ω``, ``dA/dω``, ``dB/dω``.

    Args:
        omega: ``(T,)`` turn rates, rad/s. dt_s: seconds.
    """
    wt = omega * dt_s
    s, c = np.sin(wt), np.cos(wt)
    small = np.abs(wt) < _SMALL_TURN_RAD
    w = np.where(small, 1.0, omega)  # any non-zero value: the closed forms are discarded where small
    t2, t3, t4 = dt_s**2, dt_s**3, dt_s**4
    a = np.where(small, dt_s - omega**2 * t3 / 6.0, s / w)
    b = np.where(small, omega * t2 / 2.0, (1.0 - c) / w)
    da = np.where(small, -omega * t3 / 3.0, (dt_s * c - s / w) / w)
    db = np.where(small, t2 / 2.0 - omega**2 * t4 / 8.0, (dt_s * s - (1.0 - c) / w) / w)
    return s, c, a, b, da, db


def coordinated_turn_predict(states: Array, covariances: Array, dt_s: float, q_horizontal: float,
                             q_vertical: float, q_turn_rate: float) -> tuple[Array, Array]:
    """EKF prediction of the horizontal coordinated-turn model (turn rate in the state) ``dt_s`` ahead.

    ``e' = e + A ve − B vn``, ``n' = n + B ve + A vn``, ``ve' = cos(ωΔt) ve − sin(ωΔt) vn``,
    ``vn' = sin(ωΔt) ve + cos(ωΔt) vn``, ``u' = u + Δt vu``, ``vu' = vu``, ``ω' = ω``, with
    ``A = sin(ωΔt)/ω``, ``B = (1 − cos ωΔt)/ω`` (Bar-Shalom et al. 2001, §11.7); ``P' = F P Fᵀ + Q``
    with F the Jacobian and Q the white-acceleration noise of the CV model plus ``q_ω Δt`` on ω.

    Args:
        states: ``(T, 7)``; covariances: ``(T, 7, 7)``. dt_s: seconds (≥ 0).
        q_horizontal, q_vertical: white-acceleration spectral densities, m²/s³.
        q_turn_rate: turn-rate random-walk spectral density, rad²/s³.

    Returns:
        The predicted ``(T, 7)`` states and ``(T, 7, 7)`` covariances (new arrays).
    """
    if dt_s == 0.0 or not len(states):
        return states.copy(), covariances.copy()
    ve, vn, omega = states[:, 3], states[:, 4], states[:, OMEGA]
    s, c, a, b, da, db = _turn_functions(omega, dt_s)
    x = states.copy()
    x[:, 0] += a * ve - b * vn
    x[:, 1] += b * ve + a * vn
    x[:, 2] += dt_s * states[:, 5]
    x[:, 3] = c * ve - s * vn
    x[:, 4] = s * ve + c * vn
    f = np.broadcast_to(np.eye(STATE_DIM), (len(states), STATE_DIM, STATE_DIM)).copy()
    f[:, 0, 3], f[:, 0, 4], f[:, 1, 3], f[:, 1, 4] = a, -b, b, a
    f[:, 2, 5] = dt_s
    f[:, 3, 3], f[:, 3, 4], f[:, 4, 3], f[:, 4, 4] = c, -s, s, c
    f[:, 0, OMEGA] = da * ve - db * vn
    f[:, 1, OMEGA] = db * ve + da * vn
    f[:, 3, OMEGA] = -dt_s * (s * ve + c * vn)
    f[:, 4, OMEGA] = dt_s * (c * ve - s * vn)
    q = np.zeros((STATE_DIM, STATE_DIM))
    q[:6, :6] = process_noise(dt_s, q_horizontal, q_vertical)
    q[OMEGA, OMEGA] = q_turn_rate * dt_s
    return x, np.asarray(f @ covariances @ np.swapaxes(f, 1, 2) + q)


def _constant_velocity_predict7(states: Array, covariances: Array, dt_s: float, q_horizontal: float,
                                q_vertical: float) -> tuple[Array, Array]:
    """The CV prediction of 7-states whose ω is the placeholder 0 (kept 0, zero variance)."""
    f = transition_matrix(dt_s)
    x = np.zeros_like(states)
    x[:, :6] = states[:, :6] @ f.T
    p = np.zeros_like(covariances)
    p[:, :6, :6] = f @ covariances[:, :6, :6] @ f.T + process_noise(dt_s, q_horizontal, q_vertical)
    return x, p


def imm_predict(states: Array, covariances: Array, probabilities: Array, dt_s: float,
                sojourn_s: tuple[float, float], q_horizontal: float, q_vertical: float,
                q_ct_horizontal: float, q_turn_rate: float,
                turn_rate_std_radps: float) -> tuple[Array, Array, Array]:
    """IMM mixing and mode-matched prediction of all tracks ``dt_s`` seconds ahead.

    With ``p_ij`` from ``mode_transition_matrix``: predicted mode probabilities ``c̄_j = Σ_i p_ij μ_i``,
    mixing weights ``μ_{i|j} = p_ij μ_i / c̄_j``, mixed estimates ``x⁰_j = Σ_i μ_{i|j} x_i``,
    ``P⁰_j = Σ_i μ_{i|j} (P_i + (x_i − x⁰_j)(x_i − x⁰_j)ᵀ)`` — the CV mode's ω entering as
    N(0, σ_ω²), uncorrelated — then the CV model on ``x⁰_CV`` and the CT model on ``x⁰_CT``.

    Args:
        states: ``(T, M, 7)``; covariances: ``(T, M, 7, 7)``; probabilities: ``(T, M)``.
        dt_s: seconds (≥ 0; 0 changes nothing). sojourn_s: ``(τ_CV, τ_CT)`` seconds.
        q_horizontal, q_vertical: the CV mode's white-acceleration densities, m²/s³ (q_vertical also
            the CT mode's). q_ct_horizontal: the CT mode's horizontal density, m²/s³.
        q_turn_rate: the CT mode's turn-rate density, rad²/s³.
        turn_rate_std_radps: σ_ω, the turn-rate prior at the onset of a turn, rad/s.

    Returns:
        The predicted mode states, covariances and probabilities ``c̄`` (new arrays).
    """
    if dt_s == 0.0 or not len(states):
        return states.copy(), covariances.copy(), probabilities.copy()
    pi = mode_transition_matrix(dt_s, sojourn_s)
    predicted_prob = probabilities @ pi  # (T, M)
    weights = pi[None, :, :] * probabilities[:, :, None] / predicted_prob[:, None, :]  # (T, i, j)
    # a switch from CV to CT is the onset of a turn at a rate not yet known: the CV mode's turn rate
    # enters the mixing as the turn-rate prior N(0, σ_ω²), uncorrelated with the rest
    x = states.copy()
    p = covariances.copy()
    x[:, CV, OMEGA] = 0.0
    p[:, CV, OMEGA, :] = p[:, CV, :, OMEGA] = 0.0
    p[:, CV, OMEGA, OMEGA] = turn_rate_std_radps**2
    mixed = np.einsum("tij,tia->tja", weights, x)
    spread = x[:, :, None, :] - mixed[:, None, :, :]  # (T, i, j, 7)
    mixed_cov = (np.einsum("tij,tiab->tjab", weights, p)
                 + np.einsum("tij,tija,tijb->tjab", weights, spread, spread))
    x_cv, p_cv = _constant_velocity_predict7(mixed[:, CV], mixed_cov[:, CV], dt_s, q_horizontal, q_vertical)
    x_ct, p_ct = coordinated_turn_predict(mixed[:, CT], mixed_cov[:, CT], dt_s, q_ct_horizontal, q_vertical,
                                          q_turn_rate)
    return (np.stack([x_cv, x_ct], axis=1), np.stack([p_cv, p_ct], axis=1), predicted_prob)


def imm_update(states: Array, covariances: Array, probabilities: Array, measurements: Array,
               noise: Array, sensor_position: Array, sensor_rotation: Array,
               fixed: BoolArray | None = None) -> tuple[Array, Array, Array]:
    """Mode-matched EKF updates of P tracks with one polar measurement each, and their mode probabilities.

    Each mode is linearised at its own predicted position (``polar_measurement``) and updated in the
    Joseph form (``extended_kalman_update``); ``μ_j ∝ Λ_j c̄_j`` with ``Λ_j = N(ν_j; 0, S_j)`` the
    mode's innovation likelihood (floored at 1e-9 and renormalised).

    Args:
        states: ``(P, M, 7)`` predicted; covariances: ``(P, M, 7, 7)``; probabilities: ``(P, M)`` ``c̄``.
        measurements: ``(P, k)`` range m, azimuth rad[, elevation rad]; noise: ``(P, k, k)``.
        sensor_position, sensor_rotation: as in ``polar_measurement``.
        fixed: ``(P, 7)`` components to consider, not estimate (see ``extended_kalman_update``).

    Returns:
        Updated ``(P, M, 7)`` states, ``(P, M, 7, 7)`` covariances and ``(P, M)`` probabilities.
    """
    n, k = len(states), measurements.shape[1]
    flat_x = states.reshape(n * MODES, STATE_DIM)
    flat_p = covariances.reshape(n * MODES, STATE_DIM, STATE_DIM)
    z, h6 = polar_measurement(flat_x[:, :3], sensor_position, sensor_rotation, k)
    h = np.zeros((n * MODES, k, STATE_DIM))
    h[:, :, :6] = h6
    nu = np.repeat(measurements, MODES, axis=0) - z
    nu[:, 1] = wrap_angle(nu[:, 1])
    r = np.repeat(noise, MODES, axis=0)
    s = h @ flat_p @ np.swapaxes(h, 1, 2) + r
    d2 = np.einsum("pk,pk->p", nu, np.linalg.solve(s, nu[:, :, None])[:, :, 0])
    _, logdet = np.linalg.slogdet(s)
    log_likelihood = (-0.5 * (d2 + logdet + k * np.log(2.0 * np.pi))).reshape(n, MODES)
    flat_fixed = None if fixed is None else np.repeat(fixed, MODES, axis=0)
    x, p = extended_kalman_update(flat_x, flat_p, nu, h, r, flat_fixed)
    log_post = np.log(np.maximum(probabilities, _MIN_PROBABILITY)) + log_likelihood
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    post = np.maximum(post / post.sum(axis=1, keepdims=True), _MIN_PROBABILITY)
    post /= post.sum(axis=1, keepdims=True)
    return x.reshape(states.shape), p.reshape(covariances.shape), post


def combine(states: Array, covariances: Array, probabilities: Array) -> tuple[Array, Array]:
    """The combined 6-state estimate: ``x = Σ_j μ_j x_j``, ``P = Σ_j μ_j (P_j + (x_j − x)(x_j − x)ᵀ)``.

    Args:
        states: ``(T, M, 7)``; covariances: ``(T, M, 7, 7)``; probabilities: ``(T, M)``.

    Returns:
        ``(T, 6)`` states and ``(T, 6, 6)`` covariances (the turn rate is not part of them).
    """
    x6, p6 = states[:, :, :6], covariances[:, :, :6, :6]
    x = np.einsum("tj,tja->ta", probabilities, x6)
    d = x6 - x[:, None, :]
    p = np.einsum("tj,tjab->tab", probabilities, p6 + d[:, :, :, None] * d[:, :, None, :])
    return x, np.asarray(0.5 * (p + np.swapaxes(p, 1, 2)))
