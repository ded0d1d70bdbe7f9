"""Surface-to-air missile flyout, predicted intercept, envelope and kill probability.

The flyout is a boost–coast speed profile built from two catalog numbers, ``max_speed_mps`` and
``max_range_km``: constant acceleration to the maximum speed, then an unpowered coast under
quadratic drag, v(t) = V / (1 + k V (t − t_b)), until the speed has fallen to a fixed fraction of
V; k is chosen so that the distance flown at that moment is the catalog's maximum range. The
boost acceleration and the end-of-flight speed fraction are model conventions
(``BOOST_ACCELERATION_MPS2``, ``END_SPEED_FRACTION``). The predicted intercept of a
constant-velocity target is the earliest time of flight T with |target + v T − launcher| = s(T),
found for N rows at once by sampling then bisection. The single-shot kill probability is the
catalog's nominal one, degraded toward the edge of the range envelope and by jamming.

Every function works on arrays: N launcher–target rows, with one missile profile for all rows or
one per row (``MissileProfile.stack``). SI units; positions in a local ENU frame, metres. Model,
conventions and the catalog fields used: docs/models/engagement.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.geo.radar_geometry import EARTH_RADIUS_M
from iadsim.scenario.schema import MissileType

__all__ = [
    "BOOST_ACCELERATION_MPS2",
    "EDGE_PK_FACTOR",
    "END_SPEED_FRACTION",
    "FULL_PK_RANGE_FRACTION",
    "INTERCEPT_SAMPLES",
    "STANDARD_GRAVITY_MPS2",
    "Envelope",
    "Intercept",
    "MissileProfile",
    "envelope",
    "ground_and_height",
    "kill_probability",
    "missile_profile",
    "predicted_intercept",
    "salvo_kill_probability",
    "time_of_flight_s",
]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

STANDARD_GRAVITY_MPS2 = 9.80665
"""Standard gravity g₀, m/s² (CGPM 1901), used to state the boost acceleration in g."""

BOOST_ACCELERATION_MPS2 = 20.0 * STANDARD_GRAVITY_MPS2
"""Model convention: mean longitudinal acceleration while the motor burns (20 g). The catalog
holds no motor data; this sets the boost time t_b = V / a."""

END_SPEED_FRACTION = 0.5
"""Model convention: a flight ends when the coasting missile has slowed to this fraction of its
maximum speed; the distance flown by then is the catalog's maximum range."""

FULL_PK_RANGE_FRACTION = 0.7
"""Model convention: the single-shot kill probability is the nominal one out to this fraction of
the maximum range, then falls linearly to ``EDGE_PK_FACTOR`` × nominal at the maximum range."""

EDGE_PK_FACTOR = 0.5
"""Model convention: the fraction of the nominal kill probability left at the maximum range."""

INTERCEPT_SAMPLES = 256
"""Model convention: times of flight sampled over [0, t_max] to bracket the earliest intercept
before bisection; an intercept window shorter than t_max / 256 may be missed."""

_BISECTION_STEPS = 52  # halves the bracket (t_max / samples) below float precision: more change nothing
_RANGE_TOLERANCE = 1e-9  # relative: a point at max_range·(1 + 1e-9) is still at max range


