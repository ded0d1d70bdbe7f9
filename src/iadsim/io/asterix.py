"""EUROCONTROL ASTERIX: CAT048 monoradar target reports of detections, CAT062 system tracks of node
pictures, raw datablock files and pcap captures (docs/asterix.md).

Encoding and decoding use ``libasterix`` (the ``asterix`` extra; module ``asterix``): CAT048 edition
1.32 and CAT062 edition 1.21 as it ships them. A CAT048 record carries no sensor position and no
measurement accuracy, so a detections export comes with its sources table (``asterix-sources.csv``):
SAC/SIC, sensor id, site and accuracies per radar; the reader takes that table back to build a
DETECTIONS table for ``iadsim track``.

Every number crosses the boundary in ASTERIX's units and least significant bits (LSB): range 1/256
NM, azimuth 360/2¹⁶ °, height of a 3D radar 25 ft, time of day 1/128 s; WGS-84 positions of CAT062
180/2²⁵ °, velocity 0.25 m/s, geometric altitude 6.25 ft. What does not fit a field (a range beyond
256 NM, a height beyond ±204 800 ft) is not written, and counted.
"""

from __future__ import annotations

import csv
import io
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from iadsim.constants import EARTH_RADIUS_M
from iadsim.io.pcap import PCAP_MAGICS, PcapError, udp_payloads, write_pcap
from iadsim.io.run_folder import RunFolder, read_run_folder

__all__ = [
    "ASTERIX_UDP_PORT",
    "AsterixError",
    "AsterixExport",
    "SensorSource",
    "detections_to_cat048",
    "export_asterix",
    "read_cat048",
    "read_sources",
    "tracks_to_cat062",
]

Array = NDArray[np.float64]

NM_M = 1852.0
"""The international nautical mile, metres (exact by definition)."""
FT_M = 0.3048
"""The international foot, metres (exact by definition)."""
ASTERIX_UDP_PORT = 8600
"""The UDP port of the pcap's packets: the port Wireshark's ASTERIX dissector listens on by default."""
MAX_RHO_NM = 65535 / 256
"""I048/040 RHO: 16 bits of 1/256 NM."""
MAX_3D_HEIGHT_FT = 8191 * 25
"""I048/110 3DH: 14 bits two's complement of 25 ft."""
MAX_DATABLOCK_BYTES = 65535
SECONDS_PER_DAY = 86400.0
MAX_SIC = 255
CAT048_TYP_PSR = 1
"""I048/020 TYP = 1: a single primary (PSR) detection — what iadsim's radars report."""
SOURCES_FILE = "asterix-sources.csv"
SOURCE_COLUMNS = ("sac", "sic", "kind", "source_id", "nation", "lat_deg", "lon_deg", "alt_m",
                  "sigma_range_m", "sigma_azimuth_deg", "sigma_elevation_deg")


class AsterixError(ValueError):
    """Input that is not what the reader accepts; the message names the byte offset."""


def _lib() -> Any:
    try:
        import asterix.generated as gen
        from asterix import base
    except ImportError:
        raise AsterixError("ASTERIX needs libasterix: pip install 'iadsim[asterix]'") from None
    if not hasattr(gen, "Cat_048_1_32"):
        raise AsterixError("the installed module 'asterix' is not libasterix ≥ 0.36 (asterix-decoder "
                           "installs a module of the same name: keep it in a virtual environment of its own)")
    return gen, base


@dataclass(frozen=True)
class SensorSource:
    """One row of the sources table: an ASTERIX data source (a radar, or a command node).

    Attributes:
        sac, sic: System Area Code and System Identification Code (0–255 each).
        kind: ``radar`` or ``node``. source_id: iadsim's sensor id or node id. nation: its nation.
        lat_deg, lon_deg, alt_m: the radar's site (WGS-84); NaN for a node.
        sigma_range_m, sigma_azimuth_deg, sigma_elevation_deg: the radar's measurement standard
            deviations (NaN elevation for a 2D radar; NaN for a node).
    """

    sac: int
    sic: int
    kind: str
    source_id: str
    nation: str
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    alt_m: float = math.nan
    sigma_range_m: float = math.nan
    sigma_azimuth_deg: float = math.nan
    sigma_elevation_deg: float = math.nan


