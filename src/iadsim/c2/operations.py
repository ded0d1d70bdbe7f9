"""The command-and-control pass of a run: each command node tracks its sensors' reports, exchanges
tracks over links, identifies, decides and steers interceptors, cycle by cycle.

It runs over the sensing pass's detections (``iadsim.sim.engine``): in the modelled situations the
decisions do not change what the radars see, so every arrangement of a comparison sees the same
detections (exact common random numbers) and only command and control differs. Model, choices and
simplifications: docs/models/c2.md; the reasons for the two passes: docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from iadsim.c2.engagements import ENGAGEMENT_SCHEMA, EngagementStage
from iadsim.c2.identification import correlated, horizontal_distances
from iadsim.c2.network import C2Network, airspace, build_network
from iadsim.c2.policing import Interceptors, Phase, intercept_time_s, step_interceptors
from iadsim.c2.readiness import time_to_act_s
from iadsim.engagement.air import AirToAir
from iadsim.engagement.missile import MissileProfile, missile_profile
from iadsim.geo.frames import ecef_to_enu, enu_to_ecef
from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.scenario.schema import AircraftRole, Arrangement, EventKind, Scenario, Side
from iadsim.sim.random import Stage, stream

if TYPE_CHECKING:
    from iadsim.geo.terrain import Terrain
    from iadsim.sim.engine import Engine
from iadsim.tracking.fusion import FusedPicture, FusionConfig, TrackSet
from iadsim.tracking.io import validate_detections
from iadsim.tracking.metrics import interpolate_truth
from iadsim.tracking.tracker import Scan, Tracker, TrackerConfig, _scans
from iadsim.world import World, compile_world

__all__ = ["C2Result", "Identity", "SensorTable", "run_c2"]

Array = NDArray[np.float64]

_FIGHTER_ROLES = (AircraftRole.fighter, AircraftRole.multirole)


class Identity:
    """Identity codes of picture tracks."""

    pending = 0
    friend = 1
    unknown = 2
    hostile = 3
    names = ("pending", "friend", "unknown", "hostile")


@dataclass(frozen=True)
class SensorTable:
    """The engine's radars: arrays of S (unit id for ground radars, aircraft type for airborne ones,
    else empty strings), and the engine's terrain (None: a smooth earth at sea level)."""

    sensor_id: NDArray[np.str_]
    unit: NDArray[np.str_]
    nation: NDArray[np.str_]
    aircraft: NDArray[np.str_]
    terrain: Terrain | None = None

    @classmethod
    def from_engine(cls, engine: Engine) -> SensorTable:
        """The radars of a prepared engine."""
        return cls(engine.radars.sensor_id, engine.radar_unit, engine.radars.nation, engine.radar_aircraft,
                   engine.terrain)


@dataclass
class C2Result:
    """What the C2 pass produced.

    Attributes:
        arrangement: the arrangement run.
        picture: every node's recognised air picture, one row per track per node cycle.
        events: C2 events (identification, scrambles, intercepts, node and link events).
        interceptors: the interceptor pairs' positions per step.
        outcomes: one row per hostile-side object that entered a defended airspace (docs/models/c2.md).
        engagements: the engagement log (wartime rules with engagement settings; else empty).
        stats: counts (late reports, lost messages, ...; ``link_messages``: per link id the
            messages sent and lost, both directions).
    """

    arrangement: str
    picture: pa.Table
    events: pa.Table
    interceptors: pa.Table
    outcomes: pa.Table
    engagements: pa.Table = field(default_factory=ENGAGEMENT_SCHEMA.empty_table)
    stats: dict[str, Any] = field(default_factory=dict)


PICTURE_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("node", pa.string()), ("track_id", pa.int64()), ("lat_deg", pa.float64()),
    ("lon_deg", pa.float64()), ("alt_m", pa.float64()), ("vel_east_mps", pa.float64()),
    ("vel_north_mps", pa.float64()), ("identity", pa.string()), ("sources", pa.int64()),
    ("object_id", pa.string()),
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
OUTCOME_FIELDS = ("entry_s", "first_detection_s", "first_track_s", "identified_s", "hostile_s",
                  "scramble_s", "airborne_s", "intercept_s", "engaged_s", "killed_s")
OUTCOME_SCHEMA = pa.schema([
    ("object_id", pa.string()), ("type", pa.string()), ("nation", pa.string()), ("start_s", pa.float64()),
    ("airspace", pa.string()), ("deciding_node", pa.string()),
    *[(name, pa.float64()) for name in OUTCOME_FIELDS],
    ("track_breaks", pa.int64()), ("missiles", pa.int64()), ("leaker", pa.bool_()),
])


@dataclass
class _Node:
    """The working state of one command node during the pass."""

    name: str
    cycle_s: float
    scans: list[Scan]
    scan_unit: list[str]
    row_object: NDArray[np.int64]
    tracker: Tracker
    picture: FusedPicture
    next_due_s: float = 0.0
    scan_next: int = 0
    inbox: list[tuple[float, int, str, TrackSet]] = field(default_factory=list)
    latest: dict[str, TrackSet] = field(default_factory=dict)
    current: TrackSet | None = None
    identity: dict[int, int] = field(default_factory=dict)
    first_seen_s: dict[int, float] = field(default_factory=dict)
    acted_on: set[int] = field(default_factory=set)
    hostile_since_s: dict[int, float] = field(default_factory=dict)
    unserved: set[int] = field(default_factory=set)  # tracks told "no interceptor" (said once)


def _decode(column: pa.ChunkedArray | pa.Array) -> NDArray[np.str_]:
    """A string or dictionary column as a numpy string array (nulls as empty strings)."""
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return np.asarray(col.fill_null("").to_numpy(zero_copy_only=False), dtype=np.str_)