@dataclass(frozen=True)
class MissileProfile:
    """Kinematics and envelope of a missile, as float arrays.

    0-d arrays for one missile, ``(N,)`` for one per row (``stack``, ``take``). Missing catalog
    limits are no limits (see ``missile_profile``).

    Attributes:
        max_speed_mps: V. max_range_m: R, the distance flown at ``max_flight_time_s``.
        boost_acceleration_mps2: a. boost_time_s: t_b. burnout_speed_mps: a·t_b (= V unless the
            range ends within the boost). boost_distance_m: a·t_b²/2.
        drag_per_m: k of the coast, 1/m (0 when the flight ends within the boost).
        max_flight_time_s: t_max. min_range_m: 0 if not given. min_altitude_m: −inf if not given.
        max_altitude_m, max_target_speed_mps: inf if not given. nominal_pk: NaN if not given.
    """

    max_speed_mps: Array
    max_range_m: Array
    boost_acceleration_mps2: Array
    boost_time_s: Array
    burnout_speed_mps: Array
    boost_distance_m: Array
    drag_per_m: Array
    max_flight_time_s: Array
    min_range_m: Array
    min_altitude_m: Array
    max_altitude_m: Array
    max_target_speed_mps: Array
    nominal_pk: Array

    @staticmethod
    def stack(profiles: Sequence[MissileProfile]) -> MissileProfile:
        """One profile per row from a sequence of profiles (each 0-d or ``(n,)``)."""
        if not profiles:
            raise ValueError("stack needs at least one profile")
        return MissileProfile(**{
            f.name: np.concatenate([np.atleast_1d(getattr(p, f.name)) for p in profiles])
            for f in fields(MissileProfile)
        })

    def take(self, index: ArrayLike) -> MissileProfile:
        """The rows ``index`` of a stacked profile (or a single profile repeated)."""
        rows = np.asarray(index, dtype=np.int64)
        return MissileProfile(**{
            f.name: (np.broadcast_to(getattr(self, f.name), rows.shape).copy()
                     if getattr(self, f.name).ndim == 0 else getattr(self, f.name)[rows])
            for f in fields(MissileProfile)
        })

    def flown_distance_m(self, t_s: ArrayLike) -> Array:
        """Distance flown since launch at time of flight ``t_s`` (s, broadcast with the profile);
        NaN beyond the maximum flight time or before launch."""
        t = np.asarray(t_s, dtype=np.float64)
        out = _distance(self, t)
        return np.where((t < 0.0) | (t > self.max_flight_time_s), np.nan, out)

    def speed_mps(self, t_s: ArrayLike) -> Array:
        """Speed at time of flight ``t_s`` (s, broadcast with the profile); NaN beyond the maximum
        flight time or before launch."""
        t = np.asarray(t_s, dtype=np.float64)
        tau = np.maximum(t - self.boost_time_s, 0.0)
        coast = self.burnout_speed_mps / (1.0 + self.drag_per_m * self.burnout_speed_mps * tau)
        out = np.where(t <= self.boost_time_s, self.boost_acceleration_mps2 * np.maximum(t, 0.0), coast)
        return np.where((t < 0.0) | (t > self.max_flight_time_s), np.nan, out)


def _f(value: float | None, missing: float, scale: float = 1.0) -> Array:
    return np.asarray(missing if value is None else float(value) * scale, dtype=np.float64)


def missile_profile(
    missile: MissileType,
    *,
    boost_acceleration_mps2: float = BOOST_ACCELERATION_MPS2,
    end_speed_fraction: float = END_SPEED_FRACTION,
) -> MissileProfile:
    """The boost–coast profile and envelope of a catalog missile.

    Needs ``max_speed_mps`` (ValueError without it: no flight time can be computed). Missing
    ``min_range_km`` is taken as 0, missing ``min_altitude_m``/``max_altitude_km``/
    ``max_target_speed_mps`` as no limit, missing ``single_shot_pk`` as NaN (``kill_probability``
    then needs the caller's value).

    Args:
        missile: the catalog entry.
        boost_acceleration_mps2: a, m/s² (convention, > 0).
        end_speed_fraction: the coasting speed, as a fraction of V, at which the flight ends
            (convention, in (0, 1)).
    """
    if missile.max_speed_mps is None:
        raise ValueError(f"missile {missile.name!r} has no max_speed_mps: the flyout model needs it; "
                         "give it in the catalog with its source or assumption")
    if not boost_acceleration_mps2 > 0.0:
        raise ValueError(f"boost_acceleration_mps2 must be positive, got {boost_acceleration_mps2}")
    if not 0.0 < end_speed_fraction < 1.0:
        raise ValueError(f"end_speed_fraction must be in (0, 1), got {end_speed_fraction}")
    v_max = float(missile.max_speed_mps)
    r_max = float(missile.max_range_km) * 1000.0
    a = float(boost_acceleration_mps2)
    t_boost = v_max / a
    x_boost = 0.5 * a * t_boost**2
    if x_boost >= r_max:  # the maximum range is reached while the motor still burns
        t_boost = float(np.sqrt(2.0 * r_max / a))
        x_boost, v_burnout, k, t_max = r_max, a * t_boost, 0.0, t_boost
    else:
        v_burnout = v_max
        k = float(np.log(1.0 / end_speed_fraction)) / (r_max - x_boost)
        t_max = t_boost + (1.0 / end_speed_fraction - 1.0) / (k * v_max)
    return MissileProfile(
        max_speed_mps=np.asarray(v_max),
        max_range_m=np.asarray(r_max),
        boost_acceleration_mps2=np.asarray(a),
        boost_time_s=np.asarray(t_boost),
        burnout_speed_mps=np.asarray(v_burnout),
        boost_distance_m=np.asarray(x_boost),
        drag_per_m=np.asarray(k),
        max_flight_time_s=np.asarray(t_max),
        min_range_m=_f(missile.min_range_km, 0.0, 1000.0),
        min_altitude_m=_f(missile.min_altitude_m, -np.inf),
        max_altitude_m=_f(missile.max_altitude_km, np.inf, 1000.0),
        max_target_speed_mps=_f(missile.max_target_speed_mps, np.inf),
        nominal_pk=_f(missile.single_shot_pk, np.nan),
    )


