"""ENU frames and point-to-point line of sight."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.geo import geodetic_to_ecef
from iadsim.geo.frames import ecef_to_enu, enu_to_ecef
from iadsim.geo.line_of_sight import line_of_sight
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.geo.terrain import load_dem


def test_enu_axes():
    origin = (53.9, 27.57)
    north = geodetic_to_ecef(53.9 + 0.01, 27.57, 0.0)
    up = geodetic_to_ecef(53.9, 27.57, 1000.0)
    e, n, u = ecef_to_enu(north, *origin)[0]
    assert n == pytest.approx(1112.6, abs=1.0) and abs(e) < 1e-6 and u < 0
    np.testing.assert_allclose(ecef_to_enu(up, *origin)[0], [0, 0, 1000.0], atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(lat=st.floats(-80, 80), lon=st.floats(-179, 179),
       enu=st.lists(st.floats(-5e5, 5e5), min_size=3, max_size=3))
def test_enu_round_trip(lat, lon, enu):
    back = ecef_to_enu(enu_to_ecef(enu, lat, lon), lat, lon)[0]
    np.testing.assert_allclose(back, enu, atol=1e-6)


def test_smooth_line_of_sight_matches_the_horizon():
    d = float(horizon_distance_m(30.0, 1000.0))
    # a target due east at distance d * (1 ± 1 %) along the 54th parallel's great circle
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    lon_in, lat_in, _ = g.fwd(27.0, 54.0, 90.0, d * 0.99)
    lon_out, lat_out, _ = g.fwd(27.0, 54.0, 90.0, d * 1.01)
    seen = line_of_sight([54.0, 54.0], [27.0, 27.0], 30.0, [lat_in, lat_out], [lon_in, lon_out], 1000.0)
    assert seen.tolist() == [True, False]


def test_terrain_ridge_blocks_the_view(tmp_path):
    # flat ground with a 600 m ridge along 27.5 E
    heights = np.zeros((200, 400), dtype=np.float32)
    transform = Affine(0.005, 0, 26.0, 0, -0.005, 54.5)
    ridge_col = int((27.5 - 26.0) / 0.005)
    heights[:, ridge_col - 1:ridge_col + 2] = 600.0
    path = tmp_path / "ridge.tif"
    with rasterio.open(path, "w", driver="GTiff", height=200, width=400, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform) as dst:
        dst.write(heights, 1)
    terrain = load_dem(path)
    # radar at 27.0 E, 20 m; targets at 27.4 E (in front) and 27.8 E (behind), 200 m high
    seen = line_of_sight(54.0, 27.0, 20.0, [54.0, 54.0], [27.4, 27.8], 200.0, terrain=terrain)
    assert seen.tolist() == [True, False]
    # high above the ridge it is visible again
    assert line_of_sight(54.0, 27.0, 20.0, 54.0, 27.8, 3000.0, terrain=terrain).tolist() == [True]
    # without terrain both are visible
    assert line_of_sight(54.0, 27.0, 20.0, [54.0, 54.0], [27.4, 27.8], 200.0).tolist() == [True, True]
