"""IEEE 1278.1 DIS: Entity State PDUs of a run's truth and fighters, raw and as a pcap (docs/dis.md).

PDUs are built and read with ``opendis`` (DIS 7). opendis 1.0 leaves the PDU type, the protocol
family and the length at 0 and its PDU status and appearance fields are not serialisable as
created: every PDU here sets them (type 1 Entity State, family 1 Entity Information/Interaction,
length 144 bytes, status 0). Entity types come from ``data/formats/dis.yaml``: the role of each
aircraft type of the catalog and the nation, in the enumerations of SISO-REF-010 as Wireshark's DIS
dissector names them.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.io.pcap import PCAP_MAGICS, PcapError, udp_payloads, write_pcap
from iadsim.io.run_folder import read_run_folder

__all__ = ["DIS_UDP_PORT", "DisError", "DisExport", "EntityKinds", "entity_state_pdus", "export_dis",
           "read_entity_states"]

Array = NDArray[np.float64]

DIS_UDP_PORT = 3000
"""The UDP port of the pcap's packets: the port Wireshark's DIS dissector listens on by default."""
ENTITY_STATE_PDU = 1
ENTITY_INFORMATION_FAMILY = 1
PROTOCOL_VERSION = 7  # IEEE 1278.1-2012
ENTITY_STATE_BYTES = 144
"""An Entity State PDU without variable parameters: 12-byte header + 132."""
DRM_FPW = 2
"""Dead reckoning algorithm 2, DRM(F, P, W): constant velocity, world coordinates."""
ASCII = 1
SITE = 1
APPLICATION = {"truth": 1, "fighters": 2}


class DisError(ValueError):
    """DIS input that is not what the reader accepts; the message starts with the byte offset."""


def _opendis() -> Any:
    try:
        from opendis import dis7
        from opendis.DataInputStream import DataInputStream
        from opendis.DataOutputStream import DataOutputStream
    except ImportError:
        raise DisError("DIS needs opendis: pip install --no-deps 'opendis>=1.0' (docs/dis.md)") from None
    return dis7, DataInputStream, DataOutputStream


@dataclass(frozen=True)
class EntityKinds:
    """DIS entity types (kind, domain, country, category) by aircraft role and nation, and forces."""

    by_role: dict[str, tuple[int, int, int]]
    country: dict[str, int]
    force: dict[str, int]

    @classmethod
    def bundled(cls) -> EntityKinds:
        import yaml

        from iadsim.data import data_dir

        data = yaml.safe_load((data_dir() / "formats" / "dis.yaml").read_text(encoding="utf-8"))
        by_role = {str(k): (int(v["kind"]), int(v["domain"]), int(v["category"]))
                   for k, v in data["roles"].items()}
        return cls(by_role, {str(k): int(v) for k, v in data["countries"].items()},
                   {str(k): int(v) for k, v in data["forces"].items()})


def dis_timestamp(time_s: Array, epoch_unix_s: float) -> NDArray[np.int64]:
    """DIS absolute timestamps: the time past the hour in units of 3600/2³¹ s, shifted left one bit,
    the lowest bit 1 (absolute)."""
    past_hour = np.mod(epoch_unix_s + time_s, 3600.0)
    units = np.minimum(np.floor(past_hour / 3600.0 * 2**31), 2**31 - 1).astype(np.int64)
    return np.asarray((units << 1) | 1, dtype=np.int64)


def euler_angles(lat_deg: Array, lon_deg: Array, heading_rad: Array, pitch_rad: Array) -> Array:
    """``(N, 3)`` DIS orientation (ψ, θ, φ) of a body with this heading (clockwise from north) and
    pitch, no roll, at this place: the Z-Y-X Euler angles of the body axes (x forward, y right,
    z down) relative to the geocentric (ECEF) frame, radians (IEEE 1278.1 §5.2.17)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    east = np.stack([-so, co, np.zeros_like(so)], axis=-1)
    down = np.stack([-cl * co, -cl * so, -sl], axis=-1)
    ch, sh, cp, sp = np.cos(heading_rad), np.sin(heading_rad), np.cos(pitch_rad), np.sin(pitch_rad)
    x = (ch * cp)[:, None] * north + (sh * cp)[:, None] * east - sp[:, None] * down
    y = -sh[:, None] * north + ch[:, None] * east
    z = np.cross(x, y)
    psi = np.arctan2(x[:, 1], x[:, 0])
    theta = -np.arcsin(np.clip(x[:, 2], -1.0, 1.0))
    phi = np.arctan2(y[:, 2], z[:, 2])
    return np.column_stack([psi, theta, phi])


