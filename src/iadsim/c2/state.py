"""The state the stages of the C2 pass share: the clock, truth on the clock, each node's working
state, the links' and units' conditions, the event log and the counters.

The C2 pass (``iadsim.c2.operations``) is a loop over a clock; each step calls stage functions —
links and messages (``links``), node pictures and fusion (``pictures``), identification
(``identification``), decisions (``decisions``), interceptors (``interceptors``) and engagements
(``engagements``) — that read and change this one state and meet nowhere else. Per-track state is
held in arrays indexed by a node's fused track number, per-object state in arrays indexed by the
truth object. docs/models/c2.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from iadsim.c2.network import C2Network
from iadsim.c2.policing import Interceptors
from iadsim.geo.frames import ecef_to_enu, enu_to_ecef
from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.scenario.schema import C2Settings, Scenario
from iadsim.tracking.fusion import FusedPicture, FusionConfig, TrackSet
from iadsim.tracking.metrics import interpolate_truth
from iadsim.tracking.tracker import Scan, Tracker

if TYPE_CHECKING:
    from iadsim.c2.engagements import EngagementStage
    from iadsim.engagement.air import AirToAir
    from iadsim.engagement.missile import MissileProfile
    from iadsim.geo.terrain import Terrain

__all__ = ["SNAPSHOT_CYCLES", "C2State", "FighterBase", "Identity", "NodeState", "TrackerCache",
           "TrackerRecord", "TruthOnClock", "decode", "local_origin", "to_geodetic"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

@dataclass(frozen=True)
class FighterBase:
    """A unit's quick-reaction fighters of one type: pairs, base position (local ENU, m), intercept
    speed (m/s), and per deciding node whether the base lies in an airspace the node decides for."""

    unit: str
    aircraft: str
    pairs: int
    position_m: Array
    speed_mps: float
    in_zone_of: dict[str, bool]


EventRow = tuple[float, str, str, str, int, str, str]
"""(time_s, kind, node, subject, track_id, object_id, detail): one row of the C2 event log."""


class Identity:
    """Identity codes of picture tracks."""

    pending = 0
    friend = 1
    unknown = 2
    hostile = 3
    names = ("pending", "friend", "unknown", "hostile")


def decode(column: pa.ChunkedArray | pa.Array) -> NDArray[np.str_]:
    """A string or dictionary column as a numpy string array (nulls as empty strings)."""
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return np.asarray(col.fill_null("").to_numpy(zero_copy_only=False), dtype=np.str_)


def to_geodetic(enu: Array, origin: tuple[float, float]) -> tuple[Array, Array, Array]:
    """Latitude, longitude (degrees) and height (m) of ``(N, 3)`` local ENU positions."""
    if not len(enu):
        empty = np.zeros(0)
        return empty, empty, empty
    lat, lon, alt = ecef_to_geodetic(enu_to_ecef(enu, *origin))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


def local_origin(detections: pa.Table, scenario: Scenario) -> tuple[float, float]:
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


class TruthOnClock:
    """Truth on the C2 clock: positions ``(K, O, 3)`` in the local frame, lat/lon ``(K, O)`` and
    height above the ground ``agl`` ``(K, O)`` (above sea level on a smooth earth) (NaN where an
    object does not exist, or no longer: a destroyed object's truth ends)."""

    def __init__(self, truth: pa.Table, times_s: Array, origin: tuple[float, float],
                 terrain: Terrain | None = None) -> None:
        ids = decode(truth.column("object_id")) if truth.num_rows else np.zeros(0, dtype=np.str_)
        self.object_id = np.unique(ids)
        k, o = len(times_s), len(self.object_id)
        self.lat = np.full((k, o), np.nan)
        self.lon = np.full((k, o), np.nan)
        self.agl = np.full((k, o), np.nan)
        self.enu = np.full((k, o, 3), np.nan)
        if not truth.num_rows:
            return
        t, obj, lat, lon, alt = interpolate_truth(truth, times_s)
        step = np.searchsorted(times_s, t)
        self.lat[step, obj], self.lon[step, obj] = lat, lon
        ground = terrain.height_at(lat, lon) if terrain is not None else 0.0
        self.agl[step, obj] = alt - np.nan_to_num(ground)
        self.enu[step, obj] = ecef_to_enu(geodetic_to_ecef(lat, lon, alt), *origin)


SNAPSHOT_CYCLES = 30
"""A tracker record keeps a copy of the tracker every this many cycles (five minutes of 10 s
cycles): a departing pass replays at most so many cycles."""


@dataclass
class TrackerRecord:
    """A node tracker's own track set after each of its cycles, recorded while the tracker took the
    plain stream of its radars' reports: none lost while the node was down, none kept by a unit gone
    autonomous, none of a destroyed object. Another C2 pass over the same sensing pass whose node
    has the same radars, cycle, report latency, tracker settings and frame takes the same stream
    until such a departure, so it reads these sets instead of running the tracker again
    (``pictures``; docs/models/c2.md, "Node trackers shared between arrangements").

    Attributes:
        cycle_s: the time of each recorded cycle. own: the tracker's track set after it.
        scan_next: how many of the node's scans had been read after it. late: late reports in it.
        snapshots: copies of the tracker after some cycles (every ``SNAPSHOT_CYCLES``), so that a
            pass that departs rebuilds its tracker from the last one instead of from the start.
    """

    cycle_s: list[float] = field(default_factory=list)
    own: list[TrackSet] = field(default_factory=list)
    scan_next: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    snapshots: dict[int, Tracker] = field(default_factory=dict)


@dataclass
class TrackerCache:
    """What the C2 passes over one sensing pass share: each node's scans and tracker records, keyed
    by what determines them (``pictures.node_states``). One per sensing pass; results are the same
    with or without it."""

    scans: dict[tuple[Any, ...], tuple[list[Scan], list[str], IntArray]] = field(default_factory=dict)
    records: dict[tuple[Any, ...], TrackerRecord] = field(default_factory=dict)


@dataclass
class NodeState:
    """The working state of one command node during the pass.

    Per fused track number (the node's picture numbers tracks from 1 and never reuses a number;
    arrays grow as numbers do): ``identity`` (``Identity`` codes), ``first_seen_s`` (NaN: not yet),
    ``hostile_since_s`` (wartime: in the airspace as unknown since), ``acted_on`` (a pair was
    ordered or re-pointed against it), ``unserved`` (told "no interceptor", said once).

    Sharing a tracker record: ``record`` is the record this node writes (``recording``) or reads
    (``followed`` ≥ 0: the cycles read so far; −1: the node runs its own tracker).
    """

    name: str
    cycle_s: float
    scans: list[Scan]
    scan_unit: list[str]
    row_object: IntArray
    tracker: Tracker
    picture: FusedPicture
    next_due_s: float = 0.0
    scan_next: int = 0
    inbox: list[tuple[float, int, str, TrackSet]] = field(default_factory=list)
    latest: dict[str, TrackSet] = field(default_factory=dict)
    current: TrackSet | None = None
    identity: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first_seen_s: Array = field(default_factory=lambda: np.zeros(0))
    hostile_since_s: Array = field(default_factory=lambda: np.zeros(0))
    acted_on: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    unserved: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    record: TrackerRecord | None = None
    recording: bool = False
    followed: int = -1

    def hold(self, numbers: IntArray) -> None:
        """Grow the per-track arrays to hold the track numbers ``numbers``."""
        need = int(numbers.max()) + 1 if len(numbers) else 0
        have = len(self.identity)
        if need <= have:
            return
        size = max(need, 2 * have, 64)
        grow = size - have
        self.identity = np.concatenate([self.identity, np.zeros(grow, dtype=np.int64)])
        self.first_seen_s = np.concatenate([self.first_seen_s, np.full(grow, np.nan)])
        self.hostile_since_s = np.concatenate([self.hostile_since_s, np.full(grow, np.nan)])
        self.acted_on = np.concatenate([self.acted_on, np.zeros(grow, dtype=bool)])
        self.unserved = np.concatenate([self.unserved, np.zeros(grow, dtype=bool)])


@dataclass
class C2State:
    """Everything the stages of one C2 pass share (see the module docstring).

    Attributes:
        scenario, net, settings: the scenario, the arrangement's network, the C2 settings.
        origin: the shared local frame's origin (lat, lon). times_s: ``(K,)`` the clock.
        truth: the truth objects on the clock. flight_plan, iff: ``(O,)`` per object.
        object_nation: ``(O,)``. airspaces: airspace id → polygon (lon/lat).
        rng_links, rng_engagement: the random streams of link losses/jitter and of kill draws.
        fusion: the nodes' track-to-track fusion settings.
        altitude_known_std_m: a picture track reports an altitude only while its standard deviation
            is below this (the trackers' setting), m.
        terrain: the sensing pass's terrain (air bases' elevation), None for a smooth earth.
        nodes: node id → its working state.
        cut, jammed, down, autonomous, units_down: links cut or jammed, nodes down, units acting on
            their own radar, units down (scenario events).
        pending_autonomy: (time, node) when a lost node's units go autonomous.
        killed_s: ``(O,)`` when each object was destroyed (inf: not).
        interceptors: the pairs ordered so far; pairs_out: (unit, aircraft) → pairs out.
        engage, air: the engagement stage and air-to-air shots (wartime rules with engagement
            settings), else None.
        jammed_object, jammed_time_s: the detections made under jamming, in time order: which
            object (index) and when.
        bases: the fighter bases, once computed (``decisions.fighter_bases``).
        air_to_air_missiles: aircraft type → its air-to-air missile (id, profile, Pk), or None,
            once looked up (``interceptors.air_to_air_missile``).
        events, stats, link_messages: the event log rows, counters, per-link sent/lost.
        picture_rows, picture_nodes, interceptor_rows: what the result tables are built from (an
            interceptor row per clock step: the time, the flying pairs, their positions, phases).
    """

    scenario: Scenario
    net: C2Network
    settings: C2Settings
    origin: tuple[float, float]
    times_s: Array
    truth: TruthOnClock
    flight_plan: BoolArray
    iff: BoolArray
    object_nation: NDArray[np.str_]
    airspaces: dict[str, BaseGeometry]
    rng_links: np.random.Generator
    rng_engagement: np.random.Generator
    fusion: FusionConfig
    altitude_known_std_m: float
    terrain: Terrain | None = None
    nodes: dict[str, NodeState] = field(default_factory=dict)
    cut: set[str] = field(default_factory=set)
    jammed: set[str] = field(default_factory=set)
    down: set[str] = field(default_factory=set)
    autonomous: set[str] = field(default_factory=set)
    units_down: set[str] = field(default_factory=set)
    pending_autonomy: list[tuple[float, str]] = field(default_factory=list)
    killed_s: Array = field(default_factory=lambda: np.zeros(0))
    interceptors: Interceptors = field(default_factory=Interceptors)
    pairs_out: dict[tuple[str, str], int] = field(default_factory=dict)
    aim_m: Array = field(default_factory=lambda: np.zeros((0, 3)))
    engage: EngagementStage | None = None
    air: AirToAir | None = None
    jammed_object: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    jammed_time_s: Array = field(default_factory=lambda: np.zeros(0))
    bases: list[FighterBase] | None = None
    air_to_air_missiles: dict[str, tuple[str, MissileProfile, float] | None] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: {
        "late_reports": 0, "reports_lost_node_down": 0, "messages_sent": 0, "messages_lost": 0,
        "tracks_over_link_capacity": 0, "tracks_over_node_capacity": 0})
    link_messages: dict[str, dict[str, int]] = field(default_factory=dict)
    message_seq: int = 0
    picture_rows: list[tuple[NDArray[Any], ...]] = field(default_factory=list)
    picture_nodes: list[str] = field(default_factory=list)
    interceptor_rows: list[tuple[float, NDArray[np.int64], Array, NDArray[np.int64]]] = field(
        default_factory=list)

    def event(self, time_s: float, kind: str, node: str = "", subject: str = "", track: int = -1,
              obj: int = -1, detail: str = "") -> None:
        """Log one C2 event (``obj``: the truth object's index, −1 none)."""
        oid = str(self.truth.object_id[obj]) if obj >= 0 else ""
        self.events.append((time_s, kind, node, subject, track, oid, detail))

    def kill(self, obj: int, when: float) -> None:
        """The object is destroyed at ``when``: its truth ends (its detections are dropped as read)."""
        if self.engage is not None:
            self.engage.log.destroyed.add(obj)  # a missile arriving later does not kill it again
        if when < self.killed_s[obj]:
            self.killed_s[obj] = when
            after = self.times_s > when
            self.truth.enu[after, obj] = np.nan
            self.truth.lat[after, obj] = np.nan
            self.truth.lon[after, obj] = np.nan

    def aims(self) -> Array:
        """``(I, 3)`` each pair's last aim point from the picture, NaN rows where it has none yet."""
        grow = len(self.interceptors) - len(self.aim_m)
        if grow > 0:
            self.aim_m = np.concatenate([self.aim_m, np.full((grow, 3), np.nan)])
        return self.aim_m
