"""Air traffic ground truth: flights, raids, orbits and civil airways as knots, and state_at."""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

import iadsim
from iadsim.geo import ecef_to_geodetic, geodetic_to_ecef
from iadsim.geo.frames import ecef_to_enu
from iadsim.geo.terrain import Terrain, default_terrain, load_dem
from iadsim.scenario.schema import (
    AircraftType,
    Catalog,
    CivilTraffic,
    Flight,
    Orbit,
    Place,
    Raid,
    Scenario,
    Traffic,
    Waypoint,
)
from iadsim.sim.traffic import (
    DEFAULT_CLIMB_RATE_MPS,
    FLIGHT_LEVEL_STEP_M,
    HIGH_SPACING_M,
    LOW_SPACING_M,
    TrafficError,
    Trajectories,
    build_trajectories,
    estimate_objects,
)

GEOD = Geod(ellps="WGS84")
R_EARTH = 6_371_000.0


def _type(role: str, max_speed: float | None = None, climb: float | None = None, rcs: float | None = 1.0,
          radar: str | None = None) -> AircraftType:
    fields = {"max_speed_kmh": max_speed, "climb_rate_mps": climb, "rcs_m2": rcs}
    return AircraftType(name=f"test {role}", role=role, radar=radar,
                        assumed={k: "test value" for k, v in fields.items() if v is not None},
                        **fields)


CATALOG = Catalog(aircraft={
    "jet": _type("fighter", max_speed=2000.0, climb=20.0, rcs=3.0),
    "slow": _type("transport", max_speed=300.0),  # no climb rate: the default applies
    "missile": _type("cruise_missile", max_speed=900.0, rcs=0.1),
    "aew": _type("aew", max_speed=800.0, rcs=100.0, radar="big_radar"),
    "liner": _type("airliner", max_speed=950.0, rcs=None),
})
PLACES = {"minsk": Place(name="Minsk", lat_deg=53.9, lon_deg=27.5667, source=["test"])}


def scenario(duration_s: float = 3600.0, **traffic: dict) -> Scenario:
    return Scenario(name="traffic test", as_of=dt.date(2020, 12, 31), duration_s=duration_s, tick_s=1.0,
                    catalog=CATALOG, places=PLACES, traffic=Traffic(**traffic))


def wp(lat: float, lon: float, **kw) -> Waypoint:
    return Waypoint(lat_deg=lat, lon_deg=lon, **kw)


def build(sc: Scenario, seed: int = 0, terrain: Terrain | None = None, **kw) -> Trajectories:
    return build_trajectories(sc, np.random.default_rng(seed), terrain, **kw)


def geodetic_state(tr: Trajectories, t: float):
    active, pos, vel = tr.state_at(t)
    lat, lon, alt = ecef_to_geodetic(pos)
    return active, lat, lon, alt, vel


def knots(tr: Trajectories, i: int) -> slice:
    return slice(int(tr.knot_offset[i]), int(tr.knot_offset[i + 1]))


# --- synthetic DEM -----------------------------------------------------------------------------

DEM_LON0, DEM_LAT1, DEM_RES = 24.0, 55.5, 0.005  # 24–28 E, 53–55.5 N


def hills(lon, lat):
    """Test terrain: 300 m ± 150 m, wavelengths 0.3° of longitude and 0.2° of latitude."""
    return 300.0 + 150.0 * np.sin(2 * np.pi * np.asarray(lon) / 0.3) * np.cos(2 * np.pi * np.asarray(lat) / 0.2)


@pytest.fixture(scope="module")
def hill_dem(tmp_path_factory) -> Terrain:
    path: Path = tmp_path_factory.mktemp("dem") / "hills.tif"
    cols, rows = round(4.0 / DEM_RES), round(2.5 / DEM_RES)
    transform = Affine(DEM_RES, 0, DEM_LON0, 0, -DEM_RES, DEM_LAT1)
    col, row = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    lon, lat = transform @ (col, row)
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform) as ds:
        ds.write(hills(lon, lat).astype(np.float32), 1)
    return load_dem(path)


# --- flights -----------------------------------------------------------------------------------

A, B = (53.2, 24.5), (54.1, 26.9)


