"""One detection model for static coverage and the engine (docs/models/detection.md).

For sampled cells, the engine's empirical detection probability over many scans lies within the
binomial interval of the coverage grid's Pd: the same Swerling 1 model, the same clutter loss near
the ground, and the same rule for several radars at one place (identical radars at one site are
one look; radars of different kinds are independent looks).
"""

from __future__ import annotations

import numpy as np
import pytest

from iadsim import load_scenario
from iadsim.coverage import CoverageGrid, compute_coverage
from iadsim.geo import geodesic_distance_m, geodetic_to_ecef
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.sensors.detection import clutter_snr_factor, detection_probability
from iadsim.sensors.radar import scan
from iadsim.sim.engine import Engine

SCANS = 4000
Z = 4.0  # a 4-sigma binomial interval: with ~24 cells, a false failure has odds below 1 in 500


@pytest.fixture(scope="module")
def fanipal():
    """The 2020 reference system's radars at Fanipal: the 15th regiment's 64N6E (command post) and
    its five battalions' 30N6E engagement radars (one type at one site: one look)."""
    scenario = load_scenario("reference-2020")
    engine = Engine(scenario)
    place = scenario.places["fanipal"]
    world = engine.world
    at_site = ((world.sensors.lat_deg == place.lat_deg) & (world.sensors.lon_deg == place.lon_deg)
               & (world.unit_nation[world.sensors.unit_index] == "BLR"))
    radars = engine.radars
    due = np.flatnonzero((radars.site_lat_deg == place.lat_deg) & (radars.site_lon_deg == place.lon_deg)
                         & (radars.platform < 0))
    return scenario, engine, world.select(sensors=at_site, fire_units=[]), due


def test_both_see_with_the_same_radars(fanipal):
    """Engagement radars track what they are cued on: neither the engine nor coverage searches
    with them; the regiment's acquisition radar searches."""
    _, engine, world, due = fanipal
    types = world.sensors.radar_type.tolist()
    assert types.count("s300pmu1_30n6") == 5 and types.count("s300pmu1_64n6") == 1
    assert engine.radars.radar_type[due].tolist() == ["s300pmu1_64n6"]


def test_identical_radars_at_one_site_scan_as_one(write):
    """Two battalions' radars of one type at one town: one look in the engine's roster and in
    coverage (not two independent looks)."""
    from .conftest import MINIMAL

    text = MINIMAL.replace("role: fire_control", "role: acquisition")
    scenario = load_scenario(write(text))
    engine = Engine(scenario)
    assert len(engine.world.sensors) == 2 and len(engine.radars) == 1
    grid = CoverageGrid.over(20.0, 28.0, 51.5, 56.0, resolution_km=5.0)
    one = compute_coverage(engine.world.select(sensors=[0]), grid, [10_000.0], {"ref": 1.0})
    both = compute_coverage(engine.world, grid, [10_000.0], {"ref": 1.0})
    assert np.array_equal(one.pd["BLR"], both.pd["BLR"])


def _cells(pd: np.ndarray, lon: np.ndarray, lat: np.ndarray, n: int, site: tuple[float, float],
           horizon_m: float) -> list[tuple[float, float, float]]:
    """Up to n cells with an informative Pd (0.1 to 0.97), spread over its quantiles, clear of the
    radar horizon (within 2 % of it a cell centre's line of sight is decided by geometry that the
    engine and the grid round differently: that is not the detection model)."""
    d = geodesic_distance_m(site[0], site[1], lat, lon)
    rows, cols = np.nonzero((pd > 0.1) & (pd < 0.97) & (d < 0.98 * horizon_m))
    order = np.argsort(pd[rows, cols], kind="stable")
    pick = order[np.linspace(0, len(order) - 1, min(n, len(order))).astype(int)]
    return [(float(lon[r, c]), float(lat[r, c]), float(pd[r, c])) for r, c in zip(rows[pick], cols[pick], strict=True)]


@pytest.mark.parametrize(("altitude_m", "rcs_m2"), [(40.0, 0.01), (120.0, 0.01), (250.0, 0.001),
                                                    (1000.0, 0.1), (3000.0, 3.0)])
def test_engine_pd_within_the_binomial_interval_of_coverage(fanipal, altitude_m, rcs_m2):
    """Low layers are inside the 64N6E's clutter height (300 m): the clutter loss must agree."""
    scenario, engine, world, due = fanipal
    grid = CoverageGrid.over(25.0, 30.0, 52.5, 55.0, resolution_km=2.0 if altitude_m < 500 else 10.0)
    cov = compute_coverage(world, grid, [altitude_m], {"target": rcs_m2}, sensing=engine.sensing)
    lon, lat = grid.lonlat_deg
    place = scenario.places["fanipal"]
    antenna = float(engine.radars.site_alt_m[due][0])
    cells = _cells(np.asarray(cov.pd["BLR"][0, 0], dtype=np.float64), lon, lat, 8,
                   (place.lat_deg, place.lon_deg), float(horizon_distance_m(antenna, altitude_m)))
    assert len(cells) >= 4, "the test needs cells with an informative Pd"
    c_lon = np.array([c[0] for c in cells])
    c_lat = np.array([c[1] for c in cells])
    expected = np.array([c[2] for c in cells])
    alt = np.full(len(cells), altitude_m)
    ecef = geodetic_to_ecef(c_lat, c_lon, alt)
    unit = ecef / np.linalg.norm(ecef, axis=1, keepdims=True)
    r = engine.radars
    rng = np.random.default_rng(20261206)
    seen = np.zeros(len(cells))
    for _ in range(SCANS):
        block = scan(r, due, r.site_ecef_m[due], r.site_lat_deg[due], r.site_lon_deg[due],
                     r.site_alt_m[due], ecef, alt, alt, unit, np.full(len(cells), rcs_m2), None, None,
                     rng, rng, engine.k, settings=engine.sensing)
        hit = np.zeros(len(cells), dtype=bool)
        hit[block.target[block.target >= 0]] = True
        seen += hit
    empirical = seen / SCANS
    half = Z * np.sqrt(expected * (1 - expected) / SCANS)
    assert np.all(np.abs(empirical - expected) <= half), (altitude_m, empirical, expected)