class _Truth:
    """Truth on the C2 clock: positions ``(K, O, 3)`` in the local frame, lat/lon ``(K, O)``
    (NaN where an object does not exist)."""

    def __init__(self, truth: pa.Table, times_s: Array, origin: tuple[float, float]) -> None:
        ids = _decode(truth.column("object_id")) if truth.num_rows else np.zeros(0, dtype=np.str_)
        self.object_id = np.unique(ids)
        k, o = len(times_s), len(self.object_id)
        self.lat = np.full((k, o), np.nan)
        self.lon = np.full((k, o), np.nan)
        self.enu = np.full((k, o, 3), np.nan)
        if not truth.num_rows:
            return
        t, obj, lat, lon, alt = interpolate_truth(truth, times_s)
        step = np.searchsorted(times_s, t)
        self.lat[step, obj], self.lon[step, obj] = lat, lon
        self.enu[step, obj] = ecef_to_enu(geodetic_to_ecef(lat, lon, alt), *origin)


def _to_geodetic(enu: Array, origin: tuple[float, float]) -> tuple[Array, Array, Array]:
    if not len(enu):
        empty = np.zeros(0)
        return empty, empty, empty
    lat, lon, alt = ecef_to_geodetic(enu_to_ecef(enu, *origin))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


def _origin(detections: pa.Table, scenario: Scenario) -> tuple[float, float]:
    """The shared local frame's origin: the centroid of the reporting sensors (else of the places)."""
    if detections.num_rows:
        lat = detections.column("sensor_lat_deg").to_numpy()
        lon = detections.column("sensor_lon_deg").to_numpy()
    else:
        lat = np.asarray([p.lat_deg for p in scenario.places.values()] or [53.9])
        lon = np.asarray([p.lon_deg for p in scenario.places.values()] or [27.6])
    ecef = geodetic_to_ecef(lat, lon, 0.0).mean(axis=0)
    return (float(np.degrees(np.arctan2(ecef[2], np.hypot(ecef[0], ecef[1])))),
            float(np.degrees(np.arctan2(ecef[1], ecef[0]))))


def run_c2(scenario: Scenario, detections: pa.Table, truth: pa.Table, objects: pa.Table,
           sensors: SensorTable, arrangement: Arrangement | str | None = None, *, replication: int = 0,
           tracker_config: TrackerConfig | None = None, world: World | None = None,
           progress: Callable[[int, int], None] | None = None) -> C2Result:
    """Run command and control of one arrangement over a sensing pass.

    Args:
        scenario: the scenario (with ``c2`` settings and arrangement rules).
        detections, truth, objects: the engine's tables (``RunResult``).
        sensors: the engine's radars (``SensorTable``).
        arrangement: which arrangement; the scenario's if None.
        replication: the replication (seeds the links' random stream).
        tracker_config: the node trackers' settings.
        world: the scenario compiled at its date (compiled here when engagements need it).
        progress: called with (steps done, steps in all).

    Under an arrangement with wartime rules and with the scenario's ``engagement`` settings, the
    deciding nodes also engage hostile tracks with the fire units they may task
    (``iadsim.engagement``); a killed object's later detections are dropped and its truth ends.

    Raises:
        C2Error: the arrangement cannot be built at the scenario's date (see ``build_network``).
    """
    arr = Arrangement(arrangement or scenario.arrangement)
    net = build_network(scenario, arr, sensors.sensor_id, sensors.unit, sensors.nation, sensors.aircraft)
    if world is None and net.rules.wartime_rules and scenario.engagement is not None:
        world = compile_world(scenario, scenario.as_of)
    return _Pass(scenario, net, detections, truth, objects, sensors, replication,
                 tracker_config or TrackerConfig(), world).run(progress)