def _profile(missile: MissileType | MissileProfile) -> MissileProfile:
    return missile if isinstance(missile, MissileProfile) else missile_profile(missile)


def _distance(p: MissileProfile, t: Array) -> Array:
    """Distance flown at time t (no check against t_max); profile fields broadcast with t."""
    t = np.maximum(t, 0.0)
    tau = np.maximum(t - p.boost_time_s, 0.0)
    k = p.drag_per_m
    k_safe = np.where(k > 0.0, k, 1.0)
    coast = p.boost_distance_m + np.where(k > 0.0, np.log1p(k * p.burnout_speed_mps * tau) / k_safe,
                                          p.burnout_speed_mps * tau)
    out: Array = np.where(t <= p.boost_time_s, 0.5 * p.boost_acceleration_mps2 * t * t, coast)
    return out


def time_of_flight_s(missile: MissileType | MissileProfile, range_m: ArrayLike) -> Array:
    """Time of flight to fly ``range_m`` metres from launch; inf beyond the maximum range.

    Args:
        missile: a catalog missile or its profile (0-d, or ``(N,)`` broadcast with ``range_m``).
        range_m: distances ≥ 0, metres, any shape broadcast with the profile.
    """
    p = _profile(missile)
    r = np.asarray(range_m, dtype=np.float64)
    if np.any(r < 0.0):
        raise ValueError("range_m must be non-negative")
    k = p.drag_per_m
    k_safe = np.where(k > 0.0, k, 1.0)
    excess = np.maximum(r - p.boost_distance_m, 0.0)
    t_coast = p.boost_time_s + np.where(
        k > 0.0, np.expm1(k * excess) / (k_safe * p.burnout_speed_mps), excess / p.burnout_speed_mps)
    t_boost = np.sqrt(2.0 * np.maximum(r, 0.0) / p.boost_acceleration_mps2)
    t = np.where(r <= p.boost_distance_m, t_boost, t_coast)
    out: Array = np.where(r > p.max_range_m * (1.0 + _RANGE_TOLERANCE), np.inf,
                          np.minimum(t, p.max_flight_time_s))
    return out


class Envelope(NamedTuple):
    """Envelope checks at intercept points, arrays of N.

    Attributes:
        range_ok: min_range ≤ slant range ≤ max_range. altitude_ok: min ≤ altitude ≤ max.
        target_speed_ok: target speed ≤ max_target_speed. range_fraction: slant range / max range.
    """

    range_ok: BoolArray
    altitude_ok: BoolArray
    target_speed_ok: BoolArray
    range_fraction: Array

    @property
    def ok(self) -> BoolArray:
        """All three checks pass."""
        out: BoolArray = self.range_ok & self.altitude_ok & self.target_speed_ok
        return out


