"""Sensitivity studies: how much a metric of a run or a coverage study hangs on the scenario's stated
ranges and variants (docs/sensitivity.md).

A study places every factor (``iadsim.scenario.factors``) at points of four designs — the
scenario's own values; one at a time at each end of its range and each option of a variant; Morris's
trajectories; a scrambled Sobol' sequence over all ranges together (the metric's interval) — and,
for the few factors Morris finds to matter, Saltelli's design for Sobol indices. Each point's
metrics are evaluated through the sweep backend (``iadsim.runs.sweep.execute``: local processes or
Dask); replication r of every point runs with the scenario's seed, so points see common random
numbers. Each finished task's values are written at once to ``OUT/evaluations/`` (atomically), so a
study that is interrupted resumes with only what is missing and gives the same indices.
"""

from __future__ import annotations

import collections
import datetime as dt
import difflib
import functools
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from iadsim.analysis.sensitivity import (
    Interval,
    interval_design,
    metric_interval,
    morris_design,
    morris_indices,
    sobol_design,
    sobol_indices,
)
from iadsim.analysis.statistics import METRICS, mean_ci
from iadsim.options import ALTITUDE_RANGE_M, MAX_RESOLUTION_KM
from iadsim.runs.sweep import Backend, Shared, execute
from iadsim.scenario.collector import collector_paused
from iadsim.scenario.factors import Factor, apply_factors, check_factors
from iadsim.scenario.schema import Scenario

__all__ = ["FORMAT", "CoverageMetric", "Evaluator", "RunMetric", "ScenarioEvaluator", "SensitivityError",
           "SensitivityResult", "StudySettings", "check_study", "evaluate_metrics", "parse_metric",
           "read_manifest", "run_study", "write_tables"]

FORMAT = "iadsim-sensitivity/1"
MANIFEST = "manifest.json"
EVALUATIONS = "evaluations"

PROBLEM = "problem"
"""The key of an evaluation's values that says why a point could not be evaluated."""

Point = dict[str, float | None]
"""A factor name → its quantile in [0, 1] (None: the scenario's own value or chosen option)."""


