"""A batched multi-target tracker: EKF (constant velocity, or an IMM of constant velocity and a
coordinated turn; polar measurements), gating, GNN, velocity-gated two-point initiation, M-of-N
confirmation.

All tracks are held as arrays (``TrackArrays``), and the single detections waiting to start tracks
as ``Candidates``; a scan (the detections of one sensor at one time) is processed with array
operations over all tracks and detections, with Python loops only over scans and over multi-track
clusters of the assignment. Models and formulas: docs/models/tracking.md;
the tables: docs/tracking-io.md.

Frame: a local east-north-up frame tangent to the WGS84 ellipsoid at the origin (the centroid of
the sensors unless given), height 0. Sensor positions and the rotation of each sensor's own ENU
frame into it are exact (via ECEF), so the measurement function has no flat-earth error; the
constant-velocity model is straight in this frame, which departs from constant-altitude flight by
the curvature (see the docs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.constants import EARTH_RADIUS_M
from iadsim.geo.frames import ecef_to_enu, enu_rotation, enu_rotations, enu_to_ecef
from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.scenario.schema import TrackingSettings, default_tracking_settings
from iadsim.tracking import imm
from iadsim.tracking.association import gate, gate_threshold, global_nearest_neighbour, speed_gate
from iadsim.tracking.filters import (
    constant_velocity_predict,
    extended_kalman_update,
    polar_measurement,
    polar_to_cartesian,
    wrap_angle,
)
from iadsim.tracking.io import TRACK_SCHEMA, Detections, TrackingInputError, validate_detections

__all__ = ["Candidates", "Scan", "TrackArrays", "Tracker", "TrackerConfig", "scans_of", "track_detections"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


_DEFAULT = default_tracking_settings()
"""The reference data's tracking settings (``data/reference/tracking.yaml``): the defaults below."""


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's parameters. Defaults are the model conventions of the reference data's
    ``tracking:`` settings (``data/reference/tracking.yaml``, docs/models/tracking.md); the IMM's
    and ``max_coast_s`` are options of their own.

    Attributes:
        process_noise_horizontal: white-acceleration spectral density q on east and north, m²/s³.
        process_noise_vertical: the same on up, m²/s³.
        gate_probability: probability mass inside the chi-square gate (per measurement dimension);
            also sets the measurement-error allowance of the initiation speed gate.
        max_speed_mps: the fastest target speed, m/s: a detection left over by the tracks becomes a
            candidate, and a candidate becomes a tentative track only with a detection at one of its
            next opportunities whose implied horizontal speed is at most this (two-point initiation).
        candidate_misses: the opportunities a candidate may miss before its second detection (0: the
            second must come at its next opportunity); it is dropped at the one after.
        confirm_hits: M of M-of-N: detections needed, after the two initiating ones, to confirm a
            tentative track (0 confirms it at initiation).
        confirm_window: N of M-of-N: a tentative track has this many opportunities after its
            initiation to collect M hits.
        delete_misses: K: a confirmed track is deleted after K consecutive missed opportunities.
        max_position_std_m: a track is deleted when its horizontal position standard deviation
            (√ of the largest eigenvalue of the east–north block) exceeds this, metres.
        initial_speed_std_mps: the standard deviation of each horizontal velocity component of the
            prior (mean zero) that a candidate's second detection updates into a track, m/s.
        initial_vertical_speed_std_mps: the same for the vertical velocity, m/s.
        prior_altitude_m: the altitude at which a 2D radar's detection is placed, metres.
        prior_altitude_std_m: its standard deviation, metres.
        altitude_known_std_m: ``alt_m`` is reported only for a track a 3D report has updated, and
            only while its altitude standard deviation is below this, metres.
        coverage_margin: a scan is an opportunity to detect a track when the track's predicted range
            from the sensor is at most this factor times the longest range the sensor reports in the
            input (its apparent coverage).
        two_stage_assignment: assign detections to confirmed tracks first, then the remaining
            detections to tentative tracks.
        report_covariance: add ``vel_up_mps`` and the 21 ``cov_*`` columns of the state covariance
            (ENU frame at the track) to TRACKS (docs/models/tracking.md); off by default.
        motion_model: ``"cv"`` constant velocity, or ``"imm"``: an interacting multiple model of
            constant velocity and a coordinated turn (docs/models/tracking.md, "IMM"); the
            parameters below apply to ``"imm"`` only.
        imm_cv_sojourn_s: mean time in the CV mode before switching to the CT mode, seconds
            (``p_CV,CV = exp(−Δt/τ)`` over a scan interval Δt).
        imm_ct_sojourn_s: the same for the CT mode, seconds.
        ct_process_noise_horizontal: the CT mode's white-acceleration spectral density on east and
            north, m²/s³ (its vertical one is ``process_noise_vertical``).
        turn_rate_noise: the CT mode's turn-rate random-walk spectral density, rad²/s³.
        initial_turn_rate_std_radps: σ_ω, the standard deviation (mean 0) of the turn rate at the
            onset of a turn — a new track's CT mode, and a switch from CV to CT — rad/s.
        max_coast_s: a confirmed or tentative track no detection has updated for longer than this is
            deleted, seconds (default: no limit; deletion by misses and vagueness only), and so is a
            candidate older than this (only its own sensor's scans are its opportunities, and a
            sensor that stopped reporting gives none). Detections tables list detections, not
            scans: a scan that saw nothing is no opportunity, so a track of an object that vanished
            (destroyed, landed) may coast for minutes without it.
    """

    process_noise_horizontal: float = _DEFAULT.process_noise_horizontal_m2ps3
    process_noise_vertical: float = _DEFAULT.process_noise_vertical_m2ps3
    gate_probability: float = _DEFAULT.gate_probability
    confirm_hits: int = _DEFAULT.confirm_hits
    confirm_window: int = _DEFAULT.confirm_window
    delete_misses: int = _DEFAULT.delete_misses
    max_position_std_m: float = _DEFAULT.max_position_std_m
    initial_speed_std_mps: float = _DEFAULT.initial_speed_std_mps
    initial_vertical_speed_std_mps: float = _DEFAULT.initial_vertical_speed_std_mps
    prior_altitude_m: float = _DEFAULT.prior_altitude_m
    prior_altitude_std_m: float = _DEFAULT.prior_altitude_std_m
    altitude_known_std_m: float = _DEFAULT.altitude_known_std_m
    coverage_margin: float = _DEFAULT.coverage_margin
    two_stage_assignment: bool = True
    max_speed_mps: float = _DEFAULT.max_speed_mps
    candidate_misses: int = _DEFAULT.candidate_misses
    report_covariance: bool = False
    motion_model: Literal["cv", "imm"] = "cv"
    imm_cv_sojourn_s: float = 50.0
    imm_ct_sojourn_s: float = 20.0
    ct_process_noise_horizontal: float = 1.0
    turn_rate_noise: float = 1e-3
    initial_turn_rate_std_radps: float = 0.1
    max_coast_s: float = math.inf

    @classmethod
    def from_settings(cls, settings: TrackingSettings, **options: Any) -> TrackerConfig:
        """The configuration of a scenario's ``tracking:`` settings, plus ``options`` (other fields)."""
        s = settings
        return cls(process_noise_horizontal=s.process_noise_horizontal_m2ps3,
                   process_noise_vertical=s.process_noise_vertical_m2ps3,
                   gate_probability=s.gate_probability, confirm_hits=s.confirm_hits,
                   confirm_window=s.confirm_window, delete_misses=s.delete_misses,
                   max_position_std_m=s.max_position_std_m, initial_speed_std_mps=s.initial_speed_std_mps,
                   initial_vertical_speed_std_mps=s.initial_vertical_speed_std_mps,
                   prior_altitude_m=s.prior_altitude_m, prior_altitude_std_m=s.prior_altitude_std_m,
                   altitude_known_std_m=s.altitude_known_std_m, coverage_margin=s.coverage_margin,
                   max_speed_mps=s.max_speed_mps, candidate_misses=s.candidate_misses, **options)

    def __post_init__(self) -> None:
        checks = {
            "process_noise_horizontal": self.process_noise_horizontal >= 0.0,
            "process_noise_vertical": self.process_noise_vertical >= 0.0,
            "gate_probability": 0.0 < self.gate_probability < 1.0,
            "confirm_hits": 0 <= self.confirm_hits <= self.confirm_window,
            "confirm_window": 1 <= self.confirm_window <= 62,
            "delete_misses": self.delete_misses >= 1,
            "max_position_std_m": self.max_position_std_m > 0.0,
            "initial_speed_std_mps": self.initial_speed_std_mps > 0.0,
            "initial_vertical_speed_std_mps": self.initial_vertical_speed_std_mps > 0.0,
            "prior_altitude_m": math.isfinite(self.prior_altitude_m),
            "prior_altitude_std_m": self.prior_altitude_std_m > 0.0,
            "altitude_known_std_m": self.altitude_known_std_m > 0.0,
            "coverage_margin": self.coverage_margin > 0.0,
            "max_speed_mps": self.max_speed_mps > 0.0,
            "candidate_misses": self.candidate_misses >= 0,
            "motion_model": self.motion_model in ("cv", "imm"),
            "imm_cv_sojourn_s": self.imm_cv_sojourn_s > 0.0,
            "imm_ct_sojourn_s": self.imm_ct_sojourn_s > 0.0,
            "ct_process_noise_horizontal": self.ct_process_noise_horizontal >= 0.0,
            "turn_rate_noise": self.turn_rate_noise >= 0.0,
            "initial_turn_rate_std_radps": self.initial_turn_rate_std_radps > 0.0,
            "max_coast_s": self.max_coast_s > 0.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"TrackerConfig: invalid {', '.join(bad)} (see its docstring)")


