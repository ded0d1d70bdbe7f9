"""Track-quality metrics against truth: OSPA and SIAP-style picture measures (docs/models/tracking.md).

Inputs are a TRACKS table (docs/tracking-io.md) and a truth table with ``time_s, object_id, lat_deg,
lon_deg, alt_m`` (the engine's ``truth.parquet``). Truth is linearly interpolated in time per object
to each track time inside that object's sampled span; outside it the object is not present.

Distance between a track and a truth object: the horizontal distance (chord between the two points
on the ellipsoid, via the ENU frame of the truth point) combined with the altitude difference when the
track has an altitude; for a track with unknown altitude (a 2D track) the horizontal distance alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from iadsim.constants import EARTH_RADIUS_M
from iadsim.geo.frames import enu_rotations
from iadsim.geo.geodesy import geodetic_to_ecef

__all__ = [
    "ConfirmationSummary",
    "GospaDistance",
    "GospaResult",
    "OspaResult",
    "SiapResult",
    "confirmation_summary",
    "gospa",
    "gospa_distance",
    "interpolate_truth",
    "ospa",
    "ospa_distance",
    "siap",
    "siap_measures",
    "time_to_confirmed_track",
    "track_breaks",
]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


def ospa_distance(distances: Array, n_tracks: int, n_truths: int, cutoff_m: float, order: float) -> float:
    """OSPA between two finite sets from their ``(n_tracks, n_truths)`` distance matrix, metres.

    ``((min_π Σ d_c(x_i, y_π(i))^p + c^p |m − n|) / max(m, n))^(1/p)`` with ``d_c = min(d, c)``
    (Schuhmacher, Vo & Vo 2008). Zero when both sets are empty; c when exactly one is.
    """
    m, n = n_tracks, n_truths
    if m == 0 and n == 0:
        return 0.0
    if m == 0 or n == 0:
        return float(cutoff_m)
    cost = np.minimum(distances, cutoff_m) ** order
    rows, cols = linear_sum_assignment(cost)
    total = float(cost[rows, cols].sum()) + cutoff_m**order * abs(m - n)
    return float((total / max(m, n)) ** (1.0 / order))


@dataclass(frozen=True)
class GospaDistance:
    """GOSPA between two finite sets (α = 2) and its decomposition.

    Attributes:
        distance_m: ``(localisation + missed + false)^(1/p)``, metres.
        localisation: ``Σ d^p`` over the assigned pairs closer than c, m^p.
        missed: ``c^p/2`` per truth left unassigned (or assigned farther than c), m^p.
        false: ``c^p/2`` per track left unassigned (or assigned farther than c), m^p.
        n_missed, n_false: those counts.
    """

    distance_m: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int


def gospa_distance(distances: Array, n_tracks: int, n_truths: int, cutoff_m: float,
                   order: float) -> GospaDistance:
    """Generalised OSPA (α = 2) between two finite sets from their ``(n_tracks, n_truths)`` distances.

    ``(min_γ Σ_(i,j)∈γ d(x_i, y_j)^p + c^p/2 (|X| + |Y| − 2|γ|))^(1/p)`` over assignments γ of pairs
    closer than c (Rahmathullah, García-Fernández & Svensson 2016, arXiv:1601.05585): unlike OSPA it is not
    normalised by the larger set's size, and it splits into localisation, missed and false parts.
    """
    m, n = n_tracks, n_truths
    dummy = cutoff_m**order / 2.0
    if m == 0 or n == 0:
        total = dummy * (m + n)
        return GospaDistance(float(total ** (1.0 / order)), 0.0, dummy * n, dummy * m, n, m)
    # a pair at c or farther costs 2·c^p/2 = c^p assigned or not: cap at c^p, then drop such pairs
    cost = np.minimum(np.asarray(distances, dtype=np.float64) ** order, cutoff_m**order)
    rows, cols = linear_sum_assignment(cost)
    kept = np.asarray(distances)[rows, cols] < cutoff_m
    localisation = float(cost[rows[kept], cols[kept]].sum())
    n_pairs = int(kept.sum())
    n_missed, n_false = n - n_pairs, m - n_pairs
    total = localisation + dummy * (n_missed + n_false)
    return GospaDistance(float(total ** (1.0 / order)), localisation, dummy * n_missed, dummy * n_false,
                         n_missed, n_false)


@dataclass(frozen=True)
class GospaResult:
    """GOSPA per evaluation time (α = 2).

    Attributes:
        time_s: ``(K,)`` seconds. gospa_m: ``(K,)`` metres. localisation, missed, false: ``(K,)``
        their parts in m^p (``GospaDistance``). n_tracks, n_truths: ``(K,)`` set sizes.
        mean_m: the mean of ``gospa_m`` over the times (NaN if there are none).
    """

    time_s: Array
    gospa_m: Array
    localisation: Array
    missed: Array
    false: Array
    n_tracks: NDArray[np.int64]
    n_truths: NDArray[np.int64]

    @property
    def mean_m(self) -> float:
        return _mean(self.gospa_m)


@dataclass(frozen=True)
class OspaResult:
    """OSPA per evaluation time.

    Attributes:
        time_s: ``(K,)`` seconds. ospa_m: ``(K,)`` metres. n_tracks, n_truths: ``(K,)`` set sizes.
        mean_m: the mean over the times (NaN if there are none).
    """

    time_s: Array
    ospa_m: Array
    n_tracks: NDArray[np.int64]
    n_truths: NDArray[np.int64]

    @property
    def mean_m(self) -> float:
        return _mean(self.ospa_m)


def _mean(values: Array) -> float:
    """The mean of a per-time series, NaN when there are no times."""
    return float(values.mean()) if len(values) else float("nan")


def _truth_objects(truth: pa.Table) -> tuple[NDArray[np.object_], IntArray]:
    """The distinct ``object_id`` values of truth, sorted, and each row's index into them ``(N,)``."""
    ids = pc.cast(truth.column("object_id"), pa.string()) if pa.types.is_dictionary(
        truth.column("object_id").type) else truth.column("object_id")
    obj_text = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    if not len(obj_text):
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    names, code = np.unique(obj_text, return_inverse=True)
    return np.asarray(names, dtype=object), np.asarray(code, dtype=np.int64).reshape(-1)


