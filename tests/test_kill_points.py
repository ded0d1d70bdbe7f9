"""Run folders under kill -9 at several points of a run: nothing half-written is ever taken for a
run (by a reader or the viewer), a killed ``--force`` rerun leaves the previous run whole, and the
next run clears what the killed one left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from iadsim.io import run_folder as rf
from iadsim.web.app import create_app

from .conftest import MINIMAL


def _run(scenario: Path, out: Path, *extra: str,
         kill_when: Callable[[dict[str, object]], bool] | None = None) -> int:
    """``iadsim run`` in a child process; SIGKILL at the first progress line ``kill_when`` accepts."""
    with subprocess.Popen([sys.executable, "-m", "iadsim", "run", str(scenario), "--no-coverage",
                           "--out", str(out), "--progress-format", "json", *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if kill_when is not None and line.startswith("{") and kill_when(json.loads(line)):
                    proc.send_signal(signal.SIGKILL)
                    break
            return proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()


def _runs_listed(out: Path) -> list[str]:
    return [r["name"] for r in TestClient(create_app(out, jobs=False)).get("/api/runs").json()]


def _visible_folders_are_whole_runs(out: Path) -> list[Path]:
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    for p in visible:
        rf.read_run_folder(p, verify=True)  # raises on anything partial or changed
    return visible


KILL_POINTS = {
    "first progress line": lambda e: True,
    "half the simulation": lambda e: e["phase"] == "simulation" and e["done"] >= e["total"] // 2,
    "simulation done, files being written": lambda e: e["phase"] == "simulation"
    and e["done"] == e["total"],
    # the report is rendered into the finished folder before it is published (issue 20)
    "report being rendered": lambda e: e["phase"] == "report" and e["done"] == 0,
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "minimal.yaml"
    path.write_text(MINIMAL.replace("duration_s: 600", "duration_s: 300"), encoding="utf-8")
    return path


def test_killed_runs_leave_nothing_taken_for_a_run(tmp_path, scenario):
    out = tmp_path / "out"
    for point, kill_when in KILL_POINTS.items():
        assert _run(scenario, out, kill_when=kill_when) == -signal.SIGKILL, point
        if out.exists():
            assert _visible_folders_are_whole_runs(out) == [], point
            assert _runs_listed(out) == [], point
    # the next run completes and removes what the killed ones left
    assert _run(scenario, out) == 0
    [run] = _visible_folders_are_whole_runs(out)
    assert [p.name for p in out.iterdir()] == [run.name]
    assert (run / "report.html").stat().st_size > 0 and not list(run.glob(".*.tmp"))
    assert _runs_listed(out) == [run.name]
    # a --force rerun (another seed) killed half-way leaves that run whole and alone
    before = (run / "manifest.json").read_bytes()
    other = scenario.with_name("other-seed.yaml")
    other.write_text(scenario.read_text().replace("seed: 7", "seed: 8"), encoding="utf-8")
    code = _run(other, out, "--force", kill_when=KILL_POINTS["half the simulation"])
    assert code == -signal.SIGKILL
    assert _visible_folders_are_whole_runs(out) == [run]
    assert (run / "manifest.json").read_bytes() == before
    assert _runs_listed(out) == [run.name]


def test_a_run_set_aside_by_a_killed_force_is_put_back(tmp_path):
    """Killed between the two renames of ``--force``: the next writer restores the old run."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "x.txt").write_text("old")
    rf.write_manifest(run, {"scenario_hash": "ab" * 32, "seed": 1, "replication": 0,
                            "arrangement": "joint"})
    with subprocess.Popen([sys.executable, "-c", "pass"]) as dead:
        dead.wait()
    os.rename(run, tmp_path / f".run.old-{dead.pid}-0a1b2c3d")
    rf.remove_stale_partials(tmp_path)
    assert (run / "x.txt").read_text() == "old" and rf.is_run_folder(run)
