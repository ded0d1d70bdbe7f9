"""Track-to-track fusion at a command node: covariance intersection of correlated track sets.

Each command node runs its own ``Tracker``; it also receives other nodes' track sets over links
with latency. ``FusedPicture.update`` predicts every received set to the node's time, correlates
the tracks of the sources (chi-square gate on the Mahalanobis distance with the sum of the
covariances, global nearest neighbour with hysteresis) and fuses correlated tracks by covariance
intersection (Julier & Uhlmann 1997). Fused tracks keep their numbers from update to update.

Array-shape rule as in ``filters``: T tracks, states ``(T, 6)`` ``[e, n, u, ve, vn, vu]`` in metres
and metres per second in the local ENU frame that all nodes of a run share, covariances
``(T, 6, 6)``. Formulas and what is not modelled: docs/models/tracking.md, "Track-to-track fusion".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from iadsim.scenario.schema import default_tracking_settings
from iadsim.tracking.association import GatedPairs, gate_threshold, global_nearest_neighbour
from iadsim.tracking.filters import constant_velocity_predict

if TYPE_CHECKING:
    from iadsim.tracking.tracker import Tracker

__all__ = ["FusedPicture", "FusionConfig", "TrackSet", "ci_weight", "covariance_intersection", "track_pairs"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

Criterion = Literal["determinant", "trace"]

_WEIGHT_TOLERANCE = 1e-12
"""The weight ω is solved to this (absolute) accuracy; Newton's method gets there in a few steps."""
_WEIGHT_MAX_STEPS = 60
"""Safeguarded Newton steps at most (bisection alone needs 40 to reach 10⁻¹²)."""


@dataclass
class TrackSet:
    """One source's tracks as parallel arrays of T rows.

    Attributes:
        source: the source's name (a node, or a node's own tracker).
        track_id: ``(T,)`` the source's track numbers (int64, distinct within the set, ≥ 0).
        time_s: ``(T,)`` the time at which each state is valid, seconds.
        state: ``(T, 6)`` ``[e, n, u, ve, vn, vu]``, m and m/s in the shared local ENU frame.
        covariance: ``(T, 6, 6)`` m², m²/s, m²/s².
        confirmed: ``(T,)`` the track is confirmed.
        data_time_s: ``(T,)`` the time of the newest sensor data behind each track, seconds (default
            ``time_s``): a tracker's track its latest detection; a fused track the newest data time
            of its contributors, so a track that is only relayed back and forth between nodes, with
            no sensor behind it any more, keeps an old data time.
    """

    source: str
    track_id: IntArray
    time_s: Array
    state: Array
    covariance: Array
    confirmed: BoolArray
    data_time_s: Array | None = None

    def __post_init__(self) -> None:
        self.track_id = np.asarray(self.track_id, dtype=np.int64).reshape(-1)
        n = len(self.track_id)
        self.time_s = np.broadcast_to(np.asarray(self.time_s, dtype=np.float64), (n,)).copy()
        data = self.time_s if self.data_time_s is None else self.data_time_s
        self.data_time_s = np.broadcast_to(np.asarray(data, dtype=np.float64), (n,)).copy()
        self.state = np.asarray(self.state, dtype=np.float64).reshape(n, 6)
        self.covariance = np.asarray(self.covariance, dtype=np.float64).reshape(n, 6, 6)
        self.confirmed = np.broadcast_to(np.asarray(self.confirmed, dtype=bool), (n,)).copy()
        if len(np.unique(self.track_id)) != n or np.any(self.track_id < 0):
            raise ValueError(f"track set {self.source!r}: track ids must be distinct and ≥ 0")

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def trusted(cls, source: str, track_id: IntArray, time_s: Array, state: Array, covariance: Array,
                confirmed: BoolArray, data_time_s: Array) -> TrackSet:
        """A set from arrays already in shape (``(T,)`` ids distinct and ≥ 0, float times ``(T,)``,
        ``(T, 6)``, ``(T, 6, 6)``, ``(T,)`` bools), without the checks and copies of the constructor:
        for the C2 pass's hot path, whose sets come from a tracker or an earlier set."""
        out = cls.__new__(cls)
        out.source, out.track_id, out.time_s, out.state = source, track_id, time_s, state
        out.covariance, out.confirmed, out.data_time_s = covariance, confirmed, data_time_s
        return out

    def select(self, keep: BoolArray | IntArray) -> TrackSet:
        """The tracks at ``keep`` (a ``(T,)`` mask or indices), same source."""
        assert self.data_time_s is not None
        return TrackSet.trusted(self.source, self.track_id[keep], self.time_s[keep], self.state[keep],
                                self.covariance[keep], self.confirmed[keep], self.data_time_s[keep])

    @classmethod
    def empty(cls, source: str) -> TrackSet:
        """A set with no tracks."""
        return cls.trusted(source, np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros((0, 6)),
                           np.zeros((0, 6, 6)), np.zeros(0, dtype=bool), np.zeros(0))

    @classmethod
    def from_tracker(cls, source: str, tracker: Tracker) -> TrackSet:
        """A tracker's live tracks (tentative and confirmed), valid at the tracker's time, each with
        the time of its latest detection as its data time."""
        t = tracker.tracks
        time = np.nan if tracker.time_s is None else tracker.time_s
        return cls.trusted(source, t.track_id.copy(), np.full(len(t), time), t.state.copy(),
                           t.covariance.copy(), t.confirmed.copy(), t.last_hit_s.copy())