class _Pass:
    def __init__(self, scenario: Scenario, net: C2Network, detections: pa.Table, truth: pa.Table,
                 objects: pa.Table, sensors: SensorTable, replication: int, config: TrackerConfig,
                 world: World | None) -> None:
        self.scenario, self.net, self.settings = scenario, net, net.settings
        self.terrain = sensors.terrain  # the air bases' elevation, where interceptors take off
        self.rng = stream(scenario.seed, replication, Stage.c2)
        self.rng_engagement = stream(scenario.seed, replication, Stage.engagement)
        self.origin = _origin(detections, scenario)
        longest = self.settings.clock_step_s
        step = min(longest, *net.cycle_s.values()) if net.cycle_s else longest
        self.times = np.arange(0.0, scenario.duration_s + 0.5 * step, step)
        self.truth = _Truth(truth, self.times, self.origin)
        self.objects = objects
        obj_ids = _decode(objects.column("object_id")) if objects.num_rows else np.zeros(0, dtype=np.str_)
        obj_row = {o: i for i, o in enumerate(obj_ids.tolist())}
        order = np.asarray([obj_row.get(o, -1) for o in self.truth.object_id.tolist()], dtype=np.int64)

        def flag(name: str) -> NDArray[np.bool_]:
            if not objects.num_rows or name not in objects.column_names:
                return np.zeros(len(order), dtype=bool)
            values = np.asarray(objects.column(name).fill_null(False).to_numpy(zero_copy_only=False), bool)
            return np.where(order >= 0, values[np.maximum(order, 0)], False)

        self.flight_plan, self.iff = flag("flight_plan"), flag("iff")
        self.object_nation = np.where(order >= 0, _decode(objects.column("nation"))[np.maximum(order, 0)]
                                      if objects.num_rows else "", "")
        self.airspaces = {a: airspace(scenario, a) for a in net.authority}
        self.events: list[tuple[float, str, str, str, int, str, str]] = []
        self.pic_rows: list[tuple[NDArray[Any], ...]] = []
        self.pic_nodes: list[str] = []
        self.stats = {"late_reports": 0, "reports_lost_node_down": 0, "messages_sent": 0,
                      "messages_lost": 0, "tracks_over_link_capacity": 0, "tracks_over_node_capacity": 0}
        self.cut: set[str] = set()
        self.jammed: set[str] = set()
        self.link_messages: dict[str, dict[str, int]] = {}
        self.down: set[str] = set()
        self.autonomous: set[str] = set()
        self.pending_autonomy: list[tuple[float, str]] = []
        self.seq = 0
        self.interceptors = Interceptors()
        self.pairs_out: dict[tuple[str, str], int] = {}
        self.killed_at = np.full(len(self.truth.object_id), np.inf)
        self.units_down: set[str] = set()
        # relayed tracks with no sensor data behind them for longer than any report path takes
        # are echoes between nodes and are not fused (docs/models/c2.md)
        self.fusion = FusionConfig(max_remote_data_age_s=self.settings.max_report_age_s)
        config = dataclasses.replace(config, max_coast_s=min(config.max_coast_s, self.settings.max_coast_s))
        self.nodes = self._nodes(detections, sensors, config)
        self.engage: EngagementStage | None = None
        self.air: AirToAir | None = None
        if world is not None and net.rules.wartime_rules and scenario.engagement is not None:
            types = (_decode(objects.column("type"))[np.maximum(order, 0)] if objects.num_rows
                     else np.zeros(len(order), dtype=np.str_))
            cat = scenario.catalog.aircraft
            rcs = np.asarray([cat[t].rcs_m2 if t in cat and cat[t].rcs_m2 else 1.0 for t in types.tolist()])
            weights = scenario.engagement.type_weight
            weight = np.asarray([weights.get(cat[t].role, 1.0) if t in cat else 1.0 for t in types.tolist()])
            self.engage = EngagementStage(scenario, world, scenario.engagement, net, self.origin,
                                          self.airspaces, rcs, weight)
            self.air = AirToAir(scenario.engagement.fighter_missiles_per_pair,
                                scenario.engagement.air_to_air_launch_fraction)
            self._jammed_pk = scenario.engagement.jammed_pk_factor
            self._jamming_memory_s = scenario.engagement.jamming_memory_s
        self.altitude_known_std_m = config.altitude_known_std_m
        self.ic_rows: list[tuple[float, int, Array, int]] = []
        self._aim_m = np.zeros((0, 3))  # each pair's last aim point from the picture (NaN: none)
        self._bases_store: list[tuple[str, str, int, Array, float, dict[str, bool]]] | None = None
        self._detections = detections
        self._jammed_times = _jammed_detections(detections, self.truth.object_id)

    # -- set-up ---------------------------------------------------------------------------------------
    def _nodes(self, detections: pa.Table, sensors: SensorTable, config: TrackerConfig) -> dict[str, _Node]:
        unit_of = dict(zip(sensors.sensor_id.tolist(), sensors.unit.tolist(), strict=True))
        det_sensor = _decode(detections.column("sensor_id")) if detections.num_rows else np.zeros(0, str)
        node_of = np.asarray([self.net.sensor_node.get(s, "") for s in det_sensor.tolist()], dtype=np.str_)
        index = {o: i for i, o in enumerate(self.truth.object_id.tolist())}
        det_oid = (_decode(detections.column("object_id")) if detections.num_rows
                   and "object_id" in detections.column_names else np.full(len(det_sensor), ""))
        det_object = np.asarray([index.get(o, -1) for o in det_oid.tolist()], dtype=np.int64)
        out = {}
        for name in self.net.nodes:
            rows = np.flatnonzero(node_of == name)
            scans: list[Scan] = []
            scan_unit: list[str] = []
            row_object = np.zeros(0, dtype=np.int64)
            if len(rows):
                row_object = det_object[rows]
                det = validate_detections(detections.take(pa.array(rows)))
                coverage = np.zeros(len(det.sensor_ids))
                np.maximum.at(coverage, det.sensor, det.range_m)
                scans = _scans(det, self.origin, coverage)
                scan_unit = [unit_of.get(str(det.sensor_ids[s.sensor]), "") for s in scans]
            out[name] = _Node(name, self.net.cycle_s[name], scans, scan_unit, row_object,
                              Tracker(config, *self.origin), FusedPicture(name, self.fusion))
        return out

    def _event(self, time_s: float, kind: str, node: str = "", subject: str = "", track: int = -1,
               obj: int = -1, detail: str = "") -> None:
        oid = str(self.truth.object_id[obj]) if obj >= 0 else ""
        self.events.append((time_s, kind, node, subject, track, oid, detail))

    # -- the clock --------------------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None) -> C2Result:
        timed = list(self.net.events)
        ev = 0
        n = len(self.times)
        for k, t in enumerate(self.times.tolist()):
            while ev < len(timed) and timed[ev][0] <= t:
                self._apply_event(*timed[ev])
                ev += 1
            self._autonomy(t)
            for name in self.net.nodes:
                node = self.nodes[name]
                if t + 1e-9 >= node.next_due_s:
                    missed = math.floor((t - node.next_due_s) / node.cycle_s) + 1
                    node.next_due_s += node.cycle_s * max(1, missed)
                    if name in self.down:
                        self._skip_reports(node, t)
                    else:
                        self._cycle(node, t, k)
            if self.engage is not None:
                self._resolve(t, k)
            if k + 1 < n:
                self._fly(k)
            if progress is not None:
                progress(k + 1, n)
        return self._result()

    def _apply_event(self, time_s: float, kind: EventKind, target: str) -> None:
        self._event(time_s, str(kind), target if kind.startswith("node") else "", target)
        if kind == EventKind.link_cut:
            self.cut.add(target)
        elif kind == EventKind.link_restored:
            self.cut.discard(target)
        elif kind == EventKind.link_jammed:
            self.jammed.add(target)
        elif kind == EventKind.link_unjammed:
            self.jammed.discard(target)
        elif kind == EventKind.unit_down:
            self.units_down.add(target)
        elif kind == EventKind.unit_up:
            self.units_down.discard(target)
        elif kind == EventKind.node_down and target in self.nodes:
            self.down.add(target)
            self.pending_autonomy.append((time_s + self.settings.autonomy_delay_s, target))
        elif kind == EventKind.node_up and target in self.nodes:
            self.down.discard(target)
            node = self.nodes[target]
            # a command post that comes back starts from an empty picture
            node.tracker = Tracker(node.tracker.config, *self.origin)
            node.picture = FusedPicture(target, self.fusion)
            node.latest.clear()
            node.current = None
            back = sorted(u for u, n in self.net.unit_node.items() if n == target and u in self.autonomous)
            for unit in back:
                self.autonomous.discard(unit)
                self._event(time_s, "rejoined", target, unit)

    def _autonomy(self, t: float) -> None:
        due = [(at, node) for at, node in self.pending_autonomy if at <= t]
        self.pending_autonomy = [(at, node) for at, node in self.pending_autonomy if at > t]
        for at, node in due:
            if node not in self.down:
                continue
            for unit in sorted(u for u, n in self.net.unit_node.items() if n == node):
                if unit not in self.autonomous:
                    self.autonomous.add(unit)
                    self._event(at, "autonomous", node, unit, detail="own radar only; lost its command post")

    def _skip_reports(self, node: _Node, t: float) -> None:
        latency = self.settings.sensor_report_latency_s
        while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
            node.scan_next += 1
            self.stats["reports_lost_node_down"] += 1

    # -- one node cycle ---------------------------------------------------------------------------------
    def _cycle(self, node: _Node, t: float, k: int) -> None:
        latency = self.settings.sensor_report_latency_s
        while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
            scan = node.scans[node.scan_next]
            node.scan_next += 1
            if node.scan_unit[node.scan_next - 1] in self.autonomous:
                continue
            if node.tracker.time_s is not None and scan.time_s < node.tracker.time_s:
                self.stats["late_reports"] += 1  # the tracker does not go back in time
                continue
            if self.engage is not None and len(scan.rows):
                seen = node.row_object[scan.rows]
                gone = (seen >= 0) & (self.killed_at[np.maximum(seen, 0)] <= scan.time_s)
                if gone.any():  # a destroyed object gives no more detections
                    scan = scan.without(gone)
            node.tracker.process_scan(scan)
        while node.inbox and node.inbox[0][0] <= t:
            _, _, source, received = heapq.heappop(node.inbox)
            node.latest[source] = received
        node.tracker.expire(t)  # also when no scan came: its radars may all have stopped reporting
        own = TrackSet.from_tracker(node.name, node.tracker)
        if node.tracker.time_s is None:
            own = TrackSet.empty(node.name)
        sets = [own, *(node.latest[s] for s in sorted(node.latest))]
        fused = node.picture.update(t, sets)
        keep = np.flatnonzero(fused.confirmed)
        capacity = self.net.capacity_tracks[node.name]
        if len(keep) > capacity:
            self.stats["tracks_over_node_capacity"] += len(keep) - capacity
            keep = np.sort(keep[np.argsort(fused.track_id[keep], kind="stable")[:capacity]])
        picture = fused.select(keep)
        node.current = picture
        obj = self._associate(picture, k)
        identity = self._identify(node, picture, t, k, obj)
        self._record(node.name, picture, t, identity, obj, node.picture.source_count[keep])
        if node.name in self.net.authority.values():
            self._decide(node, picture, identity, t, k, obj)
        self._send(node, picture, identity, t)

    def _associate(self, picture: TrackSet, k: int) -> NDArray[np.int64]:
        """The truth object each picture track holds (nearest horizontally within the distance), −1."""
        here = self.truth.enu[k, :, :2]
        alive = np.flatnonzero(np.all(np.isfinite(here), axis=1))
        out = np.full(len(picture), -1, dtype=np.int64)
        if not len(picture) or not len(alive):
            return out
        d = horizontal_distances(picture.state[:, :2], here[alive])
        nearest = np.argmin(d, axis=1)
        ok = d[np.arange(len(picture)), nearest] <= self.settings.track_object_distance_m
        out[ok] = alive[nearest[ok]]
        return out

    def _identify(self, node: _Node, picture: TrackSet, t: float, k: int,
                  obj: NDArray[np.int64]) -> NDArray[np.int64]:
        """Identity of each picture track: flight-plan or IFF correlation makes a friend; else unknown
        after the identification time; in wartime an unknown track in the airspace turns hostile."""
        s = self.settings
        here = self.truth.enu[k, :, :2]
        alive = np.all(np.isfinite(here), axis=1)
        plans = here[alive & self.flight_plan]
        replies = here[alive & self.iff]
        en = picture.state[:, :2]
        friend = correlated(en, plans, s.flight_plan_gate_m) | correlated(en, replies, s.iff_gate_m)
        out = np.zeros(len(picture), dtype=np.int64)
        for i, tid in enumerate(picture.track_id.tolist()):
            first = node.first_seen_s.setdefault(tid, t)
            current = node.identity.get(tid, Identity.pending)
            if current == Identity.pending:
                if friend[i]:
                    current = Identity.friend
                    self._event(t, "declared_friend", node.name, track=tid, obj=int(obj[i]))
                elif t - first >= s.identification_time_s:
                    current = Identity.unknown
                    self._event(t, "declared_unknown", node.name, track=tid, obj=int(obj[i]))
                node.identity[tid] = current
            out[i] = current
        return out

    def _record(self, name: str, picture: TrackSet, t: float, identity: NDArray[np.int64],
                obj: NDArray[np.int64], sources: NDArray[np.int64]) -> None:
        if not len(picture):
            return
        lat, lon, alt = _to_geodetic(picture.state[:, :3], self.origin)
        # as in TRACKS: no altitude where the picture does not know it (2D radars only)
        alt = np.where(np.sqrt(picture.covariance[:, 2, 2]) <= self.altitude_known_std_m, alt, np.nan)
        self.pic_rows.append((np.full(len(picture), t), picture.track_id.copy(), lat, lon, alt,
                              picture.state[:, 3].copy(), picture.state[:, 4].copy(), identity.copy(),
                              sources.copy(), obj.copy()))
        self.pic_nodes.append(name)

    def _send(self, node: _Node, picture: TrackSet, identity: NDArray[np.int64], t: float) -> None:
        if not len(picture):
            return
        for link in self.net.outgoing(node.name):
            if link.link_id in self.cut or link.target in self.down:
                continue
            self.stats["messages_sent"] += 1
            counts = self.link_messages.setdefault(link.link_id, {"sent": 0, "lost": 0})
            counts["sent"] += 1
            reliability = link.jammed_reliability if link.link_id in self.jammed else link.reliability
            if self.rng.random() >= reliability:
                self.stats["messages_lost"] += 1
                counts["lost"] += 1
                continue
            limit = link.capacity_tracks_per_s * node.cycle_s
            sent = picture
            if len(picture) > limit:
                # threats first, then by track number
                keep = np.lexsort((picture.track_id, -identity))[: int(limit)]
                self.stats["tracks_over_link_capacity"] += len(picture) - len(keep)
                sent = picture.select(np.sort(keep))
            delay = (self.net.processing_delay_s[node.name] + link.latency_s
                     + link.jitter_s * abs(float(self.rng.standard_normal())))
            assert sent.data_time_s is not None
            message = TrackSet.trusted(node.name, sent.track_id, np.full(len(sent), t), sent.state,
                                       sent.covariance, sent.confirmed, sent.data_time_s)
            self.seq += 1
            heapq.heappush(self.nodes[link.target].inbox, (t + delay, self.seq, node.name, message))

    # -- decisions --------------------------------------------------------------------------------------
    def _inside(self, airspace_id: str, enu: Array) -> NDArray[np.bool_]:
        lat, lon, _ = _to_geodetic(enu, self.origin)
        return np.asarray(shapely.contains_xy(self.airspaces[airspace_id], lon, lat))

    def _decide(self, node: _Node, picture: TrackSet, identity: NDArray[np.int64], t: float, k: int,
                obj: NDArray[np.int64]) -> None:
        s = self.settings
        rules = self.net.rules
        mine = [a for a, n in self.net.authority.items() if n == node.name]
        threat = (identity == Identity.unknown) | (identity == Identity.hostile)
        if not threat.any():
            return
        idx = np.flatnonzero(threat)
        pos, vel = picture.state[idx, :3], picture.state[idx, 3:6]
        inside_now = np.zeros(len(idx), dtype=bool)
        coming = np.zeros(len(idx), dtype=bool)
        for a in mine:
            inside_now |= self._inside(a, pos)
            for frac in (0.5, 1.0):
                coming |= self._inside(a, pos + vel * s.scramble_lookahead_s * frac)
        for j, i in enumerate(idx.tolist()):
            tid = int(picture.track_id[i])
            if rules.wartime_rules and inside_now[j] and identity[i] == Identity.unknown:
                since = node.hostile_since_s.setdefault(tid, t)
                if t - since >= s.hostile_designation_s:
                    node.identity[tid] = Identity.hostile
                    identity[i] = Identity.hostile
                    self._event(t, "designated_hostile", node.name, track=tid, obj=int(obj[i]))
            if (inside_now[j] or coming[j]) and tid not in node.acted_on:
                if self._repoint(node, picture, i, tid):
                    node.acted_on.add(tid)
                    continue
                if self._scramble(node, picture, i, t, k, int(obj[i])):
                    node.acted_on.add(tid)

        if self.engage is not None:
            hostile = np.flatnonzero(identity == Identity.hostile)
            for e in self.engage.cycle(node.name, t, picture.track_id[hostile], picture.state[hostile],
                                       obj[hostile], self.truth.enu[k], self.cut, self.down,
                                       self.autonomous | self.units_down, self._jammed(obj[hostile], t)):
                eng = self.engage.log.engagements[e]
                self._event(eng.launch_s, "launch", node.name, self.engage.fu.unit[eng.fire_unit],
                            eng.track_id, eng.target, f"{eng.missiles} missile(s), Pk {eng.pk:.2f}, "
                            f"intercept at {eng.intercept_s:.0f} s, {eng.range_m / 1000:.1f} km")

    def _jammed(self, obj: NDArray[np.int64], t: float) -> NDArray[np.bool_]:
        """``(T,)`` whether each object was detected under jamming (any radar) in the last
        ``engagement.jamming_memory_s`` seconds."""
        out = np.zeros(len(obj), dtype=bool)
        for i, o in enumerate(obj.tolist()):
            times = self._jammed_times.get(o)
            if times is not None:
                lo = np.searchsorted(times, t - self._jamming_memory_s, side="left")
                out[i] = lo < np.searchsorted(times, t, side="right")
        return out

    def _aims(self) -> Array:
        """``(I, 3)`` each pair's last aim point from the picture, NaN rows where it has none yet."""
        grow = len(self.interceptors) - len(self._aim_m)
        if grow > 0:
            self._aim_m = np.concatenate([self._aim_m, np.full((grow, 3), np.nan)])
        return self._aim_m

    def _repoint(self, node: _Node, picture: TrackSet, i: int, tid: int) -> bool:
        """Hand a pair whose track the picture dropped the new track near its last aim (the first
        such pair in order of tasking)."""
        ic = self.interceptors
        if not len(ic):
            return False
        free = ((np.asarray(ic.node) == node.name) & (ic.phase != Phase.shadowing)
                & (ic.phase != Phase.done) & ~np.isin(ic.track_id, picture.track_id))
        gap = np.linalg.norm(self._aims()[:, :2] - picture.state[i, :2], axis=1)
        # a pair with no aim yet has NaN gaps: never near
        near = np.flatnonzero(free & (gap <= self.settings.repoint_distance_m))
        if not len(near):
            return False
        ic.track_id[near[0]] = tid
        return True

    def _scramble(self, node: _Node, picture: TrackSet, i: int, t: float, k: int, obj: int) -> bool:
        """Order the QRA pair that can intercept the track first; False if none can be tasked."""
        world_bases = self._bases()
        best: tuple[float, float, int] | None = None
        for b, (unit, aircraft, pairs, base_enu, speed, airspace_ok) in enumerate(world_bases):
            nation = self.scenario.units[unit].nation
            if (nation not in self.net.may_task.get(node.name, ()) or not airspace_ok.get(node.name)
                    or self.pairs_out.get((unit, aircraft), 0) >= pairs):
                continue
            unit_node = self.net.unit_node.get(unit)
            if unit_node is None or unit in self.autonomous:
                continue
            delay = self.net.order_delay_s(node.name, unit_node, self.cut, self.down)
            act = time_to_act_s(self.scenario, unit)
            if delay is None or act is None:
                continue
            if unit_node != node.name:
                delay += self.net.processing_delay_s[unit_node]
            airborne = t + delay + self.settings.sensor_report_latency_s + act
            ahead = picture.state[i, :3] + picture.state[i, 3:6] * (airborne - t)
            flight = intercept_time_s(base_enu[None, :], np.asarray([speed]), ahead[None, :],
                                      picture.state[i, 3:6][None, :])[0]
            estimate = airborne + flight
            if best is None or estimate < best[0]:
                best = (estimate, airborne, b)
        if best is None:
            # tried again every cycle (a link may come back), said once per track
            if int(picture.track_id[i]) not in node.unserved:
                node.unserved.add(int(picture.track_id[i]))
                self._event(t, "no_interceptor", node.name, track=int(picture.track_id[i]), obj=obj,
                            detail="no quick-reaction pair this node may task can reach the track")
            return False
        _, airborne, b = best
        unit, aircraft, _, base_enu, speed, _ = world_bases[b]
        self.pairs_out[(unit, aircraft)] = self.pairs_out.get((unit, aircraft), 0) + 1
        j = self.interceptors.add(unit, aircraft, node.name, int(picture.track_id[i]), obj, speed, t,
                                  airborne, base_enu)
        self._event(t, "scramble_order", node.name, f"{unit}/{aircraft}/{j}", int(picture.track_id[i]), obj,
                    f"airborne at {airborne:.0f} s")
        return True

    def _bases(self) -> list[tuple[str, str, int, Array, float, dict[str, bool]]]:
        """The fighter units: (unit, aircraft, pairs, base position, intercept speed, per deciding
        node whether the base lies in an airspace the node decides for)."""
        if self._bases_store is not None:
            return self._bases_store
        cat = self.scenario.catalog.aircraft
        out = []
        day = self.scenario.as_of
        for uid, unit in sorted(self.scenario.units.items()):
            if unit.place is None or not unit.in_service.contains(day):
                continue
            place = self.scenario.places[unit.place]
            for item in unit.equipment:
                ac = cat.get(item.type)
                if (ac is None or ac.role not in _FIGHTER_ROLES or ac.max_speed_kmh is None
                        or not item.in_service.contains(day) or item.count < 2):
                    continue
                ground = (0.0 if self.terrain is None else float(np.nan_to_num(
                    np.ravel(self.terrain.height_at([place.lat_deg], [place.lon_deg]))[0])))
                base = ecef_to_enu(geodetic_to_ecef(place.lat_deg, place.lon_deg, ground), *self.origin)[0]
                speed = ac.max_speed_kmh / 3.6 * self.settings.intercept_speed_fraction
                zone = {n: any(shapely.contains_xy(self.airspaces[a], place.lon_deg, place.lat_deg)
                               for a, m in self.net.authority.items() if m == n)
                        for n in set(self.net.authority.values())}
                out.append((uid, item.type, item.count // 2, base, speed, zone))
        self._bases_store = out
        return out

    def _fly(self, k: int) -> None:
        ic = self.interceptors
        if not len(ic):
            return
        t0, t1 = float(self.times[k]), float(self.times[k + 1])
        aim = np.full((len(ic), 3), np.nan)
        aim_vel = np.full((len(ic), 3), np.nan)
        last = self._aims()
        for name in set(ic.node):  # the deciding nodes steering pairs: a handful
            mine = np.asarray(ic.node) == name
            picture = self.nodes[name].current
            if picture is not None and name not in self.down and len(picture):
                at = np.searchsorted(picture.track_id, ic.track_id)  # picture ids are sorted
                at = np.minimum(at, len(picture) - 1)
                held = mine & (picture.track_id[at] == ic.track_id)
                aim[held], aim_vel[held] = picture.state[at[held], :3], picture.state[at[held], 3:6]
                last[held] = aim[held]
        lost = ~np.all(np.isfinite(aim), axis=1) & np.all(np.isfinite(last), axis=1)
        aim[lost], aim_vel[lost] = last[lost], 0.0
        target = ic.target
        valid = target >= 0
        tgt0 = np.full((len(ic), 3), np.nan)
        tgt1 = np.full((len(ic), 3), np.nan)
        tgt0[valid] = self.truth.enu[k, target[valid]]
        tgt1[valid] = self.truth.enu[k + 1, target[valid]]
        s = self.settings
        for when, j, kind in step_interceptors(ic, t0, t1, aim, aim_vel, tgt0, tgt1,
                                               s.onboard_acquisition_range_m,
                                               s.visual_identification_range_m, s.shadow_s):
            self._event(when, kind, ic.node[j], f"{ic.unit[j]}/{ic.aircraft[j]}/{j}", int(ic.track_id[j]),
                        int(ic.target[j]))
        if self.air is not None:
            self._air_to_air(k, t1, tgt1)
        for j in np.flatnonzero((ic.phase != Phase.ordered) & (ic.phase != Phase.done)).tolist():
            self.ic_rows.append((t1, j, ic.position_m[j].copy(), int(ic.phase[j])))

    def _aam(self, aircraft: str) -> tuple[str, MissileProfile, float] | None:
        """The air-to-air missile of an aircraft type: (id, profile, nominal Pk), None without one."""
        cat = self.scenario.catalog
        ac = cat.aircraft.get(aircraft)
        if ac is None or ac.air_to_air_missile is None:
            return None
        missile = cat.missiles[ac.air_to_air_missile]
        if missile.max_speed_mps is None or missile.single_shot_pk is None:
            return None
        return ac.air_to_air_missile, missile_profile(missile), missile.single_shot_pk

    def _air_to_air(self, k: int, t1: float, target_m: Array) -> None:
        """Pairs whose radar holds a target their node holds as hostile fire; kills are drawn."""
        assert self.air is not None
        ic = self.interceptors
        ready = []
        for j in np.flatnonzero((ic.phase == Phase.acquired) | (ic.phase == Phase.shadowing)).tolist():
            node = self.nodes[ic.node[j]]
            if (ic.target[j] >= 0 and np.all(np.isfinite(target_m[j]))
                    and node.identity.get(int(ic.track_id[j])) == Identity.hostile
                    and self._aam(ic.aircraft[j]) is not None):
                ready.append(j)
        if ready:
            idx = np.asarray(ready, dtype=np.int64)
            aams = [self._aam(ic.aircraft[j]) for j in ready]
            vel = (self.truth.enu[k + 1, ic.target[idx]] - self.truth.enu[k, ic.target[idx]]) / (
                self.times[k + 1] - self.times[k])
            vel = np.where(np.isfinite(vel), vel, 0.0)
            fired = self.air.fire(t1, idx, ic.position_m[idx], ic.target[idx], target_m[idx], vel,
                                  ic.track_id[idx], [ic.node[j] for j in ready],
                                  [a[0] for a in aams if a is not None],
                                  MissileProfile.stack([a[1] for a in aams if a is not None]),
                                  np.asarray([a[2] for a in aams if a is not None])
                                  * np.where(self._jammed(ic.target[idx], t1), self._jammed_pk, 1.0))
            for i in fired:
                s = self.air.shots[i]
                flight = f"{ic.unit[s.pair]}/{ic.aircraft[s.pair]}/{s.pair}"
                self._event(s.launch_s, "air_to_air_launch", s.node, flight, s.track_id, s.target,
                            f"{s.missile}, Pk {s.pk:.2f}, {s.range_m / 1000:.1f} km")
        for i in self.air.resolve(t1, self.rng_engagement, self.killed_at):
            s = self.air.shots[i]
            self._event(s.intercept_s, "kill" if s.killed else "miss", s.node,
                        f"{ic.unit[s.pair]}/{ic.aircraft[s.pair]}/{s.pair}", s.track_id, s.target)
            if s.killed:
                self._kill(s.target, s.intercept_s)

    def _kill(self, obj: int, when: float) -> None:
        """The object is destroyed at ``when``: its truth ends (its detections are dropped as read)."""
        if self.engage is not None:
            self.engage.log.destroyed.add(obj)  # a missile arriving later does not kill it again
        if when < self.killed_at[obj]:
            self.killed_at[obj] = when
            after = self.times > when
            self.truth.enu[after, obj] = np.nan
            self.truth.lat[after, obj] = np.nan
            self.truth.lon[after, obj] = np.nan

    def _resolve(self, t: float, k: int) -> None:
        """Kill draws at intercept, freed channels, reloads; a killed object leaves the truth."""
        assert self.engage is not None
        intercepted, magazine = self.engage.resolve(t, self.rng_engagement)
        for i in intercepted:
            e = self.engage.log.engagements[i]
            unit = self.engage.fu.unit[e.fire_unit]
            self._event(e.intercept_s, "kill" if e.killed else "miss", e.node, unit, e.track_id, e.target)
            if e.killed:
                self._kill(e.target, e.intercept_s)
        for when, kind, f in magazine:
            self._event(when, kind, "", self.engage.fu.unit[f])

    # -- results ----------------------------------------------------------------------------------------
    def _result(self) -> C2Result:
        picture = self._picture_table()
        events = self._events_table()
        stats: dict[str, Any] = {**self.stats, "link_messages": dict(sorted(self.link_messages.items()))}
        engagements = ENGAGEMENT_SCHEMA.empty_table()
        if self.engage is not None:
            kills: dict[str, int] = {}
            fired = 0
            dry: list[str] = []
            if self.engage.enabled:
                engagements = self.engage.table(self.truth.object_id)
                fu = self.engage.fu
                for e in self.engage.log.engagements:
                    if e.killed:
                        kills[fu.unit[e.fire_unit]] = kills.get(fu.unit[e.fire_unit], 0) + 1
                fired = int(fu.fired.sum())
                dry = sorted(u for u, d in zip(fu.unit, fu.dry.tolist(), strict=True) if d)
            air = self._air_table()
            if air.num_rows:
                engagements = pa.concat_tables([engagements, air])
                for s in self.air.shots if self.air is not None else []:
                    if s.killed:
                        unit = self.interceptors.unit[s.pair]
                        kills[unit] = kills.get(unit, 0) + 1
            stats["missiles_expended"] = fired + air.num_rows
            stats["surface_to_air_missiles"] = fired
            stats["air_to_air_missiles"] = air.num_rows
            stats["kills_by_unit"] = dict(sorted(kills.items()))
            stats["fire_units_dry"] = dry
        return C2Result(str(self.net.arrangement), picture, events, self._interceptor_table(),
                        self._outcomes(picture, events, engagements), engagements, stats)

    def _air_table(self) -> pa.Table:
        """The air-to-air shots in the engagement log's layout."""
        if self.air is None or not self.air.shots:
            return ENGAGEMENT_SCHEMA.empty_table()
        ic = self.interceptors
        rows = [{"fire_unit": f"{ic.unit[s.pair]}/{ic.aircraft[s.pair]}/{s.pair}", "system": s.missile,
                 "node": s.node, "track_id": s.track_id,
                 "object_id": str(self.truth.object_id[s.target]), "order_s": s.launch_s,
                 "launch_s": s.launch_s, "intercept_s": s.intercept_s, "assess_s": s.intercept_s,
                 "missiles": 1, "pk": s.pk, "range_km": s.range_m / 1000.0, "killed": s.killed}
                for s in self.air.shots]
        return pa.Table.from_pylist(rows, schema=ENGAGEMENT_SCHEMA)

    def _picture_table(self) -> pa.Table:
        if not self.pic_rows:
            return PICTURE_SCHEMA.empty_table()
        cols = [np.concatenate(c) for c in zip(*self.pic_rows, strict=True)]
        nodes = np.concatenate([np.full(len(r[0]), n, dtype=object)
                                for r, n in zip(self.pic_rows, self.pic_nodes, strict=True)])
        obj = cols[9].astype(np.int64)
        names = np.asarray(Identity.names, dtype=object)[cols[7].astype(np.int64)]
        oid = [str(self.truth.object_id[o]) if o >= 0 else None for o in obj.tolist()]
        alt = pa.array(cols[4], mask=~np.isfinite(cols[4]))
        return pa.table([cols[0], nodes, cols[1], cols[2], cols[3], alt, cols[5], cols[6], names,
                         cols[8].astype(np.int64), oid], schema=PICTURE_SCHEMA)

    def _events_table(self) -> pa.Table:
        rows = sorted(self.events, key=lambda e: (e[0], e[1], e[2], e[3]))
        if not rows:
            return C2_EVENT_SCHEMA.empty_table()
        cols = list(zip(*rows, strict=True))
        return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, C2_EVENT_SCHEMA, strict=True)],
                        schema=C2_EVENT_SCHEMA)

    def _interceptor_table(self) -> pa.Table:
        if not self.ic_rows:
            return INTERCEPTOR_SCHEMA.empty_table()
        t = np.asarray([r[0] for r in self.ic_rows])
        j = np.asarray([r[1] for r in self.ic_rows])
        lat, lon, alt = _to_geodetic(np.asarray([r[2] for r in self.ic_rows]), self.origin)
        ic = self.interceptors
        phase = [Phase(r[3]).name for r in self.ic_rows]
        return pa.table([t, [f"{ic.unit[i]}/{ic.aircraft[i]}/{i}" for i in j], [ic.unit[i] for i in j],
                         [ic.aircraft[i] for i in j], lat, lon, alt, phase], schema=INTERCEPTOR_SCHEMA)

    def _outcomes(self, picture: pa.Table, events: pa.Table, engagements: pa.Table) -> pa.Table:
        """Per hostile-side object that entered a defended airspace: the times of its first track,
        identification, scramble, take-off and visual identification at the deciding node."""
        defenders = {n for n, nat in self.scenario.nations.items() if nat.side == Side.defender}
        tr = self.truth
        rows = []
        first_det = self._first_detections()
        engaged = engagements.to_pylist()
        obj_meta = self._object_meta()
        for o, oid in enumerate(tr.object_id.tolist()):
            nation = str(self.object_nation[o])
            if nation in defenders or self.flight_plan[o] or self.iff[o] or not nation:
                continue
            entry_s, where = math.nan, ""
            for a, geom in self.airspaces.items():
                lat, lon = tr.lat[:, o], tr.lon[:, o]
                ok = np.isfinite(lat)
                inside = np.zeros(len(lat), dtype=bool)
                inside[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
                if inside.any():
                    t_in = float(self.times[np.argmax(inside)])
                    if not (t_in >= entry_s):
                        entry_s, where = t_in, a
            if not where:
                continue
            node = self.net.authority[where]
            rec = {name: math.nan for name in OUTCOME_FIELDS}
            rec["entry_s"] = entry_s
            rec["first_detection_s"] = first_det.get(oid, math.nan)
            held = picture.filter(pa.compute.and_(pa.compute.equal(picture["node"], node),
                                                  pa.compute.equal(picture["object_id"], oid))) \
                if picture.num_rows else picture
            breaks = 0
            if held.num_rows:
                times = held["time_s"].to_numpy()
                ids = held["track_id"].to_numpy()
                rec["first_track_s"] = float(times.min())
                # the holding track per cycle: the lowest id (the longest-held) at each time
                _, first = np.unique(times, return_index=True)
                per_cycle = np.asarray([ids[times == tt].min() for tt in times[first]])
                breaks = int(np.count_nonzero(per_cycle[1:] != per_cycle[:-1]))
            ev = events.filter(pa.compute.and_(pa.compute.equal(events["object_id"], oid),
                                               pa.compute.equal(events["node"], node))) \
                if events.num_rows else events
            kinds = ev["kind"].to_pylist() if ev.num_rows else []
            times_ev = ev["time_s"].to_pylist() if ev.num_rows else []
            for kind, name in (("declared_unknown", "identified_s"), ("designated_hostile", "hostile_s"),
                               ("scramble_order", "scramble_s"), ("airborne", "airborne_s"),
                               ("visual_identification", "intercept_s")):
                hits = [tt for kk, tt in zip(kinds, times_ev, strict=True) if kk == kind]
                if hits:
                    rec[name] = float(min(hits))
            fired = [e for e in engaged if e["object_id"] == oid]
            if fired:
                rec["engaged_s"] = min(e["launch_s"] for e in fired)
            if math.isfinite(self.killed_at[o]):
                rec["killed_s"] = float(self.killed_at[o])
            # in wartime a leaker is not destroyed; in peacetime, not identified by interceptors
            stopped = rec["killed_s"] if self.net.rules.wartime_rules else rec["intercept_s"]
            type_, start = obj_meta.get(oid, ("", math.nan))
            rows.append({"object_id": oid, "type": type_, "nation": nation, "start_s": start,
                         "airspace": where, "deciding_node": node, **rec, "track_breaks": breaks,
                         "missiles": sum(e["missiles"] for e in fired),
                         "leaker": not math.isfinite(stopped)})
        return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA)

    def _first_detections(self) -> dict[str, float]:
        """object id → its first detection time (any radar), seconds."""
        # imported here: iadsim.analysis imports this module (compare, sweep)
        from iadsim.analysis.detections import first_detections

        if not self.objects.num_rows:
            return {}
        table = first_detections(self._detections, self.objects)
        return {o: t for o, t in zip(table["object_id"].to_pylist(), table["first_detection_s"].to_pylist(),
                                     strict=True) if t is not None}

    def _object_meta(self) -> dict[str, tuple[str, float]]:
        obj = self.objects
        if not obj.num_rows:
            return {}
        ids = _decode(obj.column("object_id")).tolist()
        types = _decode(obj.column("type")).tolist()
        start = obj.column("start_s").to_numpy(zero_copy_only=False).astype(float).tolist()
        return {i: (ty, st) for i, ty, st in zip(ids, types, start, strict=True)}


def _jammed_detections(detections: pa.Table, object_id: NDArray[np.str_]) -> dict[int, Array]:
    """Per truth object (index), the sorted times of its detections made under jamming."""
    if not detections.num_rows or "jammed" not in detections.column_names:
        return {}
    jammed = np.asarray(detections.column("jammed").fill_null(False).to_numpy(zero_copy_only=False), bool)
    if not jammed.any():
        return {}
    oid = _decode(detections.column("object_id"))[jammed]
    t = detections.column("time_s").to_numpy()[jammed]
    index = {o: i for i, o in enumerate(object_id.tolist())}
    out: dict[int, list[float]] = {}
    for o, time in zip(oid.tolist(), t.tolist(), strict=True):
        if o in index:
            out.setdefault(index[o], []).append(time)
    return {k: np.sort(np.asarray(v)) for k, v in out.items()}

