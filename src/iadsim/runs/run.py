"""``run_scenario``: one replication of a scenario, its saturation curve and coverage, written as a run
folder through the contract (``iadsim.io.run_folder``). The report renders the folder afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.analysis.pictures import score_picture
from iadsim.coverage.study import CoverageRequest, run_coverage_study
from iadsim.io import oob_to_csv, oob_to_geojson
from iadsim.io import run_folder as rf
from iadsim.io.coverage import write_coverage_study
from iadsim.io.parquet import decoded
from iadsim.oob import order_of_battle, outside_borders_warning
from iadsim.pipeline import DEFAULT_TERRAIN, RunResult, run_replication
from iadsim.runs.saturation import SaturationRuns
from iadsim.runs.workers import pool_failure_explained, process_pool, stop_workers
from iadsim.scenario.dates import DateLike, as_date, check_data_period
from iadsim.scenario.provenance import collect_assumptions
from iadsim.scenario.schema import Arrangement, Scenario
from iadsim.version import __version__
from iadsim.world import compile_world, scenario_hash, scenario_json

__all__ = ["RUN_COVERAGE", "SATURATION_JOBS", "run_folder_name", "run_scenario"]

RUN_COVERAGE = CoverageRequest(dates=(), layers_m=(100.0, 1000.0, 10000.0), resolution_km=10.0,
                               rcs_classes=("fighter",), dem="default")
"""The coverage of a run: three layers on a 10 km grid over the bundled ETOPO5."""

SATURATION_JOBS = 2
"""Worker processes of a run's saturation curve (the machine iadsim targets has two cores)."""

Progress = Callable[[str, int, int], None]