INITIATION_HITS = 2
"""A tentative track is born from two detections (a candidate and its velocity-gated successor)."""

VERTICAL = np.array([False, False, True, False, False, True, False])
"""The state components ``u, vu``: considered, not estimated, by a 2D report on a track no 3D report
has updated (its altitude is the prior; docs/models/tracking.md); the 7th, the IMM's turn rate, is not."""


@dataclass
class TrackArrays:
    """All live tracks of a tracker as parallel arrays of T rows (struct of arrays).

    Attributes:
        track_id: ``(T,)`` stable identifiers, increasing in order of birth.
        state: ``(T, 6)`` ``[e, n, u, ve, vn, vu]``, m and m/s in the local frame.
        covariance: ``(T, 6, 6)``.
        confirmed: ``(T,)``.
        history: ``(T,)`` bit i set when the i-th latest opportunity had a detection.
        opportunities: ``(T,)`` opportunities since the first detection (the two initiating
            detections count as two).
        hits: ``(T,)`` detections since the first (the two initiating ones included).
        misses: ``(T,)`` consecutive missed opportunities.
        last_sensor: ``(T,)`` code of the sensor that last detected the track; only its scans
            count as opportunities, so a radar that cannot see a low flier (horizon, terrain) does
            not wear the track down while another radar holds it.
        has_3d: ``(T,)`` True once a 3D report (with elevation) has updated or started the track;
            until then its altitude is the 2D prior, considered but not estimated, and not reported.
        mode_state: ``(T, M, 7)`` the IMM's mode states ``[e, n, u, ve, vn, vu, ω]`` (M = 2, CV and
            CT; M = 0 with the CV motion model, where ``state`` is the only estimate).
        mode_covariance: ``(T, M, 7, 7)``. mode_probability: ``(T, M)``.
        last_hit_s: ``(T,)`` the time of the latest detection that updated the track, seconds.
    """

    track_id: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    state: Array = field(default_factory=lambda: np.zeros((0, 6)))
    covariance: Array = field(default_factory=lambda: np.zeros((0, 6, 6)))
    confirmed: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    history: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    opportunities: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hits: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    misses: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_sensor: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    has_3d: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    mode_state: Array = field(default_factory=lambda: np.zeros((0, 0, imm.STATE_DIM)))
    mode_covariance: Array = field(default_factory=lambda: np.zeros((0, 0, imm.STATE_DIM, imm.STATE_DIM)))
    mode_probability: Array = field(default_factory=lambda: np.zeros((0, 0)))
    last_hit_s: Array = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.track_id)

    def select(self, keep: BoolArray | IntArray) -> TrackArrays:
        """The tracks at ``keep`` (a mask or indices)."""
        return TrackArrays(*(a[keep] for a in self._columns()))

    def extend(self, other: TrackArrays) -> TrackArrays:
        """These tracks followed by ``other``'s."""
        return TrackArrays(*(np.concatenate([a, b]) for a, b in zip(self._columns(), other._columns(),
                                                                     strict=True)))

    def _columns(self) -> tuple[NDArray[Any], ...]:
        return (self.track_id, self.state, self.covariance, self.confirmed, self.history,
                self.opportunities, self.hits, self.misses, self.last_sensor, self.has_3d,
                self.mode_state, self.mode_covariance, self.mode_probability, self.last_hit_s)