def test_the_old_rule_would_fail_the_comparison(fanipal):
    """The check can fail: counting the five identical engagement radars as independent looks
    (the former coverage rule) moves Pd far outside the interval at a cell where they matter."""
    world = fanipal[2]
    s = world.sensors
    fcr = int(np.flatnonzero(s.radar_type == "s300pmu1_30n6")[0])
    pd_one = float(detection_probability(230e3, 3.0, s.detection_range_m[fcr], s.reference_rcs_m2[fcr],
                                         s.reference_pd[fcr], 1e-6))
    pd_five = 1 - (1 - pd_one) ** 5
    assert abs(pd_five - pd_one) > Z * np.sqrt(pd_one * (1 - pd_one) / SCANS) * 5


def test_clutter_factor_is_the_engines():
    """Clutter: full loss on the ground, none at the clutter height, linear in dB between."""
    assert clutter_snr_factor(0.0, 6.0, 150.0) == pytest.approx(10 ** -0.6)
    assert clutter_snr_factor(75.0, 6.0, 150.0) == pytest.approx(10 ** -0.3)
    assert clutter_snr_factor(150.0, 6.0, 150.0) == 1.0
    assert clutter_snr_factor(10.0, np.nan, 150.0) == 1.0


def test_a_target_over_the_radar_is_measured_within_the_elevation_limits(fanipal):
    """Noise on a target near the zenith can carry the elevation past 90°: the measurement is folded
    back over the pole (180° − el on the opposite azimuth), so it stays a direction the tracker
    accepts (|el| ≤ 90°; a raid over a radar's town stopped runs before) and points where the
    noisy direction points, within a few sigma of the truth."""
    scenario, engine, _, due = fanipal
    r = engine.radars
    assert r.dimensions[due][0] == 3
    place = scenario.places["fanipal"]
    lat = np.full(8, place.lat_deg + 1e-4)  # ~11 m north of the site, 10 km up: el ≈ 89.94°
    lon = np.full(8, place.lon_deg)
    alt = np.full(8, 10_000.0)
    ecef = geodetic_to_ecef(lat, lon, alt)
    unit = ecef / np.linalg.norm(ecef, axis=1, keepdims=True)
    rng = np.random.default_rng(7)
    el, az = [], []
    for _ in range(300):
        block = scan(r, due, r.site_ecef_m[due], r.site_lat_deg[due], r.site_lon_deg[due],
                     r.site_alt_m[due], ecef, alt, alt, unit, np.full(8, 3.0), None, None,
                     rng, rng, engine.k, settings=engine.sensing)
        real = block.target >= 0
        el.append(block.elevation_rad[real])
        az.append(block.azimuth_rad[real])
    el_all, az_all = np.concatenate(el), np.concatenate(az)
    assert len(el_all) > 1000
    assert np.all(np.abs(el_all) <= np.pi / 2)
    # about half the draws went past the zenith and were folded onto the opposite azimuth
    folded = np.cos(az_all) < 0  # the target is due north, so an unfolded azimuth is near 0
    assert 0.3 < folded.mean() < 0.7
    # the measured direction is the true one within 5 sigma (elevation sigma of the type)
    sigma = float(r.sigma_elevation_rad[due][0])
    up = np.column_stack([np.cos(el_all) * np.sin(az_all), np.cos(el_all) * np.cos(az_all), np.sin(el_all)])
    truth_el = np.arctan2(10_000.0 - float(r.site_alt_m[due][0]), 11.1)
    truth = np.array([0.0, np.cos(truth_el), np.sin(truth_el)])
    off = np.arccos(np.clip(up @ truth, -1.0, 1.0))
    assert np.percentile(off, 99) < 5 * max(sigma, float(r.sigma_azimuth_rad[due][0]))


def test_a_2d_radars_azimuth_is_never_folded(fanipal):
    """Only a 3D radar measures elevation; a 2D radar's azimuth near the zenith stays on the target's
    side (the fold once flipped a third of a 2D radar's azimuths by 180°)."""
    from dataclasses import replace

    scenario, engine, _, due = fanipal
    r = replace(engine.radars, dimensions=np.where(np.arange(len(engine.radars)) == due[0], 2,
                                                   engine.radars.dimensions))
    place = scenario.places["fanipal"]
    lat, lon, alt = np.full(8, place.lat_deg + 1e-4), np.full(8, place.lon_deg), np.full(8, 10_000.0)
    ecef = geodetic_to_ecef(lat, lon, alt)
    unit = ecef / np.linalg.norm(ecef, axis=1, keepdims=True)
    rng = np.random.default_rng(7)
    az = []
    for _ in range(200):
        block = scan(r, due, r.site_ecef_m[due], r.site_lat_deg[due], r.site_lon_deg[due],
                     r.site_alt_m[due], ecef, alt, alt, unit, np.full(8, 3.0), None, None,
                     rng, rng, engine.k, settings=engine.sensing)
        real = block.target >= 0
        assert np.all(np.isnan(block.elevation_rad[real]))
        az.append(block.azimuth_rad[real])
    assert np.all(np.cos(np.concatenate(az)) > 0.9)  # all within about 25° of north, none flipped
