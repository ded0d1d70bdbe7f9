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
    "detection_probability",
    "detection_range_m",
    "reference_snr",
]

DEFAULT_FALSE_ALARM_PROBABILITY = 1e-6
"""Pfa per resolution cell of the functions below when the caller gives none (coverage uses it):
a common design value (Skolnik §2.5), a model convention rather than a fact about any radar. The
engine takes the scenario's ``sensing.default_false_alarm_probability``, whose reference value is
this one (tested)."""


def reference_snr(reference_pd: ArrayLike, pfa: float = DEFAULT_FALSE_ALARM_PROBABILITY,
                  ) -> NDArray[np.float64]:
    """Signal-to-noise ratio (linear) at which a Swerling 1 target is detected with ``reference_pd``."""
    p0 = np.asarray(reference_pd, dtype=np.float64)
    return np.asarray(np.log(pfa) / np.log(p0) - 1.0)


def detection_probability(range_m: ArrayLike, rcs_m2: ArrayLike, reference_range_m: ArrayLike,
                          reference_rcs_m2: ArrayLike, reference_pd: ArrayLike,
                          pfa: float = DEFAULT_FALSE_ALARM_PROBABILITY) -> NDArray[np.float64]:
    """Single-look detection probability of a Swerling 1 target; broadcasts over all arguments.

    Args:
        range_m: slant range to the target (m); 0 is treated as the minimum positive range.
        rcs_m2: target radar cross-section (m²).
        reference_range_m: the radar's detection range (m) against ``reference_rcs_m2`` at
            ``reference_pd``.
        reference_rcs_m2: RCS of that reference target (m²).
        reference_pd: detection probability at the reference range (0–1).
        pfa: false-alarm probability.
    """
    r = np.maximum(np.asarray(range_m, dtype=np.float64), 1.0)
    snr = (reference_snr(reference_pd, pfa) * (np.asarray(rcs_m2) / np.asarray(reference_rcs_m2))
           * (np.asarray(reference_range_m) / r) ** 4)
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
