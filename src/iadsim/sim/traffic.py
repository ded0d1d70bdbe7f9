"""Air traffic: the ground truth of where every air object is at any time.

:func:`build_trajectories` turns the scenario's ``traffic`` section (flights, raids, orbits and
civil airways) into :class:`Trajectories`: every object's path as time-tagged knots in ECEF,
straight (linear in time and space) between knots. :meth:`Trajectories.state_at` gives every
object's position and velocity at a time with one ``np.searchsorted`` and a linear
interpolation, with no Python loop over objects.

Geometry: legs are WGS84 geodesics (pyproj ``Geod``), sampled with knots at most 10 km apart, or
2 km where the object flies below 1,000 m above the ground; racetrack turns are sampled at 5° or
finer. Speeds are ground speeds; altitudes are metres above mean sea level (``alt_ref: msl``) or
above the terrain (``agl``: terrain following). Altitude changes are flown at the type's climb
rate. Randomness (raid origins, launch times and headings; civil flights' entry times and cruise
levels) comes from the Generator passed in, through one stream per record, so one seed gives one
set of trajectories. The model, its formulas, draws and errors: docs/models/traffic.md.

Array-shape rule: N objects, K knots; per-object arrays are (N,), per-knot arrays (K,) or (K, 3);
object i's knots are ``knot_*[knot_offset[i]:knot_offset[i + 1]]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.geo.terrain import Terrain
from iadsim.scenario.errors import ScenarioError, ScenarioErrors
from iadsim.scenario.schema import (
    AircraftType,
    AltitudeReference,
    CivilTraffic,
    Flight,
    Orbit,
    Raid,
    Scenario,
    Waypoint,
)

__all__ = [
    "BYTES_PER_KNOT",
    "DEFAULT_CLIMB_RATE_MPS",
    "FLIGHT_LEVEL_STEP_M",
    "HIGH_SPACING_M",
    "LOW_LEVEL_M",
    "LOW_SPACING_M",
    "MAX_TIME_S",
    "TURN_STEP_DEG",
    "TrafficError",
    "Trajectories",
    "build_trajectories",
    "check_trajectories",
    "estimate_objects",
]

#: Largest distance between knots on legs flown 1,000 m or more above the ground.
HIGH_SPACING_M = 10_000.0
#: Largest distance between knots where the object flies lower (terrain following, sag).
LOW_SPACING_M = 2_000.0
#: Below this height above the ground a leg counts as low.
LOW_LEVEL_M = 1_000.0
#: Largest step of the racetrack turns (finer where the arc step would exceed the spacing).
TURN_STEP_DEG = 5.0
#: Climb and descent rate of types whose catalog entry gives none: a model convention.
DEFAULT_CLIMB_RATE_MPS = 15.0
#: Civil cruise levels are the 1,000 ft levels (multiples of 304.8 m).
FLIGHT_LEVEL_STEP_M = 304.8
#: Memory of one knot: time, ECEF x/y/z, altitude and the search key (six float64).
BYTES_PER_KNOT = 48
#: Latest time a trajectory may reach, s (about 32 years): a numerical limit, not a model one.
#: The search key of ``Trajectories.state_at`` stacks every object's times in one float64
#: array, so a path flown over astronomic times (a speed of 1e-200 km/h) would leave the
#: other objects' knots without distinct keys.
MAX_TIME_S = 1e9

_GEOD = Geod(ellps="WGS84")
_KIND_RAIDS = 1  # spawn keys of the per-record random streams (part of a run's identity)
_KIND_CIVIL = 2

Float64Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
StrArray = NDArray[np.str_]
Path = tuple[str | int, ...]


class TrafficError(ScenarioErrors):
    """The scenario's traffic cannot be built; holds every problem found (path and message).

    A :class:`~iadsim.scenario.errors.ScenarioErrors`, so the CLI reports it like a scenario
    error (one line per problem, exit code 2).
    """

    def render(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} with the scenario's traffic:"
        return "\n".join([head, *(e.render() for e in self.errors)])


# ---------------------------------------------------------------------------------------------
# Trajectories
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Every air object's path as time-tagged knots in ECEF; positions between knots are linear.

    Attributes:
        object_id: (N,) e.g. ``"violator"``, ``"salvo-0001"``, ``"civil-vno_msq-0003"``.
        source: (N,) the scenario record it came from, e.g. ``"traffic.raids.salvo"``.
        type_id: (N,) catalog aircraft id.
        nation: (N,) nation id.
        rcs_m2: (N,) the aircraft type's ``rcs_m2``; NaN if the type gives none.
        flight_plan: (N,) filed with air traffic control.
        iff: (N,) answers the defender's IFF.
        radar_on: (N,) True for flights, raids and orbits with ``radar_on`` whose type has a radar.
        start_s: (N,) first knot time (the object appears).
        end_s: (N,) last knot time (the object disappears: landed, arrived, impact).
        knot_offset: (N + 1,) object i's knots are ``knot_*[knot_offset[i]:knot_offset[i+1]]``.
        knot_time_s: (K,) seconds from the scenario start (negative for civil flights already
            under way at t = 0); strictly increasing within each object.
        knot_ecef_m: (K, 3) ECEF metres.
        knot_alt_m: (K,) height above mean sea level, metres (for reports).
    """

    object_id: StrArray
    source: StrArray
    type_id: StrArray
    nation: StrArray
    rcs_m2: Float64Array
    flight_plan: BoolArray
    iff: BoolArray
    radar_on: BoolArray
    start_s: Float64Array
    end_s: Float64Array
    knot_offset: IntArray
    knot_time_s: Float64Array
    knot_ecef_m: Float64Array
    knot_alt_m: Float64Array
    _key: Float64Array = field(init=False, repr=False)
    _key_t0: float = field(init=False, repr=False)
    _key_step: float = field(init=False, repr=False)
    _hint: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.object_id)
        for name in ("source", "type_id", "nation", "rcs_m2", "flight_plan", "iff", "radar_on",
                     "start_s", "end_s"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, object_id has {n}")
        offset = self.knot_offset
        k = len(self.knot_time_s)
        if offset.shape != (n + 1,) or offset[0] != 0 or offset[-1] != k:
            raise ValueError(f"knot_offset must have N + 1 = {n + 1} entries from 0 to K = {k}")
        if self.knot_ecef_m.shape != (k, 3) or self.knot_alt_m.shape != (k,):
            raise ValueError("knot_ecef_m must be (K, 3) and knot_alt_m (K,)")
        counts = np.diff(offset)
        if n and counts.min() < 2:
            raise ValueError("every object needs at least two knots")
        # composite search key: object index, then time (see state_at)
        t0 = float(self.knot_time_s.min()) if k else 0.0
        step = (float(self.knot_time_s.max()) - t0 if k else 0.0) + 1.0
        key = np.repeat(np.arange(n, dtype=np.float64) * step, counts) + (self.knot_time_s - t0)
        if k > 1 and not bool(np.all(np.diff(key) > 0)):
            raise ValueError("knot times must increase strictly within each object")
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_key_t0", t0)
        object.__setattr__(self, "_key_step", step)
        for value in self.__dict__.values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        # each object's segment at the last call: consecutive ticks mostly stay in it
        object.__setattr__(self, "_hint", offset[:-1].copy())

    def __len__(self) -> int:
        return len(self.object_id)

    def state_at(self, t_s: float) -> tuple[BoolArray, Float64Array, Float64Array]:
        """Every object's state at time ``t_s``.

        Returns:
            (active (N,), position ECEF m (N, 3), velocity ECEF m/s (N, 3)); an object is active
            from its first to its last knot time, both included; inactive rows are NaN. The
            velocity is that of the segment after ``t_s`` (at the last knot: the one before).
        """
        t = float(t_s)
        n = len(self)
        active = (self.start_s <= t) & (t <= self.end_s)
        rows = np.flatnonzero(active)
        if rows.size == 0:
            return active, np.full((n, 3), np.nan), np.full((n, 3), np.nan)
        # the segment [j, j + 1] holding t. Guesses first: the last call's segment, the one after
        # it (consecutive ticks), the one where t would fall if the knots were evenly spaced in
        # time; for the objects none of them fits, one searchsorted over the composite key
        # (object index, time).
        time = self.knot_time_s
        first = self.knot_offset[rows]
        last = self.knot_offset[rows + 1] - 2
        j = self._hint[rows]
        t_a = time.take(j)
        t_b = time.take(j + 1)
        miss = np.flatnonzero(~((t_a <= t) & ((t < t_b) | (j == last))))
        start = self.start_s[rows]
        for guess in ("next", "even", "search"):
            if not miss.size:
                break
            r = rows[miss]
            if guess == "next":
                cand = np.minimum(j[miss] + 1, last[miss])
            elif guess == "even":
                share = (t - start[miss]) / (self.end_s[r] - start[miss])
                cand = first[miss] + (share * (last[miss] + 1 - first[miss])).astype(np.int64)
                cand = np.clip(cand, first[miss], last[miss])
            else:
                query = r * self._key_step + (t - self._key_t0)
                cand = np.searchsorted(self._key, query, side="right") - 1
                cand = np.clip(cand, first[miss], last[miss])
            c_a = time.take(cand)
            c_b = time.take(cand + 1)
            fits = (c_a <= t) & ((t < c_b) | (cand == last[miss])) if guess != "search" else \
                np.ones(miss.size, dtype=bool)
            hit = miss[fits]
            j[hit] = cand[fits]
            t_a[hit] = c_a[fits]
            t_b[hit] = c_b[fits]
            miss = miss[~fits]
        self._hint[rows] = j
        p_a = self.knot_ecef_m.take(j, axis=0)
        v = self.knot_ecef_m.take(j + 1, axis=0)
        v -= p_a
        v /= (t_b - t_a)[:, None]
        p_a += v * (t - t_a)[:, None]
        if rows.size == n:
            return active, p_a, v
        pos = np.full((n, 3), np.nan)
        vel = np.full((n, 3), np.nan)
        pos[rows] = p_a
        vel[rows] = v
        return active, pos, vel

    def estimated_bytes(self) -> int:
        """Memory held by the arrays (including the search key), bytes."""
        return sum(v.nbytes for v in self.__dict__.values() if isinstance(v, np.ndarray))


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def estimate_objects(scenario: Scenario) -> int:
    """How many objects the traffic makes: raids' counts + flights + orbits + civil flights.

    Civil flights are counted by their expectation over the window they are created in,
    ``flights_per_hour × directions × (route flight time + duration_s) / 3600`` (rounded), which
    includes the flights already under way at t = 0.
    """
    return round(sum(e.objects for e in _estimates(scenario, 0.0)))


def build_trajectories(
    scenario: Scenario,
    rng: np.random.Generator,
    terrain: Terrain | None = None,
    max_bytes: int = 2 * 2**30,
) -> Trajectories:
    """Every air object's trajectory.

    Args:
        scenario: a loaded scenario (references resolved by the loader).
        rng: the traffic stage's Generator; exactly one draw (two 64-bit integers) is taken from
            it, which seeds one stream per raid and per airway (docs/models/traffic.md).
        terrain: the DEM for terrain following and the ground check; None = smooth earth at
            sea level.
        max_bytes: the largest trajectory memory allowed; checked on an estimate before building.

    Returns:
        The Trajectories of flights, orbits, raids and civil flights, in that order (each kind in
        scenario order).

    Raises:
        TrafficError: with every problem found: a speed above the type's ``max_speed_kmh``, a
            leg below the ground, terrain following outside the DEM, trajectories larger than
            ``max_bytes``, waypoint fields a record does not use, civil altitude bands without a
            flight level, routes without length.
    """
    trajectories, errors = _build(scenario, rng, terrain, max_bytes)
    if errors or trajectories is None:
        raise TrafficError(errors)
    return trajectories


def check_trajectories(
    scenario: Scenario,
    rng: np.random.Generator,
    terrain: Terrain | None = None,
    max_bytes: int = 2 * 2**30,
) -> tuple[Trajectories | None, list[ScenarioError]]:
    """``build_trajectories`` that returns its problems instead of raising them.

    Same arguments (``rng`` must be the run's traffic stream for the run's raid draws). Returns
    the trajectories and no problem, or None and every problem found, each with the field path of
    the offending flight, orbit, raid or airway (no location: the caller adds it).
    """
    return _build(scenario, rng, terrain, max_bytes)


def _build(scenario: Scenario, rng: np.random.Generator, terrain: Terrain | None, max_bytes: int,
           ) -> tuple[Trajectories | None, list[ScenarioError]]:
    """The trajectories, or None and every problem found."""
    errors: list[ScenarioError] = []
    fatal: set[tuple[str, str]] = set()
    _check_records(scenario, errors, fatal)
    terrain_max = _terrain_max(terrain)
    estimates = _estimates(scenario, terrain_max, fatal)
    total_bytes = _estimate_bytes(estimates)
    if total_bytes > max_bytes:
        errors.append(_memory_error(estimates, total_bytes, max_bytes))
        return None, errors

    words = rng.integers(0, 2**64, size=2, dtype=np.uint64)
    entropy = [int(w) for w in words]
    ctx = _Context(scenario, terrain, terrain_max, errors)
    parts: list[_Part] = []
    traffic = scenario.traffic
    flights = [(fid, f) for fid, f in traffic.flights.items() if ("flights", fid) not in fatal]
    if flights:
        parts.append(_build_flights(ctx, flights))
    for oid, orbit in traffic.orbits.items():
        if ("orbits", oid) not in fatal:
            parts.append(_build_orbit(ctx, oid, orbit))
    for rid, raid in traffic.raids.items():
        if ("raids", rid) not in fatal:
            parts.append(_build_raid(ctx, rid, raid, _record_rng(entropy, _KIND_RAIDS, rid)))
    for cid, civil in traffic.civil.items():
        if ("civil", cid) not in fatal:
            parts.append(_build_civil(ctx, cid, civil, _record_rng(entropy, _KIND_CIVIL, cid)))
    if errors:
        return None, errors
    result = _assemble(parts)
    ids, counts = np.unique(result.object_id, return_counts=True)
    for oid in ids[counts > 1]:
        sources = sorted(set(result.source[result.object_id == oid].tolist()))
        # the path of the last record that makes it: the one to rename
        errors.append(ScenarioError(
            f"object id '{oid}' is made twice (by {' and '.join(sources)}); rename one of the records",
            tuple(sources[-1].split("."))))
    return (None, errors) if errors else (result, errors)


# ---------------------------------------------------------------------------------------------
# Checks and estimates (before building)
# ---------------------------------------------------------------------------------------------


def _err(errors: list[ScenarioError], path: Path, message: str, given: object = None,
         allowed: str | None = None) -> None:
    errors.append(ScenarioError(message, path, given=given, has_given=given is not None,
                                allowed=allowed))


def _point(wp: Waypoint, scenario: Scenario) -> tuple[float, float] | None:
    """(lat, lon) of a waypoint, or None for an unknown place."""
    if wp.place is not None:
        place = scenario.places.get(wp.place)
        return None if place is None else (place.lat_deg, place.lon_deg)
    assert wp.lat_deg is not None and wp.lon_deg is not None  # the schema guarantees both
    return (wp.lat_deg, wp.lon_deg)


def _points(wps: Iterable[tuple[Path, Waypoint]], scenario: Scenario, errors: list[ScenarioError],
            ) -> list[tuple[float, float]] | None:
    out: list[tuple[float, float]] = []
    ok = True
    for path, wp in wps:
        p = _point(wp, scenario)
        if p is None:
            _err(errors, (*path, "place"), f"unknown place '{wp.place}'", wp.place)
            ok = False
        else:
            out.append(p)
    return out if ok else None


def _check_speed(errors: list[ScenarioError], path: Path, speed_kmh: float, type_id: str,
                 ac: AircraftType) -> None:
    top = ac.max_speed_kmh
    if top is not None and speed_kmh > top:
        _err(errors, path, f"{speed_kmh:,g} km/h is faster than the {type_id} type's "
             f"max_speed_kmh ({top:,g} km/h)", speed_kmh,
             f"up to {top:,g} km/h (catalog.aircraft.{type_id}.max_speed_kmh)")


def _check_duration(errors: list[ScenarioError], base: Path, route: list[Waypoint], speed_kmh: float,
                    start_s: float, dist_m: Float64Array) -> bool:
    """A route flown by ``MAX_TIME_S``; else one error at the slowest leg's speed (False)."""
    speeds = _leg_speeds_kmh(speed_kmh, route)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        end = start_s + float(np.sum(dist_m / (speeds / 3.6)))
    if end <= MAX_TIME_S:
        return True
    k = int(np.argmin(speeds))
    owner = max((i for i in range(k + 1) if route[i].speed_kmh is not None), default=None)
    path: Path = (*base, "speed_kmh") if owner is None else (*base, "route", owner, "speed_kmh")
    _err(errors, path, f"at {speeds[k]:,.3g} km/h the route takes until {end:,.3g} s, beyond "
         f"{MAX_TIME_S:,.0f} s (about 32 years), the latest time a trajectory can represent",
         float(speeds[k]))
    return False


def _unused_fields(errors: list[ScenarioError], path: Path, wp: Waypoint, fields: tuple[str, ...],
                   why: str) -> None:
    for name in fields:
        if name in wp.model_fields_set:
            _err(errors, (*path, name), f"{name} is not used here: {why}; remove it",
                 getattr(wp, name))


def _route_length_m(points: list[tuple[float, float]]) -> Float64Array:
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    _, _, dist = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return np.asarray(dist, dtype=np.float64)


def _levels(civil: CivilTraffic) -> IntArray:
    """Indices k of the cruise levels k × 304.8 m between alt_min_m and alt_max_m."""
    lo = math.ceil(civil.alt_min_m / FLIGHT_LEVEL_STEP_M - 1e-9)
    hi = math.floor(civil.alt_max_m / FLIGHT_LEVEL_STEP_M + 1e-9)
    return np.arange(lo, hi + 1, dtype=np.int64)


def _check_records(sc: Scenario, errors: list[ScenarioError], fatal: set[tuple[str, str]]) -> None:
    """Checks that need no building; records that cannot be built go into ``fatal``."""
    tr = sc.traffic
    aircraft = sc.catalog.aircraft

    def type_of(kind: str, rid: str, type_id: str) -> AircraftType | None:
        ac = aircraft.get(type_id)
        if ac is None:
            _err(errors, ("traffic", kind, rid, "type"), f"unknown aircraft type '{type_id}'", type_id)
            fatal.add((kind, rid))
        return ac

    for fid, f in tr.flights.items():
        base: Path = ("traffic", "flights", fid)
        ac = type_of("flights", fid, f.type)
        if ac is not None:
            _check_speed(errors, (*base, "speed_kmh"), f.speed_kmh, f.type, ac)
            for i, wp in enumerate(f.route):
                if wp.speed_kmh is not None:
                    _check_speed(errors, (*base, "route", i, "speed_kmh"), wp.speed_kmh, f.type, ac)
        pts = _points((((*base, "route", i), w) for i, w in enumerate(f.route)), sc, errors)
        if pts is None:
            fatal.add(("flights", fid))
        elif not _route_length_m(pts).sum() > 0:
            _err(errors, (*base, "route"), "the route has no length: its waypoints coincide")
            fatal.add(("flights", fid))
        elif not _check_duration(errors, base, f.route, f.speed_kmh, f.start_s, _route_length_m(pts)):
            fatal.add(("flights", fid))

    for oid, o in tr.orbits.items():
        base = ("traffic", "orbits", oid)
        ac = type_of("orbits", oid, o.type)
        if ac is not None:
            _check_speed(errors, (*base, "speed_kmh"), o.speed_kmh, o.type, ac)
        _unused_fields(errors, (*base, "center"), o.center, ("alt_m", "alt_ref", "speed_kmh"),
                       "an orbit flies its own alt_m, alt_ref and speed_kmh")
        if _points([((*base, "center"), o.center)], sc, errors) is None:
            fatal.add(("orbits", oid))
        end = o.end_s if o.end_s is not None else sc.duration_s
        if end <= o.start_s:
            _err(errors, (*base, "start_s"), f"the orbit starts at {o.start_s:,g} s, not before the "
                 f"end of the scenario (duration_s {sc.duration_s:,g} s); give end_s or start earlier",
                 o.start_s)
            fatal.add(("orbits", oid))

    for rid, r in tr.raids.items():
        base = ("traffic", "raids", rid)
        ac = type_of("raids", rid, r.type)
        if ac is not None:
            _check_speed(errors, (*base, "speed_kmh"), r.speed_kmh, r.type, ac)
        why = "raid objects fly the raid's alt_m, alt_ref and speed_kmh"
        _unused_fields(errors, (*base, "origin"), r.origin, ("alt_m", "alt_ref", "speed_kmh"), why)
        for i, wp in enumerate(r.destinations):
            _unused_fields(errors, (*base, "destinations", i), wp, ("alt_m", "alt_ref", "speed_kmh"), why)
        wps: list[tuple[Path, Waypoint]] = [((*base, "origin"), r.origin)]
        wps += [((*base, "destinations", i), w) for i, w in enumerate(r.destinations)]
        pts = _points(wps, sc, errors)
        if pts is None:
            fatal.add(("raids", rid))
        elif r.origin_radius_km == 0:
            dist = _GEOD.inv(np.full(len(pts) - 1, pts[0][1]), np.full(len(pts) - 1, pts[0][0]),
                             np.array([p[1] for p in pts[1:]]), np.array([p[0] for p in pts[1:]]))[2]
            for i in np.flatnonzero(np.asarray(dist) == 0).tolist():
                _err(errors, (*base, "destinations", i),
                     "the destination is the origin (and origin_radius_km is 0): the raid has no path")
                fatal.add(("raids", rid))
        if pts is not None and ("raids", rid) not in fatal:
            # the longest dog-leg: out on the perturbed heading, then to the farthest destination
            far = _GEOD.inv(np.full(len(pts) - 1, pts[0][1]), np.full(len(pts) - 1, pts[0][0]),
                            np.array([p[1] for p in pts[1:]]), np.array([p[0] for p in pts[1:]]))[2]
            longest = 2.0 * (float(np.max(far)) + 1000.0 * r.origin_radius_km)
            with np.errstate(divide="ignore", over="ignore"):
                end = r.start_s + r.spread_s + longest / (r.speed_kmh / 3.6)
            if not end <= MAX_TIME_S:
                _err(errors, (*base, "speed_kmh"), f"at {r.speed_kmh:,.3g} km/h the raid flies until "
                     f"about {end:,.3g} s, beyond {MAX_TIME_S:,.0f} s (about 32 years), the latest time "
                     f"a trajectory can represent", r.speed_kmh)
                fatal.add(("raids", rid))

    for cid, c in tr.civil.items():
        base = ("traffic", "civil", cid)
        ac = type_of("civil", cid, c.type)
        if ac is not None:
            _check_speed(errors, (*base, "speed_kmh"), c.speed_kmh, c.type, ac)
            for i, wp in enumerate(c.route):
                if wp.speed_kmh is not None:
                    _check_speed(errors, (*base, "route", i, "speed_kmh"), wp.speed_kmh, c.type, ac)
        for i, wp in enumerate(c.route):
            _unused_fields(errors, (*base, "route", i), wp, ("alt_m", "alt_ref"),
                           "civil flights fly a cruise level drawn between alt_min_m and alt_max_m")
        pts = _points((((*base, "route", i), w) for i, w in enumerate(c.route)), sc, errors)
        if pts is None:
            fatal.add(("civil", cid))
        elif not _route_length_m(pts).sum() > 0:
            _err(errors, (*base, "route"), "the route has no length: its waypoints coincide")
            fatal.add(("civil", cid))
        elif not _check_duration(errors, base, c.route, c.speed_kmh, sc.duration_s, _route_length_m(pts)):
            fatal.add(("civil", cid))
        if _levels(c).size == 0:
            below = math.floor(c.alt_min_m / FLIGHT_LEVEL_STEP_M) * FLIGHT_LEVEL_STEP_M
            above = below + FLIGHT_LEVEL_STEP_M
            _err(errors, (*base, "alt_min_m"),
                 f"no 1,000 ft cruise level (a multiple of 304.8 m) lies between alt_min_m "
                 f"({c.alt_min_m:,g} m) and alt_max_m ({c.alt_max_m:,g} m); the nearest are "
                 f"{below:,.1f} m ({round(below / 0.3048):,} ft) and {above:,.1f} m "
                 f"({round(above / 0.3048):,} ft)", c.alt_min_m)
            fatal.add(("civil", cid))


@dataclass(frozen=True)
class _Estimate:
    kind: str
    rid: str
    objects: float
    knots: float
    id_chars: int


def _spacing_for(alt_m: float, ref: AltitudeReference, terrain_max: float) -> float:
    """Knot spacing assumed by the estimate (the build decides per leg, with the terrain)."""
    ground = 0.0 if ref == AltitudeReference.agl else terrain_max
    return LOW_SPACING_M if alt_m - ground < LOW_LEVEL_M else HIGH_SPACING_M


def _estimates(sc: Scenario, terrain_max: float,
               skip: set[tuple[str, str]] | None = None) -> list[_Estimate]:
    """Objects and knots each record will make (an upper-end estimate of the knots)."""
    skip = skip or set()
    tr = sc.traffic
    quiet: list[ScenarioError] = []
    out: list[_Estimate] = []
    for fid, f in tr.flights.items():
        pts = _points(((("x",), w) for w in f.route), sc, quiet)
        if ("flights", fid) in skip or pts is None:
            continue
        dist = _route_length_m(pts)
        lowest = min([f.alt_m, *(w.alt_m for w in f.route if w.alt_m is not None)])
        ref = AltitudeReference.agl if any(
            r == AltitudeReference.agl for r in [f.alt_ref, *(w.alt_ref for w in f.route)]
        ) else AltitudeReference.msl
        spacing = _spacing_for(lowest, ref, terrain_max)
        knots = float(np.ceil(dist / spacing).sum()) + 2 * len(dist) + 1
        out.append(_Estimate("flights", fid, 1.0, knots, len(fid)))
    for oid, o in tr.orbits.items():
        pts = _points([(("x",), o.center)], sc, quiet)
        if ("orbits", oid) in skip or pts is None:
            continue
        end = o.end_s if o.end_s is not None else sc.duration_s
        spacing = _spacing_for(o.alt_m, o.alt_ref, terrain_max)
        r = 500.0 * o.width_km
        perimeter = 2000.0 * o.length_km + 2 * math.pi * r
        laps = max(end - o.start_s, 0.0) * o.speed_kmh / 3.6 / perimeter
        turn_step = min(math.radians(TURN_STEP_DEG), spacing / r)
        per_lap = 2 * math.ceil(1000.0 * o.length_km / spacing) + 2 * math.ceil(math.pi / turn_step) + 4
        out.append(_Estimate("orbits", oid, 1.0, math.ceil(laps + 1) * per_lap + 2, len(oid)))
    for rid, r_ in tr.raids.items():
        pts = _points([(("x",), r_.origin), *((("x",), w) for w in r_.destinations)], sc, quiet)
        if ("raids", rid) in skip or pts is None:
            continue
        d_max = float(np.max(_GEOD.inv(np.full(len(pts) - 1, pts[0][1]), np.full(len(pts) - 1, pts[0][0]),
                                       np.array([p[1] for p in pts[1:]]),
                                       np.array([p[0] for p in pts[1:]]))[2]))
        d_max += 1000.0 * r_.origin_radius_km
        # dog-leg: D/2 out, then back to the destination: at most D (1/2 + sqrt(5/4 - cos δ))
        factor = 0.5 + math.sqrt(1.25 - math.cos(math.radians(r_.spread_deg)))
        spacing = _spacing_for(r_.alt_m, r_.alt_ref, terrain_max)
        per_object = math.ceil(d_max * factor / spacing) + 3
        digits = max(4, len(str(r_.count)))
        out.append(_Estimate("raids", rid, float(r_.count), float(r_.count * per_object),
                             len(rid) + 1 + digits))
    for cid, c in tr.civil.items():
        pts = _points(((("x",), w) for w in c.route), sc, quiet)
        if ("civil", cid) in skip or pts is None:
            continue
        dist = _route_length_m(pts)
        speeds = _leg_speeds_kmh(c.speed_kmh, c.route) / 3.6
        route_s = float(np.sum(dist / speeds))
        expected = c.flights_per_hour * (2 if c.both_directions else 1) * (route_s + sc.duration_s) / 3600
        spacing = _spacing_for(c.alt_min_m, AltitudeReference.msl, terrain_max)
        per_flight = float(np.ceil(dist / spacing).sum()) + 1
        digits = max(4, len(str(round(expected + 4 * math.sqrt(expected) + 1))))
        out.append(_Estimate("civil", cid, expected, expected * per_flight, len(cid) + 7 + digits))
    return out


def _estimate_bytes(estimates: list[_Estimate]) -> float:
    if not estimates:
        return 0.0
    chars = max(e.id_chars for e in estimates) + 20  # id, and source/type/nation of similar width
    per_object = 4 * 4 * chars + 5 * 8 + 3
    return sum(e.knots * BYTES_PER_KNOT + e.objects * per_object for e in estimates)


def _gib(n_bytes: float) -> str:
    gib = n_bytes / 2**30
    return f"{gib:,.1f} GiB" if gib >= 0.1 else f"{gib:.2g} GiB"


def _memory_error(estimates: list[_Estimate], total: float, limit: int) -> ScenarioError:
    objects = sum(e.objects for e in estimates)
    largest = max(estimates, key=lambda e: e.knots)
    share = _estimate_bytes([largest])
    limit_text = f"{limit / 2**30:,.3g} GiB"
    word = {"raids": "a raid", "civil": "civil traffic", "orbits": "an orbit", "flights": "a flight"}
    if largest.kind == "raids" and share >= 0.5 * total:
        path: Path = ("traffic", "raids", largest.rid, "count")
        head = (f"{word['raids']} of {round(largest.objects):,} objects needs about {_gib(share)} of "
                f"trajectories")
        if share < total:
            head += f" (all traffic: {round(objects):,} objects, {_gib(total)})"
        return ScenarioError(f"{head}; the limit is {limit_text}: lower the count", path,
                             given=round(largest.objects), has_given=True)
    return ScenarioError(
        f"the traffic of about {round(objects):,} objects needs about {_gib(total)} of trajectories; "
        f"the limit is {limit_text}; the largest part is {word[largest.kind]} ('{largest.rid}', about "
        f"{round(largest.objects):,} objects, {_gib(share)})", ("traffic",))


def _terrain_max(terrain: Terrain | None) -> float:
    if terrain is None:
        return 0.0
    heights = terrain.heights_m
    finite = heights[np.isfinite(heights)]
    return float(finite.max()) if finite.size else 0.0


def _leg_speeds_kmh(speed_kmh: float, route: list[Waypoint]) -> Float64Array:
    """Speed of each leg: the record's, or the latest waypoint override at or before its start."""
    out = []
    for wp in route[:-1]:
        if wp.speed_kmh is not None:
            speed_kmh = wp.speed_kmh
        out.append(speed_kmh)
    return np.array(out, dtype=np.float64)


def _record_rng(entropy: list[int], kind: int, rid: str) -> np.random.Generator:
    """The random stream of one raid or airway: the run's entropy, the kind and the record id."""
    seq = np.random.SeedSequence(entropy=entropy, spawn_key=(kind, *rid.encode("utf-8")))
    return np.random.Generator(np.random.PCG64(seq))


# ---------------------------------------------------------------------------------------------
# Leg sampling
# ---------------------------------------------------------------------------------------------


@dataclass
class _Context:
    scenario: Scenario
    terrain: Terrain | None
    terrain_max: float
    errors: list[ScenarioError]


@dataclass
class _Legs:
    """L geodesic legs, grouped by object in flight order."""

    obj: IntArray  # object index within the part
    first: BoolArray  # first leg of its object: its start knot is emitted
    lon0: Float64Array
    lat0: Float64Array
    az: Float64Array  # forward azimuth at the start, degrees
    dist: Float64Array  # metres (> 0)
    t0: Float64Array  # time at the start, s
    speed: Float64Array  # ground speed, m/s
    h0: Float64Array  # height at the start in the leg's reference, m
    h1: Float64Array  # height aimed at (reached at the climb rate), m
    rate: Float64Array  # climb and descent rate, m/s
    agl: BoolArray  # heights above ground (terrain following), else above sea level


@dataclass
class _Knots:
    leg: IntArray
    s: Float64Array  # metres along the leg
    lon: Float64Array
    lat: Float64Array
    t: Float64Array
    h: Float64Array  # height in the leg's reference
    msl: Float64Array  # height above sea level
    nodem: BoolArray  # terrain following where the DEM has no height
    below: BoolArray  # under the ground
    ground: Float64Array  # terrain height where looked up (else 0)


def _stations(dist: Float64Array, spacing: Float64Array, first: BoolArray) -> tuple[IntArray, Float64Array]:
    """Evenly spaced stations along each leg: leg index and distance from the leg's start."""
    n_seg = np.maximum(1, np.ceil(dist / spacing - 1e-9)).astype(np.int64)
    start_k = np.where(first, 0, 1).astype(np.int64)
    counts = n_seg + 1 - start_k
    leg = np.repeat(np.arange(dist.size, dtype=np.int64), counts)
    offsets = np.cumsum(counts) - counts
    k = np.arange(leg.size, dtype=np.int64) - offsets[leg] + start_k[leg]
    return leg, dist[leg] * (k / n_seg[leg])


def _low_legs(legs: _Legs, terrain: Terrain | None, terrain_max: float) -> BoolArray:
    """Legs flown below LOW_LEVEL_M above the ground (somewhere along them)."""
    lowest = np.minimum(legs.h0, legs.h1)
    low: BoolArray = lowest < LOW_LEVEL_M
    if terrain is None:
        return low
    cand = np.flatnonzero(~legs.agl & ~low & (lowest < LOW_LEVEL_M + terrain_max))
    if cand.size:
        leg, s = _stations(legs.dist[cand], np.full(cand.size, HIGH_SPACING_M), np.ones(cand.size, bool))
        lon, lat, _ = _GEOD.fwd(legs.lon0[cand][leg], legs.lat0[cand][leg], legs.az[cand][leg], s)
        g = terrain.height_at(lat, lon)
        starts = np.flatnonzero(np.r_[True, leg[1:] != leg[:-1]])
        gmax = np.fmax.reduceat(g, starts)
        gmax = np.where(np.isnan(gmax), 0.0, gmax)
        low[cand] = lowest[cand] - gmax < LOW_LEVEL_M
    return low


def _sample(legs: _Legs, terrain: Terrain | None, terrain_max: float) -> _Knots:
    """Knots along the legs: geodesic stations, climb ends, times, heights and ground checks."""
    spacing = np.where(_low_legs(legs, terrain, terrain_max), LOW_SPACING_M, HIGH_SPACING_M)
    leg, s = _stations(legs.dist, spacing, legs.first)
    dh = legs.h1 - legs.h0
    climb_s = legs.speed * np.abs(dh) / legs.rate  # where the new height is reached
    n_seg = np.maximum(1, np.ceil(legs.dist / spacing - 1e-9))
    step = legs.dist / n_seg
    nearest = np.round(climb_s / step) * step
    add = np.flatnonzero((climb_s > 1.0) & (climb_s < legs.dist - 1.0) & (np.abs(climb_s - nearest) > 1.0))
    if add.size:
        leg = np.concatenate([leg, add])
        s = np.concatenate([s, climb_s[add]])
        order = np.lexsort((s, leg))
        leg, s = leg[order], s[order]
    lon, lat = legs.lon0[leg], legs.lat0[leg]  # fresh arrays: pyproj writes into them
    _GEOD.fwd(lon, lat, legs.az[leg], s.copy(), inplace=True)
    speed = legs.speed[leg]
    t = legs.t0[leg] + s / speed
    h = legs.h0[leg] + np.sign(dh[leg]) * np.minimum(s * legs.rate[leg] / speed, np.abs(dh[leg]))
    agl = legs.agl[leg]
    ground = np.zeros(leg.size)
    if terrain is not None:
        need = agl | (h < terrain_max)
        if need.any():
            ground[need] = terrain.height_at(lat[need], lon[need])
    nodem = agl & np.isnan(ground)
    msl = h + np.where(agl, ground, 0.0)
    below = np.where(agl, h < 0.0, h < ground)
    return _Knots(leg, s, lon, lat, t, h, msl, nodem, below, ground)


def _where(lat: float, lon: float) -> str:
    return f"{abs(lat):.3f} {'N' if lat >= 0 else 'S'}, {abs(lon):.3f} {'E' if lon >= 0 else 'W'}"


def _ground_text(terrain: Terrain | None) -> str:
    return "the DEM" if terrain is not None else "smooth earth at sea level"


# ---------------------------------------------------------------------------------------------
# Parts: flights, orbits, raids, civil traffic
# ---------------------------------------------------------------------------------------------


@dataclass
class _Part:
    """The objects of one record (or all flights) with their knots."""

    ids: list[str]
    source: list[str]
    type_id: list[str]
    nation: list[str]
    rcs_m2: list[float]
    flight_plan: list[bool]
    iff: list[bool]
    radar_on: list[bool]
    counts: IntArray
    t: Float64Array
    lat: Float64Array
    lon: Float64Array
    msl: Float64Array


def _rcs(ac: AircraftType) -> float:
    return float("nan") if ac.rcs_m2 is None else float(ac.rcs_m2)


def _part(n: int, ids: list[str], source: str, type_id: str, nation: str, ac: AircraftType,
          flight_plan: bool, iff: bool, radar_on: bool, counts: IntArray, t: Float64Array,
          lat: Float64Array, lon: Float64Array, msl: Float64Array) -> _Part:
    return _Part(ids, [source] * n, [type_id] * n, [nation] * n, [_rcs(ac)] * n, [flight_plan] * n,
                 [iff] * n, [radar_on] * n, counts, t, lat, lon, msl)


def _climb_rate(ac: AircraftType) -> float:
    return float(ac.climb_rate_mps) if ac.climb_rate_mps is not None else DEFAULT_CLIMB_RATE_MPS


def _build_flights(ctx: _Context, flights: list[tuple[str, Flight]]) -> _Part:
    sc, terrain = ctx.scenario, ctx.terrain
    rows: dict[str, list[Any]] = {k: [] for k in ("obj", "first", "lon0", "lat0", "az", "dist", "t0",
                                                   "speed", "h0", "h1", "rate", "agl", "wp")}
    for i, (_, f) in enumerate(flights):
        pts = [_point(w, sc) for w in f.route]
        lat = np.array([p[0] for p in pts if p is not None])
        lon = np.array([p[1] for p in pts if p is not None])
        az, _, dist = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        ground = terrain.height_at(lat, lon) if terrain is not None else np.zeros(lat.size)
        # settings in effect from each waypoint on
        speed, alt, agl = f.speed_kmh / 3.6, f.alt_m, f.alt_ref == AltitudeReference.agl
        settings = []
        for w in f.route:
            speed = w.speed_kmh / 3.6 if w.speed_kmh is not None else speed
            alt = w.alt_m if w.alt_m is not None else alt
            agl = (w.alt_ref == AltitudeReference.agl) if "alt_ref" in w.model_fields_set else agl
            settings.append((speed, alt, agl))
        rate = _climb_rate(sc.catalog.aircraft[f.type])
        h_msl = settings[0][1] + (float(ground[0]) if settings[0][2] else 0.0)
        t, first = f.start_s, True
        for k in range(lat.size - 1):
            v, target, leg_agl = settings[k]
            if not dist[k] > 0:
                continue
            h0 = h_msl - (float(ground[k]) if leg_agl else 0.0)
            dh = target - h0
            h_end = target if v * abs(dh) / rate <= dist[k] else h0 + math.copysign(dist[k] / v * rate, dh)
            for name, value in (("obj", i), ("first", first), ("lon0", lon[k]), ("lat0", lat[k]),
                                ("az", az[k]), ("dist", dist[k]), ("t0", t), ("speed", v), ("h0", h0),
                                ("h1", target), ("rate", rate), ("agl", leg_agl), ("wp", k)):
                rows[name].append(value)
            t += dist[k] / v
            h_msl = h_end + (float(ground[k + 1]) if leg_agl else 0.0)
            first = False
    def col(name: str, dtype: type = np.float64) -> Any:
        return np.asarray(rows[name], dtype=dtype)

    legs = _Legs(obj=col("obj", np.int64), first=col("first", bool), lon0=col("lon0"), lat0=col("lat0"),
                 az=col("az"), dist=col("dist"), t0=col("t0"), speed=col("speed"), h0=col("h0"),
                 h1=col("h1"), rate=col("rate"), agl=col("agl", bool))
    knots = _sample(legs, terrain, ctx.terrain_max)
    wp = np.asarray(rows["wp"], dtype=np.int64)
    bad = knots.below | knots.nodem
    if bad.any():
        bad_legs, first_knot = np.unique(knots.leg[bad], return_index=True)
        knot_ids = np.flatnonzero(bad)[first_knot]
        for lg, j in zip(bad_legs.tolist(), knot_ids.tolist(), strict=True):
            fid, f = flights[int(legs.obj[lg])]
            k = int(wp[lg])
            path: Path = ("traffic", "flights", fid, "route", k)
            where = f"{knots.s[j] / 1000:,.1f} km along it, at {_where(knots.lat[j], knots.lon[j])}"
            if knots.nodem[j]:
                assert terrain is not None
                _err(ctx.errors, path, f"the leg from route[{k}] to route[{k + 1}] follows the terrain "
                     f"(alt_ref: agl), but {terrain.label} has no height {where}")
            elif legs.agl[lg]:
                _err(ctx.errors, path, f"the leg from route[{k}] to route[{k + 1}] flies below the ground: "
                     f"{where}, the flight is {knots.h[j]:,.0f} m above ground level")
            else:
                _err(ctx.errors, path, f"the leg from route[{k}] to route[{k + 1}] flies below the ground "
                     f"({_ground_text(terrain)}): {where}, the flight is at {knots.msl[j]:,.0f} m above "
                     f"sea level and the ground at {knots.ground[j]:,.0f} m")
    n = len(flights)
    counts = np.bincount(legs.obj[knots.leg], minlength=n).astype(np.int64)
    cat = sc.catalog.aircraft
    return _Part(
        [fid for fid, _ in flights], [f"traffic.flights.{fid}" for fid, _ in flights],
        [f.type for _, f in flights], [f.nation for _, f in flights],
        [_rcs(cat[f.type]) for _, f in flights],
        [f.flight_plan for _, f in flights], [f.iff for _, f in flights],
        [bool(f.radar_on and cat[f.type].radar is not None) for _, f in flights],
        counts, knots.t, knots.lat, knots.lon, knots.msl)


def _orbit_lap(lat_c: float, lon_c: float, o: Orbit, spacing: float,
               ) -> tuple[Float64Array, Float64Array, Float64Array, float]:
    """One lap of the racetrack from the start of the first straight leg (closing knot left out).

    Returns:
        (lat, lon, along-track distance from the lap start, perimeter), metres.
    """
    half = 500.0 * o.length_km
    r = 500.0 * o.width_km
    e1lon, e1lat, b1 = _GEOD.fwd(lon_c, lat_c, o.heading_deg, half)
    e0lon, e0lat, b0 = _GEOD.fwd(lon_c, lat_c, (o.heading_deg + 180.0) % 360.0, half)
    a1 = b1 + 180.0  # direction of travel along the axis at its far end
    a0 = b0  # ... at its near end (pointing toward the centre)
    step = min(math.radians(TURN_STEP_DEG), spacing / r)
    n_turn = math.ceil(math.pi / step - 1e-9)
    lats: list[Float64Array] = []
    lons: list[Float64Array] = []
    dists: list[Float64Array] = []
    s0 = 0.0
    # (axis end, direction of travel there) at the start and at the end of each straight leg
    for (clon, clat, ca), (dlon, dlat, da) in (((e0lon, e0lat, a0), (e1lon, e1lat, a1)),
                                               ((e1lon, e1lat, a1 + 180.0), (e0lon, e0lat, a0 + 180.0))):
        # straight leg on the left of the axis (seen in the direction of travel)
        plon, plat, _ = _GEOD.fwd(clon, clat, ca - 90.0, r)
        qlon, qlat, _ = _GEOD.fwd(dlon, dlat, da - 90.0, r)
        az, _, d = _GEOD.inv(plon, plat, qlon, qlat)
        n_seg = max(1, math.ceil(d / spacing - 1e-9))
        s = d * np.arange(n_seg) / n_seg
        lon, lat, _ = _GEOD.fwd(np.full(n_seg, plon), np.full(n_seg, plat), np.full(n_seg, az), s)
        lons.append(np.asarray(lon))
        lats.append(np.asarray(lat))
        dists.append(s0 + s)
        s0 += d
        # right-hand semicircular turn about the axis end
        ang = (da - 90.0) + np.degrees(np.pi * np.arange(n_turn) / n_turn)
        lon, lat, _ = _GEOD.fwd(np.full(n_turn, dlon), np.full(n_turn, dlat), ang, np.full(n_turn, r))
        lons.append(np.asarray(lon))
        lats.append(np.asarray(lat))
        dists.append(s0 + r * np.pi * np.arange(n_turn) / n_turn)
        s0 += math.pi * r
    return np.concatenate(lats), np.concatenate(lons), np.concatenate(dists), s0


def _build_orbit(ctx: _Context, oid: str, o: Orbit) -> _Part:
    sc, terrain = ctx.scenario, ctx.terrain
    base: Path = ("traffic", "orbits", oid)
    p = _point(o.center, sc)
    assert p is not None
    agl = o.alt_ref == AltitudeReference.agl
    lat, lon, s, perimeter = _orbit_lap(p[0], p[1], o, HIGH_SPACING_M)
    low = o.alt_m < LOW_LEVEL_M
    if not low and not agl and terrain is not None and o.alt_m < LOW_LEVEL_M + ctx.terrain_max:
        g = terrain.height_at(lat, lon)
        low = bool(o.alt_m - (np.nanmax(g) if np.isfinite(g).any() else 0.0) < LOW_LEVEL_M)
    if low:
        lat, lon, s, perimeter = _orbit_lap(p[0], p[1], o, LOW_SPACING_M)
    if terrain is not None and (agl or o.alt_m < ctx.terrain_max):
        ground = terrain.height_at(lat, lon)
    else:
        ground = np.zeros(lat.size)
    msl: Float64Array = o.alt_m + (ground if agl else np.zeros(lat.size))
    if agl and np.isnan(ground).any():
        assert terrain is not None
        j = int(np.flatnonzero(np.isnan(ground))[0])
        _err(ctx.errors, (*base, "alt_ref"), f"the orbit follows the terrain (alt_ref: agl), but "
             f"{terrain.label} has no height at {_where(lat[j], lon[j])}")
    under = (o.alt_m < 0) if agl else (msl < ground)
    if np.any(under):
        j = int(np.flatnonzero(np.broadcast_to(under, lat.shape))[0])
        _err(ctx.errors, (*base, "alt_m"), f"the orbit flies below the ground ({_ground_text(terrain)}): "
             f"at {_where(lat[j], lon[j])} it is at {msl[j]:,.0f} m above sea level and the ground at "
             f"{ground[j]:,.0f} m", o.alt_m)
    v = o.speed_kmh / 3.6
    period = perimeter / v
    end = o.end_s if o.end_s is not None else sc.duration_s
    laps = math.ceil((end - o.start_s) / period) + 1
    lap_t = s / v
    t = (o.start_s + np.arange(laps)[:, None] * period + lap_t[None, :]).ravel()
    keep = int(np.searchsorted(t, end, side="left"))  # knots strictly before the end
    lat_all, lon_all, msl_all = (np.tile(a, laps) for a in (lat, lon, np.broadcast_to(msl, lat.shape)))
    # last knot at end_s, interpolated from its neighbours on the lap
    j = keep - 1
    nxt = keep if keep < t.size else keep - 1
    f = (end - t[j]) / (t[nxt] - t[j]) if t[nxt] > t[j] else 0.0
    d_lon = (lon_all[nxt] - lon_all[j] + 180.0) % 360.0 - 180.0  # across the antimeridian too
    last = (lat_all[j] + f * (lat_all[nxt] - lat_all[j]), lon_all[j] + f * d_lon,
            msl_all[j] + f * (msl_all[nxt] - msl_all[j]))
    t_out = np.append(t[:keep], end)
    ac = sc.catalog.aircraft[o.type]
    return _part(1, [oid], f"traffic.orbits.{oid}", o.type, o.nation, ac, o.flight_plan, o.iff,
                 bool(o.radar_on and ac.radar is not None), np.array([t_out.size], dtype=np.int64),
                 t_out, np.append(lat_all[:keep], last[0]), np.append(lon_all[:keep], last[1]),
                 np.append(msl_all[:keep], last[2]))


def _build_raid(ctx: _Context, rid: str, r: Raid, g: np.random.Generator) -> _Part:
    sc, terrain = ctx.scenario, ctx.terrain
    base: Path = ("traffic", "raids", rid)
    n = r.count
    # the draws, in this order (docs/models/traffic.md)
    u_radius = g.random(n)
    u_bearing = g.random(n)
    u_launch = g.random(n)
    u_heading = g.random(n)
    origin = _point(r.origin, sc)
    dests = [_point(w, sc) for w in r.destinations]
    assert origin is not None and all(d is not None for d in dests)
    radius = 1000.0 * r.origin_radius_km * np.sqrt(u_radius)
    olon, olat, _ = _GEOD.fwd(np.full(n, origin[1]), np.full(n, origin[0]), 360.0 * u_bearing, radius)
    olon, olat = np.asarray(olon), np.asarray(olat)
    launch = r.start_s + r.spread_s * u_launch
    turn = r.spread_deg * (2.0 * u_heading - 1.0)
    which = np.arange(n) % len(dests)
    dlat = np.array([d[0] for d in dests if d is not None])[which]
    dlon = np.array([d[1] for d in dests if d is not None])[which]
    az, _, dist = _GEOD.inv(olon, olat, dlon, dlat)
    az, dist = np.asarray(az), np.asarray(dist)
    if not np.all(dist > 0):
        _err(ctx.errors, (*base, "origin_radius_km"), "an origin drawn in the disc is a destination: "
             "the object has no path; move the destination out of the origin disc")
        dist = np.maximum(dist, 1.0)
    # dog-leg: out on the perturbed heading for half the distance, then to the destination
    az_out = az + turn
    tlon, tlat, _ = _GEOD.fwd(olon, olat, az_out, 0.5 * dist)
    az2, _, dist2 = _GEOD.inv(tlon, tlat, dlon, dlat)
    dist2 = np.maximum(np.asarray(dist2), 1e-3)
    v = r.speed_kmh / 3.6
    h = float(r.alt_m)
    agl = r.alt_ref == AltitudeReference.agl

    def pair(a: Any, b: Any) -> Float64Array:
        return np.column_stack([np.broadcast_to(a, n), np.broadcast_to(b, n)]).ravel().astype(np.float64)

    legs = _Legs(
        obj=np.repeat(np.arange(n, dtype=np.int64), 2),
        first=np.tile(np.array([True, False]), n),
        lon0=pair(olon, tlon), lat0=pair(olat, tlat), az=pair(az_out, az2), dist=pair(0.5 * dist, dist2),
        t0=pair(launch, launch + 0.5 * dist / v), speed=np.full(2 * n, v), h0=np.full(2 * n, h),
        h1=np.full(2 * n, h), rate=np.full(2 * n, 1.0), agl=np.full(2 * n, agl),
    )
    knots = _sample(legs, terrain, ctx.terrain_max)
    ids = [f"{rid}-{i:04d}" for i in range(1, n + 1)]
    if knots.nodem.any():
        assert terrain is not None
        bad = np.flatnonzero(knots.nodem)
        objs = np.unique(legs.obj[knots.leg[bad]])
        j = int(bad[0])
        _err(ctx.errors, (*base, "alt_ref"), f"the raid follows the terrain (alt_ref: agl), but "
             f"{terrain.label} has no height under {objs.size:,} of its {n:,} objects, e.g. "
             f"{ids[int(legs.obj[knots.leg[j]])]} at {_where(knots.lat[j], knots.lon[j])}")
    if knots.below.any():
        bad = np.flatnonzero(knots.below)
        objs = np.unique(legs.obj[knots.leg[bad]])
        j = int(bad[0])
        _err(ctx.errors, (*base, "alt_m"), f"{objs.size:,} of the raid's {n:,} objects fly below the "
             f"ground ({_ground_text(terrain)}), e.g. {ids[int(legs.obj[knots.leg[j]])]} at "
             f"{_where(knots.lat[j], knots.lon[j])}: {knots.msl[j]:,.0f} m above sea level, "
             f"the ground at {knots.ground[j]:,.0f} m", r.alt_m)
    counts = np.bincount(legs.obj[knots.leg], minlength=n).astype(np.int64)
    ac = sc.catalog.aircraft[r.type]
    return _part(n, ids, f"traffic.raids.{rid}", r.type, r.nation, ac, False, False,
                 bool(r.radar_on and ac.radar is not None), counts,
                 knots.t, knots.lat, knots.lon, knots.msl)


def _route_template(ctx: _Context, points: list[tuple[float, float]], speeds_kmh: Float64Array,
                    alt_m: float) -> _Knots:
    """Knots of one flight along a route at a constant height above sea level, from t = 0."""
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    az, _, dist = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dist = np.asarray(dist, dtype=np.float64)
    use = dist > 0
    speed = speeds_kmh / 3.6
    t0 = np.cumsum(np.r_[0.0, (dist / speed)[:-1]])
    m = int(use.sum())
    first = np.zeros(m, dtype=bool)
    first[0] = True
    legs = _Legs(obj=np.zeros(m, dtype=np.int64), first=first, lon0=lon[:-1][use], lat0=lat[:-1][use],
                 az=np.asarray(az)[use], dist=dist[use], t0=t0[use], speed=speed[use],
                 h0=np.full(m, alt_m), h1=np.full(m, alt_m), rate=np.ones(m),
                 agl=np.zeros(m, dtype=bool))
    return _sample(legs, ctx.terrain, ctx.terrain_max)


def _build_civil(ctx: _Context, cid: str, c: CivilTraffic, g: np.random.Generator) -> _Part:
    sc = ctx.scenario
    base: Path = ("traffic", "civil", cid)
    pts = [_point(w, sc) for w in c.route]
    points = [p for p in pts if p is not None]
    speeds = _leg_speeds_kmh(c.speed_kmh, c.route)
    directions = [(points, speeds)]
    if c.both_directions:  # the reverse flight keeps each leg's speed
        directions.append((points[::-1], speeds[::-1]))
    levels = _levels(c)
    times: list[Float64Array] = []
    alts: list[Float64Array] = []
    templates: list[_Knots] = []
    which: list[IntArray] = []
    for d, (route, leg_speeds) in enumerate(directions):
        tpl = _route_template(ctx, route, leg_speeds, c.alt_min_m)
        if d == 0 and tpl.below.any():
            j = int(np.argmax(np.where(tpl.below, tpl.ground, -np.inf)))
            _err(ctx.errors, (*base, "alt_min_m"), f"the airway passes over ground higher than alt_min_m "
                 f"({c.alt_min_m:,g} m): {tpl.ground[j]:,.0f} m at {_where(tpl.lat[j], tpl.lon[j])}",
                 c.alt_min_m)
        route_s = float(tpl.t[-1])
        window = sc.duration_s + route_s
        # the draws, in this order, per direction (docs/models/traffic.md)
        count = int(g.poisson(c.flights_per_hour * window / 3600.0))
        entry = np.sort(-route_s + window * g.random(count))
        level = (levels[g.integers(0, levels.size, count)] * FLIGHT_LEVEL_STEP_M).astype(np.float64)
        times.append(entry)
        alts.append(level)
        templates.append(tpl)
        which.append(np.full(count, d, dtype=np.int64))
    entry_all = np.concatenate(times)
    level_all = np.concatenate(alts)
    dir_all = np.concatenate(which)
    order = np.argsort(entry_all, kind="stable")
    entry_all, level_all, dir_all = entry_all[order], level_all[order], dir_all[order]
    n = entry_all.size
    sizes = np.array([tp.t.size for tp in templates], dtype=np.int64)
    counts = sizes[dir_all]
    # tile each flight's template: knot j of flight i is template[dir_i][j]
    obj = np.repeat(np.arange(n, dtype=np.int64), counts)
    within = np.arange(obj.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    stacked = {name: np.concatenate([getattr(tp, name) for tp in templates]) for name in ("t", "lat", "lon")}
    src = np.r_[0, np.cumsum(sizes)[:-1]][dir_all[obj]] + within
    t = entry_all[obj] + stacked["t"][src]
    ac = sc.catalog.aircraft[c.type]
    ids = [f"civil-{cid}-{i:04d}" for i in range(1, n + 1)]
    return _part(n, ids, f"traffic.civil.{cid}", c.type, c.nation, ac, c.flight_plan, False, False,
                 counts, t, stacked["lat"][src], stacked["lon"][src], level_all[obj])


def _assemble(parts: list[_Part]) -> Trajectories:
    def strings(name: str) -> StrArray:
        values = [v for p in parts for v in getattr(p, name)]
        return np.array(values, dtype=np.str_) if values else np.array([], dtype="<U1")

    counts = np.concatenate([p.counts for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    offset = np.r_[0, np.cumsum(counts)].astype(np.int64)
    t = np.concatenate([p.t for p in parts]) if parts else np.zeros(0)
    lat = np.concatenate([p.lat for p in parts]) if parts else np.zeros(0)
    lon = np.concatenate([p.lon for p in parts]) if parts else np.zeros(0)
    msl = np.concatenate([p.msl for p in parts]) if parts else np.zeros(0)
    ecef = geodetic_to_ecef(lat, lon, msl) if t.size else np.zeros((0, 3))
    n = counts.size
    return Trajectories(
        object_id=strings("ids"),
        source=strings("source"),
        type_id=strings("type_id"),
        nation=strings("nation"),
        rcs_m2=np.array([v for p in parts for v in p.rcs_m2], dtype=np.float64),
        flight_plan=np.array([v for p in parts for v in p.flight_plan], dtype=bool),
        iff=np.array([v for p in parts for v in p.iff], dtype=bool),
        radar_on=np.array([v for p in parts for v in p.radar_on], dtype=bool),
        start_s=t[offset[:-1]] if n else np.zeros(0),
        end_s=t[offset[1:] - 1] if n else np.zeros(0),
        knot_offset=offset,
        knot_time_s=t,
        knot_ecef_m=ecef,
        knot_alt_m=msl,
    )
