"""The engagement stage of the C2 pass: which fire units a deciding node may task, their readiness,
the defended assets and the threat weights, around ``plan_engagements`` and ``resolve_engagements``
(``iadsim.engagement``, which knows nothing of command and control). docs/models/engagement.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from iadsim.c2.network import C2Network
from iadsim.c2.readiness import time_to_act_s
from iadsim.engagement.engage import (
    EngagementLog,
    FireUnitTable,
    fire_unit_table,
    plan_engagements,
    resolve_engagements,
)
from iadsim.geo.frames import ecef_to_enu, enu_rotation, enu_rotations
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.scenario.schema import EngagementSettings, Scenario, UnitKind
from iadsim.world import World

if TYPE_CHECKING:
    from iadsim.c2.state import C2State
    from iadsim.geo.terrain import Terrain

__all__ = ["ENGAGED", "ENGAGEMENT_SCHEMA", "REFUSED", "EngagementStage", "resolve"]

Array = NDArray[np.float64]

ENGAGEMENT_SCHEMA = pa.schema([
    ("fire_unit", pa.string()), ("system", pa.string()), ("node", pa.string()), ("track_id", pa.int64()),
    ("object_id", pa.string()), ("order_s", pa.float64()), ("launch_s", pa.float64()),
    ("intercept_s", pa.float64()), ("assess_s", pa.float64()), ("missiles", pa.int64()),
    ("pk", pa.float64()), ("range_km", pa.float64()), ("killed", pa.bool_()),
    ("status", pa.string()), ("reason", pa.string()),
])
"""One row per engagement (``status`` ``engaged``) and per refused engagement (``refused``: a fire
unit held the track within its missile's maximum range, but the launch lay outside the launch
acceptability region; ``reason`` says why, and the launch, intercept, missile and kill columns are
empty). A fire unit, track and reason are recorded refused once, at the first cycle."""

ENGAGED, REFUSED = "engaged", "refused"

_AIR_BASE_KINDS = (UnitKind.air_base, UnitKind.air_detachment)


class EngagementStage:
    """Surface-to-air engagements during a C2 pass (wartime rules only).

    Args:
        scenario, world: the scenario and its World at the date (fire units, units, nodes).
        settings: the engagement settings. net: the C2 network (order paths, tasking rules).
        origin: the local frame's origin (lat, lon). airspaces: nation → airspace polygon.
        object_rcs_m2, object_weight: ``(O,)`` per truth object (pass order).
        terrain: the sensing pass's terrain (the units' ground heights), None for a smooth earth.
    """

    def __init__(self, scenario: Scenario, world: World, settings: EngagementSettings, net: C2Network,
                 origin: tuple[float, float], airspaces: dict[str, BaseGeometry],
                 object_rcs_m2: Array, object_weight: Array, terrain: Terrain | None = None) -> None:
        self.scenario, self.settings, self.net = scenario, settings, net
        fus = world.fire_units
        units = [str(world.unit_id[i]) for i in fus.unit_index.tolist()]
        self.enabled = len(units) > 0
        self.log = EngagementLog()
        self.object_rcs_m2, self.object_weight = object_rcs_m2, object_weight
        if not self.enabled:
            return
        lat = world.unit_lat_deg[fus.unit_index]
        lon = world.unit_lon_deg[fus.unit_index]
        # each unit at its fire-control radar's antenna: the ground (the sensing pass's terrain, sea
        # level on a smooth earth) plus the antenna's height, as coverage places it
        ground = np.nan_to_num(terrain.height_at(lat, lon)) if terrain is not None else np.zeros(len(lat))
        antenna = np.nan_to_num(np.asarray(fus.fcr_antenna_height_m, dtype=np.float64))
        position = ecef_to_enu(geodetic_to_ecef(lat, lon, ground + antenna), *origin)
        # each unit's vertical in the shared frame (the up rows of its own ENU rotation)
        up = enu_rotations(lat, lon)[:, 2, :] @ enu_rotation(*origin).T
        self.fu: FireUnitTable = fire_unit_table(
            scenario, units, [str(s) for s in fus.system.tolist()], fus.launchers, position,
            fus.fcr_detection_range_m, fus.fcr_reference_rcs_m2, fus.fcr_antenna_height_m, settings,
            up=up)
        # the airspaces each fire unit stands in (the deciding node tasks within its own)
        self.in_airspace = {a: np.asarray(shapely.contains_xy(g, lon, lat)) for a, g in airspaces.items()}
        self.fu_unit = np.asarray(units, dtype=np.str_)
        self.fu_nation = np.asarray(self.fu.nation, dtype=np.str_)
        self.fu_node = np.asarray([net.unit_node.get(u, "") for u in units], dtype=np.str_)
        self.ready_s = np.full(len(units), np.nan)
        self.act_s = np.asarray([time_to_act_s(scenario, u) or 0.0 for u in units])
        self.assets_m, self.asset_value = self._assets(world, origin, position)

    def _assets(self, world: World, origin: tuple[float, float], fire_units_m: Array) -> tuple[Array, Array]:
        """Defended assets: command nodes, air bases and the fire units themselves, with values."""
        values = self.settings.asset_value
        points, worth = [], []
        nodes = world.command_nodes
        ok = np.isfinite(nodes.lat_deg)
        if ok.any() and values.get("command_node", 0.0) > 0:
            points.append(ecef_to_enu(geodetic_to_ecef(nodes.lat_deg[ok], nodes.lon_deg[ok], 0.0), *origin))
            worth.append(np.full(int(ok.sum()), values["command_node"]))
        bases = np.isin(world.unit_kind, [k.value for k in _AIR_BASE_KINDS]) & np.isfinite(world.unit_lat_deg)
        if bases.any() and values.get("air_base", 0.0) > 0:
            points.append(ecef_to_enu(world.unit_ecef_m[bases], *origin))
            worth.append(np.full(int(bases.sum()), values["air_base"]))
        if values.get("fire_unit", 0.0) > 0:
            points.append(fire_units_m)
            worth.append(np.full(len(fire_units_m), values["fire_unit"]))
        if not points:
            return np.zeros((0, 3)), np.zeros(0)
        return np.concatenate(points), np.concatenate(worth)

    def tasked(self, node: str, cut: set[str], down: set[str], out: set[str]) -> tuple[np.ndarray, Array]:
        """Which fire units ``node`` may task now and the delay of an order to each, seconds: units of
        a nation it may task, standing in an airspace it decides for, not down or autonomous
        (``out``), whose own node is up and reachable over the links that are not cut."""
        zone = np.zeros(len(self.fu), dtype=bool)
        for a, m in self.net.authority.items():
            if m == node:
                zone |= self.in_airspace[a]
        mask = (zone & np.isin(self.fu_nation, list(self.net.may_task.get(node, ())))
                & ~np.isin(self.fu_unit, list(out)) & (self.fu_node != "")
                & ~np.isin(self.fu_node, list(down)))
        delay = np.full(len(self.fu), np.inf)
        for unit_node in np.unique(self.fu_node[mask]).tolist():  # the few nodes the units report to
            these = mask & (self.fu_node == unit_node)
            d = self.net.order_delay_s(node, unit_node, cut, down)
            if d is None:
                mask[these] = False
                continue
            if unit_node != node:
                d += self.net.processing_delay_s[unit_node]
            delay[these] = d + self.net.settings.sensor_report_latency_s
        return mask, delay

    def cycle(self, node: str, t: float, track_id: NDArray[np.int64], state: Array,
              target: NDArray[np.int64], truth_m: Array, truth_agl_m: Array, cut: set[str], down: set[str],
              out: set[str], jammed: NDArray[np.bool_] | None = None) -> list[int]:
        """A deciding node's cycle with hostile tracks: raise readiness, assign and launch.

        Args:
            track_id, state: ``(T,)``, ``(T, 6)`` the node's hostile tracks. target: ``(T,)`` the
                truth object each holds (−1 none). truth_m: ``(O, 3)`` all objects' true positions now;
                truth_agl_m: ``(O,)`` their heights above the ground (the fire-control radar's horizon).
            cut, down, out: cut links, nodes down, units down or autonomous.
            jammed: ``(T,)`` the track's target was seen under jamming lately (Pk × ``jammed_pk_factor``).
        """
        if not self.enabled or not len(track_id):
            return []
        tasked, delay = self.tasked(node, cut, down, out)
        # the first order raises the unit's readiness: it can launch once the state's time is over
        first = tasked & ~np.isfinite(self.ready_s)
        self.ready_s[first] = t + delay[first] + self.act_s[first]
        ready = tasked & (self.ready_s <= t + delay)
        held = target >= 0
        true_m = np.full((len(track_id), 3), np.nan)
        true_m[held] = truth_m[target[held]]
        held &= np.all(np.isfinite(true_m), axis=1)
        rcs = np.where(held, self.object_rcs_m2[np.maximum(target, 0)], 1.0)
        weight = np.where(target >= 0, self.object_weight[np.maximum(target, 0)], 1.0)
        tgt = np.where(held, target, -1)
        factor = np.ones(len(track_id))
        if jammed is not None:
            factor = np.where(jammed, self.settings.jammed_pk_factor, 1.0)
        # the radar horizon needs the height above the ground, not the shared frame's up coordinate
        # (which falls below zero a few hundred km from the frame's origin)
        agl = np.where(held, truth_agl_m[np.maximum(target, 0)], 0.0)
        return plan_engagements(self.fu, self.log, node, t, ready, np.where(np.isfinite(delay), delay, 0.0),
                                track_id, state, tgt, true_m, rcs, agl,
                                weight, self.assets_m, self.asset_value, self.settings, factor)

    def resolve(self, t: float, rng: np.random.Generator) -> tuple[list[int], list[tuple[float, str, int]]]:
        """Kill draws, assessments and reloads up to ``t`` (see ``resolve_engagements``)."""
        if not self.enabled:
            return [], []
        return resolve_engagements(self.fu, self.log, t, rng, self.settings)

    def table(self, object_id: NDArray[np.str_]) -> pa.Table:
        """The engagement log as a table (``ENGAGEMENT_SCHEMA``)."""
        rows: list[dict[str, Any]] = []
        for e in self.log.engagements:
            rows.append({"fire_unit": self.fu.unit[e.fire_unit], "system": self.fu.system[e.fire_unit],
                         "node": e.node, "track_id": e.track_id,
                         "object_id": str(object_id[e.target]) if e.target >= 0 else None,
                         "order_s": e.order_s, "launch_s": e.launch_s, "intercept_s": e.intercept_s,
                         "assess_s": e.assess_s, "missiles": e.missiles, "pk": e.pk,
                         "range_km": e.range_m / 1000.0, "killed": e.killed, "status": ENGAGED,
                         "reason": None})
        for r in self.log.refused:
            rows.append({"fire_unit": self.fu.unit[r.fire_unit], "system": self.fu.system[r.fire_unit],
                         "node": r.node, "track_id": r.track_id,
                         "object_id": str(object_id[r.target]) if r.target >= 0 else None,
                         "order_s": r.order_s, "launch_s": None, "intercept_s": None,
                         "assess_s": None, "missiles": 0, "pk": None, "range_km": r.range_m / 1000.0,
                         "killed": None, "status": REFUSED, "reason": r.reason.value})
        return pa.Table.from_pylist(rows, schema=ENGAGEMENT_SCHEMA)


def resolve(state: C2State, t: float) -> None:
    """Kill draws at intercept, freed channels, reloads up to ``t``; a killed object leaves the truth."""
    engage = state.engage
    assert engage is not None
    intercepted, magazine = engage.resolve(t, state.rng_engagement)
    for i in intercepted:
        e = engage.log.engagements[i]
        unit = engage.fu.unit[e.fire_unit]
        state.event(e.intercept_s, "kill" if e.killed else "miss", e.node, unit, e.track_id, e.target)
        if e.killed:
            state.kill(e.target, e.intercept_s)
    for when, kind, f in magazine:
        state.event(when, kind, "", engage.fu.unit[f])