@dataclass
class Candidates:
    """Single detections waiting for a second one to start a track, as C parallel rows.

    Attributes:
        position: ``(C, 3)`` local-frame metres (a 2D detection at the prior altitude).
        covariance: ``(C, 3, 3)`` m². time_s: ``(C,)`` the detection time, seconds.
        three_d: ``(C,)`` True for a 3D report (its altitude is measured, not the prior).
        misses: ``(C,)`` opportunities the candidate has had without a second detection; only
            scans of the sensor that made the detection count (as for a track's ``last_sensor``),
            so another radar that cannot see a low flier does not drop it before its own radar
            looks again.
        sensor: ``(C,)`` the code of the sensor that made the detection.
    """

    position: Array = field(default_factory=lambda: np.zeros((0, 3)))
    covariance: Array = field(default_factory=lambda: np.zeros((0, 3, 3)))
    time_s: Array = field(default_factory=lambda: np.zeros(0))
    three_d: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    misses: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sensor: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.time_s)

    def select(self, keep: BoolArray | IntArray) -> Candidates:
        """The candidates at ``keep`` (a mask or indices)."""
        return Candidates(self.position[keep], self.covariance[keep], self.time_s[keep], self.three_d[keep],
                          self.misses[keep], self.sensor[keep])


@dataclass(frozen=True)
class Scan:
    """The detections of one sensor at one time, k = 3 (3D rows) or 2 (2D rows), M rows, SI units.

    Attributes:
        time_s: seconds. sensor: the sensor's integer code. position: ``(3,)`` local-frame metres.
        rotation: ``(3, 3)`` local-frame vectors to the sensor's ENU frame.
        measurements: ``(M, k)`` range m, azimuth rad[, elevation rad].
        variances: ``(M, k)`` m², rad²[, rad²]. max_range_m: the sensor's apparent coverage, metres.
        rows: ``(M,)`` the rows of the DETECTIONS table the measurements came from (empty when the
            scan was built by hand), so a caller can tell which object each one saw.
    """

    time_s: float
    sensor: int
    position: Array
    rotation: Array
    measurements: Array
    variances: Array
    max_range_m: float
    rows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def without(self, drop: BoolArray) -> Scan:
        """This scan without the measurements at ``drop`` (``(M,)``)."""
        keep = ~drop
        return Scan(self.time_s, self.sensor, self.position, self.rotation, self.measurements[keep],
                    self.variances[keep], self.max_range_m,
                    self.rows[keep] if len(self.rows) else self.rows)


