"""Gating and global nearest neighbour assignment, batched over all tracks and detections of a scan.

Gating: a track i and a detection j are candidates when their Mahalanobis distance
``d² = νᵀ S⁻¹ ν`` with ``S = H P Hᵀ + R_j`` is below a chi-square threshold. A conservative box on
range and azimuth (``|ν_k| ≤ √(γ S_kk)`` holds for every point inside the ellipsoid) first picks
candidate pairs with a sorted sweep over range, so the exact distance is computed only for them.

Assignment: the gated pairs form a bipartite graph; each connected component (a cluster) is solved
on its own with ``scipy.optimize.linear_sum_assignment`` on the ``d²`` costs, each track also
allowed a "no detection" choice at cost γ. One-pair clusters — the common case — are taken without a
solver call.

Initiation: ``speed_gate`` pairs single-detection track candidates with later detections whose
implied horizontal speed does not exceed a maximum (allowing for measurement error).
Formulas: docs/models/tracking.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2

from iadsim.tracking.filters import wrap_angle

__all__ = ["GatedPairs", "gate", "gate_threshold", "global_nearest_neighbour", "speed_gate"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


def gate_threshold(probability: float, dims: int) -> float:
    """The chi-square gate γ with ``P(χ²_dims ≤ γ) = probability``."""
    return float(chi2.ppf(probability, dims))


class GatedPairs:
    """Track–detection pairs inside the gate, as parallel arrays of length P.

    Attributes:
        track: ``(P,)`` track indices; detection: ``(P,)`` detection indices.
        distance2: ``(P,)`` squared Mahalanobis distances (dimensionless).
        innovation: ``(P, k)`` measurement minus prediction (m, rad[, rad]), azimuth wrapped.
    """

    __slots__ = ("detection", "distance2", "innovation", "track")

    def __init__(self, track: IntArray, detection: IntArray, distance2: Array, innovation: Array) -> None:
        self.track, self.detection = track, detection
        self.distance2, self.innovation = distance2, innovation

    def subset(self, keep: NDArray[np.bool_] | NDArray[np.intp] | IntArray) -> GatedPairs:
        """The pairs at ``keep`` (a mask or indices)."""
        return GatedPairs(self.track[keep], self.detection[keep], self.distance2[keep],
                          self.innovation[keep])


def gate(predicted: Array, innovation_cov: Array, measurements: Array, noise_variances: Array,
         threshold: float) -> GatedPairs:
    """All (track, detection) pairs with ``d² ≤ threshold``.

    Args:
        predicted: ``(T, k)`` predicted measurements (range m, azimuth rad in [0, 2π)[, elevation rad]).
        innovation_cov: ``(T, k, k)`` ``H P Hᵀ`` of each track (without measurement noise).
        measurements: ``(M, k)`` detections in the same units.
        noise_variances: ``(M, k)`` each detection's measurement variances (diagonal R).
        threshold: the chi-square gate γ.

    Returns:
        The gated pairs, ordered by track then detection index.
    """
    n_tracks, n_dets = len(predicted), len(measurements)
    k = measurements.shape[1] if n_dets else predicted.shape[1]
    if not n_tracks or not n_dets:
        empty = np.zeros(0, dtype=np.int64)
        return GatedPairs(empty, empty, np.zeros(0), np.zeros((0, k)))
    # coarse box: range by a sorted sweep, then azimuth
    r_max_var = noise_variances.max(axis=0)
    half = np.sqrt(threshold * (np.diagonal(innovation_cov, axis1=1, axis2=2) + r_max_var))  # (T, k)
    order = np.argsort(measurements[:, 0], kind="stable")
    r_sorted = measurements[order, 0]
    lo = np.searchsorted(r_sorted, predicted[:, 0] - half[:, 0], side="left")
    hi = np.searchsorted(r_sorted, predicted[:, 0] + half[:, 0], side="right")
    counts = hi - lo
    total = int(counts.sum())
    track = np.repeat(np.arange(n_tracks, dtype=np.int64), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    det = order[starts + np.arange(total)].astype(np.int64)
    az_diff = wrap_angle(measurements[det, 1] - predicted[track, 1])
    keep = np.abs(az_diff) <= half[track, 1]
    if k == 3:
        keep &= np.abs(measurements[det, 2] - predicted[track, 2]) <= half[track, 2]
    track, det = track[keep], det[keep]
    # exact Mahalanobis distance
    nu = measurements[det] - predicted[track]
    nu[:, 1] = wrap_angle(nu[:, 1])
    s = innovation_cov[track] + noise_variances[det][:, :, None] * np.eye(k)
    d2 = np.einsum("pk,pk->p", nu, np.linalg.solve(s, nu[:, :, None])[:, :, 0])
    inside = d2 <= threshold
    pairs = GatedPairs(track[inside], det[inside], d2[inside], nu[inside])
    sort = np.lexsort((pairs.detection, pairs.track))
    return pairs.subset(sort) if len(sort) else pairs


def global_nearest_neighbour(pairs: GatedPairs, threshold: float) -> NDArray[np.int64]:
    """The indices (into ``pairs``) of the pairs chosen by GNN, solved per cluster.

    Each cluster minimises the sum of ``d²`` over its assigned pairs plus γ per track left without a
    detection, so a pair is never forced beyond the gate. Deterministic: clusters and rows in index order.
    """
    n = len(pairs.track)
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    # the common case, no track or detection in two pairs: every pair is its own cluster (sets of
    # a few Python ints are cheaper than np.unique on the handful of pairs a scan has)
    if len(set(pairs.track.tolist())) == n and len(set(pairs.detection.tolist())) == n:
        return np.arange(n, dtype=np.int64)
    tracks, t_code = np.unique(pairs.track, return_inverse=True)
    dets, d_code = np.unique(pairs.detection, return_inverse=True)
    nt, nd = len(tracks), len(dets)
    graph = coo_matrix((np.ones(n), (t_code, nt + d_code)), shape=(nt + nd, nt + nd))
    _, label = connected_components(graph, directed=False)
    pair_label = label[t_code]
    order = np.argsort(pair_label, kind="stable")
    sizes = np.bincount(pair_label)
    single = sizes[pair_label] == 1
    chosen = [np.flatnonzero(single)]
    multi_pairs = order[~single[order]]
    if len(multi_pairs):
        bounds = np.flatnonzero(np.diff(pair_label[multi_pairs])) + 1
        for group in np.split(multi_pairs, bounds):
            rows, row = np.unique(t_code[group], return_inverse=True)
            cols, col = np.unique(d_code[group], return_inverse=True)
            cost = np.full((len(rows), len(cols) + len(rows)), np.inf)
            cost[row, col] = pairs.distance2[group]
            cost[np.arange(len(rows)), len(cols) + np.arange(len(rows))] = threshold
            r_idx, c_idx = linear_sum_assignment(cost)
            lookup = np.full((len(rows), len(cols)), -1, dtype=np.int64)
            lookup[row, col] = group
            real = c_idx < len(cols)
            chosen.append(lookup[r_idx[real], c_idx[real]])
    result = np.concatenate(chosen).astype(np.int64)
    return np.sort(result)


def speed_gate(origins: Array, origin_cov: Array, elapsed_s: Array, points: Array, point_cov: Array,
               max_speed_mps: float, kappa: float) -> GatedPairs:
    """Candidate–detection pairs whose implied horizontal speed is at most ``max_speed_mps``.

    A pair (i, j) passes when ``|Δ| − κ σ_Δ ≤ v_max Δt_i``, with ``Δ`` the horizontal (east, north)
    displacement from candidate i to detection j, ``σ_Δ² = uᵀ (P_i + P_j) u`` its variance along the
    unit vector ``u = Δ / |Δ|`` (the two position errors independent), and ``Δt_i > 0``. The cost
    of a passing pair is ``(|Δ| / (v_max Δt_i + κ σ_Δ))²`` in [0, 1]: smaller for a slower implied
    speed, so ``global_nearest_neighbour(pairs, 1.0)`` prefers the slowest consistent pairing.

    Args:
        origins: ``(C, 3)`` candidate positions, local-frame metres; origin_cov: ``(C, 3, 3)``.
        elapsed_s: ``(C,)`` time from each candidate to the detections, seconds (pairs need > 0).
        points: ``(M, 3)`` detection positions, metres; point_cov: ``(M, 3, 3)``.
        max_speed_mps: the maximum target speed, m/s.
        kappa: the number of standard deviations allowed for the measurement errors.

    Returns:
        The passing pairs (``track`` = candidate index, ``distance2`` = the cost, ``innovation`` the
        ``(P, 2)`` displacement), ordered by candidate then detection index.
    """
    n_c, n_m = len(origins), len(points)
    empty = np.zeros(0, dtype=np.int64)
    if not n_c or not n_m:
        return GatedPairs(empty, empty, np.zeros(0), np.zeros((0, 2)))
    sd_c = np.sqrt(origin_cov[:, 0, 0] + origin_cov[:, 1, 1])  # bounds σ along any horizontal u
    sd_m = np.sqrt(point_cov[:, 0, 0] + point_cov[:, 1, 1])
    reach = np.where(elapsed_s > 0.0, max_speed_mps * elapsed_s + kappa * (sd_c + sd_m.max()), -1.0)
    # coarse box: east by a sorted sweep, then north
    order = np.argsort(points[:, 0], kind="stable")
    east = points[order, 0]
    lo = np.searchsorted(east, origins[:, 0] - reach, side="left")
    hi = np.searchsorted(east, origins[:, 0] + reach, side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    cand = np.repeat(np.arange(n_c, dtype=np.int64), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    det = order[starts + np.arange(total)].astype(np.int64)
    keep = np.abs(points[det, 1] - origins[cand, 1]) <= reach[cand]
    cand, det = cand[keep], det[keep]
    # exact test
    delta = points[det, :2] - origins[cand, :2]
    dist = np.hypot(delta[:, 0], delta[:, 1])
    u = delta / np.maximum(dist, 1e-9)[:, None]
    both = origin_cov[cand, :2, :2] + point_cov[det, :2, :2]
    sigma = np.sqrt(np.maximum(np.einsum("pi,pij,pj->p", u, both, u), 0.0))
    bound = max_speed_mps * elapsed_s[cand] + kappa * sigma
    inside = dist <= bound
    cost = (dist / np.maximum(bound, 1e-9)) ** 2
    pairs = GatedPairs(cand[inside], det[inside], cost[inside], delta[inside])
    sort = np.lexsort((pairs.detection, pairs.track))
    return pairs.subset(sort) if len(sort) else pairs
