"""Shared fixtures: a small self-contained scenario text, and the bundled reference scenario."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

import iadsim
from iadsim.scenario.schema import Scenario

# A complete, valid scenario that needs no bundled data: the malformed-input tests edit it.
MINIMAL = """\
name: minimal test scenario
description: two battalions and a command post
as_of: 2020-12-31
arrangement: joint
duration_s: 600
tick_s: 1
seed: 7
sources:
  SRC1: {title: A test source, confidence: S}
nations:
  BLR: {name: Belarus, side: defender, region: BLR}
  LTU: {name: Lithuania, side: opposing, region: LTU}
places:
  minsk: {name: Minsk, lat_deg: 53.9, lon_deg: 27.5667, country: BLR, source: [SRC1]}
  hrodna: {name: Hrodna, lat_deg: 53.6884, lon_deg: 23.8258, country: BLR, source: [SRC1]}
catalog:
  missiles:
    m1:
      name: Missile One
      max_range_km: 75
      min_range_km: 5
      sources: {max_range_km: [SRC1]}
      assumed: {min_range_km: test value}
  radars:
    r1:
      name: Radar One
      role: fire_control
      detection_range_km: 120
      reference_rcs_m2: 1.0
      sources: {detection_range_km: [SRC1], reference_rcs_m2: [SRC1]}
  sam_systems:
    sam1: {name: SAM One, missile: m1, fire_control_radar: r1}
  aircraft:
    light: {name: Light aircraft, role: transport, generic: true}
command_nodes:
  hq: {name: Headquarters, nation: BLR, kind: national_command, place: minsk, source: [SRC1]}
links: {}
units:
  regt:
    name: 1st Regiment
    nation: BLR
    kind: sam_regiment
    place: hrodna
    parent: hq
    source: [SRC1]
  bn1:
    name: 1st Battalion
    nation: BLR
    kind: sam_battalion
    place: hrodna
    parent: regt
    in_service: {from: 2006-12-01}
    equipment: [{type: sam1, count: 12}]
    source: [SRC1]
  bn2:
    name: 2nd Battalion
    nation: BLR
    kind: sam_battalion
    place: hrodna
    parent: regt
    in_service: {from: 2016-05-06, to: 2030-01-01}
    equipment: [{type: sam1, count: 8}]
    source: [SRC1]
traffic:
  flights:
    f1:
      type: light
      nation: LTU
      speed_kmh: 180
      alt_m: 300
      route:
        - {lat_deg: 54.6, lon_deg: 25.2}
        - {place: minsk}
"""


@pytest.fixture()
def write(tmp_path: Path):
    """Write text to a file under tmp_path and return its path."""

    def _write(text: str | bytes, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def reference() -> Scenario:
    """The bundled default scenario (the reference data set as of 2020-12-31)."""
    return iadsim.load_scenario("reference-2020")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def free_port() -> int:
    """A TCP port free on loopback now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