def _as_text(column: pa.ChunkedArray) -> NDArray[np.object_]:
    """A column of object ids as Python strings, ``None`` where null (dictionary columns decoded)."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    return np.asarray(pc.cast(column, pa.string()).to_numpy(zero_copy_only=False), dtype=object)


def interpolate_truth(truth: pa.Table, times_s: Array
                      ) -> tuple[Array, NDArray[np.int64], Array, Array, Array]:
    """Truth positions at the given times, linearly interpolated per object within its sampled span.

    Returns:
        (time_s, object index, lat_deg, lon_deg, alt_m), parallel arrays of the (time, object) pairs
        present; the object index counts the distinct ``object_id`` values in sorted order.
    """
    _, code = _truth_objects(truth)
    t = truth.column("time_s").to_numpy(zero_copy_only=False).astype(np.float64)
    cols = [truth.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
            for c in ("lat_deg", "lon_deg", "alt_m")]
    out: list[list[Array]] = [[], [], [], [], []]
    for obj in range(int(code.max()) + 1 if len(code) else 0):
        rows = np.flatnonzero(code == obj)
        rows = rows[np.argsort(t[rows], kind="stable")]
        ts = t[rows]
        at = times_s[(times_s >= ts[0]) & (times_s <= ts[-1])]
        if not len(at):
            continue
        out[0].append(at)
        out[1].append(np.full(len(at), obj, dtype=np.float64))
        for j, col in enumerate(cols):
            out[2 + j].append(np.interp(at, ts, col[rows]))
    if not out[0]:
        empty = np.zeros(0)
        return empty, np.zeros(0, dtype=np.int64), empty, empty, empty
    time_s, obj_idx, lat, lon, alt = (np.concatenate(o) for o in out)
    return time_s, obj_idx.astype(np.int64), lat, lon, alt


def _distances(track_lat: Array, track_lon: Array, track_alt: Array, truth_lat: Array, truth_lon: Array,
               truth_alt: Array) -> Array:
    """``(m, n)`` distances between tracks (altitude NaN = unknown) and truth points, metres."""
    a = geodetic_to_ecef(track_lat, track_lon, 0.0)
    b = geodetic_to_ecef(truth_lat, truth_lon, 0.0)
    rot = enu_rotations(truth_lat, truth_lon)  # (n, 3, 3)
    diff = a[:, None, :] - b[None, :, :]  # (m, n, 3)
    local = np.einsum("nij,mnj->mni", rot, diff)
    horizontal2 = local[..., 0] ** 2 + local[..., 1] ** 2
    dalt = track_alt[:, None] - truth_alt[None, :]
    vertical2 = np.where(np.isnan(dalt), 0.0, dalt**2)
    return np.asarray(np.sqrt(horizontal2 + vertical2))


_TrackSet = tuple[Array, Array, Array, NDArray[np.int64]]
_TruthSet = tuple[Array, Array, Array, NDArray[np.int64]]


def _frames(tracks: pa.Table, truth: pa.Table, times_s: Array | None, confirmed_only: bool,
            hold_s: float | None = None) -> tuple[Array, list[_TrackSet], list[_TruthSet]]:
    """Per evaluation time, the track positions and the truth positions.

    Without ``hold_s`` a track counts at the times of its own rows only. With it, the picture at
    time t holds every track's latest row at or before t that is at most ``hold_s`` old,
    extrapolated to t with its velocity (horizontally) — what a display shows between updates.
    """
    tt = tracks.column("time_s").to_numpy(zero_copy_only=False).astype(np.float64)
    keep = np.ones(len(tt), dtype=bool)
    if confirmed_only:
        keep = np.asarray(tracks.column("confirmed").to_numpy(zero_copy_only=False), dtype=bool)
    if times_s is None:
        times_s = np.unique(tt) if len(tt) else np.unique(
            truth.column("time_s").to_numpy(zero_copy_only=False).astype(np.float64))
    times_s = np.asarray(times_s, dtype=np.float64)
    lat = tracks.column("lat_deg").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = tracks.column("lon_deg").to_numpy(zero_copy_only=False).astype(np.float64)
    alt = pc.fill_null(pc.cast(tracks.column("alt_m"), pa.float64()), np.nan).to_numpy(
        zero_copy_only=False).astype(np.float64)
    g_time, g_obj, g_lat, g_lon, g_alt = interpolate_truth(truth, times_s)
    track_sets, truth_sets = [], []
    ids = np.asarray(tracks.column("track_id").to_numpy(zero_copy_only=False), dtype=np.int64)
    if hold_s is not None:
        ve = pc.fill_null(pc.cast(tracks.column("vel_east_mps"), pa.float64()), 0.0).to_numpy(
            zero_copy_only=False).astype(np.float64)
        vn = pc.fill_null(pc.cast(tracks.column("vel_north_mps"), pa.float64()), 0.0).to_numpy(
            zero_copy_only=False).astype(np.float64)
        order = np.lexsort((tt, ids))  # by track, then time
    for time in times_s:
        if hold_s is None:
            r = np.flatnonzero(keep & (tt == time))
            track_sets.append((lat[r], lon[r], alt[r], ids[r]))
        else:
            live = order[keep[order] & (tt[order] <= time) & (tt[order] >= time - hold_s)]
            # the last row of each track among the live ones (rows are sorted by track, time)
            last = live[np.r_[ids[live][1:] != ids[live][:-1], True]] if len(live) else live
            dt = time - tt[last]
            dlat = np.degrees(vn[last] * dt / EARTH_RADIUS_M)
            dlon = np.degrees(ve[last] * dt / (EARTH_RADIUS_M * np.cos(np.radians(lat[last]))))
            track_sets.append((lat[last] + dlat, lon[last] + dlon, alt[last], ids[last]))
        g = g_time == time
        truth_sets.append((g_lat[g], g_lon[g], g_alt[g], g_obj[g]))
    return times_s, track_sets, truth_sets


def ospa(tracks: pa.Table, truth: pa.Table, *, cutoff_m: float = 1000.0, order: float = 1.0,
         times_s: Array | None = None, confirmed_only: bool = True,
         hold_s: float | None = None) -> OspaResult:
    """OSPA between track and truth positions at each evaluation time.

    Args:
        tracks: a TRACKS table. truth: ``time_s, object_id, lat_deg, lon_deg, alt_m``.
        cutoff_m: the cut-off c, metres. order: the order p (≥ 1).
        times_s: evaluation times; default the distinct track times, or the truth times when the
            TRACKS table is empty.
        confirmed_only: use only confirmed tracks (the default) or all.
        hold_s: evaluate the picture with each track held (and extrapolated) up to this many
            seconds after its last update, instead of only at its own update times.
    """
    times, track_sets, truth_sets = _frames(tracks, truth, times_s, confirmed_only, hold_s)
    values, n_tr, n_gt = [], [], []
    for (lat, lon, alt, _), (glat, glon, galt, _) in zip(track_sets, truth_sets, strict=True):
        d = _distances(lat, lon, alt, glat, glon, galt) if len(lat) and len(glat) else np.zeros((0, 0))
        values.append(ospa_distance(d, len(lat), len(glat), cutoff_m, order))
        n_tr.append(len(lat))
        n_gt.append(len(glat))
    return OspaResult(times, np.asarray(values, dtype=np.float64), np.asarray(n_tr, dtype=np.int64),
                      np.asarray(n_gt, dtype=np.int64))


def gospa(tracks: pa.Table, truth: pa.Table, *, cutoff_m: float = 1000.0, order: float = 1.0,
          times_s: Array | None = None, confirmed_only: bool = True,
          hold_s: float | None = None) -> GospaResult:
    """GOSPA (α = 2) between track and truth positions at each evaluation time; arguments as ``ospa``."""
    times, track_sets, truth_sets = _frames(tracks, truth, times_s, confirmed_only, hold_s)
    parts = []
    for (lat, lon, alt, _), (glat, glon, galt, _) in zip(track_sets, truth_sets, strict=True):
        d = _distances(lat, lon, alt, glat, glon, galt) if len(lat) and len(glat) else np.zeros((0, 0))
        parts.append(gospa_distance(d, len(lat), len(glat), cutoff_m, order))
    values = np.asarray([(g.distance_m, g.localisation, g.missed, g.false) for g in parts],
                        dtype=np.float64).reshape(len(parts), 4)
    return GospaResult(times, values[:, 0], values[:, 1], values[:, 2], values[:, 3],
                       np.asarray([len(t[0]) for t in track_sets], dtype=np.int64),
                       np.asarray([len(g[0]) for g in truth_sets], dtype=np.int64))


@dataclass(frozen=True)
class SiapResult:
    """SIAP-style measures over all evaluation times (each a pooled ratio over times).

    Attributes:
        completeness: share of (time, truth) pairs held by at least one confirmed track within the
            association distance.
        spuriousness: share of (time, confirmed track) pairs with no truth within the distance.
        ambiguity: confirmed tracks per held truth (1 is ideal), pooled over times; NaN if none held.
        accuracy_m: RMS distance of the (track, nearest truth) pairs within the distance, metres.
        ids_per_object: mean number of distinct track ids that held each object that was ever held
            (1 is ideal: continuity).
        track_breaks_per_object: mean number of times the id of the track holding an object (its
            nearest associated track) changed between the times it was held, over the objects ever
            held (0 is ideal: continuity; see ``track_breaks``).
        position_accuracy_m: mean distance of the same pairs, metres: SIAP's PA (Votruba et al.
            2001, as in Stone Soup's ``SIAPMetrics``); ``accuracy_m`` is their RMS.
    """

    completeness: float
    spuriousness: float
    ambiguity: float
    accuracy_m: float
    ids_per_object: float
    track_breaks_per_object: float = float("nan")
    position_accuracy_m: float = float("nan")


@dataclass(frozen=True)
class _Association:
    """Confirmed tracks associated with truth at each evaluation time (SIAP rule), pooled.

    Counts over all times, the squared distances of associated pairs, every associated
    (object, track id) pair, and per held (time, object) the holder: the nearest associated track.
    """

    n_truth: int
    held: int
    n_track: int
    spurious: int
    matched_tracks: int
    squared_m2: Array
    pair_object: IntArray
    pair_track: IntArray
    hold_time: IntArray
    hold_object: IntArray
    hold_track: IntArray


def _associate(track_sets: list[_TrackSet], truth_sets: list[_TruthSet],
               association_distance_m: float) -> _Association:
    """Each confirmed track with its nearest truth within the distance, at each time."""
    frames = []
    for (lat, lon, alt, ids), (glat, glon, galt, gobj) in zip(track_sets, truth_sets, strict=True):
        d = (_distances(lat, lon, alt, glat, glon, galt) if len(lat) and len(glat)
             else np.zeros((len(lat), len(glat))))
        frames.append((d, ids, gobj))
    return _associate_distances(frames, association_distance_m)


def _associate_distances(frames: list[tuple[Array, IntArray, IntArray]],
                         association_distance_m: float) -> _Association:
    """``_associate`` from each time's ``(m, n)`` distances, track ids ``(m,)`` and object codes ``(n,)``."""
    n_truth = held = n_track = spurious = matched = 0
    sq: list[Array] = [np.zeros(0)]
    pair_obj: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    pair_tid: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    hold: list[tuple[IntArray, IntArray, IntArray]] = []
    for k, (d, ids, gobj) in enumerate(frames):
        m, n = d.shape
        n_truth += n
        n_track += m
        if not m:
            continue
        if not n:
            spurious += m
            continue
        nearest = np.argmin(d, axis=1)
        dmin = d[np.arange(m), nearest]
        ok = dmin <= association_distance_m
        spurious += int((~ok).sum())
        matched += int(ok.sum())
        held += len(np.unique(nearest[ok]))
        sq.append(dmin[ok] ** 2)
        obj, tid = gobj[nearest[ok]].astype(np.int64), ids[ok].astype(np.int64)
        pair_obj.append(obj)
        pair_tid.append(tid)
        # the holder of each held object: its nearest associated track (ties: the lower id)
        order = np.lexsort((tid, dmin[ok], obj))
        first = np.r_[True, obj[order][1:] != obj[order][:-1]] if len(order) else np.zeros(0, dtype=bool)
        winners = order[first]
        hold.append((np.full(len(winners), k, dtype=np.int64), obj[winners], tid[winners]))
    hold_time, hold_obj, hold_tid = (np.concatenate([h[i] for h in hold]).astype(np.int64) if hold
                                     else np.zeros(0, dtype=np.int64) for i in range(3))
    return _Association(n_truth, held, n_track, spurious, matched, np.concatenate(sq),
                        np.concatenate(pair_obj), np.concatenate(pair_tid), hold_time, hold_obj, hold_tid)


