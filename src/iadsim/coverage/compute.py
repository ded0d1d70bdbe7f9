"""Static coverage: where the system detects and can engage, by altitude layer and target RCS.

For each ground radar of the compiled World, on every grid cell within its reach and at every
altitude layer: line of sight (smooth effective earth, or terrain via the viewshed kernel),
instrumented range, altitude ceiling and elevation limits, then the Swerling 1 detection
probability for each RCS class with the engine's clutter loss near the ground
(``iadsim.sensors.detection``, the one detection model). Radars combine as independent looks only
where they differ in kind: identical radars (one type, one site) are one look, as in the engine
(``iadsim.sim.radars``); the others combine as Pd = 1 − Π(1 − Pdᵢ), per nation and for the joint
system. A fire unit can engage a cell, for a target of the RCS class's speed flying at a given
aspect to the unit (approaching, crossing, receding or a heading in degrees), when a launch at the
target there lies inside its missile's launch acceptability region (``iadsim.engagement.lar``: the
region's edges at the target's height above the unit, speed and aspect), its fire-control radar
has line of sight, and that radar detects the target with Pd ≥ the threshold. Depth is the number
of such fire units. See docs/models/coverage.md.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iadsim.coverage.grid import CoverageGrid
from iadsim.coverage.viewsheds import SiteViewsheds, shared_viewsheds
from iadsim.engagement.lar import Aspect, LaunchRegion, launch_region
from iadsim.geo.radar_geometry import (
    EARTH_RADIUS_M,
    STANDARD_K,
    horizon_distance_m,
    slant_range_and_elevation,
)
from iadsim.scenario.schema import Scenario, SensingSettings, default_sensing_settings
from iadsim.sensors.detection import (
    clutter_snr_factor,
    detection_probability,
    detection_range_m,
)
from iadsim.sensors.radar import AIR_SURVEILLANCE_ROLES
from iadsim.world import World

__all__ = [
    "ALL_ASPECTS",
    "ANY_ASPECT",
    "JOINT",
    "AltitudeReference",
    "Coverage",
    "CoverageError",
    "aspect_degrees",
    "compute_coverage",
    "launch_regions",
    "sensor_coverage",
]

ALL_ASPECTS = tuple(a.value for a in Aspect)
"""The default aspects of coverage: approaching, crossing, receding."""

ANY_ASPECT = "any (kill-zone range)"
"""The one aspect of coverage computed without launch regions: engageable wherever the target lies
inside the missile's slant-range and altitude limits, whatever its heading and speed."""

JOINT = "joint"
"""The group name of the whole system (every nation's sensors and fire units)."""

_PD_FLOOR = 1e-3
"""Cells where even the largest RCS class is seen with Pd below this are skipped: they cannot
change a combined Pd by more than 0.001 per radar."""

_AIR_ROLES = tuple(r for r in AIR_SURVEILLANCE_ROLES if r != "airborne")
"""Ground radar roles that search for aircraft: the engine's (``AIR_SURVEILLANCE_ROLES``), so that
both draw one air picture. Fire-control radars track what they are cued on and count for
engagement only; ballistic-missile early-warning radars do not see aircraft; airborne radars are
on their platforms, not at their bases."""


class CoverageError(Exception):
    """A coverage request that cannot be computed as asked (message says why)."""


def aspect_degrees(aspect: str) -> float:
    """The aspect in degrees of a name (approaching, crossing, receding) or a number of degrees
    (0 approaching … 180 receding); ValueError for anything else."""
    text = aspect.strip().lower()
    if text in ALL_ASPECTS:
        return Aspect(text).degrees
    try:
        value = float(text.removesuffix("deg").removesuffix("°"))
    except ValueError:
        raise ValueError(f"'{aspect}' is not an aspect: give approaching, crossing, receding or a "
                         "heading relative to the line to the fire unit in degrees (0-180)") from None
    if not 0.0 <= value <= 180.0:
        raise ValueError(f"an aspect in degrees lies in 0-180 (0 approaching, 180 receding), "
                         f"got {value:g}")
    return value