def straight(**kw) -> Scenario:
    args = {"type": "jet", "nation": "X", "start_s": 100.0, "speed_kmh": 720.0, "alt_m": 5000.0,
            "route": [wp(*A), wp(*B)]} | kw
    return scenario(flights={"f": Flight(**args)})


def test_straight_flight_midpoint_is_the_geodesic_midpoint():
    tr = build(straight())
    az, _, dist = GEOD.inv(A[1], A[0], B[1], B[0])
    duration = dist / 200.0
    assert tr.start_s[0] == 100.0 and tr.end_s[0] == pytest.approx(100.0 + duration)
    for share in (0.5, 0.137, 0.9):
        lon, lat, _ = GEOD.fwd(A[1], A[0], az, share * dist)
        expected = geodetic_to_ecef(lat, lon, 5000.0)[0]
        _, pos, _ = tr.state_at(100.0 + share * duration)
        assert np.linalg.norm(pos[0] - expected) < 50.0
    # first and last knot are the waypoints
    k = knots(tr, 0)
    assert np.allclose(tr.knot_ecef_m[k][[0, -1]], geodetic_to_ecef([A[0], B[0]], [A[1], B[1]], 5000.0), atol=1e-3)
    # 10 km spacing at 5,000 m
    steps = np.linalg.norm(np.diff(tr.knot_ecef_m[k], axis=0), axis=1)
    assert steps.max() <= HIGH_SPACING_M * (1 + 5000 / R_EARTH) + 1e-6
    assert tr.object_id[0] == "f" and tr.source[0] == "traffic.flights.f" and tr.type_id[0] == "jet"
    assert tr.rcs_m2[0] == 3.0 and not tr.radar_on[0]


def test_speed_from_state_at_is_the_flight_speed():
    tr = build(straight())
    for t in np.linspace(100.0, tr.end_s[0], 37):
        _, _, vel = tr.state_at(t)
        speed_kmh = np.linalg.norm(vel[0]) * 3.6
        assert speed_kmh == pytest.approx(720.0, rel=0.005)


def test_low_flight_has_knots_every_two_km():
    tr = build(straight(alt_m=300.0, speed_kmh=300.0))
    steps = np.linalg.norm(np.diff(tr.knot_ecef_m[knots(tr, 0)], axis=0), axis=1)
    assert steps.max() <= LOW_SPACING_M + 1.0


def test_msl_flight_within_1000_m_of_the_ground_gets_low_spacing(hill_dem):
    sc = straight(alt_m=1200.0, speed_kmh=400.0, route=[wp(53.4, 24.6), wp(54.6, 26.8)])
    for terrain, spacing in ((None, HIGH_SPACING_M), (hill_dem, LOW_SPACING_M)):
        tr = build(sc, terrain=terrain)
        steps = np.linalg.norm(np.diff(tr.knot_ecef_m, axis=0), axis=1)
        assert spacing * 0.9 < steps.max() <= spacing * (1 + 1200 / R_EARTH) + 1e-6


def test_climb_at_the_type_climb_rate_from_the_waypoint():
    # 1,000 m until the middle waypoint, then climb to 4,000 m at the type's 20 m/s
    mid = (53.6, 25.6)
    sc = straight(alt_m=1000.0, route=[wp(*A), wp(*mid, alt_m=4000.0), wp(*B)])
    tr = build(sc)
    t_mid = 100.0 + GEOD.inv(A[1], A[0], mid[1], mid[0])[2] / 200.0
    for dt_s, expected in ((-60.0, 1000.0), (0.0, 1000.0), (30.0, 1600.0), (90.0, 2800.0), (149.0, 3980.0),
                           (150.0, 4000.0), (400.0, 4000.0)):
        _, _, _, alt, _ = geodetic_state(tr, t_mid + dt_s)
        assert alt[0] == pytest.approx(expected, abs=3.0), dt_s  # 3 m: chord sag of 10 km segments
    # a knot where the climb ends, so the profile is exact between knots
    assert np.any(np.isclose(tr.knot_time_s[knots(tr, 0)], t_mid + 150.0))