def _continuity(assoc: _Association, n_objects: int) -> tuple[IntArray, IntArray, IntArray]:
    """Per object ``(n_objects,)``: times held, distinct associated track ids, track breaks."""
    held_times = np.bincount(assoc.hold_object, minlength=n_objects).astype(np.int64)
    pairs = np.unique(np.column_stack([assoc.pair_object, assoc.pair_track]), axis=0)
    distinct = np.bincount(pairs[:, 0], minlength=n_objects).astype(np.int64) if len(pairs) else (
        np.zeros(n_objects, dtype=np.int64))
    order = np.lexsort((assoc.hold_time, assoc.hold_object))
    obj, tid = assoc.hold_object[order], assoc.hold_track[order]
    change = (obj[1:] == obj[:-1]) & (tid[1:] != tid[:-1])
    breaks = np.bincount(obj[1:][change], minlength=n_objects).astype(np.int64)
    return held_times, distinct, breaks


def siap(tracks: pa.Table, truth: pa.Table, *, association_distance_m: float = 1000.0,
         times_s: Array | None = None, hold_s: float | None = None) -> SiapResult:
    """SIAP-style completeness, spuriousness, ambiguity, accuracy and continuity of confirmed tracks.

    Each confirmed track is associated at each time with its nearest truth object when that is
    within ``association_distance_m`` (metres). ``hold_s`` as in ``ospa``.
    """
    _, track_sets, truth_sets = _frames(tracks, truth, times_s, True, hold_s)
    a = _associate(track_sets, truth_sets, association_distance_m)
    return _siap_result(a, len(_truth_objects(truth)[0]))


