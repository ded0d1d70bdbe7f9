"""The run folder contract (iadsim.io.run_folder), run_scenario, the pipeline and ``iadsim report``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from iadsim import __version__, load_scenario
from iadsim.cli import app
from iadsim.io import run_folder as rf
from iadsim.pipeline import run_replication, sensing_pass
from iadsim.runs import run_scenario
from iadsim.world import scenario_hash, scenario_json
from tests.sim_scenarios import inbound, one_radar

IDENTITY = {"scenario_hash": "ab" * 32, "seed": 7, "replication": 0, "arrangement": "joint"}


def _write(parent: Path, name: str = "run", value: int = 1, force: bool = False) -> Path:
    with rf.RunFolderWriter(parent, name, IDENTITY, force=force) as w:
        w.table("truth", pa.table({"x": [value]}))
        w.json(rf.SUMMARY, {"value": value})
        return w.finish()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A small scenario file: one radar, two flights, no C2."""
    path = tmp_path_factory.mktemp("sc") / "small.yaml"
    path.write_text(one_radar(flights=inbound("a", 150, 3000) + inbound("b", 120, 500, bearing="north"),
                              duration_s=200.0), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_runs(small, tmp_path_factory) -> tuple[Path, Path]:
    """Two runs of the small scenario (one seed) in one parent."""
    out = tmp_path_factory.mktemp("runs")
    sc = load_scenario(small)
    return run_scenario(sc, out, coverage=None), run_scenario(sc, out, coverage=None)


def test_the_manifest_is_written_last_and_the_folder_appears_only_when_complete(tmp_path):
    w = rf.RunFolderWriter(tmp_path, "run", IDENTITY)
    w.table("truth", pa.table({"x": [1]}))
    # while being written: a hidden partial sibling, no manifest, nothing under the run's name
    assert w.path.name.startswith(".run.partial-") and w.path.parent == tmp_path
    assert not (w.path / rf.MANIFEST).exists() and not (tmp_path / "run").exists()
    assert not rf.is_run_folder(w.path)
    folder = w.finish()
    assert folder == tmp_path / "run" and not w.path.exists()
    manifest = json.loads((folder / rf.MANIFEST).read_text())
    assert manifest["format"] == rf.FORMAT and manifest["schema_version"] == rf.RUN_SCHEMA_VERSION
    assert manifest["iadsim_version"] == __version__ and manifest["seed"] == 7
    assert set(manifest["files"]) == {"truth.parquet"}
    assert manifest["files"]["truth.parquet"]["size"] == (folder / "truth.parquet").stat().st_size
    assert (folder / rf.MANIFEST).stat().st_mtime_ns >= (folder / "truth.parquet").stat().st_mtime_ns


def test_an_exception_while_writing_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), rf.RunFolderWriter(tmp_path, "run", IDENTITY) as w:
        w.table("truth", pa.table({"x": [1]}))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_renderings_are_added_to_the_finished_folder_before_it_is_published(tmp_path):
    seen = []

    def render(folder: Path) -> None:
        # the folder is finished (a reader accepts it) but not yet under the run's name
        seen.append((rf.read_run_folder(folder).manifest["seed"], (tmp_path / "run").exists()))
        (folder / "report.html").write_text("<html></html>", encoding="utf-8")

    with rf.RunFolderWriter(tmp_path, "run", IDENTITY) as w:
        w.table("truth", pa.table({"x": [1]}))
        folder = w.finish(render)
    assert seen == [(7, False)] and (folder / "report.html").is_file()
    assert "report.html" not in rf.read_run_folder(folder).manifest["files"]  # a rendering


def test_a_rendering_that_fails_still_publishes_the_whole_run(tmp_path):
    def render(folder: Path) -> None:
        raise ValueError("a bug in the report")

    with pytest.raises(ValueError, match="a bug"), rf.RunFolderWriter(tmp_path, "run", IDENTITY) as w:
        w.table("truth", pa.table({"x": [1]}))
        w.finish(render)
    assert rf.read_run_folder(tmp_path / "run", verify=True).has("truth")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_interrupted_rendering_publishes_nothing(tmp_path):
    def render(folder: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), rf.RunFolderWriter(tmp_path, "run", IDENTITY) as w:
        w.table("truth", pa.table({"x": [1]}))
        w.finish(render)
    assert list(tmp_path.iterdir()) == []