def _enu_to_ecef_velocity(lat_deg: Array, lon_deg: Array, enu: Array) -> Array:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    return np.column_stack([-so * e - sl * co * n + cl * co * u, co * e - sl * so * n + cl * so * u,
                            cl * n + sl * u])


def entity_state_pdus(time_s: Array, entity: NDArray[np.int64], application: int, marking: list[str],
                      entity_type: list[tuple[int, int, int, int]], force: list[int], lat_deg: Array,
                      lon_deg: Array, alt_m: Array, vel_enu_mps: Array, epoch_unix_s: float,
                      exercise: int = 1) -> list[bytes]:
    """One Entity State PDU per row (N rows), 144 bytes each.

    Args:
        time_s: ``(N,)`` seconds of the run. entity: ``(N,)`` entity numbers (1–65 535).
        application: the DIS application number of these entities (site 1).
        marking: per row, up to 11 ASCII characters. entity_type: per row (kind, domain, country,
            category). force: per row, the force id.
        lat_deg, lon_deg, alt_m: ``(N,)`` WGS-84. vel_enu_mps: ``(N, 3)`` east, north, up.
        epoch_unix_s: the UNIX time of ``time_s = 0`` (for the timestamps).
    """
    dis7, _, data_output = _opendis()
    ecef = geodetic_to_ecef(lat_deg, lon_deg, alt_m)
    vel = _enu_to_ecef_velocity(lat_deg, lon_deg, vel_enu_mps)
    heading = np.arctan2(vel_enu_mps[:, 0], vel_enu_mps[:, 1])
    pitch = np.arctan2(vel_enu_mps[:, 2], np.hypot(vel_enu_mps[:, 0], vel_enu_mps[:, 1]))
    angles = euler_angles(lat_deg, lon_deg, heading, pitch)
    stamps = dis_timestamp(time_s, epoch_unix_s)
    out = []
    for i in range(len(time_s)):
        pdu = dis7.EntityStatePdu()
        pdu.protocolVersion, pdu.exerciseID = PROTOCOL_VERSION, exercise
        pdu.pduType, pdu.protocolFamily = ENTITY_STATE_PDU, ENTITY_INFORMATION_FAMILY
        pdu.timestamp, pdu.length, pdu.pduStatus = int(stamps[i]), ENTITY_STATE_BYTES, 0
        pdu.entityAppearance, pdu.capabilities = 0, 0
        ident = pdu.entityID
        ident.siteID, ident.applicationID, ident.entityID = SITE, application, int(entity[i])
        pdu.forceId = force[i]
        kind, domain, country, category = entity_type[i]
        t = pdu.entityType
        t.entityKind, t.domain, t.country, t.category = kind, domain, country, category
        pdu.entityLocation.x, pdu.entityLocation.y, pdu.entityLocation.z = (float(v) for v in ecef[i])
        pdu.entityLinearVelocity.x, pdu.entityLinearVelocity.y, pdu.entityLinearVelocity.z = (
            float(v) for v in vel[i])
        pdu.entityOrientation.psi, pdu.entityOrientation.theta, pdu.entityOrientation.phi = (
            float(v) for v in angles[i])
        pdu.deadReckoningParameters.deadReckoningAlgorithm = DRM_FPW
        text = marking[i].encode("ascii", "replace")[:11]
        pdu.marking.characterSet = ASCII
        pdu.marking.characters = list(text.ljust(11, b"\0"))
        buf = io.BytesIO()
        pdu.serialize(data_output(buf))
        data = buf.getvalue()
        if len(data) != ENTITY_STATE_BYTES:
            raise AssertionError(f"an Entity State PDU of {len(data)} bytes")  # opendis changed
        out.append(data)
    return out


# -- reading ---------------------------------------------------------------------------------------

