"""WGS84 geodesy against known values and round trips."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.geo import ecef_to_geodetic, geodesic_distance_m, geodetic_to_ecef

WGS84_A = 6378137.0
WGS84_B = 6356752.314245


def test_ecef_of_reference_points():
    np.testing.assert_allclose(geodetic_to_ecef(0, 0, 0), [[WGS84_A, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef(0, 90, 0), [[0, WGS84_A, 0]], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef(90, 0, 0), [[0, 0, WGS84_B]], atol=1e-3)
    np.testing.assert_allclose(geodetic_to_ecef(0, 0, 1000), [[WGS84_A + 1000, 0, 0]], atol=1e-6)


def test_scalar_and_array_shapes():
    assert geodetic_to_ecef(53.9, 27.57).shape == (1, 3)
    assert geodetic_to_ecef([53.9, 54.7], [27.57, 20.51], 100.0).shape == (2, 3)


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-89.9, 89.9), lon=st.floats(-180, 180), alt=st.floats(-400, 50_000))
def test_round_trip_within_a_millimetre(lat, lon, alt):
    lat2, lon2, alt2 = ecef_to_geodetic(geodetic_to_ecef(lat, lon, alt))
    assert abs(lat2[0] - lat) < 1e-8
    dlon = (lon2[0] - lon + 180) % 360 - 180
    assert abs(dlon) < 1e-8
    assert abs(alt2[0] - alt) < 1e-3


def test_geodesic_distance_minsk_vilnius():
    # Minsk (53.9000 N, 27.5667 E) to Vilnius (54.6892 N, 25.2798 E): about 172 km on WGS84
    d = geodesic_distance_m(53.9, 27.5667, 54.6892, 25.2798)[0]
    assert 170_000 < d < 175_000


def test_geodesic_one_degree_of_latitude():
    # a meridian degree at 45 N on WGS84 is 111.132 km (standard tables)
    d = geodesic_distance_m(44.5, 20.0, 45.5, 20.0)[0]
    assert abs(d - 111_132) < 10