class Intercept(NamedTuple):
    """Predicted intercepts of N rows.

    Attributes:
        time_of_flight_s: ``(N,)`` earliest time of flight to the target; inf where the missile
            cannot reach it within its maximum flight time.
        point_m: ``(N, 3)`` the intercept point (NaN where none).
        feasible: ``(N,)`` reachable and inside the envelope at the intercept point.
    """

    time_of_flight_s: Array
    point_m: Array
    feasible: BoolArray


def _rows(name: str, values: ArrayLike, n: int | None = None) -> Array:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 2 or out.shape[1] != 3 or (n is not None and len(out) != n):
        want = f"({n}, 3)" if n is not None else "(N, 3)"
        raise ValueError(f"{name} must have shape {want}, got {out.shape}")
    return out


def ground_and_height(offset_m: ArrayLike, launcher_up: ArrayLike | None = None,
                      earth_radius_m: float | None = EARTH_RADIUS_M) -> tuple[Array, Array]:
    """Ground distance and height above the launcher's level of points offset from a launcher.

    The offset is split along the launcher's own vertical (its up unit vector in the frame): the
    horizontal part's length is the ground distance ρ, and the height is the vertical part plus the
    earth's drop ρ²/(2R) (which the launcher's tangent plane falls below the curved earth), so a
    point at a given altitude has the same height whatever its distance. In a frame shared by many
    launchers (the engine's, centred on the sensors) a launcher's vertical is not the frame's up
    axis: 500 km from the frame's origin they differ by 4.5°, and taking one for the other put a
    target 150 km away up to 12 km too high or too low.

    Args:
        offset_m: ``(..., 3)`` point minus launcher, frame metres.
        launcher_up: ``(..., 3)`` the launcher's up unit vector in the frame (broadcast); None for
            the frame's up axis (a launcher at the frame's origin).
        earth_radius_m: R, metres, or None for a flat earth (no drop).
    Returns:
        ground ρ and height, each ``(...)``, metres.
    """
    d = np.asarray(offset_m, dtype=np.float64)
    if launcher_up is None:
        vertical = d[..., 2]
        ground = np.hypot(d[..., 0], d[..., 1])
    else:
        up = np.asarray(launcher_up, dtype=np.float64)
        vertical = np.sum(d * up, axis=-1)
        ground = np.linalg.norm(d - vertical[..., None] * up, axis=-1)
    height = vertical + ground**2 / (2.0 * earth_radius_m) if earth_radius_m is not None else vertical
    return np.asarray(ground), np.asarray(height)


def envelope(
    missile: MissileType | MissileProfile,
    launcher_m: ArrayLike,
    point_m: ArrayLike,
    target_vel_mps: ArrayLike,
    *,
    earth_radius_m: float | None = EARTH_RADIUS_M,
    launcher_up: ArrayLike | None = None,
) -> Envelope:
    """Envelope checks of N intercept points: slant range, altitude and target speed.

    Altitude is the height above the launcher's level (``ground_and_height``: the part of the offset
    along the launcher's vertical plus the earth's drop ρ²/(2R); ``earth_radius_m=None`` for a
    flat earth).

    Args:
        missile: a catalog missile or a profile (0-d or ``(N,)``).
        launcher_m, point_m: ``(N, 3)`` ENU metres. target_vel_mps: ``(N, 3)`` m/s.
        earth_radius_m: R, metres, or None.
        launcher_up: ``(N, 3)`` or ``(3,)`` each launcher's up unit vector in the frame; None for
            the frame's up axis.
    """
    p = _profile(missile)
    lau = _rows("launcher_m", launcher_m)
    pt = _rows("point_m", point_m, len(lau))
    vel = _rows("target_vel_mps", target_vel_mps, len(lau))
    rel = pt - lau
    slant = np.linalg.norm(rel, axis=1)
    _, altitude = ground_and_height(rel, launcher_up, earth_radius_m)
    with np.errstate(invalid="ignore"):
        range_ok = (slant >= p.min_range_m) & (slant <= p.max_range_m * (1.0 + _RANGE_TOLERANCE))
        altitude_ok = (altitude >= p.min_altitude_m) & (altitude <= p.max_altitude_m)
        speed_ok = np.linalg.norm(vel, axis=1) <= p.max_target_speed_mps
    return Envelope(np.asarray(range_ok), np.asarray(altitude_ok), np.asarray(speed_ok),
                    slant / p.max_range_m)