def read_entity_states(data: bytes) -> pa.Table:
    """Entity State PDUs of raw concatenated PDUs or a pcap (by its magic number) as a table.

    Returns:
        ``offset, site, application, entity, kind, domain, country, category, force, marking,
        timestamp, lat_deg, lon_deg, alt_m, vel_x_mps, vel_y_mps, vel_z_mps`` (velocity in ECEF).

    Raises:
        DisError: at the first bad PDU, naming its byte offset: a header cut short, a protocol
            version other than 4–7, a length below the header's or past the end of the data, a PDU
            type other than Entity State (1), an Entity State PDU shorter than its 144 bytes plus
            its variable parameters.
    """
    dis7, data_input, _ = _opendis()
    chunks: Any
    if len(data) >= 4 and struct.unpack("<I", data[:4])[0] in PCAP_MAGICS:
        chunks = _payloads(data)
    else:
        chunks = iter([(0, data)])
    rows: dict[str, list[Any]] = {c: [] for c in (
        "offset", "site", "application", "entity", "kind", "domain", "country", "category", "force",
        "marking", "timestamp", "x", "y", "z", "vel_x_mps", "vel_y_mps", "vel_z_mps")}
    for base, payload in chunks:
        pos = 0
        while pos < len(payload):
            at = base + pos
            if len(payload) - pos < 12:
                raise DisError(f"byte {at}: truncated PDU header ({len(payload) - pos} bytes, a header "
                               "has 12)")
            version, _, pdu_type = payload[pos], payload[pos + 1], payload[pos + 2]
            length = int.from_bytes(payload[pos + 8:pos + 10], "big")
            if not 4 <= version <= 7:
                raise DisError(f"byte {at}: protocol version {version} (DIS is 4–7)")
            if length < 12 or pos + length > len(payload):
                why = "is below 12" if length < 12 else f"runs past the end ({len(payload) - pos} bytes left)"
                raise DisError(f"byte {at}: PDU length {length} {why}")
            if pdu_type != ENTITY_STATE_PDU:
                raise DisError(f"byte {at}: PDU type {pdu_type}; this reader takes Entity State PDUs (1)")
            n_params = payload[pos + 127] if length >= 128 else 0
            if length != ENTITY_STATE_BYTES + 16 * n_params:
                raise DisError(f"byte {at}: Entity State PDU of {length} bytes; with {n_params} variable "
                               f"parameters it has {ENTITY_STATE_BYTES + 16 * n_params}")
            pdu = dis7.EntityStatePdu()
            try:
                pdu.parse(data_input(io.BytesIO(payload[pos:pos + length])))
            except (struct.error, ValueError, IndexError) as exc:
                raise DisError(f"byte {at}: Entity State PDU not readable ({exc})") from None
            rows["offset"].append(at)
            for name, value in (("site", pdu.entityID.siteID), ("application", pdu.entityID.applicationID),
                                ("entity", pdu.entityID.entityID), ("kind", pdu.entityType.entityKind),
                                ("domain", pdu.entityType.domain), ("country", pdu.entityType.country),
                                ("category", pdu.entityType.category), ("force", pdu.forceId),
                                ("timestamp", pdu.timestamp), ("x", pdu.entityLocation.x),
                                ("y", pdu.entityLocation.y), ("z", pdu.entityLocation.z),
                                ("vel_x_mps", pdu.entityLinearVelocity.x),
                                ("vel_y_mps", pdu.entityLinearVelocity.y),
                                ("vel_z_mps", pdu.entityLinearVelocity.z)):
                rows[name].append(value)
            # opendis reads the marking's characters as signed bytes
            text = bytes(int(c) & 0xFF for c in pdu.marking.characters)
            rows["marking"].append(text.rstrip(b"\0").decode("ascii", "replace"))
            pos += length
    xyz = np.column_stack([rows.pop("x"), rows.pop("y"), rows.pop("z")]).reshape(-1, 3).astype(float)
    lat, lon, alt = ecef_to_geodetic(xyz) if len(xyz) else (np.zeros(0), np.zeros(0), np.zeros(0))
    def kind(name: str) -> pa.DataType:
        return pa.string() if name == "marking" else pa.float64() if name.startswith("vel") else pa.int64()

    table = {k: pa.array(v, kind(k)) for k, v in rows.items()}
    table.update(lat_deg=pa.array(np.asarray(lat), pa.float64()),
                 lon_deg=pa.array(np.asarray(lon), pa.float64()),
                 alt_m=pa.array(np.asarray(alt), pa.float64()))
    return pa.table(table)


def _payloads(data: bytes) -> Any:
    try:
        yield from udp_payloads(data)
    except PcapError as exc:
        raise DisError(str(exc)) from None


# -- the export of a run folder -----------------------------------------------------------------------

@dataclass(frozen=True)
class DisExport:
    """What ``export_dis`` wrote: file paths and PDU counts (truth, fighters)."""

    files: list[Path]
    truth_pdus: int
    fighter_pdus: int


def _velocity_by_difference(keys: NDArray[Any], t: Array, enu: Array) -> Array:
    """``(N, 3)`` velocity of each row from its neighbours in time of the same key (rows sorted by
    key then time); a single row gets 0."""
    vel = np.zeros_like(enu)
    same_next = np.r_[keys[1:] == keys[:-1], False]
    same_prev = np.r_[False, keys[1:] == keys[:-1]]
    nxt = np.where(same_next, np.arange(len(t)) + 1, np.arange(len(t)))
    prv = np.where(same_prev, np.arange(len(t)) - 1, np.arange(len(t)))
    dt_ = t[nxt] - t[prv]
    ok = dt_ > 0
    vel[ok] = (enu[nxt][ok] - enu[prv][ok]) / dt_[ok, None]
    return vel


