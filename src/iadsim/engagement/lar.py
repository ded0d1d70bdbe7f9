"""Launch acceptability regions (LAR): where a target may be when a missile is launched so that the
missile meets it inside the kill zone, by target altitude, speed and aspect.

A launch at a target at ground distance ρ from the launcher, height h above the launcher, flying
level at speed v with aspect α (the angle between its heading and the line from the target to the
launcher: 0° approaching, 90° crossing, 180° receding) is acceptable when the earliest predicted
intercept of the flyout model (``iadsim.engagement.missile.predicted_intercept``) exists and, at the
intercept point,

* the slant range lies between the kill zone's minimum and maximum range,
* the target's height lies between its minimum and maximum altitude,
* the target is no faster than its maximum target speed, and
* the missile still flies at least ``TERMINAL_SPEED_RATIO`` × the target's speed (manoeuvre
  margin: a missile barely faster than its target cannot turn onto it).

For each (h, v, α) the acceptable launch distances form an interval [near, far] of ground
distance; ``LaunchRegion`` holds these two edges as arrays over an altitude × speed × aspect grid,
computed once per missile, and looks them up by multilinear interpolation. Coverage maps and the
engine's fire orders use the same tables. Model, conventions and checks: docs/models/launch-regions.md.
"""

from __future__ import annotations

import collections
import enum
import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import RegularGridInterpolator

from iadsim.engagement.missile import MissileProfile, missile_profile, time_of_flight_s
from iadsim.scenario.schema import MissileType

__all__ = [
    "ASPECT_STEP_DEG",
    "TERMINAL_SPEED_RATIO",
    "Aspect",
    "LaunchRegion",
    "Refusal",
    "aspect_deg",
    "launch_region",
]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

TERMINAL_SPEED_RATIO = 1.5
"""Model convention: at intercept the missile must fly at least 1.5 × the target's speed. A
proportionally navigated missile turns onto a manoeuvring target only with a speed advantage; with
a ratio near 1 its lateral acceleration demand against any target manoeuvre grows without bound.
Binds only against fast targets: a 2,000 m/s missile ends its flight at 1,000 m/s (the flyout's
end speed), so the ratio limits targets above 667 m/s."""

ASPECT_STEP_DEG = 15.0
"""Model convention: the table's aspect step (0°, 15°, …, 180°); the region is symmetric about the
line of sight, so headings of 180°–360° use the mirror aspect."""

_ALTITUDES_M = (10.0, 30.0, 100.0, 300.0, 1000.0, 2000.0, 3000.0, 5000.0, 7000.0, 10000.0,
                13000.0, 16000.0, 20000.0, 25000.0, 30000.0)
_SPEED_STEPS = 25  # 0 … top speed
# times of flight sampled over the intercept window and over the times before it; the unions'
# extremes lie at the window's ends (sampled exactly) or at smooth interior extremes, where the
# sampling error is second order (the tables' agreement with the engine's flyout is tested)
_WINDOW_SAMPLES = 129
_PROFILES_KEPT = 1024  # (speed, aspect) profiles kept per region: a coverage map uses a few
_EDGE_CHUNK = 512  # states per chunk of the edge computation: (512, 129) float64 temporaries of 0.5 MB


class Aspect(enum.StrEnum):
    """The three named aspects of coverage tables; any heading in between is a number (degrees)."""

    approaching = "approaching"
    crossing = "crossing"
    receding = "receding"

    @property
    def degrees(self) -> float:
        """0, 90 or 180."""
        return {"approaching": 0.0, "crossing": 90.0, "receding": 180.0}[self.value]


class Refusal(enum.StrEnum):
    """Why a launch is outside the region (the ``reason`` column of refused engagements)."""

    target_speed = ("target faster than the missile's maximum target speed or than its terminal-speed "
                    "margin allows")
    altitude = "target altitude outside the kill zone"
    beyond = "beyond the launch region's far edge for the target's aspect and speed (or none at all)"
    inside = "inside the launch region's near edge (minimum range)"


