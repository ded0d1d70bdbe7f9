"""Compiling a scenario at a date into a World: a struct of numpy arrays in SI units and ECEF.

Rows are units in service at the date that have a known place (units no public source locates
are counted in ``unplaced`` and left out of the geometry). Ground sensors are the radars that
units hold as equipment, each command system's radars (a regiment's command post and its
surveillance radar) and each fire unit's own fire-control and acquisition radars; a fire unit is a
battalion or battery holding a surface-to-air missile system.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from iadsim.geo import geodetic_to_ecef
from iadsim.scenario.dates import DateLike, as_date
from iadsim.scenario.schema import Scenario

__all__ = ["AirBases", "CommandNodes", "FireUnits", "Sensors", "World", "compile_world",
           "scenario_hash", "scenario_json"]

KM = 1000.0

_T = TypeVar("_T", "Sensors", "FireUnits")


def scenario_json(scenario: Scenario) -> str:
    """The scenario's canonical JSON: what ``scenario_hash`` hashes, and what
    ``Scenario.model_validate_json`` reads back into the same scenario (a run folder's
    ``scenario.json``).

    Fields in the schema's order and mappings in the scenario's order, no spaces. The order is kept,
    not sorted, because it is part of what a run does: units, radars and objects become array rows
    in that order, and random streams are drawn in it; and the report lists them in it.
    """
    return json.dumps(scenario.model_dump(mode="json", by_alias=True), separators=(",", ":"),
                      ensure_ascii=False)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON (``scenario_json``): scenarios with equal fields in
    the same order give equal hashes."""
    return hashlib.sha256(scenario_json(scenario).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sensors:
    """Ground radars: one row per radar (``count`` copies of a type at a unit are ``count`` rows).

    Arrays of N; ``ecef_m`` is ``(N, 3)`` at the antenna; NaN where a parameter is not given.
    """

    unit_index: NDArray[np.int64]
    radar_type: NDArray[np.str_]
    role: NDArray[np.str_]
    organic: NDArray[np.bool_]
    ecef_m: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    antenna_height_m: NDArray[np.float64]
    detection_range_m: NDArray[np.float64]
    reference_rcs_m2: NDArray[np.float64]
    reference_pd: NDArray[np.float64]
    max_altitude_m: NDArray[np.float64]
    instrumented_range_m: NDArray[np.float64]
    min_elevation_rad: NDArray[np.float64]
    max_elevation_rad: NDArray[np.float64]
    clutter_loss_db: NDArray[np.float64]
    clutter_height_m: NDArray[np.float64]
    false_alarm_probability: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.unit_index)


@dataclass(frozen=True)
class FireUnits:
    """Surface-to-air fire units (battalions or batteries): arrays of N, ranges in metres."""

    unit_index: NDArray[np.int64]
    system: NDArray[np.str_]
    launchers: NDArray[np.int64]
    fire_channels: NDArray[np.float64]
    missiles_per_launcher: NDArray[np.float64]
    max_range_m: NDArray[np.float64]
    min_range_m: NDArray[np.float64]
    min_altitude_m: NDArray[np.float64]
    max_altitude_m: NDArray[np.float64]
    ecef_m: NDArray[np.float64]
    fcr_antenna_height_m: NDArray[np.float64]
    fcr_detection_range_m: NDArray[np.float64]
    fcr_reference_rcs_m2: NDArray[np.float64]
    fcr_reference_pd: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.unit_index)


@dataclass(frozen=True)
class AirBases:
    """Air bases and air detachments with aircraft: one row per (unit, aircraft type), arrays of N."""

    unit_index: NDArray[np.int64]
    aircraft_type: NDArray[np.str_]
    count: NDArray[np.int64]
    ecef_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.unit_index)


@dataclass(frozen=True)
class CommandNodes:
    """Command nodes in service at the date, with their positions where a place is known."""

    node_id: NDArray[np.str_]
    nation: NDArray[np.str_]
    kind: NDArray[np.str_]
    superior: NDArray[np.str_]  # "" for none
    lat_deg: NDArray[np.float64]  # NaN where no place is given
    lon_deg: NDArray[np.float64]
    ecef_m: NDArray[np.float64]
    processing_delay_s: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.node_id)


