"""Launch acceptability regions (iadsim.engagement.lar): against the published kill-zone limits of
each catalog missile (km tolerances), properties over aspect and speed, and the tables against
the direct flyout computation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.engagement.lar import (
    TERMINAL_SPEED_RATIO,
    Aspect,
    Refusal,
    _edges,
    aspect_deg,
    launch_region,
)
from iadsim.engagement.missile import missile_profile, predicted_intercept, time_of_flight_s
from iadsim.scenario import load_scenario
from iadsim.scenario.schema import MissileType

CATALOG = load_scenario("reference-2020").catalog
SAMS = ["s300ps_5v55r", "s300pmu1_48n6", "s400_48n6dm", "s400_40n6", "tor_m2_9m338"]


@pytest.fixture(scope="module")
def regions():
    return {m: launch_region(CATALOG.missiles[m]) for m in SAMS}


@pytest.mark.parametrize("mid", SAMS)
def test_region_reproduces_the_published_kill_zone_limits(regions, mid):
    """No zone-of-destruction diagram of these missiles is public (catalog: zone_of_destruction);
    the region is checked against the published limits the catalog cites: the far edge of a
    hovering target is the maximum (slant) range, the near edge of one at the lowest altitude the
    minimum range, the far edge of an approaching target the maximum range plus the distance it
    flies during the missile's flight to that range."""
    m = CATALOG.missiles[mid]
    lar = regions[mid]
    assert "none public" in (m.zone_of_destruction or "")
    r_km, h_km = m.max_range_km, min(10.0, m.max_altitude_km / 2)
    near, far = lar.edges_m(h_km * 1000, 0.0, Aspect.crossing.degrees)
    assert far / 1000 == pytest.approx(np.sqrt(r_km**2 - h_km**2), abs=0.5)
    low = m.min_altitude_m + 1.0
    near, far = lar.edges_m(low, 0.0, 0.0)
    assert near / 1000 == pytest.approx(m.min_range_km, abs=0.3)
    v = 250.0
    tof = float(time_of_flight_s(m, r_km * 1000 * 0.999))
    near, far = lar.edges_m(h_km * 1000, v, Aspect.approaching.degrees)
    assert far / 1000 == pytest.approx(np.sqrt(r_km**2 - h_km**2) + v * tof / 1000, abs=1.0)
    # outside the published altitude and target-speed limits, nothing
    assert not lar.contains(1000.0, m.max_altitude_km * 1000 + 100, 100.0, 0.0)
    assert not lar.contains(1000.0, m.min_altitude_m / 2, 100.0, 0.0)
    if m.max_target_speed_mps is not None:
        assert not lar.contains(r_km * 500, 5000.0, m.max_target_speed_mps + 1, 0.0)
        assert lar.refusal(r_km * 500, 5000.0, m.max_target_speed_mps + 1, 0.0) == Refusal.target_speed


@pytest.mark.parametrize("mid", ["s300pmu1_48n6", "tor_m2_9m338"])
def test_tables_agree_with_the_direct_flyout(regions, mid):
    """Interpolated edges against edges computed directly at random states between the nodes:
    within 0.4 km (far) and 1 km (near) at aircraft and cruise-missile speeds (≤ 350 m/s)."""
    m = CATALOG.missiles[mid]
    lar = regions[mid]
    rng = np.random.default_rng(7)
    n = 120
    h = rng.uniform(lar.min_altitude_m, lar.max_altitude_m, n)
    v = rng.uniform(0.0, 350.0, n)
    a = rng.uniform(0.0, 180.0, n)
    near, far = _edges(missile_profile(m), h, v, a, TERMINAL_SPEED_RATIO)
    near_i, far_i = lar.edges_m(h, v, a)
    assert np.max(np.abs(far_i - far)) <= 400.0
    assert np.max(np.abs(near_i - near)) <= 1000.0


@settings(max_examples=60, deadline=None)
@given(mid=st.sampled_from(SAMS), v=st.floats(-50.0, 5000.0), a=st.floats(-720.0, 720.0),
       seed=st.integers(0, 2**32 - 1))
