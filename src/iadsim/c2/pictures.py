"""The pictures stage of the C2 pass: each node's tracker takes its radars' reports as they arrive,
the node fuses its own tracks with the track sets it received into its recognised air picture, and
the picture is recorded. docs/models/c2.md, docs/models/tracking.md."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.c2.identification import horizontal_distances
from iadsim.c2.state import C2State, NodeState, decode, to_geodetic
from iadsim.tracking.fusion import FusedPicture, TrackSet
from iadsim.tracking.io import validate_detections
from iadsim.tracking.tracker import Scan, Tracker, TrackerConfig, scans_of

__all__ = ["associate", "fuse", "node_states", "record", "skip_reports", "take_reports"]


def node_states(state: C2State, detections: pa.Table, sensor_unit: dict[str, str],
                config: TrackerConfig) -> dict[str, NodeState]:
    """Each active node's working state: the scans of the radars reporting to it, in time order,
    and a fresh tracker and picture.

    Args:
        detections: the sensing pass's DETECTIONS. sensor_unit: sensor id → its unit ("" airborne).
        config: the node trackers' settings.
    """
    net = state.net
    det_sensor = decode(detections.column("sensor_id")) if detections.num_rows else np.zeros(0, str)
    node_of = np.asarray([net.sensor_node.get(s, "") for s in det_sensor.tolist()], dtype=np.str_)
    index = {o: i for i, o in enumerate(state.truth.object_id.tolist())}
    det_oid = (decode(detections.column("object_id")) if detections.num_rows
               and "object_id" in detections.column_names else np.full(len(det_sensor), ""))
    det_object = np.asarray([index.get(o, -1) for o in det_oid.tolist()], dtype=np.int64)
    out = {}
    for name in net.nodes:
        rows = np.flatnonzero(node_of == name)
        scans: list[Scan] = []
        scan_unit: list[str] = []
        row_object = np.zeros(0, dtype=np.int64)
        if len(rows):
            row_object = det_object[rows]
            det = validate_detections(detections.take(pa.array(rows)))
            coverage = np.zeros(len(det.sensor_ids))
            np.maximum.at(coverage, det.sensor, det.range_m)
            scans = scans_of(det, state.origin, coverage)
            scan_unit = [sensor_unit.get(str(det.sensor_ids[s.sensor]), "") for s in scans]
        out[name] = NodeState(name, net.cycle_s[name], scans, scan_unit, row_object,
                              Tracker(config, *state.origin), FusedPicture(name, state.fusion))
    return out


def skip_reports(state: C2State, node: NodeState, t: float) -> None:
    """A node that is down loses the reports that reach it."""
    latency = state.settings.sensor_report_latency_s
    while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
        node.scan_next += 1
        state.stats["reports_lost_node_down"] += 1


def take_reports(state: C2State, node: NodeState, t: float) -> None:
    """The node's tracker takes every scan that has reached it by ``t`` (report latency), in
    measurement-time order; a late scan (older than the tracker) is dropped and counted, an
    autonomous unit's scans stay with the unit, a destroyed object gives no more detections."""
    latency = state.settings.sensor_report_latency_s
    while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
        scan = node.scans[node.scan_next]
        node.scan_next += 1
        if node.scan_unit[node.scan_next - 1] in state.autonomous:
            continue
        if node.tracker.time_s is not None and scan.time_s < node.tracker.time_s:
            state.stats["late_reports"] += 1  # the tracker does not go back in time
            continue
        if state.engage is not None and len(scan.rows):
            seen = node.row_object[scan.rows]
            gone = (seen >= 0) & (state.killed_s[np.maximum(seen, 0)] <= scan.time_s)
            if gone.any():
                scan = scan.without(gone)
        node.tracker.process_scan(scan)


def fuse(state: C2State, node: NodeState, t: float) -> tuple[TrackSet, NDArray[np.int64]]:
    """The node's picture at ``t``: its own tracks fused with the sets it holds, confirmed tracks
    only, cut to the node's capacity (lowest numbers first). Returns the picture and, per picture
    track, how many sources contributed to it."""
    node.tracker.expire(t)  # also when no scan came: its radars may all have stopped reporting
    own = TrackSet.from_tracker(node.name, node.tracker)
    if node.tracker.time_s is None:
        own = TrackSet.empty(node.name)
    sets = [own, *(node.latest[s] for s in sorted(node.latest))]
    fused = node.picture.update(t, sets)
    keep = np.flatnonzero(fused.confirmed)
    capacity = state.net.capacity_tracks[node.name]
    if len(keep) > capacity:
        state.stats["tracks_over_node_capacity"] += len(keep) - capacity
        keep = np.sort(keep[np.argsort(fused.track_id[keep], kind="stable")[:capacity]])
    picture = fused.select(keep)
    node.current = picture
    return picture, node.picture.source_count[keep]


def associate(state: C2State, picture: TrackSet, k: int) -> NDArray[np.int64]:
    """``(T,)`` the truth object each picture track holds: the nearest horizontally within
    ``c2.track_object_distance_m``, else −1."""
    here = state.truth.enu[k, :, :2]
    alive = np.flatnonzero(np.all(np.isfinite(here), axis=1))
    out = np.full(len(picture), -1, dtype=np.int64)
    if not len(picture) or not len(alive):
        return out
    d = horizontal_distances(picture.state[:, :2], here[alive])
    nearest = np.argmin(d, axis=1)
    ok = d[np.arange(len(picture)), nearest] <= state.settings.track_object_distance_m
    out[ok] = alive[nearest[ok]]
    return out


def record(state: C2State, name: str, picture: TrackSet, t: float, identity: NDArray[np.int64],
           obj: NDArray[np.int64], sources: NDArray[np.int64]) -> None:
    """Keep the node's picture of this cycle for ``picture.parquet``."""
    if not len(picture):
        return
    lat, lon, alt = to_geodetic(picture.state[:, :3], state.origin)
    # as in TRACKS: no altitude where the picture does not know it (2D radars only)
    alt = np.where(np.sqrt(picture.covariance[:, 2, 2]) <= state.altitude_known_std_m, alt, np.nan)
    state.picture_rows.append((np.full(len(picture), t), picture.track_id.copy(), lat, lon, alt,
                               picture.state[:, 3].copy(), picture.state[:, 4].copy(), identity.copy(),
                               sources.copy(), obj.copy()))
    state.picture_nodes.append(name)
