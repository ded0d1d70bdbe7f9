"""Radar detection probability from range and radar cross-section (Swerling 1, square-law detector).

Public sources give a radar's detection range against a reference target (RCS σ₀, probability
P₀), not its power budget. The radar equation fixes how the signal-to-noise ratio scales:
SNR(R, σ) = SNR₀ · (σ/σ₀) · (R₀/R)⁴, where SNR₀ is the ratio that gives P₀ at R₀. For a
Swerling 1 target (slow Rayleigh fluctuation, one look) with false-alarm probability Pfa,
Pd = Pfa^(1/(1+SNR)) (Skolnik, Introduction to Radar Systems, 3rd ed., §2.8; Mahafza, Radar
Systems Analysis and Design, §2.9). Hence SNR₀ = ln Pfa / ln P₀ − 1. See docs/models/detection.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_FALSE_ALARM_PROBABILITY",
    "clutter_snr_factor",
    "detection_probability",
    "detection_range_m",
    "reference_snr",
]

DEFAULT_FALSE_ALARM_PROBABILITY = 1e-6
"""Pfa per resolution cell of the functions below when the caller gives none (coverage uses it):
a common design value (Skolnik §2.5), a model convention rather than a fact about any radar. The
engine takes the scenario's ``sensing.default_false_alarm_probability``, whose reference value is
this one (tested)."""


def reference_snr(reference_pd: ArrayLike, pfa: ArrayLike = DEFAULT_FALSE_ALARM_PROBABILITY,
                  ) -> NDArray[np.float64]:
    """Signal-to-noise ratio (linear) at which a Swerling 1 target is detected with ``reference_pd``."""
    p0 = np.asarray(reference_pd, dtype=np.float64)
    return np.asarray(np.log(pfa) / np.log(p0) - 1.0)


def clutter_snr_factor(target_agl_m: ArrayLike, clutter_loss_db: ArrayLike,
                       clutter_height_m: ArrayLike) -> NDArray[np.float64]:
    """The factor (≤ 1) by which ground clutter reduces the SNR of a target at ``target_agl_m``
    above ground: a loss of ``clutter_loss_db`` at ground level fading linearly (in dB) to none
    at ``clutter_height_m``. NaN loss means none. The one low-altitude rule of the engine and of
    coverage (docs/models/detection.md, "Clutter"); broadcasts over all arguments."""
    loss_db = np.nan_to_num(np.asarray(clutter_loss_db, dtype=np.float64)) * np.clip(
        1.0 - np.asarray(target_agl_m, dtype=np.float64) / np.asarray(clutter_height_m), 0.0, 1.0)
    return np.asarray(10.0 ** (-loss_db / 10.0))


def detection_probability(range_m: ArrayLike, rcs_m2: ArrayLike, reference_range_m: ArrayLike,
                          reference_rcs_m2: ArrayLike, reference_pd: ArrayLike,
                          pfa: ArrayLike = DEFAULT_FALSE_ALARM_PROBABILITY,
                          snr_factor: ArrayLike = 1.0) -> NDArray[np.float64]:
    """Single-look detection probability of a Swerling 1 target; broadcasts over all arguments.

    Args:
        range_m: slant range to the target (m); 0 is treated as the minimum positive range.
        rcs_m2: target radar cross-section (m²).
        reference_range_m: the radar's detection range (m) against ``reference_rcs_m2`` at
            ``reference_pd``.
        reference_rcs_m2: RCS of that reference target (m²).
        reference_pd: detection probability at the reference range (0–1).
        pfa: false-alarm probability.
        snr_factor: a further factor on the SNR (clutter: ``clutter_snr_factor``).
    """
    r = np.maximum(np.asarray(range_m, dtype=np.float64), 1.0)
    snr = (reference_snr(reference_pd, pfa) * (np.asarray(rcs_m2) / np.asarray(reference_rcs_m2))
           * (np.asarray(reference_range_m) / r) ** 4 * np.asarray(snr_factor))
    return np.asarray(np.exp(np.log(pfa) / (1.0 + snr)))


def detection_range_m(pd: ArrayLike, rcs_m2: ArrayLike, reference_range_m: ArrayLike,
                      reference_rcs_m2: ArrayLike, reference_pd: ArrayLike,
                      pfa: float = DEFAULT_FALSE_ALARM_PROBABILITY) -> NDArray[np.float64]:
    """Range (m) at which the detection probability falls to ``pd``: the inverse of
    ``detection_probability``; it scales with the fourth root of RCS."""
    snr_needed = reference_snr(pd, pfa)
    snr_ref = reference_snr(reference_pd, pfa)
    ratio = snr_ref * (np.asarray(rcs_m2) / np.asarray(reference_rcs_m2)) / snr_needed
    return np.asarray(np.asarray(reference_range_m, dtype=np.float64) * ratio ** 0.25)