def test_descent_without_a_type_climb_rate_uses_the_default():
    sc = scenario(flights={"f": Flight(type="slow", nation="X", speed_kmh=250.0, alt_m=3000.0,
                                       route=[wp(*A), wp(53.3, 24.8, alt_m=1500.0), wp(*B)])})
    tr = build(sc)
    t_mid = GEOD.inv(A[1], A[0], 24.8, 53.3)[2] / (250 / 3.6)
    _, _, _, alt, _ = geodetic_state(tr, t_mid + 40.0)
    assert alt[0] == pytest.approx(3000.0 - 40.0 * DEFAULT_CLIMB_RATE_MPS, abs=1.0)
    _, _, _, alt, _ = geodetic_state(tr, t_mid + 1500.0 / DEFAULT_CLIMB_RATE_MPS + 1.0)
    assert alt[0] == pytest.approx(1500.0, abs=1.0)


def test_waypoint_speed_applies_from_that_waypoint_on():
    mid = (53.6, 25.6)
    tr = build(straight(route=[wp(*A), wp(*mid, speed_kmh=360.0), wp(*B)]))
    d1 = GEOD.inv(A[1], A[0], mid[1], mid[0])[2]
    d2 = GEOD.inv(mid[1], mid[0], B[1], B[0])[2]
    assert tr.end_s[0] == pytest.approx(100.0 + d1 / 200.0 + d2 / 100.0)
    _, _, vel = tr.state_at(100.0 + d1 / 200.0 + 10.0)
    assert np.linalg.norm(vel[0]) * 3.6 == pytest.approx(360.0, rel=0.005)


def test_terrain_following_keeps_the_height_above_ground(hill_dem):
    sc = straight(speed_kmh=400.0, alt_m=300.0, alt_ref="agl", route=[wp(53.4, 24.6), wp(54.6, 26.8)])
    tr = build(sc, terrain=hill_dem)
    k = knots(tr, 0)
    lat, lon, alt = ecef_to_geodetic(tr.knot_ecef_m[k])
    assert np.allclose(alt - hills(lon, lat), 300.0, atol=1.0)  # at the knots (DEM bilinear: < 1 m)
    assert np.allclose(tr.knot_alt_m[k], alt, atol=1e-3)
    times = np.linspace(tr.start_s[0], tr.end_s[0], 2000)
    agl = np.array([geodetic_state(tr, t)[3][0] - hill_dem.height_at(*geodetic_state(tr, t)[1:3])[0]
                    for t in times])
    # between knots (≤ 2 km) the path is straight: error ≤ |h''| d² / 8 ≈ 150 m · (2π/19.6 km)² +
    # (2π/22 km)² · (2 km)² / 8 ≈ 14 m for these hills
    assert np.abs(agl - 300.0).max() < 15.0
    assert abs(agl.mean() - 300.0) < 3.0


def test_smooth_earth_agl_is_msl():
    tr = build(straight(alt_m=300.0, alt_ref="agl"))
    assert np.allclose(tr.knot_alt_m, 300.0)


# --- raids -------------------------------------------------------------------------------------

ORIGIN = (53.6, 22.3)


def raid_scenario(count: int = 200, **kw) -> Scenario:
    args = {"type": "missile", "nation": "X", "count": count, "start_s": 60.0, "spread_s": 300.0,
            "origin": wp(*ORIGIN), "origin_radius_km": 30.0,
            "destinations": [Waypoint(place="minsk"), wp(53.13, 26.01)], "speed_kmh": 800.0,
            "alt_m": 50.0, "alt_ref": "agl", "spread_deg": 8.0} | kw
    return scenario(raids={"salvo": Raid(**args)})