def launch_regions(scenario: Scenario) -> dict[str, LaunchRegion]:
    """The launch acceptability region of each SAM system's missile, by system id (a system whose
    missile has no ``max_speed_mps`` has none: its fire units are left out of engagement coverage,
    with a note)."""
    cat = scenario.catalog
    out = {}
    for sid, sam in cat.sam_systems.items():
        missile = cat.missiles.get(sam.missile)
        if missile is not None and missile.max_speed_mps is not None:
            out[sid] = launch_region(missile)
    return out


class AltitudeReference(enum.StrEnum):
    agl = "agl"
    msl = "msl"


@dataclass(frozen=True)
class Coverage:
    """Coverage grids of one scenario at one date.

    ``pd[group]`` is float32 (n_rcs, n_layers, rows, cols), the combined detection probability;
    ``depth[group]`` is int16 (n_aspects, n_rcs, n_layers, rows, cols), the number of fire units
    that can engage a target of each RCS class flying at its ``target_speed_mps`` with each of
    ``aspects`` (``ANY_ASPECT`` alone when computed without launch regions).
    Groups are the nations present and ``joint``; ``world`` is the compiled scenario covered.
    """

    grid: CoverageGrid
    as_of: dt.date
    layers_m: NDArray[np.float64]
    altitude_reference: AltitudeReference
    rcs_names: tuple[str, ...]
    rcs_m2: NDArray[np.float64]
    groups: tuple[str, ...]
    pd: dict[str, NDArray[np.float32]]
    depth: dict[str, NDArray[np.int16]]
    k: float
    pd_threshold: float
    terrain: str
    ground_m: NDArray[np.float32] | None
    below_ground: NDArray[np.bool_]
    n_sensors: int
    n_fire_units: int
    world: World = field(repr=False, compare=False)
    notes: tuple[str, ...] = field(default=())
    aspects: tuple[str, ...] = (ANY_ASPECT,)
    target_speed_mps: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def scenario_hash(self) -> str:
        """The hash of the scenario whose ``world`` this covers (``World.scenario_hash``)."""
        return self.world.scenario_hash

    def detected(self, group: str = JOINT) -> NDArray[np.bool_]:
        """Cells where the group's combined Pd reaches the threshold, (n_rcs, n_layers, rows, cols)."""
        return np.asarray((self.pd[group] >= self.pd_threshold) & ~self.below_ground[None])

    def engageable(self, group: str = JOINT) -> NDArray[np.bool_]:
        """Cells at least one of the group's fire units can engage,
        (n_aspects, n_rcs, n_layers, rows, cols)."""
        return np.asarray((self.depth[group] > 0) & ~self.below_ground[None, None])

    def aspect_label(self, a: int, rcs: int) -> str:
        """E.g. 'receding at 250 m/s' (or the kill-zone rule without launch regions)."""
        name = self.aspects[a]
        if name == ANY_ASPECT:
            return "any aspect (kill-zone range only)"
        name = name if name in ALL_ASPECTS else f"aspect {aspect_degrees(name):g}°"
        return f"{name} at {self.target_speed_mps[rcs]:,.0f} m/s"

    def layer_label(self, i: int) -> str:
        """E.g. '100 m AGL'."""
        return f"{self.layers_m[i]:,.0f} m {self.altitude_reference.value.upper()}"


Progress = Callable[[int, int], None]


def _group_of(world: World, unit_index: NDArray[np.int64]) -> NDArray[np.str_]:
    return np.asarray(world.unit_nation[unit_index]) if len(unit_index) else np.zeros(0, dtype=np.str_)


def _ground_distance(grid: CoverageGrid, window: tuple[slice, slice], lat_deg: float,
                     lon_deg: float) -> NDArray[np.float64]:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    site = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    chord = np.linalg.norm(grid.unit_vectors[window] - site, axis=-1)
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)))