def aspect_deg(target_m: ArrayLike, target_vel_mps: ArrayLike, launcher_m: ArrayLike) -> Array:
    """Aspect of N targets from their launchers, degrees in [0, 180]: the angle between the target's
    horizontal velocity and the horizontal line from the target to the launcher (0 approaching,
    180 receding); 0 for a hovering target or one overhead.

    Args:
        target_m, target_vel_mps, launcher_m: ``(N, 3)`` ENU metres and m/s (broadcast).
    """
    los = np.asarray(launcher_m, float)[..., :2] - np.asarray(target_m, float)[..., :2]
    vel = np.asarray(target_vel_mps, float)[..., :2]
    dot = np.sum(los * vel, axis=-1)
    cross = los[..., 0] * vel[..., 1] - los[..., 1] * vel[..., 0]
    out: Array = np.degrees(np.abs(np.arctan2(cross, dot)))
    return out


@dataclass(frozen=True)
class LaunchRegion:
    """One missile's launch acceptability region as tables over altitude × speed × aspect.

    Attributes:
        name: the missile's name. altitude_m: ``(A,)`` target heights above the launcher.
        speed_mps: ``(S,)`` target speeds. aspect_deg: ``(H,)`` 0…180.
        near_m, far_m: ``(A, S, H)`` the edges of the acceptable launch ground distances (both 0
            where no launch is acceptable).
        min_altitude_m, max_altitude_m, max_target_speed_mps: the kill zone's hard limits (outside
            them nothing is acceptable; the tables span them).
    """

    name: str
    altitude_m: Array
    speed_mps: Array
    aspect_deg: Array
    near_m: Array
    far_m: Array
    min_altitude_m: float
    max_altitude_m: float
    max_target_speed_mps: float

    @functools.cached_property
    def _interpolator(self) -> RegularGridInterpolator:
        """Near and far edges in one interpolator (values ``(..., 2)``): one search of the grid
        cells for both, and the same numbers as one interpolator each."""
        axes = (self.altitude_m, self.speed_mps, self.aspect_deg)
        return RegularGridInterpolator(axes, np.stack([self.near_m, self.far_m], axis=-1),
                                       bounds_error=False, fill_value=None)

    @functools.cached_property
    def _profiles(self) -> dict[tuple[float, float], tuple[Array, Array]]:
        """(speed, folded aspect) → near and far edges at the table's altitudes (``_profile``)."""
        return {}

    def _profile(self, speed_mps: float, folded_deg: float) -> tuple[Array, Array]:
        """Near and far edges at each of the table's altitudes for one target speed (inside the
        table's speeds) and aspect (0…180): the interpolator's own values there, bilinear in speed
        and aspect. Multilinear interpolation is separable, so between two table altitudes the
        edges are the linear interpolation of these (``edges_m``'s path for one speed and aspect)."""
        key = (speed_mps, folded_deg)
        hit = self._profiles.get(key)
        if hit is None:
            n = len(self.altitude_m)
            edges = self._interpolator(np.column_stack([self.altitude_m, np.full(n, speed_mps),
                                                        np.full(n, folded_deg)]))
            hit = (np.ascontiguousarray(edges[:, 0]), np.ascontiguousarray(edges[:, 1]))
            if len(self._profiles) < _PROFILES_KEPT:
                self._profiles[key] = hit
        return hit

    def edges_m(self, altitude_m: ArrayLike, speed_mps: ArrayLike, aspect: ArrayLike,
                ) -> tuple[Array, Array]:
        """(near, far) ground distances of the region at N (altitude, speed, aspect), metres; both
        0 outside the kill zone's altitude and target-speed limits.

        Args:
            altitude_m: target height above the launcher, m. speed_mps: target speed, m/s.
            aspect: degrees (any value; folded into [0, 180]). All broadcast together.
        """
        if np.ndim(speed_mps) == 0 and np.ndim(aspect) == 0:
            # one speed and aspect for many altitudes (a coverage map's cells): linear in altitude
            # between the profile's values, the same numbers as the 3-D interpolation below at a
            # fraction of its cost (it was a third of a coverage evaluation; docs/benchmarks.md)
            alt = np.asarray(altitude_m, float)
            speed, heading = float(np.asarray(speed_mps)), float(np.asarray(aspect))
            near_h, far_h = self._profile(min(max(speed, 0.0), float(self.speed_mps[-1])),
                                          abs((heading + 180.0) % 360.0 - 180.0))
            ok = self.limits_ok(alt, speed)
            clipped = np.clip(alt, self.altitude_m[0], self.altitude_m[-1])
            return (np.where(ok, np.interp(clipped, self.altitude_m, near_h), 0.0),
                    np.where(ok, np.interp(clipped, self.altitude_m, far_h), 0.0))
        h, v, a = np.broadcast_arrays(np.asarray(altitude_m, float), np.asarray(speed_mps, float),
                                      np.asarray(aspect, float))
        folded = np.abs((a + 180.0) % 360.0 - 180.0)
        inside = self.limits_ok(h, v)
        points = np.stack([np.clip(h, self.altitude_m[0], self.altitude_m[-1]),
                           np.clip(v, 0.0, self.speed_mps[-1]), folded], axis=-1)
        edges = self._interpolator(points.reshape(-1, 3))
        near = np.where(inside, edges[:, 0].reshape(h.shape), 0.0)
        far = np.where(inside, edges[:, 1].reshape(h.shape), 0.0)
        return np.asarray(near, float), np.asarray(far, float)

    def limits_ok(self, altitude_m: ArrayLike, speed_mps: ArrayLike) -> BoolArray:
        """Inside the kill zone's altitude limits and at or below its maximum target speed."""
        h = np.asarray(altitude_m, float)
        v = np.asarray(speed_mps, float)
        out: BoolArray = np.asarray((h >= self.min_altitude_m) & (h <= self.max_altitude_m)
                                    & (v <= self.speed_mps[-1]) & (v >= 0.0))
        return out

    def contains(self, ground_m: ArrayLike, altitude_m: ArrayLike, speed_mps: ArrayLike,
                 aspect: ArrayLike) -> BoolArray:
        """Whether a launch is acceptable at N target states (``edges_m``; ``ground_m`` the
        target's ground distance from the launcher at launch, m)."""
        near, far = self.edges_m(altitude_m, speed_mps, aspect)
        g = np.asarray(ground_m, float)
        out: BoolArray = np.asarray((far > near) & (g >= near) & (g <= far))
        return out

    def refusal(self, ground_m: ArrayLike, altitude_m: ArrayLike, speed_mps: ArrayLike,
                aspect: ArrayLike) -> NDArray[np.object_]:
        """The ``Refusal`` of each of N target states, or None where the launch is acceptable."""
        g, h, v, a = np.broadcast_arrays(*(np.asarray(x, float) for x in
                                           (ground_m, altitude_m, speed_mps, aspect)))
        near, far = self.edges_m(h, v, a)
        out: NDArray[np.object_] = np.full(g.shape, None, dtype=object)
        out = np.where(g < near, _obj(Refusal.inside), out)
        out = np.where((g > far) | (far <= near), _obj(Refusal.beyond), out)
        out = np.where((h < self.min_altitude_m) | (h > self.max_altitude_m), _obj(Refusal.altitude), out)
        out = np.where(v > self.speed_mps[-1], _obj(Refusal.target_speed), out)
        return out

    def max_far_m(self) -> float:
        """The largest far edge anywhere in the table (the reach of the launch region), metres."""
        return float(self.far_m.max())


