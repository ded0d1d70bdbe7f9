"""ASTERIX export and input (iadsim.io.asterix, docs/asterix.md): every field within one LSB of the
source table by iadsim's decoder (libasterix), by an independent decoder (asterix-decoder, in the
virtual environment of scripts/make-asterix-decoder-venv.sh, run as a subprocess) and by Wireshark's
dissector (tshark -T json, installed by scripts/install-system-deps.sh); the round trip detections →
CAT048 → tracker; malformed input refused with its byte offset; a fuzz test of the reader."""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("asterix.generated", reason="libasterix is not installed (pip install -e '.[dev]')")

from iadsim import load_scenario
from iadsim.cli import app
from iadsim.io import asterix as ax
from iadsim.io.pcap import LINKTYPE_ETHERNET, PCAP_MAGIC, write_pcap
from iadsim.runs import run_scenario
from iadsim.tracking import TrackerConfig, track_detections
from tests.sim_scenarios import inbound, one_radar

ROOT = Path(__file__).resolve().parent.parent
DECODER = ROOT / ".venv-asterix-decoder" / "bin" / "python"
# one least significant bit of each field, in the table's units
LSB_RANGE_M = ax.NM_M / 256
LSB_AZIMUTH_DEG = 360.0 / 2**16
LSB_TOD_S = 1.0 / 128
LSB_HEIGHT_FT = 25.0
LSB_LATLON_DEG = 180.0 / 2**25
LSB_SPEED_MPS = 0.25
LSB_ALT_FT = 6.25


def _detections(rng: np.random.Generator, n: int = 400) -> pa.Table:
    """A DETECTIONS table of three radars (two 3D, one 2D), ranges to 520 km, heights to 20 km."""
    sites = [("r3d/a", "BLR", 53.9, 27.5, 220.0, 0.3), ("r3d/b", "RUS", 54.7, 20.5, 30.0, 0.4),
             ("r2d/c", "BLR", 52.1, 23.7, 150.0, math.nan)]
    k = rng.integers(0, 3, n)
    rng_m = rng.uniform(2_000.0, 520_000.0, n)  # beyond 256 NM = 474 km: not written
    height = rng.uniform(50.0, 20_000.0, n)
    alt = np.array([sites[i][4] for i in k])
    rs, rt = 6_371_000.0 + alt, 6_371_000.0 + height
    el = np.degrees(np.arcsin(np.clip((rt**2 - rs**2 - rng_m**2) / (2 * rng_m * rs), -1, 1)))
    two_d = np.array([math.isnan(sites[i][5]) for i in k])
    return pa.table({
        "time_s": pa.array(np.sort(rng.integers(0, 60, n)).astype(float) * 4.0 + 0.25),
        "sensor_id": pa.array([sites[i][0] for i in k]),
        "sensor_nation": pa.array([sites[i][1] for i in k]),
        "sensor_lat_deg": pa.array([sites[i][2] for i in k]),
        "sensor_lon_deg": pa.array([sites[i][3] for i in k]),
        "sensor_alt_m": pa.array(alt),
        "range_m": pa.array(rng_m),
        "azimuth_deg": pa.array(rng.uniform(0.0, 360.0, n)),
        "elevation_deg": pa.array(np.where(two_d, np.nan, el), mask=two_d),
        "sigma_range_m": pa.array(np.full(n, 100.0)),
        "sigma_azimuth_deg": pa.array(np.full(n, 0.2)),
        "sigma_elevation_deg": pa.array(np.where(two_d, np.nan, [sites[i][5] for i in k]), mask=two_d),
    })


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """The table, its sources, the CAT048 datablocks and their raw and pcap files."""
    det = _detections(np.random.default_rng(48))
    sources = ax.assign_sources(det, [], {"BLR": 1, "RUS": 2}, 0)
    blocks = ax.detections_to_cat048(det, sources, epoch_tod_s=3600.0)
    folder = tmp_path_factory.mktemp("ast")
    raw, pcap = folder / "d.ast", folder / "d.pcap"
    raw.write_bytes(blocks.raw())
    write_pcap(blocks.blocks, blocks.time_s, 1_609_372_800.0, pcap, ax.ASTERIX_UDP_PORT)
    return det, sources, blocks, raw, pcap