@dataclass(frozen=True)
class World:
    """A scenario compiled at a date: units, ground sensors and fire units as arrays; ``scenario``
    is the scenario it was compiled from."""

    as_of: dt.date
    scenario: Scenario = field(repr=False, compare=False)
    unit_id: NDArray[np.str_]
    unit_nation: NDArray[np.str_]
    unit_kind: NDArray[np.str_]
    unit_lat_deg: NDArray[np.float64]
    unit_lon_deg: NDArray[np.float64]
    unit_ecef_m: NDArray[np.float64]
    sensors: Sensors
    fire_units: FireUnits
    air_bases: AirBases
    command_nodes: CommandNodes
    unplaced: tuple[str, ...]

    @functools.cached_property
    def scenario_hash(self) -> str:
        """``scenario_hash`` of the scenario, computed when first asked for: an evaluation of a
        sensitivity study compiles a World per point and never asks (the hash, a serialisation of
        the whole scenario, took 0.30 s of a 2.1 s study; docs/benchmarks.md)."""
        return scenario_hash(self.scenario)

    @property
    def n_units(self) -> int:
        return len(self.unit_id)

    def select(self, sensors: ArrayLike | None = None, fire_units: ArrayLike | None = None) -> World:
        """A World with only some ground radars and fire units (indices or boolean masks; None
        keeps all). Units stay, so unit indices remain valid."""
        def pick(table: _T, rows: ArrayLike | None) -> _T:
            if rows is None:
                return table
            index = np.asarray(rows)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = index.astype(np.int64)  # an empty list arrives as float
            return replace(table, **{f.name: getattr(table, f.name)[index] for f in fields(table)})

        return replace(self, sensors=pick(self.sensors, sensors),
                       fire_units=pick(self.fire_units, fire_units))


def _nan(value: float | int | None, scale: float = 1.0) -> float:
    return float("nan") if value is None else float(value) * scale