class Tracker:
    """A multi-target tracker holding its tracks as arrays; feed it scans in time order.

    ``tracks`` holds the live (tentative and confirmed) tracks, with their states and covariances in
    the local frame; ``candidates`` the single detections that may yet start tracks.

    Args:
        config: the parameters (``TrackerConfig()`` if None).
        origin_lat_deg, origin_lon_deg: the local frame's origin (height 0 on the ellipsoid).
    """

    def __init__(self, config: TrackerConfig, origin_lat_deg: float, origin_lon_deg: float) -> None:
        self.config = config
        self.origin = (origin_lat_deg, origin_lon_deg)
        self.tracks = TrackArrays()
        if config.motion_model == "imm":
            self.tracks.mode_state = np.zeros((0, imm.MODES, imm.STATE_DIM))
            self.tracks.mode_covariance = np.zeros((0, imm.MODES, imm.STATE_DIM, imm.STATE_DIM))
            self.tracks.mode_probability = np.zeros((0, imm.MODES))
        self.candidates = Candidates()
        self.time_s: float | None = None
        self._next_id = 1
        self._window_mask = (1 << config.confirm_window) - 1
        self._gates = {k: gate_threshold(config.gate_probability, k) for k in (2, 3)}
        self._kappa = float(np.sqrt(gate_threshold(config.gate_probability, 1)))
        self._sojourn = (config.imm_cv_sojourn_s, config.imm_ct_sojourn_s)

    # -- prediction --------------------------------------------------------------------------------
    def predict_to(self, time_s: float) -> None:
        """Predict every track to ``time_s`` (seconds, not earlier than the tracker's time)."""
        if self.time_s is not None and time_s < self.time_s:
            raise ValueError(f"scan at {time_s} s is earlier than the tracker's time {self.time_s} s")
        dt = 0.0 if self.time_s is None else time_s - self.time_s
        t, cfg = self.tracks, self.config
        if dt == 0.0:  # another scan at the same time: nothing moves
            self.time_s = time_s
            return
        if cfg.motion_model == "imm":
            if dt > 0.0 and len(t):
                t.mode_state, t.mode_covariance, t.mode_probability = imm.imm_predict(
                    t.mode_state, t.mode_covariance, t.mode_probability, dt, self._sojourn,
                    cfg.process_noise_horizontal, cfg.process_noise_vertical,
                    cfg.ct_process_noise_horizontal, cfg.turn_rate_noise, cfg.initial_turn_rate_std_radps)
                t.state, t.covariance = imm.combine(t.mode_state, t.mode_covariance, t.mode_probability)
        else:
            t.state, t.covariance = constant_velocity_predict(
                t.state, t.covariance, dt, cfg.process_noise_horizontal, cfg.process_noise_vertical)
        self.time_s = time_s

    def expire(self, time_s: float) -> None:
        """Delete the tracks no detection has updated, and the candidates made, more than
        ``max_coast_s`` before ``time_s`` (seconds): for a tracker whose sensors stopped reporting,
        which ``process_scan`` never sees."""
        limit = self.config.max_coast_s
        if math.isfinite(limit) and len(self.tracks):
            self.tracks = self.tracks.select(time_s - self.tracks.last_hit_s <= limit)
        if math.isfinite(limit) and len(self.candidates):
            self.candidates = self.candidates.select(time_s - self.candidates.time_s <= limit)

    # -- one scan ------------------------------------------------------------------------------------
    def process_scan(self, scan: Scan) -> None:
        """Predict to the scan, gate, assign (GNN on clusters), update, initiate and delete tracks."""
        self.predict_to(scan.time_s)
        cfg, tracks = self.config, self.tracks
        k = scan.measurements.shape[1]
        threshold = self._gates[k]
        n_tracks, n_dets = len(tracks), len(scan.measurements)

        predicted, matrix = polar_measurement(tracks.state[:, :3], scan.position, scan.rotation, k)
        hph = matrix @ tracks.covariance @ np.swapaxes(matrix, 1, 2)
        pairs = gate(predicted, hph, scan.measurements, scan.variances, threshold)

        assigned_track = np.zeros(0, dtype=np.int64)
        assigned_det = np.zeros(0, dtype=np.int64)
        innovations = np.zeros((0, k))
        stages = ([tracks.confirmed, ~tracks.confirmed] if cfg.two_stage_assignment
                  else [np.ones(n_tracks, dtype=bool)])
        used_det = np.zeros(n_dets, dtype=bool)
        for stage in stages if len(pairs.track) else ():
            sub = pairs.subset(stage[pairs.track] & ~used_det[pairs.detection])
            chosen = global_nearest_neighbour(sub, threshold)
            assigned_track = np.concatenate([assigned_track, sub.track[chosen]])
            assigned_det = np.concatenate([assigned_det, sub.detection[chosen]])
            innovations = np.concatenate([innovations, sub.innovation[chosen]])
            used_det[sub.detection[chosen]] = True

        # EKF update of the assigned tracks, all at once; a 2D report leaves the altitude of a track
        # no 3D report has updated at its prior (Schmidt–Kalman consider update)
        if len(assigned_track):
            noise = scan.variances[assigned_det][:, :, None] * np.eye(k)
            fixed = self._prior_altitude_mask(k, tracks.has_3d[assigned_track])
            if cfg.motion_model == "imm":
                # each mode linearised at its own prediction; gating used the combined one
                x, p, mu = imm.imm_update(
                    tracks.mode_state[assigned_track], tracks.mode_covariance[assigned_track],
                    tracks.mode_probability[assigned_track], scan.measurements[assigned_det], noise,
                    scan.position, scan.rotation, fixed)
                tracks.mode_state[assigned_track], tracks.mode_covariance[assigned_track] = x, p
                tracks.mode_probability[assigned_track] = mu
                state, cov = imm.combine(x, p, mu)
            else:
                state, cov = extended_kalman_update(tracks.state[assigned_track],
                                                    tracks.covariance[assigned_track], innovations,
                                                    matrix[assigned_track], noise,
                                                    None if fixed is None else fixed[:, :6])
            tracks.state[assigned_track], tracks.covariance[assigned_track] = state, cov
            tracks.has_3d[assigned_track] |= k == 3

        # bookkeeping: opportunities, hits, misses, M-of-N after initiation, quality history
        hit = np.zeros(n_tracks, dtype=bool)
        hit[assigned_track] = True
        opportunity = hit | ((tracks.last_sensor == scan.sensor)
                             & (predicted[:, 0] <= cfg.coverage_margin * scan.max_range_m))
        tracks.last_sensor = np.where(hit, scan.sensor, tracks.last_sensor)
        tracks.last_hit_s = np.where(hit, scan.time_s, tracks.last_hit_s)
        tracks.history = np.where(opportunity, ((tracks.history << 1) | hit) & self._window_mask,
                                  tracks.history)
        tracks.opportunities += opportunity
        tracks.hits += hit
        tracks.misses = np.where(hit, 0, tracks.misses + opportunity)
        tracks.confirmed |= (~tracks.confirmed & (tracks.hits - INITIATION_HITS >= cfg.confirm_hits)
                             & (tracks.opportunities - INITIATION_HITS <= cfg.confirm_window))

        # deletion
        horizontal = tracks.covariance[:, :2, :2]
        half_trace = 0.5 * (horizontal[:, 0, 0] + horizontal[:, 1, 1])
        det = horizontal[:, 0, 0] * horizontal[:, 1, 1] - horizontal[:, 0, 1] ** 2
        largest = half_trace + np.sqrt(np.maximum(half_trace**2 - det, 0.0))
        too_vague = largest > cfg.max_position_std_m**2
        lost = tracks.confirmed & (tracks.misses >= cfg.delete_misses)
        # a radar scan without any detection leaves no record, so it is no opportunity; the time
        # limit drops a track that no detection has updated however few opportunities it had
        lost |= scan.time_s - tracks.last_hit_s > cfg.max_coast_s
        hopeless = ~tracks.confirmed & (tracks.opportunities - tracks.hits
                                        > cfg.confirm_window - cfg.confirm_hits)
        drop = too_vague | lost | hopeless
        self.tracks = tracks.select(~drop) if drop.any() else tracks

        # initiation from the detections no track took
        free = np.flatnonzero(~used_det)
        if len(free) or len(self.candidates):
            self._initiate(scan, free)

    def _initiate(self, scan: Scan, free: IntArray) -> None:
        """Pair candidates with free detections by speed, start tracks, renew the candidates.

        A candidate whose opportunity this scan is (a later scan of the sensor that made its
        detection, within that sensor's coverage) either becomes a tentative track with a
        detection through the speed gate or is dropped; free detections no candidate took become
        candidates.
        """
        cfg, cand = self.config, self.candidates
        if math.isfinite(cfg.max_coast_s) and len(cand):  # too old to start anything
            cand = cand.select(scan.time_s - cand.time_s <= cfg.max_coast_s)
        points, point_cov = self._to_cartesian(scan, free)
        elapsed = scan.time_s - cand.time_s
        pairs = speed_gate(cand.position, cand.covariance, elapsed, points, point_cov,
                           cfg.max_speed_mps, self._kappa)
        chosen = global_nearest_neighbour(pairs, 1.0)
        c_idx, d_idx = pairs.track[chosen], pairs.detection[chosen]
        if len(c_idx):
            self.tracks = self.tracks.extend(self._two_point_tracks(scan, cand.select(c_idx),
                                                                    free[d_idx], points[d_idx]))
        in_reach = ((cand.sensor == scan.sensor)
                    & (np.linalg.norm(cand.position - scan.position, axis=1)
                       <= cfg.coverage_margin * scan.max_range_m))
        missed = cand.misses + ((elapsed > 0.0) & in_reach)
        spent = missed > cfg.candidate_misses
        spent[c_idx] = True
        fresh = np.ones(len(free), dtype=bool)
        fresh[d_idx] = False
        n_fresh = int(fresh.sum())
        self.candidates = Candidates(
            np.concatenate([cand.position[~spent], points[fresh]]),
            np.concatenate([cand.covariance[~spent], point_cov[fresh]]),
            np.concatenate([cand.time_s[~spent], np.full(n_fresh, scan.time_s)]),
            np.concatenate([cand.three_d[~spent], np.full(n_fresh, scan.measurements.shape[1] == 3)]),
            np.concatenate([missed[~spent], np.zeros(n_fresh, dtype=np.int64)]),
            np.concatenate([cand.sensor[~spent], np.full(n_fresh, scan.sensor, dtype=np.int64)]))

    def _two_point_tracks(self, scan: Scan, cand: Candidates, rows: IntArray,
                          points: Array) -> TrackArrays:
        """Tentative tracks from candidates and their second detections ``rows`` of the scan.

        The prior at each candidate's time is its position with a zero-mean velocity (standard
        deviations ``initial_speed_std_mps`` horizontally, ``initial_vertical_speed_std_mps``
        vertically); it is predicted to the scan and updated by the detection with the EKF
        linearised at the detection's own Cartesian position (one iterated-EKF step from there),
        since the zero-velocity prediction may lie kilometres from it.
        """
        cfg = self.config
        n = len(cand)
        k = scan.measurements.shape[1]
        has_3d = cand.three_d | (k == 3)
        state = np.zeros((n, 6))
        state[:, :3] = cand.position
        cov = np.zeros((n, 6, 6))
        cov[:, :3, :3] = cand.covariance
        cov[:, 3, 3] = cov[:, 4, 4] = cfg.initial_speed_std_mps**2
        cov[:, 5, 5] = cfg.initial_vertical_speed_std_mps**2
        state, cov = constant_velocity_predict(state, cov, scan.time_s - cand.time_s,
                                               cfg.process_noise_horizontal, cfg.process_noise_vertical)
        if k == 2:
            # linearise at the 2D report placed at the predicted altitude, not the prior's: when the
            # candidate came from a 3D report, the prior may be kilometres off its measured altitude
            altitude = np.linalg.norm(state[:, :3] + np.array([0.0, 0.0, EARTH_RADIUS_M]), axis=1)
            points = self._to_cartesian(scan, rows, altitude - EARTH_RADIUS_M)[0]
        z_bar, matrix = polar_measurement(points, scan.position, scan.rotation, k)
        innovation = scan.measurements[rows] - z_bar
        innovation[:, 1] = wrap_angle(innovation[:, 1])
        innovation += np.einsum("tkj,tj->tk", matrix[:, :, :3], points - state[:, :3])
        noise = scan.variances[rows][:, :, None] * np.eye(k)
        fixed = self._prior_altitude_mask(k, has_3d)
        state, cov = extended_kalman_update(state, cov, innovation, matrix, noise,
                                            None if fixed is None else fixed[:, :6])
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        two = np.full(n, INITIATION_HITS, dtype=np.int64)
        if cfg.motion_model == "imm":
            modes = imm.initial_modes(state, cov, cfg.initial_turn_rate_std_radps, self._sojourn)
        else:
            modes = (np.zeros((n, 0, imm.STATE_DIM)), np.zeros((n, 0, imm.STATE_DIM, imm.STATE_DIM)),
                     np.zeros((n, 0)))
        return TrackArrays(ids, state, cov, np.full(n, cfg.confirm_hits == 0),
                           np.full(n, (1 << INITIATION_HITS) - 1, dtype=np.int64) & self._window_mask,
                           two, two.copy(), np.zeros(n, dtype=np.int64),
                           np.full(n, scan.sensor, dtype=np.int64), has_3d, *modes, np.full(n, scan.time_s))

    @staticmethod
    def _prior_altitude_mask(dims: int, has_3d: BoolArray) -> NDArray[np.bool_] | None:
        """``(P, 7)`` the components a ``dims``-D report must not update: ``u, vu`` of 2D-only tracks.

        Seven columns (the IMM's mode state); the CV filter takes the first six.
        """
        if dims == 3:
            return None
        return np.asarray(~has_3d[:, None] & VERTICAL[None, :])

    def _to_cartesian(self, scan: Scan, rows: IntArray,
                      altitude_m: Array | float | None = None) -> tuple[Array, Array]:
        """Local-frame positions ``(M, 3)`` and covariances ``(M, 3, 3)`` of the detections ``rows``.

        A 2D detection is placed at ``altitude_m`` (``(M,)`` or one value, metres above the spherical
        earth; ``prior_altitude_m`` if None) — at its elevation on a spherical earth — with the
        prior's uncertainty along the range sphere.
        """
        cfg = self.config
        z, var = scan.measurements[rows], scan.variances[rows]
        if z.shape[1] == 2:
            # a 2D radar: elevation of the given altitude at this slant range (spherical earth)
            r = z[:, 0]
            origin_up = EARTH_RADIUS_M + self._sensor_altitude(scan)
            target = EARTH_RADIUS_M + (cfg.prior_altitude_m if altitude_m is None else altitude_m)
            sin_el = (target**2 - origin_up**2 - r**2) / (2.0 * r * origin_up)
            el = np.arcsin(np.clip(sin_el, -0.2, 0.95))
            el_std = np.minimum(cfg.prior_altitude_std_m / (r * np.cos(el)), 0.5)
            z = np.column_stack([z, el])
            var = np.column_stack([var, el_std**2])
        return polar_to_cartesian(z, var, scan.position, scan.rotation)

    def _sensor_altitude(self, scan: Scan) -> float:
        """The sensor's height above the spherical earth of the local frame (its ``u`` plus the drop)."""
        p = scan.position
        return float(np.linalg.norm(p + np.array([0.0, 0.0, EARTH_RADIUS_M])) - EARTH_RADIUS_M)

    # -- reporting ------------------------------------------------------------------------------------
    def altitude_std_m(self) -> Array:
        """``(T,)`` each track's altitude standard deviation along its local vertical (spherical earth), m."""
        p = self.tracks.state[:, :3]
        up = p + np.array([0.0, 0.0, EARTH_RADIUS_M])
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        var = np.einsum("ti,tij,tj->t", up, self.tracks.covariance[:, :3, :3], up)
        return np.asarray(np.sqrt(np.maximum(var, 0.0)))

    def quality(self) -> Array:
        """``(T,)`` share of the last min(N, opportunities) opportunities with a detection, in [0, 1]."""
        window = np.minimum(self.tracks.opportunities, self.config.confirm_window)
        return np.asarray(np.bitwise_count(self.tracks.history) / np.maximum(window, 1), dtype=np.float64)


