"""Parameter sweeps: overrides, the dataset, resume after SIGKILL, Dask, the report, every bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from iadsim.analysis.statistics import mean_ci
from iadsim.cli import app
from iadsim.options import OptionError
from iadsim.runs.sweep import (
    SweepError,
    SweepTask,
    apply_overrides,
    load_spec,
    open_backend,
    plan_sweep,
    read_manifest,
    read_results,
    run_sweep,
    run_task,
)
from iadsim.scenario import load_scenario

runner = CliRunner()

SPEC = """\
scenario: air-policing-violation
replications: 3
base: {duration_s: 600}
parameters:
  cases:
    - {as_of: 2020-12-31, arrangement: national}
    - {as_of: 2020-12-31, arrangement: joint}
    - {as_of: 2010-12-31, arrangement: joint}
"""
"""The violation scenario cut to 10 minutes (the violator enters at 525 s and is identified by then):
3 cases × 3 replications; the two 2020 cases share each sensing pass, 'joint' cannot be built in 2010
(its tasks end at once, before any sensing pass)."""

GRID_SPEC = """\
scenario: air-policing-violation
replications: 3
base: {duration_s: 600}
parameters:
  grid:
    as_of: [2010-12-31, 2020-12-31]
    arrangement: [national, joint]
"""
"""A grid spec for the bad-input tests (they never run a task)."""


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _spec(folder: Path, text: str = SPEC, name: str = "spec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(table: pa.Table) -> list[dict]:
    """Rows with NaN as None (NaN != NaN would fail equal tables)."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in table.to_pylist()]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "iadsim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """One sweep killed with SIGKILL and resumed (local processes, CLI), one uninterrupted (a Dask
    LocalCluster of 2 workers, in this process)."""
    root = tmp_path_factory.mktemp("sweep")
    spec = _spec(root)
    killed = root / "killed"
    proc = _cli("sweep", str(spec), "--out", str(killed), "--jobs", "2", start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(killed.glob("results/case=*/rep=*.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no result file within 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    after_kill = len(list(killed.glob("results/case=*/rep=*.parquet")))
    resumed = _cli("sweep", str(spec), "--out", str(killed), "--jobs", "2")
    _, resume_err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, resume_err

    whole = root / "whole"
    plan = plan_sweep(load_spec(spec))
    with open_backend(local_cluster=2) as backend:
        result = run_sweep(plan, whole, backend)
    return {"spec": spec, "killed": killed, "whole": whole, "after_kill": after_kill,
            "resume_err": resume_err, "result": result}


def test_sigterm_stops_a_sweep_and_its_workers_at_once_with_the_resume_message(tmp_path):
    """SIGTERM to the parent alone (a batch scheduler's limit, the viewer's Cancel) takes the path of
    Ctrl-C. Its workers do not get the signal; they are stopped mid-task, not waited for (a task here
    simulates 4 hours, far longer than the 15 s allowed), and no semaphore is left to the tracker."""
    psutil = pytest.importorskip("psutil")
    spec = _spec(tmp_path, SPEC.replace("duration_s: 600", "duration_s: 14400"))
    proc = _cli("sweep", str(spec), "--out", str(tmp_path / "out"), "--jobs", "2", start_new_session=True)
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        workers: list = []
        while sum(w.cpu_times().user for w in workers) < 4:  # both workers are inside a task
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the workers did not start within 120 s"
            time.sleep(0.2)
            workers = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert re.search(r"interrupted: \d+ tasks? (is|are) done and kept in .*; run the same command again", err)
    assert "leaked semaphore" not in err and "Traceback" not in err
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


def test_killed_sweep_resumes_to_the_same_results_as_an_uninterrupted_one(sweeps):
    assert 1 <= sweeps["after_kill"] < 9, "the kill must land mid-sweep"
    assert f"{sweeps['after_kill']} tasks were already done, {9 - sweeps['after_kill']} ran" \
        in sweeps["resume_err"]
    a, b = read_results(sweeps["killed"]), read_results(sweeps["whole"])
    assert a.num_rows > 0
    assert a.schema.remove_metadata() == b.schema.remove_metadata()
    assert _rows(a) == _rows(b)
    ma, mb = read_manifest(sweeps["killed"]), read_manifest(sweeps["whole"])
    assert ma == mb
    assert not list(sweeps["killed"].rglob("*.tmp-*"))


def test_dataset_is_hive_partitioned_with_one_file_per_task_and_the_override_columns(sweeps):
    out = sweeps["whole"]
    manifest = read_manifest(out)
    ids = [c["case_id"] for c in manifest["cases"]]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(i.startswith("c") for i in ids)
    assert manifest["tasks"] == [[c, r] for c in ids for r in range(3)]
    assert manifest["scenario_hash"] == __import__("iadsim.world", fromlist=["x"]).scenario_hash(
        load_scenario("air-policing-violation"))
    for c, r in manifest["tasks"]:
        assert (out / "results" / f"case={c}" / f"rep={r}.parquet").is_file()
    table = ds.dataset(out / "results", format="parquet", partitioning="hive").to_table()
    assert table.schema.field("as_of").type == pa.date32()
    assert table.schema.field("arrangement").type == pa.string()
    assert table.column("case").to_pylist() == table.column("case_id").to_pylist()
    assert set(table.column("replication").to_pylist()) == {0, 1, 2}
    # the joint arrangement in 2010: recorded as unavailable with the reason, no rows
    joint_2010 = next(c["case_id"] for c in manifest["cases"]
                      if c["overrides"] == {"as_of": "2010-12-31", "arrangement": "joint"})
    gone = [u for u in manifest["unavailable"] if u["case_id"] == joint_2010]
    assert [u["replication"] for u in gone] == [0, 1, 2]
    assert "not in service on 2010-12-31" in gone[0]["reason"]
    assert len(manifest["unavailable"]) == 3
    assert joint_2010 not in set(table.column("case_id").to_pylist())
    assert sweeps["result"].unavailable.keys() == {(joint_2010, r) for r in range(3)}
    # the violator is identified in 2020 under both arrangements
    rows = [r for r in table.to_pylist() if r["as_of"].year == 2020 and r["object_id"] == "violator"]
    assert len(rows) == 6 and all(math.isfinite(r["identified_s"]) for r in rows)


def test_rerun_of_a_complete_sweep_runs_nothing_and_changes_no_result(sweeps):
    out = sweeps["whole"]
    before = {k: v for k, v in _snapshot(out).items() if k.startswith("results")}
    result = invoke("sweep", str(sweeps["spec"]), "--out", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert "9 tasks were already done, 0 ran" in result.stderr
    assert {k: v for k, v in _snapshot(out).items() if k.startswith("results")} == before


def test_cases_differing_only_in_arrangement_share_the_sensing_pass_exactly():
    scenario = apply_overrides(load_scenario("air-policing-violation"), {"duration_s": 600})
    shared = run_task(SweepTask(scenario, 1, (("a", "national"), ("b", "exchange"))))
    alone = run_task(SweepTask(apply_overrides(scenario, {"arrangement": "exchange"}), 1, (("b", "exchange"),)))
    assert [r.case_id for r in shared] == ["a", "b"]
    assert shared[1].outcomes is not None and shared[1].outcomes.num_rows == 1
    assert _rows(shared[1].outcomes) == _rows(alone[0].outcomes)


def test_sweep_report_aggregates_each_case_with_student_t_cis(sweeps):
    out = sweeps["whole"]
    result = invoke("sweep-report", str(out))
    assert result.exit_code == 0, result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "time to identification" in html
    assert "Unavailable cases" in html and "not in service on 2010-12-31" in html
    assert "<script" not in html and "http" not in html.split("<body>")[1]
    records = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8"))))
    table = read_results(out).to_pylist()
    manifest = read_manifest(out)
    case = next(c["case_id"] for c in manifest["cases"]
                if c["overrides"] == {"as_of": "2020-12-31", "arrangement": "national"})
    per_rep = [next(r["identified_s"] - r["start_s"] for r in table
                    if r["case_id"] == case and r["replication"] == k) for k in range(3)]
    mean, half, k = mean_ci(per_rep)
    row = next(r for r in records if r["case_id"] == case and r["metric"] == "time_to_identification_s")
    assert k == 3 and float(row["mean"]) == pytest.approx(mean) and float(row["half_width"]) == pytest.approx(half)
    assert row["as_of"] == "2020-12-31" and row["arrangement"] == "national"
    bad = invoke("sweep-report", str(out), "--metric", "time_to_lunch_s")
    assert bad.exit_code == 2 and "unknown metric 'time_to_lunch_s'" in bad.stderr


# -- overrides ---------------------------------------------------------------------------------------


def test_overrides_reach_nested_fields_and_revalidate():
    base = load_scenario("mixed-raid")
    unit = next(iter(base.units))
    sc = apply_overrides(base, {"traffic.raids.cruise_missiles.count": 3, "as_of": "2016-12-31",
                                f"units.{unit}.name": "Renamed"})
    assert sc.traffic.raids["cruise_missiles"].count == 3
    assert str(sc.as_of) == "2016-12-31" and sc.units[unit].name == "Renamed"
    assert base.traffic.raids["cruise_missiles"].count != 3  # the base is untouched


def test_overrides_keep_which_fields_the_scenario_sets():
    """The dump holds only the fields set, so checks that depend on them still pass after an override
    (the mixed raid's waypoints leave alt_m unset; a full dump would set it and fail the traffic)."""
    import numpy as np

    from iadsim.sim.traffic import build_trajectories

    base = load_scenario("mixed-raid")
    sc = apply_overrides(base, {"duration_s": 300})
    assert sc.duration_s == 300 and apply_overrides(base, {"duration_s": base.duration_s}) == base
    build_trajectories(sc, np.random.default_rng(0))
    # a field the data leave at its default can be set
    assert "truth_interval_s" not in base.model_fields_set and "note" not in base.c2.model_fields_set
    sc = apply_overrides(base, {"truth_interval_s": 5, "c2.note": "swept"})
    assert sc.truth_interval_s == 5 and sc.c2.note == "swept"


def test_override_path_that_does_not_exist_names_the_nearest_keys():
    base = load_scenario("mixed-raid")
    with pytest.raises(SweepError) as e:
        apply_overrides(base, {"traffic.raids.cruise_missile.count": 3})
    msg = str(e.value)
    assert "'cruise_missile' is not a key of traffic.raids" in msg and "did you mean 'cruise_missiles'" in msg


# -- bad input: clear messages, exit code 2, nothing written ------------------------------------------


def test_cli_unknown_parameter_path(tmp_path):
    spec = _spec(tmp_path, GRID_SPEC.replace("arrangement: [national, joint]", "c2.identification_tme_s: [10]"))
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "parameter 'c2.identification_tme_s'" in result.stderr
    assert "'identification_tme_s' is not a key of c2" in result.stderr
    assert "did you mean 'identification_time_s'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_override_problems_are_given_once_at_their_line_in_the_spec(tmp_path):
    spec = _spec(tmp_path, "scenario: air-policing-violation\nreplications: 1\nbase:\n  duration_s: 600\n"
                           "parameters:\n  grid:\n    c2.identification_time_s: [-5, 30, 60]\n"
                           "    duration_s: [1800, 3600]\n  cases:\n    - {seed: 1}\n"
                           "    - {seed: -1, traffic.flights.violator.speed_kmh: 0}\n")
    with pytest.raises(SweepError) as e:
        plan_sweep(load_spec(spec))
    assert e.value.problems == [
        f"{spec}:7:32: parameter 'c2.identification_time_s' = -5: rejected by the scenario schema at "
        "'c2.identification_time_s': Input should be greater than or equal to 0 (in 4 of the 12 cases)",
        f"{spec}:11:8: parameter 'seed' = -1: rejected by the scenario schema at 'seed': Input should be "
        "greater than or equal to 0 (in 6 of the 12 cases)",
        f"{spec}:11:18: parameter 'traffic.flights.violator.speed_kmh' = 0: rejected by the scenario schema "
        "at 'traffic.flights.violator.speed_kmh': Input should be greater than or equal to 1 "
        "(in 6 of the 12 cases)"]
    # a path that does not exist: at the grid's key, once; base: at base's line, not the grid's
    spec = _spec(tmp_path, "scenario: air-policing-violation\nreplications: 1\nbase:\n  duration_s: -3\n"
                           "parameters:\n  grid:\n    duration_s: [1800, 3600]\n")
    with pytest.raises(SweepError) as e:
        plan_sweep(load_spec(spec))
    assert e.value.problems == [f"{spec}:4:3: parameter 'duration_s' = -3: rejected by the scenario schema at "
                                "'duration_s': Input should be greater than 0"]
    spec = _spec(tmp_path, "scenario: air-policing-violation\nreplications: 1\nparameters:\n  grid:\n"
                           "    seed: [1, 2]\n    c2.identification_tme_s: [30, 60]\n")
    with pytest.raises(SweepError) as e:
        plan_sweep(load_spec(spec))
    assert len(e.value.problems) == 1
    assert e.value.problems[0].startswith(f"{spec}:6:5: parameter 'c2.identification_tme_s': "
                                          "'identification_tme_s' is not a key of c2")
    assert e.value.problems[0].endswith("(in all 4 cases)")


def test_cli_value_the_schema_rejects(tmp_path):
    spec = _spec(tmp_path, GRID_SPEC.replace("arrangement: [national, joint]", "duration_s: [600, -5]"))
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "parameter 'duration_s' = -5: rejected by the scenario schema" in result.stderr
    assert "greater than 0" in result.stderr
    bad_enum = _spec(tmp_path, GRID_SPEC.replace("[national, joint]", "[national, federal]"), "enum.yaml")
    result = invoke("sweep", str(bad_enum), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "parameter 'arrangement' = 'federal'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_million_tasks_without_yes(tmp_path):
    values = ", ".join(str(i) for i in range(1000))
    text = GRID_SPEC.replace("as_of: [2010-12-31, 2020-12-31]", f"seed: [{values}]").replace(
        "arrangement: [national, joint]", f"tick_s: [{', '.join(str(1 + i / 1000) for i in range(1000))}]")
    spec = _spec(tmp_path, text.replace("replications: 3", "replications: 1"))
    t0 = time.monotonic()
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "the sweep has 1,000,000 tasks" in result.stderr and "--yes" in result.stderr
    assert time.monotonic() - t0 < 10 and not (tmp_path / "out").exists()


def test_cli_refuses_a_results_folder_of_a_different_spec(sweeps, tmp_path):
    out = sweeps["whole"]
    before = _snapshot(out)
    other = _spec(tmp_path, SPEC.replace("replications: 3", "replications: 2"))
    result = invoke("sweep", str(other), "--out", str(out), "--jobs", "1")
    assert result.exit_code == 2
    assert "holds the results of a different sweep" in result.stderr and "nothing was written" in result.stderr
    assert _snapshot(out) == before
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine", encoding="utf-8")
    result = invoke("sweep", str(sweeps["spec"]), "--out", str(stranger), "--jobs", "1")
    assert result.exit_code == 2 and "not a sweep folder" in result.stderr
    assert [p.name for p in stranger.iterdir()] == ["notes.txt"]


def test_damaged_or_stray_files_in_a_sweep_folder(sweeps, tmp_path):
    """A stray file under results/ is not a result (sweep-report read it and stopped); a truncated
    result file is named by sweep-report and run again by sweep; a file is not a sweep folder."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sweeps["whole"], copy)
    (copy / "results" / "README.txt").write_text("my notes")
    assert _rows(read_results(copy)) == _rows(read_results(sweeps["whole"]))
    damaged = sorted(copy.glob("results/case=*/rep=*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    result = invoke("sweep-report", str(copy))
    assert result.exit_code == 2 and f"{damaged}: a result file that cannot be read" in result.stderr
    result = invoke("sweep", str(sweeps["spec"]), "--out", str(copy), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert "8 tasks were already done, 1 ran" in result.stderr
    assert _rows(read_results(copy)) == _rows(read_results(sweeps["whole"]))
    result = invoke("sweep-report", str(copy / "results" / "README.txt"))
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_an_unreachable_dask_scheduler_is_one_message():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(OptionError, match=re.escape("--scheduler tcp://127.0.0.1:1: no Dask scheduler")), \
            open_backend(scheduler="tcp://127.0.0.1:1"):
        pass


def test_cli_bad_spec_structure_and_options(tmp_path):
    spec = _spec(tmp_path, "scenario: air-policing-violation\nreplication: 3\n")
    result = invoke("sweep", str(spec))
    assert result.exit_code == 2
    # one message at the misspelt key's line, not a second one for the missing key it stands for
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}:2:1: unknown key 'replication'; did you mean 'replications'? (allowed: scenario, "
        "replications, base, parameters, report)"]
    result = invoke("sweep", str(_spec(tmp_path, "scenario: air-policing-violation\nreplications: 0\n")))
    assert result.exit_code == 2
    assert "spec.yaml:2:1: replications: expected a whole number from 1 to 1,000,000, got 0" in result.stderr
    result = invoke("sweep", str(spec), "--jobs", "2", "--local-cluster", "2")
    assert result.exit_code == 2 and "--jobs" in result.stderr


@pytest.mark.parametrize(("edit", "message"), [
    ("parameters:\n  cases: []\n", "parameters.cases: expected a non-empty list"),
    ("parameters:\n  grid:\n    c2.identification_time_s: [30, 30.0]\n",
     "sets the same values as case {\"c2.identification_time_s\":30} once the scenario reads them"),
    ("parameters:\n  grid:\n    arrangement: [national, joint]\nreport: {metric: no_such_metric, x: nope}\n",
     "report.metric: unknown metric 'no_such_metric'"),
    ("parameters:\n  grid:\n    arrangement: [national, joint]\nreport: {x: nope}\n",
     "report.x: 'nope' is not a parameter the spec sweeps (arrangement)"),
])
def test_cli_specs_that_would_run_nothing_new_or_fail_at_the_report(tmp_path, edit, message):
    """An empty case list ran the base scenario alone; 30 and 30.0 ran the same simulation twice; a
    bad report block passed the sweep and failed only at sweep-report. Each is refused at once."""
    spec = _spec(tmp_path, "scenario: air-policing-violation\nreplications: 1\n" + edit)
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_ctrl_c_says_what_is_kept_and_how_to_resume(tmp_path):
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    proc = _cli("sweep", str(spec), "--out", str(out), "--jobs", "1")
    deadline = time.monotonic() + 120
    while not list(out.glob("results/case=*/rep=*.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no result file within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert re.search(r"interrupted: \d+ tasks? (is|are) done and kept in .*; run the same command again", err)


def test_bundled_example_spec_plans_as_of_by_arrangement():
    from iadsim.cli import _sweep_spec_path

    plan = plan_sweep(load_spec(_sweep_spec_path("sweep-violation")))
    assert plan.parameters == ("as_of", "arrangement")
    assert len(plan.cases) == 12 and len(plan.tasks) == 12 * plan.spec.replications
    assert json.loads(json.dumps(plan.manifest()))["spec"]["scenario"] == "air-policing-violation"


def _worker_threads(_: object) -> tuple[int, str | None]:
    """In a worker: numba's thread count and the allocator setting Dask's nannies set by default."""
    import numba

    return numba.get_num_threads(), os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.parametrize("backend", [{"jobs": 2}, {"local_cluster": 2}])
def test_workers_share_the_cores_and_keep_the_default_allocator(backend):
    """Two workers on this machine's cores get half of them each for numba's parallel loops (each
    used all of them before: two workers ran a study slower than one process), and the Dask
    workers run without MALLOC_TRIM_THRESHOLD_ (it made their evaluations take 1.6× the CPU)."""
    from iadsim.runs.sweep import execute

    with open_backend(**backend) as be:
        seen = set(execute(be, _worker_threads, range(4)))
    assert seen == {(max(1, (os.cpu_count() or 1) // 2), None)}


def _worker_profiler(_: object) -> bool:
    """In a Dask worker: whether Dask's statistical profiler samples its threads."""
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_local_cluster_workers_run_without_the_dashboards_profiler():
    """--local-cluster starts no dashboard, so its workers do not sample their stacks for one (it
    cost a study's evaluations about 4 %); a plain LocalCluster's workers do."""
    from iadsim.runs.sweep import execute

    with open_backend(local_cluster=2) as be:
        assert set(execute(be, _worker_profiler, range(4))) == {False}
    import dask

    assert dask.config.get("distributed.worker.profile.enabled") is True  # only the cluster's workers


def test_two_local_clusters_at_once_do_not_collide():
    """Each local cluster's scheduler serves its HTTP routes on a free port: a second one started
    while the first runs warned "Port 8787 is already in use" (an error under this suite's settings)."""
    from iadsim.runs.sweep import dask_local_cluster

    with dask_local_cluster(1) as first, dask_local_cluster(1) as second:
        assert first.scheduler_address != second.scheduler_address


class _Counted:
    """A value that counts, per process, how often it was unpickled."""

    loads = 0

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __setstate__(self, state: dict[str, float]) -> None:
        type(self).loads += 1
        self.__dict__.update(state)


def _scaled(shared: _Counted, x: int) -> tuple[float, int, int]:
    """In a worker: the shared factor times x, the worker's process id and its unpickle count."""
    return shared.factor * x, os.getpid(), _Counted.loads


@pytest.mark.parametrize("backend", [{"jobs": 1}, {"jobs": 2}, {"local_cluster": 2}])
def test_a_shared_value_reaches_every_task_and_each_worker_once(backend):
    """``execute(…, shared=)`` gives every task the value and unpickles it once per worker, not once
    per task (a sensitivity study sent its 0.3 MB scenario with each task)."""
    from iadsim.runs.sweep import execute

    with open_backend(**backend) as be:
        got = list(execute(be, _scaled, range(24), shared=_Counted(2.5)))
    assert sorted(v for v, _, _ in got) == [2.5 * x for x in range(24)]
    loads: dict[int, int] = {}
    for _, pid, n in got:
        loads[pid] = max(loads.get(pid, 0), n)
    # a Dask worker may receive a scattered key twice when the scheduler replicates it while the
    # machine is loaded (seen once in `make test`: one worker 2, the other 1); sent with each task,
    # each of the two workers would unpickle it about 12 times
    most = 2 if "local_cluster" in backend else 1
    assert all((n == 0) if pid == os.getpid() else (1 <= n <= most) for pid, n in loads.items()), loads


def test_a_folder_begun_by_another_build_is_not_resumed(tmp_path):
    """A development build keeps its version from commit to commit: the manifest's build
    fingerprint keeps one build from finishing another's sweep with other numbers."""
    from iadsim.runs.sweep import InlineBackend
    from iadsim.version import build_fingerprint

    plan = plan_sweep(load_spec(_spec(tmp_path, GRID_SPEC)))
    out = tmp_path / "out"
    out.mkdir()
    manifest = {**plan.manifest(), "iadsim_build": "0123456789abcdef"}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert build_fingerprint() != "0123456789abcdef" and len(build_fingerprint()) == 16
    with pytest.raises(SweepError, match="differ in 'iadsim_build'"):
        run_sweep(plan, out, InlineBackend())