def siap_measures(distances: list[Array], association_distance_m: float,
                  track_ids: list[IntArray] | None = None,
                  object_ids: list[IntArray] | None = None) -> SiapResult:
    """The SIAP measures of ``siap`` from distance matrices, for any state space and distance.

    Args:
        distances: per evaluation time, the ``(m_t, n_t)`` distances between its confirmed tracks
            and its truth objects (any unit: accuracies come out in it).
        association_distance_m: a track is associated with its nearest truth when at most this far.
        track_ids: per time ``(m_t,)`` track ids (default: the row numbers, one track per row
            across times — right when the rows of every time are the same tracks).
        object_ids: per time ``(n_t,)`` object codes ``0 ≤ code`` (default: the column numbers).
    """
    frames = []
    for k, matrix in enumerate(distances):
        d = np.asarray(matrix, dtype=np.float64)
        if d.ndim != 2:
            raise ValueError(f"distances[{k}] must be a (tracks, truths) matrix, got shape {d.shape}")
        m, n = d.shape
        ids = np.arange(m, dtype=np.int64) if track_ids is None else np.asarray(track_ids[k], np.int64)
        obj = np.arange(n, dtype=np.int64) if object_ids is None else np.asarray(object_ids[k], np.int64)
        frames.append((d, ids, obj))
    n_objects = 1 + max((int(f[2].max()) for f in frames if len(f[2])), default=-1)
    return _siap_result(_associate_distances(frames, association_distance_m), n_objects)


