"""The engine against the radar equation, the horizon and burn-through, with fixed seeds."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from iadsim import load_scenario
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.io.parquet import write_table
from iadsim.sensors.detection import detection_probability
from iadsim.sim import run_simulation

from .sim_scenarios import inbound, one_radar

SPEED_MPS = 1000.0
SCAN_S = 10.0


def _first_ranges_km(result, object_id):
    det = result.detections.filter(pc.equal(result.detections["object_id"], object_id))
    if not det.num_rows:
        return None
    i = int(np.argmin(det["time_s"].to_numpy()))
    return det["range_m"].to_numpy()[i] / 1000.0


def _expected_first_range_km(pd_of_range, start_km, phases=2000):
    """Mean first-detection range over a uniform scan phase, from per-scan probabilities."""
    total = 0.0
    for phase in (np.arange(phases) + 0.5) / phases * SCAN_S:
        times = phase + np.arange(0, start_km * 1000 / SPEED_MPS, SCAN_S)
        ranges = start_km * 1000 - SPEED_MPS * np.ceil(times)  # scans happen at whole ticks
        p = pd_of_range(np.maximum(ranges, 1.0))
        miss_before = np.concatenate([[1.0], np.cumprod(1 - p)[:-1]])
        total += np.sum(ranges * p * miss_before) / np.sum(p * miss_before)
    return total / phases / 1000.0


def test_first_detection_matches_the_radar_equation(write):
    # a 1 m² target at 10 km altitude, 1000 m/s straight at a radar with Pd 0.5 at 100 km
    scenario = load_scenario(write(one_radar(flights=inbound("t", 220.0, 10_000.0), duration_s=230)))
    ranges = []
    for replication in range(60):
        result = run_simulation(scenario, replication=replication)
        ranges.append(_first_ranges_km(result, "t"))
    ranges = np.asarray(ranges, dtype=float)
    assert np.isfinite(ranges).all()
    # slant range ≈ ground range here; Pd from the same Swerling 1 model, Pfa = 1e-9
    expected = _expected_first_range_km(
        lambda r: detection_probability(np.hypot(r, 10_000.0), 1.0, 100e3, 1.0, 0.5, 1e-9), 220.0)
    stderr = ranges.std(ddof=1) / np.sqrt(len(ranges))
    # 99.9 % two-sided interval of the mean over 60 replications
    assert abs(ranges.mean() - expected) < 3.3 * stderr + 0.5, (ranges.mean(), expected, stderr)


def test_low_flier_is_detected_later_as_the_horizon_says(write):
    flights = inbound("low", 150.0, 50.0) + inbound("high", 150.0, 5_000.0, bearing="north")
    scenario = load_scenario(write(one_radar(flights=flights, antenna_m=20.0, duration_s=160,
                                             detection_km=300.0)))
    result = run_simulation(scenario, replication=0)
    low, high = _first_ranges_km(result, "low"), _first_ranges_km(result, "high")
    horizon_low = float(horizon_distance_m(20.0, 50.0)) / 1000.0
    assert horizon_low == pytest.approx(4.12 * (20**0.5 + 50**0.5), rel=0.01)
    assert low <= horizon_low + 0.5  # not before it rises above the horizon
    assert low >= horizon_low - SPEED_MPS * SCAN_S / 1000 - 0.5  # and at the first scan after
    assert high > 140.0  # seen as soon as it appears (horizon 309 km, Pd ≈ 1 at 150 km)


def test_jammer_shrinks_detection_to_burn_through(write):
    from iadsim.sensors.jamming import burn_through_range_m, jammer_to_noise_ratio

    # a ground noise jammer 200 km west, in the radar's main lobe as the target comes in from the west
    jam_lon = 27.5 - 200.0 / (111.32 * 0.5882)
    emitters = f"""emitters:
  j: {{jammer: noise, nation: POL, location: {{lat_deg: 53.9, lon_deg: {jam_lon:.5f}, alt_m: 2000}}}}