def _expected(det: pa.Table, sources: list[ax.SensorSource]) -> dict[str, np.ndarray]:
    """The written rows (those that fit the fields) in the order written: by time, then sensor."""
    keep = det["range_m"].to_numpy() / ax.NM_M < ax.MAX_RHO_NM - 0.5 / 256
    t, sid = det["time_s"].to_numpy(), np.asarray(det["sensor_id"].to_pylist())
    order = np.lexsort((sid, t))
    order = order[keep[order]]
    key = {s.source_id: (s.sac, s.sic) for s in sources}
    el = pc.fill_null(det["elevation_deg"], np.nan).to_numpy(zero_copy_only=False)
    h = ax.height_from_elevation(det["range_m"].to_numpy(), np.radians(el), det["sensor_alt_m"].to_numpy())
    return {"tod": 3600.0 + t[order], "rho_m": det["range_m"].to_numpy()[order],
            "theta": det["azimuth_deg"].to_numpy()[order] % 360, "h_ft": h[order] / ax.FT_M,
            "sac": np.array([key[s][0] for s in sid[order]]), "sic": np.array([key[s][1] for s in sid[order]])}


def _close(actual, expected, lsb, what):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    both = np.isfinite(expected)
    assert np.array_equal(np.isfinite(actual), both), what
    err = np.abs(actual[both] - expected[both])
    assert err.max(initial=0.0) <= lsb, f"{what}: worst {err.max():.6g} > 1 LSB {lsb:.6g}"


def test_cat048_fields_within_one_lsb_by_iadsim_s_decoder(encoded):
    det, sources, blocks, raw, pcap = encoded
    exp = _expected(det, sources)
    assert blocks.records == len(exp["tod"]) and blocks.records > 300
    assert blocks.skipped == {"range beyond 256 NM (I048/040)": det.num_rows - blocks.records}
    for data in (raw.read_bytes(), pcap.read_bytes()):
        reports = ax.decode_cat048(data)
        assert len(reports) == blocks.records
        _close([r.time_of_day_s for r in reports], exp["tod"], LSB_TOD_S, "I048/140")
        _close([r.rho_nm * ax.NM_M for r in reports], exp["rho_m"], LSB_RANGE_M, "I048/040 RHO")
        _close([r.theta_deg for r in reports], exp["theta"], LSB_AZIMUTH_DEG, "I048/040 THETA")
        _close([r.height_ft for r in reports], exp["h_ft"], LSB_HEIGHT_FT, "I048/110")
        assert [r.sac for r in reports] == exp["sac"].tolist() and [r.sic for r in reports] == exp["sic"].tolist()


def test_detections_come_back_from_cat048_with_their_sources(encoded, tmp_path):
    det, sources, _blocks, raw, _ = encoded
    path = tmp_path / "sources.csv"
    ax.write_sources(sources, path)
    assert ax.read_sources(path) == sources
    back = ax.read_cat048(raw.read_bytes(), ax.read_sources(path), epoch_tod_s=3600.0)
    exp = _expected(det, sources)
    _close(back["time_s"].to_numpy(), exp["tod"] - 3600.0, LSB_TOD_S, "time_s")
    _close(back["range_m"].to_numpy(), exp["rho_m"], LSB_RANGE_M, "range_m")
    # elevation from the 25 ft height: within the height LSB over the range (and exactly null for 2D)
    el = pc.fill_null(back["elevation_deg"], np.nan).to_numpy(zero_copy_only=False)
    ref = ax.elevation_from_height(exp["rho_m"], exp["h_ft"] * ax.FT_M,
                                   np.array([next(s.alt_m for s in sources if s.source_id == i)
                                             for i in back["sensor_id"].to_pylist()]))
    both = np.isfinite(exp["h_ft"])
    assert np.array_equal(np.isfinite(el), both)
    assert np.all(np.abs(np.radians(el[both]) - ref[both]) * exp["rho_m"][both] <= 1.01 * LSB_HEIGHT_FT * ax.FT_M
                  / np.cos(ref[both]))


