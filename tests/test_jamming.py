"""Electronic warfare: noise jamming of radars, burn-through, and passive (ESM) bearings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iadsim.constants import BOLTZMANN_J_PER_K, SPEED_OF_LIGHT_MPS, STANDARD_TEMPERATURE_K
from iadsim.geo import geodetic_to_ecef
from iadsim.sensors.detection import detection_probability, detection_range_m, reference_snr
from iadsim.sensors.jamming import (
    azimuth_separation_rad,
    band_of,
    burn_through_range_m,
    burn_through_range_self_screening_m,
    jammed_detection_probability,
    jammer_to_noise_ratio,
    radar_gain_toward,
    signal_to_interference,
)
from iadsim.sensors.passive import bearings_rad, passive_bearings

# --------------------------------------------------------------------------------------------
# Jammer-to-noise ratio
# --------------------------------------------------------------------------------------------


def test_jnr_matches_a_hand_calculation():
    # A 100 W jammer with a 10 dBi antenna spreads noise over 100 MHz; an S-band radar (3 GHz,
    # λ = 0.09993 m) with a 1 MHz receiver, 30 dBi toward the jammer, F = 3 dB, L = 2 dB, 100 km.
    # In dB:
    #   J = 10log(100) + 10 − 20 (share 1 MHz / 100 MHz) + 30 + 10log(λ²) (−20.006)
    #       − 10log((4π)²) (21.985) − 10log(R²) (100) − 2                       = −103.991 dBW
    #   N = 10log(k T0) (−203.975) + 3 + 10log(1e6) (60)                        = −140.975 dBW
    #   J/N = 36.984 dB = 4,994.6
    jnr = jammer_to_noise_ratio(100.0, 10.0, 100e6, 3e9, 1e6, 30.0, 3.0, 2.0, 100e3)
    assert 10 * np.log10(jnr) == pytest.approx(36.984, abs=0.001)
    assert jnr == pytest.approx(4994.6, rel=1e-4)
    # the same from the formula in SI
    lam = SPEED_OF_LIGHT_MPS / 3e9
    expected = (100 * 10 * 1000 * lam**2 * (1e6 / 100e6)
                / ((4 * math.pi) ** 2 * 1e5**2 * 10**0.2 * BOLTZMANN_J_PER_K * STANDARD_TEMPERATURE_K * 10**0.3 * 1e6))
    assert jnr == pytest.approx(expected, rel=1e-12)


def test_jnr_scaling_laws():
    base = dict(jammer_power_w=1000.0, jammer_gain_dbi=15.0, jammer_bandwidth_hz=200e6,
                radar_frequency_hz=3e9, radar_bandwidth_hz=1.5e6, radar_gain_toward_jammer_dbi=3.0,
                noise_figure_db=4.0, losses_db=3.0, range_to_jammer_m=150e3)
    j0 = jammer_to_noise_ratio(**base)
    # one-way: 1/R²
    assert jammer_to_noise_ratio(**{**base, "range_to_jammer_m": 300e3}) == pytest.approx(j0 / 4)
    # a jammer wider than the receiver: only the power density counts, not the radar bandwidth
    assert jammer_to_noise_ratio(**{**base, "radar_bandwidth_hz": 3e6}) == pytest.approx(j0)
    assert jammer_to_noise_ratio(**{**base, "jammer_bandwidth_hz": 400e6}) == pytest.approx(j0 / 2)
    # a spot jammer narrower than the receiver puts all its power in: J fixed, N grows with B_r
    spot = {**base, "jammer_bandwidth_hz": 1e6}
    assert jammer_to_noise_ratio(**{**spot, "radar_bandwidth_hz": 2e6}) == pytest.approx(
        jammer_to_noise_ratio(**spot) * 1.5 / 2)
    # effective aperture G λ²: half the frequency, four times the jamming
    assert jammer_to_noise_ratio(**{**base, "radar_frequency_hz": 1.5e9}) == pytest.approx(4 * j0)
    # dB inputs: +10 dB of radar gain, noise figure or losses
    assert jammer_to_noise_ratio(**{**base, "radar_gain_toward_jammer_dbi": 13.0}) == pytest.approx(10 * j0)
    assert jammer_to_noise_ratio(**{**base, "noise_figure_db": 14.0}) == pytest.approx(j0 / 10)
    assert jammer_to_noise_ratio(**{**base, "losses_db": 13.0}) == pytest.approx(j0 / 10)


def test_jnr_broadcasts_radars_by_jammers():
    jnr = jammer_to_noise_ratio(np.array([[100.0, 1000.0]]), 10.0, 100e6,
                                np.array([[3e9], [9.5e9], [170e6]]), 1e6, 30.0, 3.0, 2.0,
                                np.full((3, 2), 100e3))
    assert jnr.shape == (3, 2)
    assert np.allclose(jnr[:, 1], 10 * jnr[:, 0])
    assert jnr[2, 0] > jnr[0, 0] > jnr[1, 0]  # larger wavelength, larger aperture at equal gain


# --------------------------------------------------------------------------------------------
# SINR and detection under jamming
# --------------------------------------------------------------------------------------------


def test_sinr_without_jamming_is_the_snr():
    snr = np.array([0.1, 1.0, 18.9, 1e4])
    assert np.array_equal(signal_to_interference(snr, 0.0), snr)
    assert signal_to_interference(20.0, 9.0) == pytest.approx(2.0)
    assert signal_to_interference(20.0, np.array([0.0, 1.0, 3.0])) == pytest.approx([20.0, 10.0, 5.0])


def test_jammed_detection_probability_reduces_to_the_detection_model():
    r = np.linspace(10e3, 400e3, 50)
    for rcs in (0.1, 3.0, 100.0):
        assert np.allclose(jammed_detection_probability(r, rcs, 200e3, 3.0, 0.5, 0.0),
                           detection_probability(r, rcs, 200e3, 3.0, 0.5))
    # JNR = 15 halves the range of any Pd: the jammed curve at R/2 is the free curve at R
    assert np.allclose(jammed_detection_probability(r / 2, 3.0, 200e3, 3.0, 0.5, 15.0),
                       detection_probability(r, 3.0, 200e3, 3.0, 0.5))


# --------------------------------------------------------------------------------------------
# Burn-through
# --------------------------------------------------------------------------------------------

R0, SIGMA0, P0 = 200e3, 3.0, 0.5


def test_burn_through_with_no_jamming_is_the_unjammed_detection_range():
    snr0 = reference_snr(P0)
    for pd in (0.5, 0.8, 0.9):
        for rcs in (0.01, 3.0, 100.0):
            bt = burn_through_range_m(reference_snr(pd), snr0, R0, rcs, SIGMA0, 0.0)
            assert bt == pytest.approx(detection_range_m(pd, rcs, R0, SIGMA0, P0), rel=1e-12)
    assert burn_through_range_m(snr0, snr0, R0, SIGMA0, SIGMA0, 0.0) == pytest.approx(R0)


def test_burn_through_shrinks_by_the_fourth_root_of_one_plus_jnr():
    snr0 = reference_snr(P0)
    free = burn_through_range_m(snr0, snr0, R0, SIGMA0, SIGMA0, 0.0)
    jammed = burn_through_range_m(snr0, snr0, R0, SIGMA0, SIGMA0, 15.0)  # 15 = 11.8 dB
    assert free / jammed == pytest.approx(2.0, rel=1e-12)
    # and at that range the SINR is exactly the required one
    snr_there = snr0 * (R0 / jammed) ** 4
    assert signal_to_interference(snr_there, 15.0) == pytest.approx(snr0)
    # arrays of JNR broadcast
    bt = burn_through_range_m(snr0, snr0, R0, SIGMA0, SIGMA0, np.array([0.0, 15.0, 80.0]))
    assert bt == pytest.approx([R0, R0 / 2, R0 / 3])


def _bisect(f, lo, hi, n=200):
    flo = f(lo)
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        if (f(mid) > 0) == (flo > 0):
            lo, flo = mid, f(mid)
        else:
            hi = mid
    return 0.5 * (lo + hi)


@pytest.mark.parametrize(("pd", "rcs", "j0", "rj0"), [
    (0.5, 3.0, 0.0, 100e3),
    (0.5, 3.0, 1.0, 100e3),
    (0.8, 3.0, 1e3, 100e3),
    (0.9, 0.1, 1e5, 50e3),
    (0.5, 100.0, 1e7, 200e3),
])
def test_self_screening_burn_through_matches_a_brute_force_root(pd, rcs, j0, rj0):
    snr0, req = reference_snr(P0), reference_snr(pd)

    def margin(r):  # SINR − required at target (and jammer) range r
        snr = snr0 * rcs / SIGMA0 * (R0 / r) ** 4
        return snr / (1.0 + j0 * (rj0 / r) ** 2) - req

    root = _bisect(margin, 1.0, 10 * R0)
    got = burn_through_range_self_screening_m(req, snr0, R0, rcs, SIGMA0, j0, rj0)
    assert got == pytest.approx(root, rel=1e-9)
    if j0 == 0.0:
        assert got == pytest.approx(detection_range_m(pd, rcs, R0, SIGMA0, P0))


def test_self_screening_burn_through_follows_the_square_root_law_when_jamming_dominates():
    snr0 = reference_snr(P0)
    r1 = burn_through_range_self_screening_m(snr0, snr0, R0, 3.0, SIGMA0, 1e6, 100e3)
    r2 = burn_through_range_self_screening_m(snr0, snr0, R0, 3.0, SIGMA0, 4e6, 100e3)
    assert r1 / r2 == pytest.approx(2.0, rel=1e-3)  # 4 × the jamming, half the range
    r3 = burn_through_range_self_screening_m(snr0, snr0, R0, 12.0, SIGMA0, 1e6, 100e3)
    assert r3 / r1 == pytest.approx(2.0, rel=1e-3)  # 4 × the RCS, twice the range (not √2)


# --------------------------------------------------------------------------------------------
# Antenna pattern
# --------------------------------------------------------------------------------------------


def test_main_lobe_and_side_lobe_gains():
    bw = np.radians(2.0)
    g = lambda a: radar_gain_toward(a, 35.0, bw, -30.0)  # noqa: E731
    assert g(0.0) == pytest.approx(35.0)
    assert g(bw / 2) == pytest.approx(32.0)          # half-power points at ±θ_B/2
    assert g(-bw / 2) == pytest.approx(32.0)
    assert 32.0 < g(bw / 4) < 35.0
    assert g(3 * bw) == pytest.approx(5.0)           # sidelobe floor G₀ + SLL
    assert g(np.pi) == pytest.approx(5.0)
    assert g(2 * np.pi) == pytest.approx(35.0)       # angles wrap
    assert g(2 * np.pi - bw / 2) == pytest.approx(32.0)
    # monotone from boresight to the floor
    a = np.linspace(0, np.pi, 721)
    assert np.all(np.diff(g(a)) <= 1e-12)
    # broadcasts over radars (columns) and directions (rows)
    out = radar_gain_toward(np.array([[0.0], [1.0]]), np.array([30.0, 40.0]), bw,
                            np.array([-25.0, -35.0]))
    assert out == pytest.approx(np.array([[30.0, 40.0], [5.0, 5.0]]))


def test_azimuth_separation_wraps():
    assert azimuth_separation_rad(np.radians(350), np.radians(10)) == pytest.approx(np.radians(20))
    assert azimuth_separation_rad(np.radians(10), np.radians(350)) == pytest.approx(np.radians(20))
    assert azimuth_separation_rad(0.0, np.pi) == pytest.approx(np.pi)
    assert azimuth_separation_rad(1.0, 1.0) == 0.0


# --------------------------------------------------------------------------------------------
# Bands
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mhz", "band"), [
    (2.0, ""), (3.0, "HF"), (29.9, "HF"), (30.0, "VHF"), (170.0, "VHF"), (299.9, "VHF"),
    (300.0, "UHF"), (600.0, "UHF"), (1000.0, "L"), (1300.0, "L"), (2000.0, "S"), (3000.0, "S"),
    (4000.0, "C"), (5500.0, "C"), (8000.0, "X"), (9500.0, "X"), (12000.0, "Ku"), (14000.0, "Ku"),
    (18000.0, "K"), (27000.0, "Ka"), (40000.0, "V"), (75000.0, "W"), (110000.0, "mm"),
    (0.0, ""), (-5.0, ""), (float("nan"), ""),
])
def test_band_of_follows_ieee_521(mhz, band):
    assert band_of(mhz) == band


def test_band_of_broadcasts():
    got = band_of(np.array([[170.0, 3000.0], [9500.0, np.nan]]))
    assert got.shape == (2, 2)
    assert got.tolist() == [["VHF", "S"], ["X", ""]]
    assert isinstance(band_of(3000.0), str)


def test_catalog_frequencies_lie_in_the_catalog_bands(reference):
    radars = reference.catalog.radars
    assert all(r.frequency_mhz is not None for r in radars.values())
    for rid, radar in radars.items():
        if radar.band is not None:
            assert band_of(radar.frequency_mhz) == radar.band, rid
        # every RF field the EW model reads is set
        for field in ("bandwidth_mhz", "antenna_gain_dbi", "sidelobe_level_db",
                      "beamwidth_azimuth_deg", "noise_figure_db", "losses_db"):
            assert getattr(radar, field) is not None, (rid, field)
    known = set(band_of(np.array([3.0, 30, 300, 1e3, 2e3, 4e3, 8e3, 12e3, 18e3])).tolist())
    for jid, jammer in reference.catalog.jammers.items():
        assert set(jammer.bands) <= known, jid
    for sid, esm in reference.catalog.passive_sensors.items():
        assert set(esm.bands) <= known, sid


def test_reference_stand_off_jammer_burns_through_as_documented(reference):
    """The worked example of docs/models/ew.md: the stand-off jammer against a 36D6 at 150 km."""
    radar = reference.catalog.radars["st68u_36d6"]
    jam = reference.catalog.jammers["generic_standoff_jammer"]
    kw = dict(jammer_power_w=jam.power_w, jammer_gain_dbi=jam.antenna_gain_dbi,
              jammer_bandwidth_hz=jam.bandwidth_mhz * 1e6,
              radar_frequency_hz=radar.frequency_mhz * 1e6,
              radar_bandwidth_hz=radar.bandwidth_mhz * 1e6, noise_figure_db=radar.noise_figure_db,
              losses_db=radar.losses_db, range_to_jammer_m=150e3)
    main = jammer_to_noise_ratio(radar_gain_toward_jammer_dbi=radar.antenna_gain_dbi, **kw)
    side = jammer_to_noise_ratio(
        radar_gain_toward_jammer_dbi=radar.antenna_gain_dbi + radar.sidelobe_level_db, **kw)
    assert 10 * np.log10(main) == pytest.approx(45.45, abs=0.01)
    assert 10 * np.log10(side) == pytest.approx(17.45, abs=0.01)
    snr0 = reference_snr(radar.reference_pd)
    r0 = radar.detection_range_km * 1e3
    bt_side = burn_through_range_m(snr0, snr0, r0, 3.0, 3.0, side)
    assert bt_side / 1e3 == pytest.approx(78.7, abs=0.1)  # from 216 km unjammed
    bt_main = burn_through_range_m(snr0, snr0, r0, 3.0, 3.0, main)
    assert bt_main / 1e3 == pytest.approx(15.8, abs=0.1)


# --------------------------------------------------------------------------------------------
# Passive bearings
# --------------------------------------------------------------------------------------------


def _site(lat, lon, alt=0.0):
    return geodetic_to_ecef(lat, lon, alt)


def test_bearing_of_points_due_east_north_and_west():
    lat, lon = 53.9, 27.5667
    sensor = _site(lat, lon, 20.0)
    east_axis = np.array([-np.sin(np.radians(lon)), np.cos(np.radians(lon)), 0.0])
    east = sensor[0] + 50e3 * east_axis  # along the local east axis: exactly 90°
    b = bearings_rad(sensor, lat, lon, east[None, :])
    assert b.shape == (1, 1)
    assert np.degrees(b[0, 0]) == pytest.approx(90.0, abs=1e-9)
    north, west, south = _site(54.0, lon, 20.0), _site(lat, 27.4, 20.0), _site(53.8, lon, 20.0)
    got = bearings_rad(sensor, lat, lon, np.vstack([north, west, south]))[0]
    assert np.degrees(azimuth_separation_rad(got[0], 0.0)) == pytest.approx(0.0, abs=1e-6)
    # a parallel of latitude curves away from the local west: 0.07° at 11 km here
    assert np.degrees(got[1]) == pytest.approx(270.0, abs=0.1)
    assert np.degrees(got[2]) == pytest.approx(180.0, abs=1e-6)


def test_passive_bearing_noise_statistics():
    # one sensor, one emitter 100 km due east, heard 10,000 times in one call (emitters repeated)
    sensor = _site(53.9, 27.5667, 20.0)
    lat = np.radians(53.9)
    lon = np.radians(27.5667)
    east_axis = np.array([-np.sin(lon), np.cos(lon), 0.0])
    emitter = sensor[0] + 100e3 * east_axis + 9000 * np.array(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    n = 10_000
    sigma = np.radians(1.5)
    out = passive_bearings(sensor, [53.9], [27.5667], [400e3], [sigma], np.tile(emitter, (n, 1)),
                           np.ones(n, bool), np.ones((1, n), bool), np.random.default_rng(20240601))
    assert len(out["bearing"]) == n
    assert np.allclose(out["true_bearing"], np.pi / 2)
    err = np.angle(np.exp(1j * (out["bearing"] - out["true_bearing"])))
    # standard error of the mean σ/√n = 0.015°; of the std ≈ σ/√(2n) = 0.011°: 4-5 sigma margins
    assert np.degrees(err.mean()) == pytest.approx(0.0, abs=0.06)
    assert np.degrees(err.std()) == pytest.approx(1.5, abs=0.05)
    assert np.all((out["bearing"] >= 0) & (out["bearing"] < 2 * np.pi))
    # the same seed gives the same draws
    again = passive_bearings(sensor, [53.9], [27.5667], [400e3], [sigma], np.tile(emitter, (n, 1)),
                             np.ones(n, bool), np.ones((1, n), bool), np.random.default_rng(20240601))
    assert np.array_equal(again["bearing"], out["bearing"])


def test_passive_bearings_filter_on_activity_range_and_line_of_sight():
    sensors = np.vstack([_site(53.9, 27.5667, 20.0), _site(52.1, 23.7, 20.0)])  # Minsk, Brest
    s_lat, s_lon = np.array([53.9, 52.1]), np.array([27.5667, 23.7])
    emitters = np.vstack([
        _site(53.9, 29.0, 9000.0),   # ~94 km east of Minsk, ~400 km from Brest
        _site(53.0, 27.5667, 9000.0),  # ~100 km south of Minsk
        _site(52.1, 21.0, 9000.0),   # ~185 km west of Brest
        _site(53.5, 26.0, 9000.0),   # active=False
    ])
    active = np.array([True, True, True, False])
    los = np.ones((2, 4), dtype=bool)
    los[0, 1] = False               # terrain hides the second emitter from Minsk
    max_range = np.array([300e3, 300e3])
    out = passive_bearings(sensors, s_lat, s_lon, max_range, np.radians([1.0, 1.0]), emitters,
                           active, los, np.random.default_rng(1))
    pairs = set(zip(out["sensor"].tolist(), out["emitter"].tolist(), strict=True))
    slant = np.linalg.norm(emitters[None, :, :] - sensors[:, None, :], axis=2)
    expected = {(s, e) for s in range(2) for e in range(4)
                if active[e] and los[s, e] and slant[s, e] <= max_range[s]}
    assert pairs == expected
    assert (0, 1) not in pairs and (0, 3) not in pairs and (1, 3) not in pairs
    assert out["sensor"].dtype == np.int64 and out["emitter"].dtype == np.int64
    assert np.all(out["range_m"] <= 300e3)
    # a longer reach brings in the far pair
    wide = passive_bearings(sensors, s_lat, s_lon, np.array([1e6, 1e6]), np.radians([1.0, 1.0]),
                            emitters, active, los, np.random.default_rng(1))
    assert len(wide["sensor"]) > len(out["sensor"])


def test_passive_bearings_with_nothing_heard():
    sensor = _site(53.9, 27.5667, 20.0)
    out = passive_bearings(sensor, [53.9], [27.5667], [400e3], [0.02], _site(54.0, 28.0, 9000.0),
                           [False], [[True]], np.random.default_rng(0))
    assert all(len(v) == 0 for v in out.values())
    assert set(out) == {"sensor", "emitter", "bearing", "true_bearing", "range_m"}