class SensitivityError(Exception):
    """A problem with a study's metric, factors, settings or folder: one message per problem."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# -- metrics ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageMetric:
    """A coverage study's share of a region's area (percent): ``Lithuania, engageable, 10,000 m``.

    Attributes:
        name: as the user wrote it, normalised. region: the region's name in the study's rows.
        kind: ``detected`` or ``engageable``. altitude_m: above ground. as_of: the date (None: the
        scenario's). rcs_class: the target class.
    """

    name: str
    region: str
    kind: str
    altitude_m: float
    as_of: dt.date | None = None
    rcs_class: str = "fighter"
    unit: str = "% of area"


@dataclass(frozen=True)
class RunMetric:
    """A metric of one replication's outcomes (``iadsim.analysis.statistics.METRICS``), optionally
    of one air-object type only: ``leakers`` or ``leakers, generic_cruise_missile``."""

    name: str
    metric: str
    object_type: str | None = None
    unit: str = ""


SensMetric = CoverageMetric | RunMetric

_KIND_WORDS = {"detected": "detected", "detection": "detected", "seen": "detected",
               "engageable": "engageable", "engagement": "engageable", "engaged": "engageable",
               "in range": "engageable"}
_ALTITUDE = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(km|m)\b", re.I)
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?$")


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _coverage_metric(text: str, scenario: Scenario) -> CoverageMetric | None:
    from iadsim.coverage.metrics import default_regions

    match = _ALTITUDE.search(text)
    if match is None:
        return None
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", match.group(1)):
        raise SensitivityError(f"metric '{text}': '{match.group(0)}' could be read two ways; write "
                               "thousands with a comma or none (10,000 m or 10000 m)")
    altitude = float(match.group(1).replace(",", "")) * (1000.0 if match.group(2).lower() == "km" else 1.0)
    if not ALTITUDE_RANGE_M[0] <= altitude <= ALTITUDE_RANGE_M[1]:
        raise SensitivityError(f"metric '{text}': the altitude must be from {ALTITUDE_RANGE_M[0]:,.0f} "
                               f"to {ALTITUDE_RANGE_M[1]:,.0f} m, got {altitude:,.0f} m")
    rest = text[:match.start()] + "," + text[match.end():]
    for phrase, word in _KIND_WORDS.items():
        rest = re.sub(rf"\b{phrase}\b", f",{word},", rest, flags=re.I)
    tokens = [t.strip() for t in re.split(r"[,;]", rest) if t.strip()]
    regions = {_norm(r.name): r.name for r in default_regions()} | \
              {_norm(r.id): r.name for r in default_regions()}
    # a region's name without its parenthesis ("Kaliningrad oblast"), where no other has it
    short = [(_norm(re.sub(r"\s*\(.*\)$", "", r.name)), r.name) for r in default_regions()]
    regions |= {k: v for k, v in short if k not in regions and sum(k == x for x, _ in short) == 1}
    rcs = {_norm(k): k for k in scenario.catalog.rcs_classes} | \
          {_norm(v.name): k for k, v in scenario.catalog.rcs_classes.items()}
    shown = {**{k: v for k, v in regions.items()}, **{k: v for k, v in rcs.items()}}
    region: str | None = None
    kind: str | None = None
    as_of: dt.date | None = None
    rcs_class = "fighter"
    problems = []
    given: dict[str, list[str]] = {}  # what each token said: two regions (or dates, ...) are a problem
    for token in tokens:
        t = _norm(token)
        if t in ("detected", "engageable"):
            kind = t
            given.setdefault("detected/engageable", []).append(token)
        elif t in regions:
            region = regions[t]
            given.setdefault("region", []).append(token)
        elif t in rcs:
            rcs_class = rcs[t]
            given.setdefault("RCS class", []).append(token)
        elif (d := _DATE.match(token.strip())) is not None:
            given.setdefault("date", []).append(token)
            try:
                year = int(d.group(1))
                as_of = (dt.date(year, int(d.group(2)), int(d.group(3))) if d.group(2)
                         else dt.date(year, 12, 31))
            except ValueError as exc:
                problems.append(f"'{token.strip()}' is not a date ({exc})")
                continue
            period = scenario.data_period
            if period is not None and not period.contains(as_of):
                problems.append(f"{as_of.isoformat()} is outside the period the scenario's data "
                                f"describe, {period.start.isoformat()} to {period.end.isoformat()}")
        else:
            hint = difflib.get_close_matches(t, list(shown), n=1)
            problems.append(f"'{token}' is not a region, RCS class, date or detected/engageable"
                            + (f"; did you mean '{shown[hint[0]]}'?" if hint else
                               f" (regions: {', '.join(r.name for r in default_regions())}; RCS "
                               f"classes: {', '.join(scenario.catalog.rcs_classes)})"))
    for what, said in given.items():
        if len(said) > 1:
            problems.append(f"it names more than one {what} ({', '.join(x.strip() for x in said)}); "
                            "a metric has one (repeat --metric for more)")
    if region is None and not problems:
        problems.append("name a region (" + ", ".join(r.name for r in default_regions()) + ")")
    if kind is None and not problems:
        problems.append("say detected or engageable")
    if problems:
        raise SensitivityError([f"metric '{text}': {p}" for p in problems])
    assert region is not None and kind is not None
    name = f"{region}, {kind}, {altitude:,.0f} m" + (f", {as_of.isoformat()}" if as_of else "") + \
           (f", {rcs_class}" if rcs_class != "fighter" else "")
    return CoverageMetric(name, region, kind, altitude, as_of, rcs_class)


def _run_metric(text: str, scenario: Scenario) -> RunMetric | None:
    head, _, tail = text.partition(",")
    key = _norm(head)
    aliases = {_norm(m.name): m for m in METRICS} | {_norm(m.label): m for m in METRICS} | \
              {"leaked": METRICS[5], "leakers": METRICS[5]}
    metric = aliases.get(key)
    if metric is None:
        return None
    flown = {f.type for f in scenario.traffic.flights.values()} | \
            {r.type for r in scenario.traffic.raids.values()}
    if not flown:
        raise SensitivityError(f"metric '{text}': the scenario flies no traffic (no flights or raids), "
                               "so a run has no such figure; measure a coverage share instead (e.g. "
                               "'Lithuania, engageable, 10,000 m')")
    object_type: str | None = None
    if tail.strip():
        want = _norm(tail)
        types = {_norm(k): k for k in scenario.catalog.aircraft} | \
                {_norm(v.name): k for k, v in scenario.catalog.aircraft.items()}
        object_type = types.get(want)
        if object_type is None:
            hint = difflib.get_close_matches(want, list(types), n=1)
            raise SensitivityError(f"metric '{text}': '{tail.strip()}' is not an aircraft type of the "
                                   "scenario" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if object_type not in flown:
            raise SensitivityError(f"metric '{text}': no flight or raid of the scenario flies "
                                   f"{object_type} (it flies {', '.join(sorted(flown))})")
    name = metric.label + (f", {object_type}" if object_type else "")
    return RunMetric(name, metric.name, object_type, metric.unit)


def parse_metric(text: str, scenario: Scenario) -> SensMetric:
    """A metric from its words: a coverage share (``Lithuania, engageable, 10,000 m[, 2012][, RCS
    class]``) or a run metric (``leakers``, ``time to first track[, aircraft type]``).

    Raises:
        SensitivityError: a metric the run or the coverage study does not produce (listing those
            they do).
    """
    found = _coverage_metric(text, scenario) or _run_metric(text, scenario)
    if found is None:
        runs = ", ".join(m.label for m in METRICS)
        raise SensitivityError(
            f"metric '{text}' is not one a run or a coverage study produces. Coverage: 'REGION, "
            f"detected|engageable, ALTITUDE m[, YEAR][, RCS class]' (e.g. 'Lithuania, engageable, "
            f"10,000 m'); a run: one of {runs}, optionally ', AIRCRAFT TYPE'")
    return found


def _run_value(metric: RunMetric, outcomes: pa.Table) -> float:
    from iadsim.analysis.statistics import metric_value

    if metric.object_type is not None:
        import pyarrow.compute as pc

        outcomes = outcomes.filter(pc.equal(outcomes["type"], metric.object_type))
    return metric_value(metric.metric, outcomes)


def evaluate_metrics(scenario: Scenario, metrics: Sequence[SensMetric], *, replication: int = 0,
                     resolution_km: float = 10.0, dem: str | None = "default") -> dict[str, float]:
    """Every metric of one scenario (and replication).

    Coverage metrics of one date and RCS class share one coverage study (all their altitudes); run
    metrics share one replication (``run_replication`` under the scenario's arrangement).
    """
    from iadsim.coverage.study import CoverageRequest, run_coverage_study

    out: dict[str, float] = {}
    studies: dict[tuple[dt.date, str], list[CoverageMetric]] = {}
    for m in metrics:
        if isinstance(m, CoverageMetric):
            studies.setdefault((m.as_of or scenario.as_of, m.rcs_class), []).append(m)
    for (day, rcs), group in studies.items():
        request = CoverageRequest(dates=(day,), layers_m=tuple(sorted({m.altitude_m for m in group})),
                                  rcs_classes=(rcs,), resolution_km=resolution_km, dem=dem, maps=False)
        rows = run_coverage_study(scenario, request).comparison
        for m in group:
            row = next((r for r in rows if r["region"] == m.region and r["altitude_m"] == m.altitude_m),
                       None)
            out[m.name] = float(row[f"{m.kind}_pct"]) if row is not None else math.nan
    runs = [m for m in metrics if isinstance(m, RunMetric)]
    if runs:
        from iadsim.pipeline import DEFAULT_TERRAIN, run_replication

        terrain: Any = None if dem in (None, "none") else DEFAULT_TERRAIN if dem == "default" \
            else _loaded_dem(dem, _file_stamp(dem))
        result = run_replication(scenario, replication=replication, terrain=terrain)
        for m in runs:
            out[m.name] = _run_value(m, result.outcomes)
    return out


def _file_stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=2)
def _loaded_dem(path: str, stamp: tuple[int, int]) -> Any:
    """A GeoTIFF's terrain for the runs of a study, read once per process (and again if the file
    changes: ``stamp`` is its modification time and size)."""
    from iadsim.geo.terrain import load_dem

    return load_dem(path)


# -- evaluators ---------------------------------------------------------------------------------------


class Evaluator(Protocol):
    """What a study evaluates at its points.

    ``function`` is a module-level function (workers import it) that takes what every task needs
    (``shared``: sent to each worker once, not with every task) and one task argument built by
    ``task``, and returns one {metric: value} per point of the task, in order.
    """

    @property
    def metric_names(self) -> tuple[str, ...]: ...

    @property
    def replications(self) -> int: ...

    @property
    def batch(self) -> int:
        """The fewest points per task (1 for slow evaluations; more when one takes microseconds):
        the study makes tasks larger when its evaluations prove fast (``task_size``)."""
        ...

    @property
    def function(self) -> Callable[[Any, Any], list[dict[str, float]]]: ...

    def identity(self) -> dict[str, Any]: ...

    def check(self, factors: Sequence[Factor]) -> list[str]:
        """What would make evaluations fail, one message each, found before the study writes
        anything (a range end the scenario refuses, an unreadable terrain file, a grid too large)."""
        ...

    def relevant(self, factors: Sequence[Factor]) -> list[bool]:
        """Whether each factor can move the metrics (in this process, before any evaluation)."""
        ...

    def shared(self, factors: Sequence[Factor]) -> Any:
        """What every task of a study needs (the scenario, the factors): ``function``'s first argument."""
        ...

    def task(self, factors: Sequence[Factor], points: Sequence[Point], replication: int) -> Any: ...


@dataclass(frozen=True)
class _ScenarioStudy:
    """What every evaluation of a study needs: sent to each worker once (a scenario pickles to about
    0.3 MB; sent with each of a study's tasks, pickling it was a quarter of the client's work)."""

    scenario: Scenario
    factors: tuple[Factor, ...]
    metrics: tuple[SensMetric, ...]
    resolution_km: float
    dem: str | None


@dataclass(frozen=True)
class _ScenarioTask:
    points: tuple[Point, ...]
    replication: int


def _evaluate_scenario_task(study: _ScenarioStudy, task: _ScenarioTask) -> list[dict[str, float]]:
    """Apply each point's factors to the scenario and evaluate the metrics (run by workers).

    The cyclic garbage collector is paused for the task: each point's scenario is a new tree of
    models without cycles (none found after ten evaluations), and the allocations of every point
    set off collections that rescanned the process's heap (some 230,000 tracked objects, most of
    them the imported libraries'): 14 % of a coverage evaluation's time (docs/benchmarks.md).
    Reference counting frees each point's objects; a task holds at most a quarter of a second of
    points (``task_size``)."""
    from iadsim.scenario.errors import ScenarioErrors
    from iadsim.scenario.overrides import OverrideError

    out: list[dict[str, Any]] = []
    with collector_paused():
        for point in task.points:
            try:
                scenario = apply_factors(study.scenario, study.factors, point)
                out.append(evaluate_metrics(scenario, study.metrics, replication=task.replication,
                                            resolution_km=study.resolution_km, dem=study.dem))
            except (ScenarioErrors, OverrideError) as exc:
                # a combination of values the model refuses (e.g. a node cycle that makes relayed
                # tracks stale): no value at this point, and the reason, reported with the study
                reason = "; ".join(e.message for e in exc.errors) if isinstance(exc, ScenarioErrors) \
                    else "; ".join(exc.problems)
                out.append({**{m.name: math.nan for m in study.metrics}, PROBLEM: reason})
    return out


def _coverage_inputs_key(scenario: Scenario, days: Sequence[dt.date]) -> str:
    """A hash of what a coverage study reads from the compiled World at each date (sensors, fire
    units, units' places and nations) and of the RCS classes: equal keys give equal coverage."""
    from dataclasses import fields

    from iadsim.world import compile_world

    digest = hashlib.sha256()
    for day in days:
        world = compile_world(scenario, day)
        for table in (world.sensors, world.fire_units):
            for f in fields(table):
                digest.update(f.name.encode())
                digest.update(np.ascontiguousarray(getattr(table, f.name)).tobytes())
        for arr in (world.unit_nation, world.unit_lat_deg, world.unit_lon_deg):
            digest.update(np.ascontiguousarray(arr).tobytes())
    digest.update(json.dumps({k: v.rcs_m2 for k, v in scenario.catalog.rcs_classes.items()},
                             sort_keys=True).encode())
    return digest.hexdigest()


def _moves_coverage(scenario: Scenario, factors: Sequence[Factor], days: Sequence[dt.date],
                    ) -> list[bool]:
    """Whether each factor changes the coverage study's inputs at ``days``: some end of its range
    or some option gives a key (``_coverage_inputs_key``) other than the scenario's."""
    base = _coverage_inputs_key(scenario, days)
    out = []
    with collector_paused():  # as in _evaluate_scenario_task: scenarios without cycles
        for f in factors:
            probes = ([f.quantile_of_option(o) for o in f.options if o != f.chosen]
                      if f.kind == "variant" else [0.0, 1.0])
            out.append(any(_coverage_inputs_key(apply_factors(scenario, factors, {f.name: u}), days)
                           != base for u in probes))
    return out


@dataclass(frozen=True)
class ScenarioEvaluator:
    """The metrics of a scenario's coverage study or runs (``evaluate_metrics``).

    Attributes:
        scenario: the base scenario. metrics: what to measure. replications: of each point (run
        metrics; coverage is deterministic, so one). resolution_km, dem: the coverage grid and terrain.
    """

    scenario: Scenario
    metrics: tuple[SensMetric, ...]
    replications: int = 1
    resolution_km: float = 10.0
    dem: str | None = "default"
    batch: int = 1

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def function(self) -> Callable[[Any, Any], list[dict[str, float]]]:
        return _evaluate_scenario_task

    def identity(self) -> dict[str, Any]:
        from iadsim.world import scenario_hash

        return {"scenario_hash": scenario_hash(self.scenario), "metrics": list(self.metric_names),
                "replications": self.replications, "resolution_km": self.resolution_km, "dem": self.dem}

    def check(self, factors: Sequence[Factor]) -> list[str]:
        from iadsim.coverage.grid import CoverageGrid, GridTooLarge
        from iadsim.coverage.study import DEFAULT_AREA
        from iadsim.geo.terrain import TerrainError

        problems = [e.render() for e in check_factors(self.scenario, factors)]
        if not (math.isfinite(self.resolution_km) and 0 < self.resolution_km <= MAX_RESOLUTION_KM):
            problems.append(f"the coverage grid's cell must be from 0 to {MAX_RESOLUTION_KM:g} km, "
                            f"got {self.resolution_km:g} km")
        elif any(isinstance(m, CoverageMetric) for m in self.metrics):
            lon0, lon1, lat0, lat1 = DEFAULT_AREA
            layers = len({m.altitude_m for m in self.metrics if isinstance(m, CoverageMetric)})
            try:
                CoverageGrid.over(lon0, lon1, lat0, lat1, self.resolution_km).check_memory(
                    layers, 1, len({u.nation for u in self.scenario.units.values()}) + 1)
            except GridTooLarge as exc:
                problems.append(str(exc))
        if self.dem not in (None, "none", "default"):
            try:
                _loaded_dem(self.dem, _file_stamp(self.dem))
            except (OSError, TerrainError) as exc:
                problems.append(f"--dem {self.dem}: {exc.strerror if isinstance(exc, OSError) else exc}")
        return problems

    def relevant(self, factors: Sequence[Factor]) -> list[bool]:
        """Which factors can move the metrics. With a run metric, all; with coverage metrics only,
        those that change the coverage study's inputs at any end of their range or any option (a
        factor that changes none, such as a link delay, cannot move coverage, and its points are
        evaluated once). The probes run in this process: a probe changes the scenario and compiles
        it, about a millisecond, less than a round trip to a Dask worker (docs/benchmarks.md)."""
        if any(isinstance(m, RunMetric) for m in self.metrics):
            return [True] * len(factors)
        days = tuple(sorted({m.as_of or self.scenario.as_of for m in self.metrics
                             if isinstance(m, CoverageMetric)}))
        return _moves_coverage(self.scenario, factors, days)

    def shared(self, factors: Sequence[Factor]) -> _ScenarioStudy:
        return _ScenarioStudy(self.scenario, tuple(factors), self.metrics, self.resolution_km, self.dem)

    def task(self, factors: Sequence[Factor], points: Sequence[Point], replication: int) -> _ScenarioTask:
        return _ScenarioTask(tuple(points), replication)


# -- the study ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySettings:
    """The designs of a study.

    Attributes:
        oat: one at a time (each range's ends, each variant's options).
        trajectories, levels: Morris's design (0 trajectories: no screening).
        sobol_samples: Saltelli base samples N (a power of two; 0: no Sobol indices); the design has
            N·(k+2) points for the k factors chosen.
        sobol_factors: at most this many factors get Sobol indices: those whose Morris μ* is at least
            ``sobol_threshold`` of the largest, largest first.
        interval_samples: draws of all ranges together for the metric's interval (0: none).
        seed: of every design and bootstrap.
    """

    oat: bool = True
    trajectories: int = 10
    levels: int = 4
    sobol_samples: int = 32
    sobol_factors: int = 3
    sobol_threshold: float = 0.1
    interval_samples: int = 64
    seed: int = 0

    def check(self) -> list[str]:
        """Problems with the settings, one message each."""
        problems = []
        if self.trajectories < 0 or (self.trajectories == 1):
            problems.append(f"trajectories: expected 0 (no screening) or at least 2, got {self.trajectories}")
        if self.levels < 2 or self.levels % 2:
            problems.append(f"levels: expected an even number ≥ 2, got {self.levels}")
        if self.sobol_samples and (self.sobol_samples < 4 or self.sobol_samples & (self.sobol_samples - 1)):
            problems.append(f"sobol samples: expected 0 or a power of two ≥ 4, got {self.sobol_samples}")
        if self.sobol_samples and not self.trajectories:
            problems.append("Sobol indices are computed for the factors Morris screening finds; give "
                            "trajectories ≥ 2 or --sobol-samples 0")
        if self.sobol_samples and self.sobol_factors < 1:
            problems.append(f"sobol factors: expected at least 1 (or --sobol-samples 0), got "
                            f"{self.sobol_factors}")
        if self.interval_samples < 0 or self.interval_samples == 1:
            problems.append(f"interval samples: expected 0 or at least 2, got {self.interval_samples}")
        if not 0 <= self.seed < 2**32:
            problems.append(f"seed: expected a whole number from 0 to {2**32 - 1}, got {self.seed}")
        return problems

    def points(self, factors: int) -> int:
        """The design points of a study of ``factors`` factors, counting two one-at-a-time points a
        factor (a variant of more than three options has more): what ``--yes`` is asked for."""
        sobol = self.sobol_samples * (min(self.sobol_factors, factors) + 2) if self.trajectories else 0
        return ((1 + 2 * factors) if self.oat else 1) + self.trajectories * (factors + 1) + sobol \
            + self.interval_samples


@dataclass
class SensitivityResult:
    """A study's results (also written to its folder as CSV and Parquet).

    Attributes:
        factors: the factors, in scenario order; relevant: whether each can move the metrics.
        metrics: metric names (the first is the one Sobol factors are chosen by).
        base: metric → value at the scenario's own values (mean over replications).
        oat: one row per (metric, factor, end or option): value, effect, its CI half-width.
        morris: one row per (metric, factor): μ*, its CI, μ, σ.
        sobol: one row per (metric, factor chosen): S1, ST and their CIs.
        intervals: metric → its interval under all ranges together.
        cases: one row per point of every design: stage, factors' quantiles and labels, metric values.
        evaluations: distinct evaluations made (this run and before); ran: made by this run, in
            ``tasks`` tasks (``task_size``).
        timings: wall seconds of the study's steps in this process — set-up, relevant factors,
            evaluations (the part the workers share), designs and indices, tables — not written.
    """

    factors: list[Factor]
    relevant: list[bool]
    metrics: list[str]
    base: dict[str, float]
    oat: list[dict[str, Any]] = field(default_factory=list)
    morris: list[dict[str, Any]] = field(default_factory=list)
    sobol: list[dict[str, Any]] = field(default_factory=list)
    intervals: dict[str, Interval] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    evaluations: int = 0
    ran: int = 0
    tasks: int = 0
    settings: StudySettings = field(default_factory=StudySettings)
    problems: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def top_factors(self, metric: str, n: int = 2) -> list[tuple[str, float]]:
        """The ``n`` factors that move ``metric`` most one at a time: (name, largest |effect|)."""
        best: dict[str, float] = {}
        for row in self.oat:
            if row["metric"] == metric and math.isfinite(row["effect"]):
                best[row["factor"]] = max(best.get(row["factor"], 0.0), abs(row["effect"]))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return [(k, v) for k, v in ranked if v > 0][:n]

    def oat_range(self, metric: str) -> tuple[float, float]:
        """The lowest and highest value of ``metric`` over the one-at-a-time points and the base."""
        values = [self.base[metric], *(r["value"] for r in self.oat if r["metric"] == metric)]
        finite = [v for v in values if math.isfinite(v)]
        return (min(finite), max(finite)) if finite else (math.nan, math.nan)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _unit_key(factors: Sequence[Factor], relevant: Sequence[bool], point: Point) -> str:
    """The identity of a point's evaluation: each relevant factor's option or member values."""
    settings: dict[str, Any] = {}
    for f, rel in zip(factors, relevant, strict=True):
        u = point.get(f.name)
        if not rel or u is None:
            continue
        if f.kind == "variant":
            if f.option(u) != f.chosen:
                settings[f.name] = f.option(u)
        else:
            settings[f.name] = [float(f"{float(v):.12g}") for v in f.overrides(u).values()]
    return hashlib.sha256(_canonical(settings).encode("utf-8")).hexdigest()[:20]


class _Store:
    """The evaluations of a study folder: ``evaluations/<hash>.json`` files of {key, replication,
    values} records, each written atomically by the parent as its task finishes."""

    def __init__(self, out: Path) -> None:
        self.dir = out / EVALUATIONS
        self.values: dict[tuple[str, int], dict[str, Any]] = {}
        self.dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.dir.glob(".*.tmp-*"):
            tmp.unlink()  # left by a killed run; never read
        for path in sorted(self.dir.glob("*.json")):
            try:
                records = json.loads(path.read_text(encoding="utf-8"))
                for rec in records:
                    self.values[(rec["key"], int(rec["replication"]))] = {
                        k: (v if k == PROBLEM else math.nan if v is None else float(v))
                        for k, v in rec["values"].items()}
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # JSONDecodeError is one
                raise SensitivityError(f"{path}: not a record of this study's evaluations ({exc!r}); "
                                       "delete it, and the study evaluates its points again") from None

    def add(self, records: list[tuple[str, int, dict[str, Any]]]) -> None:
        data = [{"key": k, "replication": r,
                 "values": {m: (v if m == PROBLEM or math.isfinite(v) else None) for m, v in vals.items()}}
                for k, r, vals in records]
        text = json.dumps(data, separators=(",", ":"))
        name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20] + ".json"
        tmp = self.dir / f".{name}.tmp-{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.dir / name)
        for k, r, vals in records:
            self.values[(k, r)] = vals


