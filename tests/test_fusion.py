"""Track-to-track fusion: covariance intersection, correlation across sources, stable fused numbers.

Synthetic radars measure straight flyers in the local ENU frame at ORIGIN with Gaussian noise from
seeded Generators; each radar feeds its own ``Tracker`` (one node each), and ``FusedPicture`` fuses
the two nodes' track sets.
"""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.geo.frames import ecef_to_enu, enu_rotation
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.tracking.filters import constant_velocity_predict, polar_measurement
from iadsim.tracking.fusion import FusedPicture, FusionConfig, TrackSet, covariance_intersection
from iadsim.tracking.tracker import Scan, Tracker, TrackerConfig

ORIGIN = (53.9, 27.5)
# two 3D radars about 60 km west and 100 km north of the origin: their lines of sight to targets
# near the origin are roughly perpendicular, so one's accurate range covers the other's poor azimuth
RADARS = {"west": (53.9, 26.6, 30.0), "north": (54.8, 27.5, 30.0)}
SIGMAS = np.array([50.0, np.radians(0.2), np.radians(0.2)])  # m, rad, rad


# -- covariance intersection ------------------------------------------------------------------------

def _rotated(variances, angle_rad):
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return rot @ np.diag(variances) @ rot.T


def test_covariance_intersection_by_hand():
    # symmetric inputs: ω = 1/2, P⁻¹ = ½ diag(1, ¼) + ½ diag(¼, 1) = diag(⅝, ⅝), x = P ½ B⁻¹ b
    a, b = np.zeros((1, 2)), np.ones((1, 2))
    cov_a, cov_b = np.diag([1.0, 4.0])[None], np.diag([4.0, 1.0])[None]
    for criterion in ("determinant", "trace"):
        mean, cov, omega = covariance_intersection(a, cov_a, b, cov_b, criterion)
        np.testing.assert_allclose(omega, [0.5], atol=1e-6)
        np.testing.assert_allclose(cov[0], np.diag([1.6, 1.6]), rtol=1e-6)
        np.testing.assert_allclose(mean[0], [0.2, 0.8], rtol=1e-6)


def test_covariance_intersection_is_consistent_for_correlated_errors():
    """The fused covariance bounds the true error covariance for strongly correlated inputs."""
    rng = np.random.default_rng(3)
    n_samples = 20_000
    for angle in (0.3, 1.0, 1.4):
        cov_a = _rotated([100.0**2, 400.0**2, 300.0**2], 0.0)
        cov_b = _rotated([120.0**2, 350.0**2, 250.0**2], angle)
        la, lb = np.linalg.cholesky(cov_a), np.linalg.cholesky(cov_b)
        rho = 0.8  # shared process noise / sensor data: errors correlated, by an amount fusion does not know
        joint = np.block([[cov_a, rho * la @ lb.T], [rho * lb @ la.T, cov_b]])
        _, cov, omega = covariance_intersection(np.zeros((1, 3)), cov_a[None], np.zeros((1, 3)),
                                                cov_b[None])
        # the CI estimate is linear in the inputs: x = K_a a + K_b b
        gain_a = cov[0] @ (omega[0] * np.linalg.inv(cov_a))
        gain_b = cov[0] @ ((1.0 - omega[0]) * np.linalg.inv(cov_b))
        errors = rng.multivariate_normal(np.zeros(6), joint, n_samples)
        fused_err = errors[:, :3] @ gain_a.T + errors[:, 3:] @ gain_b.T
        empirical = np.cov(fused_err.T)
        whiten = np.linalg.inv(np.linalg.cholesky(cov[0]))
        # eigenvalues ≤ 1 means P_CI ⪰ the error covariance; 5 % allows the sampling error of
        # 20 000 draws (about 1 % per variance)
        assert np.linalg.eigvalsh(whiten @ empirical @ whiten.T).max() <= 1.05
        exact = np.hstack([gain_a, gain_b]) @ joint @ np.hstack([gain_a, gain_b]).T
        assert np.linalg.eigvalsh(cov[0] - exact).min() >= -1e-9 * np.trace(cov[0])
        # power: fusion that assumes independent errors, (A⁻¹ + B⁻¹)⁻¹, is overconfident here
        naive = np.linalg.inv(np.linalg.inv(cov_a) + np.linalg.inv(cov_b))
        k_a, k_b = naive @ np.linalg.inv(cov_a), naive @ np.linalg.inv(cov_b)
        naive_err = errors[:, :3] @ k_a.T + errors[:, 3:] @ k_b.T
        whiten_naive = np.linalg.inv(np.linalg.cholesky(naive))
        assert np.linalg.eigvalsh(whiten_naive @ np.cov(naive_err.T) @ whiten_naive.T).max() > 1.2


