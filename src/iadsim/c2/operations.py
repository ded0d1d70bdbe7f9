"""The command-and-control pass of a run: each command node tracks its sensors' reports, exchanges
tracks over links, identifies, decides and steers interceptors, cycle by cycle.

It runs over the sensing pass's detections (``iadsim.sim.engine``): in the modelled situations the
decisions do not change what the radars see, so every arrangement of a comparison sees the same
detections (exact common random numbers) and only command and control differs. Model, choices and
simplifications: docs/models/c2.md; the reasons for the two passes: docs/architecture.md.

The pass is a clock loop over stages that share one state of arrays (``iadsim.c2.state``): per
step the scenario's link and node events and units going autonomous (``links``); at each node due
for a cycle, its radars' reports into its tracker and the fused picture (``pictures``),
identification (``identification``), decisions at deciding nodes (``decisions``: threats, hostile
designation, scrambles, engagements) and the picture sent on (``links``); kill draws and magazines
(``engagements``); the interceptors' flight and air-to-air shots (``interceptors``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.c2 import decisions, interceptors, links, pictures
from iadsim.c2.engagements import ENGAGED, ENGAGEMENT_SCHEMA, EngagementStage, resolve
from iadsim.c2.identification import identify
from iadsim.c2.network import airspace, build_network
from iadsim.c2.policing import Phase
from iadsim.c2.state import (
    C2State,
    Identity,
    NodeState,
    TrackerCache,
    TruthOnClock,
    decode,
    local_origin,
    to_geodetic,
)
from iadsim.engagement.air import AirToAir
from iadsim.scenario.collector import collector_paused
from iadsim.scenario.schema import Arrangement, Scenario, default_tracking_settings
from iadsim.sensors.radar import RadarSet
from iadsim.sim.random import Stage, stream
from iadsim.tracking.fusion import FusionConfig
from iadsim.tracking.tracker import TrackerConfig
from iadsim.world import World, compile_world

if TYPE_CHECKING:
    from iadsim.geo.terrain import Terrain

__all__ = ["C2_EVENT_SCHEMA", "INTERCEPTOR_SCHEMA", "PICTURE_SCHEMA", "C2Result", "Identity", "ObjectClock",
           "TrackerCache", "run_c2"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class ObjectClock:
    """The air objects as the C2 pass saw them, on its clock: arrays of K steps × O objects.

    Attributes:
        times_s: ``(K,)`` the clock. object_id: ``(O,)`` sorted.
        lat_deg, lon_deg: ``(K, O)`` where each object was (NaN: not in the air, or destroyed).
        killed_s: ``(O,)`` when each was destroyed (inf: not).
        nation, flight_plan, iff: ``(O,)`` each object's nation and whether it flew a flight plan
            or answered IFF.
    """

    times_s: Array
    object_id: NDArray[np.str_]
    lat_deg: Array
    lon_deg: Array
    killed_s: Array
    nation: NDArray[np.str_]
    flight_plan: NDArray[np.bool_]
    iff: NDArray[np.bool_]


@dataclass
class C2Result:
    """What the C2 pass produced.

    Attributes:
        arrangement: the arrangement run.
        picture: every node's recognised air picture, one row per track per node cycle.
        events: C2 events (identification, scrambles, intercepts, node and link events).
        interceptors: the interceptor pairs' positions per step.
        engagements: the engagement log (wartime rules with engagement settings; else empty).
        stats: counts (late reports, lost messages, ...; ``link_messages``: per link id the
            messages sent and lost, both directions).
        clock: the air objects on the pass's clock (what ``iadsim.analysis.outcomes`` measures).
        authority: airspace id → the node deciding there. wartime_rules: the arrangement's rules.
    """

    arrangement: str
    picture: pa.Table
    events: pa.Table
    interceptors: pa.Table
    engagements: pa.Table
    stats: dict[str, Any]
    clock: ObjectClock
    authority: dict[str, str] = field(default_factory=dict)
    wartime_rules: bool = False


PICTURE_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("node", pa.string()), ("track_id", pa.int64()), ("lat_deg", pa.float64()),
    ("lon_deg", pa.float64()), ("alt_m", pa.float64()), ("vel_east_mps", pa.float64()),
    ("vel_north_mps", pa.float64()), ("identity", pa.string()), ("sources", pa.int64()),
    ("object_id", pa.string()),
    # the 1-sigma ellipse of the horizontal position error (c2.pictures.horizontal_error_ellipse)
    ("error_major_m", pa.float64()), ("error_minor_m", pa.float64()), ("error_bearing_deg", pa.float64()),
])
C2_EVENT_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("kind", pa.string()), ("node", pa.string()), ("subject", pa.string()),
    ("track_id", pa.int64()), ("object_id", pa.string()), ("detail", pa.string()),
])
INTERCEPTOR_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("flight_id", pa.string()), ("unit", pa.string()),
    ("aircraft", pa.string()), ("lat_deg", pa.float64()), ("lon_deg", pa.float64()),
    ("alt_m", pa.float64()), ("phase", pa.string()),
])


def run_c2(scenario: Scenario, detections: pa.Table, truth: pa.Table, objects: pa.Table,
           radars: RadarSet, arrangement: Arrangement | str | None = None, *, replication: int = 0,
           terrain: Terrain | None = None, tracker_config: TrackerConfig | None = None,
           world: World | None = None, progress: Callable[[int, int], None] | None = None,
           tracker_cache: TrackerCache | None = None) -> C2Result:
    """Run command and control of one arrangement over a sensing pass.

    Args:
        scenario: the scenario (with ``c2`` settings and arrangement rules).
        detections, truth, objects: the engine's tables (``SensingResult``).
        radars: the engine's radars (``Engine.radars``: their ids, units, nations, aircraft types).
        arrangement: which arrangement; the scenario's if None.
        replication: the replication (seeds the links' random stream).
        terrain: the sensing pass's terrain (where fighters take off), None for a smooth earth.
        tracker_config: the node trackers' settings (default: the scenario's ``tracking:`` settings).
        world: the scenario compiled at its date (compiled here when engagements need it).
        progress: called with (steps done, steps in all).
        tracker_cache: shared by the C2 passes over one sensing pass (the arrangements of a
            comparison): a node tracker whose reports are the same as one an earlier pass ran reads
            that pass's record instead of running again. The result does not depend on it.

    Under an arrangement with wartime rules and with the scenario's ``engagement`` settings, the
    deciding nodes also engage hostile tracks with the fire units they may task
    (``iadsim.engagement``); a killed object's later detections are dropped and its truth ends.

    Raises:
        C2Error: the arrangement cannot be built at the scenario's date (see ``build_network``).
    """
    # the pass allocates many short-lived containers per cycle and no lasting reference cycles;
    # the cyclic collector would rescan the caller's large heap (the sensing pass's tables) each
    # time it runs: measured on the mixed raid, 0.3-0.5 s of a 3.4 s pass (docs/benchmarks.md)
    with collector_paused():
        return _run_c2(scenario, detections, truth, objects, radars, arrangement, replication=replication,
                       terrain=terrain, tracker_config=tracker_config, world=world, progress=progress,
                       tracker_cache=tracker_cache)


def _run_c2(scenario: Scenario, detections: pa.Table, truth: pa.Table, objects: pa.Table,
            radars: RadarSet, arrangement: Arrangement | str | None = None, *, replication: int = 0,
            terrain: Terrain | None = None, tracker_config: TrackerConfig | None = None,
            world: World | None = None, progress: Callable[[int, int], None] | None = None,
            tracker_cache: TrackerCache | None = None) -> C2Result:
    """The C2 pass of ``run_c2``, with the collector paused."""
    arr = Arrangement(arrangement or scenario.arrangement)
    net = build_network(scenario, arr, radars.sensor_id, radars.unit, radars.nation, radars.aircraft)
    if world is None and net.rules.wartime_rules and scenario.engagement is not None:
        world = compile_world(scenario, scenario.as_of)
    settings = net.settings
    tracking = scenario.tracking or default_tracking_settings()
    config = tracker_config or TrackerConfig.from_settings(tracking)
    config = dataclasses.replace(config, max_coast_s=min(config.max_coast_s, settings.max_coast_s))
    origin = local_origin(detections, scenario)
    longest = settings.clock_step_s
    step = min(longest, *net.cycle_s.values()) if net.cycle_s else longest
    times = np.arange(0.0, scenario.duration_s + 0.5 * step, step)
    truth_clock = TruthOnClock(truth, times, origin, terrain)
    obj_ids = decode(objects.column("object_id")) if objects.num_rows else np.zeros(0, dtype=np.str_)
    obj_row = {o: i for i, o in enumerate(obj_ids.tolist())}
    order = np.asarray([obj_row.get(o, -1) for o in truth_clock.object_id.tolist()], dtype=np.int64)

    def flag(name: str) -> NDArray[np.bool_]:
        if not objects.num_rows or name not in objects.column_names:
            return np.zeros(len(order), dtype=bool)
        values = np.asarray(objects.column(name).fill_null(False).to_numpy(zero_copy_only=False), bool)
        return np.where(order >= 0, values[np.maximum(order, 0)], False)

    nation = (np.where(order >= 0, decode(objects.column("nation"))[np.maximum(order, 0)], "")
              if objects.num_rows else np.full(len(order), "", dtype=np.str_))
    state = C2State(
        scenario=scenario, net=net, settings=settings, origin=origin, times_s=times, truth=truth_clock,
        flight_plan=flag("flight_plan"), iff=flag("iff"), object_nation=np.asarray(nation, dtype=np.str_),
        airspaces={a: airspace(scenario, a) for a in net.authority},
        rng_links=stream(scenario.seed, replication, Stage.c2),
        rng_engagement=stream(scenario.seed, replication, Stage.engagement),
        # relayed tracks with no sensor data behind them for longer than any report path takes
        # are echoes between nodes and are not fused (docs/models/c2.md)
        fusion=FusionConfig(process_noise_horizontal=tracking.process_noise_horizontal_m2ps3,
                            process_noise_vertical=tracking.process_noise_vertical_m2ps3,
                            gate_probability=tracking.fusion_gate_probability,
                            max_remote_data_age_s=settings.max_report_age_s),
        altitude_known_std_m=config.altitude_known_std_m, terrain=terrain,
        killed_s=np.full(len(truth_clock.object_id), np.inf))
    sensor_unit = dict(zip(radars.sensor_id.tolist(), radars.unit.tolist(), strict=True))
    state.nodes = pictures.node_states(state, detections, sensor_unit, config, tracker_cache)
    if world is not None and net.rules.wartime_rules and scenario.engagement is not None:
        types = (decode(objects.column("type"))[np.maximum(order, 0)] if objects.num_rows
                 else np.zeros(len(order), dtype=np.str_))
        cat = scenario.catalog.aircraft
        rcs = np.asarray([cat[t].rcs_m2 if t in cat and cat[t].rcs_m2 else 1.0 for t in types.tolist()])
        weights = scenario.engagement.type_weight
        weight = np.asarray([weights.get(cat[t].role, 1.0) if t in cat else 1.0 for t in types.tolist()])
        state.engage = EngagementStage(scenario, world, scenario.engagement, net, origin, state.airspaces,
                                       rcs, weight, terrain)
        state.air = AirToAir(scenario.engagement.fighter_missiles_per_pair,
                             scenario.engagement.air_to_air_launch_fraction)
        state.jammed_object, state.jammed_time_s = _jammed_detections(detections, truth_clock.object_id)
    _run(state, progress)
    picture = _picture_table(state)
    events = _events_table(state)
    engagements, stats = _engagement_results(state)
    tr = state.truth
    clock = ObjectClock(state.times_s, tr.object_id, tr.lat, tr.lon, state.killed_s, state.object_nation,
                        state.flight_plan, state.iff)
    return C2Result(str(net.arrangement), picture, events, _interceptor_table(state), engagements, stats,
                    clock, dict(net.authority), net.rules.wartime_rules)


def _run(state: C2State, progress: Callable[[int, int], None] | None) -> None:
    """The clock loop: events, node cycles, engagement resolution, interceptors."""
    timed = list(state.net.events)
    ev = 0
    n = len(state.times_s)
    for k, t in enumerate(state.times_s.tolist()):
        while ev < len(timed) and timed[ev][0] <= t:
            links.apply_event(state, *timed[ev])
            ev += 1
        links.go_autonomous(state, t)
        for name in state.net.nodes:
            node = state.nodes[name]
            if t + 1e-9 >= node.next_due_s:
                missed = math.floor((t - node.next_due_s) / node.cycle_s) + 1
                node.next_due_s += node.cycle_s * max(1, missed)
                if name in state.down:
                    pictures.skip_reports(state, node, t)
                else:
                    _cycle(state, node, t, k)
        if state.engage is not None:
            resolve(state, t)
        if k + 1 < n:
            interceptors.fly(state, k)
        if progress is not None:
            progress(k + 1, n)


def _cycle(state: C2State, node: NodeState, t: float, k: int) -> None:
    """One cycle of a node that is up: reports, received sets, picture, identity, decisions, send."""
    pictures.take_reports(state, node, t)
    links.deliver(state, node, t)
    picture, sources = pictures.fuse(state, node, t)
    obj = pictures.associate(state, picture, k)
    identity = identify(state, node, picture, t, k, obj)
    pictures.record(state, node.name, picture, t, identity, obj, sources)
    if node.name in state.net.authority.values():
        decisions.decide(state, node, picture, identity, t, k, obj)
    links.send(state, node, picture, identity, t)


# -- results ----------------------------------------------------------------------------------------


def _engagement_results(state: C2State) -> tuple[pa.Table, dict[str, Any]]:
    """The engagement log (surface-to-air, then air-to-air) and the pass's counters."""
    stats: dict[str, Any] = {**state.stats, "link_messages": dict(sorted(state.link_messages.items()))}
    engagements = ENGAGEMENT_SCHEMA.empty_table()
    if state.engage is None:
        return engagements, stats
    kills: dict[str, int] = {}
    fired = 0
    dry: list[str] = []
    engage = state.engage
    if engage.enabled:
        engagements = engage.table(state.truth.object_id)
        fu = engage.fu
        for e in engage.log.engagements:
            if e.killed:
                kills[fu.unit[e.fire_unit]] = kills.get(fu.unit[e.fire_unit], 0) + 1
        fired = int(fu.fired.sum())
        stats["engagements_refused"] = len(engage.log.refused)
        dry = sorted(u for u, d in zip(fu.unit, fu.dry.tolist(), strict=True) if d)
    air = _air_table(state)
    if air.num_rows:
        engagements = pa.concat_tables([engagements, air])
        for shot in state.air.shots if state.air is not None else []:
            if shot.killed:
                unit = state.interceptors.unit[shot.pair]
                kills[unit] = kills.get(unit, 0) + 1
    stats["missiles_expended"] = fired + air.num_rows
    stats["surface_to_air_missiles"] = fired
    stats["air_to_air_missiles"] = air.num_rows
    stats["kills_by_unit"] = dict(sorted(kills.items()))
    stats["fire_units_dry"] = dry
    return engagements, stats