def compute_coverage(world: World, grid: CoverageGrid, layers_m: Sequence[float],
                     rcs: dict[str, float], *, altitude_reference: str = "agl",
                     k: float = STANDARD_K, ground_m: NDArray[np.float32] | None = None,
                     terrain: str = "none: smooth earth", pd_threshold: float = 0.5,
                     pfa: float | None = None, sensing: SensingSettings | None = None,
                     progress: Progress | None = None,
                     regions: Mapping[str, LaunchRegion] | None = None,
                     aspects: Sequence[str] = ALL_ASPECTS,
                     target_speed_mps: Mapping[str, float] | None = None) -> Coverage:
    """Detection and engagement coverage of a compiled World on a grid.

    Args:
        world: the scenario compiled at a date (``iadsim.compile_world``).
        grid: the coverage grid.
        layers_m: target altitudes in metres, above ground (``agl``) or sea level (``msl``).
        rcs: target classes, name → RCS in m².
        altitude_reference: ``agl`` or ``msl``.
        k: effective-earth-radius factor (4/3 standard refraction).
        ground_m: ground heights on the grid (rows, cols), metres above sea level; None for a
            smooth earth at sea level. With terrain, line of sight uses the viewshed kernel.
        terrain: a description of the terrain for outputs.
        pd_threshold: Pd at which a cell counts as detected, and the fire-control radar's Pd
            needed to engage.
        pfa: false-alarm probability of a radar type that gives none (default: the sensing
            settings').
        sensing: the sensing model's numbers, as the engine uses them (reference Pd, false-alarm
            probability, instrumented range and clutter height of a radar type that gives none);
            default ``default_sensing_settings()``.
        progress: called with (done, total) after each radar and fire unit.
        regions: SAM system id → its missile's launch acceptability region (``launch_regions``).
            None: engagement by the kill zone's range and altitude limits alone, whatever the
            target's heading and speed (one aspect, ``ANY_ASPECT``).
        aspects: with ``regions``, the target's aspects to each fire unit: names
            (approaching, crossing, receding) or degrees (0-180).
        target_speed_mps: with ``regions``, the target speed of each RCS class, m/s.

    Raises:
        CoverageError: for altitudes below ground or bad parameters.
    """
    alt_ref = AltitudeReference(altitude_reference)
    layers = np.asarray(sorted(float(a) for a in layers_m), dtype=np.float64)
    if layers.size == 0:
        raise CoverageError("give at least one altitude layer")
    if not rcs:
        raise CoverageError("give at least one RCS class")
    if alt_ref is AltitudeReference.agl and (layers < 0).any():
        raise CoverageError(f"altitudes above ground must be ≥ 0 m, got {layers.min():g} m")
    if not 0.0 < pd_threshold < 1.0:
        raise CoverageError(f"the Pd threshold must lie between 0 and 1, got {pd_threshold}")
    rcs_names = tuple(rcs)
    rcs_m2 = np.asarray([rcs[n] for n in rcs_names], dtype=np.float64)
    if (rcs_m2 <= 0).any():
        raise CoverageError("RCS values must be positive")
    if regions is None:
        aspect_names: tuple[str, ...] = (ANY_ASPECT,)
        aspect_deg = np.zeros(1)
        speeds = np.zeros(len(rcs_names))
    else:
        aspect_names = tuple(dict.fromkeys(a.strip().lower() for a in aspects))
        if not aspect_names:
            raise CoverageError("give at least one aspect (approaching, crossing, receding or degrees)")
        try:
            aspect_deg = np.asarray([aspect_degrees(a) for a in aspect_names])
        except ValueError as exc:
            raise CoverageError(str(exc)) from None
        given = dict(target_speed_mps or {})
        missing = [n for n in rcs_names if n not in given]
        if missing:
            raise CoverageError(f"no target speed for the RCS class(es) {', '.join(missing)}: give "
                                "one (--target-speed) or set speed_mps in the catalog's rcs_classes")
        speeds = np.asarray([float(given[n]) for n in rcs_names])
        if not np.all(np.isfinite(speeds) & (speeds >= 0.0)):
            raise CoverageError(f"target speeds must be non-negative m/s, got {speeds.tolist()}")

    rows, cols = grid.shape
    shape = (len(rcs_names), len(layers), rows, cols)
    # target height above sea (smooth earth: the surface is sea level) and above ground per layer
    ground = None if ground_m is None else np.asarray(ground_m, dtype=np.float32)
    if ground is None:
        target_asl = np.broadcast_to(layers[:, None, None], (len(layers), rows, cols))
        below = np.zeros((len(layers), rows, cols), dtype=bool)
        if alt_ref is AltitudeReference.msl and (layers < 0).any():
            raise CoverageError("with a smooth earth at sea level, altitudes must be ≥ 0 m")
    else:
        if ground.shape != grid.shape:
            raise CoverageError(f"ground heights {ground.shape} do not match the grid {grid.shape}")
        if alt_ref is AltitudeReference.agl:
            target_asl = ground[None] + layers[:, None, None]
            below = np.zeros((len(layers), rows, cols), dtype=bool)
        else:
            target_asl = np.broadcast_to(layers[:, None, None], (len(layers), rows, cols))
            below = layers[:, None, None] < ground[None]
            for i, layer in enumerate(layers):
                if below[i][grid.in_area].all():
                    raise CoverageError(
                        f"the layer at {layer:g} m above sea level lies below ground everywhere "
                        "in the area; use higher altitudes or --alt-ref agl")
    terrain_los = shared_viewsheds(ground, grid, k) if ground is not None else None

    groups = (*tuple(sorted(set(world.unit_nation.tolist()))), JOINT)
    log_miss = {g: np.zeros(shape, dtype=np.float32) for g in groups}
    depth = {g: np.zeros((len(aspect_names), *shape), dtype=np.int16) for g in groups}

    sensors = world.sensors
    use = np.isin(sensors.role, _AIR_ROLES) & np.isfinite(sensors.detection_range_m)
    sensor_idx = np.flatnonzero(use)
    fire = world.fire_units
    total = len(sensor_idx) + len(fire)
    done = 0
    sensor_groups = _group_of(world, sensors.unit_index)
    fire_groups = _group_of(world, fire.unit_index)

    st = sensing or default_sensing_settings()
    default_pfa = st.default_false_alarm_probability if pfa is None else pfa
    view = _SiteView(grid, ground, terrain_los, target_asl, below, k)
    # identical radars at one site are one look (docs/models/detection.md, "Several radars"):
    # each group is computed once and counted once
    for s, copies in _identical(sensor_idx, sensor_groups, sensors.lat_deg, sensors.lon_deg,
                                sensors.radar_type, sensors.antenna_height_m):
        ref_pd = (sensors.reference_pd[s] if np.isfinite(sensors.reference_pd[s])
                  else st.default_reference_pd)
        s_pfa = (float(sensors.false_alarm_probability[s])
                 if np.isfinite(sensors.false_alarm_probability[s]) else default_pfa)
        reach = float(detection_range_m(_PD_FLOOR, rcs_m2.max(), sensors.detection_range_m[s],
                                        sensors.reference_rcs_m2[s], ref_pd, s_pfa))
        instrumented = (float(sensors.instrumented_range_m[s])
                        if np.isfinite(sensors.instrumented_range_m[s])
                        else float(sensors.detection_range_m[s]) * st.default_instrumented_range_factor)
        reach = min(reach, instrumented)
        clutter_height = (float(sensors.clutter_height_m[s])
                          if np.isfinite(sensors.clutter_height_m[s]) else st.default_clutter_height_m)
        seen = view.from_site(float(sensors.lat_deg[s]), float(sensors.lon_deg[s]),
                              float(np.nan_to_num(sensors.antenna_height_m[s])), reach,
                              horizon_limited=True)
        done += copies
        if seen is not None:
            ok = seen.in_view & (seen.ground_distance[None] <= reach)
            if np.isfinite(sensors.max_altitude_m[s]):
                ok &= seen.target_asl <= sensors.max_altitude_m[s]
            if np.isfinite(sensors.min_elevation_rad[s]):
                ok &= seen.elevation >= sensors.min_elevation_rad[s]
            if np.isfinite(sensors.max_elevation_rad[s]):
                ok &= seen.elevation <= sensors.max_elevation_rad[s]
            nation = str(sensor_groups[s])
            clutter = clutter_snr_factor(seen.target_agl, sensors.clutter_loss_db[s], clutter_height)
            for i, sigma in enumerate(rcs_m2):
                pd = detection_probability(seen.slant, sigma, sensors.detection_range_m[s],
                                           sensors.reference_rcs_m2[s], ref_pd, s_pfa, clutter)
                miss = np.where(ok, np.log1p(-pd), 0.0).astype(np.float32)
                for g in (nation, JOINT):
                    log_miss[g][(i, slice(None), *seen.window)] += miss
        if progress:
            progress(done, total)

    fire_lat = world.unit_lat_deg[fire.unit_index] if len(fire) else np.zeros(0)
    fire_lon = world.unit_lon_deg[fire.unit_index] if len(fire) else np.zeros(0)
    no_region: set[str] = set()
    for f, copies in _identical(np.arange(len(fire)), fire_groups, fire_lat, fire_lon, fire.system):
        region = regions.get(str(fire.system[f])) if regions is not None else None
        done += copies
        if regions is not None and region is None:
            no_region.add(str(fire.system[f]))
            if progress:
                progress(done, total)
            continue
        max_range = float(fire.max_range_m[f])
        reach = region.max_far_m() if region is not None else max_range
        seen = view.from_site(float(fire_lat[f]), float(fire_lon[f]),
                              float(np.nan_to_num(fire.fcr_antenna_height_m[f])), reach,
                              horizon_limited=False)
        if seen is not None:
            ok = seen.in_view.copy()
            if np.isfinite(fire.min_altitude_m[f]):
                ok &= seen.target_agl >= fire.min_altitude_m[f]
            if np.isfinite(fire.max_altitude_m[f]):
                ok &= seen.target_asl <= fire.max_altitude_m[f]
            if region is None:
                ok &= seen.slant <= max_range
                if np.isfinite(fire.min_range_m[f]):
                    ok &= seen.slant >= fire.min_range_m[f]
            else:
                # the target's height above the unit's level, as in the engine: its height above
                # sea less the site's. (The engine measures along the unit's vertical and adds the
                # earth's drop, which gives this same height; adding the drop here too counted it
                # twice and cut every region short near its missile's ceiling.)
                above = np.asarray(seen.target_asl - seen.site_asl, dtype=np.float64)
                distance = np.broadcast_to(seen.ground_distance[None], above.shape)
            nation = str(fire_groups[f])
            has_fcr_model = np.isfinite(fire.fcr_detection_range_m[f])
            for i, sigma in enumerate(rcs_m2):
                can = ok
                if has_fcr_model:
                    ref_pd = (fire.fcr_reference_pd[f] if np.isfinite(fire.fcr_reference_pd[f])
                              else 0.5)
                    pd = detection_probability(seen.slant, sigma, fire.fcr_detection_range_m[f],
                                               fire.fcr_reference_rcs_m2[f], ref_pd, default_pfa)
                    can = ok & (pd >= pd_threshold)
                for a, degrees in enumerate(aspect_deg):
                    inside = can
                    if region is not None:
                        inside = can & region.contains(distance, above, speeds[i], degrees)
                    add = inside.astype(np.int16) * np.int16(copies)
                    for g in (nation, JOINT):
                        depth[g][(a, i, slice(None), *seen.window)] += add
        if progress:
            progress(done, total)

    pd_out = {g: (-np.expm1(log_miss[g])).astype(np.float32) for g in groups}
    notes = []
    if view.smooth_fallbacks:
        notes.append(f"{view.smooth_fallbacks} sites outside the grid used the smooth-earth horizon "
                     "instead of terrain line of sight")
    if no_region:
        notes.append(f"fire units of {', '.join(sorted(no_region))} are left out of engagement "
                     "coverage: their missile has no max_speed_mps, so no launch region")
    skipped = int(np.count_nonzero(~use))
    if skipped:
        notes.append(f"{skipped} ground radars are not air-surveillance radars or have no detection "
                     "range in the data and are left out (e.g. ballistic-missile early warning)")
    return Coverage(grid=grid, as_of=world.as_of, layers_m=layers, altitude_reference=alt_ref,
                    rcs_names=rcs_names, rcs_m2=rcs_m2, groups=groups, pd=pd_out, depth=depth, k=k,
                    pd_threshold=pd_threshold, terrain=terrain, ground_m=ground, below_ground=below,
                    n_sensors=len(sensor_idx), n_fire_units=len(fire),
                    world=world, notes=tuple(notes), aspects=aspect_names,
                    target_speed_mps=speeds)