"""
    # a jammer power that gives JNR = 15 at the radar: burn-through at (1 + 15)^(-1/4) = 1/2
    per_watt = float(jammer_to_noise_ratio(1.0, 10.0, 100e6, 3e9, 1e6, 35.0, 3.0, 5.0, 200e3))
    power = 15.0 / per_watt
    scenario = load_scenario(write(one_radar(flights=inbound("t", 190.0, 10_000.0),
                                             emitters=emitters, duration_s=200,
                                             jammer_power_w=power)))
    jnr = 15.0
    # burn-through at Pd 0.5 (SNR₀ for Pd 0.5, Pfa 1e-9)
    snr0 = np.log(1e-9) / np.log(0.5) - 1
    burn = float(burn_through_range_m(snr0, snr0, 100e3, 1.0, 1.0, jnr)) / 1000.0
    ranges = np.asarray([_first_ranges_km(run_simulation(scenario, replication=r), "t")
                         for r in range(40)], dtype=float)
    unjammed = _expected_first_range_km(
        lambda r: detection_probability(r, 1.0, 100e3, 1.0, 0.5, 1e-9), 190.0)
    expected = _expected_first_range_km(
        lambda r: detection_probability(r, 1.0, burn * 1000, 1.0, 0.5, 1e-9), 190.0)
    stderr = ranges.std(ddof=1) / np.sqrt(len(ranges))
    assert burn == pytest.approx(50.0, rel=1e-6)
    assert ranges.mean() < 0.7 * unjammed
    assert abs(ranges.mean() - expected) < 3.3 * stderr + 1.0, (ranges.mean(), expected, burn)
    jammed = run_simulation(scenario, replication=0).detections["jammed"].to_numpy()
    assert jammed.any()


def test_same_seed_gives_byte_identical_parquet(write, tmp_path):
    scenario = load_scenario(write(one_radar(flights=inbound("t", 150.0, 3000.0), duration_s=150)))
    files = []
    for run in ("a", "b"):
        result = run_simulation(scenario, replication=3)
        files.append([write_table(getattr(result, name), tmp_path / run / f"{name}.parquet")
                      for name in ("truth", "detections", "events")])
    for fa, fb in zip(*files, strict=True):
        assert fa.read_bytes() == fb.read_bytes(), fa.name
    other = run_simulation(scenario, replication=4).detections
    assert other.num_rows  # a different replication draws differently:
    first = run_simulation(scenario, replication=3).detections["range_m"].to_numpy()
    assert not np.array_equal(first[: min(len(first), other.num_rows)],
                              other["range_m"].to_numpy()[: min(len(first), other.num_rows)])


ESM_CATALOG = """\
  passive_sensors:
    esm:
      name: Test ESM
      bands: [S, X]
      max_range_km: 400
      bearing_sigma_deg: 1.0
      scan_period_s: 5
      antenna_height_m: 20
      assumed: {max_range_km: test, bearing_sigma_deg: test, scan_period_s: test,
                antenna_height_m: test}
"""
ESM_UNIT = """\
  esm_unit:
    name: ESM station
    nation: BLR
    kind: ew_centre
    place: site
    equipment: [{type: esm, count: 1}]
    source: [T]
"""


def test_passive_bearings_on_a_jammer(write):
    from pyproj import Geod

    # a noise jammer 150 km due west of the ESM station, 5 km up
    jam_lon = 27.5 - 150.0 / (111.32 * 0.5882)
    emitters = f"""emitters:
  j: {{jammer: noise, nation: POL, location: {{lat_deg: 53.9, lon_deg: {jam_lon:.5f}, alt_m: 5000}}}}