def _air_table(state: C2State) -> pa.Table:
    """The air-to-air shots in the engagement log's layout."""
    if state.air is None or not state.air.shots:
        return ENGAGEMENT_SCHEMA.empty_table()
    ic = state.interceptors
    rows = [{"fire_unit": f"{ic.unit[s.pair]}/{ic.aircraft[s.pair]}/{s.pair}", "system": s.missile,
             "node": s.node, "track_id": s.track_id,
             "object_id": str(state.truth.object_id[s.target]), "order_s": s.launch_s,
             "launch_s": s.launch_s, "intercept_s": s.intercept_s, "assess_s": s.intercept_s,
             "missiles": 1, "pk": s.pk, "range_km": s.range_m / 1000.0, "killed": s.killed,
             "status": ENGAGED, "reason": None}
            for s in state.air.shots]
    return pa.Table.from_pylist(rows, schema=ENGAGEMENT_SCHEMA)


def _picture_table(state: C2State) -> pa.Table:
    if not state.picture_rows:
        return PICTURE_SCHEMA.empty_table()
    time_s, track_id, enu, known, vel_e, vel_n, identity, sources, obj, major, minor, bearing = (
        np.concatenate(c) for c in zip(*state.picture_rows, strict=True))
    nodes = np.concatenate([np.full(len(r[0]), n, dtype=object)
                            for r, n in zip(state.picture_rows, state.picture_nodes, strict=True)])
    lat, lon, alt = to_geodetic(enu, state.origin)
    names = np.asarray(Identity.names, dtype=object)[identity.astype(np.int64)]
    object_id = np.asarray([*state.truth.object_id.tolist(), None], dtype=object)  # −1 → None
    oid = object_id[np.where(obj >= 0, obj, len(object_id) - 1)]
    altitude = pa.array(np.where(known, alt, np.nan), mask=~(known & np.isfinite(alt)))
    return pa.table([time_s, nodes, track_id, lat, lon, altitude, vel_e, vel_n, names,
                     sources.astype(np.int64), pa.array(oid, pa.string()), major, minor, bearing],
                    schema=PICTURE_SCHEMA)