def export_dis(run_dir: Path, out_dir: Path, *, kinds: EntityKinds | None = None,
               exercise: int = 1) -> DisExport:
    """Write a run folder's truth objects and fighters as DIS Entity State PDUs.

    Files in ``out_dir`` (never overwritten): ``entities.dis`` (the PDUs one after another, in time
    order) and ``entities.pcap`` (one UDP datagram per PDU to port 3000). Truth objects are
    application 1, fighters (``interceptors.parquet``) application 2, entities numbered 1, 2, … in
    order of their ids; the marking is the id's last 11 characters. Time 0 is the run's date
    (``as_of``) at 00:00 UTC.
    """
    from iadsim.geo.frames import ecef_to_enu

    run = read_run_folder(run_dir)
    kinds = kinds or EntityKinds.bundled()
    scenario = run.scenario()
    roles = {k: v.role for k, v in scenario.catalog.aircraft.items()}
    epoch = dt.datetime.combine(scenario.as_of, dt.time(), tzinfo=dt.UTC).timestamp()
    parts: list[tuple[Array, list[bytes]]] = []
    counts = {}
    for source in ("truth", "fighters"):
        table = run.table("truth") if source == "truth" else (
            run.table("interceptors") if run.has("interceptors") else None)
        if table is None or not table.num_rows:
            counts[source] = 0
            continue
        ident = table["object_id" if source == "truth" else "flight_id"].to_pylist()
        kind_of = table["type" if source == "truth" else "aircraft"].to_pylist()
        nation = table["nation"].to_pylist() if "nation" in table.column_names else [None] * len(ident)
        t = table["time_s"].to_numpy()
        lat, lon, alt = (table[c].to_numpy() for c in ("lat_deg", "lon_deg", "alt_m"))
        order = np.lexsort((t, np.asarray(ident, dtype=object).astype(str)))
        ids = sorted(set(ident))
        number = {k: i + 1 for i, k in enumerate(ids)}
        if len(ids) > 65535:
            raise DisError(f"{len(ids)} {source} entities: a DIS entity number has 16 bits")
        if source == "truth":
            vel = np.column_stack([table[c].to_numpy()
                                   for c in ("vel_east_mps", "vel_north_mps", "vel_up_mps")])[order]
        else:
            keys = np.asarray(ident, dtype=object)[order]
            lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
            enu = ecef_to_enu(geodetic_to_ecef(lat[order], lon[order], alt[order]), lat0, lon0)
            # velocity in the local frame at the mean position: within 0.1 % of each point's own ENU
            # frame over a few hundred kilometres, and only the DIS dead-reckoning hint
            vel = _velocity_by_difference(keys, t[order], enu)
        rows = [int(i) for i in order]
        pdus = entity_state_pdus(
            t[order], np.array([number[ident[i]] for i in rows]), APPLICATION[source],
            [str(ident[i])[-11:] for i in rows],
            [(*kinds.by_role.get(roles.get(str(kind_of[i]), ""), (1, 2, 0))[:2],
              kinds.country.get(str(nation[i]) if nation[i] else _unit_nation(str(ident[i]), scenario), 0),
              kinds.by_role.get(roles.get(str(kind_of[i]), ""), (1, 2, 0))[2]) for i in rows],
            [kinds.force[source] for _ in rows], lat[order], lon[order], alt[order], vel, epoch, exercise)
        parts.append((t[order], pdus))
        counts[source] = len(pdus)
    times = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    pdus_all = [b for p in parts for b in p[1]]
    order_all = np.argsort(times, kind="stable")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw, pcap = out_dir / "entities.dis", out_dir / "entities.pcap"
    for path in (raw, pcap):
        if path.exists():
            raise DisError(f"{path} exists: not overwritten (choose another --out)")
    raw.write_bytes(b"".join(pdus_all[i] for i in order_all))
    write_pcap([pdus_all[i] for i in order_all], [float(times[i]) for i in order_all], epoch, pcap,
               DIS_UDP_PORT)
    return DisExport([raw, pcap], counts.get("truth", 0), counts.get("fighters", 0))


def _unit_nation(flight_id: str, scenario: Any) -> str:
    """A fighter's nation: its unit's (the flight id starts with the unit id)."""
    unit = scenario.units.get(flight_id.split("/")[0])
    return str(getattr(unit, "nation", "") or "")