def scans_of(det: Detections, origin: tuple[float, float], coverage: Array) -> list[Scan]:
    """The detections split into scans (time, sensor, 2D/3D), in time order, in the local frame."""
    three = det.three_d
    order = np.lexsort((~three, det.sensor, det.time_s))
    t, s, d3 = det.time_s[order], det.sensor[order], three[order]
    change = np.flatnonzero((t[1:] != t[:-1]) | (s[1:] != s[:-1]) | (d3[1:] != d3[:-1])) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    first = order[starts]
    lat0, lon0 = origin
    sensor_ecef = geodetic_to_ecef(det.sensor_lat_deg[first], det.sensor_lon_deg[first],
                                   det.sensor_alt_m[first])
    positions = ecef_to_enu(sensor_ecef, lat0, lon0)
    rotations = (enu_rotations(det.sensor_lat_deg[first], det.sensor_lon_deg[first])
                 @ enu_rotation(lat0, lon0).T)
    meas3 = np.column_stack([det.range_m, det.azimuth_rad, det.elevation_rad])
    var3 = np.column_stack([det.sigma_range_m, det.sigma_azimuth_rad, det.sigma_elevation_rad]) ** 2
    scans = []
    for i, rows in enumerate(np.split(order, starts[1:])):
        k = 3 if d3[starts[i]] else 2
        scans.append(Scan(float(t[starts[i]]), int(s[starts[i]]), positions[i], rotations[i],
                          meas3[rows, :k], var3[rows, :k], float(coverage[s[starts[i]]]),
                          rows.astype(np.int64)))
    return scans