def write_sources(sources: list[SensorSource], path: Path) -> None:
    """Write the sources table as CSV (empty fields for NaN)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(SOURCE_COLUMNS)
        for s in sources:
            row = [getattr(s, c) for c in SOURCE_COLUMNS]
            w.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in row])


def read_sources(path: Path) -> list[SensorSource]:
    """Read a sources table (``asterix-sources.csv``); AsterixError names the line of a bad row."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AsterixError(f"{path}: cannot read the sources table ({exc})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(SOURCE_COLUMNS) - set(rows[0]):
        raise AsterixError(f"{path}: a sources table needs the columns {', '.join(SOURCE_COLUMNS)}")
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            floats = {c: float(row[c]) if row[c] != "" else math.nan for c in SOURCE_COLUMNS[5:]}
            src = SensorSource(int(row["sac"]), int(row["sic"]), row["kind"], row["source_id"],
                               row["nation"], **floats)
        except (TypeError, ValueError) as exc:
            raise AsterixError(f"{path}:{line}: {exc}") from None
        if not (0 <= src.sac <= 255 and 0 <= src.sic <= 255) or src.kind not in ("radar", "node"):
            raise AsterixError(f"{path}:{line}: SAC and SIC must be 0–255 and kind radar or node")
        out.append(src)
    keys = [(s.sac, s.sic) for s in out]
    if len(set(keys)) != len(keys):
        raise AsterixError(f"{path}: a SAC/SIC pair is listed twice")
    return out


def assign_sources(detections: pa.Table, nodes: list[str], sac_by_nation: dict[str, int],
                   default_sac: int) -> list[SensorSource]:
    """SAC from the sensor's nation (``sac_by_nation``, else ``default_sac``); SIC 1, 2, … in order of
    sensor id within a SAC, radars first, then the command nodes (under ``default_sac``)."""
    ids = detections["sensor_id"].to_pylist()
    first: dict[str, int] = {}
    for i, s in enumerate(ids):
        first.setdefault(str(s), i)
    nation = (detections["sensor_nation"].to_pylist() if "sensor_nation" in detections.column_names
              else [""] * len(ids))
    cols = {c: detections[c].to_pylist() for c in ("sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m",
                                                   "sigma_range_m", "sigma_azimuth_deg",
                                                   "sigma_elevation_deg")}
    next_sic: dict[int, int] = {}
    out = []
    for sid in sorted(first):
        i = first[sid]
        sac = sac_by_nation.get(str(nation[i]), default_sac)
        sic = next_sic.get(sac, 1)
        next_sic[sac] = sic + 1
        el = cols["sigma_elevation_deg"][i]
        out.append(SensorSource(sac, sic, "radar", sid, str(nation[i] or ""), cols["sensor_lat_deg"][i],
                                cols["sensor_lon_deg"][i], cols["sensor_alt_m"][i], cols["sigma_range_m"][i],
                                cols["sigma_azimuth_deg"][i], math.nan if el is None else float(el)))
    for node in sorted(nodes):
        sic = next_sic.get(default_sac, 1)
        next_sic[default_sac] = sic + 1
        out.append(SensorSource(default_sac, sic, "node", node, ""))
    if any(s.sic > MAX_SIC for s in out):
        raise AsterixError(f"more than {MAX_SIC} sources under one SAC: ASTERIX's SIC is one byte")
    return out


# -- geometry: a 3D radar's height ↔ elevation ------------------------------------------------------

def height_from_elevation(range_m: Array, elevation_rad: Array, sensor_alt_m: Array) -> Array:
    """Height above the spherical earth (R = EARTH_RADIUS_M) of a point at slant range and elevation
    from a sensor at ``sensor_alt_m``; the relation the tracker uses for 2D reports (docs/asterix.md)."""
    rs = EARTH_RADIUS_M + sensor_alt_m
    radius = np.sqrt(rs**2 + range_m**2 + 2.0 * range_m * rs * np.sin(elevation_rad))
    return np.asarray(radius - EARTH_RADIUS_M)