def _events_table(state: C2State) -> pa.Table:
    rows = sorted(state.events, key=lambda e: (e[0], e[1], e[2], e[3]))
    if not rows:
        return C2_EVENT_SCHEMA.empty_table()
    cols = list(zip(*rows, strict=True))
    return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, C2_EVENT_SCHEMA, strict=True)],
                    schema=C2_EVENT_SCHEMA)


def _interceptor_table(state: C2State) -> pa.Table:
    rows = state.interceptor_rows
    if not rows:
        return INTERCEPTOR_SCHEMA.empty_table()
    t = np.concatenate([np.full(len(r[1]), r[0]) for r in rows])
    j = np.concatenate([r[1] for r in rows]).tolist()
    lat, lon, alt = to_geodetic(np.concatenate([r[2] for r in rows]), state.origin)
    ic = state.interceptors
    names = {int(p): Phase(int(p)).name for p in Phase}
    phase = [names[p] for p in np.concatenate([r[3] for r in rows]).tolist()]
    return pa.table([t, [f"{ic.unit[i]}/{ic.aircraft[i]}/{i}" for i in j], [ic.unit[i] for i in j],
                     [ic.aircraft[i] for i in j], lat, lon, alt, phase], schema=INTERCEPTOR_SCHEMA)


def _jammed_detections(detections: pa.Table,
                       object_id: NDArray[np.str_]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The detections made under jamming, in time order: which truth object (index) and when."""
    none = (np.zeros(0, dtype=np.int64), np.zeros(0))
    if not detections.num_rows or "jammed" not in detections.column_names:
        return none
    jammed = np.asarray(detections.column("jammed").fill_null(False).to_numpy(zero_copy_only=False), bool)
    if not jammed.any():
        return none
    oid = decode(detections.column("object_id"))[jammed]
    t = np.asarray(detections.column("time_s").to_numpy()[jammed], dtype=np.float64)
    at = np.minimum(np.searchsorted(object_id, oid), max(len(object_id) - 1, 0))  # object ids sorted
    known = (len(object_id) > 0) & (object_id[at] == oid) if len(object_id) else np.zeros(len(oid), bool)
    order = np.argsort(t[known], kind="stable")
    return at[known][order].astype(np.int64), t[known][order]