def compile_world(scenario: Scenario, as_of: DateLike | None = None) -> World:
    """Compile ``scenario`` at ``as_of`` (a date, an ISO string or a year; default: the scenario's
    date) into arrays. The date is not checked against the data's period (``check_data_period``)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"compile_world takes a loaded Scenario (iadsim.load_scenario), got {scenario!r}")
    day = as_date(as_of) if as_of is not None else scenario.as_of
    cat = scenario.catalog
    ids: list[str] = []
    nations: list[str] = []
    kinds: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    unplaced: list[str] = []
    sensor_rows: list[tuple[int, str, bool]] = []
    fire_rows: list[tuple[int, str, int]] = []
    for uid, unit in sorted(scenario.units.items()):
        if not unit.in_service.contains(day):
            continue
        if unit.place is None:
            unplaced.append(uid)
            continue
        place = scenario.places[unit.place]
        index = len(ids)
        ids.append(uid)
        nations.append(unit.nation)
        kinds.append(str(unit.kind))
        lats.append(place.lat_deg)
        lons.append(place.lon_deg)
        for item in unit.equipment:
            if not item.in_service.contains(day) or item.count == 0:
                continue
            if item.type in cat.radars:
                sensor_rows += [(index, item.type, False)] * item.count
            elif item.type in cat.command_systems:
                for post_radar in cat.command_systems[item.type].radars:
                    sensor_rows += [(index, post_radar, True)] * item.count
            elif item.type in cat.sam_systems:
                sam = cat.sam_systems[item.type]
                fire_rows.append((index, item.type, item.count))
                for radar in (sam.fire_control_radar, sam.acquisition_radar):
                    if radar is not None:
                        sensor_rows.append((index, radar, True))
    lat = np.asarray(lats, dtype=np.float64)
    lon = np.asarray(lons, dtype=np.float64)
    ground = geodetic_to_ecef(lat, lon, 0.0) if ids else np.zeros((0, 3))

    s_unit = np.asarray([r[0] for r in sensor_rows], dtype=np.int64)
    radars = [cat.radars[r[1]] for r in sensor_rows]
    height = np.asarray([_nan(r.antenna_height_m) for r in radars], dtype=np.float64)
    s_ecef = (geodetic_to_ecef(lat[s_unit], lon[s_unit], np.nan_to_num(height))
              if sensor_rows else np.zeros((0, 3)))
    sensors = Sensors(
        unit_index=s_unit,
        radar_type=np.asarray([r[1] for r in sensor_rows], dtype=np.str_),
        role=np.asarray([str(r.role) for r in radars], dtype=np.str_),
        organic=np.asarray([r[2] for r in sensor_rows], dtype=np.bool_),
        ecef_m=s_ecef,
        lat_deg=lat[s_unit] if sensor_rows else np.zeros(0),
        lon_deg=lon[s_unit] if sensor_rows else np.zeros(0),
        antenna_height_m=height,
        detection_range_m=np.asarray([_nan(r.detection_range_km, KM) for r in radars]),
        reference_rcs_m2=np.asarray([_nan(r.reference_rcs_m2) for r in radars]),
        reference_pd=np.asarray([_nan(r.reference_pd) for r in radars]),
        max_altitude_m=np.asarray([_nan(r.max_altitude_km, KM) for r in radars]),
        instrumented_range_m=np.asarray([_nan(r.instrumented_range_km, KM) for r in radars]),
        min_elevation_rad=np.radians([_nan(r.min_elevation_deg) for r in radars]),
        max_elevation_rad=np.radians([_nan(r.max_elevation_deg) for r in radars]),
        clutter_loss_db=np.asarray([_nan(r.clutter_loss_db) for r in radars], dtype=np.float64),
        clutter_height_m=np.asarray([_nan(r.clutter_height_m) for r in radars], dtype=np.float64),
        false_alarm_probability=np.asarray([_nan(r.false_alarm_probability) for r in radars],
                                           dtype=np.float64),
    )
    f_unit = np.asarray([r[0] for r in fire_rows], dtype=np.int64)
    systems = [cat.sam_systems[r[1]] for r in fire_rows]
    missiles = [cat.missiles[s.missile] for s in systems]
    fcrs = [cat.radars[s.fire_control_radar] if s.fire_control_radar else None for s in systems]
    fire_units = FireUnits(
        unit_index=f_unit,
        system=np.asarray([r[1] for r in fire_rows], dtype=np.str_),
        launchers=np.asarray([r[2] for r in fire_rows], dtype=np.int64),
        fire_channels=np.asarray([_nan(s.fire_channels) for s in systems]),
        missiles_per_launcher=np.asarray([_nan(s.missiles_per_launcher) for s in systems]),
        max_range_m=np.asarray([m.max_range_km * KM for m in missiles], dtype=np.float64),
        min_range_m=np.asarray([_nan(m.min_range_km, KM) for m in missiles]),
        min_altitude_m=np.asarray([_nan(m.min_altitude_m) for m in missiles]),
        max_altitude_m=np.asarray([_nan(m.max_altitude_km, KM) for m in missiles]),
        ecef_m=ground[f_unit] if fire_rows else np.zeros((0, 3)),
        fcr_antenna_height_m=np.asarray([_nan(r.antenna_height_m if r else None) for r in fcrs]),
        fcr_detection_range_m=np.asarray([_nan(r.detection_range_km if r else None, KM) for r in fcrs]),
        fcr_reference_rcs_m2=np.asarray([_nan(r.reference_rcs_m2 if r else None) for r in fcrs]),
        fcr_reference_pd=np.asarray([_nan(r.reference_pd if r else None) for r in fcrs]),
    )
    return World(
        as_of=day,
        scenario=scenario,
        unit_id=np.asarray(ids, dtype=np.str_),
        unit_nation=np.asarray(nations, dtype=np.str_),
        unit_kind=np.asarray(kinds, dtype=np.str_),
        unit_lat_deg=lat,
        unit_lon_deg=lon,
        unit_ecef_m=ground,
        sensors=sensors,
        fire_units=fire_units,
        air_bases=_air_bases(scenario, day, ids, ground),
        command_nodes=_command_nodes(scenario, day),
        unplaced=tuple(unplaced),
    )


def _air_bases(scenario: Scenario, day: dt.date, ids: list[str],
               ground: NDArray[np.float64]) -> AirBases:
    index = {uid: i for i, uid in enumerate(ids)}
    rows = []
    for uid in ids:
        unit = scenario.units[uid]
        counts: dict[str, int] = {}
        for item in unit.equipment:
            if item.type in scenario.catalog.aircraft and item.in_service.contains(day):
                counts[item.type] = counts.get(item.type, 0) + item.count
        rows += [(index[uid], t, n) for t, n in sorted(counts.items()) if n > 0]
    unit_index = np.asarray([r[0] for r in rows], dtype=np.int64)
    return AirBases(unit_index=unit_index,
                    aircraft_type=np.asarray([r[1] for r in rows], dtype=np.str_),
                    count=np.asarray([r[2] for r in rows], dtype=np.int64),
                    ecef_m=ground[unit_index] if rows else np.zeros((0, 3)))


def _command_nodes(scenario: Scenario, day: dt.date) -> CommandNodes:
    nodes = [(nid, n) for nid, n in sorted(scenario.command_nodes.items())
             if n.in_service.contains(day)]
    places = [scenario.places.get(n.place) if n.place else None for _, n in nodes]
    lat = np.asarray([p.lat_deg if p else np.nan for p in places], dtype=np.float64)
    lon = np.asarray([p.lon_deg if p else np.nan for p in places], dtype=np.float64)
    ecef = geodetic_to_ecef(np.nan_to_num(lat), np.nan_to_num(lon), 0.0) if nodes else np.zeros((0, 3))
    ecef[~np.isfinite(lat)] = np.nan
    return CommandNodes(
        node_id=np.asarray([nid for nid, _ in nodes], dtype=np.str_),
        nation=np.asarray([n.nation for _, n in nodes], dtype=np.str_),
        kind=np.asarray([str(n.kind) for _, n in nodes], dtype=np.str_),
        superior=np.asarray([n.superior or "" for _, n in nodes], dtype=np.str_),
        lat_deg=lat, lon_deg=lon, ecef_m=ecef,
        processing_delay_s=np.asarray([_nan(n.processing_delay_s) for _, n in nodes]))