Progress = Callable[[str, int, int], None]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _prepare_folder(out: Path, manifest: dict[str, Any]) -> None:
    if out.exists() and not out.is_dir():
        raise SensitivityError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        path = out / MANIFEST
        if not path.is_file():
            raise SensitivityError(f"{out}: not empty and not a sensitivity study (no {MANIFEST}); "
                                   "nothing was written; choose another --out")
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SensitivityError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(old, dict) or old.get("format") != FORMAT:
            raise SensitivityError(f"{out}: not a sensitivity study ({MANIFEST} is not one of "
                                   f"{FORMAT}); nothing was written; choose another --out")
        if old != manifest:
            differ = ", ".join(_differences(old, manifest))
            raise SensitivityError(f"{out} holds a different study (its {differ} differ); nothing was "
                                   "written; choose another --out or delete the folder")
        return
    _write_json(out / MANIFEST, manifest)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The keys in which two manifests differ, one level into the mappings (``settings.seed``)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            out.append(key)
    return out


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a study folder (SensitivityError if there is none)."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        raise SensitivityError(f"{out}: not a sensitivity study folder (no readable {MANIFEST})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SensitivityError(f"{out / MANIFEST}: not a sensitivity manifest ({FORMAT})")
    return data


class _Runner:
    def __init__(self, factors: Sequence[Factor], relevant: Sequence[bool], evaluator: Evaluator,
                 store: _Store, backend: Backend, shared: Shared, progress: Progress | None) -> None:
        self.factors, self.relevant, self.evaluator = list(factors), list(relevant), evaluator
        self.store, self.backend, self.shared, self.progress = store, backend, shared, progress
        self.ran = 0
        self.tasks = 0  # tasks run: each evaluates one or more points (task_size)
        # seconds per point of the last tasks, as the workers timed them: their median sizes the
        # tasks to come (a worker's first task, slowed by loading terrain and compiling, barely moves it)
        self.recent: collections.deque[float] = collections.deque(maxlen=32)
        self.seconds = 0.0  # wall time spent evaluating (the part workers share)
        self.problems: dict[str, int] = {}  # why points could not be evaluated → how many
        self.counted: set[str] = set()

    def evaluate(self, phase: str, points: Sequence[Point]) -> list[dict[str, list[float]]]:
        """Every point's metrics per replication ({metric: [value per replication]}), evaluating
        only the (point, replication) pairs the store does not hold."""
        self.run(phase, points)
        return self.values(points)

    def run(self, phase: str, points: Sequence[Point]) -> None:
        """Evaluate the (point, replication) pairs the store does not hold, all in one wave (the
        workers are never idle waiting for a phase's last tasks while others are to come)."""
        start = time.perf_counter()
        keys = [_unit_key(self.factors, self.relevant, p) for p in points]
        reps = range(self.evaluator.replications)
        todo: dict[tuple[str, int], Point] = {}
        for key, point in zip(keys, points, strict=True):
            for r in reps:
                if (key, r) not in self.store.values:
                    todo.setdefault((key, r), point)
        total = len({(k, r) for k in keys for r in reps})
        done = total - len(todo)
        if self.progress:
            self.progress(phase, done, total)
        # grouped by replication: a task evaluates its points at one replication
        items = [(k, r, p) for r in reps for (k, rr), p in todo.items() if rr == r]
        batches: list[tuple[list[str], int]] = []

        def tasks() -> Iterator[tuple[int, Any]]:
            # drawn by execute as slots free up, so each task is sized by the evaluations timed so far
            i = 0
            while i < len(items):
                size = task_size(len(items) - i, self.backend.workers, self.evaluator.batch,
                                 statistics.median(self.recent) if self.recent else None)
                r = items[i][1]
                chunk = [item for item in items[i:i + size] if item[1] == r]
                i += len(chunk)
                batches.append(([k for k, _, _ in chunk], r))
                yield len(batches) - 1, self.evaluator.task(self.factors, [p for _, _, p in chunk], r)

        if items:
            for i, values, seconds in execute(self.backend, _tagged(self.evaluator.function), tasks(),
                                              self.shared):
                batch_keys, r = batches[i]
                self.store.add([(k, r, v) for k, v in zip(batch_keys, values, strict=True)])
                self.ran += len(batch_keys)
                self.tasks += 1
                self.recent.append(seconds / len(batch_keys))
                done += len(batch_keys)
                if self.progress:
                    self.progress(phase, done, total)
        self.seconds += time.perf_counter() - start

    def values(self, points: Sequence[Point]) -> list[dict[str, list[float]]]:
        """Every point's metrics per replication, from the store (``run`` first); counts the
        problems of points not counted before."""
        keys = [_unit_key(self.factors, self.relevant, p) for p in points]
        reps = range(self.evaluator.replications)
        for k in sorted(set(keys) - self.counted):
            self.counted.add(k)
            for r in reps:
                problem = self.store.values[(k, r)].get(PROBLEM)
                if problem:
                    self.problems[problem] = self.problems.get(problem, 0) + 1
        return [{m: [self.store.values[(k, r)].get(m, math.nan) for r in reps]
                 for m in self.evaluator.metric_names} for k in keys]


