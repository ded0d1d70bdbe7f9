"""Outcomes of a C2 pass, per hostile-side object that entered a defended airspace: when it entered,
was first detected, tracked, identified, designated hostile, when a pair was scrambled, took off and
identified it visually, when it was first engaged and destroyed, its track breaks, the missiles
fired at it, and whether it leaked. A measure of one run (``iadsim.pipeline.run_replication``
computes it); docs/models/c2.md ("Outputs and measures")."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from iadsim.analysis.detections import first_detections
from iadsim.c2 import C2Result
from iadsim.c2.network import airspace
from iadsim.c2.state import decode
from iadsim.scenario.schema import Scenario, Side

__all__ = ["OUTCOME_FIELDS", "OUTCOME_SCHEMA", "outcome_table"]

OUTCOME_FIELDS = ("entry_s", "first_detection_s", "first_track_s", "identified_s", "hostile_s",
                  "scramble_s", "airborne_s", "intercept_s", "engaged_s", "killed_s")
OUTCOME_SCHEMA = pa.schema([
    ("object_id", pa.string()), ("type", pa.string()), ("nation", pa.string()), ("start_s", pa.float64()),
    ("airspace", pa.string()), ("deciding_node", pa.string()),
    *[(name, pa.float64()) for name in OUTCOME_FIELDS],
    ("track_breaks", pa.int64()), ("missiles", pa.int64()), ("leaker", pa.bool_()),
])

_EVENT_TIMES = (("declared_unknown", "identified_s"), ("designated_hostile", "hostile_s"),
                ("scramble_order", "scramble_s"), ("airborne", "airborne_s"),
                ("visual_identification", "intercept_s"))


def outcome_table(scenario: Scenario, c2: C2Result, detections: pa.Table, objects: pa.Table,
                  first: pa.Table | None = None) -> pa.Table:
    """One row per hostile-side object (not of a defending nation, without flight plan or IFF) that
    entered an airspace the arrangement decides for (``OUTCOME_SCHEMA``), at the node deciding there.

    Args:
        scenario: the scenario of the pass (its nations' sides, its airspaces).
        c2: the C2 pass (its tables, the objects on its clock, the deciding nodes).
        detections, objects: the sensing pass's DETECTIONS and objects.
        first: their ``first_detections`` table when the caller already has it (else computed).
    """
    clock = c2.clock
    truth, times_s, killed_s = clock, clock.times_s, clock.killed_s
    object_nation, flight_plan, iff = clock.nation, clock.flight_plan, clock.iff
    airspaces = {a: airspace(scenario, a) for a in c2.authority}
    picture, events, engagements = c2.picture, c2.events, c2.engagements
    defenders = {n for n, nat in scenario.nations.items() if nat.side == Side.defender}
    if first is None and objects.num_rows:
        first = first_detections(detections, objects)
    first_det = _first_detections(first) if first is not None else {}
    # refused engagements (outside the launch region) fired nothing
    engaged = [e for e in engagements.to_pylist() if e.get("status", "engaged") == "engaged"]
    meta = _object_meta(objects)
    rows = []
    for o, oid in enumerate(truth.object_id.tolist()):
        nation = str(object_nation[o])
        if nation in defenders or flight_plan[o] or iff[o] or not nation:
            continue
        entry_s, where = math.nan, ""
        lat, lon = truth.lat_deg[:, o], truth.lon_deg[:, o]
        ok = np.isfinite(lat)
        for a, geom in airspaces.items():
            inside = np.zeros(len(lat), dtype=bool)
            inside[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
            if inside.any():
                t_in = float(times_s[np.argmax(inside)])
                if not (t_in >= entry_s):
                    entry_s, where = t_in, a
        if not where:
            continue
        node = c2.authority[where]
        rec = {name: math.nan for name in OUTCOME_FIELDS}
        rec["entry_s"] = entry_s
        rec["first_detection_s"] = first_det.get(oid, math.nan)
        held = (picture.filter(pc.and_(pc.equal(picture["node"], node), pc.equal(picture["object_id"], oid)))
                if picture.num_rows else picture)
        breaks = 0
        if held.num_rows:
            times = held["time_s"].to_numpy()
            ids = held["track_id"].to_numpy()
            rec["first_track_s"] = float(times.min())
            # the holding track per cycle: the lowest id (the longest-held) at each time
            _, first = np.unique(times, return_index=True)
            per_cycle = np.asarray([ids[times == tt].min() for tt in times[first]])
            breaks = int(np.count_nonzero(per_cycle[1:] != per_cycle[:-1]))
        ev = (events.filter(pc.and_(pc.equal(events["object_id"], oid), pc.equal(events["node"], node)))
              if events.num_rows else events)
        kinds = ev["kind"].to_pylist() if ev.num_rows else []
        times_ev = ev["time_s"].to_pylist() if ev.num_rows else []
        for kind, name in _EVENT_TIMES:
            hits = [tt for kk, tt in zip(kinds, times_ev, strict=True) if kk == kind]
            if hits:
                rec[name] = float(min(hits))
        fired = [e for e in engaged if e["object_id"] == oid]
        if fired:
            rec["engaged_s"] = min(e["launch_s"] for e in fired)
        if math.isfinite(killed_s[o]):
            rec["killed_s"] = float(killed_s[o])
        # in wartime a leaker is not destroyed; in peacetime, not identified by interceptors
        stopped = rec["killed_s"] if c2.wartime_rules else rec["intercept_s"]
        type_, start = meta.get(oid, ("", math.nan))
        rows.append({"object_id": oid, "type": type_, "nation": nation, "start_s": start,
                     "airspace": where, "deciding_node": node, **rec, "track_breaks": breaks,
                     "missiles": sum(e["missiles"] for e in fired),
                     "leaker": not math.isfinite(stopped)})
    return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA)


def _first_detections(table: pa.Table) -> dict[str, float]:
    """object id → its first detection time (any radar), seconds, from a ``first_detections`` table."""
    return {o: t for o, t in zip(table["object_id"].to_pylist(), table["first_detection_s"].to_pylist(),
                                 strict=True) if t is not None}


def _object_meta(objects: pa.Table) -> dict[str, tuple[str, float]]:
    if not objects.num_rows:
        return {}
    ids = decode(objects.column("object_id")).tolist()
    types = decode(objects.column("type")).tolist()
    start = objects.column("start_s").to_numpy(zero_copy_only=False).astype(float).tolist()
    return {i: (ty, st) for i, ty, st in zip(ids, types, start, strict=True)}
