"""DIS Entity State PDUs (iadsim.io.dis, docs/dis.md): header set (type, family, length), positions
and types back by iadsim's reader (opendis) and by Wireshark's DIS dissector (tshark, installed by
scripts/install-system-deps.sh), orientation, malformed input refused with its byte offset, a fuzz
test of the reader, and the export command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("opendis.dis7", reason="opendis is not installed (make .venv/.installed installs it)")

from iadsim import load_scenario
from iadsim.cli import app
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.io import dis
from iadsim.io.pcap import write_pcap
from iadsim.runs import run_scenario
from tests.sim_scenarios import inbound, one_radar

EPOCH = 1_609_372_800.0  # 2020-12-31 00:00 UTC


@pytest.fixture(scope="module")
def pdus():
    rng = np.random.default_rng(1278)
    n = 40
    lat, lon, alt = rng.uniform(50, 57, n), rng.uniform(20, 33, n), rng.uniform(0, 15_000, n)
    vel = rng.uniform(-300, 300, (n, 3)) * np.array([1, 1, 0.1])
    types = [(1, 2, 246, 1), (1, 2, 222, 50), (2, 0, 175, 0), (1, 2, 255, 57)]
    table = {"time_s": np.arange(n) * 2.5, "entity": np.arange(n) % 7 + 1, "lat": lat, "lon": lon, "alt": alt,
             "vel": vel, "type": [types[i % 4] for i in range(n)], "force": [i % 2 for i in range(n)],
             "marking": [f"obj-{i:03d}-long-name" for i in range(n)]}
    data = dis.entity_state_pdus(table["time_s"], table["entity"], 1, table["marking"], table["type"],
                                 table["force"], lat, lon, alt, vel, EPOCH)
    return table, data


def test_every_pdu_has_its_type_family_and_length_set(pdus):
    _, data = pdus
    for pdu in data:
        assert len(pdu) == dis.ENTITY_STATE_BYTES
        assert (pdu[0], pdu[2], pdu[3]) == (7, 1, 1)  # DIS 7, Entity State, Entity Information family
        assert int.from_bytes(pdu[8:10], "big") == dis.ENTITY_STATE_BYTES
        assert int.from_bytes(pdu[4:8], "big") & 1 == 1  # absolute timestamp


def test_entity_states_come_back_by_the_reader(pdus, tmp_path):
    table, data = pdus
    for payload in (b"".join(data), _pcap(data, table, tmp_path)):
        back = dis.read_entity_states(payload)
        assert back.num_rows == len(data)
        ecef = geodetic_to_ecef(table["lat"], table["lon"], table["alt"])
        back_ecef = geodetic_to_ecef(back["lat_deg"].to_numpy(), back["lon_deg"].to_numpy(), back["alt_m"].to_numpy())
        assert np.abs(back_ecef - ecef).max() < 1e-3  # doubles: well under a millimetre
        assert back["entity"].to_pylist() == table["entity"].tolist()
        assert back["marking"].to_pylist() == [m[:11] for m in table["marking"]]  # 11 characters
        assert [tuple(r) for r in zip(*(back[c].to_pylist() for c in ("kind", "domain", "country", "category")),
                                      strict=True)] == table["type"]
        assert back["force"].to_pylist() == table["force"]
        speed = np.linalg.norm(np.column_stack([back[f"vel_{a}_mps"].to_numpy() for a in "xyz"]), axis=1)
        np.testing.assert_allclose(speed, np.linalg.norm(table["vel"], axis=1), rtol=1e-6)  # float32


def _pcap(data, table, tmp_path: Path) -> bytes:
    path = tmp_path / "e.pcap"
    write_pcap(data, list(table["time_s"]), EPOCH, path, dis.DIS_UDP_PORT)
    return path.read_bytes()


def test_wireshark_s_dis_dissector_reads_every_pdu(pdus, tmp_path):
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: run scripts/install-system-deps.sh")
    table, data = pdus
    _pcap(data, table, tmp_path)
    done = subprocess.run(["tshark", "-r", str(tmp_path / "e.pcap"), "-d", f"udp.port=={dis.DIS_UDP_PORT},dis",
                           "-T", "json", "--no-duplicate-keys"], capture_output=True, text=True, timeout=300,
                          check=True)
    assert "_ws.malformed" not in done.stdout and "_ws.expert" not in done.stdout
    layers = [p["_source"]["layers"]["dis"] for p in json.loads(done.stdout)]
    assert len(layers) == len(data)
    flat = [_flatten(layer) for layer in layers]
    assert {f["dis.pdu_type"] for f in flat} == {"1"} and {f["dis.proto_ver"] for f in flat} == {"7"}
    assert [int(f["dis.country"]) for f in flat] == [t[2] for t in table["type"]]
    assert [int(f["dis.entityKind"]) for f in flat] == [t[0] for t in table["type"]]
    ecef = geodetic_to_ecef(table["lat"], table["lon"], table["alt"])
    shown = np.array([[float(f[f"dis.entity_location.{a}"]) for a in "xyz"] for f in flat])
    assert np.abs(shown - ecef).max() < 1e-3


def _flatten(node, out=None):
    out = {} if out is None else out
    for key, value in node.items():
        if isinstance(value, dict):
            _flatten(value, out)
        elif isinstance(value, str):
            out.setdefault(key, value)
    return out


def test_orientation_points_the_body_along_the_velocity_without_roll():
    lat, lon = np.array([0.0, 54.0, -33.0]), np.array([0.0, 27.5, 151.0])
    heading, pitch = np.radians([0.0, 90.0, 225.0]), np.radians([0.0, 10.0, -5.0])
    psi, theta, phi = dis.euler_angles(lat, lon, heading, pitch).T
    # body x axis in ECEF from the angles (IEEE 1278.1's Z-Y-X rotation) against the flight direction
    x = np.column_stack([np.cos(theta) * np.cos(psi), np.cos(theta) * np.sin(psi), -np.sin(theta)])
    la, lo = np.radians(lat), np.radians(lon)
    north = np.column_stack([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)])
    east = np.column_stack([-np.sin(lo), np.cos(lo), np.zeros(3)])
    up = np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    flight = ((np.cos(pitch) * np.cos(heading))[:, None] * north + (np.cos(pitch) * np.sin(heading))[:, None] * east
              + np.sin(pitch)[:, None] * up)
    np.testing.assert_allclose(x, flight, atol=1e-12)
    # no roll: the body y axis (right wing) stays horizontal
    y = np.column_stack([np.sin(phi) * np.sin(theta) * np.cos(psi) - np.cos(phi) * np.sin(psi),
                         np.sin(phi) * np.sin(theta) * np.sin(psi) + np.cos(phi) * np.cos(psi),
                         np.sin(phi) * np.cos(theta)])
    np.testing.assert_allclose(np.einsum("ij,ij->i", y, up), 0.0, atol=1e-12)


@pytest.mark.parametrize("case", ["truncated header", "bad version", "length past the end", "length below 12",
                                  "other PDU type", "length of an Entity State PDU"])
def test_malformed_dis_is_refused_with_the_byte_offset(pdus, case):
    _, data = pdus
    good = data[0] + data[1]
    header = bytearray(data[2])
    if case == "bad version":
        header[0] = 9
    elif case == "length past the end":
        header[8:10] = (400).to_bytes(2, "big")
    elif case == "length below 12":
        header[8:10] = (8).to_bytes(2, "big")
    elif case == "other PDU type":
        header[2] = 2
    elif case == "length of an Entity State PDU":
        header[8:10] = (140).to_bytes(2, "big")
    bad = good + (bytes(header[:7]) if case == "truncated header" else bytes(header))
    with pytest.raises(dis.DisError, match=rf"^byte {len(good)}: "):
        dis.read_entity_states(bad)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.binary(max_size=200), cut=st.integers(0, 300), flip=st.integers(0, 10_000))
def test_the_reader_refuses_or_reads_any_bytes_never_a_traceback(pdus, extra, cut, flip):
    good = pdus[1][0] + pdus[1][1]
    mutated = bytearray(good[:cut] + extra)
    if mutated:
        mutated[flip % len(mutated)] ^= 1 << (flip % 8)
    for payload in (bytes(mutated), extra):
        try:
            dis.read_entity_states(payload)
        except dis.DisError as exc:
            assert str(exc).startswith("byte ")


def test_export_command_writes_truth_as_entity_states(tmp_path_factory):
    path = tmp_path_factory.mktemp("sc") / "s.yaml"
    path.write_text(one_radar(flights=inbound("a", 150, 3000), duration_s=120.0), encoding="utf-8")
    run = run_scenario(load_scenario(path), tmp_path_factory.mktemp("runs"), coverage=None)
    out = tmp_path_factory.mktemp("dis")
    result = CliRunner().invoke(app, ["export", str(run), "--format", "dis", "--out", str(out)])
    assert result.exit_code == 0, result.output
    back = dis.read_entity_states((out / "entities.dis").read_bytes())
    from iadsim.io.run_folder import read_run_folder

    truth = read_run_folder(run).table("truth")
    assert back.num_rows == truth.num_rows and set(back["marking"].to_pylist()) == {"a"}
    assert set(back["application"].to_pylist()) == {dis.APPLICATION["truth"]}
    np.testing.assert_allclose(np.sort(back["alt_m"].to_numpy()), np.sort(truth["alt_m"].to_numpy()), atol=1e-3)
    assert dis.read_entity_states((out / "entities.pcap").read_bytes()).num_rows == truth.num_rows
    again = CliRunner().invoke(app, ["export", str(run), "--format", "dis", "--out", str(out)])
    assert again.exit_code == 2 and "not overwritten" in again.stderr