def test_covariance_intersection_is_never_worse_than_the_better_input():
    rng = np.random.default_rng(5)
    n, d = 500, 6
    mats = rng.standard_normal((2, n, d, d)) * np.exp(rng.uniform(-3.0, 3.0, (2, n, 1, d)))
    cov_a, cov_b = (m @ np.swapaxes(m, 1, 2) + 1e-3 * np.eye(d) for m in mats)
    a, b = rng.standard_normal((2, n, d))
    _, cov, omega = covariance_intersection(a, cov_a, b, cov_b, "trace")
    better = np.minimum(np.trace(cov_a, axis1=1, axis2=2), np.trace(cov_b, axis1=1, axis2=2))
    assert np.all(np.trace(cov, axis1=1, axis2=2) <= better * (1.0 + 1e-9))
    _, cov, omega = covariance_intersection(a, cov_a, b, cov_b, "determinant")
    better_det = np.minimum(np.linalg.slogdet(cov_a)[1], np.linalg.slogdet(cov_b)[1])
    assert np.all(np.linalg.slogdet(cov)[1] <= better_det + 1e-9)
    assert np.all((omega >= 0.0) & (omega <= 1.0))


def test_covariance_intersection_leans_on_the_much_better_input():
    good = np.diag([1.0, 1.0, 1.0])[None]
    poor = np.diag([1e4, 2e4, 5e3])[None]
    x = np.array([[1.0, 2.0, 3.0]])
    y = np.array([[50.0, -40.0, 10.0]])
    for criterion in ("determinant", "trace"):
        mean, cov, omega = covariance_intersection(x, good, y, poor, criterion)
        assert omega[0] > 0.99
        np.testing.assert_allclose(mean[0], x[0], atol=0.1)  # within 0.1 of the good estimate
        _, _, omega = covariance_intersection(y, poor, x, good, criterion)
        assert omega[0] < 0.01
    with pytest.raises(ValueError, match="criterion"):
        covariance_intersection(x, good, y, poor, "volume")  # type: ignore[arg-type]
    mean, cov, omega = covariance_intersection(np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)),
                                               np.zeros((0, 3, 3)))
    assert mean.shape == (0, 3) and cov.shape == (0, 3, 3) and omega.shape == (0,)


# -- fusing two nodes' trackers ------------------------------------------------------------------------

def _radar_frame(site):
    position = np.asarray(ecef_to_enu(geodetic_to_ecef(*site), *ORIGIN)).reshape(3)
    rotation = enu_rotation(site[0], site[1]) @ enu_rotation(*ORIGIN).T
    return position, rotation