def test_raid_objects_launch_times_and_destinations():
    tr = build(raid_scenario())
    assert len(tr) == 200
    assert tr.object_id[0] == "salvo-0001" and tr.object_id[-1] == "salvo-0200"
    assert set(tr.source) == {"traffic.raids.salvo"} and not tr.flight_plan.any() and not tr.iff.any()
    assert np.all((tr.start_s >= 60.0) & (tr.start_s <= 360.0))
    assert tr.start_s.max() - tr.start_s.min() > 250.0  # spread over the window
    last = tr.knot_ecef_m[tr.knot_offset[1:] - 1]
    dests = geodetic_to_ecef([53.9, 53.13], [27.5667, 26.01], 50.0)
    # round-robin over the destinations
    assert np.allclose(last[0::2], dests[0], atol=1.0) and np.allclose(last[1::2], dests[1], atol=1.0)
    # every object flies at the raid's speed
    _, _, vel = tr.state_at(400.0)
    assert np.allclose(np.linalg.norm(vel, axis=1)[~np.isnan(vel[:, 0])] * 3.6, 800.0, rtol=0.005)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_raid_origins_lie_in_the_disc_and_headings_in_the_spread(seed):
    tr = build(raid_scenario(count=40), seed=seed)
    first = tr.knot_offset[:-1]
    lat, lon, _ = ecef_to_geodetic(tr.knot_ecef_m[first])
    dist = GEOD.inv(np.full(lat.size, ORIGIN[1]), np.full(lat.size, ORIGIN[0]), lon, lat)[2]
    assert np.all(dist <= 30_000.0 + 1.0)
    # the first leg departs within ±spread_deg of the bearing to the destination
    lat2, lon2, _ = ecef_to_geodetic(tr.knot_ecef_m[first + 1])
    dest_lat = np.where(np.arange(40) % 2 == 0, 53.9, 53.13)
    dest_lon = np.where(np.arange(40) % 2 == 0, 27.5667, 26.01)
    heading = GEOD.inv(lon, lat, lon2, lat2)[0]
    bearing = GEOD.inv(lon, lat, dest_lon, dest_lat)[0]
    off = (heading - bearing + 180.0) % 360.0 - 180.0
    assert np.all(np.abs(off) <= 8.0 + 0.01)


def test_raid_origins_are_uniform_over_the_disc():
    tr = build(raid_scenario(count=4000, alt_m=3000.0, alt_ref="msl", destinations=[Waypoint(place="minsk")]))
    lat, lon, _ = ecef_to_geodetic(tr.knot_ecef_m[tr.knot_offset[:-1]])
    r = GEOD.inv(np.full(lat.size, ORIGIN[1]), np.full(lat.size, ORIGIN[0]), lon, lat)[2] / 30_000.0
    # uniform over the disc: P(r < x) = x²
    for x in (0.25, 0.5, 0.75):
        assert np.mean(r < x) == pytest.approx(x**2, abs=4 * math.sqrt(x**2 * (1 - x**2) / 4000))


def test_raid_same_seed_same_arrays_other_seed_different():
    sc = raid_scenario(count=50)
    a, b, c = build(sc, seed=5), build(sc, seed=5), build(sc, seed=6)
    for name in ("knot_time_s", "knot_ecef_m", "knot_offset", "start_s"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.start_s, c.start_s)
    assert not np.allclose(a.knot_ecef_m[a.knot_offset[:-1]], c.knot_ecef_m[c.knot_offset[:-1]])


def test_raid_draws_do_not_depend_on_other_records():
    sc = raid_scenario(count=30)
    other = Raid(type="missile", nation="X", count=7, origin=wp(52.0, 23.0), origin_radius_km=10.0,
                 destinations=[wp(52.5, 25.0)], speed_kmh=700.0, alt_m=100.0, spread_s=50.0)
    both = sc.with_changes(traffic=Traffic(raids={"aaa": other, **sc.traffic.raids}))
    a, b = build(sc, seed=3), build(both, seed=3)
    rows = np.flatnonzero(b.source == "traffic.raids.salvo")
    assert np.array_equal(a.start_s, b.start_s[rows])


def test_raid_without_spread_flies_the_geodesic():
    tr = build(raid_scenario(count=3, origin_radius_km=0.0, spread_deg=0.0, spread_s=0.0, alt_m=2000.0,
                             alt_ref="msl", destinations=[Waypoint(place="minsk")]))
    assert np.allclose(tr.knot_ecef_m[knots(tr, 0)], tr.knot_ecef_m[knots(tr, 2)], atol=1e-3)
    az, _, dist = GEOD.inv(ORIGIN[1], ORIGIN[0], 27.5667, 53.9)
    lon, lat, _ = GEOD.fwd(ORIGIN[1], ORIGIN[0], az, 0.3 * dist)
    _, pos, _ = tr.state_at(60.0 + 0.3 * dist / (800 / 3.6))
    assert np.linalg.norm(pos[0] - geodetic_to_ecef(lat, lon, 2000.0)[0]) < 50.0