@dataclass(frozen=True)
class _tagged:  # noqa: N801 - a picklable callable, named like the function it wraps
    """Runs ``fn(shared, argument)`` on (index, argument) and returns (index, result, seconds it
    took), so results that arrive in any order find their batch and size the tasks to come."""

    fn: Callable[[Any, Any], Any]

    def __call__(self, shared: Any, arg: tuple[int, Any]) -> tuple[int, Any, float]:
        start = time.perf_counter()
        result = self.fn(shared, arg[1])
        return arg[0], result, time.perf_counter() - start


TASK_SECONDS = 0.25
"""What a task of several points aims to take. Dask spends a few milliseconds of the client's, the
scheduler's and the worker's CPU on each task, whatever its size: a coverage study's 71 tasks of one
evaluation (~50 ms) cost the client and the scheduler 0.62–0.84 s of CPU, taken from the two workers
on a 2-core machine; with tasks of about 10 evaluations, 0.22–0.24 s (docs/benchmarks.md). A quarter
of a second keeps that cost to a few per cent and the progress bar's steps and what a kill loses
small."""


def task_size(remaining: int, workers: int, least: int, seconds_per_point: float | None) -> int:
    """Points in the next task of a study: about ``TASK_SECONDS`` of work by the evaluations timed
    lately, but at most a 2·``workers``-th of the points that remain (factoring, Hummel, Schonberg &
    Flynn 1992: the last tasks shrink, so the workers finish together), and at least ``least``.

    Args:
        remaining: points not yet sent. workers: tasks that run at once. least: the evaluator's
        ``batch`` (the fewest points a task takes; 1 for slow evaluations). seconds_per_point: an
        evaluation's time lately (the median of the last tasks'), s; None before any: ``least``.
    """
    least = max(1, least)
    if seconds_per_point is None:
        return least
    by_time = remaining if seconds_per_point * remaining <= TASK_SECONDS \
        else int(TASK_SECONDS / seconds_per_point)
    fair = math.ceil(remaining / (2 * max(1, workers)))
    return max(least, min(by_time, fair))


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _oat_points(factors: Sequence[Factor]) -> list[tuple[Factor, str, Point]]:
    out: list[tuple[Factor, str, Point]] = []
    for f in factors:
        if f.kind == "variant":
            out += [(f, o, {f.name: f.quantile_of_option(o)}) for o in f.options if o != f.chosen]
        else:
            out += [(f, "low", {f.name: 0.0}), (f, "high", {f.name: 1.0})]
    return out