def _two_nodes(seed, starts_m, velocities_mps, scans=30, period_s=10.0, first_scored_scan=6):
    """Two radars, each tracked by its own node; the west node fuses the north node's set.

    The north radar scans half a period after the west one, so at each west scan the north set it
    fuses is valid 5 s earlier. Returns per-view position errors (m) of confirmed tracks from
    ``first_scored_scan`` on, and per west scan the fused confirmed (time, ids, nearest target).
    """
    rng = np.random.default_rng(seed)
    starts_m, velocities_mps = np.asarray(starts_m), np.asarray(velocities_mps)
    frames = {name: _radar_frame(site) for name, site in RADARS.items()}
    trackers = {name: Tracker(TrackerConfig(), *ORIGIN) for name in RADARS}
    picture = FusedPicture("west")
    north_set = None
    errors: dict[str, list[float]] = {"west": [], "north": [], "fused": []}
    fused_log = []

    def nearest(state, confirmed, truth):
        p = state[confirmed, :3]
        d = np.linalg.norm(p[:, None, :] - truth[None, :, :], axis=2)
        return d.min(axis=1), d.argmin(axis=1)

    for k in range(scans):
        for name, offset in (("west", 0.0), ("north", 0.5)):
            t = (k + offset) * period_s
            truth = starts_m + t * velocities_mps
            position, rotation = frames[name]
            z, _ = polar_measurement(truth, position, rotation, 3)
            z = z + SIGMAS * rng.standard_normal(z.shape)
            trackers[name].process_scan(Scan(t, 0, position, rotation, z, np.tile(SIGMAS**2, (len(z), 1)),
                                             400e3))
            tracks = trackers[name].tracks
            if k >= first_scored_scan:
                errors[name] += list(nearest(tracks.state, tracks.confirmed, truth)[0])
            if name == "north":
                north_set = TrackSet.from_tracker("north", trackers["north"])
            elif north_set is not None:
                fused = picture.update(t, [TrackSet.from_tracker("west", trackers["west"]), north_set])
                if k >= first_scored_scan:
                    dist, which = nearest(fused.state, fused.confirmed, truth)
                    errors["fused"] += list(dist)
                    fused_log.append((t, fused.track_id[fused.confirmed], which,
                                      picture.source_count[fused.confirmed]))
    rms = {name: float(np.sqrt(np.mean(np.square(v)))) for name, v in errors.items()}
    return rms, fused_log


SPREAD_TARGETS = dict(starts_m=[[-10e3, -20e3, 6000.0], [15e3, 10e3, 9000.0]],
                      velocities_mps=[[200.0, 50.0, 0.0], [-150.0, 120.0, 0.0]])


def test_track_to_track_fusion_of_two_noisy_views_beats_each_view_alone():
    # measured over seeds 0–19: fused RMS / better view's RMS 0.48–0.84, mean 0.66
    ratios = []
    for seed in range(6):
        rms, log = _two_nodes(seed, **SPREAD_TARGETS)
        assert all(len(ids) == 2 for _, ids, _, _ in log)
        ratios.append(rms["fused"] / min(rms["west"], rms["north"]))
    assert max(ratios) < 0.9, ratios
    assert np.mean(ratios) < 0.8, ratios


def test_fused_numbers_stay_stable_for_two_targets_in_formation():
    # two targets 3 km apart flying the same course: one fused number each, all run long
    rms, log = _two_nodes(11, starts_m=[[-30e3, 0.0, 6000.0], [-30e3, 3000.0, 8000.0]],
                          velocities_mps=[[200.0, 20.0, 0.0], [200.0, 20.0, 0.0]])
    assert len(log) == 24
    holder: dict[int, set[int]] = {}
    for _, ids, target, count in log:
        assert len(ids) == 2 and sorted(target.tolist()) == [0, 1]  # one fused track per target
        assert np.all(count == 2)  # both nodes' tracks fused into each
        for i, obj in zip(ids.tolist(), target.tolist(), strict=True):
            holder.setdefault(i, set()).add(obj)
    assert len(holder) == 2 and all(len(objs) == 1 for objs in holder.values())  # no swaps
    assert rms["fused"] < min(rms["west"], rms["north"])


# -- correlation, numbering, timing ---------------------------------------------------------------------

def _track_set(source, ids, positions, velocities=None, time_s=0.0, std_m=30.0, std_mps=5.0, confirmed=True):
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    n = len(positions)
    velocities = np.zeros((n, 3)) if velocities is None else np.asarray(velocities, dtype=float).reshape(n, 3)
    cov = np.diag([std_m**2] * 3 + [std_mps**2] * 3)
    return TrackSet(source, np.asarray(ids), np.full(n, time_s), np.hstack([positions, velocities]),
                    np.broadcast_to(cov, (n, 6, 6)), np.full(n, confirmed))