def track_detections(detections: pa.Table, config: TrackerConfig | None = None,
                     origin: tuple[float, float] | None = None) -> pa.Table:
    """Track a DETECTIONS table; return the TRACKS table (docs/tracking-io.md).

    Args:
        detections: the DETECTIONS columns (extra columns are ignored), rows in any order.
        config: the tracker's parameters; ``TrackerConfig()`` if None.
        origin: (lat_deg, lon_deg) of the local frame; the mean of the distinct sensor positions if None.

    Returns:
        One row per live track (tentative and confirmed) per distinct detection time, after all
        scans at that time: ``time_s, track_id, lat_deg, lon_deg, alt_m`` (null until a 3D report
        has updated the track, and while the altitude standard deviation exceeds
        ``altitude_known_std_m``), ``vel_east_mps, vel_north_mps`` (in the ENU frame at the track's
        position), ``confirmed, quality, alt_std_m`` (the altitude's standard deviation along the
        local vertical, m: the filter's, or for a 2D-only track the prior's as the updates left it);
        sorted by time then track id.
        With ``config.report_covariance`` also ``vel_up_mps`` and the state covariance (the 21
        ``COVARIANCE_COLUMNS``, ENU frame at the track's position, m², m²/s, m²/s²).
        Candidates (single detections not yet paired into a track) are not reported.

    Raises:
        TrackingInputError: the table is not valid DETECTIONS (the message names the column and row).
    """
    config = config or TrackerConfig()
    det = validate_detections(detections)
    if origin is None:
        if not len(det.time_s):
            return _empty_tracks(config)
        sites = np.unique(np.column_stack([det.sensor_lat_deg, det.sensor_lon_deg]), axis=0)
        # the centroid on the sphere, back to lat/lon
        ecef = geodetic_to_ecef(sites[:, 0], sites[:, 1], 0.0).mean(axis=0)
        origin = (float(np.degrees(np.arctan2(ecef[2], np.hypot(ecef[0], ecef[1])))),
                  float(np.degrees(np.arctan2(ecef[1], ecef[0]))))
    elif not (abs(origin[0]) <= 90.0 and np.isfinite(origin[1])):
        raise TrackingInputError(f"origin {origin}: latitude must be within ±90 and longitude finite")
    coverage = np.zeros(len(det.sensor_ids))
    np.maximum.at(coverage, det.sensor, det.range_m)
    tracker = Tracker(config, *origin)

    out_time: list[Array] = []
    out_ids: list[IntArray] = []
    out_state: list[Array] = []
    out_alt_std: list[Array] = []
    out_has_3d: list[BoolArray] = []
    out_conf: list[BoolArray] = []
    out_quality: list[Array] = []
    out_cov: list[Array] = []
    scans = scans_of(det, origin, coverage)
    for i, scan in enumerate(scans):
        tracker.process_scan(scan)
        if i + 1 == len(scans) or scans[i + 1].time_s != scan.time_s:
            t = tracker.tracks
            out_time.append(np.full(len(t), scan.time_s))
            out_ids.append(t.track_id.copy())
            out_state.append(t.state.copy())
            out_alt_std.append(tracker.altitude_std_m())
            out_has_3d.append(t.has_3d.copy())
            out_conf.append(t.confirmed.copy())
            out_quality.append(tracker.quality())
            if config.report_covariance:
                out_cov.append(t.covariance.copy())
    if not out_time:
        return _empty_tracks(config)
    table = _tracks_table(np.concatenate(out_time), np.concatenate(out_ids), np.concatenate(out_state),
                          np.concatenate(out_alt_std), np.concatenate(out_has_3d), np.concatenate(out_conf),
                          np.concatenate(out_quality), origin, config)
    if config.report_covariance:
        table = _with_covariance(table, np.concatenate(out_state), np.concatenate(out_cov), origin)
    return table