def elevation_from_height(range_m: Array, height_m: Array, sensor_alt_m: Array) -> Array:
    """The inverse of ``height_from_elevation``, radians."""
    rs = EARTH_RADIUS_M + sensor_alt_m
    rt = EARTH_RADIUS_M + height_m
    return np.asarray(np.arcsin(np.clip((rt**2 - rs**2 - range_m**2) / (2.0 * range_m * rs), -1.0, 1.0)))


# -- encoding ----------------------------------------------------------------------------------------

@dataclass
class Datablocks:
    """Encoded datablocks, each with its time (seconds of the run) for the pcap."""

    blocks: list[bytes] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def raw(self) -> bytes:
        return b"".join(self.blocks)


def _time_of_day(time_s: float, epoch_tod_s: float) -> float:
    return (epoch_tod_s + time_s) % SECONDS_PER_DAY


def _pack(spec: Any, records: list[Any], times: list[float], out: Datablocks) -> None:
    """Records into datablocks of at most 65 535 bytes, one per scan (``times`` equal within a call)."""
    start = 0
    while start < len(records):
        end = len(records)
        while True:
            data = spec.create(records[start:end]).unparse().to_bytes()
            if len(data) <= MAX_DATABLOCK_BYTES or end - start == 1:
                break
            end = start + (end - start) // 2
        out.blocks.append(data)
        out.time_s.append(times[start])
        out.records += end - start
        start = end


def detections_to_cat048(detections: pa.Table, sources: list[SensorSource],
                         epoch_tod_s: float = 0.0) -> Datablocks:
    """CAT048 target reports of a DETECTIONS table, one datablock per radar scan.

    Args:
        detections: DETECTIONS rows (docs/tracking-io.md); ``sensor_id`` must be in ``sources``.
        sources: the SAC/SIC of each radar.
        epoch_tod_s: the time of day (UTC seconds) of ``time_s = 0``.

    Items: I048/010 SAC/SIC, I048/140 time of day, I048/020 TYP = single PSR detection, I048/040
    RHO/THETA, and I048/110 the height of a 3D radar's report (from its elevation,
    ``height_from_elevation``). Rows beyond RHO's 256 NM or 3DH's ±204 800 ft are skipped and
    counted in ``skipped``.
    """
    gen, _ = _lib()
    spec = gen.Cat_048_1_32
    by_id = {s.source_id: s for s in sources if s.kind == "radar"}
    t = detections["time_s"].to_numpy()
    sid = np.asarray(detections["sensor_id"].to_pylist(), dtype=object)
    missing = set(sid) - set(by_id)
    if missing:
        raise AsterixError(f"sensors without a SAC/SIC in the sources table: {sorted(missing)[:3]}")
    rho_nm = detections["range_m"].to_numpy() / NM_M
    theta = detections["azimuth_deg"].to_numpy() % 360.0
    el = pc.fill_null(detections["elevation_deg"], np.nan).to_numpy(zero_copy_only=False)
    h_ft = height_from_elevation(detections["range_m"].to_numpy(), np.radians(el),
                                 detections["sensor_alt_m"].to_numpy()) / FT_M
    out = Datablocks()
    far = rho_nm > MAX_RHO_NM - 0.5 / 256
    high = np.isfinite(h_ft) & (np.abs(h_ft) > MAX_3D_HEIGHT_FT - 12.5)
    if far.any():
        out.skipped["range beyond 256 NM (I048/040)"] = int(far.sum())
    if (high & ~far).any():
        out.skipped["3D height beyond ±204 800 ft (I048/110)"] = int((high & ~far).sum())
    keep = ~far & ~high
    order = np.lexsort((sid.astype(str), t))
    order = order[keep[order]]
    if not len(order):
        return out
    change = np.flatnonzero((t[order][1:] != t[order][:-1]) | (sid[order][1:] != sid[order][:-1])) + 1
    for rows in np.split(order, change):
        s = by_id[sid[rows[0]]]
        tod = _time_of_day(float(t[rows[0]]), epoch_tod_s)
        records = []
        for i in rows:
            item: dict[str, Any] = {
                "010": (("SAC", s.sac), ("SIC", s.sic)),
                "140": (tod, "s"),
                "020": (CAT048_TYP_PSR << 4,),
                "040": (("RHO", (float(rho_nm[i]), "NM")), ("THETA", (float(theta[i]), "°"))),
            }
            if np.isfinite(h_ft[i]):
                item["110"] = (0, ("3DH", (float(h_ft[i]), "ft")))
            records.append(spec.cv_record.create(item))
        _pack(spec, records, [float(t[rows[0]])] * len(records), out)
    return out