def _decode_independently(path: Path) -> list[dict]:
    if not DECODER.exists():
        pytest.skip("the independent decoder's environment is missing: run scripts/make-asterix-decoder-venv.sh")
    code = ("import asterix, json, sys; print(json.dumps(asterix.parse(open(sys.argv[1], 'rb').read()), "
            "default=str))")
    done = subprocess.run([str(DECODER), "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          check=True)
    return list(json.loads(done.stdout))


def test_cat048_fields_within_one_lsb_by_asterix_decoder(encoded):
    det, sources, blocks, raw, _ = encoded
    records = _decode_independently(raw)
    exp = _expected(det, sources)
    assert len(records) == blocks.records and {r["category"] for r in records} == {48}
    _close([r["I140"]["ToD"]["val"] for r in records], exp["tod"], LSB_TOD_S, "I048/140")
    _close([r["I040"]["RHO"]["val"] * ax.NM_M for r in records], exp["rho_m"], LSB_RANGE_M, "RHO")
    _close([r["I040"]["THETA"]["val"] for r in records], exp["theta"], LSB_AZIMUTH_DEG, "THETA")
    _close([r["I110"]["3D_Height"]["val"] if "I110" in r else math.nan for r in records], exp["h_ft"],
           LSB_HEIGHT_FT, "I048/110")
    assert [r["I010"]["SAC"]["val"] for r in records] == exp["sac"].tolist()
    assert [r["I010"]["SIC"]["val"] for r in records] == exp["sic"].tolist()
    assert {r["I020"]["TYP"]["val"] for r in records} == {ax.CAT048_TYP_PSR}


def _tshark(pcap: Path) -> list[dict]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: run scripts/install-system-deps.sh")
    done = subprocess.run(["tshark", "-r", str(pcap), "-d", f"udp.port=={ax.ASTERIX_UDP_PORT},asterix",
                           "-T", "json", "--no-duplicate-keys"], capture_output=True, text=True, timeout=300, check=True)
    packets = json.loads(done.stdout)
    assert "_ws.malformed" not in done.stdout and "_ws.expert" not in done.stdout
    return [p["_source"]["layers"] for p in packets]


def _messages(layer: dict | list) -> list[dict]:
    """The ASTERIX records of one packet's asterix layer (one or several datablocks)."""
    blocks = layer if isinstance(layer, list) else [layer]
    out = []
    for b in blocks:
        m = b["asterix.message"]
        out += m if isinstance(m, list) else [m]
    return out


def test_cat048_pcap_within_one_lsb_by_wireshark(encoded):
    det, sources, blocks, _, pcap = encoded
    packets = _tshark(pcap)
    assert len(packets) == len(blocks.blocks)
    records = [m for p in packets for m in _messages(p["asterix"])]
    exp = _expected(det, sources)
    assert len(records) == blocks.records
    _close([float(r["asterix.048_140"]["asterix.048_140_VALUE"]) for r in records], exp["tod"], LSB_TOD_S, "ToD")
    _close([float(r["asterix.048_040"]["asterix.048_040_RHO"]) * ax.NM_M for r in records], exp["rho_m"],
           LSB_RANGE_M, "RHO")
    _close([float(r["asterix.048_040"]["asterix.048_040_THETA"]) for r in records], exp["theta"],
           LSB_AZIMUTH_DEG, "THETA")
    assert [int(r["asterix.048_010"]["asterix.048_010_SAC"], 16) for r in records] == exp["sac"].tolist()


def _tracks(rng: np.random.Generator, n: int = 120) -> pa.Table:
    known = rng.random(n) < 0.6
    return pa.table({
        "time_s": pa.array(np.sort(rng.integers(0, 30, n)).astype(float) * 6.0),
        "node": pa.array(["n"] * n),
        "track_id": pa.array(rng.integers(1, 70_000, n)),
        "lat_deg": pa.array(rng.uniform(50.0, 57.0, n)),
        "lon_deg": pa.array(rng.uniform(20.0, 33.0, n)),
        "alt_m": pa.array(np.where(known, rng.uniform(0.0, 15_000.0, n), np.nan), mask=~known),
        "vel_east_mps": pa.array(rng.uniform(-300.0, 300.0, n)),
        "vel_north_mps": pa.array(rng.uniform(-300.0, 300.0, n)),
        "confirmed": pa.array(rng.random(n) < 0.8),
    })


def test_cat062_within_one_lsb_by_asterix_decoder_and_wireshark(tmp_path):
    tracks = _tracks(np.random.default_rng(62))
    node = ax.SensorSource(0, 7, "node", "n", "")
    blocks = ax.tracks_to_cat062(tracks, node)
    raw, pcap = tmp_path / "t.ast", tmp_path / "t.pcap"
    raw.write_bytes(blocks.raw())
    write_pcap(blocks.blocks, blocks.time_s, 1_609_372_800.0, pcap, ax.ASTERIX_UDP_PORT)
    order = np.lexsort((tracks["track_id"].to_numpy(), tracks["time_s"].to_numpy()))
    col = {c: tracks[c].to_numpy(zero_copy_only=False)[order] for c in tracks.column_names if c != "alt_m"}
    alt = pc.fill_null(tracks["alt_m"], np.nan).to_numpy(zero_copy_only=False)[order]
    assert blocks.records == tracks.num_rows
    records = _decode_independently(raw)
    assert len(records) == tracks.num_rows and {r["category"] for r in records} == {62}
    _close([r["I070"]["ToT"]["val"] for r in records], col["time_s"], LSB_TOD_S, "I062/070")
    _close([r["I105"]["Lat"]["val"] for r in records], col["lat_deg"], LSB_LATLON_DEG, "I062/105 lat")
    _close([r["I105"]["Lon"]["val"] for r in records], col["lon_deg"], LSB_LATLON_DEG, "I062/105 lon")
    _close([r["I185"]["Vx"]["val"] for r in records], col["vel_east_mps"], LSB_SPEED_MPS, "I062/185 Vx")
    _close([r["I185"]["Vy"]["val"] for r in records], col["vel_north_mps"], LSB_SPEED_MPS, "I062/185 Vy")
    _close([r["I130"]["Alt"]["val"] if "I130" in r else math.nan for r in records], alt / ax.FT_M, LSB_ALT_FT,
           "I062/130")
    assert [r["I040"]["TrkN"]["val"] for r in records] == (col["track_id"] % 65536).tolist()
    assert [r["I080"]["CNF"]["val"] for r in records] == (~col["confirmed"]).astype(int).tolist()
    assert [r["I080"]["SRC"]["val"] for r in records] == np.where(np.isfinite(alt), 2, 0).tolist()
    messages = [m for p in _tshark(pcap) for m in _messages(p["asterix"])]
    assert len(messages) == tracks.num_rows
    _close([float(m["asterix.062_105"]["asterix.062_105_LAT"]) for m in messages], col["lat_deg"],
           LSB_LATLON_DEG, "tshark I062/105 lat")


# -- malformed input ---------------------------------------------------------------------------------------

def _one_block(encoded) -> bytes:
    return encoded[2].blocks[0]


@pytest.mark.parametrize("case", ["truncated header", "length past the end", "length below 3",
                                  "unknown category", "FSPEC past the record", "item past the record"])
def test_malformed_cat048_is_refused_with_the_byte_offset(encoded, case):
    good = _one_block(encoded)
    prefix = good + good  # the bad datablock starts at byte 2·len(good)
    at = len(prefix)
    bad = {
        "truncated header": prefix + b"\x30\x00",
        "length past the end": prefix + b"\x30\x00\x40" + good[3:10],
        "length below 3": prefix + b"\x30\x00\x02",
        "unknown category": prefix + b"\x07\x00\x04\x00",
        "FSPEC past the record": prefix + b"\x30\x00\x05\xff\xff",  # FSPEC extends (FX) beyond the block
        "item past the record": prefix + b"\x30\x00\x05\x80\x01",  # I048/010 needs 2 bytes, 1 left
    }[case]
    with pytest.raises(ax.AsterixError, match=rf"^byte {at if 'record' not in case else at + 3}\b"):
        ax.decode_cat048(bad)


def test_a_source_missing_from_the_table_and_a_bad_pcap_are_refused(encoded):
    _det, sources, _blocks, raw, pcap = encoded
    # the first record, after its datablock's 3-byte header
    with pytest.raises(ax.AsterixError, match=r"^byte 3: SAC \d+ SIC \d+ is not a radar"):
        ax.read_cat048(raw.read_bytes(), [s for s in sources if s.sac == 99])
    data = pcap.read_bytes()
    with pytest.raises(ax.AsterixError, match=r"^byte 24: pcap packet of \d+ bytes runs past"):
        ax.decode_cat048(data[:24] + data[24:40] + b"\x00")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), cut=st.integers(0, 400), flip=st.integers(0, 10_000))
