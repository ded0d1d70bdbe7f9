"""Identification at a command node: correlation of tracks with flight plans and IFF replies.

A track is a friend when a flight-plan position or an IFF-answering aircraft lies within the gate
of its horizontal position; a confirmed track with neither after ``identification_time_s`` is
declared unknown. Formulas and assumptions: docs/models/c2.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["correlated", "horizontal_distances"]

Array = NDArray[np.float64]


def horizontal_distances(a_en_m: Array, b_en_m: Array) -> Array:
    """Distances ``(A, B)`` in metres between horizontal positions ``(A, 2)`` and ``(B, 2)`` (east,
    north in one local frame)."""
    if not len(a_en_m) or not len(b_en_m):
        return np.zeros((len(a_en_m), len(b_en_m)))
    return np.asarray(np.linalg.norm(a_en_m[:, None, :] - b_en_m[None, :, :], axis=-1))


def correlated(track_en_m: Array, reference_en_m: Array, gate_m: float) -> NDArray[np.bool_]:
    """Which of T tracks ``(T, 2)`` have a reference point ``(R, 2)`` (a flight-plan position or an
    IFF reply, east/north metres) within ``gate_m`` metres; ``(T,)``."""
    if not len(reference_en_m):
        return np.zeros(len(track_en_m), dtype=bool)
    return np.asarray(horizontal_distances(track_en_m, reference_en_m).min(axis=1) <= gate_m)