def _siap_result(a: _Association, n_objects: int) -> SiapResult:
    held_times, distinct, breaks = _continuity(a, n_objects)
    ever = held_times > 0
    return SiapResult(
        completeness=a.held / a.n_truth if a.n_truth else float("nan"),
        spuriousness=a.spurious / a.n_track if a.n_track else float("nan"),
        ambiguity=a.matched_tracks / a.held if a.held else float("nan"),
        accuracy_m=float(np.sqrt(a.squared_m2.mean())) if len(a.squared_m2) else float("nan"),
        ids_per_object=float(distinct[ever].mean()) if ever.any() else float("nan"),
        track_breaks_per_object=float(breaks[ever].mean()) if ever.any() else float("nan"),
        position_accuracy_m=float(np.sqrt(a.squared_m2).mean()) if len(a.squared_m2) else float("nan"),
    )


def track_breaks(tracks: pa.Table, truth: pa.Table, *, association_distance_m: float = 1000.0,
                 times_s: Array | None = None, hold_s: float | None = None) -> pa.Table:
    """Continuity per truth object: how often the id of the track holding it changed.

    Confirmed tracks are associated with truth as in ``siap``; at each time an object is held, its
    holder is the nearest associated track (ties: the lower id). A break is a held time whose holder
    differs from the holder at the object's previous held time (times it was not held in between
    neither break nor mend: a track that coasts through a gap and resumes is no break).

    Args:
        tracks: a TRACKS table. truth: ``time_s, object_id, lat_deg, lon_deg, alt_m``.
        association_distance_m: metres. times_s, hold_s: as in ``ospa``.

    Returns:
        One row per truth object (sorted by ``object_id``): ``object_id`` (text), ``held_times``
        (evaluation times held), ``track_ids`` (distinct ids of the tracks associated with it),
        ``breaks`` (holder changes).
    """
    _, track_sets, truth_sets = _frames(tracks, truth, times_s, True, hold_s)
    names, _ = _truth_objects(truth)
    held_times, distinct, breaks = _continuity(_associate(track_sets, truth_sets, association_distance_m),
                                               len(names))
    return pa.table({"object_id": pa.array([str(n) for n in names], pa.string()),
                     "held_times": pa.array(held_times, pa.int64()),
                     "track_ids": pa.array(distinct, pa.int64()),
                     "breaks": pa.array(breaks, pa.int64())})