STATE_AXES = ("e", "n", "u", "ve", "vn", "vu")
"""The state components as named in the covariance columns (ENU at the track's position)."""

COVARIANCE_COLUMNS = tuple(f"cov_{STATE_AXES[i]}_{STATE_AXES[j]}" for i in range(6) for j in range(i, 6))
"""The 21 upper-triangle covariance columns that ``report_covariance`` adds after ``vel_up_mps``."""


def _empty_tracks(config: TrackerConfig) -> pa.Table:
    schema = TRACK_SCHEMA
    if config.report_covariance:
        for name in ("vel_up_mps", *COVARIANCE_COLUMNS):
            schema = schema.append(pa.field(name, pa.float64(), nullable=False))
    return schema.empty_table()


def _with_covariance(table: pa.Table, state: Array, cov: Array, origin: tuple[float, float]) -> pa.Table:
    """TRACKS plus ``vel_up_mps`` and the state covariance in the ENU frame at each track's position.

    The local frame is rotated to each track's ENU frame (the same rotation for position and
    velocity): ``P_track = B P Bᵀ`` with ``B = diag(R, R)``, ``R = R_enu(track) R_enu(origin)ᵀ``.
    """
    rot = enu_rotations(table["lat_deg"].to_numpy(), table["lon_deg"].to_numpy()) @ enu_rotation(*origin).T
    block = np.zeros((len(rot), 6, 6))
    block[:, :3, :3] = block[:, 3:, 3:] = rot
    local = block @ cov @ np.swapaxes(block, 1, 2)
    vel_up = np.einsum("nj,nj->n", rot[:, 2, :], state[:, 3:])
    table = table.append_column(pa.field("vel_up_mps", pa.float64(), nullable=False),
                                pa.array(vel_up, pa.float64()))
    names = iter(COVARIANCE_COLUMNS)
    for i in range(6):
        for j in range(i, 6):
            table = table.append_column(pa.field(next(names), pa.float64(), nullable=False),
                                        pa.array(local[:, i, j], pa.float64()))
    return table


