"""Threat evaluation: CPA geometry by hand, rankings, properties (docs/models/engagement.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.engagement.threat import DISTANCE_SCALE_M, HORIZON_S, TIME_SCALE_S, threat_values

ORIGIN = np.zeros((1, 3))


def one(position, velocity, assets=ORIGIN, values=(1.0,), weight=1.0, **kw):
    return threat_values(np.array([position], float), np.array([velocity], float), [weight],
                         np.asarray(assets, float), np.asarray(values, float), **kw)


def test_cpa_of_a_crossing_target_by_hand():
    # 10 km east, flying west at 100 m/s, asset 5 km north of the origin: CPA at x = 0 after 100 s
    ta = one([10_000.0, 0.0, 0.0], [-100.0, 0.0, 0.0], assets=[[0.0, 5_000.0, 0.0]])
    assert ta.t_cpa_s[0, 0] == pytest.approx(100.0)
    assert ta.d_cpa_m[0, 0] == pytest.approx(5_000.0)
    assert ta.time_to_reach_s[0, 0] == pytest.approx(100.0 + 5_000.0 / 100.0)


def test_cpa_of_an_oblique_track_by_hand():
    # track from (0, −8 km) heading north-east at 200 m/s; asset at (6 km, 0): the foot of the
    # perpendicular from the asset onto the line y = x − 8 km is (7 km, −1 km), at √2·7 km along it
    s = 200.0 / math.sqrt(2.0)
    ta = one([0.0, -8_000.0, 0.0], [s, s, 0.0], assets=[[6_000.0, 0.0, 0.0]])
    assert ta.d_cpa_m[0, 0] == pytest.approx(math.hypot(1_000.0, 1_000.0))
    assert ta.t_cpa_s[0, 0] == pytest.approx(math.sqrt(2.0) * 7_000.0 / 200.0)


def test_cpa_overflight_is_the_altitude():
    ta = one([-30_000.0, 0.0, 3_000.0], [250.0, 0.0, 0.0])
    assert ta.t_cpa_s[0, 0] == pytest.approx(120.0)
    assert ta.d_cpa_m[0, 0] == pytest.approx(3_000.0)


def test_receding_and_stationary_tracks_are_at_their_cpa_now():
    away = one([10_000.0, 0.0, 0.0], [300.0, 0.0, 0.0])
    assert away.t_cpa_s[0, 0] == 0.0 and away.d_cpa_m[0, 0] == pytest.approx(10_000.0)
    still = one([10_000.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    assert still.t_cpa_s[0, 0] == 0.0 and still.d_cpa_m[0, 0] == pytest.approx(10_000.0)
    assert still.time_to_reach_s[0, 0] == math.inf and still.value[0] == 0.0
    assert still.most_threatened[0] == -1


def test_cpa_beyond_the_horizon_is_taken_at_the_horizon():
    # a slow track 100 km out heading straight in: at the horizon it is still 100 km − 10·H away
    ta = one([100_000.0, 0.0, 0.0], [-10.0, 0.0, 0.0], horizon_s=600.0)
    assert ta.t_cpa_s[0, 0] == 600.0
    assert ta.d_cpa_m[0, 0] == pytest.approx(94_000.0)


def test_time_to_reach_of_a_target_heading_straight_in():
    ta = one([0.0, 10_000.0, 0.0], [0.0, -250.0, 0.0])
    assert ta.time_to_reach_s[0, 0] == pytest.approx(40.0)
    assert ta.d_cpa_m[0, 0] == pytest.approx(0.0, abs=1e-3)
    # the value follows the documented formula
    assert ta.value[0] == pytest.approx(math.exp(-40.0 / TIME_SCALE_S))


def test_value_formula_by_hand():
    ta = one([10_000.0, 0.0, 0.0], [-100.0, 0.0, 0.0], assets=[[0.0, 5_000.0, 0.0]], values=[3.0],
             weight=2.0)
    expected = 2.0 * 3.0 * math.exp(-5_000.0 / DISTANCE_SCALE_M) * math.exp(-150.0 / TIME_SCALE_S)
    assert ta.value[0] == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(st.floats(1_000.0, 300_000.0), st.floats(1.0, 3_000.0), st.floats(0.0, 2.0 * math.pi),
       st.floats(0.0, 15_000.0))
def test_heading_straight_at_an_asset_outranks_flying_away(r, speed, bearing, alt):
    pos = np.array([r * math.cos(bearing), r * math.sin(bearing), alt])
    inward = -pos / np.linalg.norm(pos) * speed
    ta = threat_values(np.stack([pos, pos]), np.stack([inward, -inward]), [1.0, 1.0], ORIGIN, [1.0])
    assert ta.log_value[0] > ta.log_value[1]
    assert ta.value[0] >= ta.value[1]
    assert list(ta.ranking()) == [0, 1]


def test_tracks_far_out_still_rank_when_their_value_underflows():
    pos = np.array([[900_000.0, 0.0, 0.0], [950_000.0, 0.0, 0.0]])
    ta = threat_values(pos, np.tile([-1.0, 0.0, 0.0], (2, 1)), [1.0, 1.0], ORIGIN, [1.0])
    assert ta.value.tolist() == [0.0, 0.0]
    assert np.all(np.isfinite(ta.log_value)) and ta.log_value[0] > ta.log_value[1]
    assert ta.most_threatened.tolist() == [0, 0]


def test_closer_and_sooner_outranks_farther_and_later():
    pos = np.array([[20_000.0, 0.0, 1_000.0], [60_000.0, 0.0, 1_000.0],   # same course, farther
                    [20_000.0, 2_000.0, 1_000.0], [20_000.0, 15_000.0, 1_000.0]])  # larger miss
    vel = np.tile([-250.0, 0.0, 0.0], (4, 1))
    ta = threat_values(pos, vel, np.ones(4), ORIGIN, [1.0])
    assert ta.value[0] > ta.value[1]
    assert ta.value[2] > ta.value[3]
    # faster on the same course: sooner
    fast = threat_values(pos[:1].repeat(2, 0), np.array([[-250.0, 0, 0], [-500.0, 0, 0]]), [1, 1],
                         ORIGIN, [1.0])
    assert fast.value[1] > fast.value[0]


def test_most_threatened_asset_and_asset_value():
    assets = [[0.0, 0.0, 0.0], [0.0, 40_000.0, 0.0]]
    pos, vel = [20_000.0, 40_000.0, 500.0], [-250.0, 0.0, 0.0]  # heading at the second asset
    assert one(pos, vel, assets=assets, values=[1.0, 1.0]).most_threatened[0] == 1
    assert one(pos, vel, assets=assets, values=[1.0, 0.0]).most_threatened[0] == 0
    ta = one(pos, vel, assets=assets, values=[0.0, 0.0])
    assert ta.most_threatened[0] == -1 and ta.value[0] == 0.0


def test_vectorised_equals_one_track_at_a_time():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-200e3, 200e3, (40, 3))
    vel = rng.uniform(-400, 400, (40, 3))
    w = rng.uniform(0, 3, 40)
    assets = rng.uniform(-100e3, 100e3, (7, 3))
    values = rng.uniform(0, 5, 7)
    all_at_once = threat_values(pos, vel, w, assets, values)
    for i in range(40):
        single = threat_values(pos[i:i + 1], vel[i:i + 1], w[i:i + 1], assets, values)
        assert single.value[0] == pytest.approx(all_at_once.value[i], rel=1e-9)
        assert single.most_threatened[0] == all_at_once.most_threatened[i]
        # against the direct (N, A, 3) computation of the CPA
        rel = pos[i] - assets
        t = np.clip(-(rel @ vel[i]) / (vel[i] @ vel[i]), 0.0, HORIZON_S)
        d = np.linalg.norm(rel + vel[i] * t[:, None], axis=1)
        np.testing.assert_allclose(all_at_once.t_cpa_s[i], t, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(all_at_once.d_cpa_m[i], d, rtol=1e-7, atol=0.05)


def test_no_assets_and_no_tracks():
    ta = threat_values(np.zeros((2, 3)), np.ones((2, 3)), [1.0, 1.0], np.zeros((0, 3)), [])
    assert ta.value.tolist() == [0.0, 0.0] and ta.most_threatened.tolist() == [-1, -1]
    assert ta.asset_threat.shape == (2, 0)
    none = threat_values(np.zeros((0, 3)), np.zeros((0, 3)), [], ORIGIN, [1.0])
    assert none.value.shape == (0,) and none.t_cpa_s.shape == (0, 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"positions_m": np.zeros((2, 2))}, "positions_m"),
    ({"velocities_mps": np.zeros((3, 3))}, "velocities_mps"),
    ({"kind_weight": [1.0, -1.0]}, "kind_weight"),
    ({"asset_value": [np.nan]}, "asset_value"),
    ({"horizon_s": 0.0}, "horizon_s"),
    ({"time_scale_s": -1.0}, "time_scale_s"),
])
def test_bad_inputs_are_refused(kwargs, match):
    args = {"positions_m": np.zeros((2, 3)), "velocities_mps": np.zeros((2, 3)),
            "kind_weight": [1.0, 1.0], "assets_m": ORIGIN, "asset_value": [1.0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        threat_values(**args)


coord = st.floats(-500_000.0, 500_000.0)
vel_c = st.floats(-3_000.0, 3_000.0)
point = st.tuples(coord, coord, st.floats(0.0, 30_000.0))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(point, st.tuples(vel_c, vel_c, vel_c), st.floats(0.0, 10.0)),
                min_size=1, max_size=8),
       st.lists(st.tuples(point, st.floats(0.0, 100.0)), min_size=1, max_size=5),
       st.floats(1.0, 5.0))
def test_values_are_finite_non_negative_and_monotone_in_the_type_weight(tracks, assets, factor):
    pos = np.array([t[0] for t in tracks])
    vel = np.array([t[1] for t in tracks])
    w = np.array([t[2] for t in tracks])
    a = np.array([x[0] for x in assets])
    values = np.array([x[1] for x in assets])
    ta = threat_values(pos, vel, w, a, values)
    assert np.all(np.isfinite(ta.value)) and np.all(ta.value >= 0.0)
    assert np.all(np.isfinite(ta.d_cpa_m)) and np.all(ta.d_cpa_m >= 0.0)
    assert np.all((ta.t_cpa_s >= 0.0) & (ta.t_cpa_s <= HORIZON_S))
    assert np.all(ta.value <= w * values.max() * (1 + 1e-12))
    shown = ta.value > 1e-300
    np.testing.assert_allclose(np.exp(ta.log_value[shown]), ta.value[shown], rtol=1e-9)
    heavier = threat_values(pos, vel, w * factor, a, values)
    assert np.all(heavier.value >= ta.value)
    assert np.array_equal(heavier.most_threatened, ta.most_threatened)