def run_folder_name(scenario: Scenario, as_of: dt.date) -> str:
    """A filesystem-safe folder name from the scenario name and date."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scenario.name).lower()
    # at most 80 characters: a name may be 2,000, a folder name (with its hidden partial
    # prefix and suffix) at most 255 bytes, and the viewer's run names at most 128
    slug = slug.strip("-")[:80].strip("-") or "scenario"
    return f"{slug}-{as_of.isoformat()}"


def _finite_or_none(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


def run_scenario(scenario: Scenario, out_dir: Path | str, *, as_of: DateLike | None = None,
                 arrangement: Arrangement | str | None = None,
                 coverage: CoverageRequest | None = RUN_COVERAGE, simulate: bool = True,
                 force: bool = False, progress: Progress | None = None,
                 allow_outside_data: bool = False,
                 render: Callable[[Path], object] | None = None, jobs: int | None = None) -> Path:
    """Run the scenario (replication 0) and write its run folder under ``out_dir``.

    Runs the replication, the saturation curve when the scenario asks for one, the run's coverage,
    and the measures of each node's picture; writes them through the run folder contract. Nothing is
    written before the simulation succeeded; the folder appears complete or not at all.

    Args:
        scenario: a loaded scenario.
        out_dir: the parent folder of run folders.
        as_of: the date (default: the scenario's).
        arrangement: the command arrangement (default: the scenario's).
        coverage: the coverage to compute (its dates are replaced by the run's), or None; left out
            with a note if the scenario's catalog lacks its RCS classes.
        simulate: run the replication (else the folder holds the order of battle and coverage).
        force: replace an existing run folder of the same name (else a fresh name is taken).
        progress: called with (phase, done, total).
        allow_outside_data: run at a date outside the scenario's ``data_period``; the report then
            carries the warning.
        render: renders the finished folder (the report, ``iadsim.report.render_run_report``,
            a higher layer) before it is published, so that the folder appears with its report
            or not at all (``RunFolderWriter.finish``); progress phase "report".
        jobs: processes to use (None: up to two, the saturation curve's scales or the coverage study
            beside the replication; 1: everything in this process, no worker). The folder does not
            depend on it.

    Returns:
        The run folder.

    Raises:
        OutsideDataPeriod: the date is outside the data's period and not allowed.
        TrafficError: the scenario's traffic cannot be flown.
        C2Error: the arrangement cannot be built at the date.
        RunFolderError: ``force`` and the folder to replace is not a run folder.
        WorkerStartError: a worker process stopped before its task (``runs.workers``).
    """
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    with pool_failure_explained():
        return _run_scenario(scenario, Path(out_dir), as_of, arrangement, coverage, simulate, force, progress,
                             allow_outside_data, render, SATURATION_JOBS if jobs is None else min(jobs, 2))


def _run_scenario(scenario: Scenario, out_dir: Path, as_of: DateLike | None,
                  arrangement: Arrangement | str | None, coverage: CoverageRequest | None, simulate: bool,
                  force: bool, progress: Progress | None, allow_outside_data: bool,
                  render: Callable[[Path], object] | None, jobs: int) -> Path:
    day = as_date(as_of) if as_of is not None else scenario.as_of
    date_warning = check_data_period(scenario, day, allow_outside_data=allow_outside_data)
    changes: dict[str, Any] = {}
    if day != scenario.as_of:
        changes["as_of"] = day
    if arrangement is not None and Arrangement(arrangement) != scenario.arrangement:
        changes["arrangement"] = Arrangement(arrangement)
    sc = scenario.with_changes(**changes) if changes else scenario
    if force:  # refused now, not after the simulation
        rf.check_replaceable(out_dir / run_folder_name(sc, day))
    # the saturation curve's larger and smaller raids start in workers at once and run beside the
    # scenario's own replication, which is their scale 1
    rules = sc.arrangements.get(sc.arrangement)
    saturation = (SaturationRuns(sc, sc.saturation_scales, terrain=DEFAULT_TERRAIN, main_follows=True,
                                 jobs=jobs)
                  if simulate and sc.saturation_scales and sc.c2 is not None and rules is not None
                  and rules.wartime_rules and sc.engagement is not None else None)
    # with no saturation workers, the run's coverage study is computed and drawn in a worker process
    # on another core while this one runs the replication (it was a third of `make run`); on one
    # core the worker's start-up would only add to the run
    aside: _CoverageAside | None = None
    try:
        if simulate and coverage is not None and saturation is None and (os.cpu_count() or 1) > 1 \
                and jobs > 1:
            aside = _CoverageAside(sc, day, coverage)
        run = run_replication(sc, terrain=DEFAULT_TERRAIN, progress=progress) if simulate else None
        return _write(sc, day, run, saturation, out_dir, aside or coverage, force, progress,
                      [date_warning] if date_warning else [], render)
    finally:
        if saturation is not None:
            saturation.close()
        if aside is not None:
            aside.close()


class _CoverageAside:
    """A run's coverage study computed and written by a worker process into a folder of its own,
    moved into the run folder when the run is written (``into``); ``close`` removes what is left."""

    def __init__(self, sc: Scenario, day: dt.date, request: CoverageRequest) -> None:
        self.staging = Path(tempfile.mkdtemp(prefix="iadsim-coverage-"))
        self.pool = None
        try:
            self.pool = process_pool(1)
            self.future = self.pool.submit(_coverage_summary, sc, day, request, self.staging)
        except BaseException:
            self.close()
            raise

    def into(self, root: Path) -> dict[str, Any]:
        """Wait for the study, move its folder to ``root``; the summary's entries for it."""
        summary: dict[str, Any] = self.future.result()
        written = self.staging / rf.COVERAGE_DIR
        if written.exists():
            shutil.move(written, root / rf.COVERAGE_DIR)
        return summary

    def close(self) -> None:
        if self.pool is not None:
            stop_workers(self.pool)  # at once: an interrupted run does not wait for the study
        shutil.rmtree(self.staging, ignore_errors=True)


def _write(sc: Scenario, day: dt.date, run: RunResult | None, saturation: SaturationRuns | None,
           out_dir: Path, coverage: CoverageRequest | _CoverageAside | None, force: bool,
           progress: Progress | None, warnings: list[str],
           render: Callable[[Path], object] | None = None) -> Path:
    """Write the run folder: the replication, its coverage (computed here while the saturation
    workers run on, or by a ``_CoverageAside``) and the saturation curve; ``warnings`` go into the
    summary with those of the order of battle."""
    world = run.world if run is not None and run.world is not None else compile_world(sc, day)
    oob = order_of_battle(sc, day, allow_outside_data=True)
    borders = outside_borders_warning(oob)
    warnings = [*warnings, *([borders] if borders else [])]
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "as_of": day.isoformat(),
        "arrangement": str(sc.arrangement),
        "seed": sc.seed,
        "scenario_hash": scenario_hash(sc),
        "iadsim_version": __version__,
        "units_in_service": len(oob),
        "units_without_public_location": list(world.unplaced),
        "ground_radars": len(world.sensors),
        "fire_units": len(world.fire_units),
        "launchers_by_type": {oob.type_name(t): n for t, n in oob.totals_by_type().items()
                              if sc.catalog.kind_of(t) == "sam_systems"},
        "assumptions": len(collect_assumptions(sc)),
        "terrain": "none (smooth earth)",
        "warnings": warnings,
    }
    identity = {"scenario_hash": summary["scenario_hash"], "seed": sc.seed, "replication": 0,
                "arrangement": str(sc.arrangement)}
    with rf.RunFolderWriter(out_dir, run_folder_name(sc, day), identity, force=force) as writer:
        writer.text(rf.SCENARIO, scenario_json(sc))
        writer.text(rf.OOB_CSV, oob_to_csv(oob))
        writer.text(rf.OOB_GEOJSON, oob_to_geojson(oob))
        if run is not None:
            _write_run(writer, sc, run, summary)
        if isinstance(coverage, _CoverageAside):
            summary.update(coverage.into(writer.path))
        else:
            summary.update(_coverage_summary(sc, day, coverage, writer.path))
        if saturation is not None:
            def step(done: int, total: int) -> None:
                if progress is not None:
                    progress("saturation curve", done, total)

            curve = saturation.finish(run, step)
            writer.table(rf.SATURATION, curve)
            summary["saturation"] = curve.to_pylist()
        writer.json(rf.SUMMARY, summary)

        def report(folder: Path) -> None:
            if render is None:
                return
            if progress is not None:
                progress("report", 0, 1)
            render(folder)
            if progress is not None:
                progress("report", 1, 1)

        return writer.finish(report)


def _write_run(writer: rf.RunFolderWriter, sc: Scenario, run: RunResult, summary: dict[str, Any]) -> None:
    """The replication's tables and measures."""
    for name in ("truth", "detections", "bearings", "events", "objects", "ew_effects", "first_detections"):
        writer.table(name, getattr(run, name))
    if run.c2:
        for name in ("picture", "c2_events", "interceptors", "outcomes", "engagements"):
            writer.table(name, getattr(run, name))
    false_alarms = int(sum(run.detections["false_alarm"].to_pylist()))
    summary["simulation"] = {**run.stats["sensing"], "false_alarms": false_alarms,
                             "duration_s": sc.duration_s, "tick_s": sc.tick_s,
                             "terrain": "ETOPO5 (bundled)", "replication": run.replication}
    truth = decoded(run.truth)
    metrics: dict[str, dict[str, Any]] = {}
    for node, tracks in run.tracks.items():
        writer.table(rf.tracks_file(node), tracks)
        measures = score_picture(tracks, truth, run.detections, sc.duration_s)
        if run.c2:
            metrics[node] = {"tracks": len(set(tracks["track_id"].to_pylist())), **measures}
        else:
            confirmed = tracks.filter(tracks["confirmed"]) if tracks.num_rows else tracks
            n_confirmed = len(set(confirmed["track_id"].to_pylist())) if confirmed.num_rows else 0
            radars = sum(1 for v in run.stats["sensor_nodes"].values() if v == node)
            metrics[node] = {"confirmed_tracks": n_confirmed, "radars": radars, **measures}
    summary["tracking"] = metrics
    if run.c2:
        summary["c2"] = {"arrangement": run.arrangement, **run.stats["c2"],
                         "outcomes": [_finite_or_none(o) for o in run.outcomes.to_pylist()]}


def _coverage_summary(sc: Scenario, day: dt.date, request: CoverageRequest | None,
                      root: Path) -> dict[str, Any]:
    """The run's coverage study written into ``root/coverage/``, and what the report says of it:
    the summary's entries (file paths relative to ``root``, the run folder or a worker's own)."""
    if request is None:
        return {}
    missing = [r for r in request.rcs_classes if r not in sc.catalog.rcs_classes]
    if missing:
        return {"coverage": "not computed", "coverage_study": {"missing_rcs_classes": missing},
                "terrain": "none"}
    request = replace(request, dates=(day,))
    study = write_coverage_study(run_coverage_study(sc, request), sc, request, root / rf.COVERAGE_DIR)
    cov = study.coverages[day]
    maps = []
    for layer in range(len(cov.layers_m)):
        for a in range(len(cov.aspects)):
            png = study.maps.get((day, 0, layer, a))
            if png is not None:
                maps.append({"label": f"{cov.layer_label(layer)}, {cov.aspect_label(a, 0)}",
                             "file": png.relative_to(root).as_posix()})
    return {"coverage": "coverage/" if study.files else "not computed", "terrain": cov.terrain,
            "coverage_study": {
                "pd_threshold": cov.pd_threshold, "rcs_name": cov.rcs_names[0],
                "rcs_m2": float(cov.rcs_m2[0]), "layers": len(cov.layers_m),
                "resolution_km": cov.grid.resolution_m / 1000, "terrain": cov.terrain, "k": cov.k,
                "sensors": cov.n_sensors, "fire_units": cov.n_fire_units, "notes": list(cov.notes),
                "maps": maps, "regions": study.tables[day]}}
