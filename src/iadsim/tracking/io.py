"""The tracker's tables: reading and checking DETECTIONS, writing TRACKS (docs/tracking-io.md).

DETECTIONS and TRACKS are Parquet, or CSV when the file name ends in ``.csv``. Bad input raises a
``TrackingInputError`` with one message naming the column, and where it applies the first bad row
(0-based, in the order of the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.io.parquet import write_table
from iadsim.io.paths import replace_atomically, temp_path

__all__ = [
    "DETECTION_COLUMNS",
    "DETECTION_LIMITS",
    "FIXED_SENSOR_TOLERANCE_M",
    "TRACK_SCHEMA",
    "Detections",
    "TrackingInputError",
    "read_detections",
    "read_tracks",
    "validate_detections",
    "write_tracks",
]

DETECTION_COLUMNS = ("time_s", "sensor_id", "sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m",
                     "range_m", "azimuth_deg", "elevation_deg", "sigma_range_m", "sigma_azimuth_deg",
                     "sigma_elevation_deg")
"""The DETECTIONS columns the tracker reads; other columns are ignored."""

KNOWN_EXTRA_COLUMNS = ("radar_type", "sensor_nation", "snr_db", "jammed", "object_id", "false_alarm",
                       "sensor_fixed")
"""Columns of the engine's detections that the tracker does not track with (truth and diagnostics;
``sensor_fixed``, optional, is checked by ``validate_detections``)."""

FIXED_SENSOR_TOLERANCE_M = 1.0
"""A fixed sensor's rows agree on its position within this, metres: horizontally (the chord between
the two lat/lon points on the ellipsoid) and in altitude, each (latitudes and longitudes written to
about 10⁻⁵ degree, ≈ 1 m, pass)."""

TRACK_SCHEMA = pa.schema([
    pa.field("time_s", pa.float64(), nullable=False),
    pa.field("track_id", pa.int64(), nullable=False),
    pa.field("lat_deg", pa.float64(), nullable=False),
    pa.field("lon_deg", pa.float64(), nullable=False),
    pa.field("alt_m", pa.float64()),
    pa.field("vel_east_mps", pa.float64(), nullable=False),
    pa.field("vel_north_mps", pa.float64(), nullable=False),
    pa.field("confirmed", pa.bool_(), nullable=False),
    pa.field("quality", pa.float64(), nullable=False),
    pa.field("alt_std_m", pa.float64(), nullable=False),
])
"""The TRACKS table: the issue's columns plus ``quality`` (share of recent scans with a detection) and
``alt_std_m`` (the altitude's standard deviation, also where ``alt_m`` is empty)."""


class TrackingInputError(ValueError):
    """DETECTIONS that the tracker cannot use; the message names the column (and row)."""


Array = NDArray[np.float64]


@dataclass(frozen=True)
class Detections:
    """Checked detections as arrays of N rows, in the input's row order, SI units.

    Attributes:
        time_s: ``(N,)`` seconds. sensor: ``(N,)`` integer code into ``sensor_ids``.
        sensor_ids: the distinct sensor identifiers (strings), sorted.
        sensor_lat_deg, sensor_lon_deg, sensor_alt_m: ``(N,)`` sensor position (degrees, metres).
        range_m: ``(N,)``; azimuth_rad, elevation_rad: ``(N,)`` radians (elevation NaN for 2D).
        sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad: ``(N,)`` (NaN for 2D).
    """

    time_s: Array
    sensor: NDArray[np.int64]
    sensor_ids: tuple[str, ...]
    sensor_lat_deg: Array
    sensor_lon_deg: Array
    sensor_alt_m: Array
    range_m: Array
    azimuth_rad: Array
    elevation_rad: Array
    sigma_range_m: Array
    sigma_azimuth_rad: Array
    sigma_elevation_rad: Array

    @property
    def three_d(self) -> NDArray[np.bool_]:
        """``(N,)`` true where the row has an elevation."""
        return np.asarray(np.isfinite(self.elevation_rad))


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def read_detections(path: str | Path) -> pa.Table:
    """Read a DETECTIONS table from Parquet, or CSV when the name ends in ``.csv`` (or ``.csv.gz``).

    The table is returned as read; ``track_detections`` checks it (``validate_detections``).
    Raises ``TrackingInputError`` when the file is missing or unreadable (the message does not
    repeat the file name: the caller names it once).
    """
    path = Path(path)
    if path.is_dir():
        raise TrackingInputError("a folder, not a DETECTIONS file (Parquet or CSV)")
    if not path.is_file():
        raise TrackingInputError("no such file")
    try:
        if _is_csv(path):
            options = pacsv.ConvertOptions(column_types={"sensor_id": pa.string()},
                                           strings_can_be_null=False)
            return pacsv.read_csv(path, convert_options=options)
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TrackingInputError(f"cannot read as {'CSV' if _is_csv(path) else 'Parquet'}: "
                                 f"{exc}") from exc


def _numeric(table: pa.Table, name: str) -> Array:
    column = table.column(name)
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
            or pa.types.is_null(column.type)):
        raise TrackingInputError(f"column {name!r} must be numeric, got {column.type}")
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _first_bad(name: str, bad: NDArray[np.bool_], values: Array, allowed: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = "empty" if np.isnan(values[row]) else repr(float(values[row]))
        raise TrackingInputError(f"column {name!r}, row {row}: {value} ({allowed}); "
                                 f"{int(bad.sum())} bad row(s) in all")


def validate_detections(table: pa.Table) -> Detections:
    """Check a DETECTIONS table and return its rows as SI arrays (see ``Detections``).

    Rules: the eleven columns present; numeric columns numeric; ``time_s`` finite; sensor
    positions finite; ``range_m`` finite and > 0; ``azimuth_deg`` finite; ``sigma_range_m`` and
    ``sigma_azimuth_deg`` finite and > 0; ``elevation_deg`` and ``sigma_elevation_deg`` both empty
    (2D) or both given with the sigma > 0 (3D); one sensor position per (sensor_id, time_s).
    The optional boolean ``sensor_fixed`` (empty counts as false) must agree across a sensor's rows,
    and a fixed sensor's rows give one position within ``FIXED_SENSOR_TOLERANCE_M``.
    Rows may come in any order (the tracker sorts by time).
    """
    missing = [c for c in DETECTION_COLUMNS if c not in table.column_names]
    if missing:
        # extra columns are allowed (the engine adds truth columns); name the unknown ones, since a
        # misspelt column is the usual reason for a missing one
        unknown = [c for c in table.column_names if c not in DETECTION_COLUMNS
                   and c not in KNOWN_EXTRA_COLUMNS]
        hint = f"; columns not used: {', '.join(map(repr, unknown))}" if unknown else ""
        raise TrackingInputError(f"missing column(s) {', '.join(map(repr, missing))}{hint}; DETECTIONS "
                                 f"needs {', '.join(DETECTION_COLUMNS)} (docs/tracking-io.md)")
    values = {name: _numeric(table, name) for name in DETECTION_COLUMNS if name != "sensor_id"}
    sensor_col = table.column("sensor_id")
    if pa.types.is_dictionary(sensor_col.type):
        sensor_col = pc.cast(sensor_col, sensor_col.type.value_type)
    if not (pa.types.is_string(sensor_col.type) or pa.types.is_large_string(sensor_col.type)
            or pa.types.is_integer(sensor_col.type)):
        raise TrackingInputError(f"column 'sensor_id' must be text or integer, got {sensor_col.type}")
    if sensor_col.null_count:
        row = int(np.flatnonzero(pc.is_null(sensor_col).to_numpy(zero_copy_only=False))[0])
        raise TrackingInputError(f"column 'sensor_id', row {row}: empty (every detection names its sensor)")
    sensor_text = np.asarray(pc.cast(sensor_col, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    blank = [i for i, t in enumerate(sensor_text) if not str(t).strip()]  # a CSV's empty field is ""
    if blank:
        raise TrackingInputError(f"column 'sensor_id', row {blank[0]}: empty (every detection names its "
                                 "sensor)")
    ids, code = np.unique(sensor_text, return_inverse=True) if len(sensor_text) else (
        np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))

    for name in ("time_s", "sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m", "azimuth_deg"):
        _first_bad(name, ~np.isfinite(values[name]), values[name], "must be a finite number")
    lat = values["sensor_lat_deg"]
    _first_bad("sensor_lat_deg", np.abs(lat) > 90.0, lat, "must be within ±90")
    for name in ("range_m", "sigma_range_m", "sigma_azimuth_deg"):
        v = values[name]
        _first_bad(name, ~(np.isfinite(v) & (v > 0.0)), v, "must be a finite number > 0")
    # physical limits, so that no value reaches the filter as an overflow (time_s of -1e308)
    for name, limit, why in DETECTION_LIMITS:
        v = values[name]
        _first_bad(name, np.abs(np.nan_to_num(v)) > limit, v, f"must be within ±{limit:g} ({why})")
    _check_no_duplicate_rows(values, code)
    el, sel = values["elevation_deg"], values["sigma_elevation_deg"]
    three = np.isfinite(el)
    _first_bad("elevation_deg", ~three & ~np.isnan(el), el, "must be finite, or empty for a 2D radar")
    _first_bad("elevation_deg", np.abs(np.where(three, el, 0.0)) > 90.0, el, "must be within ±90")
    _first_bad("sigma_elevation_deg", three & ~(np.isfinite(sel) & (sel > 0.0)), sel,
               "must be a finite number > 0 where elevation_deg is given")
    _first_bad("sigma_elevation_deg", ~three & ~np.isnan(sel), sel,
               "must be empty where elevation_deg is empty (2D radar)")
    _check_sensor_fixed_in_scan(values, code)
    if "sensor_fixed" in table.column_names:
        _check_fixed_sensors(table.column("sensor_fixed"), values, code, ids)
    return Detections(
        time_s=values["time_s"], sensor=code.astype(np.int64), sensor_ids=tuple(str(s) for s in ids),
        sensor_lat_deg=lat, sensor_lon_deg=values["sensor_lon_deg"], sensor_alt_m=values["sensor_alt_m"],
        range_m=values["range_m"], azimuth_rad=np.radians(values["azimuth_deg"]),
        elevation_rad=np.radians(el), sigma_range_m=values["sigma_range_m"],
        sigma_azimuth_rad=np.radians(values["sigma_azimuth_deg"]),
        sigma_elevation_rad=np.radians(np.where(three, sel, np.nan)))


DETECTION_LIMITS: tuple[tuple[str, float, str], ...] = (
    ("time_s", 1e10, "about 300 years of seconds"),
    ("sensor_lon_deg", 360.0, "degrees"),
    ("sensor_alt_m", 1e6, "metres, far above any airborne sensor"),
    ("range_m", 1e8, "metres, beyond any radar's reach"),
    ("azimuth_deg", 1e6, "degrees"),
    ("sigma_range_m", 1e7, "metres"),
    ("sigma_azimuth_deg", 360.0, "degrees"),
    ("sigma_elevation_deg", 180.0, "degrees"),
)
"""The largest magnitude of each numeric DETECTIONS column (docs/tracking-io.md)."""


def _check_no_duplicate_rows(values: dict[str, Array], code: NDArray[np.intp]) -> None:
    """No detection twice: rows equal in every column are one report sent twice, which would
    start two tracks on one target."""
    if len(code) < 2:
        return
    names = [n for n in DETECTION_COLUMNS if n != "sensor_id"]
    keys = [np.nan_to_num(values[n], nan=np.inf) for n in reversed(names)]
    order = np.lexsort((*keys, code))
    same = code[order][1:] == code[order][:-1]
    for key in keys:
        same &= key[order][1:] == key[order][:-1]
    if same.any():
        i = int(np.flatnonzero(same)[0])
        first, second = sorted((int(order[i]), int(order[i + 1])))
        raise TrackingInputError(f"rows {first} and {second} are the same detection (every column "
                                 f"equal); {int(same.sum())} duplicate row(s) in all: remove them")


def _check_sensor_fixed_in_scan(values: dict[str, Array], code: NDArray[np.intp]) -> None:
    """A sensor has one position per scan (rows with the same sensor_id and time_s)."""
    if not len(code):
        return
    order = np.lexsort((values["time_s"], code))
    sensor, time = code[order], values["time_s"][order]
    same = (sensor[1:] == sensor[:-1]) & (time[1:] == time[:-1])
    for name in ("sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m"):
        v = values[name][order]
        moved = same & (v[1:] != v[:-1])
        if moved.any():
            row = int(order[1:][moved][0])
            raise TrackingInputError(
                f"column {name!r}, row {row}: the sensor's position differs from another row of the same "
                f"sensor_id at the same time_s (one position per sensor and scan)")


def _check_fixed_sensors(column: pa.ChunkedArray, values: dict[str, Array], code: NDArray[np.intp],
                         ids: NDArray[np.object_]) -> None:
    """``sensor_fixed`` agrees across each sensor's rows; a fixed sensor's rows give one position.

    Each row is compared with its sensor's first row (input order); the message names the first
    bad row in input order, the sensor, and both positions.
    """
    if not (pa.types.is_boolean(column.type) or pa.types.is_null(column.type)):
        raise TrackingInputError(f"column 'sensor_fixed' must be boolean (true, false or empty), "
                                 f"got {column.type}")
    if not len(code):
        return
    # an empty value counts as false: nothing is claimed about the sensor
    fixed = np.asarray(pc.fill_null(pc.cast(column, pa.bool_()), False).to_numpy(zero_copy_only=False),
                       dtype=bool)
    _, first_row = np.unique(code, return_index=True)
    ref = first_row[code]  # (N,) each row's sensor's first row
    disagree = fixed != fixed[ref]
    if disagree.any():
        row = int(np.flatnonzero(disagree)[0])
        raise TrackingInputError(
            f"column 'sensor_fixed', row {row}: {str(fixed[row]).lower()} for sensor {ids[code[row]]!r}, "
            f"which is {str(fixed[ref[row]]).lower()} in row {int(ref[row])} (a sensor is fixed in all its "
            f"rows or in none; empty counts as false); {int(disagree.sum())} bad row(s) in all")
    lat, lon, alt = values["sensor_lat_deg"], values["sensor_lon_deg"], values["sensor_alt_m"]
    surface = geodetic_to_ecef(lat, lon, 0.0)
    horizontal = np.linalg.norm(surface - surface[ref], axis=1)
    vertical = np.abs(alt - alt[ref])
    moved = fixed & ((horizontal > FIXED_SENSOR_TOLERANCE_M) | (vertical > FIXED_SENSOR_TOLERANCE_M))
    if moved.any():
        row = int(np.flatnonzero(moved)[0])
        first = int(ref[row])

        def where(i: int) -> str:
            return f"lat {lat[i]:.6f}°, lon {lon[i]:.6f}°, alt {alt[i]:.1f} m"

        raise TrackingInputError(
            f"row {row}: sensor {ids[code[row]]!r} is fixed (column 'sensor_fixed') but moved: {where(row)} "
            f"here, {where(first)} in row {first} ({horizontal[row]:.1f} m horizontally, "
            f"{vertical[row]:.1f} m in altitude; a fixed sensor's rows agree within "
            f"{FIXED_SENSOR_TOLERANCE_M:g} m in each); {int(moved.sum())} bad row(s) in all")


def write_tracks(table: pa.Table, path: str | Path) -> Path:
    """Write a TRACKS table to Parquet (zstd, reproducible bytes), or CSV when the name ends in ``.csv``.

    In CSV an unknown altitude is an empty field. Returns the path written.
    """
    path = Path(path)
    if _is_csv(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        try:
            pacsv.write_csv(table, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return replace_atomically(tmp, path)
    return write_table(table, path)


def read_tracks(path: str | Path) -> pa.Table:
    """Read a TRACKS table written by ``write_tracks`` (Parquet, or CSV by extension)."""
    path = Path(path)
    if _is_csv(path):
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=TRACK_SCHEMA))
    return pq.read_table(path)
