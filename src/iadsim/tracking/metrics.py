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

from iadsim.geo.frames import enu_rotations
from iadsim.geo.geodesy import geodetic_to_ecef

__all__ = ["OspaResult", "SiapResult", "interpolate_truth", "ospa", "ospa_distance", "siap"]

Array = NDArray[np.float64]


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
        return float(self.ospa_m.mean()) if len(self.ospa_m) else float("nan")


def interpolate_truth(truth: pa.Table, times_s: Array
                      ) -> tuple[Array, NDArray[np.int64], Array, Array, Array]:
    """Truth positions at the given times, linearly interpolated per object within its sampled span.

    Returns:
        (time_s, object index, lat_deg, lon_deg, alt_m), parallel arrays of the (time, object) pairs
        present; the object index counts the distinct ``object_id`` values in sorted order.
    """
    ids = pc.cast(truth.column("object_id"), pa.string()) if pa.types.is_dictionary(
        truth.column("object_id").type) else truth.column("object_id")
    obj_text = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    _, code = np.unique(obj_text, return_inverse=True)
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
            dlat = np.degrees(vn[last] * dt / 6_371_008.8)
            dlon = np.degrees(ve[last] * dt / (6_371_008.8 * np.cos(np.radians(lat[last]))))
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
    """

    completeness: float
    spuriousness: float
    ambiguity: float
    accuracy_m: float
    ids_per_object: float


def siap(tracks: pa.Table, truth: pa.Table, *, association_distance_m: float = 1000.0,
         times_s: Array | None = None, hold_s: float | None = None) -> SiapResult:
    """SIAP-style completeness, spuriousness, ambiguity, accuracy and continuity of confirmed tracks.

    Each confirmed track is associated at each time with its nearest truth object when that is
    within ``association_distance_m`` (metres). ``hold_s`` as in ``ospa``.
    """
    _, track_sets, truth_sets = _frames(tracks, truth, times_s, True, hold_s)
    n_truth = held = n_track = spurious = 0
    matched_tracks = 0
    sq: list[Array] = []
    holders: dict[int, set[int]] = {}
    for (lat, lon, alt, ids), (glat, glon, galt, gobj) in zip(track_sets, truth_sets, strict=True):
        n_truth += len(glat)
        n_track += len(lat)
        if not len(lat):
            continue
        if not len(glat):
            spurious += len(lat)
            continue
        d = _distances(lat, lon, alt, glat, glon, galt)
        nearest = np.argmin(d, axis=1)
        dmin = d[np.arange(len(lat)), nearest]
        ok = dmin <= association_distance_m
        spurious += int((~ok).sum())
        matched_tracks += int(ok.sum())
        held_here = np.unique(nearest[ok])
        held += len(held_here)
        sq.append(dmin[ok] ** 2)
        for tid, obj in zip(ids[ok], gobj[nearest[ok]], strict=True):
            holders.setdefault(int(obj), set()).add(int(tid))
    accuracy = float(np.sqrt(np.concatenate(sq).mean())) if sq and sum(len(s) for s in sq) else float("nan")
    return SiapResult(
        completeness=held / n_truth if n_truth else float("nan"),
        spuriousness=spurious / n_track if n_track else float("nan"),
        ambiguity=matched_tracks / held if held else float("nan"),
        accuracy_m=accuracy,
        ids_per_object=float(np.mean([len(v) for v in holders.values()])) if holders else float("nan"),
    )