def test_the_reader_refuses_or_reads_any_bytes_never_a_traceback(encoded, data, cut, flip):
    good = encoded[2].blocks[0] + encoded[2].blocks[1]
    mutated = bytearray(good[:cut] + data)
    if mutated:
        mutated[flip % len(mutated)] ^= 1 << (flip % 8)
    for payload in (bytes(mutated), data):
        try:
            ax.decode_cat048(payload)
        except ax.AsterixError as exc:
            assert str(exc).startswith("byte ")


# -- the round trip and the command line -------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sc") / "s.yaml"
    path.write_text(one_radar(flights=inbound("a", 150, 3000) + inbound("b", 120, 500, bearing="north"),
                              duration_s=300.0), encoding="utf-8")
    return run_scenario(load_scenario(path), tmp_path_factory.mktemp("runs"), coverage=None)


def test_export_round_trip_tracks_as_from_parquet_and_the_command_line(run_dir, tmp_path):
    from iadsim.io.run_folder import read_run_folder

    out = tmp_path / "ast"
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "asterix", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "detections.cat048.ast").exists() and (out / "detections.cat048.pcap").exists()
    assert (out / ax.SOURCES_FILE).exists() and "CAT048 target reports" in result.stdout
    det = read_run_folder(run_dir).table("detections")
    sources = ax.read_sources(out / ax.SOURCES_FILE)
    back = ax.read_cat048((out / "detections.cat048.ast").read_bytes(), sources)
    assert back.num_rows == det.num_rows  # nothing beyond the fields here
    origin = (53.9, 27.5)
    direct = track_detections(det, TrackerConfig(), origin=origin)
    via = track_detections(back, TrackerConfig(), origin=origin)
    # the same tracks at the same times; positions within the fields' quantisation (range 3.6 m,
    # azimuth 0.0027° = 4.7 m at 100 km, elevation from a 25 ft height) through the filter
    assert via["track_id"].to_pylist() == direct["track_id"].to_pylist()
    assert via["confirmed"].to_pylist() == direct["confirmed"].to_pylist()
    np.testing.assert_allclose(via["time_s"].to_numpy(), direct["time_s"].to_numpy(), atol=LSB_TOD_S)
    dlat = (via["lat_deg"].to_numpy() - direct["lat_deg"].to_numpy()) * 111_200.0
    dlon = (via["lon_deg"].to_numpy() - direct["lon_deg"].to_numpy()) * 111_200.0 * math.cos(math.radians(54))
    assert np.hypot(dlat, dlon).max() < 25.0
    # the command line reads the same file and its pcap
    for name in ("detections.cat048.ast", "detections.cat048.pcap"):
        tracks = tmp_path / f"{name}.parquet"
        r = CliRunner().invoke(app, ["track", str(out / name), "--sources", str(out / ax.SOURCES_FILE),
                                     "--origin", "53.9,27.5", "--out", str(tracks)])
        assert r.exit_code == 0, r.output
    # a second export into the same folder refuses to overwrite
    again = CliRunner().invoke(app, ["export", str(run_dir), "--format", "asterix", "--out", str(out)])
    assert again.exit_code == 2 and "not overwritten" in again.stderr


def test_track_refuses_bad_asterix_with_the_offset(run_dir, tmp_path):
    bad = tmp_path / "bad.ast"
    bad.write_bytes(b"\x30\x00\x10\x00")
    sources = tmp_path / "s.csv"
    ax.write_sources([ax.SensorSource(1, 1, "radar", "r", "BLR", 53.0, 27.0, 0.0, 100.0, 0.2)], sources)
    r = CliRunner().invoke(app, ["track", str(bad), "--sources", str(sources), "--out", str(tmp_path / "t.parquet")])
    assert r.exit_code == 2 and "byte 0: CAT048 datablock length 16 runs past the end" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "t.parquet").exists()
    r = CliRunner().invoke(app, ["track", str(bad), "--out", str(tmp_path / "t.parquet")])
    assert r.exit_code == 2 and "--sources" in r.stderr
    r = CliRunner().invoke(app, ["export", str(run_dir), "--format", "nope"])
    assert r.exit_code == 2 and "--format" in r.stderr


def test_pcap_header_is_wireshark_s(encoded):
    data = encoded[4].read_bytes()
    magic, major, minor, _, _, snap, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, snap, link) == (PCAP_MAGIC, 2, 4, 65535, LINKTYPE_ETHERNET)