# --- orbits ------------------------------------------------------------------------------------

CENTER = (54.2, 23.0)


def orbit_scenario(**kw) -> Scenario:
    args = {"type": "aew", "nation": "X", "center": wp(*CENTER), "length_km": 120.0, "width_km": 40.0,
            "heading_deg": 30.0, "speed_kmh": 600.0, "alt_m": 9000.0, "start_s": 200.0} | kw
    return scenario(duration_s=7200.0, orbits={"aew-orbit": Orbit(**args)})


def test_orbit_stays_on_the_racetrack():
    tr = build(orbit_scenario())
    assert tr.object_id[0] == "aew-orbit" and tr.radar_on[0]
    assert tr.start_s[0] == 200.0 and tr.end_s[0] == 7200.0
    times = np.arange(200.0, 7200.0, 5.0)
    lat, lon, _ = ecef_to_geodetic(np.array([tr.state_at(t)[1][0] for t in times]))
    enu = ecef_to_enu(geodetic_to_ecef(lat, lon, 0.0), *CENTER)  # the ground track
    h = math.radians(30.0)
    along = enu[:, 0] * math.sin(h) + enu[:, 1] * math.cos(h)
    across = enu[:, 0] * math.cos(h) - enu[:, 1] * math.sin(h)
    assert np.abs(along).max() <= 60_000 + 20_000 + 100.0
    assert np.abs(across).max() <= 20_000 + 100.0
    straight_part = np.abs(along) < 55_000
    assert np.all(np.abs(np.abs(across[straight_part]) - 20_000) < 100.0)  # on the legs, 20 km off the axis
    # first leg: heading 30°, on the left of the axis (right-hand turns)
    assert across[0] == pytest.approx(-20_000, abs=100.0) and along[1] > along[0]


def test_orbit_period_is_perimeter_over_speed():
    tr = build(orbit_scenario())
    v = 600 / 3.6
    period = (2 * 120_000 + math.pi * 40_000) / v
    for t in (250.0, 1000.0, 3333.0):
        p1, p2 = tr.state_at(t)[1][0], tr.state_at(t + period)[1][0]
        # 5 m: the straight legs are geodesics 20 km off the axis, ~0.6 m longer than 120 km
        assert np.linalg.norm(p1 - p2) < 5.0
        assert np.linalg.norm(p1 - tr.state_at(t + period / 2)[1][0]) > 30_000
    # the track length of a lap, from state_at at 1 s steps, is the perimeter
    pos = np.array([tr.state_at(t)[1][0] for t in np.arange(300.0, 300.0 + period, 1.0)])
    length = np.linalg.norm(np.diff(pos, axis=0), axis=1).sum() * R_EARTH / (R_EARTH + 9000)
    assert length == pytest.approx(2 * 120_000 + math.pi * 40_000, rel=0.005)


def test_orbit_end_and_radar():
    tr = build(orbit_scenario(end_s=1234.5, radar_on=False))
    assert tr.end_s[0] == 1234.5 and not tr.radar_on[0]
    tr = build(orbit_scenario(type="jet"))
    assert not tr.radar_on[0]  # the type has no radar


# --- civil traffic -----------------------------------------------------------------------------


def civil_scenario(duration_s: float = 36_000.0, **kw) -> Scenario:
    args = {"type": "liner", "nation": "X", "route": [wp(54.69, 25.28), Waypoint(place="minsk"), wp(55.75, 37.6)],
            "flights_per_hour": 6.0, "speed_kmh": 820.0, "alt_min_m": 9000.0, "alt_max_m": 11500.0} | kw
    return scenario(duration_s=duration_s, civil={"vno_svo": CivilTraffic(**args)})