def predicted_intercept(
    launcher_m: ArrayLike,
    target_m: ArrayLike,
    target_vel_mps: ArrayLike,
    missile: MissileType | MissileProfile,
    *,
    earth_radius_m: float | None = EARTH_RADIUS_M,
    launcher_up: ArrayLike | None = None,
    samples: int = INTERCEPT_SAMPLES,
    bisection_steps: int = _BISECTION_STEPS,
) -> Intercept:
    """Earliest launch-to-intercept solution against N constant-velocity targets, launched now.

    Solves s(T) = |target + v T − launcher| for the smallest T in [0, t_max] (s: the flown
    distance): ``INTERCEPT_SAMPLES`` samples bracket the first sign change, then bisection.
    ``feasible`` adds the envelope at the intercept point (``envelope``).

    Args:
        launcher_m: ``(N, 3)`` ENU metres. target_m: ``(N, 3)`` target positions at launch, metres.
        target_vel_mps: ``(N, 3)`` m/s.
        missile: a catalog missile or a profile (0-d for all rows, or ``(N,)``).
        earth_radius_m: for the altitude check (``envelope``), metres, or None for a flat earth.
        launcher_up: ``(N, 3)`` or ``(3,)`` each launcher's up unit vector in the frame, for the
            altitude check; None for the frame's up axis.
        samples: times of flight sampled to bracket the earliest intercept (convention,
            ``INTERCEPT_SAMPLES``; fewer are faster and may miss a short early window).
        bisection_steps: halvings of the bracket (52: a bracket of t_max / 256 shrinks below the
            float spacing of t_max, so more change nothing; 30 leave t_max / 2³⁰, under a
            microsecond).
    """
    if samples < 2:
        raise ValueError(f"samples must be at least 2, got {samples}")
    p = _profile(missile)
    lau = _rows("launcher_m", launcher_m)
    n = len(lau)
    tgt = _rows("target_m", target_m, n)
    vel = _rows("target_vel_mps", target_vel_mps, n)
    col = MissileProfile(**{f.name: np.broadcast_to(getattr(p, f.name), (n,))[:, None]
                            for f in fields(MissileProfile)})
    d = tgt - lau
    d2 = np.einsum("ij,ij->i", d, d)[:, None]
    dv = np.einsum("ij,ij->i", d, vel)[:, None]
    v2 = np.einsum("ij,ij->i", vel, vel)[:, None]

    def gap(t: Array) -> Array:  # t: (N, m); ≥ 0 where the missile reaches the target by time t
        out: Array = _distance(col, t) - np.sqrt(np.maximum(d2 + 2.0 * t * dv + t * t * v2, 0.0))
        return out

    grid = col.max_flight_time_s * np.linspace(0.0, 1.0, samples + 1)[None, :]
    with np.errstate(invalid="ignore"):
        reached = gap(grid) >= 0.0
    found: BoolArray = np.asarray(reached.any(axis=1))
    first = np.argmax(reached, axis=1)
    rows = np.arange(n)
    hi = grid[rows, first]
    lo = grid[rows, np.maximum(first - 1, 0)]
    # the bisection evaluates ``gap`` on one time per row: the same operations in the same order on
    # (N,) arrays, with the per-row constants taken out of the loop (this runs at every engagement
    # decision of every fire unit)
    boost_time, boost_distance = col.boost_time_s[:, 0], col.boost_distance_m[:, 0]
    burnout, drag = col.burnout_speed_mps[:, 0], col.drag_per_m[:, 0]
    dragged, drag_safe = drag > 0.0, np.where(drag > 0.0, drag, 1.0)
    drag_burnout, half_acceleration = drag * burnout, 0.5 * col.boost_acceleration_mps2[:, 0]
    d2_row, dv_row, v2_row = d2[:, 0], dv[:, 0], v2[:, 0]
    with np.errstate(invalid="ignore"):
        for _ in range(bisection_steps):
            mid = 0.5 * (lo + hi)
            t = np.maximum(mid, 0.0)
            tau = np.maximum(t - boost_time, 0.0)
            coast = boost_distance + np.where(dragged, np.log1p(drag_burnout * tau) / drag_safe,
                                              burnout * tau)
            flown = np.where(t <= boost_time, half_acceleration * t * t, coast)
            ok = flown - np.sqrt(np.maximum(d2_row + 2.0 * t * dv_row + t * t * v2_row, 0.0)) >= 0.0
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
    tof = np.where(found, hi, np.inf)
    point = np.where(found[:, None], tgt + vel * np.where(found, hi, 0.0)[:, None], np.nan)
    env = envelope(p, lau, np.where(found[:, None], point, lau), vel, earth_radius_m=earth_radius_m,
                   launcher_up=launcher_up)
    return Intercept(tof, point, found & env.ok)