def _obj(value: Refusal) -> NDArray[np.object_]:
    """A 0-d object array holding ``value`` (so that ``np.where`` keeps the enum member)."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _window_s(p: MissileProfile, v: Array, ratio: float) -> tuple[Array, Array]:
    """The times of flight [T_a, T_b] at which an intercept of a target at speed v meets the kill
    zone's range limits and the terminal-speed margin, seconds, ``(M,)`` each (T_a > T_b: none).

    s(T) is increasing, so min_range ≤ s(T) ≤ max_range is T(min_range) ≤ T ≤ t_max; the speed
    a·T of the boost rises and the coast's V_b / (1 + k V_b τ) falls, so V(T) ≥ ratio·v is
    ratio·v / a ≤ T ≤ t_b + (V_b / (ratio·v) − 1) / (k V_b).
    """
    t_max = float(p.max_flight_time_s)
    t_boost = float(p.boost_time_s)
    v_burnout = float(p.burnout_speed_mps)
    k = float(p.drag_per_m)
    need = ratio * v
    t_min_range = float(time_of_flight_s(p, float(p.min_range_m)))
    t_a = np.maximum(t_min_range, need / float(p.boost_acceleration_mps2))
    with np.errstate(divide="ignore"):
        slack = v_burnout / need - 1.0  # inf for a hovering target
    # a boost-only flight (k = 0) ends at burnout: its speed only rises
    t_v = t_boost + slack / (k * v_burnout) if k > 0.0 else np.full_like(need, np.inf)
    t_b = np.where(need > v_burnout, -np.inf, np.minimum(t_max, t_v))
    return np.asarray(t_a, float), np.asarray(t_b, float)


def _reach_m(p: MissileProfile, t: Array, h: Array, v: Array, a_rad: Array,
             ) -> tuple[Array, Array, BoolArray]:
    """The launch ground distances ρ ≥ 0 whose target the missile has reached by time of flight t:
    s(t) ≥ |target(t)| ⟺ (ρ − v cos α t)² ≤ s(t)² − (v sin α t)² − h², an interval [lo, hi].

    Args:
        t: ``(M, K)`` times of flight, s. h, v, a_rad: ``(M, 1)`` height (m), speed (m/s),
            aspect (rad).
    Returns: lo, hi ``(M, K)`` metres and whether the interval is non-empty.
    """
    s = p.flown_distance_m(t)
    disc = s * s - (v * np.sin(a_rad) * t) ** 2 - h * h
    root = np.sqrt(np.maximum(disc, 0.0))
    centre = v * np.cos(a_rad) * t
    hi = centre + root
    lo = np.maximum(centre - root, 0.0)
    ok: BoolArray = np.asarray((disc >= 0.0) & (hi >= 0.0))
    return lo, hi, ok


def _edges(p: MissileProfile, h: Array, v: Array, a: Array, ratio: float) -> tuple[Array, Array]:
    """Near and far launch edges of M (h, v, a) states, metres (see ``_edges_of``), taken in chunks
    of ``_EDGE_CHUNK`` states: each state's edges are its own, and the chunk's (chunk, samples)
    temporaries stay in the processor's cache instead of being paged in afresh."""
    h, v, a = (np.asarray(x, float) for x in (h, v, a))
    near, far = np.zeros(len(h)), np.zeros(len(h))
    for start in range(0, len(h), _EDGE_CHUNK):
        part = slice(start, start + _EDGE_CHUNK)
        near[part], far[part] = _edges_of(p, h[part], v[part], a[part], ratio)
    return near, far