_DEFAULT = default_tracking_settings()
"""The reference data's tracking settings: the defaults of the process noise and the gate."""


@dataclass(frozen=True)
class FusionConfig:
    """Parameters of track-to-track fusion. Defaults are model conventions (docs/models/tracking.md).

    Attributes:
        process_noise_horizontal: white-acceleration spectral density q on east and north used to
            predict received tracks to the node's time, m²/s³ (the tracker's default).
        process_noise_vertical: the same on up, m²/s³.
        gate_probability: probability mass inside the chi-square gate on the track-to-track
            difference.
        gate_velocity: gate on position and velocity (6 degrees of freedom); False: position only (3).
        remote_confirmed_only: fuse only the confirmed tracks of remote sources (all sets after the
            first); the node's own set (the first) always enters whole.
        criterion: what ω minimises in the fused covariance: ``"determinant"`` (the default: the
            volume of the uncertainty ellipsoid, unchanged by the units of the state's components)
            or ``"trace"``.
        max_remote_data_age_s: remote tracks whose newest sensor data (``data_time_s``) is older
            than this at the update are not fused, s (default: no limit). Where nodes relay what
            they receive, a track that no sensor supports any more would otherwise circulate between
            them for ever, each refreshing it from the other's echo.
    """

    process_noise_horizontal: float = _DEFAULT.process_noise_horizontal_m2ps3
    process_noise_vertical: float = _DEFAULT.process_noise_vertical_m2ps3
    gate_probability: float = _DEFAULT.fusion_gate_probability
    gate_velocity: bool = True
    remote_confirmed_only: bool = True
    criterion: Criterion = "determinant"
    max_remote_data_age_s: float = math.inf

    def __post_init__(self) -> None:
        checks = {
            "process_noise_horizontal": self.process_noise_horizontal >= 0.0,
            "process_noise_vertical": self.process_noise_vertical >= 0.0,
            "gate_probability": 0.0 < self.gate_probability < 1.0,
            "criterion": self.criterion in ("determinant", "trace"),
            "max_remote_data_age_s": self.max_remote_data_age_s > 0.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"FusionConfig: invalid {', '.join(bad)} (see its docstring)")


def _symmetric(m: Array) -> Array:
    return np.asarray(0.5 * (m + np.swapaxes(m, -1, -2)))