def test_a_late_remote_set_is_predicted_to_the_node_time():
    velocity = [200.0, 0.0, 0.0]
    remote = _track_set("b", [7], [[0.0, 0.0, 5000.0]], [velocity], time_s=90.0)
    picture = FusedPicture("a")
    fused = picture.update(100.0, [TrackSet.empty("a"), remote])
    expected_x, expected_p = constant_velocity_predict(remote.state, remote.covariance, np.array([10.0]),
                                                       1.0, 0.1)
    np.testing.assert_allclose(fused.state, expected_x)
    np.testing.assert_allclose(fused.covariance, expected_p)
    assert fused.state[0, 0] == pytest.approx(2000.0) and fused.time_s[0] == 100.0
    # the own track at 100 s is 2 km east of the remote one's 90 s position: they correlate only
    # because the remote track is predicted forward (30 m position errors)
    own = _track_set("a", [3], [[2010.0, 5.0, 5000.0]], [velocity], time_s=100.0)
    fused = picture.update(100.0, [own, remote])
    assert len(fused) == 1 and picture.member_track_id.tolist() == [[3, 7]]
    with pytest.raises(ValueError, match="predicts forward only"):
        picture.update(80.0, [own, remote])


def test_empty_sets_and_remote_only_tracks():
    picture = FusedPicture("a")
    assert len(picture.update(0.0, [])) == 0 and picture.contributors.shape == (0, 0)
    assert len(picture.update(0.0, [TrackSet.empty("a"), TrackSet.empty("b")])) == 0
    own = _track_set("a", [1], [[0.0, 0.0, 5000.0]])
    remote = _track_set("b", [4, 5], [[30.0, -20.0, 5010.0], [50e3, 0.0, 3000.0]])
    fused = picture.update(0.0, [own, remote])
    assert len(fused) == 2 and fused.source == "a"
    assert picture.sources == ("a", "b")
    assert picture.member_track_id.tolist() == [[1, 4], [-1, 5]]
    assert picture.contributors.tolist() == [[True, True], [False, True]]
    assert picture.source_count.tolist() == [2, 1]
    np.testing.assert_allclose(fused.state[1], remote.state[1])  # a remote-only track as received


def test_only_confirmed_remote_tracks_are_fused_unless_asked():
    own = _track_set("a", [1], [[0.0, 0.0, 5000.0]], confirmed=False)
    remote = _track_set("b", [2], [[10e3, 0.0, 5000.0]], confirmed=False)
    fused = FusedPicture("a").update(0.0, [own, remote])
    assert fused.track_id.tolist() == [1] and not fused.confirmed[0]  # own tentative tracks stay
    fused = FusedPicture("a", FusionConfig(remote_confirmed_only=False)).update(0.0, [own, remote])
    assert len(fused) == 2


def test_a_held_association_is_kept_while_it_stays_in_the_gate():
    """Hysteresis: a closer newcomer does not take a remote track away from its fused partner."""
    picture = FusedPicture("a", FusionConfig(gate_velocity=False))
    own = _track_set("a", [1], [[0.0, 0.0, 5000.0]])
    # d² of the own–remote difference with covariance 2 · 30² per axis: 100 m east gives 5.6 (gate 11.3)
    fused = picture.update(0.0, [own, _track_set("b", [10], [[100.0, 0.0, 5000.0]])])
    assert fused.track_id.tolist() == [1] and picture.member_track_id.tolist() == [[1, 10]]
    # a second remote track now sits right on the own track (d² ≈ 0), the held one still in the gate
    both = _track_set("b", [10, 11], [[100.0, 0.0, 5000.0], [0.0, 5.0, 5000.0]])
    fused = picture.update(1.0, [own, both])
    assert fused.track_id.tolist() == [1, 2]
    assert picture.member_track_id.tolist() == [[1, 10], [-1, 11]]
    # without the history the nearer one wins
    fresh = FusedPicture("a", FusionConfig(gate_velocity=False))
    fresh.update(1.0, [own, both])
    assert fresh.member_track_id.tolist() == [[1, 11], [-1, 10]]
    # the held remote track leaves the gate (500 m: d² = 139): the pair is let go, the newcomer fused
    moved = _track_set("b", [10, 11], [[500.0, 0.0, 5000.0], [0.0, 5.0, 5000.0]])
    fused = picture.update(2.0, [own, moved])
    assert picture.member_track_id.tolist() == [[1, 11], [-1, 10]]
    # the own track keeps 1; number 2 (remote track 11's alone) is retired as it joins it, and
    # remote track 10, whose number 1 stays with the own track, gets a new one
    assert fused.track_id.tolist() == [1, 3]


