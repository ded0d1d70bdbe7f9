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

from iadsim.engagement.missile import MissileProfile, missile_profile, predicted_intercept
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
_COARSE = 32  # launch distances sampled to bracket the edges before bisection
# times of flight sampled per intercept (the engine's 256 find early windows shorter than any
# that bounds a region edge; 64 bracket every edge of the catalog's missiles, and the tables'
# agreement with the engine's flyout is tested)
_INTERCEPT_SAMPLES = 64
_EDGE_STEPS = 21  # bisection halvings of the bracket: below 10 m for a 470 km bracket of 32 samples


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
    def _interpolators(self) -> tuple[RegularGridInterpolator, RegularGridInterpolator]:
        axes = (self.altitude_m, self.speed_mps, self.aspect_deg)
        return (RegularGridInterpolator(axes, self.near_m, bounds_error=False, fill_value=None),
                RegularGridInterpolator(axes, self.far_m, bounds_error=False, fill_value=None))

    def edges_m(self, altitude_m: ArrayLike, speed_mps: ArrayLike, aspect: ArrayLike,
                ) -> tuple[Array, Array]:
        """(near, far) ground distances of the region at N (altitude, speed, aspect), metres; both
        0 outside the kill zone's altitude and target-speed limits.

        Args:
            altitude_m: target height above the launcher, m. speed_mps: target speed, m/s.
            aspect: degrees (any value; folded into [0, 180]). All broadcast together.
        """
        h, v, a = np.broadcast_arrays(np.asarray(altitude_m, float), np.asarray(speed_mps, float),
                                      np.asarray(aspect, float))
        folded = np.abs((a + 180.0) % 360.0 - 180.0)
        inside = self.limits_ok(h, v)
        points = np.stack([np.clip(h, self.altitude_m[0], self.altitude_m[-1]),
                           np.clip(v, 0.0, self.speed_mps[-1]), folded], axis=-1)
        near_i, far_i = self._interpolators
        near = np.where(inside, near_i(points).reshape(h.shape), 0.0)
        far = np.where(inside, far_i(points).reshape(h.shape), 0.0)
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


def _acceptable(p: MissileProfile, ground: Array, h: Array, v: Array, a_deg: Array,
                ratio: float) -> BoolArray:
    """Whether launches at N target states lead to an intercept inside the kill zone (flat earth)."""
    n = len(ground)
    a = np.radians(a_deg)
    target = np.column_stack([ground, np.zeros(n), h])
    vel = np.column_stack([-v * np.cos(a), v * np.sin(a), np.zeros(n)])
    hit = predicted_intercept(np.zeros((n, 3)), target, vel, p, earth_radius_m=None,
                              samples=_INTERCEPT_SAMPLES, bisection_steps=30)
    with np.errstate(invalid="ignore"):
        fast = p.speed_mps(np.where(np.isfinite(hit.time_of_flight_s), hit.time_of_flight_s, 0.0))
        ok = hit.feasible & (fast >= ratio * v)
    out: BoolArray = np.asarray(ok)
    return out


def _edges(p: MissileProfile, h: Array, v: Array, a: Array, ratio: float) -> tuple[Array, Array]:
    """Near and far launch edges of M (h, v, a) states: coarse samples, then bisection."""
    m = len(h)
    top = float(p.max_range_m) + v * float(p.max_flight_time_s)  # no launch beyond: (M,)
    frac = np.linspace(0.0, 1.0, _COARSE + 1)
    samples = top[:, None] * frac[None, :]
    ok = np.zeros(samples.shape, dtype=bool)
    for start in range(0, m, 256):
        rows = slice(start, min(m, start + 256))
        k = samples[rows].shape
        ok[rows] = _acceptable(p, samples[rows].ravel(), np.repeat(h[rows], k[1]),
                               np.repeat(v[rows], k[1]), np.repeat(a[rows], k[1]), ratio).reshape(k)
    any_ok = ok.any(axis=1)
    idx = np.arange(m)
    first = np.argmax(ok, axis=1)
    last = _COARSE - np.argmax(ok[:, ::-1], axis=1)

    def bisect(inside: Array, outside: Array) -> Array:
        for _ in range(_EDGE_STEPS):
            mid = 0.5 * (inside + outside)
            good = _acceptable(p, mid, h, v, a, ratio)
            inside = np.where(good, mid, inside)
            outside = np.where(good, outside, mid)
        return inside

    far_in = samples[idx, last]
    far_out = samples[idx, np.minimum(last + 1, _COARSE)]
    far = np.where(last < _COARSE, bisect(far_in, far_out), far_in)
    near_in = samples[idx, first]
    near_out = samples[idx, np.maximum(first - 1, 0)]
    near = np.where(first > 0, bisect(near_in, near_out), near_in)
    return np.where(any_ok, near, 0.0), np.where(any_ok, far, 0.0)


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
"""Regions computed in this process, by the missile's kinematic fields and the ratio (the last 64)."""

_NOT_KINEMATIC = {"sources", "assumed", "ranges", "overridden", "note", "zone_of_destruction"}


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
    return region