def _identical(indices: NDArray[np.int64], *columns: NDArray[np.generic],
               ) -> list[tuple[int, int]]:
    """(first index, number of copies) of rows of ``indices`` equal in every column: the radars or
    fire units of one type at one site, which the model treats alike, are computed once."""
    seen: dict[tuple[object, ...], list[int]] = {}
    for i in indices:
        # NaN (e.g. an antenna height not given) must match NaN: it is not equal to itself
        key = tuple(None if v != v else v for v in (np.asarray(c)[i].item() for c in columns))
        seen.setdefault(key, []).append(int(i))
    return [(rows[0], len(rows)) for rows in seen.values()]


def sensor_coverage(world: World, grid: CoverageGrid, sensor_index: int,
                    layers_m: Sequence[float], rcs: dict[str, float],
                    **options: Any) -> Coverage:
    """Coverage of one ground radar alone (``world.sensors`` row ``sensor_index``): its ``pd``
    is that radar's detection probability; no fire units. Options as ``compute_coverage``."""
    if not 0 <= sensor_index < len(world.sensors):
        raise CoverageError(f"no ground radar {sensor_index}; the World has {len(world.sensors)}")
    alone = world.select(sensors=[sensor_index], fire_units=[])
    return compute_coverage(alone, grid, layers_m, rcs, **options)


