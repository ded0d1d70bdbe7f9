"""The pictures stage of the C2 pass: each node's tracker takes its radars' reports as they arrive,
the node fuses its own tracks with the track sets it received into its recognised air picture, and
the picture is recorded. docs/models/c2.md, docs/models/tracking.md."""

from __future__ import annotations

import copy

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.c2.identification import horizontal_distances
from iadsim.c2.state import SNAPSHOT_CYCLES, C2State, NodeState, TrackerCache, TrackerRecord, decode
from iadsim.tracking.fusion import FusedPicture, TrackSet
from iadsim.tracking.io import validate_detections
from iadsim.tracking.tracker import Tracker, TrackerConfig, scans_of

__all__ = ["associate", "fuse", "node_states", "record", "skip_reports", "stop_sharing", "take_reports"]


def node_states(state: C2State, detections: pa.Table, sensor_unit: dict[str, str],
                config: TrackerConfig, cache: TrackerCache | None = None) -> dict[str, NodeState]:
    """Each active node's working state: the scans of the radars reporting to it, in time order,
    and a fresh tracker and picture.

    Args:
        detections: the sensing pass's DETECTIONS. sensor_unit: sensor id → its unit ("" airborne).
        config: the node trackers' settings.
        cache: what earlier C2 passes over the same sensing pass left (None: share nothing). A node
            whose radars, cycle, report latency, tracker settings and frame are those of a node with
            a tracker record follows that record; the first such node writes one.
    """
    net = state.net
    det_sensor = decode(detections.column("sensor_id")) if detections.num_rows else np.zeros(0, str)
    node_of = np.asarray([net.sensor_node.get(s, "") for s in det_sensor.tolist()], dtype=np.str_)
    index = {o: i for i, o in enumerate(state.truth.object_id.tolist())}
    det_oid = None
    out = {}
    for name in net.nodes:
        radars = tuple(sorted(s for s, n in net.sensor_node.items() if n == name))
        scan_key = (name, radars, state.origin)
        if cache is not None and scan_key in cache.scans:
            scans, scan_unit, row_object = cache.scans[scan_key]
        else:
            rows = np.flatnonzero(node_of == name)
            scans, scan_unit, row_object = [], [], np.zeros(0, dtype=np.int64)
            if len(rows):
                if det_oid is None:
                    det_oid = (decode(detections.column("object_id"))
                               if "object_id" in detections.column_names else np.full(len(det_sensor), ""))
                row_object = np.asarray([index.get(o, -1) for o in det_oid[rows].tolist()], dtype=np.int64)
                det = validate_detections(detections.take(pa.array(rows)))
                coverage = np.zeros(len(det.sensor_ids))
                np.maximum.at(coverage, det.sensor, det.range_m)
                scans = scans_of(det, state.origin, coverage)
                scan_unit = [sensor_unit.get(str(det.sensor_ids[s.sensor]), "") for s in scans]
            if cache is not None:
                cache.scans[scan_key] = (scans, scan_unit, row_object)
        node = NodeState(name, net.cycle_s[name], scans, scan_unit, row_object,
                         Tracker(config, *state.origin), FusedPicture(name, state.fusion))
        if cache is not None:
            key = (*scan_key, net.cycle_s[name], state.settings.sensor_report_latency_s, config)
            if key in cache.records:
                node.record, node.followed = cache.records[key], 0
            else:
                node.record, node.recording = TrackerRecord(), True
                cache.records[key] = node.record
        out[name] = node
    return out


def stop_sharing(node: NodeState) -> None:
    """The node's report stream departs from the shared record from now on (its tracker is reset:
    a command post back up): it neither writes nor reads the record any more."""
    node.recording = False
    node.followed = -1


def skip_reports(state: C2State, node: NodeState, t: float) -> None:
    """A node that is down loses the reports that reach it."""
    if node.followed >= 0:
        _materialise(node)
    node.recording = False
    latency = state.settings.sensor_report_latency_s
    while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
        node.scan_next += 1
        state.stats["reports_lost_node_down"] += 1


def take_reports(state: C2State, node: NodeState, t: float) -> None:
    """The node's tracker takes every scan that has reached it by ``t`` (report latency), in
    measurement-time order; a late scan (older than the tracker) is dropped and counted, an
    autonomous unit's scans stay with the unit, a destroyed object gives no more detections.

    A node following a tracker record reads this cycle's outcome from it when its scans are the
    plain stream the record was made of, and otherwise rebuilds its tracker from the record and
    goes on alone."""
    latency = state.settings.sensor_report_latency_s
    if node.followed >= 0:
        record, c = node.record, node.followed
        assert record is not None
        end = node.scan_next
        while end < len(node.scans) and node.scans[end].time_s + latency <= t:
            end += 1
        if (c < len(record.cycle_s) and record.cycle_s[c] == t and record.scan_next[c] == end
                and not _departs(state, node, node.scan_next, end)):
            node.scan_next = end
            state.stats["late_reports"] += record.late[c]
            return
        _materialise(node)
    late = state.stats["late_reports"]
    while node.scan_next < len(node.scans) and node.scans[node.scan_next].time_s + latency <= t:
        scan = node.scans[node.scan_next]
        node.scan_next += 1
        if node.scan_unit[node.scan_next - 1] in state.autonomous:
            node.recording = False
            continue
        if node.tracker.time_s is not None and scan.time_s < node.tracker.time_s:
            state.stats["late_reports"] += 1  # the tracker does not go back in time
            continue
        if state.engage is not None and len(scan.rows):
            seen = node.row_object[scan.rows]
            gone = (seen >= 0) & (state.killed_s[np.maximum(seen, 0)] <= scan.time_s)
            if gone.any():
                node.recording = False
                scan = scan.without(gone)
        node.tracker.process_scan(scan)
    if node.recording:
        node.record.late.append(state.stats["late_reports"] - late)  # type: ignore[union-attr]