def kill_probability(
    nominal_pk: ArrayLike,
    range_fraction: ArrayLike,
    altitude_ok: ArrayLike,
    jamming_factor: ArrayLike,
    *,
    full_pk_fraction: float = FULL_PK_RANGE_FRACTION,
    edge_factor: float = EDGE_PK_FACTOR,
) -> Array:
    """Single-shot kill probability: nominal × range degradation × jamming factor, 0 outside.

    The range factor is 1 up to ``full_pk_fraction`` of the maximum range, falls linearly to
    ``edge_factor`` at the maximum range and is 0 beyond it (or where the range fraction is NaN).

    Args:
        nominal_pk: the catalog's ``single_shot_pk`` (in (0, 1]; scalar or broadcast).
        range_fraction: ``(N,)`` slant range at intercept / maximum range (≥ 0, NaN = no intercept).
        altitude_ok: ``(N,)`` or scalar bool: the intercept altitude is inside the envelope.
        jamming_factor: ``(N,)`` in [0, 1], 1 = no jamming (the caller's).
        full_pk_fraction: convention, in [0, 1). edge_factor: convention, in [0, 1].
    """
    pk = np.asarray(nominal_pk, dtype=np.float64)
    if not np.all((pk > 0.0) & (pk <= 1.0)):
        raise ValueError("nominal_pk must be in (0, 1]; a missile without single_shot_pk in the "
                         "catalog needs the caller's value")
    frac = np.asarray(range_fraction, dtype=np.float64)
    if np.any(frac < 0.0):
        raise ValueError("range_fraction must be non-negative")
    jam = np.asarray(jamming_factor, dtype=np.float64)
    if not np.all((jam >= 0.0) & (jam <= 1.0)):
        raise ValueError("jamming_factor must be in [0, 1]")
    if not 0.0 <= full_pk_fraction < 1.0 or not 0.0 <= edge_factor <= 1.0:
        raise ValueError("full_pk_fraction must be in [0, 1) and edge_factor in [0, 1]")
    alt = np.asarray(altitude_ok, dtype=bool)
    with np.errstate(invalid="ignore"):
        edge = np.clip((frac - full_pk_fraction) / (1.0 - full_pk_fraction), 0.0, 1.0)
        factor = np.where(frac <= 1.0 + _RANGE_TOLERANCE, 1.0 - (1.0 - edge_factor) * edge, 0.0)
    factor = np.where(np.isnan(frac), 0.0, factor)
    out: Array = pk * factor * jam * alt
    return out


def salvo_kill_probability(pk: ArrayLike, axis: int = -1) -> Array:
    """Kill probability of a salvo of independent shots: 1 − Π(1 − p_k) along ``axis``.

    Args:
        pk: single-shot kill probabilities in [0, 1], e.g. ``(N, shots)``.
        axis: the axis of the shots.
    """
    p = np.asarray(pk, dtype=np.float64)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("kill probabilities must be in [0, 1]")
    out: Array = 1.0 - np.prod(1.0 - p, axis=axis)
    return out