def tracks_to_cat062(tracks: pa.Table, source: SensorSource, epoch_tod_s: float = 0.0) -> Datablocks:
    """CAT062 system track reports of one node's picture (``tracks_<node>.parquet``), one datablock
    per update time.

    Items: I062/010 SAC/SIC of the node, I062/070 time of track information, I062/040 track number
    (``track_id`` mod 65 536), I062/080 track status (MON = 0 multisensor, CNF from ``confirmed``,
    SRC = 2 "3D radar" where the altitude is known, else 0 "no source"), I062/105 WGS-84 position,
    I062/185 velocity east/north, I062/130 geometric altitude where known.
    """
    gen, _ = _lib()
    spec = gen.Cat_062_1_21
    t = tracks["time_s"].to_numpy()
    lat, lon = tracks["lat_deg"].to_numpy(), tracks["lon_deg"].to_numpy()
    alt = pc.fill_null(tracks["alt_m"], np.nan).to_numpy(zero_copy_only=False)
    ve, vn = tracks["vel_east_mps"].to_numpy(), tracks["vel_north_mps"].to_numpy()
    ids = tracks["track_id"].to_numpy()
    confirmed = (tracks["confirmed"].to_numpy(zero_copy_only=False) if "confirmed" in tracks.column_names
                 else np.ones(len(t), dtype=bool))
    out = Datablocks()
    order = np.lexsort((ids, t))
    change = np.flatnonzero(t[order][1:] != t[order][:-1]) + 1
    for rows in np.split(order, change) if len(order) else []:
        tod = _time_of_day(float(t[rows[0]]), epoch_tod_s)
        records = []
        for i in rows:
            known = bool(np.isfinite(alt[i]))
            # I062/080 first octet without FX: MON SPI MRH (0: multisensor, no SPI, barometric) SRC CNF
            status = ((2 if known else 0) << 1) | (0 if confirmed[i] else 1)
            item: dict[str, Any] = {
                "010": (("SAC", source.sac), ("SIC", source.sic)),
                "070": (tod, "s"),
                "105": (("LAT", (float(lat[i]), "°")), ("LON", (float(lon[i]), "°"))),
                "185": (("VX", (float(ve[i]), "m/s")), ("VY", (float(vn[i]), "m/s"))),
                "040": int(ids[i]) % 65536,
                "080": (status,),
            }
            if known:
                item["130"] = (float(alt[i]) / FT_M, "ft")
            records.append(spec.cv_record.create(item))
        _pack(spec, records, [float(t[rows[0]])] * len(records), out)
    return out


# -- decoding ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cat048Report:
    """One decoded CAT048 target report (ASTERIX units)."""

    offset: int
    sac: int
    sic: int
    time_of_day_s: float
    rho_nm: float
    theta_deg: float
    height_ft: float


KNOWN_SKIPPED = {34: "CAT034 (radar service messages)"}


def _datablocks(data: bytes, base: int) -> Iterator[tuple[int, int, bytes]]:
    """(offset, category, records bytes) of each datablock of ``data`` (at file offset ``base``)."""
    pos = 0
    while pos < len(data):
        if len(data) - pos < 3:
            raise AsterixError(f"byte {base + pos}: truncated datablock ({len(data) - pos} bytes, "
                               "a datablock header has 3)")
        cat = data[pos]
        length = int.from_bytes(data[pos + 1:pos + 3], "big")
        if length < 3 or pos + length > len(data):
            why = "is below 3" if length < 3 else f"runs past the end ({len(data) - pos} bytes left)"
            raise AsterixError(f"byte {base + pos}: CAT{cat:03d} datablock length {length} {why}")
        yield base + pos, cat, data[pos + 3:pos + length]
        pos += length


