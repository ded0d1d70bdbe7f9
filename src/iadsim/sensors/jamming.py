"""Noise jamming of radars: jammer-to-noise ratio, signal-to-interference ratio and burn-through.

Array-shape rule: every function takes scalars or arrays and broadcasts (numpy rules); inputs are
SI (W, Hz, m, rad, m²) except the antenna and receiver figures, which are in dB as the catalog
gives them. Ratios (SNR, JNR, SINR) are linear powers.

The detection model (``iadsim.sensors.detection``) scales a radar's published detection range by
the radar equation, SNR(R, σ) = SNR₀ (σ/σ₀)(R₀/R)⁴. Noise jamming adds power to the receiver
noise, so the target is seen against N + J instead of N: SINR = SNR / (1 + J/N). The jammer's
power reaches the radar one way (∝ 1/R_J²) while the echo travels two ways (∝ 1/R⁴), which gives
the burn-through ranges below. References: Skolnik (ed.), *Radar Handbook*, 3rd ed., ch. 24
(electronic counter-countermeasures); Schleher, *Electronic Warfare in the Information Age*
(noise jamming and burn-through); Adamy, *EW 101* (radar jamming); NAWCWD TP 8347, *Electronic
Warfare and Radar Systems Engineering Handbook*, §4.7–4.9. See docs/models/ew.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.constants import BOLTZMANN_J_PER_K, SPEED_OF_LIGHT_MPS, STANDARD_TEMPERATURE_K
from iadsim.sensors.detection import DEFAULT_FALSE_ALARM_PROBABILITY, reference_snr

__all__ = [
    "BANDS",
    "azimuth_separation_rad",
    "band_of",
    "burn_through_range_m",
    "burn_through_range_self_screening_m",
    "jammed_detection_probability",
    "jammer_to_noise_ratio",
    "radar_gain_toward",
    "signal_to_interference",
]

_MIN_RANGE_M = 1.0  # ranges below this are treated as 1 m, as in detection.py

# IEEE Std 521-2019 radar letter bands: lower edges in MHz, each band up to the next edge.
_BAND_EDGES_MHZ = np.array([3.0, 30.0, 300.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0, 12_000.0,
                            18_000.0, 27_000.0, 40_000.0, 75_000.0, 110_000.0])
_BAND_NAMES = np.array(["", "HF", "VHF", "UHF", "L", "S", "C", "X", "Ku", "K", "Ka", "V", "W", "mm"])
BANDS: tuple[str, ...] = tuple(str(b) for b in _BAND_NAMES[1:])
"""The band names ``band_of`` returns, lowest first (the catalog's ``band`` and jammer/ESM
``bands`` use the same strings)."""


def band_of(frequency_mhz: ArrayLike) -> str | NDArray[np.str_]:
    """IEEE Std 521 letter band of a carrier frequency, for matching radars with jammer and ESM bands.

    HF 3–30 MHz, VHF 30–300, UHF 300–1000, L 1–2 GHz, S 2–4, C 4–8, X 8–12, Ku 12–18, K 18–27,
    Ka 27–40, V 40–75, W 75–110, "mm" above; each band includes its lower edge. Frequencies
    below 3 MHz, zero, negative or NaN give "" (no band).

    Returns:
        a ``str`` for a scalar input, else an array of strings of the input's shape.
    """
    f = np.asarray(frequency_mhz, dtype=np.float64)
    index = np.searchsorted(_BAND_EDGES_MHZ, np.where(np.isnan(f), -1.0, f), side="right")
    names = _BAND_NAMES[index]
    if names.ndim == 0:
        return str(names)
    return np.asarray(names)


def _db_to_linear(db: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(10.0 ** (np.asarray(db, dtype=np.float64) / 10.0))


def jammer_to_noise_ratio(jammer_power_w: ArrayLike, jammer_gain_dbi: ArrayLike,
                          jammer_bandwidth_hz: ArrayLike, radar_frequency_hz: ArrayLike,
                          radar_bandwidth_hz: ArrayLike, radar_gain_toward_jammer_dbi: ArrayLike,
                          noise_figure_db: ArrayLike, losses_db: ArrayLike,
                          range_to_jammer_m: ArrayLike) -> NDArray[np.float64]:
    """Linear jammer-to-noise ratio at a radar's receiver from one noise (barrage) jammer.

    One-way radar equation for the jamming power in the radar's receiver bandwidth B_r over the
    receiver's thermal noise k T₀ F B_r:

        J/N = P_j G_j G_r λ² · min(1, B_r/B_j) / ((4π)² R_J² · L · k T₀ F B_r)

    The jammer spreads P_j evenly over B_j around the radar's frequency, so when B_j ≥ B_r the
    ratio depends on the jammer's power density P_j/B_j and not on B_r. Noise jamming and
    receiver noise pass the radar's pulse compression, integration and Doppler filters alike, so
    this ratio holds after processing too and can be set against the detection model's SNR.

    Args:
        jammer_power_w: transmitter power delivered in the radar's band (W).
        jammer_gain_dbi: jammer antenna gain toward the radar (dBi).
        jammer_bandwidth_hz: width of the jammer's noise band (Hz).
        radar_frequency_hz: radar carrier (Hz); λ = c/f.
        radar_bandwidth_hz: radar receiver (noise) bandwidth (Hz).
        radar_gain_toward_jammer_dbi: radar antenna gain in the jammer's direction (dBi), e.g.
            from ``radar_gain_toward``.
        noise_figure_db: receiver noise figure F (dB); system noise temperature is taken as T₀F.
        losses_db: losses on the jamming path at the radar (receive line, radome; dB).
        range_to_jammer_m: radar-to-jammer range (m); below 1 m is treated as 1 m.

    Returns:
        J/N, linear (sum over jammers for several: noise powers add).
    """
    wavelength = SPEED_OF_LIGHT_MPS / np.asarray(radar_frequency_hz, dtype=np.float64)
    b_r = np.asarray(radar_bandwidth_hz, dtype=np.float64)
    b_j = np.asarray(jammer_bandwidth_hz, dtype=np.float64)
    r = np.maximum(np.asarray(range_to_jammer_m, dtype=np.float64), _MIN_RANGE_M)
    share = np.minimum(1.0, b_r / b_j)
    jamming_w = (np.asarray(jammer_power_w, dtype=np.float64) * _db_to_linear(jammer_gain_dbi)
                 * _db_to_linear(radar_gain_toward_jammer_dbi) * wavelength**2 * share
                 / ((4.0 * np.pi) ** 2 * r**2 * _db_to_linear(losses_db)))
    noise_w = BOLTZMANN_J_PER_K * STANDARD_TEMPERATURE_K * _db_to_linear(noise_figure_db) * b_r
    return np.asarray(jamming_w / noise_w)


def signal_to_interference(snr: ArrayLike, jnr: ArrayLike) -> NDArray[np.float64]:
    """Signal-to-interference-plus-noise ratio SINR = SNR / (1 + JNR): noise jamming adds to the
    receiver noise. With ``jnr`` = 0 it is the SNR itself. Linear ratios in and out."""
    return np.asarray(np.asarray(snr, dtype=np.float64) / (1.0 + np.asarray(jnr, dtype=np.float64)))


def azimuth_separation_rad(azimuth_a_rad: ArrayLike, azimuth_b_rad: ArrayLike) -> NDArray[np.float64]:
    """Absolute angle between two azimuths, wrapped to [0, π] (rad).

    The angle off boresight of a jammer when the radar's beam points at a target is the
    separation of the target's and the jammer's azimuths seen from the radar (docs/models/ew.md).
    """
    d = np.asarray(azimuth_a_rad, dtype=np.float64) - np.asarray(azimuth_b_rad, dtype=np.float64)
    return np.asarray(np.abs((d + np.pi) % (2.0 * np.pi) - np.pi))


def radar_gain_toward(angle_off_boresight_rad: ArrayLike, mainlobe_gain_dbi: ArrayLike,
                      beamwidth_rad: ArrayLike, sidelobe_level_db: ArrayLike) -> NDArray[np.float64]:
    """Antenna gain (dBi) at an angle off boresight: a Gaussian main lobe on a sidelobe floor.

        G(θ) = max(G₀ − 12 (θ/θ_B)², G₀ + SLL)   [dB]

    The Gaussian main lobe is 3 dB down at ±θ_B/2 (θ_B the half-power beamwidth) and falls until
    it meets the floor G₀ + SLL, which stands for the sidelobe envelope a jammer off the main
    lobe sees (SLL ≤ 0 is relative to the peak). Angles are folded to [0, π], so any sign or
    multiple of 2π may be passed. Serves for jammer antennas as well (``beamwidth_deg`` of the
    jammer type); an omnidirectional antenna is its gain everywhere.

    Args:
        angle_off_boresight_rad: angle between boresight and the direction of interest (rad).
        mainlobe_gain_dbi: peak gain G₀ (dBi).
        beamwidth_rad: half-power (3 dB) beamwidth θ_B in the plane of the angle (rad).
        sidelobe_level_db: sidelobe floor relative to the peak (dB, ≤ 0).
    """
    theta = azimuth_separation_rad(angle_off_boresight_rad, 0.0)
    g0 = np.asarray(mainlobe_gain_dbi, dtype=np.float64)
    mainlobe = g0 - 12.0 * (theta / np.asarray(beamwidth_rad, dtype=np.float64)) ** 2
    return np.asarray(np.maximum(mainlobe, g0 + np.asarray(sidelobe_level_db, dtype=np.float64)))


def burn_through_range_m(required_snr: ArrayLike, snr_ref: ArrayLike, reference_range_m: ArrayLike,
                         rcs_m2: ArrayLike, reference_rcs_m2: ArrayLike,
                         jnr_at_radar: ArrayLike) -> NDArray[np.float64]:
    """Target range (m) inside which the SINR reaches ``required_snr`` under a fixed JNR.

    For a stand-off or escort jammer whose distance to the radar does not change with the
    target's, JNR is a constant and

        R_BT = R₀ · (SNR₀ (σ/σ₀) / (SNR_req (1 + JNR)))^¼.

    With JNR = 0 this is the unjammed range for ``required_snr``
    (``detection.detection_range_m``); JNR = 15 halves it.

    Args:
        required_snr: linear SNR needed, e.g. ``detection.reference_snr(pd, pfa)``.
        snr_ref: the radar's SNR₀ at R₀ against σ₀ (``detection.reference_snr(reference_pd, pfa)``).
        reference_range_m: R₀ (m).
        rcs_m2, reference_rcs_m2: target RCS σ and the reference RCS σ₀ (m²).
        jnr_at_radar: linear JNR (summed over jammers).
    """
    ratio = (np.asarray(snr_ref, dtype=np.float64) * np.asarray(rcs_m2, dtype=np.float64)
             / np.asarray(reference_rcs_m2, dtype=np.float64)
             / (np.asarray(required_snr, dtype=np.float64) * (1.0 + np.asarray(jnr_at_radar))))
    return np.asarray(np.asarray(reference_range_m, dtype=np.float64) * ratio**0.25)


def burn_through_range_self_screening_m(required_snr: ArrayLike, snr_ref: ArrayLike,
                                        reference_range_m: ArrayLike, rcs_m2: ArrayLike,
                                        reference_rcs_m2: ArrayLike, jnr_ref: ArrayLike,
                                        jnr_reference_range_m: ArrayLike) -> NDArray[np.float64]:
    """Burn-through range (m) against a self-screening jammer (the jammer rides on the target).

    The jammer closes with the target, so JNR(R) = J₀ (R_J0/R)² while SNR ∝ 1/R⁴. Solving

        SNR₀ (σ/σ₀) (R₀/R)⁴ = SNR_req (1 + J₀ (R_J0/R)²)

    for u = (R₀/R)², with a = SNR₀ σ/σ₀ and b = J₀ (R_J0/R₀)², gives the positive root of
    a u² − SNR_req b u − SNR_req = 0:

        u = (SNR_req b + √((SNR_req b)² + 4 a SNR_req)) / (2a),   R_BT = R₀ / √u.

    With J₀ = 0 it is the unjammed range; when jamming dominates (J ≫ N),
    R_BT → R₀ √(a / (SNR_req b)), the classical square-root law of self-screening burn-through.

    Args:
        required_snr, snr_ref, reference_range_m, rcs_m2, reference_rcs_m2: as in
            ``burn_through_range_m``.
        jnr_ref: linear JNR J₀ when the jammer is at ``jnr_reference_range_m`` from the radar,
            e.g. ``jammer_to_noise_ratio(..., range_to_jammer_m=jnr_reference_range_m)`` with the
            radar's main-lobe gain (its beam is on the target that carries the jammer).
        jnr_reference_range_m: R_J0 (m).
    """
    req = np.asarray(required_snr, dtype=np.float64)
    r0 = np.asarray(reference_range_m, dtype=np.float64)
    a = (np.asarray(snr_ref, dtype=np.float64) * np.asarray(rcs_m2, dtype=np.float64)
         / np.asarray(reference_rcs_m2, dtype=np.float64))
    b = np.asarray(jnr_ref, dtype=np.float64) * (np.asarray(jnr_reference_range_m, dtype=np.float64)
                                                 / r0) ** 2
    rb = req * b
    u = (rb + np.sqrt(rb**2 + 4.0 * a * req)) / (2.0 * a)
    return np.asarray(r0 / np.sqrt(u))


def jammed_detection_probability(range_m: ArrayLike, rcs_m2: ArrayLike, reference_range_m: ArrayLike,
                                 reference_rcs_m2: ArrayLike, reference_pd: ArrayLike, jnr: ArrayLike,
                                 pfa: float = DEFAULT_FALSE_ALARM_PROBABILITY) -> NDArray[np.float64]:
    """Single-look Swerling 1 detection probability with noise jamming: Pd = Pfa^(1/(1+SINR)).

    The same model as ``detection.detection_probability`` with SNR replaced by
    SNR/(1 + JNR); with ``jnr`` = 0 the two agree. Arguments as there, plus the linear ``jnr``.
    """
    r = np.maximum(np.asarray(range_m, dtype=np.float64), _MIN_RANGE_M)
    snr = (reference_snr(reference_pd, pfa) * (np.asarray(rcs_m2) / np.asarray(reference_rcs_m2))
           * (np.asarray(reference_range_m) / r) ** 4)
    return np.asarray(np.exp(np.log(pfa) / (1.0 + signal_to_interference(snr, jnr))))