def time_to_confirmed_track(tracks: pa.Table, truth: pa.Table, detections: pa.Table,
                            association_distance_m: float = 1000.0, *, times_s: Array | None = None,
                            hold_s: float | None = None) -> pa.Table:
    """Per truth object, the delay from its first detection to the first confirmed track on it.

    The first detection is the earliest ``time_s`` of a DETECTIONS row with the object's
    ``object_id`` (rows with a null ``object_id`` or a true ``false_alarm`` are not detections of an
    object). The first confirmed time is the earliest evaluation time, not before the first
    detection, at which any confirmed track lies within ``association_distance_m`` of the object
    (distance as in ``ospa``; a track near the object before it was ever detected is another
    object's).

    Args:
        tracks: a TRACKS table. truth: ``time_s, object_id, lat_deg, lon_deg, alt_m``.
        detections: the engine's detections (``time_s``, ``object_id``, optionally ``false_alarm``).
        association_distance_m: metres. times_s, hold_s: as in ``ospa`` (default: the TRACKS times).

    Returns:
        One row per truth object (sorted by ``object_id``): ``object_id`` (text),
        ``first_detection_s``, ``first_confirmed_s``, ``delay_s`` (seconds; NaN when the object was
        never detected, or never held by a confirmed track after it).
    """
    names, _ = _truth_objects(truth)
    text = np.asarray([str(n) for n in names], dtype=str)
    first_detection = np.full(len(names), np.nan)
    det_obj = _as_text(detections.column("object_id"))
    real = np.asarray(pc.is_valid(detections.column("object_id")).to_numpy(zero_copy_only=False), dtype=bool)
    if "false_alarm" in detections.column_names:
        false_alarm = pc.fill_null(detections.column("false_alarm"), False).to_numpy(zero_copy_only=False)
        real &= ~np.asarray(false_alarm, dtype=bool)
    det_time = detections.column("time_s").to_numpy(zero_copy_only=False).astype(np.float64)
    if real.any() and len(text):
        # match the detections' ids to truth's as text (truth's own order may be numeric)
        by_text = np.argsort(text)
        det_text = det_obj[real].astype(str)
        at = np.minimum(np.searchsorted(text[by_text], det_text), len(text) - 1)
        known = text[by_text][at] == det_text
        np.fmin.at(first_detection, by_text[at[known]], det_time[real][known])

    first_confirmed = np.full(len(names), np.nan)
    times, track_sets, truth_sets = _frames(tracks, truth, times_s, True, hold_s)
    for time, (lat, lon, alt, _), (glat, glon, galt, gobj) in zip(times, track_sets, truth_sets,
                                                                   strict=True):
        if not len(lat) or not len(glat):
            continue
        near = (_distances(lat, lon, alt, glat, glon, galt) <= association_distance_m).any(axis=0)
        objs = gobj[near & (time >= first_detection[gobj])]
        np.fmin.at(first_confirmed, objs, time)
    return pa.table({"object_id": pa.array(text.tolist(), pa.string()),
                     "first_detection_s": pa.array(first_detection, pa.float64()),
                     "first_confirmed_s": pa.array(first_confirmed, pa.float64()),
                     "delay_s": pa.array(first_confirmed - first_detection, pa.float64())})