def covariance_intersection(mean_a: Array, cov_a: Array, mean_b: Array, cov_b: Array,
                            criterion: Criterion = "determinant") -> tuple[Array, Array, Array]:
    """Covariance intersection of P pairs of estimates whose cross-correlation is unknown.

    ``P⁻¹ = ω A⁻¹ + (1 − ω) B⁻¹``, ``x = P (ω A⁻¹ a + (1 − ω) B⁻¹ b)`` (Julier & Uhlmann 1997), with
    ω ∈ [0, 1] per pair minimising ``det P`` (or ``tr P``). Both criteria reduce to one scalar
    equation per pair through the generalised eigenvalues λᵢ of the two information matrices
    (``A⁻¹ v = λ B⁻¹ v``; with ``B⁻¹ = L Lᵀ``, the eigenvalues of ``L⁻¹ A⁻¹ L⁻ᵀ``):
    ``det P⁻¹ = det B⁻¹ · Πᵢ (1 + ω aᵢ)`` and ``tr P = Σᵢ cᵢ / (1 + ω aᵢ)`` with ``aᵢ = λᵢ − 1`` and
    ``cᵢ = ‖L⁻ᵀ vᵢ‖²``. The first is log-concave and the second convex in ω, so the optimum is an end
    point or the single root of the derivative in (0, 1); it is found for all pairs at once by a
    safeguarded Newton iteration on the scalar derivative (docs/models/tracking.md). The end points
    ω = 0 and 1 are the inputs themselves, so the fused covariance is never worse than the better
    input by the criterion.

    Args:
        mean_a: ``(P, d)``; cov_a: ``(P, d, d)`` positive definite.
        mean_b: ``(P, d)``; cov_b: ``(P, d, d)`` positive definite.
        criterion: ``"determinant"`` or ``"trace"``.

    Returns:
        The fused means ``(P, d)``, covariances ``(P, d, d)`` and the weights ω ``(P,)`` of ``a``.
    """
    if criterion not in ("determinant", "trace"):
        raise ValueError(f"criterion must be 'determinant' or 'trace', got {criterion!r}")
    mean_a, mean_b = np.asarray(mean_a, dtype=np.float64), np.asarray(mean_b, dtype=np.float64)
    n = len(mean_a)
    if not n:
        return mean_a.copy(), np.asarray(cov_a, dtype=np.float64).copy(), np.zeros(0)
    cov_a, cov_b = np.asarray(cov_a, dtype=np.float64), np.asarray(cov_b, dtype=np.float64)
    info_a = _symmetric(np.asarray(np.linalg.inv(cov_a), dtype=np.float64))  # no copy: float64 already
    info_b = _symmetric(np.asarray(np.linalg.inv(cov_b), dtype=np.float64))
    if criterion == "determinant":
        # the slopes at the end points need no eigenvalues: Σ aᵢ = tr(B A⁻¹) − d at ω = 0 and
        # Σ aᵢ / λᵢ = d − tr(A B⁻¹) at ω = 1; most pairs end there (one input better in every
        # direction), and only the others go through the eigenvalue solve
        d = mean_a.shape[1]
        at_zero = np.einsum("pij,pij->p", cov_b, info_a) - d <= 0.0
        at_one = d - np.einsum("pij,pij->p", cov_a, info_b) >= 0.0
        omega = np.where(at_zero, 0.0, 1.0)
        inner = np.flatnonzero(~at_zero & ~at_one)
        if len(inner):
            omega[inner] = ci_weight(info_a[inner], info_b[inner], criterion)
    else:
        omega = ci_weight(info_a, info_b, criterion)
    info = omega[:, None, None] * info_a + (1.0 - omega)[:, None, None] * info_b
    cov = _symmetric(np.asarray(np.linalg.inv(info), dtype=np.float64))
    weighted = (omega[:, None] * np.einsum("pij,pj->pi", info_a, mean_a)
                + (1.0 - omega)[:, None] * np.einsum("pij,pj->pi", info_b, mean_b))
    mean = np.einsum("pij,pj->pi", cov, weighted)
    return mean, cov, omega