"""
    scenario = load_scenario(write(one_radar(flights=inbound("t", 100.0, 5000.0), emitters=emitters,
                                             duration_s=300, extra_catalog=ESM_CATALOG,
                                             extra_units=ESM_UNIT)))
    bearings = run_simulation(scenario).bearings
    assert bearings.num_rows == 60  # every 5 s for 300 s
    true = Geod(ellps="WGS84").inv(27.5, 53.9, jam_lon, 53.9)[0] % 360
    error = (bearings["bearing_deg"].to_numpy() - true + 180) % 360 - 180
    # σ = 1°: the mean of 60 draws lies within 4σ/√60 of the truth, the spread near 1°
    assert abs(error.mean()) < 4 / np.sqrt(60)
    assert 0.6 < error.std(ddof=1) < 1.4
    assert set(bearings["emitter_id"].to_pylist()) == {"j"}


def test_first_detections_per_object(write):
    from iadsim.analysis import first_detections

    flights = inbound("seen", 150.0, 5000.0) + inbound("hidden", 150.0, 30.0, bearing="north")
    scenario = load_scenario(write(one_radar(flights=flights, antenna_m=10.0, duration_s=100)))
    result = run_simulation(scenario)
    rows = {r["object_id"]: r for r in first_detections(result.detections, result.objects).to_pylist()}
    assert set(rows) == {"seen", "hidden"}
    seen = rows["seen"]
    assert seen["first_detection_s"] is not None and seen["delay_s"] >= 0
    assert seen["range_km"] == pytest.approx(150.0 - seen["first_detection_s"], abs=1.0)
    # 30 m above ground, 50+ km out, behind the horizon of a 10 m mast (≈ 35.6 km): never seen
    assert rows["hidden"]["first_detection_s"] is None


FIGHTER_RADAR = """\
  radars:
    fr:
      name: Test fighter radar
      role: airborne
      detection_range_km: 100
      reference_rcs_m2: 3
      reference_pd: 0.5
      frequency_mhz: 9500
      bandwidth_mhz: 5
      antenna_gain_dbi: 33
      sidelobe_level_db: -30
      noise_figure_db: 4
      losses_db: 5
      assumed: {detection_range_km: t, reference_rcs_m2: t, reference_pd: t, frequency_mhz: t,
                bandwidth_mhz: t, antenna_gain_dbi: t, sidelobe_level_db: t, noise_figure_db: t,
                losses_db: t}
"""


@pytest.mark.parametrize("bands", [["X"], ["S"]])
def test_defender_jammer_against_a_hostile_fighter_radar(write, bands):
    text = one_radar(flights=inbound("ftr", 150.0, 6000.0, speed_kmh=900.0).replace(
        "type: dart", "type: dart\n      radar_on: true"), duration_s=120,
        emitters="""emitters:
  own: {jammer: xj, nation: BLR, location: {place: site, alt_m: 100}}
""", extra_catalog=f"""\
    xj:
      name: Own X jammer
      platform: ground
      bands: {bands}
      power_w: 500
      antenna_gain_dbi: 20
      bandwidth_mhz: 1000
      assumed: {{power_w: t, antenna_gain_dbi: t, bandwidth_mhz: t}}
""")
    # the fighter type carries the test radar (merge it into the catalog's radars and aircraft)
    text = text.replace("      rcs_m2: 1.0\n      max_speed_kmh: 6000",
                        "      rcs_m2: 1.0\n      radar: fr\n      max_speed_kmh: 6000")
    text = text.replace("  radars:\n    r:\n", FIGHTER_RADAR + "    r:\n", 1)
    result = run_simulation(load_scenario(write(text)))
    effects = result.ew_effects
    if bands == ["S"]:
        assert effects.num_rows == 0  # out of the radar's band: no effect
        return
    assert effects.num_rows == 12  # every 10 s for 120 s
    jnr = 10 ** (effects["jnr_db"].to_numpy() / 10)
    burn = effects["burn_through_km"].to_numpy()
    # stand-off burn-through of a radar seeing its 3 m² reference at 100 km: R0 (1 + J/N)^(-1/4)
    np.testing.assert_allclose(burn, 100.0 * (1 + jnr) ** -0.25, rtol=1e-9)
    # the jammer sits where the fighter flies: it closes in, so J/N grows over the run
    assert jnr[-1] > jnr[0] and (burn < 100.0).all()