@dataclass(frozen=True)
class ConfirmationSummary:
    """Time to confirmed track over the detected objects.

    Attributes:
        n_detected: objects detected at least once. n_confirmed: of those, held by a confirmed track.
        share_confirmed: n_confirmed / n_detected (NaN if none detected).
        median_delay_s, mean_delay_s: over the confirmed objects, seconds (NaN if none).
    """

    n_detected: int
    n_confirmed: int
    share_confirmed: float
    median_delay_s: float
    mean_delay_s: float


def confirmation_summary(table: pa.Table) -> ConfirmationSummary:
    """Summarise a ``time_to_confirmed_track`` table (objects never detected are left out)."""
    first = table.column("first_detection_s").to_numpy(zero_copy_only=False).astype(np.float64)
    delay = table.column("delay_s").to_numpy(zero_copy_only=False).astype(np.float64)
    detected = np.isfinite(first)
    confirmed = detected & np.isfinite(delay)
    n_det, n_conf = int(detected.sum()), int(confirmed.sum())
    return ConfirmationSummary(
        n_detected=n_det, n_confirmed=n_conf,
        share_confirmed=n_conf / n_det if n_det else float("nan"),
        median_delay_s=float(np.median(delay[confirmed])) if n_conf else float("nan"),
        mean_delay_s=float(delay[confirmed].mean()) if n_conf else float("nan"))