def _departs(state: C2State, node: NodeState, start: int, end: int) -> bool:
    """Whether scans ``start`` … ``end − 1`` are not the plain stream: one of a unit gone
    autonomous, or one with a detection of an object destroyed before it."""
    for i in range(start, end):  # the few scans of one node cycle
        if node.scan_unit[i] in state.autonomous:
            return True
        scan = node.scans[i]
        if state.engage is not None and len(scan.rows):
            seen = node.row_object[scan.rows]
            if ((seen >= 0) & (state.killed_s[np.maximum(seen, 0)] <= scan.time_s)).any():
                return True
    return False


def _materialise(node: NodeState) -> None:
    """Rebuild the node's tracker as it stood after the cycles it read from its record (from the
    record's last snapshot before them, then the same scans, late reports dropped and expiries),
    and let it run on its own from here."""
    record, cycles = node.record, node.followed
    assert record is not None
    kept = [c for c in record.snapshots if c < cycles]
    if kept:
        start = max(kept) + 1
        tracker = copy.deepcopy(record.snapshots[start - 1])
        read = record.scan_next[start - 1]
    else:
        start, read = 0, 0
        tracker = Tracker(node.tracker.config, *node.tracker.origin)
    for c in range(start, cycles):
        while read < record.scan_next[c]:
            scan = node.scans[read]
            read += 1
            if tracker.time_s is None or scan.time_s >= tracker.time_s:
                tracker.process_scan(scan)
        tracker.expire(record.cycle_s[c])
    node.tracker = tracker
    node.followed = -1


def fuse(state: C2State, node: NodeState, t: float) -> tuple[TrackSet, NDArray[np.int64]]:
    """The node's picture at ``t``: its own tracks fused with the sets it holds, confirmed tracks
    only, cut to the node's capacity (lowest numbers first). Returns the picture and, per picture
    track, how many sources contributed to it."""
    if node.followed >= 0:
        assert node.record is not None
        own = node.record.own[node.followed]
        node.followed += 1
    else:
        node.tracker.expire(t)  # also when no scan came: its radars may all have stopped reporting
        own = (TrackSet.empty(node.name) if node.tracker.time_s is None
               else TrackSet.from_tracker(node.name, node.tracker))
        if node.recording:
            record = node.record
            assert record is not None
            record.cycle_s.append(t)
            record.own.append(own)
            record.scan_next.append(node.scan_next)
            if len(record.cycle_s) % SNAPSHOT_CYCLES == 0:
                record.snapshots[len(record.cycle_s) - 1] = copy.deepcopy(node.tracker)
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
    """Keep the node's picture of this cycle for ``picture.parquet`` (local positions: the table
    converts all of them to latitude, longitude and altitude at once)."""
    if not len(picture):
        return
    # as in TRACKS: no altitude where the picture does not know it (2D radars only)
    known = np.sqrt(picture.covariance[:, 2, 2]) <= state.altitude_known_std_m
    state.picture_rows.append((np.full(len(picture), t), picture.track_id.copy(), picture.state[:, :3].copy(),
                               known, picture.state[:, 3].copy(), picture.state[:, 4].copy(), identity.copy(),
                               sources.copy(), obj.copy(), *horizontal_error_ellipse(picture.covariance)))
    state.picture_nodes.append(name)


def horizontal_error_ellipse(covariance: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """The 1-sigma ellipse of each track's horizontal position error, from the east–north block of
    its covariance: semi-major and semi-minor axes (m) and the major axis's bearing (degrees
    clockwise from north, 0–180).

    Args:
        covariance: ``(N, d, d)`` track covariances with east and north first (metres²).
    """
    ee, nn, en = covariance[:, 0, 0], covariance[:, 1, 1], covariance[:, 0, 1]
    half_trace, half_diff = (ee + nn) / 2.0, (ee - nn) / 2.0
    root = np.sqrt(half_diff ** 2 + en ** 2)
    major = np.sqrt(np.maximum(half_trace + root, 0.0))
    minor = np.sqrt(np.maximum(half_trace - root, 0.0))
    # the major axis's angle from east, counter-clockwise; as a bearing from north, clockwise
    angle_from_east = 0.5 * np.arctan2(2.0 * en, ee - nn)
    bearing = np.mod(90.0 - np.degrees(angle_from_east), 180.0)
    return major, minor, bearing
