"""Identification at a command node: correlation of tracks with flight plans and IFF replies.

A track is a friend when a flight-plan position or an IFF-answering aircraft lies within the gate
of its horizontal position; a confirmed track with neither after ``identification_time_s`` is
declared unknown. Formulas and assumptions: docs/models/c2.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iadsim.c2.state import C2State, Identity, NodeState
from iadsim.tracking.fusion import TrackSet

__all__ = ["correlated", "horizontal_distances", "identify"]

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


def identify(state: C2State, node: NodeState, picture: TrackSet, t: float, k: int,
             obj: NDArray[np.int64]) -> NDArray[np.int64]:
    """``(T,)`` the identity of each picture track (``Identity`` codes) at ``t`` (clock step ``k``).

    A pending track correlated with a flight plan or an IFF reply becomes a friend; one that has
    stayed uncorrelated for ``identification_time_s`` since the node first held it becomes unknown;
    an identity once given stays (hostile designation: ``decisions``). ``obj`` are the truth objects
    the tracks hold (for the event log).
    """
    s = state.settings
    here = state.truth.enu[k, :, :2]
    alive = np.all(np.isfinite(here), axis=1)
    en = picture.state[:, :2]
    friend = (correlated(en, here[alive & state.flight_plan], s.flight_plan_gate_m)
              | correlated(en, here[alive & state.iff], s.iff_gate_m))
    tid = picture.track_id
    node.hold(tid)
    first = node.first_seen_s[tid]
    first = np.where(np.isnan(first), t, first)
    node.first_seen_s[tid] = first
    current = node.identity[tid]
    pending = current == Identity.pending
    to_friend = pending & friend
    to_unknown = pending & ~friend & (t - first >= s.identification_time_s)
    current = np.where(to_friend, Identity.friend, np.where(to_unknown, Identity.unknown, current))
    node.identity[tid] = current
    for i in np.flatnonzero(to_friend).tolist():
        state.event(t, "declared_friend", node.name, track=int(tid[i]), obj=int(obj[i]))
    for i in np.flatnonzero(to_unknown).tolist():
        state.event(t, "declared_unknown", node.name, track=int(tid[i]), obj=int(obj[i]))
    return np.asarray(current, dtype=np.int64)
