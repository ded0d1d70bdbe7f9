"""Classic pcap files of UDP datagrams: the wire form of the ASTERIX and DIS exports, which
Wireshark opens (docs/asterix.md, docs/dis.md)."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LINKTYPE_ETHERNET", "PCAP_MAGIC", "PCAP_MAGICS", "PcapError", "udp_payloads", "write_pcap"]


class PcapError(ValueError):
    """A pcap that cannot be read; the message starts with the byte offset."""


PCAP_MAGIC = 0xA1B2C3D4
PCAP_MAGICS = (0xA1B2C3D4, 0xA1B23C4D, 0xD4C3B2A1, 0x4D3CB2A1)
"""Classic pcap, microsecond or nanosecond, little- or big-endian (as read little-endian)."""
LINKTYPE_ETHERNET = 1
_SRC_IP = bytes([192, 0, 2, 1])  # TEST-NET-1 (RFC 5737): documentation addresses, never routed
_DST_IP = bytes([192, 0, 2, 255])


def _ipv4_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def write_pcap(payloads: list[bytes], time_s: list[float], epoch_unix_s: float, path: Path,
               port: int) -> None:
    """A classic pcap of UDP datagrams (Ethernet, IPv4 192.0.2.1 → 192.0.2.255, to ``port``), one per
    payload, stamped ``epoch_unix_s + time_s`` (microseconds)."""
    with Path(path).open("wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for ident, (payload, t) in enumerate(zip(payloads, time_s, strict=True)):
            udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                             _SRC_IP, _DST_IP)
            ip = ip[:10] + struct.pack("!H", _ipv4_checksum(ip)) + ip[12:]
            frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
            stamp = epoch_unix_s + t
            sec = math.floor(stamp)
            usec = min(round((stamp - sec) * 1e6), 999_999)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def udp_payloads(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(file offset, UDP payload) of each IPv4 UDP packet of a classic pcap, in file order; other
    packets are skipped. PcapError names the byte offset of a bad packet."""
    if len(data) < 24:
        raise PcapError("byte 0: a pcap file needs a 24-byte header")
    magic = struct.unpack("<I", data[:4])[0]
    endian = {0xA1B2C3D4: "<", 0xA1B23C4D: "<", 0xD4C3B2A1: ">", 0x4D3CB2A1: ">"}.get(magic)
    if endian is None:
        raise PcapError("byte 0: not a pcap file")
    link = struct.unpack(endian + "I", data[20:24])[0]
    if link not in (LINKTYPE_ETHERNET, 101, 228, 113):
        raise PcapError(f"byte 20: pcap link type {link} is not Ethernet, raw IPv4 or Linux cooked")
    pos = 24
    while pos < len(data):
        if pos + 16 > len(data):
            raise PcapError(f"byte {pos}: truncated pcap packet header")
        incl = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        start, end = pos + 16, pos + 16 + incl
        if end > len(data):
            raise PcapError(f"byte {pos}: pcap packet of {incl} bytes runs past the end of the file")
        frame = data[start:end]
        ip = {LINKTYPE_ETHERNET: 14, 113: 16}.get(link, 0)
        if ip and len(frame) >= ip and frame[ip - 2:ip] != b"\x08\x00":
            pos = end  # not IPv4 (ARP, IPv6, …)
            continue
        if len(frame) < ip + 20 or frame[ip] >> 4 != 4:
            pos = end
            continue
        ihl = (frame[ip] & 0x0F) * 4
        if frame[ip + 9] != 17 or len(frame) < ip + ihl + 8:
            pos = end
            continue
        udp = ip + ihl
        length = struct.unpack("!H", frame[udp + 4:udp + 6])[0]
        if length < 8 or udp + length > len(frame):
            raise PcapError(f"byte {start + udp}: UDP length {length} does not fit its packet")
        yield start + udp + 8, frame[udp + 8:udp + length]
        pos = end