def ci_weight(info_a: Array, info_b: Array, criterion: Criterion = "determinant") -> Array:
    """The covariance-intersection weight ω ``(P,)`` of ``a`` for P pairs of information matrices
    ``(P, d, d)`` (inverse covariances, positive definite): the ω ∈ [0, 1] that minimises the
    determinant (or the trace) of ``(ω A⁻¹ + (1 − ω) B⁻¹)⁻¹``. See ``covariance_intersection``."""
    lower = np.linalg.cholesky(info_b)  # B⁻¹ = L Lᵀ
    eye = np.broadcast_to(np.eye(info_b.shape[-1]), info_b.shape)
    lower_inv = np.linalg.solve(lower, eye)  # L⁻¹
    whitened = _symmetric(np.asarray(lower_inv @ info_a @ np.swapaxes(lower_inv, 1, 2), dtype=np.float64))
    lam, vectors = np.linalg.eigh(whitened)
    a = lam - 1.0  # (P, d): 1 + ω aᵢ = (1 − ω) + ω λᵢ > 0 on [0, 1]
    if criterion == "determinant":
        # maximise Σ log(1 + ω aᵢ): slope Σ aᵢ / (1 + ω aᵢ), decreasing in ω
        weight = np.ones_like(a)
        power = 1
    else:
        # minimise Σ cᵢ / (1 + ω aᵢ): minus its slope is Σ cᵢ aᵢ / (1 + ω aᵢ)², decreasing in ω
        columns = np.swapaxes(lower_inv, 1, 2) @ vectors  # L⁻ᵀ V
        weight = np.sum(columns**2, axis=1)  # cᵢ = ‖L⁻ᵀ vᵢ‖²
        power = 2

    def slope(w: Array) -> tuple[Array, Array]:
        inv = 1.0 / (1.0 + w[:, None] * a)
        term = weight * a * inv**power
        return term.sum(axis=1), -power * (term * a * inv).sum(axis=1)

    lo, hi = np.zeros(len(a)), np.ones(len(a))
    g_lo = (weight * a).sum(axis=1)
    g_hi, _ = slope(hi)
    omega = np.where(g_lo <= 0.0, 0.0, np.where(g_hi >= 0.0, 1.0, np.nan))
    open_ = np.flatnonzero(np.isnan(omega))
    if len(open_):
        a, weight = a[open_], weight[open_]
        lo, hi = lo[open_], hi[open_]
        # start where the straight line through the slopes at 0 and 1 crosses zero (secant)
        w = np.clip(g_lo[open_] / (g_lo[open_] - g_hi[open_]), 0.0, 1.0)
        for _ in range(_WEIGHT_MAX_STEPS):
            g, dg = slope(w)
            above = g > 0.0  # the root lies above w where the slope is still positive
            lo = np.where(above, w, lo)
            hi = np.where(above, hi, w)
            newton = w - g / np.where(dg < 0.0, dg, -1.0)
            step = np.where((newton > lo) & (newton < hi), newton, 0.5 * (lo + hi))
            converged = np.abs(step - w) <= _WEIGHT_TOLERANCE
            w = step
            if converged.all():
                break
        omega[open_] = w
    return np.asarray(omega, dtype=np.float64)