def test_civil_count_is_poisson_and_traffic_is_established_at_zero():
    sc = civil_scenario()
    lat = [54.69, 53.9, 55.75]
    lon = [25.28, 27.5667, 37.6]
    route_s = GEOD.line_length(lon, lat) / (820 / 3.6)
    mean = 6.0 * 2 * (36_000 + route_s) / 3600
    assert estimate_objects(sc) == round(mean)
    for seed in range(3):
        tr = build(sc, seed=seed)
        assert abs(len(tr) - mean) <= 4 * math.sqrt(mean)
        assert tr.object_id[0] == "civil-vno_svo-0001" and np.all(np.diff(tr.start_s) >= 0)
        assert np.all(tr.end_s - tr.start_s == pytest.approx(route_s, rel=1e-9))
        active, pos, _ = tr.state_at(0.0)
        assert active.sum() >= 3 and np.all(tr.start_s[active] < 0)
        assert np.all(np.isfinite(pos[active]))
        # cruise levels are 1,000 ft levels in the band, one per flight
        levels = tr.knot_alt_m[tr.knot_offset[:-1]]
        assert np.allclose(levels / FLIGHT_LEVEL_STEP_M, np.round(levels / FLIGHT_LEVEL_STEP_M))
        assert levels.min() >= 9000 and levels.max() <= 11500 and np.unique(levels).size > 3
        # both directions
        first = tr.knot_ecef_m[tr.knot_offset[:-1]]
        ends = geodetic_to_ecef([54.69, 55.75], [25.28, 37.6], 0.0)
        to_vilnius = np.linalg.norm(first - ends[0], axis=1) < 12_000
        to_moscow = np.linalg.norm(first - ends[1], axis=1) < 12_000
        assert np.all(to_vilnius | to_moscow) and to_vilnius.any() and to_moscow.any()
        assert np.all(tr.flight_plan) and not tr.iff.any() and np.all(np.isnan(tr.rcs_m2))


def test_civil_one_direction():
    tr = build(civil_scenario(duration_s=7200.0, both_directions=False, flights_per_hour=20.0))
    first = tr.knot_ecef_m[tr.knot_offset[:-1]]
    assert np.all(np.linalg.norm(first - geodetic_to_ecef(54.69, 25.28, 0.0), axis=1) < 12_000)


# --- state_at ----------------------------------------------------------------------------------


def mixed() -> Trajectories:
    sc = scenario(duration_s=3000.0,
                  flights={"f": Flight(type="jet", nation="X", start_s=50.0, speed_kmh=900.0, alt_m=3000.0,
                                       route=[wp(*A), wp(53.5, 25.0, alt_m=6000.0), wp(*B)])},
                  raids=raid_scenario(count=300).traffic.raids,
                  orbits=orbit_scenario().traffic.orbits,
                  civil=civil_scenario(duration_s=3000.0).traffic.civil)
    return build(sc)


def test_state_at_before_start_and_after_end_is_inactive_nan():
    tr = mixed()
    for i in (0, 1, 150, len(tr) - 1):
        for t in (tr.start_s[i] - 0.5, tr.end_s[i] + 0.5):
            active, pos, vel = tr.state_at(t)
            assert not active[i] and np.isnan(pos[i]).all() and np.isnan(vel[i]).all()
        for t in (tr.start_s[i], tr.end_s[i]):
            active, pos, vel = tr.state_at(t)
            assert active[i] and np.isfinite(pos[i]).all() and np.isfinite(vel[i]).all()
        assert np.allclose(tr.state_at(tr.end_s[i])[1][i], tr.knot_ecef_m[tr.knot_offset[i + 1] - 1])
    active, pos, _ = tr.state_at(-1e9)
    assert not active.any() and np.isnan(pos).all()


def test_state_at_matches_per_object_interpolation():
    tr = mixed()
    rng = np.random.default_rng(0)
    lo, hi = tr.start_s.min() - 10, tr.end_s.max() + 10
    times = np.r_[rng.uniform(lo, hi, 40), np.arange(100.0, 160.0, 1.0), rng.uniform(lo, hi, 20)]
    for t in times:  # random access and consecutive ticks both exercise the segment guesses
        active, pos, _ = tr.state_at(t)
        for i in rng.choice(len(tr), 25, replace=False):
            k = knots(tr, i)
            inside = tr.knot_time_s[k][0] <= t <= tr.knot_time_s[k][-1]
            assert active[i] == inside
            if inside:
                ref = [np.interp(t, tr.knot_time_s[k], tr.knot_ecef_m[k][:, c]) for c in range(3)]
                assert np.allclose(pos[i], ref, atol=1e-3)