def _design_points(factors: Sequence[Factor], x: np.ndarray, fixed: Point | None = None) -> list[Point]:
    base = dict(fixed or {})
    return [{**base, **{f.name: float(v) for f, v in zip(factors, row, strict=True)}} for row in x]


def _complete(result: SensitivityResult, what: str, metric: str,
              values: Sequence[dict[str, list[float]]]) -> np.ndarray | None:
    """The metric's mean value at each design point, or None (and a note in the result) when some
    points have no value, so that ``what`` cannot be computed."""
    y = np.array([_mean(v[metric]) for v in values])
    if np.all(np.isfinite(y)):
        return y
    result.notes.append(f"{what} of '{metric}' not computed: {int((~np.isfinite(y)).sum())} of its points "
                        "have no value (see the problems)")
    return None


SOBOL_CI_NOTED = 0.25
"""A study notes that a metric's Sobol indices are not resolved when a confidence half-width is wider."""

BEYOND_DRAWS_NOTED = 0.05
"""A study notes the chance that an interval's end lies beyond every draw when it is at least this."""


def _interval_notes(result: SensitivityResult) -> list[str]:
    """What a reader of the intervals must know: how far their ends can be trusted with few draws,
    and why the scenario's own value lies outside an interval."""
    notes = []
    drawn = [iv for iv in result.intervals.values() if iv.samples]
    if drawn:
        fewest = min(drawn, key=lambda iv: iv.samples)
        if fewest.beyond_draws >= BEYOND_DRAWS_NOTED:
            level = fewest.level
            notes.append(f"with {fewest.samples} draws of all ranges together, the chance that an "
                         f"interval's {(1 + level) / 2:.0%} end lies beyond the largest draw (or its "
                         f"{(1 - level) / 2:.0%} end below the smallest) is {fewest.beyond_draws:.0%}; the "
                         "stated errors of the ends, bootstraps of the draws, cannot reach beyond the "
                         "draws: give more draws for firmer ends")
    moving = [f for f, rel in zip(result.factors, result.relevant, strict=True) if rel]
    at_end = [f.name for f in moving if f.kind == "range"
              and any(m.value in (m.low, m.high) for m in f.members)]
    variants = [f.name for f in moving if f.kind == "variant"]
    for metric, iv in result.intervals.items():
        base = result.base.get(metric, math.nan)
        if not (math.isfinite(base) and iv.samples) or iv.low <= base <= iv.high:
            continue
        side = "above" if base > iv.high else "below"
        parts = []
        if at_end:
            parts.append(f"sets {', '.join(at_end)} at an end of "
                         + ("its range" if len(at_end) == 1 else "their ranges"))
        if variants:
            parts.append(f"keeps one option of {', '.join(variants)}, which most draws change")
        why = ("the scenario " + " and ".join(parts)) if parts else \
            "the scenario's values lie towards one side of their ranges"
        notes.append(f"the scenario's own value of '{metric}' ({base:.4g}) lies {side} its "
                     f"{iv.level:.0%} interval ({iv.low:.4g} – {iv.high:.4g}): {why}, so most draws of "
                     "all ranges together move the metric one way from it (the one-at-a-time table "
                     "shows which factors do)")
    return notes


