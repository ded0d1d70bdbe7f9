"""The IMM motion model (constant velocity + coordinated turn): its parts, a turning target, consistency.

Targets fly in the ENU frame at ORIGIN, where the tracker's local frame is exact; a 3D radar (σ 50 m,
0.2°, 0.2°) measures them every 5 s with Gaussian noise from seeded Generators. Models and the
measured numbers quoted here: docs/models/tracking.md, "IMM".
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from iadsim.geo.frames import ecef_to_enu, enu_rotation
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.tracking import Tracker, TrackerConfig, siap, track_detections
from iadsim.tracking.filters import constant_velocity_predict
from iadsim.tracking.imm import CT, CV, combine, coordinated_turn_predict, imm_predict, initial_modes
from iadsim.tracking.tracker import Scan

from .test_tracking import ORIGIN, RADAR_3D, _confirmed, _errors_to_truth, _nees_run, synthetic

IMM = TrackerConfig(motion_model="imm")
SIGMA = np.array([50.0, np.radians(0.2), np.radians(0.2)])
RADAR_POSITION = ecef_to_enu(geodetic_to_ecef(*RADAR_3D), *ORIGIN).reshape(3)
RADAR_ROTATION = enu_rotation(RADAR_3D[0], RADAR_3D[1]) @ enu_rotation(*ORIGIN).T
PERIOD_S = 5.0
TIMES = np.arange(0.0, 200.0, PERIOD_S)
TURN_START_S = 80.0
SPEED_MPS = 250.0


def _turning_flight(turn_rate_radps, turn_s):
    """``(len(TIMES), 6)`` states: east at 250 m/s, 6 km high, then a level turn, then straight again.

    Starts 30 km west and 20 km north of the radar; the turn (``turn_rate_radps``, counter-clockwise)
    begins at TURN_START_S and lasts ``turn_s`` seconds. Exact circular arcs, no process noise.
    """
    out = []
    for t in TIMES:
        p, heading = np.array([-30e3, 20e3, 6000.0]), 0.0  # heading counter-clockwise from east
        straight = min(t, TURN_START_S)
        p[:2] += SPEED_MPS * straight * np.array([1.0, 0.0])
        turning = float(np.clip(t - TURN_START_S, 0.0, turn_s))
        if turning:
            end = turn_rate_radps * turning
            p[:2] += SPEED_MPS / turn_rate_radps * np.array([np.sin(end), 1.0 - np.cos(end)])
            heading = end
        p[:2] += SPEED_MPS * max(t - TURN_START_S - turn_s, 0.0) * np.array([np.cos(heading), np.sin(heading)])
        out.append([*p, SPEED_MPS * np.cos(heading), SPEED_MPS * np.sin(heading), 0.0])
    return np.array(out)


def _measure(truth, rng):
    """Noisy (range, azimuth, elevation) of each truth row from the 3D radar, ``(N, 3)`` m, rad."""
    d = (truth[:, :3] - RADAR_POSITION) @ RADAR_ROTATION.T
    clean = np.column_stack([np.linalg.norm(d, axis=1), np.arctan2(d[:, 0], d[:, 1]) % (2.0 * np.pi),
                             np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))])
    return clean + SIGMA * rng.standard_normal(clean.shape)


def _track(config, truth, measurements):
    """Per scan: the position error (m), id and CT mode probability of the track nearest the target.

    NaN (id 0) while there is no track; a lost track's successor is the nearest after it.
    """
    tracker = Tracker(config, *ORIGIN)
    error, ct_probability = np.full(len(TIMES), np.nan), np.full(len(TIMES), np.nan)
    ids = np.zeros(len(TIMES), dtype=np.int64)
    for i, t in enumerate(TIMES):
        tracker.process_scan(Scan(float(t), 0, RADAR_POSITION, RADAR_ROTATION, measurements[i:i + 1],
                                  (SIGMA**2)[None], 200e3))
        tracks = tracker.tracks
        if len(tracks):
            distance = np.linalg.norm(tracks.state[:, :3] - truth[i, :3], axis=1)
            j = int(np.argmin(distance))
            error[i], ids[i] = distance[j], tracks.track_id[j]
            if tracks.mode_probability.shape[1]:
                ct_probability[i] = tracks.mode_probability[j, CT]
    return error, ids, ct_probability


def _monte_carlo(truth, seeds):
    """``(seeds, scans)`` position errors of CV and IMM on the same measurements, IMM's μ_CT, and
    per tracker the number of runs in which the target was held by more than one track id."""
    cv, imm, mu, broken = [], [], [], {"cv": 0, "imm": 0}
    for seed in range(seeds):
        z = _measure(truth, np.random.default_rng(seed))
        for name, config, errors in (("cv", TrackerConfig(), cv), ("imm", IMM, imm)):
            e, ids, m = _track(config, truth, z)
            errors.append(e)
            broken[name] += len(set(ids[ids > 0].tolist())) > 1
        mu.append(m)
    cv_e, imm_e = np.array(cv), np.array(imm)
    assert np.isfinite(cv_e[:, 1:]).all() and np.isfinite(imm_e[:, 1:]).all()  # a track from scan 1 on
    return cv_e, imm_e, np.array(mu), broken


def _rms(errors, scans):
    return float(np.sqrt(np.mean(errors[:, scans] ** 2)))


# -- the parts ------------------------------------------------------------------------------------------

def test_coordinated_turn_prediction_is_exact_on_a_circle_and_cv_without_a_turn():
    # a target on a circle of radius v/ω: the CT model predicts it exactly (it is the model)
    omega, v, dt = np.radians(5.0), 200.0, 7.0
    x = np.array([[1000.0, -500.0, 3000.0, v, 0.0, 2.0, omega]])
    pred, _ = coordinated_turn_predict(x, np.zeros((1, 7, 7)), dt, 0.0, 0.0, 0.0)
    centre = np.array([1000.0, -500.0 + v / omega])
    expected = centre + v / omega * np.array([np.sin(omega * dt), -np.cos(omega * dt)])
    np.testing.assert_allclose(pred[0, :2], expected, rtol=1e-12)
    np.testing.assert_allclose(pred[0, 3:5], v * np.array([np.cos(omega * dt), np.sin(omega * dt)]), rtol=1e-12)
    assert pred[0, 2] == pytest.approx(3014.0) and pred[0, 6] == omega
    # at ω = 0 (the series branch) it is the CV prediction, states and covariances
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 7, 7))
    cov = a @ np.swapaxes(a, 1, 2) + np.eye(7)
    cov[:, 6, :] = cov[:, :, 6] = 0.0  # a known zero turn rate
    states = np.column_stack([rng.normal(size=(3, 6)) * 100.0, np.zeros(3)])
    ct_x, ct_p = coordinated_turn_predict(states, cov, dt, 1.0, 0.1, 0.0)
    cv_x, cv_p = constant_velocity_predict(states[:, :6], cov[:, :6, :6], dt, 1.0, 0.1)
    np.testing.assert_allclose(ct_x[:, :6], cv_x, atol=1e-9)
    np.testing.assert_allclose(ct_p[:, :6, :6], cv_p, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("omega", [0.0, 1e-7, 0.03, -0.12])
def test_coordinated_turn_jacobian_matches_finite_differences(omega):
    # F P Fᵀ with P = eᵢ e₂ᵀ is (F eᵢ)(F e₂)ᵀ, and F e₂ = e₂ (only u' depends on u, with 1): its
    # column 2 is column i of the Jacobian F
    x = np.array([[200.0, 300.0, 5000.0, 180.0, -120.0, 3.0, omega]])
    dt = 5.0
    for i in range(7):
        cov = np.zeros((1, 7, 7))
        cov[0, i, 2] = 1.0
        _, p = coordinated_turn_predict(x, cov, dt, 0.0, 0.0, 0.0)
        column = p[0, :, 2]
        step = 1e-6 if i == 6 else 1e-3
        up, down = x.copy(), x.copy()
        up[0, i] += step
        down[0, i] -= step
        numeric = (coordinated_turn_predict(up, cov, dt, 0, 0, 0)[0]
                   - coordinated_turn_predict(down, cov, dt, 0, 0, 0)[0])[0] / (2 * step)
        np.testing.assert_allclose(column, numeric, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(numeric).max()))


def test_mixing_by_hand():
    # one track, μ = (0.8, 0.2), Δt = 5 s, τ = (50, 20) s: the predicted mode probabilities and the CT
    # mode's turn rate after mixing (the CV mode's turn rate enters as the prior N(0, σ_ω²)) and
    # prediction (ω' = ω, variance + q_ω Δt), against the formulas written out
    sojourn, dt, sigma0, q_turn = (50.0, 20.0), 5.0, 0.1, 1e-3
    x, p, _ = initial_modes(np.array([[1e3, 2e3, 5e3, 200.0, -50.0, 0.0]]), np.eye(6)[None] * 100.0, sigma0,
                            sojourn)
    x[0, CT, 6], p[0, CT, 6, 6] = 0.08, 0.02**2
    mu = np.array([[0.8, 0.2]])
    px, pp, pmu = imm_predict(x, p, mu, dt, sojourn, 1.0, 0.1, 1.0, q_turn, sigma0)
    leave_cv, stay_ct = 1.0 - np.exp(-dt / 50.0), np.exp(-dt / 20.0)
    c_ct = 0.8 * leave_cv + 0.2 * stay_ct
    assert pmu[0] == pytest.approx([1.0 - c_ct, c_ct])
    w_cv, w_ct = 0.8 * leave_cv / c_ct, 0.2 * stay_ct / c_ct  # μ_{CV|CT}, μ_{CT|CT}
    omega = w_ct * 0.08
    variance = w_cv * sigma0**2 + w_ct * 0.02**2 + w_cv * omega**2 + w_ct * (0.08 - omega) ** 2
    assert px[0, CT, 6] == pytest.approx(omega)
    assert pp[0, CT, 6, 6] == pytest.approx(variance + q_turn * dt)
    assert px[0, CV, 6] == 0.0 and np.all(pp[0, CV, 6, :] == 0.0)  # the CV mode has no turn rate
    # Δt = 0 changes nothing; the combined covariance is positive definite
    same = imm_predict(x, p, mu, 0.0, sojourn, 1.0, 0.1, 1.0, q_turn, sigma0)
    assert all(np.array_equal(u, v) for u, v in zip(same, (x, p, mu), strict=True))
    assert np.all(np.linalg.eigvalsh(combine(px, pp, pmu)[1]) > 0.0)


def test_imm_that_never_switches_is_the_cv_tracker():
    # with switching made impossible the CT mode's probability stays at the 1e-9 floor and the IMM is
    # the CV filter: the same TRACKS on a 3D + 2D input with misses
    det, _ = synthetic([[-60e3, 40e3, 8000.0], [30e3, -50e3, 3000.0]], [[220.0, -30.0, 0.0], [-150.0, 180.0, 0.0]],
                       scans=15, pd=0.9, seed=3)
    cv = track_detections(det, origin=ORIGIN)
    frozen = track_detections(det, TrackerConfig(motion_model="imm", imm_cv_sojourn_s=1e15,
                                                 imm_ct_sojourn_s=1e-6), origin=ORIGIN)
    assert frozen["track_id"].equals(cv["track_id"]) and frozen["confirmed"].equals(cv["confirmed"])
    # the floor's 1e-9 of CT mode moves velocities by ~1e-6 m/s
    for column, atol in (("lat_deg", 1e-9), ("lon_deg", 1e-9), ("vel_east_mps", 1e-4), ("vel_north_mps", 1e-4)):
        np.testing.assert_allclose(frozen[column].to_numpy(), cv[column].to_numpy(), rtol=0.0, atol=atol)


# -- a manoeuvring target -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("turn_rate_radps", "measured"), [
    (3.0 * 9.80665 / SPEED_MPS, "3 g"),
    (np.radians(4.0), "4°/s"),
], ids=["3g", "4deg_per_s"])
def test_imm_follows_a_turn_better_than_cv_and_its_ct_mode_takes_over(turn_rate_radps, measured):
    # 250 m/s, a level 180° turn from t = 80 s: 3 g (6.7°/s, 27 s) or 4°/s (45 s); 20 seeds, scans 5 s.
    # Measured (docs/models/tracking.md, "IMM"): RMS position error of the nearest track over the turn
    # and the 30 s after it, IMM/CV 226/374 m = 0.60 (3 g) and 161/351 m = 0.46 (4°/s); runs in which
    # the target changed track id: CV 20 of 20 in both, IMM 7 (3 g) and 5 (4°/s); mean μ_CT 0.06 in
    # straight flight, 0.68 (3 g) and 0.71 (4°/s) in the turn after its first scan.
    turn_s = np.pi / turn_rate_radps
    truth = _turning_flight(turn_rate_radps, turn_s)
    cv, imm, mu, broken = _monte_carlo(truth, seeds=20)
    turn_end = TURN_START_S + turn_s
    t = TIMES
    window = (t >= TURN_START_S) & (t <= turn_end + 30.0)
    assert _rms(imm, window) < 0.75 * _rms(cv, window), (measured, _rms(imm, window), _rms(cv, window))
    assert broken["imm"] <= broken["cv"] - 8, (measured, broken)
    straight = (t >= 20.0) & (t < TURN_START_S)
    in_turn = (t > TURN_START_S + PERIOD_S) & (t <= turn_end)
    assert mu[:, in_turn].mean() > 0.45, measured
    assert mu[:, in_turn].mean() > 5.0 * mu[:, straight].mean(), (measured, mu[:, in_turn].mean(),
                                                                   mu[:, straight].mean())


def test_imm_on_straight_flight_is_not_much_worse_than_cv():
    # the price of the CT mode when there is no turn, same target without the turn: measured IMM/CV RMS
    # position error 1.05 (82 m against 79 m), mean μ_CT 0.06
    truth = _turning_flight(1e-12, 0.0)
    cv, imm, mu, broken = _monte_carlo(truth, seeds=20)
    assert broken == {"cv": 0, "imm": 0}
    steady = TIMES >= 20.0
    assert _rms(imm, steady) < 1.15 * _rms(cv, steady), (_rms(imm, steady), _rms(cv, steady))
    assert mu[:, steady].mean() < 0.12


def test_imm_nees_on_straight_flight():
    # the target follows the CV model exactly (white acceleration, q = 1 horizontal, 0.1 vertical) as
    # in tests/test_tracking.py's NEES test; N = 60 runs, scans 4–29. The IMM's combined covariance
    # carries the CT mode's turn-rate uncertainty, so it is somewhat conservative: measured mean
    # position NEES 2.84 (CV on the same runs: 3.16), state 5.09 (CV: 6.37). Bounds: below the upper
    # end of the χ² 99 % interval of N runs (not overconfident), above 0.75 n (not grossly conservative).
    runs, scans = 60, 30
    nees = {3: np.full((runs, scans), np.nan), 6: np.full((runs, scans), np.nan)}
    for seed in range(runs):
        k, nees_pos, nees_state = _nees_run(seed, scans, 5.0, TrackerConfig(motion_model="imm",
                                                                           report_covariance=True))
        nees[3][seed, k], nees[6][seed, k] = nees_pos, nees_state
    for dof, values in nees.items():
        mean = np.nanmean(values[:, 4:])
        high = chi2.ppf(0.995, dof * runs) / runs
        assert 0.75 * dof < mean < high, (dof, mean, high)


def test_imm_tracks_keep_crossing_targets_apart_and_make_no_clutter_tracks():
    # the crossing of tests/test_tracking.py (two targets, right angles, same altitude, 3D radar) and
    # targets in clutter (10 false alarms per scan per radar, 3D + 2D radars)
    starts = [[-33e3, 60e3, 6000.0], [0.0, 60e3 - 33e3, 6000.0]]
    det, truth = synthetic(starts, [[220.0, 0.0, 0.0], [0.0, 220.0, 0.0]], scans=30, radars=("3d",), seed=11)
    tracks = track_detections(det, IMM, origin=ORIGIN)
    rows = _confirmed(tracks)["time_s"].to_numpy()
    owner: dict[int, set[int]] = {}
    for (tid, _, obj), t in zip(_errors_to_truth(tracks, truth), rows, strict=True):
        if abs(t - 150.0) > 5.0:  # at the crossing instant the nearest truth is undefined
            owner.setdefault(tid, set()).add(obj)
    assert len(owner) == 2 and all(len(v) == 1 for v in owner.values()), owner
    assert sorted(next(iter(v)) for v in owner.values()) == [0, 1]

    det, truth = synthetic([[-60e3, 40e3, 8000.0], [30e3, -50e3, 3000.0]], [[220.0, -30.0, 0.0], [-150.0, 180.0, 0.0]],
                           scans=25, pd=0.9, false_alarms_per_scan=10.0, seed=7)
    measures = siap(track_detections(det, IMM, origin=ORIGIN), truth, association_distance_m=1500.0)
    assert measures.spuriousness == 0.0 and measures.ids_per_object == 1.0
    assert measures.completeness > 0.85


def test_imm_config_is_checked():
    with pytest.raises(ValueError, match="motion_model"):
        TrackerConfig(motion_model="ct")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="imm_ct_sojourn_s"):
        TrackerConfig(motion_model="imm", imm_ct_sojourn_s=0.0)

