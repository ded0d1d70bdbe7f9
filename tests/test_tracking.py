"""The batched tracker on synthetic radar detections with known noise, and on the engine's output.

Synthetic targets fly straight lines in the ENU frame at ORIGIN; radars measure range, azimuth and
(3D) elevation in their own ENU frames with Gaussian noise; every random draw from a seeded Generator.
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from iadsim.geo.frames import ecef_to_enu, enu_to_ecef
from iadsim.geo.geodesy import ecef_to_geodetic, geodetic_to_ecef
from iadsim.tracking import (
    TrackerConfig,
    TrackingInputError,
    ospa,
    read_detections,
    read_tracks,
    siap,
    track_detections,
    write_tracks,
)
from iadsim.tracking.association import GatedPairs, global_nearest_neighbour
from iadsim.tracking.filters import polar_measurement
from iadsim.tracking.metrics import ospa_distance

ORIGIN = (53.9, 27.5)
RADAR_3D = (53.9, 27.5, 30.0)  # lat, lon, antenna height
RADAR_2D = (54.2, 28.0, 20.0)
SIGMA_3D = (50.0, 0.2, 0.2)  # m, deg, deg
SIGMA_2D = (100.0, 0.2)


def _truth_enu(starts_m, velocities_mps, times_s):
    """``(len(times), n_targets, 3)`` straight-line positions in the ENU frame at ORIGIN."""
    return starts_m[None, :, :] + times_s[:, None, None] * velocities_mps[None, :, :]


def _measure(enu, radar, sigmas, rng, pd=1.0):
    """Noisy polar measurements of ENU positions ``(M, 3)`` by a radar; rows detected with prob pd."""
    ecef = enu_to_ecef(enu, *ORIGIN)
    local = ecef_to_enu(ecef, radar[0], radar[1], radar[2])
    r = np.linalg.norm(local, axis=1)
    az = np.degrees(np.arctan2(local[:, 0], local[:, 1])) % 360.0
    el = np.degrees(np.arctan2(local[:, 2], np.hypot(local[:, 0], local[:, 1])))
    noise = rng.standard_normal((len(r), 3))
    r = r + sigmas[0] * noise[:, 0]
    az = (az + sigmas[1] * noise[:, 1]) % 360.0
    el = el + sigmas[2] * noise[:, 2] if len(sigmas) == 3 else np.full(len(r), np.nan)
    seen = rng.random(len(r)) < pd
    return r[seen], az[seen], el[seen], seen


def synthetic(starts_m, velocities_mps, *, scans=20, period_s=10.0, radars=("3d", "2d"), pd=1.0,
              false_alarms_per_scan=0.0, fa_max_range_m=150e3, seed=1):
    """DETECTIONS and truth tables for straight flyers seen by a 3D and/or a 2D radar.

    The 2D radar scans half a period after the 3D one. Truth is sampled at every scan time.
    """
    rng = np.random.default_rng(seed)
    starts_m = np.asarray(starts_m, dtype=float)
    velocities_mps = np.asarray(velocities_mps, dtype=float)
    cols: dict[str, list] = {c: [] for c in ("time_s", "sensor_id", "sensor_lat_deg", "sensor_lon_deg",
                                             "sensor_alt_m", "range_m", "azimuth_deg", "elevation_deg",
                                             "sigma_range_m", "sigma_azimuth_deg", "sigma_elevation_deg",
                                             "object_id")}
    truth_rows: dict[str, list] = {c: [] for c in ("time_s", "object_id", "lat_deg", "lon_deg", "alt_m")}
    specs = {"3d": (RADAR_3D, SIGMA_3D, 0.0), "2d": (RADAR_2D, SIGMA_2D, 0.5)}
    for k in range(scans):
        for name in radars:
            radar, sigmas, offset = specs[name]
            t = (k + offset) * period_s
            enu = _truth_enu(starts_m, velocities_mps, np.array([t]))[0]
            r, az, el, seen = _measure(enu, radar, sigmas, rng, pd)
            ids = np.flatnonzero(seen).astype(str).astype(object)
            n_fa = rng.poisson(false_alarms_per_scan) if false_alarms_per_scan else 0
            if n_fa:
                r = np.concatenate([r, fa_max_range_m * np.sqrt(rng.random(n_fa))])
                az = np.concatenate([az, 360.0 * rng.random(n_fa)])
                el_fa = rng.uniform(0.0, 5.0, n_fa) if name == "3d" else np.full(n_fa, np.nan)
                el = np.concatenate([el, el_fa])
                ids = np.concatenate([ids, np.full(n_fa, None, dtype=object)])
            n = len(r)
            cols["time_s"] += [t] * n
            cols["sensor_id"] += [f"radar_{name}"] * n
            cols["sensor_lat_deg"] += [radar[0]] * n
            cols["sensor_lon_deg"] += [radar[1]] * n
            cols["sensor_alt_m"] += [radar[2]] * n
            cols["range_m"] += list(r)
            cols["azimuth_deg"] += list(az)
            cols["elevation_deg"] += [None if np.isnan(v) else float(v) for v in el]
            cols["sigma_range_m"] += [sigmas[0]] * n
            cols["sigma_azimuth_deg"] += [sigmas[1]] * n
            cols["sigma_elevation_deg"] += [sigmas[2] if name == "3d" else None] * n
            cols["object_id"] += list(ids)
            lat, lon, alt = ecef_to_geodetic(enu_to_ecef(enu, *ORIGIN))
            truth_rows["time_s"] += [t] * len(enu)
            truth_rows["object_id"] += [str(i) for i in range(len(enu))]
            truth_rows["lat_deg"] += list(lat)
            truth_rows["lon_deg"] += list(lon)
            truth_rows["alt_m"] += list(alt)
    types = {"elevation_deg": pa.float64(), "sigma_elevation_deg": pa.float64(), "object_id": pa.string()}
    det = pa.table({c: pa.array(v, types.get(c)) for c, v in cols.items()})
    truth = pa.table({c: pa.array(v) for c, v in truth_rows.items()})
    return det, truth


def _confirmed(tracks):
    return tracks.filter(tracks["confirmed"])


def _track_ids(tracks):
    return sorted(set(_confirmed(tracks)["track_id"].to_pylist()))


def _errors_to_truth(tracks, truth):
    """Per confirmed track row: (track_id, horizontal error m, speed error m/s) to the nearest truth."""
    conf = _confirmed(tracks)
    out = []
    for row in conf.to_pylist():
        g = truth.filter(pc.equal(truth["time_s"], row["time_s"]))
        assert len(g), row
        a = geodetic_to_ecef(row["lat_deg"], row["lon_deg"], 0.0)
        b = geodetic_to_ecef(g["lat_deg"].to_numpy(), g["lon_deg"].to_numpy(), 0.0)
        d = np.linalg.norm(b - a, axis=1)
        out.append((row["track_id"], float(d.min()), int(np.argmin(d))))
    return out


ONE_TARGET = dict(starts_m=[[-60e3, 40e3, 8000.0]], velocities_mps=[[220.0, -30.0, 0.0]])


# -- a single target ----------------------------------------------------------------------------------

def test_single_target_confirmed_on_the_third_scan_with_small_error():
    det, truth = synthetic(**ONE_TARGET, scans=20, radars=("3d",))
    tracks = track_detections(det, origin=ORIGIN)
    assert _track_ids(tracks) == [1]  # one track, one id over the whole run
    first_confirmed = _confirmed(tracks)["time_s"].to_numpy().min()
    assert first_confirmed == 20.0  # scans at 0, 10, 20 s: 3 of 5
    errors = np.array([e for _, e, _ in _errors_to_truth(tracks, truth)])
    # 72 km range: σ_cross = 72 km × 0.2° ≈ 250 m, σ_range 50 m; filtered error must be below that
    rms = float(np.sqrt(np.mean(errors**2)))
    assert rms < 1.5 * 250.0, rms
    last = _confirmed(tracks).filter(pc.equal(tracks.filter(tracks["confirmed"])["time_s"], 190.0))
    assert last["vel_east_mps"][0].as_py() == pytest.approx(220.0, abs=10.0)
    assert last["vel_north_mps"][0].as_py() == pytest.approx(-30.0, abs=10.0)
    assert last["alt_m"][0].as_py() == pytest.approx(truth["alt_m"][-1].as_py(), abs=300.0)


def test_three_d_and_two_d_radars_fuse_into_one_track_per_target():
    starts = [[-60e3, 40e3, 8000.0], [30e3, -50e3, 3000.0], [50e3, 60e3, 10000.0]]
    vels = [[220.0, -30.0, 0.0], [-150.0, 180.0, 0.0], [-100.0, -250.0, 0.0]]
    det, truth = synthetic(starts, vels, scans=25, pd=0.9, seed=3)
    tracks = track_detections(det, origin=ORIGIN)
    errors = _errors_to_truth(tracks, truth)
    owner: dict[int, set[int]] = {}
    for tid, _, obj in errors:
        owner.setdefault(tid, set()).add(obj)
    assert len(owner) == 3, owner  # one confirmed track per target, no duplicates, ids stable
    assert all(len(objs) == 1 for objs in owner.values())
    rms = float(np.sqrt(np.mean([e**2 for _, e, _ in errors])))
    assert rms < 400.0, rms
    result = ospa(tracks, truth, cutoff_m=1000.0, order=1.0)
    assert result.mean_m < 450.0, result.mean_m  # the first scans count c per unconfirmed target


def test_two_d_only_tracks_have_no_altitude_but_horizontal_accuracy():
    det, truth = synthetic(**ONE_TARGET, scans=20, radars=("2d",))
    tracks = track_detections(det, origin=ORIGIN)
    assert _track_ids(tracks) == [1]
    assert tracks["alt_m"].null_count == tracks.num_rows  # altitude never constrained
    errors = np.array([e for _, e, _ in _errors_to_truth(tracks, truth)])
    # 100 km from the 2D radar: σ_cross ≈ 350 m; the altitude is unknown, which biases ground range
    assert np.sqrt(np.mean(errors**2)) < 800.0


def test_three_d_update_gives_altitude_to_a_two_d_track():
    det, _ = synthetic(**ONE_TARGET, scans=10)
    tracks = track_detections(det, origin=ORIGIN)
    late = tracks.filter(pc.greater(tracks["time_s"], 40.0))
    assert late["alt_m"].null_count == 0


# -- clutter, crossing, scale --------------------------------------------------------------------------

def test_uniform_false_alarms_rarely_confirm_a_track():
    # 10 false alarms per scan within 150 km of each radar (1.4e-10 per m², the benchmark
    # density), a 3D and a 2D radar interleaved 5 s apart, no targets: 10 seeds × 60 scans (≈ 6 000
    # false alarms). Measured: one clutter track confirmed (seed 5) — a known limit of single-point
    # initiation with 3-of-5 (docs/models/tracking.md); the bound guards against regressions.
    confirmed, tentative = 0, 0
    for seed in range(10):
        det, _ = synthetic(np.zeros((0, 3)), np.zeros((0, 3)), scans=30, false_alarms_per_scan=10.0,
                           seed=seed)
        tracks = track_detections(det, origin=ORIGIN)
        confirmed += len(_track_ids(tracks))
        tentative += len(set(tracks["track_id"].to_pylist()))
    assert tentative > 5000  # tentative tracks were started from the false alarms ...
    assert confirmed <= 1  # ... and at most one was confirmed


def test_targets_in_clutter_give_no_false_confirmed_tracks():
    starts = [[-60e3, 40e3, 8000.0], [30e3, -50e3, 3000.0]]
    vels = [[220.0, -30.0, 0.0], [-150.0, 180.0, 0.0]]
    # 10 false alarms per scan per radar within 150 km (1.4e-10 per m², the benchmark density)
    det, truth = synthetic(starts, vels, scans=25, pd=0.9, false_alarms_per_scan=10.0, seed=7)
    tracks = track_detections(det, origin=ORIGIN)
    measures = siap(tracks, truth, association_distance_m=1500.0)
    assert measures.spuriousness == 0.0
    assert measures.completeness > 0.85  # the first two scans of each target cannot be held
    assert measures.ambiguity == 1.0
    assert measures.ids_per_object == 1.0


def test_crossing_targets_keep_their_track_ids():
    # two targets at the same altitude crossing at right angles at t = 150 s, 60 km from the 3D radar
    starts = [[-33e3, 60e3, 6000.0], [0.0, 60e3 - 33e3, 6000.0]]
    vels = [[220.0, 0.0, 0.0], [0.0, 220.0, 0.0]]
    det, truth = synthetic(starts, vels, scans=30, radars=("3d",), seed=11)
    tracks = track_detections(det, origin=ORIGIN)
    rows = _confirmed(tracks)["time_s"].to_numpy()
    # at the crossing instant (150 s) both targets are at one point: nearest truth is undefined there
    errors = [e for e, t in zip(_errors_to_truth(tracks, truth), rows, strict=True) if abs(t - 150.0) > 5.0]
    owner: dict[int, set[int]] = {}
    for tid, _, obj in errors:
        owner.setdefault(tid, set()).add(obj)
    # exactly two confirmed tracks over the run, each following one target before and after the crossing
    assert len(owner) == 2, owner
    assert sorted(next(iter(v)) for v in owner.values()) == [0, 1]
    assert all(len(v) == 1 for v in owner.values())


def test_many_targets_are_tracked_quickly():
    rng = np.random.default_rng(21)
    n = 300
    starts = np.column_stack([rng.uniform(-150e3, 150e3, (n, 2)), rng.uniform(1000, 10000, n)])
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(150, 300, n)
    vels = np.column_stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(n)])
    det, truth = synthetic(starts, vels, scans=12, period_s=5.0, radars=("3d",), pd=0.9, seed=2)
    began = time.perf_counter()
    tracks = track_detections(det, origin=ORIGIN)
    elapsed = time.perf_counter() - began
    assert elapsed < 5.0, elapsed
    last = tracks.filter(pc.equal(tracks["time_s"], 55.0))
    result = ospa(last, truth, cutoff_m=1000.0, order=1.0)
    assert result.mean_m < 400.0, result.mean_m


# -- metrics --------------------------------------------------------------------------------------------

def _tracks_from_truth(truth, confirmed=True):
    ids = truth["object_id"].to_numpy(zero_copy_only=False).astype(int) + 1
    return pa.table({"time_s": truth["time_s"], "track_id": pa.array(ids, pa.int64()),
                     "lat_deg": truth["lat_deg"], "lon_deg": truth["lon_deg"], "alt_m": truth["alt_m"],
                     "vel_east_mps": pa.array(np.zeros(len(ids))),
                     "vel_north_mps": pa.array(np.zeros(len(ids))),
                     "confirmed": pa.array(np.full(len(ids), confirmed))})


def test_ospa_of_perfect_tracks_is_zero_and_of_no_tracks_is_c():
    _, truth = synthetic([[0.0, 0.0, 5000.0], [20e3, 0.0, 5000.0]], [[100.0, 0.0, 0.0]] * 2, scans=5,
                         radars=("3d",))
    perfect = ospa(_tracks_from_truth(truth), truth, cutoff_m=1000.0, order=2.0)
    assert np.allclose(perfect.ospa_m, 0.0, atol=1e-6)
    unconfirmed = ospa(_tracks_from_truth(truth, confirmed=False), truth, cutoff_m=1000.0)
    assert np.allclose(unconfirmed.ospa_m, 1000.0)
    empty = _tracks_from_truth(truth).slice(0, 0)
    none = ospa(empty, truth, cutoff_m=750.0)
    assert len(none.ospa_m) == 5 and np.allclose(none.ospa_m, 750.0)
    measures = siap(_tracks_from_truth(truth), truth)
    assert (measures.completeness, measures.spuriousness, measures.ambiguity) == (1.0, 0.0, 1.0)
    assert measures.accuracy_m == pytest.approx(0.0, abs=1e-6)


def test_ospa_distance_by_hand():
    # one pair 300 m apart, one extra track: ((300 + 1000) / 2) with p = 1, c = 1000
    d = np.array([[300.0], [5000.0]])
    assert ospa_distance(d, 2, 1, 1000.0, 1.0) == pytest.approx(650.0)
    assert ospa_distance(d, 2, 1, 1000.0, 2.0) == pytest.approx(np.sqrt((300.0**2 + 1000.0**2) / 2))
    assert ospa_distance(np.zeros((0, 0)), 0, 0, 1000.0, 1.0) == 0.0


# -- parts --------------------------------------------------------------------------------------------

def test_measurement_matrix_matches_finite_differences():
    rng = np.random.default_rng(0)
    positions = rng.uniform(-1e5, 1e5, (5, 3))
    positions[:, 2] = rng.uniform(100, 1e4, 5)
    sensor = np.array([1000.0, -2000.0, 50.0])
    angle = 0.03
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), np.sin(angle)], [0, -np.sin(angle), np.cos(angle)]])
    z, matrix = polar_measurement(positions, sensor, rotation, 3)
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = 1.0
        z1, _ = polar_measurement(positions + step, sensor, rotation, 3)
        z0, _ = polar_measurement(positions - step, sensor, rotation, 3)
        diff = (z1 - z0) / 2.0
        diff[:, 1] = (diff[:, 1] + np.pi) % (2 * np.pi) - np.pi
        np.testing.assert_allclose(matrix[:, :, axis], diff, rtol=1e-5, atol=1e-12)
    assert np.all(matrix[:, :, 3:] == 0.0)
    assert np.all((z[:, 1] >= 0) & (z[:, 1] < 2 * np.pi))


def test_gnn_solves_a_cluster_and_respects_the_gate():
    # tracks 0 and 1 both prefer detection 0; the cheaper total gives track 0 → 1, track 1 → 0
    pairs = GatedPairs(np.array([0, 0, 1, 2]), np.array([0, 1, 0, 2]), np.array([1.0, 2.0, 1.5, 3.0]),
                       np.zeros((4, 2)))
    chosen = global_nearest_neighbour(pairs, threshold=9.0)
    got = {(int(pairs.track[i]), int(pairs.detection[i])) for i in chosen}
    assert got == {(0, 1), (1, 0), (2, 2)}
    # a track leaves a detection when taking it costs more than the gate allows the other one
    pairs = GatedPairs(np.array([0, 1]), np.array([0, 0]), np.array([8.0, 0.5]), np.zeros((2, 2)))
    chosen = global_nearest_neighbour(pairs, threshold=9.0)
    assert [(int(pairs.track[i]), int(pairs.detection[i])) for i in chosen] == [(1, 0)]


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="confirm_hits"):
        TrackerConfig(confirm_hits=6, confirm_window=5)
    with pytest.raises(ValueError, match="gate_probability"):
        TrackerConfig(gate_probability=1.0)


# -- input and output -------------------------------------------------------------------------------------

def test_rows_in_any_order_give_the_same_tracks():
    det, _ = synthetic(**ONE_TARGET, scans=8)
    shuffled = det.take(np.random.default_rng(4).permutation(det.num_rows))
    assert track_detections(det, origin=ORIGIN).equals(track_detections(shuffled, origin=ORIGIN))


def test_csv_and_parquet_round_trip(tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    det, _ = synthetic(**ONE_TARGET, scans=6)
    pacsv.write_csv(det, tmp_path / "det.csv")
    pq.write_table(det, tmp_path / "det.parquet")
    from_csv = track_detections(read_detections(tmp_path / "det.csv"))
    from_parquet = track_detections(read_detections(tmp_path / "det.parquet"))
    assert from_csv.equals(from_parquet)
    write_tracks(from_csv, tmp_path / "tracks.csv")
    write_tracks(from_csv, tmp_path / "tracks.parquet")
    assert read_tracks(tmp_path / "tracks.parquet").equals(from_csv)
    back = read_tracks(tmp_path / "tracks.csv")
    assert back["alt_m"].null_count == from_csv["alt_m"].null_count
    assert back.column_names == from_csv.column_names


def _with(table, name, values, type_=pa.float64()):
    return table.set_column(table.column_names.index(name), name, pa.array(values, type_))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.drop_columns(["sigma_range_m"]), "missing column(s) 'sigma_range_m'"),
    (lambda t: _with(t, "range_m", ["a"] * t.num_rows, pa.string()), "column 'range_m' must be numeric"),
    (lambda t: _with(t, "range_m", [-5.0, *t["range_m"].to_pylist()[1:]]),
     "column 'range_m', row 0: -5.0 (must be a finite number > 0)"),
    (lambda t: _with(t, "range_m", [*t["range_m"].to_pylist()[:3], float("nan"), *t["range_m"].to_pylist()[4:]]),
     "column 'range_m', row 3: empty"),
    (lambda t: _with(t, "sigma_azimuth_deg", [0.0] * t.num_rows), "column 'sigma_azimuth_deg', row 0: 0.0"),
    (lambda t: _with(t, "sigma_elevation_deg", [None] * t.num_rows),
     "column 'sigma_elevation_deg', row 0: empty (must be a finite number > 0 where elevation_deg is given)"),
    (lambda t: _with(t, "time_s", [None, *t["time_s"].to_pylist()[1:]]), "column 'time_s', row 0: empty"),
    (lambda t: _with(t, "sensor_lat_deg", [53.9, 54.0, *t["sensor_lat_deg"].to_pylist()[2:]]),
     "column 'sensor_lat_deg', row 1: the sensor's position differs"),
])
def test_bad_input_names_the_column_and_row(edit, message):
    det, _ = synthetic([[-60e3, 40e3, 8000.0], [30e3, -50e3, 3000.0]], [[220.0, -30.0, 0.0]] * 2, scans=3,
                       radars=("3d",))
    with pytest.raises(TrackingInputError) as info:
        track_detections(edit(det))
    assert message in str(info.value)


def test_unreadable_files_raise_input_errors(tmp_path):
    with pytest.raises(TrackingInputError, match="no such file"):
        read_detections(tmp_path / "missing.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(TrackingInputError, match="cannot read as Parquet"):
        read_detections(tmp_path / "bad.parquet")


def test_empty_detections_give_an_empty_tracks_table():
    det, _ = synthetic(**ONE_TARGET, scans=2)
    tracks = track_detections(det.slice(0, 0))
    assert tracks.num_rows == 0 and "track_id" in tracks.column_names


# -- end to end ---------------------------------------------------------------------------------------------

def test_engine_detections_are_tracked_within_ospa_bound(write):
    from iadsim import load_scenario
    from iadsim.sim import run_simulation

    from .sim_scenarios import inbound, one_radar

    flights = inbound("a", 90.0, 5000.0, speed_kmh=900) + inbound("b", 90.0, 8000.0, speed_kmh=900,
                                                                   bearing="north")
    scenario = load_scenario(write(one_radar(flights=flights, duration_s=300, scan_s=5.0)))
    result = run_simulation(scenario, replication=0)
    tracks = track_detections(result.detections)
    assert len(_track_ids(tracks)) == 2
    confirmed_times = np.unique(_confirmed(tracks)["time_s"].to_numpy())
    measured = ospa(tracks, result.truth, cutoff_m=1000.0, order=1.0, times_s=confirmed_times[2:])
    # 50 m range and 0.2° (≈ 300 m at 90 km) noise: a filtered position well inside 300 m
    assert measured.mean_m < 300.0, measured.mean_m
    measures = siap(tracks, result.truth)
    assert measures.spuriousness == 0.0 and measures.ids_per_object == 1.0