@dataclass(frozen=True)
class _Seen:
    """Geometry from one site to the cells of its window, per layer: (n_layers, rows, cols)."""

    window: tuple[slice, slice]
    site_asl: float
    ground_distance: NDArray[np.float64]
    slant: NDArray[np.float64]
    elevation: NDArray[np.float64]
    target_asl: NDArray[np.float64]
    target_agl: NDArray[np.float64]
    in_view: NDArray[np.bool_]


class _SiteView:
    """Line of sight and geometry from radar sites to the grid, shared by radars and fire units."""

    def __init__(self, grid: CoverageGrid, ground: NDArray[np.float32] | None,
                 terrain: SiteViewsheds | None, target_asl: NDArray[np.float64],
                 below: NDArray[np.bool_], k: float) -> None:
        self.grid, self.ground, self.terrain, self.k = grid, ground, terrain, k
        self.target_asl, self.below = target_asl, below
        self.max_target = float(np.max(target_asl)) if target_asl.size else 0.0
        self.smooth_fallbacks = 0

    def from_site(self, lat: float, lon: float, antenna_m: float, reach_m: float,
                  horizon_limited: bool) -> _Seen | None:
        """The cells within ``reach_m`` of the site and what it sees of them, or None if none.

        ``horizon_limited`` shrinks the reach to the smooth-earth horizon of the highest layer
        first (for radars, whose reach can exceed it; a missile's cannot usefully).
        """
        grid, ground = self.grid, self.ground
        rows, cols = grid.shape
        row, col = grid.index_of(lon, lat)
        inside = 0 <= row < rows and 0 <= col < cols
        radar_asl = antenna_m + (float(ground[row, col]) if ground is not None and inside else 0.0)
        if horizon_limited:
            reach_m = min(reach_m, float(horizon_distance_m(radar_asl, self.max_target, self.k)))
        minvis = None
        if self.terrain is not None and inside:
            window, minvis = self.terrain.min_visible(row, col, antenna_m, reach_m)
        else:
            if self.terrain is not None:
                self.smooth_fallbacks += 1
            window = grid.window(row, col, reach_m)
        if window[0].start >= window[0].stop or window[1].start >= window[1].stop:
            return None
        d = _ground_distance(grid, window, lat, lon)
        t_asl = self.target_asl[(slice(None), *window)]
        t_agl = t_asl - (ground[window][None] if ground is not None else 0.0)
        slant, elevation = slant_range_and_elevation(d[None], radar_asl, t_asl, self.k)
        in_view = ~self.below[(slice(None), *window)]
        if minvis is not None:
            in_view &= t_agl >= minvis[None]
        else:
            in_view &= d[None] <= horizon_distance_m(radar_asl, t_asl, self.k)
        return _Seen(window, radar_asl - antenna_m, d, slant, elevation, t_asl, t_agl, in_view)
