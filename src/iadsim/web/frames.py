"""The state of a run at one moment, for the viewer's playback: truth, pictures, fighters, engagements.

A run's tables are read once into arrays sorted by (entity, time); the state at ``t`` is then one
vectorised ``searchsorted`` per table — the last sample of each entity at or before ``t``, kept if it
is recent enough (the entity still exists then). See docs/viewer.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iadsim.io import run_folder as rf

__all__ = ["ENGAGEMENT_LINGER_S", "EVENT_WINDOW_S", "PICTURE_STALE_INTERVALS", "TRUTH_STALE_INTERVALS",
           "RunFrames", "Samples"]

T = TypeVar("T")

EVENT_WINDOW_S = 60.0
"""A frame lists the C2 events of the last minute."""

ENGAGEMENT_LINGER_S = 60.0
"""An engagement stays on the map this long after its missiles arrive (kill or miss shown)."""

PICTURE_STALE_INTERVALS = 2.5
"""A track or fighter counts as present until 2.5 sampling intervals after its last sample: one
missed cycle (a late report, a coasting track) does not make it blink, a dropped track goes within a
few cycles."""

TRUTH_STALE_INTERVALS = 1.0
"""Ground truth is logged at every sample time, so an object is gone one interval after its last
sample (landed, destroyed or out of the scenario): present while t − last sample < the interval."""


def _strings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A string (or dictionary-encoded string) column as a numpy array of Python strings."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, pa.string())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64, nulls as NaN."""
    return np.asarray(pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


@dataclass(frozen=True)
class Samples:
    """Time-sampled rows of many entities, sorted by (entity, time), for state-at-time lookups.

    Attributes:
        entity: entity code per row, shape (n,), sorted ascending.
        time_s: sample times per row (s), shape (n,), ascending within each entity.
        first_s, last_s: first and last sample time per entity (s), shape (e,).
        interval_s: the typical sampling interval (s): the median step between an entity's samples.
        tolerance_s: how long after its last sample an entity still counts as present (s).
        columns: the other columns, reordered like the rows.
        key: entity · span_s + (time − start_s) per row, ascending, shape (n,); it tells apart
            times further apart than about entities · span_s · 2⁻⁵² (1e-10 s for a thousand
            entities over a day), far below any sampling interval.
        start_s, end_s: the first and last sample time of all rows (s); span_s = end − start + 1.
    """

    entity: np.ndarray
    time_s: np.ndarray
    first_s: np.ndarray
    last_s: np.ndarray
    interval_s: float
    tolerance_s: float
    columns: dict[str, np.ndarray]
    key: np.ndarray
    start_s: float
    end_s: float
    span_s: float

    @classmethod
    def build(cls, entity: np.ndarray, time_s: np.ndarray, columns: dict[str, np.ndarray],
              entities: int, stale_intervals: float = PICTURE_STALE_INTERVALS) -> Samples:
        """Sort rows by (entity, time) and derive the sampling interval from the data.

        Args:
            entity: entity code per row (0 ≤ code < entities), shape (n,).
            time_s: sample time per row (s), shape (n,); rows with a NaN time are dropped.
            columns: other columns, each shape (n,).
            entities: the number of entity codes.
            stale_intervals: sampling intervals after its last sample that an entity stays present
                (up to, not including, that time).
        """
        keep = np.isfinite(time_s)
        entity, time_s = entity[keep], time_s[keep]
        order = np.lexsort((time_s, entity))
        entity, time_s = entity[order], time_s[order]
        cols = {k: v[keep][order] for k, v in columns.items()}
        first = np.full(entities, np.inf)
        last = np.full(entities, -np.inf)
        np.minimum.at(first, entity, time_s)
        np.maximum.at(last, entity, time_s)
        same = entity[1:] == entity[:-1]
        steps = np.diff(time_s)[same]
        steps = steps[steps > 0]
        interval = float(np.median(steps)) if steps.size else 1.0
        start = float(time_s.min()) if time_s.size else 0.0
        end = float(time_s.max()) if time_s.size else 0.0
        span = end - start + 1.0
        key = entity * span + (time_s - start)
        return cls(entity, time_s, first, last, interval, stale_intervals * interval, cols, key, start, end,
                   span)

    def at(self, t_s: float) -> np.ndarray:
        """Row indices of the latest sample at or before ``t_s`` of each entity present then, shape (k,)."""
        if self.entity.size == 0:
            return np.zeros(0, dtype=np.int64)
        codes = np.flatnonzero((self.first_s <= t_s) & (t_s - self.last_s < self.tolerance_s))
        if codes.size == 0:
            return np.zeros(0, dtype=np.int64)
        # One search over all entities: rows are sorted by (entity, time), so the composite key
        # entity·span + time is ascending and each entity's latest sample at or before t is found
        # by searching for its code with time t (t clipped to the data so it stays in its segment).
        t_key = min(t_s, self.end_s) - self.start_s
        rows = np.searchsorted(self.key, codes * self.span_s + t_key, side="right") - 1
        fresh = t_s - self.time_s[rows] < self.tolerance_s
        return rows[fresh]

    def history(self, code: int) -> np.ndarray:
        """Row indices of one entity's samples in time order, shape (k,)."""
        lo, hi = np.searchsorted(self.entity, [code, code + 1], side="left")
        return np.arange(lo, hi)


_KINEMATICS = ("lat_deg", "lon_deg", "alt_m", "vel_east_mps", "vel_north_mps")


def _kinematics(table: pa.Table) -> dict[str, np.ndarray]:
    """Position (deg, m) and east/north velocity (m/s) columns as float arrays; NaN where absent."""
    return {c: _floats(table, c) if c in table.column_names else np.full(table.num_rows, np.nan)
            for c in _KINEMATICS}


def _counts(table: pa.Table, name: str) -> np.ndarray:
    """A count column as float (NaN where unknown): a number as it is, a list by its length."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    column = table.column(name)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pc.list_value_length(column)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return np.full(table.num_rows, np.nan)
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _speed_heading(ve: np.ndarray, vn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground speed (m/s) and heading (degrees clockwise from north) from east/north velocity."""
    return np.hypot(ve, vn), np.degrees(np.arctan2(ve, vn)) % 360.0


def _num(x: float, digits: int) -> float | None:
    """A rounded float for JSON; None for NaN."""
    return round(float(x), digits) if math.isfinite(x) else None


class RunFrames:
    """Arrays of one run's truth, pictures, fighters, engagements and events for state-at-time queries.

    Args:
        truth, picture, interceptors, engagements, events: the run's tables (None where absent).
        unit_positions: fire unit / unit id → (lat, lon) in degrees, from the order of battle.
        problems: what could not be read before (files left out), listed first in ``problems``.
        civil_objects: ids of civil traffic on a flight plan (no IFF): a node declares their tracks
            friend; they are shown neutral (civil).
    """

    def __init__(self, truth: pa.Table | None, picture: pa.Table | None, interceptors: pa.Table | None,
                 engagements: pa.Table | None, events: pa.Table | None,
                 unit_positions: dict[str, tuple[float, float]], problems: list[str] | None = None,
                 civil_objects: frozenset[str] = frozenset()) -> None:
        self.problems: list[str] = list(problems or [])
        self.civil_objects = civil_objects
        self.truth, self.object_ids = self._guarded(rf.TRUTH, self._truth, truth)
        self.object_code = {oid: i for i, oid in enumerate(self.object_ids)}
        self.pictures = self._guarded(rf.PICTURE, self._pictures, picture)
        self.interceptors = self._guarded(rf.INTERCEPTORS, self._interceptors, interceptors)
        self.engagements = self._guarded(rf.ENGAGEMENTS, self._engagements, engagements)
        self.events = self._guarded(rf.C2_EVENTS, self._events, events)
        self.unit_positions = unit_positions

    def _guarded(self, name: str, read: Callable[[pa.Table | None], T], table: pa.Table | None) -> T:
        """One table read into arrays; a table with unusable columns is left out (read as absent)
        and named in ``problems``, so the other layers still play."""
        try:
            return read(table)
        except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
            self.problems.append(f"{name} cannot be played back ({type(exc).__name__}: {str(exc)[:160]})")
            return read(None)

    # --- loading -------------------------------------------------------------------------------

    @staticmethod
    def _truth(table: pa.Table | None) -> tuple[Samples | None, list[str]]:
        need = ("time_s", "object_id", "lat_deg", "lon_deg")
        if table is None or any(c not in table.column_names for c in need) or table.num_rows == 0:
            return None, []
        table = table.filter(pc.is_valid(table.column("object_id")))  # a row without an object is noise
        if table.num_rows == 0:
            return None, []
        table = table.filter(pc.is_finite(pc.cast(table.column("time_s"), pa.float64())))
        if table.num_rows == 0:
            raise ValueError("no row has a finite time_s")
        ids = _strings(table.column("object_id"))
        names, codes = np.unique(ids.astype(str), return_inverse=True)
        cols = _kinematics(table)
        for extra in ("type", "nation"):
            cols[extra] = (_strings(table.column(extra)) if extra in table.column_names
                           else np.full(table.num_rows, None, dtype=object))
        samples = Samples.build(codes, _floats(table, "time_s"), cols, len(names), TRUTH_STALE_INTERVALS)
        return samples, [str(n) for n in names]

    @staticmethod
    def _pictures(table: pa.Table | None) -> dict[str, tuple[Samples, np.ndarray]]:
        """Per node: the samples of its tracks and the track id of each entity code."""
        need = ("time_s", "node", "track_id", "lat_deg", "lon_deg")
        if table is None or any(c not in table.column_names for c in need) or table.num_rows == 0:
            return {}
        table = table.filter(pc.is_valid(table.column("node")))  # a row of no node belongs nowhere
        if table.num_rows == 0:
            return {}
        nodes = _strings(table.column("node")).astype(str)
        track = np.asarray(pc.cast(table.column("track_id"), pa.int64()).to_numpy(zero_copy_only=False))
        time_s = _floats(table, "time_s")
        cols = _kinematics(table)
        cols["identity"] = (_strings(table.column("identity")) if "identity" in table.column_names
                            else np.full(table.num_rows, None, dtype=object))
        cols["object_id"] = (_strings(table.column("object_id")) if "object_id" in table.column_names
                             else np.full(table.num_rows, None, dtype=object))
        cols["sources"] = _counts(table, "sources")
        for name in ("error_major_m", "error_minor_m", "error_bearing_deg"):  # absent in older runs
            cols[name] = (_floats(table, name) if name in table.column_names
                          else np.full(table.num_rows, np.nan))
        out: dict[str, tuple[Samples, np.ndarray]] = {}
        for node in np.unique(nodes):
            mask = nodes == node
            ids, codes = np.unique(track[mask], return_inverse=True)
            out[str(node)] = (Samples.build(codes, time_s[mask], {k: v[mask] for k, v in cols.items()},
                                            len(ids)), ids)
        return out

    @staticmethod
    def _interceptors(table: pa.Table | None) -> Samples | None:
        need = ("time_s", "flight_id", "aircraft", "lat_deg", "lon_deg", "alt_m")
        if table is None or any(c not in table.column_names for c in need) or table.num_rows == 0:
            return None
        key = np.char.add(np.char.add(_strings(table.column("flight_id")).astype(str), "/"),
                          _strings(table.column("aircraft")).astype(str))
        names, codes = np.unique(key, return_inverse=True)
        cols: dict[str, np.ndarray] = {c: _floats(table, c) for c in ("lat_deg", "lon_deg", "alt_m")}
        for c in ("flight_id", "unit", "aircraft", "phase"):
            cols[c] = (_strings(table.column(c)) if c in table.column_names
                       else np.full(table.num_rows, None, dtype=object))
        return Samples.build(codes, _floats(table, "time_s"), cols, len(names))

    @staticmethod
    def _engagements(table: pa.Table | None) -> dict[str, np.ndarray] | None:
        need = ("fire_unit", "object_id", "launch_s", "intercept_s", "killed")
        if table is None or any(c not in table.column_names for c in need) or table.num_rows == 0:
            return None
        if "status" in table.column_names:  # refused engagements launched nothing: not drawn
            table = table.filter(pc.equal(table["status"], "engaged"))
            if table.num_rows == 0:
                return None
        out: dict[str, np.ndarray] = {c: _floats(table, c) for c in ("launch_s", "intercept_s")}
        for c in ("fire_unit", "system", "node", "object_id"):
            out[c] = (_strings(table.column(c)) if c in table.column_names
                      else np.full(table.num_rows, None, dtype=object))
        out["track_id"] = (_floats(table, "track_id") if "track_id" in table.column_names
                           else np.full(table.num_rows, np.nan))
        # killed is null where the run ended before the missiles arrived
        out["killed"] = np.asarray(table.column("killed").to_pylist(), dtype=object)
        return out

    @staticmethod
    def _events(table: pa.Table | None) -> dict[str, np.ndarray] | None:
        if table is None or "time_s" not in table.column_names or table.num_rows == 0:
            return None
        time_s = _floats(table, "time_s")
        order = np.argsort(time_s, kind="stable")
        out = {"time_s": time_s[order]}
        for c in ("kind", "node", "subject", "object_id", "detail"):
            out[c] = (_strings(table.column(c))[order] if c in table.column_names
                      else np.full(table.num_rows, None, dtype=object))
        out["track_id"] = (_floats(table, "track_id")[order] if "track_id" in table.column_names
                           else np.full(table.num_rows, np.nan))
        return out

    # --- queries -------------------------------------------------------------------------------

    @property
    def span_s(self) -> tuple[float, float, float]:
        """Start, end and step (s) of playback: the truth's span and sampling interval."""
        if self.truth is not None:
            return (float(self.truth.time_s.min()), float(self.truth.time_s.max()),
                    self.truth.interval_s)
        times = [s.time_s for s, _ in self.pictures.values() if s.time_s.size]
        if times:
            all_t = np.concatenate(times)
            first = next(iter(self.pictures.values()))[0]
            return float(all_t.min()), float(all_t.max()), first.interval_s
        return 0.0, 0.0, 1.0

    def event_rows(self, start_s: float, end_s: float, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """C2 events with start_s < time ≤ end_s, at most ``limit``; and whether some were cut."""
        if self.events is None:
            return [], False
        t = self.events["time_s"]
        lo, hi = np.searchsorted(t, [start_s, end_s], side="right")
        rows = [self._event(i) for i in range(lo, min(hi, lo + limit))]
        return rows, bool(hi - lo > limit)

    def _event(self, i: int) -> dict[str, Any]:
        ev = self.events
        assert ev is not None
        track = ev["track_id"][i]
        return {"time_s": _num(ev["time_s"][i], 3),
                **{c: ev[c][i] for c in ("kind", "node", "subject", "object_id", "detail")},
                "track_id": int(track) if math.isfinite(track) else None}

    def truth_at(self, t_s: float) -> list[dict[str, Any]]:
        """Objects in the air at ``t_s``: position, altitude, speed and heading."""
        s = self.truth
        if s is None:
            return []
        rows = s.at(t_s)
        c = s.columns
        speed, heading = _speed_heading(c["vel_east_mps"][rows], c["vel_north_mps"][rows])
        return [{"object_id": self.object_ids[s.entity[r]], "type": c["type"][r], "nation": c["nation"][r],
                 "lat_deg": _num(c["lat_deg"][r], 5), "lon_deg": _num(c["lon_deg"][r], 5),
                 "alt_m": _num(c["alt_m"][r], 0), "speed_mps": _num(v, 1), "heading_deg": _num(h, 1)}
                for r, v, h in zip(rows, speed, heading, strict=True)]

    def picture_at(self, node: str, t_s: float) -> list[dict[str, Any]]:
        """The tracks of one node's picture at ``t_s``, with the age of each track's last update."""
        if node not in self.pictures:
            return []
        s, track_ids = self.pictures[node]
        rows = s.at(t_s)
        c = s.columns
        speed, heading = _speed_heading(c["vel_east_mps"][rows], c["vel_north_mps"][rows])
        return [{"track_id": int(track_ids[s.entity[r]]), "lat_deg": _num(c["lat_deg"][r], 5),
                 "lon_deg": _num(c["lon_deg"][r], 5), "alt_m": _num(c["alt_m"][r], 0),
                 "speed_mps": _num(v, 1), "heading_deg": _num(h, 1),
                 "identity": ("neutral" if c["identity"][r] == "friend"
                              and c["object_id"][r] in self.civil_objects else c["identity"][r]),
                 "object_id": c["object_id"][r], "age_s": _num(t_s - s.time_s[r], 1),
                 "error_major_m": _num(c["error_major_m"][r], 0),
                 "error_minor_m": _num(c["error_minor_m"][r], 0),
                 "error_bearing_deg": _num(c["error_bearing_deg"][r], 1),
                 "sources": None if not math.isfinite(c["sources"][r]) else int(c["sources"][r])}
                for r, v, h in zip(rows, speed, heading, strict=True)]

    def interceptors_at(self, t_s: float) -> list[dict[str, Any]]:
        """Fighters airborne at ``t_s`` and their phase (scramble, intercept, shadow, return…)."""
        s = self.interceptors
        if s is None:
            return []
        c = s.columns
        return [{"flight_id": c["flight_id"][r], "unit": c["unit"][r], "aircraft": c["aircraft"][r],
                 "lat_deg": _num(c["lat_deg"][r], 5), "lon_deg": _num(c["lon_deg"][r], 5),
                 "alt_m": _num(c["alt_m"][r], 0), "phase": c["phase"][r]} for r in s.at(t_s)]

    def target_position(self, object_id: str, t_s: float) -> tuple[float, float] | None:
        """An object's last known truth position at or before ``t_s`` (lat, lon), or None."""
        s = self.truth
        code = self.object_code.get(object_id)
        if s is None or code is None:
            return None
        rows = s.history(code)
        if rows.size == 0 or s.time_s[rows[0]] > t_s:
            return None
        r = rows[np.searchsorted(s.time_s[rows], t_s, side="right") - 1]
        return float(s.columns["lat_deg"][r]), float(s.columns["lon_deg"][r])

    def engagements_at(self, t_s: float) -> list[dict[str, Any]]:
        """Engagements launched by ``t_s`` whose missiles are in flight or arrived within the last minute.

        Each has a state: in_flight, killed, missed, or unassessed (the run ended before the result).
        """
        e = self.engagements
        if e is None:
            return []
        active = np.flatnonzero((e["launch_s"] <= t_s) & (t_s <= e["intercept_s"] + ENGAGEMENT_LINGER_S))
        out = []
        for i in active:
            arrived = t_s >= e["intercept_s"][i]
            killed = e["killed"][i]
            state = ("in_flight" if not arrived else "unassessed" if killed is None
                     else "killed" if killed else "missed")
            unit = self.unit_positions.get(str(e["fire_unit"][i]))
            target = self.target_position(str(e["object_id"][i]), min(t_s, float(e["intercept_s"][i])))
            track = e["track_id"][i]
            out.append({"fire_unit": e["fire_unit"][i], "system": e["system"][i], "node": e["node"][i],
                        "track_id": int(track) if math.isfinite(track) else None,
                        "object_id": e["object_id"][i], "launch_s": _num(e["launch_s"][i], 3),
                        "intercept_s": _num(e["intercept_s"][i], 3), "state": state,
                        "unit_lat_deg": unit[0] if unit else None, "unit_lon_deg": unit[1] if unit else None,
                        "target_lat_deg": _num(target[0], 5) if target else None,
                        "target_lon_deg": _num(target[1], 5) if target else None})
        return out

    def object_history(self, object_id: str) -> list[dict[str, Any]] | None:
        """One object's truth samples in time order; None if the run has no such object."""
        code = self.object_code.get(object_id)
        if self.truth is None or code is None:
            return None
        s = self.truth
        c = s.columns
        return [{"time_s": _num(s.time_s[r], 3), "lat_deg": _num(c["lat_deg"][r], 5),
                 "lon_deg": _num(c["lon_deg"][r], 5), "alt_m": _num(c["alt_m"][r], 0)}
                for r in s.history(code)]
