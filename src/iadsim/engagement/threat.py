"""Threat evaluation: how much each hostile track threatens the defended assets.

For every track against every asset, in a local ENU frame (metres, seconds), flying straight at
constant velocity: the time and distance of the closest point of approach (CPA) within a look-ahead
horizon, the time to reach the asset (fly the present course to the CPA, then turn straight onto
the asset), and a threat value

    V = w_type · max_a [ value_a · exp(−d_cpa/D) · exp(−t_reach/τ) ],
    t_reach = t_cpa + d_cpa / speed,

where D and τ are model conventions (``DISTANCE_SCALE_M``, ``TIME_SCALE_S``). Tracks × assets are
computed as ``(N, A)`` arrays at once. Model, conventions and why: docs/models/engagement.md,
"Threat evaluation".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DISTANCE_SCALE_M",
    "HORIZON_S",
    "TIME_SCALE_S",
    "ThreatAssessment",
    "threat_values",
]

Array = NDArray[np.float64]

DISTANCE_SCALE_M = 20_000.0
"""Model convention D: a CPA this far from an asset weighs e⁻¹ of a track passing overhead."""

TIME_SCALE_S = 300.0
"""Model convention τ: a track this long from reaching an asset weighs e⁻¹ of one arriving now."""

HORIZON_S = 1200.0
"""Model convention: the look-ahead over which the closest approach is sought, seconds."""


@dataclass(frozen=True)
class ThreatAssessment:
    """Threat of N tracks against A assets.

    Attributes:
        value: ``(N,)`` the threat value V of each track (≥ 0; 0 with no asset).
        log_value: ``(N,)`` ln V, computed without forming V, so that tracks far out whose V
            underflows to 0 still rank (−inf where V is exactly 0).
        most_threatened: ``(N,)`` index of the asset that gives V, −1 where none is threatened
            (no asset, assets of no value, or a stationary track away from every asset).
        asset_threat: ``(N, A)`` value_a · exp(−d_cpa/D) · exp(−t_reach/τ), without the type weight.
        t_cpa_s: ``(N, A)`` time of the closest approach within [0, horizon], seconds.
        d_cpa_m: ``(N, A)`` distance at that time, metres.
        time_to_reach_s: ``(N, A)`` t_cpa + d_cpa/speed: the present course to the CPA, then
            straight onto the asset at the same speed, seconds (inf for a stationary track that is
            not at the asset).
    """

    value: Array
    log_value: Array
    most_threatened: NDArray[np.int64]
    asset_threat: Array
    t_cpa_s: Array
    d_cpa_m: Array
    time_to_reach_s: Array

    def ranking(self) -> NDArray[np.int64]:
        """Track indices from the most to the least threatening, by ``log_value`` (ties keep index
        order)."""
        return np.argsort(-self.log_value, kind="stable").astype(np.int64)


def _as_points(name: str, values: ArrayLike) -> Array:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 2 or out.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {out.shape}")
    return out


def _as_weights(name: str, values: ArrayLike, n: int) -> Array:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {out.shape}")
    if np.any(out < 0.0) or not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite and non-negative")
    return out


def threat_values(
    positions_m: ArrayLike,
    velocities_mps: ArrayLike,
    kind_weight: ArrayLike,
    assets_m: ArrayLike,
    asset_value: ArrayLike,
    *,
    horizon_s: float = HORIZON_S,
    distance_scale_m: float = DISTANCE_SCALE_M,
    time_scale_s: float = TIME_SCALE_S,
) -> ThreatAssessment:
    """Threat values of N hostile tracks against A defended assets (CPA geometry, constant velocity).

    Args:
        positions_m: ``(N, 3)`` track positions, local ENU metres.
        velocities_mps: ``(N, 3)`` track velocities, m/s.
        kind_weight: ``(N,)`` the caller's weight of each track's type (≥ 0; e.g. bomber > UAV).
        assets_m: ``(A, 3)`` defended assets (air bases, cities, command posts, fire units), same frame.
        asset_value: ``(A,)`` the caller's value of each asset (≥ 0).
        horizon_s: look-ahead for the closest approach, seconds (> 0).
        distance_scale_m: D, metres (> 0). time_scale_s: τ, seconds (> 0).
    """
    p = _as_points("positions_m", positions_m)
    v = _as_points("velocities_mps", velocities_mps)
    if v.shape != p.shape:
        raise ValueError(f"velocities_mps {v.shape} must match positions_m {p.shape}")
    a = _as_points("assets_m", assets_m)
    w = _as_weights("kind_weight", kind_weight, len(p))
    value_a = _as_weights("asset_value", asset_value, len(a))
    for name, scale in (("horizon_s", horizon_s), ("distance_scale_m", distance_scale_m),
                        ("time_scale_s", time_scale_s)):
        if not (np.isfinite(scale) and scale > 0.0):
            raise ValueError(f"{name} must be positive and finite, got {scale}")
    n, n_assets = len(p), len(a)
    if n_assets == 0:
        empty = np.zeros((n, 0))
        return ThreatAssessment(np.zeros(n), np.full(n, -np.inf), np.full(n, -1, dtype=np.int64), empty,
                                empty.copy(), empty.copy(), empty.copy())

    # r = p − a per (track, asset) without forming (N, A, 3): shift by a common origin to keep the
    # expanded dot products well conditioned in a theatre-sized frame.
    origin = a.mean(axis=0)
    ps, as_ = p - origin, a - origin
    speed2 = np.einsum("ij,ij->i", v, v)  # (N,)
    r_dot_v = np.einsum("ij,ij->i", ps, v)[:, None] - (v @ as_.T)  # (N, A)
    r2 = (np.einsum("ij,ij->i", ps, ps)[:, None] + np.einsum("ij,ij->i", as_, as_)[None, :]
          - 2.0 * (ps @ as_.T))
    r2 = np.maximum(r2, 0.0)
    moving = speed2 > 0.0
    t_free = np.divide(-r_dot_v, speed2[:, None], out=np.zeros_like(r_dot_v), where=moving[:, None])
    t_cpa = np.clip(t_free, 0.0, horizon_s)
    d2 = r2 + 2.0 * t_cpa * r_dot_v + t_cpa**2 * speed2[:, None]
    d_cpa = np.sqrt(np.maximum(d2, 0.0))
    speed = np.sqrt(speed2)
    miss_time = np.divide(d_cpa, speed[:, None], out=np.full_like(d_cpa, np.inf), where=moving[:, None])
    miss_time[d_cpa == 0.0] = 0.0
    t_reach = t_cpa + miss_time
    with np.errstate(divide="ignore"):  # log 0 = −inf: an asset of no value, a weight of 0
        log_terms = np.log(value_a)[None, :] - d_cpa / distance_scale_m - t_reach / time_scale_s
        log_w = np.log(w)
    best = np.argmax(log_terms, axis=1).astype(np.int64)
    top = log_terms[np.arange(n), best]
    best[~(top > -np.inf)] = -1
    return ThreatAssessment(
        value=w * np.exp(top),
        log_value=log_w + top,
        most_threatened=best,
        asset_threat=np.exp(log_terms),
        t_cpa_s=t_cpa,
        d_cpa_m=d_cpa,
        time_to_reach_s=t_reach,
    )
