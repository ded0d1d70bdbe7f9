"""Air policing: quick-reaction-alert interceptors guided from the ground onto a track, their own
radar taking over, visual identification and shadowing. Kinematics in a local ENU frame (m, s),
all interceptors as arrays. Model and assumptions: docs/models/c2.md."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iadsim.geo.radar_geometry import EARTH_RADIUS_M

__all__ = ["Interceptors", "Phase", "intercept_time_s", "step_interceptors"]

Array = NDArray[np.float64]


class Phase(enum.IntEnum):
    """Where an interceptor pair is in its mission."""

    ordered = 0  # on the ground, readiness running
    ground_controlled = 1  # airborne, steered onto the track of the deciding node's picture
    acquired = 2  # its own radar holds the target
    shadowing = 3  # identified visually; follows the target
    done = 4


def intercept_time_s(origin_m: Array, speed_mps: Array, target_m: Array, target_vel_mps: Array) -> Array:
    """Earliest time to reach a constant-velocity target flying straight at constant speed, for N
    interceptors: the smallest t ≥ 0 with ``|p + v t − o| = s t``; inf where none exists.

    Args:
        origin_m: ``(N, 3)``; speed_mps: ``(N,)``; target_m, target_vel_mps: ``(N, 3)``.
    """
    d = target_m - origin_m
    a = np.einsum("ij,ij->i", target_vel_mps, target_vel_mps) - speed_mps**2
    b = 2.0 * np.einsum("ij,ij->i", d, target_vel_mps)
    c = np.einsum("ij,ij->i", d, d)
    out = np.full(len(d), np.inf)
    linear = np.abs(a) < 1e-9
    with np.errstate(all="ignore"):  # the branches not taken may divide by zero
        t_lin = np.where(b < 0.0, -c / b, np.inf)
        disc = b * b - 4.0 * a * c
        sq = np.sqrt(np.maximum(disc, 0.0))
        r1, r2 = (-b - sq) / (2.0 * a), (-b + sq) / (2.0 * a)
    roots = np.where(r1 >= 0.0, np.where(r2 >= 0.0, np.minimum(r1, r2), r1), r2)
    quad = ~linear & (disc >= 0.0) & (roots >= 0.0)
    out[quad] = roots[quad]
    out[linear] = t_lin[linear]
    out[c == 0.0] = 0.0
    return out


@dataclass
class Interceptors:
    """Interceptor pairs in flight or ordered, as parallel arrays of I rows.

    Attributes:
        unit: air base or detachment id. aircraft: type id. node: the deciding node that steers them.
        track_id: the track of ``node``'s picture they are sent against.
        target: index of the truth object they will identify (the one nearest the track when the
            order was given), -1 if none. speed_mps: intercept speed.
        ordered_s, airborne_s, acquired_s, identified_s: times (NaN until they happen).
        position_m: ``(I, 3)`` local ENU metres (the base while on the ground). phase: ``Phase``.
    """

    unit: list[str] = field(default_factory=list)
    aircraft: list[str] = field(default_factory=list)
    node: list[str] = field(default_factory=list)
    track_id: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    target: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    speed_mps: Array = field(default_factory=lambda: np.zeros(0))
    ordered_s: Array = field(default_factory=lambda: np.zeros(0))
    airborne_s: Array = field(default_factory=lambda: np.zeros(0))
    acquired_s: Array = field(default_factory=lambda: np.zeros(0))
    identified_s: Array = field(default_factory=lambda: np.zeros(0))
    position_m: Array = field(default_factory=lambda: np.zeros((0, 3)))
    phase: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.unit)

    def add(self, unit: str, aircraft: str, node: str, track_id: int, target: int, speed_mps: float,
            ordered_s: float, airborne_s: float, base_m: Array) -> int:
        """Append one ordered pair; returns its index."""
        self.unit.append(unit)
        self.aircraft.append(aircraft)
        self.node.append(node)
        self.track_id = np.append(self.track_id, track_id)
        self.target = np.append(self.target, target)
        self.speed_mps = np.append(self.speed_mps, speed_mps)
        self.ordered_s = np.append(self.ordered_s, ordered_s)
        self.airborne_s = np.append(self.airborne_s, airborne_s)
        self.acquired_s = np.append(self.acquired_s, np.nan)
        self.identified_s = np.append(self.identified_s, np.nan)
        self.position_m = np.vstack([self.position_m, np.asarray(base_m, dtype=np.float64)[None, :]])
        self.phase = np.append(self.phase, int(Phase.ordered))
        return len(self) - 1



def _to_height(enu_m: Array) -> Array:
    """``(I, 3)`` local ENU positions as (east, north, height above the origin's level), metres."""
    out = np.array(enu_m, dtype=np.float64, copy=True)
    out[:, 2] += (out[:, 0] ** 2 + out[:, 1] ** 2) / (2.0 * EARTH_RADIUS_M)
    return out


def _from_height(xyh_m: Array) -> Array:
    """The inverse of ``_to_height``: (east, north, height) back to local ENU, metres."""
    out = np.array(xyh_m, dtype=np.float64, copy=True)
    out[:, 2] -= (out[:, 0] ** 2 + out[:, 1] ** 2) / (2.0 * EARTH_RADIUS_M)
    return out


def _to_height_velocity(enu_m: Array, vel_mps: Array) -> Array:
    """``(I, 3)`` ENU velocities at ENU positions as (east, north, climb rate), m/s."""
    out = np.array(vel_mps, dtype=np.float64, copy=True)
    out[:, 2] += (enu_m[:, 0] * vel_mps[:, 0] + enu_m[:, 1] * vel_mps[:, 1]) / EARTH_RADIUS_M
    return out


def step_interceptors(ic: Interceptors, t0_s: float, t1_s: float, aim_m: Array, aim_vel_mps: Array,
                      target_t0_m: Array, target_t1_m: Array, acquisition_range_m: float,
                      identification_range_m: float, shadow_s: float) -> list[tuple[float, int, str]]:
    """Advance every interceptor from ``t0_s`` to ``t1_s``; returns the events (time, index, kind).

    Args:
        aim_m, aim_vel_mps: ``(I, 3)`` the steering target of each pair: the track's state from the
            ground (phase ground_controlled) — rows of NaN when the picture has lost the track, in
            which case the pair flies on to its last aim point.
        target_t0_m, target_t1_m: ``(I, 3)`` the true position of each pair's target object at the
            two times (NaN when it does not exist, e.g. landed).
        acquisition_range_m: the pair's radar holds the target within this range, metres.
        identification_range_m: visual identification within this distance, metres.
        shadow_s: the pair shadows the target this long after identification, seconds.
    """
    events: list[tuple[float, int, str]] = []
    dt = t1_s - t0_s
    if not len(ic) or dt <= 0.0:
        return events
    # fly in (east, north, height): the ENU frame's up falls away from the ground by d²/2R at a
    # distance d from its origin, so a straight ENU line between two points sags below them by
    # chord²/8R (about 200 m over 100 km) and a pair flying it would dive into the ground
    position = _to_height(ic.position_m)
    aim_vel_mps = _to_height_velocity(aim_m, aim_vel_mps)
    aim_m, target_t0_m, target_t1_m = _to_height(aim_m), _to_height(target_t0_m), _to_height(target_t1_m)
    phase = ic.phase
    launch = (phase == Phase.ordered) & (ic.airborne_s <= t1_s)
    for i in np.flatnonzero(launch):
        events.append((float(ic.airborne_s[i]), int(i), "airborne"))
    phase[launch] = Phase.ground_controlled
    flying = (phase == Phase.ground_controlled) | (phase == Phase.acquired)
    start = np.where(launch, np.maximum(ic.airborne_s, t0_s), t0_s)
    avail = np.clip(t1_s - start, 0.0, dt)

    truth_ok = np.all(np.isfinite(target_t0_m), axis=1) & np.all(np.isfinite(target_t1_m), axis=1)
    target_vel = np.where(truth_ok[:, None], (target_t1_m - target_t0_m) / dt, 0.0)
    guided = np.where((phase == Phase.acquired)[:, None] & truth_ok[:, None], target_t0_m, aim_m)
    guided_vel = np.where((phase == Phase.acquired)[:, None] & truth_ok[:, None], target_vel, aim_vel_mps)
    has_aim = np.all(np.isfinite(guided), axis=1) & np.all(np.isfinite(guided_vel), axis=1)
    # lead pursuit: head for the predicted intercept point; tail chase where none exists
    t_hit = intercept_time_s(position, ic.speed_mps, np.where(has_aim[:, None], guided, 0.0),
                             np.where(has_aim[:, None], guided_vel, 0.0))
    point = np.where(np.isfinite(t_hit)[:, None], guided + guided_vel * np.where(
        np.isfinite(t_hit), t_hit, 0.0)[:, None], guided)
    heading = point - position
    dist = np.linalg.norm(heading, axis=1)
    move = np.minimum(ic.speed_mps * avail, dist)
    unit = np.divide(heading, dist[:, None], out=np.zeros_like(heading), where=dist[:, None] > 0)
    moving = flying & has_aim
    new_pos = np.where(moving[:, None], position + unit * move[:, None], position)
    # closest approach to the true target within the step (both move linearly)
    p0 = position - target_t0_m
    dv = (new_pos - position) / dt - target_vel
    denom = np.einsum("ij,ij->i", dv, dv)
    tau = np.clip(np.divide(-np.einsum("ij,ij->i", p0, dv), denom, out=np.zeros(len(ic)),
                            where=denom > 0), 0.0, dt)
    miss = np.linalg.norm(p0 + dv * tau[:, None], axis=1)
    position = new_pos
    with np.errstate(invalid="ignore"):
        gap = np.linalg.norm(new_pos - target_t1_m, axis=1)
    acquire = (phase == Phase.ground_controlled) & truth_ok & (gap <= acquisition_range_m)
    for i in np.flatnonzero(acquire):
        ic.acquired_s[i] = t1_s
        events.append((t1_s, int(i), "radar_acquisition"))
    phase[acquire] = Phase.acquired
    identify = flying & truth_ok & (miss <= identification_range_m)
    for i in np.flatnonzero(identify):
        if not np.isfinite(ic.acquired_s[i]):
            ic.acquired_s[i] = t0_s + tau[i]
        ic.identified_s[i] = t0_s + tau[i]
        events.append((float(t0_s + tau[i]), int(i), "visual_identification"))
    phase[identify] = Phase.shadowing
    shadowing = phase == Phase.shadowing
    position[shadowing & truth_ok] = target_t1_m[shadowing & truth_ok]
    ic.position_m = _from_height(position)
    finished = shadowing & ((t1_s >= ic.identified_s + shadow_s) | ~truth_ok)
    lost = flying & ~identify & ~truth_ok
    for i in np.flatnonzero(finished | lost):
        events.append((t1_s, int(i), "shadow_end" if finished[i] else "target_lost"))
    phase[finished | lost] = Phase.done
    ic.phase = phase
    return events