def _payloads(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``udp_payloads`` with its errors as AsterixError, in file order (lazily: the first bad place
    in the file is the one reported)."""
    try:
        yield from udp_payloads(data)
    except PcapError as exc:
        raise AsterixError(str(exc)) from None


def decode_cat048(data: bytes) -> list[Cat048Report]:
    """Every CAT048 report of raw datablocks or a pcap (by its magic number), in file order.

    Raises:
        AsterixError: at the first bad datablock or record, naming its byte offset: truncated data,
            a length that does not fit, a category other than 048 (CAT034 service messages are
            skipped), a record whose FSPEC or items run past its datablock, a report without
            I048/010, I048/140 or I048/040.
    """
    gen, base = _lib()
    spec = gen.Cat_048_1_32
    chunks: Iterator[tuple[int, bytes]]
    if len(data) >= 4 and struct.unpack("<I", data[:4])[0] in PCAP_MAGICS:
        chunks = _payloads(data)
    else:
        chunks = iter([(0, data)])
    out = []
    for where, payload in chunks:
        for offset, cat, records in _datablocks(payload, where):
            if cat in KNOWN_SKIPPED:
                continue
            if cat != 48:
                raise AsterixError(f"byte {offset}: CAT{cat:03d} datablock; this reader takes CAT048 target "
                                   "reports (and skips CAT034)")
            remaining = base.Bits.from_bytes(records)
            total = len(remaining)
            while len(remaining):
                at = offset + 3 + (total - len(remaining)) // 8
                result = spec.cv_record.parse(base.ParsingMode.StrictParsing, remaining)
                if isinstance(result, ValueError):
                    raise AsterixError(f"byte {at}: bad CAT048 record ({result}: its FSPEC or items run "
                                       "past the datablock, or an item is malformed)")
                rec, remaining = result
                out.append(_report(rec, at))
    return out


def _report(rec: Any, at: int) -> Cat048Report:
    i010, i140, i040 = rec.get_item("010"), rec.get_item("140"), rec.get_item("040")
    if i010 is None or i140 is None or i040 is None:
        raise AsterixError(f"byte {at}: CAT048 record without I048/010, I048/140 or I048/040 "
                           "(data source, time of day and polar position are needed)")
    i110 = rec.get_item("110")
    return Cat048Report(
        at, i010.variation.get_item("SAC").as_uint(), i010.variation.get_item("SIC").as_uint(),
        float(i140.variation.content.as_quantity("s")),
        float(i040.variation.get_item("RHO").variation.content.as_quantity("NM")),
        float(i040.variation.get_item("THETA").variation.content.as_quantity("°")),
        math.nan if i110 is None
        else float(i110.variation.get_item("3DH").variation.content.as_quantity("ft")))


def read_cat048(data: bytes, sources: list[SensorSource], epoch_tod_s: float = 0.0) -> pa.Table:
    """A DETECTIONS table (docs/tracking-io.md) from CAT048 target reports and their sources table.

    ``time_s`` is the time of day less ``epoch_tod_s``, unwrapped across midnight (a report more
    than 12 h earlier than the previous one is taken as the next day). Elevation from I048/110
    (``elevation_from_height``), else empty (a 2D report).

    Raises:
        AsterixError: malformed input (the byte offset), or a SAC/SIC not in ``sources``.
    """
    reports = decode_cat048(data)
    by_key = {(s.sac, s.sic): s for s in sources if s.kind == "radar"}
    rows: dict[str, list[Any]] = {c: [] for c in (
        "time_s", "sensor_id", "sensor_lat_deg", "sensor_lon_deg", "sensor_alt_m", "range_m", "azimuth_deg",
        "elevation_deg", "sigma_range_m", "sigma_azimuth_deg", "sigma_elevation_deg")}
    day = 0.0
    previous = None
    for r in reports:
        s = by_key.get((r.sac, r.sic))
        if s is None:
            raise AsterixError(f"byte {r.offset}: SAC {r.sac} SIC {r.sic} is not a radar of the sources "
                               "table")
        if previous is not None and r.time_of_day_s < previous - SECONDS_PER_DAY / 2:
            day += SECONDS_PER_DAY
        previous = r.time_of_day_s
        range_m = r.rho_nm * NM_M
        el = (float(np.degrees(elevation_from_height(np.asarray(range_m), np.asarray(r.height_ft * FT_M),
                                                     np.asarray(s.alt_m))))
              if math.isfinite(r.height_ft) and math.isfinite(s.sigma_elevation_deg) else None)
        rows["time_s"].append(day + r.time_of_day_s - epoch_tod_s)
        rows["sensor_id"].append(s.source_id)
        rows["sensor_lat_deg"].append(s.lat_deg)
        rows["sensor_lon_deg"].append(s.lon_deg)
        rows["sensor_alt_m"].append(s.alt_m)
        rows["range_m"].append(range_m)
        rows["azimuth_deg"].append(r.theta_deg)
        rows["elevation_deg"].append(el)
        rows["sigma_range_m"].append(s.sigma_range_m)
        rows["sigma_azimuth_deg"].append(s.sigma_azimuth_deg)
        rows["sigma_elevation_deg"].append(s.sigma_elevation_deg if el is not None else None)
    types = {"sensor_id": pa.string()}
    return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in rows.items()})


# -- the export of a run folder -----------------------------------------------------------------------

@dataclass(frozen=True)
class AsterixExport:
    """What ``export_asterix`` wrote: file paths, record counts and skipped detections by reason."""

    files: list[Path]
    cat048_records: int
    cat062_records: int
    skipped: dict[str, int]


def export_asterix(run_dir: Path, out_dir: Path, *, sac_by_nation: dict[str, int] | None = None,
                   default_sac: int = 0, epoch_tod_s: float = 0.0) -> AsterixExport:
    """Write a run folder's detections (CAT048) and node pictures (CAT062) as ASTERIX.

    Files in ``out_dir`` (created; existing files are not overwritten): ``detections.cat048.ast``
    and ``detections.cat048.pcap``; per node ``picture_<node>.cat062.ast`` and ``.pcap``; and
    ``asterix-sources.csv``, the SAC/SIC table. Times: the run's ``as_of`` date at 00:00 UTC plus
    ``epoch_tod_s`` is ``time_s = 0``.
    """
    import datetime as dt

    from iadsim.data.asterix import asterix_settings

    run: RunFolder = read_run_folder(run_dir)
    settings = asterix_settings()
    sac_map = dict(settings.sac_by_nation if sac_by_nation is None else sac_by_nation)
    detections = run.table("detections")
    nodes = {rel[len("tracks_"):-len(".parquet")]: path for rel, path in run.tables("tracks_")}
    sources = assign_sources(detections, list(nodes), sac_map,
                             default_sac if sac_by_nation is not None else settings.default_sac)
    as_of = dt.date.fromisoformat(str(run.json("scenario.json")["as_of"]))
    epoch_unix = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC).timestamp() + epoch_tod_s
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def fresh(name: str) -> Path:
        path = out_dir / name
        if path.exists():
            raise AsterixError(f"{path} exists: not overwritten (choose another --out)")
        return path

    cat048 = detections_to_cat048(detections, sources, epoch_tod_s)
    targets = [("detections.cat048", cat048)]
    node_source = {s.source_id: s for s in sources if s.kind == "node"}
    cat062_records = 0
    for node in sorted(nodes):
        blocks = tracks_to_cat062(run.table(f"tracks_{node}.parquet"), node_source[node], epoch_tod_s)
        cat062_records += blocks.records
        targets.append((f"picture_{node}.cat062", blocks))
    paths = [(fresh(f"{stem}.ast"), fresh(f"{stem}.pcap"), blocks) for stem, blocks in targets]
    src_path = fresh(SOURCES_FILE)
    for raw_path, pcap_path, blocks in paths:
        raw_path.write_bytes(blocks.raw())
        write_pcap(blocks.blocks, blocks.time_s, epoch_unix, pcap_path, ASTERIX_UDP_PORT)
        written += [raw_path, pcap_path]
    write_sources(sources, src_path)
    written.append(src_path)
    return AsterixExport(written, cat048.records, cat062_records, dict(cat048.skipped))