def _edges_of(p: MissileProfile, h: Array, v: Array, a: Array, ratio: float) -> tuple[Array, Array]:
    """Near and far launch edges of M (h, v, a) states, metres (both 0 where none is acceptable).

    A launch at ρ is acceptable when its earliest intercept falls in the window [T_a, T_b]
    (``_window_s``): ρ lies in the union W of the reach intervals over the window and not in the
    union E over the earlier times (an intercept there would come first). Both unions are taken
    over ``_WINDOW_SAMPLES`` times that include the window's ends, where the far edge usually lies
    (see docs/models/launch-regions.md); the region is the hull of W \\ E.
    """
    h, v, a = (np.asarray(x, float) for x in (h, v, a))
    inside = ((h >= float(p.min_altitude_m)) & (h <= float(p.max_altitude_m))
              & (v <= float(p.max_target_speed_mps)))
    t_a, t_b = _window_s(p, v, ratio)
    open_ = inside & (t_b >= t_a)
    t_b = np.where(open_, t_b, t_a)
    u = np.linspace(0.0, 1.0, _WINDOW_SAMPLES)[None, :]
    col = (h[:, None], v[:, None], np.radians(a)[:, None])
    lo, hi, ok = _reach_m(p, t_a[:, None] + (t_b - t_a)[:, None] * u, *col)
    w_ok = ok.any(axis=1) & open_
    w_lo = np.where(ok, lo, np.inf).min(axis=1)
    w_hi = np.where(ok, hi, -np.inf).max(axis=1)
    # the earlier times end at T_a itself: the reach there closes the union (continuity)
    lo, hi, ok = _reach_m(p, t_a[:, None] * u, *col)
    e_ok = ok.any(axis=1)
    e_lo = np.where(ok, lo, np.inf).min(axis=1)
    e_hi = np.where(ok, hi, -np.inf).max(axis=1)
    below = w_ok & (~e_ok | (w_lo < e_lo))  # a piece of W below E (or W whole)
    above = w_ok & (~e_ok | (w_hi > e_hi))  # a piece of W beyond E
    near = np.where(below, w_lo, np.where(above, np.maximum(w_lo, e_hi), 0.0))
    far = np.where(above, w_hi, np.where(below, np.minimum(w_hi, e_lo), 0.0))
    keep = below | above
    return np.where(keep, near, 0.0), np.where(keep, far, 0.0)