def test_fused_numbers_are_inherited_never_reused_and_deterministic():
    own = _track_set("a", [1, 2], [[0.0, 0.0, 5000.0], [20e3, 0.0, 5000.0]])
    remote = _track_set("b", [7, 8], [[10.0, 0.0, 5000.0], [-30e3, 0.0, 5000.0]])
    picture = FusedPicture("a")
    first = picture.update(0.0, [own, remote])
    assert first.track_id.tolist() == [1, 2, 3]
    assert picture.member_track_id.tolist() == [[1, 7], [2, -1], [-1, 8]]
    # own track 1 is deleted: the remote track that was fused with it keeps the fused number 1
    second = picture.update(1.0, [own.select(np.array([1])), remote])
    assert second.track_id.tolist() == [1, 2, 3]
    assert picture.member_track_id.tolist() == [[-1, 7], [2, -1], [-1, 8]]
    # a new own track: a new number, never one used before
    new_own = _track_set("a", [2, 9], [[20e3, 0.0, 5000.0], [60e3, 0.0, 5000.0]])
    third = picture.update(2.0, [new_own, remote])
    assert third.track_id.tolist() == [1, 2, 3, 4]
    assert picture.member_track_id.tolist() == [[-1, 7], [2, -1], [-1, 8], [9, -1]]
    # the same inputs in a fresh picture give the same result
    again = FusedPicture("a")
    again.update(0.0, [own, remote])
    again.update(1.0, [own.select(np.array([1])), remote])
    np.testing.assert_array_equal(again.update(2.0, [new_own, remote]).state, third.state)


def test_two_fused_tracks_that_merge_keep_the_own_number():
    own = _track_set("a", [1], [[0.0, 0.0, 5000.0]])
    far = _track_set("b", [5], [[3000.0, 0.0, 5000.0]])
    picture = FusedPicture("a")
    assert picture.update(0.0, [own, far]).track_id.tolist() == [1, 2]
    near = _track_set("b", [5], [[20.0, 0.0, 5000.0]])
    fused = picture.update(1.0, [own, near])
    # one fused track; the own track's number wins, number 2 is retired
    assert fused.track_id.tolist() == [1] and picture.member_track_id.tolist() == [[1, 5]]


