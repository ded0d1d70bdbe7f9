"""Radar geometry over the effective earth and Swerling 1 detection, against textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.geo.radar_geometry import (
    curvature_coefficient,
    horizon_distance_m,
    line_of_sight_clear,
    slant_range_and_elevation,
)
from iadsim.sensors import detection_probability, detection_range_m, reference_snr


@settings(max_examples=200, deadline=None)
@given(h1=st.floats(1, 5000), h2=st.floats(1, 20000))
def test_horizon_matches_the_4_12_rule_within_1_percent(h1, h2):
    # the radar horizon with k = 4/3: d ≈ 4.12 (√h1 + √h2) km, h in metres (Skolnik)
    rule_m = 4120.0 * (math.sqrt(h1) + math.sqrt(h2))
    assert horizon_distance_m(h1, h2) == pytest.approx(rule_m, rel=0.01)


def test_horizon_without_refraction_is_3_57_rule():
    # k = 1 (geometric horizon): d ≈ 3.57 √h km
    assert horizon_distance_m(100.0, 0.0, k=1.0) == pytest.approx(35_700, rel=0.01)


def test_curvature_coefficient_for_radio():
    assert curvature_coefficient(4 / 3) == pytest.approx(0.75)


def test_terrain_horizon_matches_smooth_earth_horizon():
    # on a flat DEM the viewshed kernel's horizon must equal the effective-earth formula
    from iadsim.geo.viewshed import min_visible_height

    cell = 500.0
    dem = np.zeros((3, 301), dtype=np.float32)
    minvis = min_visible_height(dem, cell, 1, 0, 30.0, 200e3, curvature_coeff=curvature_coefficient())
    visible_cols = np.flatnonzero(minvis[1] <= 0.0)
    assert visible_cols.max() * cell == pytest.approx(float(horizon_distance_m(30.0, 0.0)), abs=cell)
    # and a 100 m target is visible out to the two-horizon distance
    reach = np.flatnonzero(minvis[1] <= 100.0).max() * cell
    assert reach == pytest.approx(float(horizon_distance_m(30.0, 100.0)), abs=cell)


def test_slant_range_and_elevation_limits():
    slant, elev = slant_range_and_elevation(0.0, 10.0, 1010.0)
    assert slant == pytest.approx(1000.0) and elev == pytest.approx(math.pi / 2)
    slant, elev = slant_range_and_elevation(100_000.0, 0.0, 0.0)
    assert slant == pytest.approx(100_000.0, rel=1e-3) and elev < 0  # the ground drops away


def test_line_of_sight_at_the_horizon():
    d = float(horizon_distance_m(25.0, 100.0))
    assert line_of_sight_clear(d * 0.999, 25.0, 100.0)
    assert not line_of_sight_clear(d * 1.001, 25.0, 100.0)


def test_pd_at_reference_range_equals_reference_pd():
    assert detection_probability(120e3, 3.0, 120e3, 3.0, 0.5) == pytest.approx(0.5)
    assert detection_probability(200e3, 1.0, 200e3, 1.0, 0.8) == pytest.approx(0.8)


def test_detection_range_scales_with_fourth_root_of_rcs():
    r_ref = 100e3
    for sigma in (0.01, 0.1, 1.0, 3.0, 100.0):
        r = detection_range_m(0.5, sigma, r_ref, 3.0, 0.5)
        assert r == pytest.approx(r_ref * (sigma / 3.0) ** 0.25, rel=1e-9)
    # 16 times smaller RCS halves the range
    assert detection_range_m(0.5, 3.0 / 16, r_ref, 3.0, 0.5) == pytest.approx(r_ref / 2)


def test_swerling1_closed_form():
    # Pd = Pfa^(1/(1+SNR)): SNR for Pd 0.5 at Pfa 1e-6 is ln(1e-6)/ln(0.5) - 1 = 18.93 (12.8 dB)
    assert reference_snr(0.5, 1e-6) == pytest.approx(18.93, abs=0.01)


@settings(max_examples=100, deadline=None)
@given(r1=st.floats(1e3, 5e5), r2=st.floats(1e3, 5e5), sigma=st.floats(1e-3, 1e3))
def test_pd_decreases_with_range(r1, r2, sigma):
    p1, p2 = detection_probability(np.array([r1, r2]), sigma, 150e3, 3.0, 0.5)
    assert 0 < p1 < 1 and 0 < p2 < 1
    if r1 < r2:
        assert p1 >= p2