def _compute(missile: MissileType, ratio: float) -> LaunchRegion:
    p = missile_profile(missile)
    lo = float(p.min_altitude_m) if np.isfinite(p.min_altitude_m) else 0.0
    hi = float(p.max_altitude_m) if np.isfinite(p.max_altitude_m) else 30000.0
    altitudes = np.unique(np.clip([lo, *_ALTITUDES_M, *np.linspace(lo, hi, 11), hi], lo, hi))
    # beyond V / ratio no intercept meets the terminal-speed margin: the table ends there
    top = min(float(p.max_target_speed_mps), float(p.max_speed_mps) / ratio)
    speeds = np.linspace(0.0, top, _SPEED_STEPS)
    aspects = np.arange(0.0, 180.0 + 1e-9, ASPECT_STEP_DEG)
    h, v, a = (x.ravel() for x in np.meshgrid(altitudes, speeds, aspects, indexing="ij"))
    near, far = _edges(p, h, v, a, ratio)
    shape = (len(altitudes), len(speeds), len(aspects))
    return LaunchRegion(name=missile.name, altitude_m=altitudes, speed_mps=speeds, aspect_deg=aspects,
                        near_m=near.reshape(shape), far_m=far.reshape(shape),
                        min_altitude_m=lo, max_altitude_m=hi, max_target_speed_mps=top)


_REGIONS: collections.OrderedDict[tuple[str, float], LaunchRegion] = collections.OrderedDict()
"""Regions computed in this process, by the missile's kinematic fields and the ratio (the 64 used
last)."""

# what the flyout and the tables do not read: provenance, text, and the kill probability and warhead
# (a study that varies Pk, as the reference data's sam_single_shot_pk does, computed every missile's
# tables again at each point: most of an interval or Sobol evaluation; docs/benchmarks.md)
_NOT_KINEMATIC = {"sources", "assumed", "ranges", "overridden", "note", "zone_of_destruction",
                  "single_shot_pk", "warhead_kg"}


def launch_region(missile: MissileType, *, terminal_speed_ratio: float = TERMINAL_SPEED_RATIO,
                  ) -> LaunchRegion:
    """The launch acceptability region of a catalog missile (computed once per missile and kept).

    Needs ``max_speed_mps`` (as ``missile_profile``).

    Args:
        missile: the catalog entry.
        terminal_speed_ratio: the missile's speed at intercept over the target's, at least
            (convention, ≥ 1).
    """
    if not terminal_speed_ratio >= 1.0:
        raise ValueError(f"terminal_speed_ratio must be at least 1, got {terminal_speed_ratio}")
    missile_profile(missile)  # the same checks and message as the flyout model
    # keyed by the numbers the flyout uses, not the provenance: a study that sets a value outside
    # its stated range (or a test) gets the same region as any entry with those numbers
    key = (missile.model_dump_json(exclude=_NOT_KINEMATIC), float(terminal_speed_ratio))
    region = _REGIONS.get(key)
    if region is None:
        region = _REGIONS[key] = _compute(missile, float(terminal_speed_ratio))
        if len(_REGIONS) > 64:
            _REGIONS.popitem(last=False)
    else:
        # least recently used goes first: a study whose points each give one missile a new range
        # (an interval or Sobol design) would otherwise push out the regions every point uses
        _REGIONS.move_to_end(key)
    return region