def test_trajectory_arrays_are_consistent():
    tr = mixed()
    n, k = len(tr), tr.knot_time_s.size
    assert tr.knot_offset.shape == (n + 1,) and tr.knot_offset[-1] == k
    assert tr.knot_ecef_m.shape == (k, 3) and tr.knot_alt_m.shape == (k,)
    for name in ("object_id", "source", "type_id", "nation", "rcs_m2", "flight_plan", "iff", "radar_on",
                 "start_s", "end_s"):
        assert getattr(tr, name).shape == (n,)
    assert np.unique(tr.object_id).size == n
    assert list(dict.fromkeys(tr.source)) == ["traffic.flights.f", "traffic.orbits.aew-orbit",
                                               "traffic.raids.salvo", "traffic.civil.vno_svo"]
    alt = ecef_to_geodetic(tr.knot_ecef_m)[2]
    assert np.allclose(alt, tr.knot_alt_m, atol=1e-3)
    assert 40 * k <= tr.estimated_bytes() <= 64 * k + 2000 * n
    with pytest.raises(ValueError):
        tr.knot_ecef_m[0, 0] = 1.0  # read-only


def test_empty_traffic():
    tr = build(scenario())
    assert len(tr) == 0 and tr.knot_offset.tolist() == [0]
    active, pos, vel = tr.state_at(10.0)
    assert active.shape == (0,) and pos.shape == (0, 3) and vel.shape == (0, 3)


# --- errors ------------------------------------------------------------------------------------


def paths(exc: pytest.ExceptionInfo) -> list[tuple]:
    return [e.path for e in exc.value.errors]


def test_speed_above_the_type_maximum():
    sc = scenario(flights={"f": Flight(type="slow", nation="X", speed_kmh=350.0, alt_m=500.0,
                                       route=[wp(*A), wp(*B, speed_kmh=400.0), wp(54.5, 27.0)])},
                  raids=raid_scenario(count=5, speed_kmh=950.0).traffic.raids)
    with pytest.raises(TrafficError) as exc:
        build(sc)
    assert set(paths(exc)) == {("traffic", "flights", "f", "speed_kmh"),
                               ("traffic", "flights", "f", "route", 1, "speed_kmh"),
                               ("traffic", "raids", "salvo", "speed_kmh")}
    text = str(exc.value)
    assert "3 problems" in text and "350 km/h is faster than the slow type's max_speed_kmh (300 km/h)" in text
    assert isinstance(exc.value, iadsim.ScenarioErrors)  # the CLI reports it with exit code 2


def test_route_through_the_ground(hill_dem):
    sc = straight(alt_m=420.0, speed_kmh=400.0, route=[wp(53.4, 24.6), wp(54.6, 26.8), wp(54.9, 27.5)])
    with pytest.raises(TrafficError) as exc:
        build(sc, terrain=hill_dem)
    assert ("traffic", "flights", "f", "route", 0) in paths(exc)
    assert "flies below the ground" in str(exc.value) and "km along it, at 5" in str(exc.value)
    build(sc)  # smooth earth: fine
    build(straight(alt_m=460.0, speed_kmh=400.0, route=sc.traffic.flights["f"].route), terrain=hill_dem)
    # a raid below the hills, and an airway whose lowest level is below them
    bad = scenario(raids=raid_scenario(count=20, origin=wp(53.6, 24.5), origin_radius_km=5.0, alt_m=200.0,
                                       alt_ref="msl", destinations=[wp(54.5, 27.0)]).traffic.raids,
                   civil={"low": CivilTraffic(type="liner", nation="X", route=[wp(53.5, 24.5), wp(54.5, 27.0)],
                                              flights_per_hour=2, speed_kmh=700.0, alt_min_m=300.0,
                                              alt_max_m=3000.0)})
    with pytest.raises(TrafficError) as exc:
        build(bad, terrain=hill_dem)
    assert set(paths(exc)) == {("traffic", "raids", "salvo", "alt_m"), ("traffic", "civil", "low", "alt_min_m")}
    assert "20 of the raid's 20 objects fly below the ground" in str(exc.value)


def test_below_sea_level_on_smooth_earth():
    with pytest.raises(TrafficError, match="below the ground"):
        build(straight(alt_m=-50.0))