def test_one_speed_and_aspect_path_gives_the_3d_interpolation(mid, v, a, seed):
    """Many altitudes at one (speed, aspect), the coverage map's call, take a path linear in
    altitude between per-altitude profiles; it gives the 3-D interpolation's edges (to 1 mm), for
    speeds and aspects off the table and altitudes inside, outside and at its nodes."""
    lar = launch_region(CATALOG.missiles[mid])  # kept by the module after the first call
    rng = np.random.default_rng(seed)
    h = np.concatenate([rng.uniform(-100.0, lar.max_altitude_m + 2000.0, 200), lar.altitude_m,
                        [lar.min_altitude_m, lar.max_altitude_m, np.nan]])[None, :]
    near, far = lar.edges_m(h, v, a)  # scalar speed and aspect: the profile path
    near3, far3 = lar.edges_m(h, np.full(h.shape, v), np.full(h.shape, a))  # the 3-D path
    assert near.shape == far.shape == h.shape
    np.testing.assert_allclose(near, near3, rtol=0, atol=1e-3)
    np.testing.assert_allclose(far, far3, rtol=0, atol=1e-3)
    ground = rng.uniform(0.0, lar.max_far_m() * 1.1 + 1.0, h.shape)
    agree = lar.contains(ground, h, v, a) == lar.contains(ground, h, np.full(h.shape, v), np.full(h.shape, a))
    assert agree.all()


def _direct_acceptable(mid, rho_m, h, v, a_deg):
    """Brute force: each launch distance's earliest intercept by the engine's flyout search
    (``predicted_intercept`` with 2,048 time samples), then the kill zone and the speed margin."""
    p = missile_profile(CATALOG.missiles[mid])
    n = len(rho_m)
    a = np.radians(a_deg)
    target = np.column_stack([rho_m, np.zeros(n), np.full(n, h)])
    vel = np.tile([-v * np.cos(a), v * np.sin(a), 0.0], (n, 1))
    hit = predicted_intercept(np.zeros((n, 3)), target, vel, p, earth_radius_m=None, samples=2048)
    tof = np.where(np.isfinite(hit.time_of_flight_s), hit.time_of_flight_s, 0.0)
    return hit.feasible & (p.speed_mps(tof) >= TERMINAL_SPEED_RATIO * v)


@pytest.mark.parametrize("mid", SAMS)
def test_edges_agree_with_a_brute_force_flyout_search(mid):
    """The edges found from the reach intervals (``_edges``) against the hull of the launch
    distances that a brute-force search over a 100 m grid of distances accepts: within 150 m, at
    random states up to the table's top speed (including the narrow regions near it)."""
    p = missile_profile(CATALOG.missiles[mid])
    lar = launch_region(CATALOG.missiles[mid])
    rng = np.random.default_rng(11)
    step = 100.0
    for _ in range(12):
        h = rng.uniform(lar.min_altitude_m, lar.max_altitude_m)
        v = rng.uniform(0.0, lar.speed_mps[-1])
        a = rng.uniform(0.0, 180.0)
        near, far = (float(x[0]) for x in _edges(p, np.array([h]), np.array([v]), np.array([a]),
                                                  TERMINAL_SPEED_RATIO))
        rho = np.arange(0.0, float(p.max_range_m) + v * float(p.max_flight_time_s) + step, step)
        ok = _direct_acceptable(mid, rho, h, v, a)
        if not ok.any():
            assert far - near <= step, (h, v, a, near, far)
            continue
        assert near == pytest.approx(rho[ok][0], abs=1.5 * step), (h, v, a)
        assert far == pytest.approx(rho[ok][-1], abs=1.5 * step), (h, v, a)


_states = st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
                    st.sampled_from(SAMS))