def _tracks_table(time_s: Array, ids: IntArray, state: Array, alt_std: Array, has_3d: BoolArray,
                  confirmed: BoolArray, quality: Array, origin: tuple[float, float],
                  config: TrackerConfig) -> pa.Table:
    lat0, lon0 = origin
    ecef = enu_to_ecef(state[:, :3], lat0, lon0)
    lat, lon, alt = ecef_to_geodetic(ecef)
    vel_ecef = state[:, 3:] @ enu_rotation(lat0, lon0)
    vel_local = np.einsum("nij,nj->ni", enu_rotations(lat, lon), vel_ecef)
    # a 2D radar's altitude is the prior: an apparently small standard deviation near the radar is
    # linearisation, not information, so only tracks a 3D report has updated report one
    alt_known = has_3d & (alt_std <= config.altitude_known_std_m)
    return pa.table({
        "time_s": pa.array(time_s, pa.float64()),
        "track_id": pa.array(ids, pa.int64()),
        "lat_deg": pa.array(lat, pa.float64()),
        "lon_deg": pa.array(lon, pa.float64()),
        "alt_m": pa.array(alt, pa.float64(), mask=~alt_known),
        "vel_east_mps": pa.array(vel_local[:, 0], pa.float64()),
        "vel_north_mps": pa.array(vel_local[:, 1], pa.float64()),
        "confirmed": pa.array(confirmed, pa.bool_()),
        "quality": pa.array(quality, pa.float64()),
        "alt_std_m": pa.array(alt_std, pa.float64()),
    }, schema=TRACK_SCHEMA)