def test_a_second_run_of_one_name_gets_a_fresh_folder(tmp_path):
    first, second, third = _write(tmp_path, value=1), _write(tmp_path, value=2), _write(tmp_path, value=3)
    assert [first.name, second.name, third.name] == ["run", "run-2", "run-3"]
    assert rf.read_run_folder(first).json(rf.SUMMARY) == {"value": 1}  # untouched


def test_force_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    """--force replaced any folder of the run's name, a user's files and all (an audit lost a
    thesis.txt): only a folder with a run manifest is replaced; anything else is refused whole."""
    theirs = tmp_path / "run"
    theirs.mkdir()
    (theirs / "thesis.txt").write_text("mine")
    with pytest.raises(rf.RunFolderError, match="--force replaces only a run folder iadsim wrote"):
        _write(tmp_path, force=True)
    assert (theirs / "thesis.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    (theirs / "thesis.txt").unlink()
    theirs.rmdir()
    theirs.write_text("a file")
    with pytest.raises(rf.RunFolderError, match="not a folder"):
        _write(tmp_path, force=True)
    assert theirs.read_text() == "a file"


def test_a_missing_or_damaged_table_is_a_run_folder_error_naming_it(tmp_path):
    """A run without a table (a --no-sim run has no truth) and a table that cannot be read, its
    manifest made to agree: exports and the report stopped with KeyError or ArrowInvalid."""
    run = rf.read_run_folder(_write(tmp_path))
    with pytest.raises(rf.RunFolderError, match=r"the run has no detections\.parquet") as caught:
        run.table("detections")
    assert isinstance(caught.value, KeyError) and "without simulating" not in str(caught.value)
    truth = run.file("truth")
    truth.write_bytes(truth.read_bytes()[:50])
    rf.write_manifest(run.path, IDENTITY)  # resealed: the manifest agrees with the damaged file
    with pytest.raises(rf.RunFolderError, match=r"truth\.parquet: a table of the run that cannot be read"):
        rf.read_run_folder(run.path).table("truth")


def test_force_replaces_the_old_folder_whole(tmp_path):
    old = _write(tmp_path, value=1)
    (old / "stray.txt").write_text("from the old run")
    new = _write(tmp_path, value=2, force=True)
    assert new == old and not (new / "stray.txt").exists()
    assert rf.read_run_folder(new).json(rf.SUMMARY) == {"value": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial or set-aside folder left


def test_partial_folders_of_dead_writers_are_removed_by_the_next_run(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f".run.partial-{child.pid}-0a1b2c3d"
    dead.mkdir()
    alive = tmp_path / f".other.partial-{os.getpid()}-0a1b2c3d"
    alive.mkdir()
    _write(tmp_path)
    assert not dead.exists() and alive.exists()


def test_the_reader_refuses_a_folder_without_manifest(tmp_path):
    folder = _write(tmp_path)
    (folder / rf.MANIFEST).unlink()
    with pytest.raises(rf.RunFolderError, match=re.escape(
            "not a finished run folder (no manifest.json: the run was interrupted, or was written by "
            "iadsim before 0.2")):
        rf.read_run_folder(folder)
    assert not rf.is_run_folder(folder)


def test_the_reader_refuses_an_unknown_schema_version(tmp_path):
    folder = _write(tmp_path)
    manifest = json.loads((folder / rf.MANIFEST).read_text())
    manifest["schema_version"] = rf.RUN_SCHEMA_VERSION + 1
    (folder / rf.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(rf.RunFolderError, match=re.escape(
            f"schema version {rf.RUN_SCHEMA_VERSION + 1}, this iadsim reads version {rf.RUN_SCHEMA_VERSION} only")):
        rf.read_run_folder(folder)
    assert not rf.is_run_folder(folder)


def test_the_reader_refuses_files_that_do_not_match_the_manifest(tmp_path):
    folder = _write(tmp_path)
    summary = folder / rf.SUMMARY
    summary.write_text(summary.read_text() + " ")
    with pytest.raises(rf.RunFolderError, match=r"summary\.json has \d+ bytes, the manifest says"):
        rf.read_run_folder(folder)
    folder = _write(tmp_path)
    data = bytearray((folder / rf.SUMMARY).read_bytes())
    data[data.index(b"1")] = ord("2")  # same size, other content
    (folder / rf.SUMMARY).write_bytes(bytes(data))
    with pytest.raises(rf.RunFolderError, match=re.escape("summary.json does not match its SHA-256")):
        rf.read_run_folder(folder)
    (folder / rf.SUMMARY).unlink()
    with pytest.raises(rf.RunFolderError, match=re.escape("summary.json is listed in the manifest but missing")):
        rf.read_run_folder(folder)


def test_every_parquet_file_of_a_run_carries_the_metadata_and_two_runs_are_byte_identical(small, small_runs):
    a, b = small_runs
    assert (a.name, b.name) == (a.name, a.name + "-2")
    run = rf.read_run_folder(a)
    files = [f for f in run.files if f.endswith(".parquet")]
    assert {"truth.parquet", "detections.parquet", "first_detections.parquet"} <= set(files)
    assert any(f.startswith("tracks_") for f in files)
    sc = load_scenario(small)
    for f in files:
        meta = pq.read_schema(a / f).metadata
        assert meta[b"iadsim_run_schema_version"] == str(rf.RUN_SCHEMA_VERSION).encode(), f
        assert meta[b"iadsim_scenario_hash"] == scenario_hash(sc).encode(), f
        assert meta[b"iadsim_version"] == __version__.encode(), f
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # the resolved scenario is stored, and its SHA-256 is the scenario hash
    assert (a / rf.SCENARIO).read_text(encoding="utf-8") == scenario_json(sc)
    assert scenario_hash(run.scenario()) == run.manifest["scenario_hash"] == scenario_hash(sc)


def test_the_report_renders_again_from_the_folder_alone(small_runs, tmp_path):
    a, _ = small_runs
    copy = tmp_path / "moved"
    subprocess.run(["cp", "-r", str(a), str(copy)], check=True)
    html_before = (a / rf.REPORT).read_text(encoding="utf-8") if (a / rf.REPORT).exists() else None
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(copy / rf.REPORT)
    html = (copy / rf.REPORT).read_text(encoding="utf-8")
    assert "Simulation: detections" in html and "Recognised air picture per command node" in html
    if html_before is not None:
        assert html == html_before
    rf.read_run_folder(copy)  # rendering did not touch the run's files


def test_iadsim_report_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a finished run folder" in result.output and "Traceback" not in result.output


def test_iadsim_run_prints_the_fresh_folder_it_chose_and_force_replaces(small, tmp_path):
    runner = CliRunner()
    args = ["run", str(small), "--out", str(tmp_path), "--no-coverage"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    # the path is stdout's last line (the summary table after it goes to stderr)
    a, b = Path(first.stdout.strip().splitlines()[-1]), Path(second.stdout.strip().splitlines()[-1])
    assert b.parent.name == a.parent.name + "-2" and a.exists() and b.exists()
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0 and Path(forced.stdout.strip().splitlines()[-1]) == a
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.parent.name, b.parent.name])


def test_a_run_killed_mid_way_leaves_no_folder_a_reader_or_the_viewer_takes_for_a_run(tmp_path):
    from fastapi.testclient import TestClient

    from iadsim.web.app import create_app

    out = tmp_path / "out"
    out.mkdir()
    # the reference scenario's coverage takes seconds after the first files are written
    proc = subprocess.Popen([sys.executable, "-m", "iadsim", "run", "air-policing-violation", "--out",
                             str(out), "--no-sim", "--progress-format", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            partial = [p for p in out.iterdir() if ".partial-" in p.name]
            if partial and any(partial[0].iterdir()):
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("the run never started writing")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    left = list(out.iterdir())
    assert left and all(p.name.startswith(".") for p in left)
    for p in left:
        assert not rf.is_run_folder(p)
        with pytest.raises(rf.RunFolderError):
            rf.read_run_folder(p)
    client = TestClient(create_app(out, jobs=False))
    assert client.get("/api/runs").json() == []


def test_two_arrangements_over_one_sensing_pass_equal_separate_runs():
    sc = load_scenario("air-policing-violation").with_changes(duration_s=900.0)
    sensing = sensing_pass(sc, terrain=None)
    for arr in ("national", "joint"):
        shared = run_replication(sc, arrangement=arr, sensing=sensing)
        alone = run_replication(sc, arrangement=arr, terrain=None)
        for name in ("detections", "picture", "c2_events", "interceptors", "outcomes", "engagements"):
            a, b = getattr(shared, name), getattr(alone, name)
            # repr, not Table.equals: NaN (an event that never happened) equals itself here
            assert a.schema == b.schema and repr(a.to_pylist()) == repr(b.to_pylist()), (arr, name)
        assert shared.arrangement == arr and shared.c2 and shared.stats == alone.stats
    with pytest.raises(ValueError, match="the sensing pass given is of another run"):
        run_replication(sc, seed=sc.seed + 1, sensing=sensing)
    with pytest.raises(ValueError, match="the sensing pass given is of another run"):
        run_replication(sc, replication=1, sensing=sensing)


def test_the_saturation_curve_reuses_the_run_for_scale_one_and_does_not_depend_on_jobs():
    from iadsim.runs.saturation import saturation_curve

    sc = load_scenario("mixed-raid").with_changes(duration_s=600.0)
    main = run_replication(sc, terrain=None)
    reused = saturation_curve(sc, (1.0, 0.5), terrain=None, main=main, jobs=1)
    fresh = saturation_curve(sc, (1.0, 0.5), terrain=None, jobs=2)
    assert reused.to_pylist() == fresh.to_pylist()
    assert reused.to_pylist()[0]["missiles"] == main.stats["c2"]["missiles_expended"]


def test_coverage_drawn_aside_is_the_inline_study_and_leaves_nothing(reference, tmp_path, monkeypatch):
    """With no saturation curve, a run's coverage study is computed and drawn by a worker process
    while the replication runs: its files and summary are those of the study made in this process,
    and its own folder is gone afterwards, also when the replication fails."""
    import iadsim.runs.run as run_module

    made = []
    init = run_module._CoverageAside.__init__

    def spy(self, *args):
        init(self, *args)
        made.append(self)

    monkeypatch.setattr(run_module._CoverageAside, "__init__", spy)
    sc = reference.with_changes(duration_s=300.0)
    folder = run_scenario(sc, tmp_path / "runs")
    assert len(made) == 1 and not made[0].staging.exists()
    inline = tmp_path / "inline"
    expected = run_module._coverage_summary(sc, sc.as_of, run_module.RUN_COVERAGE, inline)
    files = sorted(p.relative_to(inline) for p in (inline / rf.COVERAGE_DIR).rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(folder) for p in (folder / rf.COVERAGE_DIR).rglob("*")
                                     if p.is_file())
    for rel in files:
        assert (folder / rel).read_bytes() == (inline / rel).read_bytes(), rel
    summary = json.loads((folder / rf.SUMMARY).read_text(encoding="utf-8"))
    assert summary["coverage"] == expected["coverage"] == "coverage/"
    assert summary["coverage_study"]["maps"] == expected["coverage_study"]["maps"]
    assert summary["terrain"] == expected["terrain"]

    def fails(*args, **kwargs):
        raise RuntimeError("the replication failed")

    monkeypatch.setattr(run_module, "run_replication", fails)
    with pytest.raises(RuntimeError, match="replication failed"):
        run_scenario(sc, tmp_path / "failed")
    assert len(made) == 2 and not made[1].staging.exists() and not (tmp_path / "failed").exists()