def track_pairs(mean_a: Array, cov_a: Array, mean_b: Array, cov_b: Array, threshold: float) -> GatedPairs:
    """All pairs (i of a, j of b) with ``d² = Δᵀ (A_i + B_j)⁻¹ Δ ≤ threshold``, ``Δ = b_j − a_i``.

    A conservative box first selects candidates (every point of the ellipsoid has
    ``|Δ_k| ≤ √(γ S_kk)``), by a sorted sweep on the first component and then the second, so the
    exact distance is computed for few pairs.

    Args:
        mean_a: ``(A, k)`` (first two components east and north, metres); cov_a: ``(A, k, k)``.
        mean_b: ``(B, k)``; cov_b: ``(B, k, k)``.
        threshold: the chi-square gate γ.

    Returns:
        The pairs (``track`` indexes a, ``detection`` indexes b, ``innovation`` is Δ), ordered by
        a then b.
    """
    n_a, n_b = len(mean_a), len(mean_b)
    k = mean_a.shape[1] if n_a else (mean_b.shape[1] if n_b else 0)
    empty = np.zeros(0, dtype=np.int64)
    if not n_a or not n_b:
        return GatedPairs(empty, empty, np.zeros(0), np.zeros((0, k)))
    half = np.sqrt(threshold * (cov_a[:, 0, 0] + cov_b[:, 0, 0].max()))
    order = np.argsort(mean_b[:, 0], kind="stable")
    east = mean_b[order, 0]
    lo = np.searchsorted(east, mean_a[:, 0] - half, side="left")
    hi = np.searchsorted(east, mean_a[:, 0] + half, side="right")
    counts = hi - lo
    a_idx = np.repeat(np.arange(n_a, dtype=np.int64), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    b_idx = order[starts + np.arange(int(counts.sum()))].astype(np.int64)
    delta = mean_b[b_idx] - mean_a[a_idx]
    s_diag = np.diagonal(cov_a, axis1=1, axis2=2)[a_idx] + np.diagonal(cov_b, axis1=1, axis2=2)[b_idx]
    keep = np.all(delta[:, :2] ** 2 <= threshold * s_diag[:, :2], axis=1)
    a_idx, b_idx, delta = a_idx[keep], b_idx[keep], delta[keep]
    s = cov_a[a_idx] + cov_b[b_idx]
    d2 = np.einsum("pk,pk->p", delta, np.linalg.solve(s, delta[:, :, None])[:, :, 0])
    inside = d2 <= threshold
    pairs = GatedPairs(a_idx[inside], b_idx[inside], d2[inside], delta[inside])
    sort = np.lexsort((pairs.detection, pairs.track))
    return pairs.subset(sort) if len(sort) else pairs


class FusedPicture:
    """A node's recognised air picture: its own tracks fused with the track sets it receives.

    After ``update``, ``sources`` names the sets of that update in their order, and
    ``member_track_id`` ``(T, S)`` gives, for each fused track (in the order of the returned set),
    the track id of each source that contributed to it (−1: none); ``contributors`` is
    ``member_track_id ≥ 0`` and ``source_count`` its row sums, so ``contributors[:, 0]`` false marks
    tracks only remote sources hold and ``source_count == 1`` with it true the node's own-only tracks.

    Args:
        node: the node's name (the ``source`` of the fused set).
        config: the parameters (``FusionConfig()`` if None).
    """

    def __init__(self, node: str, config: FusionConfig | None = None) -> None:
        self.node = node
        self.config = config or FusionConfig()
        self._components = np.arange(6 if self.config.gate_velocity else 3)
        self._all_components = self.config.gate_velocity
        self._threshold = gate_threshold(self.config.gate_probability, len(self._components))
        self._next_number = 1
        # source → (its track ids sorted, the fused number each held at that source's last update)
        self._memory: dict[str, tuple[IntArray, IntArray]] = {}
        self.sources: tuple[str, ...] = ()
        self.member_track_id: IntArray = np.zeros((0, 0), dtype=np.int64)

    @property
    def contributors(self) -> BoolArray:
        """``(T, S)`` true where source s contributed to fused track t at the last update."""
        return np.asarray(self.member_track_id >= 0)

    @property
    def source_count(self) -> IntArray:
        """``(T,)`` how many sources contributed to each fused track at the last update."""
        return np.asarray(self.contributors.sum(axis=1), dtype=np.int64)

    def _previous_numbers(self, source: str, track_id: IntArray) -> IntArray:
        """``(T,)`` the fused number each track of ``source`` held at its last update (−1: none)."""
        ids, numbers = self._memory.get(source, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
        if not len(ids):
            return np.full(len(track_id), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, track_id), len(ids) - 1)
        return np.where(ids[at] == track_id, numbers[at], -1).astype(np.int64)

    def _predict(self, time_s: float, track_set: TrackSet) -> tuple[Array, Array]:
        dt = time_s - track_set.time_s
        if np.any(~(dt >= 0.0)):
            row = int(np.flatnonzero(~(dt >= 0.0))[0])
            raise ValueError(f"track set {track_set.source!r}: track {int(track_set.track_id[row])} is "
                             f"valid at {track_set.time_s[row]} s, not at or before the update time "
                             f"{time_s} s (fusion predicts forward only)")
        cfg = self.config
        return constant_velocity_predict(track_set.state, track_set.covariance, dt,
                                         cfg.process_noise_horizontal, cfg.process_noise_vertical)

    def update(self, time_s: float, sets: list[TrackSet]) -> TrackSet:
        """The fused picture at ``time_s`` from ``sets`` (the node's own tracks first, by convention).

        Every set is predicted to ``time_s`` (constant velocity, per-track interval); the sets are
        then taken in order: the tracks of set s are correlated with the picture fused from sets
        0…s−1 (gate on the difference with covariance ``A + B``; pairs that held the same fused
        number at the last update are assigned first while they stay inside the gate, then GNN on
        the rest) and fused with their partners by covariance intersection; the others join the
        picture as new tracks. Remote sets (after the first) enter with their confirmed tracks only
        unless ``remote_confirmed_only`` is off, and only with tracks whose sensor data is at most
        ``max_remote_data_age_s`` old.

        Args:
            time_s: the node's time, seconds; every track's ``time_s`` must be at or before it.
            sets: the track sets, distinct sources; the first is the node's own.

        Returns:
            The fused tracks, ``source`` = the node, ``track_id`` the fused numbers (stable across
            updates, never reused, sorted), all valid at ``time_s``; a fused track is confirmed when
            any contributing track is, and its data time is the newest of its contributors'.
        """
        names = [s.source for s in sets]
        if len(set(names)) != len(names):
            raise ValueError(f"FusedPicture.update: sources repeat in {names}")
        cfg, comp = self.config, self._components
        n_src = len(sets)
        state = np.zeros((0, 6))
        cov = np.zeros((0, 6, 6))
        confirmed = np.zeros(0, dtype=bool)
        data_time = np.zeros(0)
        member = np.zeros((0, n_src), dtype=np.int64)  # index into each set's rows, −1 none
        previous = np.zeros((0, n_src), dtype=np.int64)  # fused number at the last update, −1 none
        used_sets: list[TrackSet] = []
        for s, track_set in enumerate(sets):
            # (a received picture holds confirmed tracks only: the selection is then the set itself)
            if s and cfg.remote_confirmed_only and not track_set.confirmed.all():
                track_set = track_set.select(track_set.confirmed)
            if s and math.isfinite(cfg.max_remote_data_age_s):
                assert track_set.data_time_s is not None
                fresh = time_s - track_set.data_time_s <= cfg.max_remote_data_age_s
                if not fresh.all():
                    track_set = track_set.select(fresh)
            used_sets.append(track_set)
            if not len(track_set):
                continue  # nothing to correlate or add (the source is still remembered, empty)
            data_b = np.asarray(track_set.data_time_s, dtype=np.float64)
            x, p = self._predict(time_s, track_set)
            prev_s = self._previous_numbers(track_set.source, track_set.track_id)
            if not len(state):  # the first tracks of the picture: all new
                new_member = np.full((len(track_set), n_src), -1, dtype=np.int64)
                new_member[:, s] = np.arange(len(track_set))
                new_previous = np.full((len(track_set), n_src), -1, dtype=np.int64)
                new_previous[:, s] = prev_s
                state, cov, confirmed = x, p, track_set.confirmed.copy()
                data_time, member, previous = data_b.copy(), new_member, new_previous
                continue
            if self._all_components:
                pairs = track_pairs(state, cov, x, p, self._threshold)
            else:
                pairs = track_pairs(state[:, comp], cov[:, comp][:, :, comp], x[:, comp],
                                    p[:, comp][:, :, comp], self._threshold)
            # hysteresis: a pair whose tracks held one fused number at the last update is kept
            # while it stays inside the gate, before any new pairing is considered
            prev_b = prev_s[pairs.detection]
            held = (prev_b >= 0) & np.any(previous[pairs.track] == prev_b[:, None], axis=1)
            kept = pairs.subset(held)
            first = global_nearest_neighbour(kept, self._threshold)
            taken_a = np.zeros(len(state), dtype=bool)
            taken_b = np.zeros(len(track_set), dtype=bool)
            taken_a[kept.track[first]] = taken_b[kept.detection[first]] = True
            rest = pairs.subset(~held & ~taken_a[pairs.track] & ~taken_b[pairs.detection])
            second = global_nearest_neighbour(rest, self._threshold)
            a_idx = np.concatenate([kept.track[first], rest.track[second]])
            b_idx = np.concatenate([kept.detection[first], rest.detection[second]])
            if len(a_idx):
                state[a_idx], cov[a_idx], _ = covariance_intersection(
                    state[a_idx], cov[a_idx], x[b_idx], p[b_idx], cfg.criterion)
                confirmed[a_idx] |= track_set.confirmed[b_idx]
                data_time[a_idx] = np.maximum(data_time[a_idx], data_b[b_idx])
                member[a_idx, s] = b_idx
                previous[a_idx, s] = prev_s[b_idx]
            unpaired = np.ones(len(track_set), dtype=bool)
            unpaired[b_idx] = False
            new = np.flatnonzero(unpaired)
            new_member = np.full((len(new), n_src), -1, dtype=np.int64)
            new_member[:, s] = new
            new_previous = np.full((len(new), n_src), -1, dtype=np.int64)
            new_previous[:, s] = prev_s[new]
            state = np.concatenate([state, x[new]])
            cov = np.concatenate([cov, p[new]])
            confirmed = np.concatenate([confirmed, track_set.confirmed[new]])
            data_time = np.concatenate([data_time, data_b[new]])
            member = np.concatenate([member, new_member])
            previous = np.concatenate([previous, new_previous])

        numbers = self._number(previous)
        order = np.argsort(numbers, kind="stable")
        numbers, state, cov, confirmed = numbers[order], state[order], cov[order], confirmed[order]
        data_time = data_time[order]
        member = member[order]
        member_id = np.full(member.shape, -1, dtype=np.int64)
        for s, track_set in enumerate(used_sets):
            has = member[:, s] >= 0
            member_id[has, s] = track_set.track_id[member[has, s]]
            # remember this source's tracks only when it was present, so a link that drops out
            # for a while finds its numbers again
            ids = member_id[has, s]
            sort = np.argsort(ids)
            self._memory[track_set.source] = (ids[sort], numbers[has][sort])
        self.sources = tuple(names)
        self.member_track_id = member_id
        return TrackSet.trusted(self.node, numbers, np.full(len(numbers), float(time_s)), state, cov,
                                confirmed, data_time)

    def _number(self, previous: IntArray) -> IntArray:
        """``(F,)`` fused numbers: inherited from the last update where possible, else new.

        A row claims the numbers its members held (``previous``, ``(F, S)``, −1 none). Each number
        goes to the claim of the earliest source (the node's own first), then of the lowest row;
        a row that wins several keeps the one claimed by its earliest source (then the lowest
        number). Rows left without a number try their remaining claims in further rounds; rows with
        none get new numbers, in row order. Deterministic, and a number is never held twice.
        """
        n_rows = len(previous)
        number = np.full(n_rows, -1, dtype=np.int64)
        row, src = np.nonzero(previous >= 0)
        claim = previous[row, src]
        while len(row):
            by_number = np.lexsort((row, src, claim))
            r, s, c = row[by_number], src[by_number], claim[by_number]
            win = np.r_[True, c[1:] != c[:-1]]
            r, s, c = r[win], s[win], c[win]
            by_row = np.lexsort((c, s, r))
            r, c = r[by_row], c[by_row]
            best = np.r_[True, r[1:] != r[:-1]]
            number[r[best]] = c[best]
            open_claim = (number[row] < 0) & ~np.isin(claim, c[best])
            row, src, claim = row[open_claim], src[open_claim], claim[open_claim]
        fresh = number < 0
        number[fresh] = self._next_number + np.arange(int(fresh.sum()), dtype=np.int64)
        self._next_number += int(fresh.sum())
        return number