def test_track_set_checks_its_input():
    with pytest.raises(ValueError, match="distinct"):
        _track_set("a", [1, 1], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="sources repeat"):
        FusedPicture("a").update(0.0, [TrackSet.empty("a"), TrackSet.empty("a")])
    with pytest.raises(ValueError, match="gate_probability"):
        FusionConfig(gate_probability=1.5)
    t = _track_set("a", [1, 2], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert len(t.select(np.array([False, True]))) == 1 and t.select(np.array([1])).track_id.tolist() == [2]


def _exchange(config: FusionConfig, own_until_s: float, end_s: float) -> tuple[list[float], list[float]]:
    """Two nodes relay their whole pictures to each other every 10 s (5 s on the way); only node a's
    own sensors see the target, until ``own_until_s``. Returns the times at which each still holds it."""
    pictures = {"a": FusedPicture("a", config), "b": FusedPicture("b", config)}
    inbox: dict[str, TrackSet] = {}
    held: dict[str, list[float]] = {"a": [], "b": []}
    for t in np.arange(0.0, end_s, 10.0):
        own = {"a": (_track_set("a", [1], [[200.0 * t, 0.0, 5000.0]], [[200.0, 0.0, 0.0]], time_s=t)
                     if t <= own_until_s else TrackSet.empty("a")),
               "b": TrackSet.empty("b")}
        sent = {}
        for name, other in (("a", "b"), ("b", "a")):
            sets = [own[name], *([inbox[other]] if other in inbox else [])]
            fused = pictures[name].update(t, sets)
            if len(fused):
                held[name].append(float(t))
            # the message is valid at the send time; its data time is what the fused tracks carry
            sent[name] = TrackSet(name, fused.track_id, fused.time_s, fused.state, fused.covariance,
                                  fused.confirmed, fused.data_time_s)
        inbox = sent
    return held["a"], held["b"]


def test_without_an_age_limit_a_lost_track_is_echoed_between_two_nodes_for_ever():
    held_a, held_b = _exchange(FusionConfig(), own_until_s=50.0, end_s=1000.0)
    assert held_a[-1] == held_b[-1] == 990.0  # the defect the limit exists for


def test_relayed_tracks_without_fresh_sensor_data_die_after_the_age_limit():
    held_a, held_b = _exchange(FusionConfig(max_remote_data_age_s=60.0), own_until_s=50.0, end_s=1000.0)
    assert held_a[-1] <= 50.0 + 60.0 and held_b[-1] <= 50.0 + 60.0 + 10.0
    assert held_b[0] == 10.0  # relayed while a's sensors held it


def test_a_fused_track_carries_the_newest_data_time_of_its_contributors():
    own = _track_set("a", [1], [[0.0, 0.0, 5000.0]], time_s=100.0)
    offsets = np.array([[10.0] * 6, [9e4] * 6])  # track 4 next to a's track, track 5 far away
    remote = TrackSet("b", [4, 5], [100.0, 100.0], own.state.repeat(2, axis=0) + offsets,
                      own.covariance.repeat(2, axis=0), [True, True], [40.0, 70.0])
    fused = FusedPicture("a").update(100.0, [own, remote])
    assert fused.data_time_s.tolist() == [100.0, 70.0]
    limited = FusedPicture("a", FusionConfig(max_remote_data_age_s=45.0))
    old = limited.update(100.0, [own, remote])
    assert old.data_time_s.tolist() == [100.0, 70.0]
    assert limited.member_track_id.tolist() == [[1, -1], [-1, 5]]  # track 4's data is 60 s old: left out
    with pytest.raises(ValueError, match="max_remote_data_age_s"):
        FusionConfig(max_remote_data_age_s=0.0)


def test_ci_weight_is_the_optimum_of_its_criterion():
    """The eigenvalue solve finds the ω a dense search over [0, 1] finds, for both criteria, on random
    6-D pairs from well conditioned to 10⁶ apart in scale (objective within 10⁻⁹ relative)."""
    from iadsim.tracking.fusion import ci_weight

    rng = np.random.default_rng(20261206)
    n, d = 60, 6
    raw_a, raw_b = rng.normal(size=(n, d, d)), rng.normal(size=(n, d, d))
    scale = 10.0 ** rng.uniform(-3, 3, size=(n, 1, 1))
    cov_a = raw_a @ np.swapaxes(raw_a, 1, 2) + 0.05 * np.eye(d)
    cov_b = scale * (raw_b @ np.swapaxes(raw_b, 1, 2) + 0.05 * np.eye(d))
    info_a, info_b = np.linalg.inv(cov_a), np.linalg.inv(cov_b)
    grid = np.linspace(0.0, 1.0, 4001)
    for criterion in ("determinant", "trace"):
        omega = ci_weight(info_a, info_b, criterion)
        assert np.all((omega >= 0.0) & (omega <= 1.0))

        def cost(w: np.ndarray, p: int, criterion: str = criterion) -> np.ndarray:
            info = w[:, None, None] * info_a[p] + (1.0 - w)[:, None, None] * info_b[p]
            if criterion == "determinant":
                return -np.linalg.slogdet(info)[1]
            return np.trace(np.linalg.inv(info), axis1=1, axis2=2)

        for p in range(n):
            best = cost(grid, p).min()
            found = cost(omega[p:p + 1], p)[0]
            assert found <= best + 1e-9 * abs(best) + 1e-12, (criterion, p, omega[p])