def test_terrain_following_outside_the_dem(hill_dem):
    sc = straight(alt_m=100.0, alt_ref="agl", speed_kmh=400.0, route=[wp(54.0, 27.5), wp(54.0, 29.0)])
    with pytest.raises(TrafficError, match="has no height"):
        build(sc, terrain=hill_dem)


def test_million_object_raid_is_refused_before_building():
    sc = raid_scenario(count=5)
    huge = sc.traffic.raids["salvo"].model_copy(update={"count": 1_000_000})  # above the schema's cap
    sc = sc.with_changes(traffic=Traffic(raids={"salvo": huge}))
    assert estimate_objects(sc) == 1_000_000
    t0 = time.perf_counter()
    with pytest.raises(TrafficError) as exc:
        build(sc)
    assert time.perf_counter() - t0 < 1.0
    assert paths(exc) == [("traffic", "raids", "salvo", "count")]
    text = str(exc.value)
    assert "a raid of 1,000,000 objects needs about" in text and "GiB of trajectories; the limit is 2 GiB" in text


def test_memory_limit_counts_all_traffic():
    sc = raid_scenario(count=2000)
    with pytest.raises(TrafficError, match=r"the limit is 0\.0156 GiB") as exc:
        build(sc, max_bytes=2**24)
    assert paths(exc) == [("traffic", "raids", "salvo", "count")]
    tr = build(sc, max_bytes=2**30)
    assert tr.estimated_bytes() < 2**30


def test_unused_waypoint_fields_and_civil_levels():
    sc = scenario(raids=raid_scenario(count=3, origin=wp(*ORIGIN, alt_m=100.0)).traffic.raids,
                  orbits=orbit_scenario(center=wp(*CENTER, speed_kmh=500.0)).traffic.orbits,
                  civil=civil_scenario(route=[wp(54.69, 25.28, alt_m=9000.0), wp(53.9, 27.5)],
                                       alt_min_m=10_000.0, alt_max_m=10_000.0).traffic.civil)
    with pytest.raises(TrafficError) as exc:
        build(sc)
    assert set(paths(exc)) == {("traffic", "raids", "salvo", "origin", "alt_m"),
                               ("traffic", "orbits", "aew-orbit", "center", "speed_kmh"),
                               ("traffic", "civil", "vno_svo", "route", 0, "alt_m"),
                               ("traffic", "civil", "vno_svo", "alt_min_m")}
    assert "9,753.6 m (32,000 ft) and 10,058.4 m (33,000 ft)" in str(exc.value)


def test_route_without_length_and_orbit_after_the_end():
    sc = scenario(duration_s=600.0, flights={"f": Flight(type="jet", nation="X", speed_kmh=500, alt_m=1000,
                                                         route=[wp(*A), wp(*A)])},
                  orbits={"o": Orbit(type="aew", nation="X", center=wp(*CENTER), length_km=50, width_km=20,
                                     speed_kmh=500, alt_m=8000, start_s=700)})
    with pytest.raises(TrafficError) as exc:
        build(sc)
    assert set(paths(exc)) == {("traffic", "flights", "f", "route"), ("traffic", "orbits", "o", "start_s")}


def test_duplicate_object_ids():
    sc = scenario(flights={"salvo-0001": Flight(type="jet", nation="X", speed_kmh=500, alt_m=1000,
                                                route=[wp(*A), wp(*B)])},
                  raids=raid_scenario(count=2).traffic.raids)
    with pytest.raises(TrafficError, match="'salvo-0001' is made twice"):
        build(sc)


# --- bundled scenario --------------------------------------------------------------------------


def test_bundled_air_policing_scenario_with_the_default_dem():
    sc = iadsim.load_scenario("air-policing-violation")
    terrain = default_terrain()
    tr = build_trajectories(sc, np.random.default_rng(sc.seed), terrain)
    assert estimate_objects(sc) == len(tr)
    i = int(np.flatnonzero(tr.object_id == "violator")[0])
    active, lat, lon, alt, vel = geodetic_state(tr, 120.0)
    assert active[i] and alt[i] - terrain.height_at(lat[i], lon[i])[0] == pytest.approx(300.0, abs=5.0)
    assert np.linalg.norm(vel[i]) * 3.6 == pytest.approx(180.0, rel=0.005)