def check_study(factors: Sequence[Factor], evaluator: Evaluator, settings: StudySettings,
                notes: Sequence[str] = ()) -> list[str]:
    """What ``run_study`` would refuse before writing anything, one message each: the settings, no
    factors, and what ``evaluator.check`` finds. A command calls it before it starts its workers."""
    problems = settings.check()
    if not factors:
        problems.append("no factors to vary: the scenario gives no ranges or variants (or --factors "
                        "matched none)" + "".join(f"; {n}" for n in notes))
    elif not problems:
        problems += evaluator.check(factors)
    return problems


def run_study(factors: Sequence[Factor], evaluator: Evaluator, out: Path, backend: Backend,
              settings: StudySettings | None = None, progress: Progress | None = None,
              notes: Sequence[str] = ()) -> SensitivityResult:
    """Run (or resume) a sensitivity study and write its tables to ``out``.

    Args:
        factors: the factors to vary (``reachable_factors`` of ``select_factors(collect_factors(
            scenario), …)``).
        evaluator: what to evaluate at each point (``ScenarioEvaluator``).
        out: the study folder (created; if it exists it must hold this study, which then resumes).
            A folder this call creates is removed again if the study fails before any evaluation
            is stored, so that the corrected command can use it.
        backend: where evaluations run (``iadsim.runs.sweep.open_backend``).
        settings: the designs. progress: called with (phase, evaluations done, in the phase).
        notes: what the caller says about the study (the factors ``reachable_factors`` left out).

    Raises:
        SensitivityError: bad settings, no factors, what ``evaluator.check`` finds, or ``out`` holds
            something else or cannot be written.
    """
    first = time.perf_counter()
    settings = settings or StudySettings()
    problems = check_study(factors, evaluator, settings, notes)
    if problems:
        raise SensitivityError(problems)
    from iadsim.version import __version__, build_fingerprint

    manifest = {"format": FORMAT, "iadsim_version": __version__, "iadsim_build": build_fingerprint(),
                "evaluator": evaluator.identity(),
                "factors": [{"name": f.name, "kind": f.kind, "spans": f.describe()} for f in factors],
                "settings": settings.__dict__}
    created = not out.exists()
    try:
        _prepare_folder(out, manifest)
        return _run_study(factors, evaluator, out, backend, settings, progress, notes, first)
    except OSError as exc:
        if exc.filename is None or not _inside(Path(os.fsdecode(exc.filename)), out):
            raise
        raise SensitivityError(f"{out}: the study folder cannot be written or read ({exc.strerror or exc}: "
                               f"{os.fsdecode(exc.filename)})") from None
    finally:
        store = out / EVALUATIONS
        if created and out.is_dir() and not (store.is_dir() and any(store.glob("*.json"))) \
                and not (out / "cases.csv").exists():
            shutil.rmtree(out, ignore_errors=True)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it (or above it: a parent that could not be made)."""
    a, b = path.absolute(), folder.absolute()
    return a == b or b in a.parents or a in b.parents


def _run_study(factors: Sequence[Factor], evaluator: Evaluator, out: Path, backend: Backend,
               settings: StudySettings, progress: Progress | None, notes: Sequence[str],
               first: float) -> SensitivityResult:
    timings = {"set-up": time.perf_counter() - first}
    start = time.perf_counter()
    relevant = evaluator.relevant(factors)
    timings["relevant factors"] = time.perf_counter() - start
    # sent to the workers once, for every wave of evaluations
    shared = Shared.on(backend, evaluator.shared(factors))
    runner = _Runner(factors, relevant, evaluator, _Store(out), backend, shared, progress)
    metrics = list(evaluator.metric_names)
    k = len(factors)
    cases: list[dict[str, Any]] = []

    def record(stage: str, points: Sequence[Point], values: Sequence[dict[str, list[float]]]) -> None:
        for i, (p, v) in enumerate(zip(points, values, strict=True)):
            row: dict[str, Any] = {"stage": stage, "point": i}
            for f in factors:
                row[f"u:{f.name}"] = p.get(f.name)
                row[f"at:{f.name}"] = f.label(p.get(f.name))
            row.update({m: _mean(v[m]) for m in metrics})
            cases.append(row)

    # the designs that need no results (the scenario itself, one at a time, Morris, the interval)
    # go to the workers together; only Sobol's waits for Morris's ranking
    oat = _oat_points(factors) if settings.oat else []
    oat_points: list[Point] = [{}, *(p for _, _, p in oat)]
    morris_x = morris_design(k, settings.trajectories, settings.levels, settings.seed) \
        if settings.trajectories else None
    morris_points = _design_points(factors, morris_x) if morris_x is not None else []
    interval_x = interval_design(k, settings.interval_samples, settings.seed) \
        if settings.interval_samples else None
    interval_points = _design_points(factors, interval_x) if interval_x is not None else []
    phases = ["one at a time" if oat else "the scenario's own values",
              *(["Morris screening"] if morris_points else []),
              *(["all ranges together"] if interval_points else [])]
    runner.run(", ".join(phases), [*oat_points, *morris_points, *interval_points])
    # the scenario itself and one at a time
    values = runner.values(oat_points)
    record("base", oat_points[:1], values[:1])
    record("one at a time", oat_points[1:], values[1:])
    base = {m: _mean(values[0][m]) for m in metrics}
    result = SensitivityResult(list(factors), list(relevant), metrics, base, settings=settings,
                               notes=list(notes))
    for (f, end, _), v in zip(oat, values[1:], strict=True):
        for m in metrics:
            diffs = [a - b for a, b in zip(v[m], values[0][m], strict=True)]
            effect, half, _n = mean_ci(diffs)
            result.oat.append({"metric": m, "factor": f.name, "kind": f.kind, "end": end,
                               "at": f.label(0.0 if end == "low" else 1.0) if f.kind == "range" else end,
                               "value": _mean(v[m]), "effect": effect, "effect_ci": half,
                               "relevant": relevant[factors.index(f)]})
    # Morris screening
    if morris_x is not None:
        values = runner.values(morris_points)
        record("morris", morris_points, values)
        for m in metrics:
            y = _complete(result, "Morris indices", m, values)
            if y is None:
                continue
            idx = morris_indices(morris_x, y, settings.levels, settings.seed)
            for i, f in enumerate(factors):
                result.morris.append({"metric": m, "factor": f.name, "mu_star": float(idx.mu_star[i]),
                                      "mu_star_ci": float(idx.mu_star_conf[i]), "mu": float(idx.mu[i]),
                                      "sigma": float(idx.sigma[i])})
    # the interval under all ranges together
    if interval_x is not None:
        values = runner.values(interval_points)
        record("interval", interval_points, values)
        for m in metrics:
            result.intervals[m] = metric_interval([_mean(v[m]) for v in values], seed=settings.seed)
        result.notes += _interval_notes(result)
    # Sobol indices of the few that matter
    if settings.sobol_samples and result.morris:
        primary = [r for r in result.morris if r["metric"] == metrics[0]]
        top = max((r["mu_star"] for r in primary), default=0.0)
        ranked = sorted((r for r in primary if top > 0 and r["mu_star"] >= settings.sobol_threshold * top),
                        key=lambda r: -r["mu_star"])[:settings.sobol_factors]
        chosen = [f for f in factors if f.name in {r["factor"] for r in ranked}]
        if chosen:
            x = sobol_design(len(chosen), settings.sobol_samples, settings.seed)
            points = _design_points(chosen, x)
            values = runner.evaluate("Sobol indices", points)
            record("sobol", points, values)
            for m in metrics:
                y = _complete(result, "Sobol indices", m, values)
                if y is None:
                    continue
                si = sobol_indices(y, len(chosen), settings.seed)
                for i, f in enumerate(chosen):
                    result.sobol.append({"metric": m, "factor": f.name, "s1": float(si.s1[i]),
                                         "s1_ci": float(si.s1_conf[i]), "st": float(si.st[i]),
                                         "st_ci": float(si.st_conf[i])})
                widest = max((float(c) for c in (*si.s1_conf, *si.st_conf) if math.isfinite(c)), default=0.0)
                if widest > SOBOL_CI_NOTED or not np.all(np.isfinite([*si.s1, *si.st])):
                    result.notes.append(
                        f"the Sobol indices of '{m}' are not resolved by {settings.sobol_samples} base "
                        f"samples: confidence half-widths up to {widest:.2f} (indices lie in 0 … 1)"
                        + ("; some are undefined (the metric did not vary over the design)"
                           if not np.all(np.isfinite([*si.s1, *si.st])) else "")
                        + "; give more --sobol-samples before reading them")
    result.cases = cases
    result.problems = dict(runner.problems)
    result.notes += [f"{n} evaluations could not be made: {why}" for why, n in runner.problems.items()]
    result.evaluations = len(runner.store.values)
    result.ran = runner.ran
    result.tasks = runner.tasks
    timings["evaluations"] = runner.seconds
    timings["designs and indices"] = (time.perf_counter() - start - timings["relevant factors"]
                                      - runner.seconds)
    start = time.perf_counter()
    write_tables(result, out)
    timings["tables"] = time.perf_counter() - start
    result.timings = timings
    return result


def write_tables(result: SensitivityResult, out: Path) -> list[Path]:
    """The study's tables as CSV and Parquet (cases, one_at_a_time, morris, sobol, interval)."""
    from iadsim.io.parquet import write_table

    tables: dict[str, list[dict[str, Any]]] = {
        "cases": result.cases, "one_at_a_time": result.oat, "morris": result.morris, "sobol": result.sobol,
        "interval": [{"metric": m, "base": result.base[m], "low": i.low, "high": i.high,
                      "low_error": i.low_error, "high_error": i.high_error, "median": i.median,
                      "samples": i.samples, "level": i.level} for m, i in result.intervals.items()],
        "notes": [{"note": n} for n in result.notes],
        "factors": [{"factor": f.name, "kind": f.kind, "spans": f.describe(), "reason": f.reason,
                     "relevant": rel} for f, rel in zip(result.factors, result.relevant, strict=True)],
    }
    written = []
    for name, rows in tables.items():
        table = pa.Table.from_pylist(rows) if rows else pa.table({"empty": pa.array([], pa.string())})
        written.append(write_table(table, out / f"{name}.parquet"))
        written.append(_write_csv(rows, out / f"{name}.csv"))
    return written


def _write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    import csv
    import io

    buf = io.StringIO()
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: ("" if isinstance(r.get(c), float) and not math.isfinite(r[c]) else r.get(c))
                         for c in columns})
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return path