@settings(max_examples=200, deadline=None)
@given(_states)
def test_receding_never_farther_than_approaching_and_faster_receding_never_farther(state):
    hf, vf, v2f, af, mid = state
    lar = launch_region(CATALOG.missiles[mid])
    h = lar.min_altitude_m + hf * (lar.max_altitude_m - lar.min_altitude_m)
    v = vf * lar.speed_mps[-1]
    _, approaching = lar.edges_m(h, v, 0.0)
    _, receding = lar.edges_m(h, v, 180.0)
    assert receding <= approaching + 1e-6
    # more generally: the far edge shrinks as the aspect turns from approaching to receding
    a1, a2 = sorted((af * 180.0, v2f * 180.0))
    assert lar.edges_m(h, v, a2)[1] <= lar.edges_m(h, v, a1)[1] + 1e-6
    faster = v + v2f * (lar.speed_mps[-1] - v)
    assert lar.edges_m(h, faster, 180.0)[1] <= receding + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(1.0, 500.0), st.floats(0.0, 360.0))
def test_aspect_is_the_angle_between_heading_and_the_line_to_the_launcher(x, y, speed, heading):
    target = np.array([[x, y, 1000.0]])
    h = np.radians(heading)
    vel = np.array([[speed * np.sin(h), speed * np.cos(h), 0.0]])
    a = float(aspect_deg(target, vel, np.zeros((1, 3)))[0])
    assert 0.0 <= a <= 180.0
    if np.hypot(x, y) > 1.0:
        los = -target[0, :2] / np.hypot(x, y)
        cos = float(los @ vel[0, :2]) / speed
        assert np.cos(np.radians(a)) == pytest.approx(cos, abs=1e-6)


def test_named_aspects_and_mirror_headings():
    assert [a.degrees for a in Aspect] == [0.0, 90.0, 180.0]
    lar = launch_region(CATALOG.missiles["tor_m2_9m338"])
    assert lar.edges_m(3000.0, 200.0, 300.0)[1] == pytest.approx(lar.edges_m(3000.0, 200.0, 60.0)[1])


def test_regions_are_kept_by_the_flyouts_numbers_only():
    """A missile that differs in its kill probability, warhead or provenance gets the kept region
    (its tables do not read them); one that differs in a kinematic number gets its own."""
    m = CATALOG.missiles["s300pmu1_48n6"]
    kept = launch_region(m)
    same = m.model_copy(update={"single_shot_pk": 0.55, "warhead_kg": 99.0, "note": "changed"})
    assert launch_region(same) is kept
    for field, value in (("max_range_km", 140.0), ("max_speed_mps", 1900.0), ("min_altitude_m", 20.0),
                         ("max_target_speed_mps", 1000.0), ("min_range_km", 4.0), ("max_altitude_km", 25.0)):
        other = launch_region(m.model_copy(update={field: value}))
        assert other is not kept and not (np.array_equal(other.far_m, kept.far_m)
                                           and np.array_equal(other.near_m, kept.near_m)
                                           and np.array_equal(other.altitude_m, kept.altitude_m)
                                           and np.array_equal(other.speed_mps, kept.speed_mps)), field


def test_the_regions_kept_are_those_used_last():
    """A region in use stays while 64 others are computed once each (as an interval design's new
    ranges of one missile would be)."""
    m = CATALOG.missiles["tor_m2_9m338"]
    used = launch_region(m)
    for i in range(70):
        launch_region(m.model_copy(update={"max_range_km": 8.0 + i * 0.05}))
        assert launch_region(m) is used


def test_a_missile_without_speed_or_a_bad_margin_is_refused():
    m = CATALOG.missiles["r73"].model_copy(update={"max_speed_mps": None})
    with pytest.raises(ValueError, match="max_speed_mps"):
        launch_region(m)
    with pytest.raises(ValueError, match="at least 1"):
        launch_region(CATALOG.missiles["r73"], terminal_speed_ratio=0.5)


def test_inconsistent_missile_entries_are_validation_errors():
    base = CATALOG.missiles["r73"].model_dump()
    for bad in ({"min_range_km": 40.0}, {"max_speed_mps": -1.0}, {"max_target_speed_mps": 0.0}):
        with pytest.raises(ValueError):
            MissileType.model_validate({**base, **bad})
