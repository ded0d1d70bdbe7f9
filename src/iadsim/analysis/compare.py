"""Comparing command arrangements over replications, with common random numbers.

Per replication the sensing pass (``iadsim.sim.engine``) runs once and the command-and-control pass
(``iadsim.c2.run_c2``) runs over its detections once per arrangement: every arrangement sees the
same traffic, scan phases, detections and false alarms (exact common random numbers), so only
command and control differs between them and differences are paired by replication. The metrics,
their confidence intervals and the paired differences: docs/compare.md.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from iadsim.c2 import C2Error, SensorTable, build_network, run_c2
from iadsim.c2.operations import OUTCOME_SCHEMA
from iadsim.scenario.errors import ScenarioError
from iadsim.scenario.schema import Arrangement, Scenario

__all__ = ["CONFIDENCE", "METRICS", "Comparison", "Metric", "MetricSummary", "compare_arrangements",
           "mean_ci", "parse_arrangements", "summarise"]

CONFIDENCE = 0.95
"""The confidence level of every interval (two-sided, Student t)."""

ARRANGEMENT_NAMES = tuple(a.value for a in Arrangement)


@dataclass(frozen=True)
class Metric:
    """One metric of the comparison.

    Attributes:
        name: the column-friendly name (``time_to_first_track_s``).
        label: the words in tables and figures.
        unit: ``s``, ``per object``, ``per replication`` or ``share`` (0–1).
        event: for a time metric, the outcomes column of the event (its time minus ``start_s``);
            None for the others.
    """

    name: str
    label: str
    unit: str
    event: str | None = None


METRICS = (
    Metric("time_to_first_track_s", "time to first track", "s", "first_track_s"),
    Metric("time_to_identification_s", "time to identification", "s", "identified_s"),
    Metric("time_to_intercept_s", "time to intercept", "s", "intercept_s"),
    Metric("time_to_engagement_s", "time to engagement", "s", "engaged_s"),
    Metric("track_breaks", "track breaks", "per object"),
    Metric("leakers", "leakers", "per replication"),
    Metric("share_intercepted", "share intercepted", "share"),
    Metric("share_destroyed", "share destroyed", "share"),
    Metric("missiles", "missiles expended", "per replication"),
)
"""The metrics, in table order. Times run from the object's start (``start_s``) to the event at the
deciding node; an object for which the event never happened (NaN) does not count in that time."""

_METRIC = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one arrangement over the replications, and its paired difference to the
    baseline arrangement.

    Attributes:
        arrangement, metric: which.
        mean: the mean over replications of the per-replication value (NaN if never defined).
        half_width: half-width of the CI of the mean (NaN with fewer than 2 replications).
        ci_low, ci_high: the interval, mean ∓ half_width.
        replications: replications in which the metric is defined (a time metric: the event
            happened to at least one object).
        events: object-replications the value counts (time metrics: the event happened;
            track breaks: all; leakers: leakers; share intercepted: intercepted).
        objects: object-replications in the outcomes (objects that entered a defended airspace).
        diff_mean, diff_half_width, diff_ci_low, diff_ci_high: the paired difference this minus the
            baseline (NaN for the baseline itself).
        diff_replications: replications in which the difference is defined.
        diff_pairs: what the difference is over: time metrics and track breaks, object-replications
            with a value in both arrangements; counts and shares, replications.
        available: whether the arrangement could be built at the date.
        note: why not, if not.
    """

    arrangement: str
    metric: str
    mean: float = math.nan
    half_width: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    replications: int = 0
    events: int = 0
    objects: int = 0
    diff_mean: float = math.nan
    diff_half_width: float = math.nan
    diff_ci_low: float = math.nan
    diff_ci_high: float = math.nan
    diff_replications: int = 0
    diff_pairs: int = 0
    available: bool = True
    note: str = ""

    def record(self) -> dict[str, Any]:
        """The summary as a flat dict (NaN as None), with the metric's label and unit."""
        m = _METRIC[self.metric]
        out: dict[str, Any] = {"arrangement": self.arrangement, "metric": self.metric,
                               "label": m.label, "unit": m.unit}
        for key, value in self.__dict__.items():
            if key in ("arrangement", "metric"):
                continue
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out


@dataclass(frozen=True)
class Comparison:
    """What ``compare_arrangements`` produced.

    Attributes:
        scenario: the scenario as run (its ``as_of`` is the date of the comparison).
        arrangements: the arrangements as requested, in order (the first available one is the
            baseline of the paired differences).
        replications: how many replications (0 … N−1).
        outcomes: every replication's and arrangement's outcomes (``OUTCOME_SCHEMA``) with the
            columns ``replication`` and ``arrangement`` first; sorted by replication, then
            arrangement in the requested order.
        runs: one row per replication and arrangement: detections, outcome objects and the C2
            pass's counts (late reports, messages lost, ...).
        unavailable: arrangement → why it cannot be built at the date.
        summary: per available arrangement and metric, in order; unavailable arrangements have
            one row per metric with ``available`` False.
        scenario_hash: the compiled world's hash (as in the run report).
        terrain: whether the sensing passes used the bundled terrain.
    """

    scenario: Scenario
    arrangements: tuple[str, ...]
    replications: int
    outcomes: pa.Table
    runs: pa.Table
    unavailable: dict[str, str]
    summary: tuple[MetricSummary, ...]
    scenario_hash: str = ""
    terrain: bool = True

    @property
    def as_of(self) -> dt.date:
        """The date of the comparison."""
        return self.scenario.as_of

    @property
    def available(self) -> tuple[str, ...]:
        """The arrangements that ran, in the requested order."""
        return tuple(a for a in self.arrangements if a not in self.unavailable)

    @property
    def baseline(self) -> str:
        """The arrangement the paired differences are taken against: the first available one."""
        return self.available[0]

    def summary_records(self) -> list[dict[str, Any]]:
        """The summary as flat dicts (NaN as None), one per arrangement and metric."""
        return [s.record() for s in self.summary]

    def get(self, arrangement: str, metric: str) -> MetricSummary:
        """The summary of one arrangement and metric."""
        for s in self.summary:
            if s.arrangement == arrangement and s.metric == metric:
                return s
        raise KeyError((arrangement, metric))


def parse_arrangements(text: str | Sequence[str]) -> tuple[str, ...]:
    """Arrangement names from ``national,joint`` (or a list), checked.

    Raises:
        ValueError: none given, an unknown name (the message lists the allowed), or one listed twice.
    """
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else [str(n).strip() for n in text]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f"no arrangement given; allowed: {', '.join(ARRANGEMENT_NAMES)}")
    for name in names:
        if name not in ARRANGEMENT_NAMES:
            raise ValueError(f"unknown arrangement '{name}'; allowed: {', '.join(ARRANGEMENT_NAMES)}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"arrangement '{name}' is listed twice")
        seen.add(name)
    return tuple(names)


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """The mean of the finite values and the half-width of its Student-t confidence interval.

    Args:
        values: one value per replication; NaN (not defined in that replication) are left out.
        confidence: two-sided confidence level.

    Returns:
        (mean, half-width, k): k finite values; mean NaN if k = 0, half-width NaN if k < 2 (no
        spread to estimate), t(1 − α/2, k − 1) · s / √k otherwise (0 when all values are equal).
    """
    from scipy.stats import t as student_t

    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    k = len(x)
    if k == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if k < 2:
        return mean, math.nan, 1
    sd = float(x.std(ddof=1))
    half = float(student_t.ppf(0.5 + confidence / 2, k - 1)) * sd / math.sqrt(k)
    return mean, half, k


# -- the metrics of one run -------------------------------------------------------------------------

_Rows = dict[str, dict[str, Any]]  # object_id -> outcome row


def _rows(table: pa.Table) -> _Rows:
    return {str(r["object_id"]): r for r in table.to_pylist()}


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _run_value(metric: Metric, rows: _Rows) -> tuple[float, int]:
    """(value, events) of one replication of one arrangement."""
    objs = list(rows.values())
    if metric.event is not None:
        times = [float(r[metric.event]) - float(r["start_s"]) for r in objs
                 if _finite(r[metric.event]) and _finite(r["start_s"])]
        return (float(np.mean(times)) if times else math.nan), len(times)
    if metric.name == "track_breaks":
        return (float(np.mean([r["track_breaks"] for r in objs])) if objs else math.nan), len(objs)
    if metric.name == "leakers":
        n = sum(1 for r in objs if r["leaker"])
        return float(n), n
    if metric.name in ("share_intercepted", "share_destroyed"):
        col = "intercept_s" if metric.name == "share_intercepted" else "killed_s"
        n = sum(1 for r in objs if _finite(r[col]))
        return (n / len(objs) if objs else math.nan), n
    if metric.name == "missiles":
        n = sum(int(r["missiles"]) for r in objs)
        return float(n), n
    raise KeyError(metric.name)


def _run_difference(metric: Metric, rows: _Rows, base: _Rows) -> tuple[float, int]:
    """(this − baseline, pairs) of one replication: object by object for the time metrics and track
    breaks (objects with a value in both), run by run for the counts and shares."""
    if metric.event is not None or metric.name == "track_breaks":
        col = metric.event or "track_breaks"
        diffs = [float(r[col]) - float(base[o][col]) for o, r in rows.items()
                 if o in base and _finite(r[col]) and _finite(base[o][col])]
        return (float(np.mean(diffs)) if diffs else math.nan), len(diffs)
    a, _ = _run_value(metric, rows)
    b, _ = _run_value(metric, base)
    return a - b, int(math.isfinite(a - b))


def summarise(outcomes: Mapping[str, Sequence[pa.Table]], baseline: str | None = None,
              confidence: float = CONFIDENCE) -> list[MetricSummary]:
    """The metrics of each arrangement with CIs, and paired differences against ``baseline``.

    Args:
        outcomes: arrangement → its outcomes table per replication (index = replication; the same
            number of replications for every arrangement), in the order of the report.
        baseline: the arrangement the differences are taken against (default: the first).
        confidence: two-sided confidence level.
    """
    if not outcomes:
        return []
    base_name = baseline or next(iter(outcomes))
    per_arr = {a: [_rows(t) for t in tables] for a, tables in outcomes.items()}
    base_runs = per_arr[base_name]
    out = []
    for arr, runs in per_arr.items():
        if len(runs) != len(base_runs):
            raise ValueError(f"arrangement '{arr}' has {len(runs)} replications, the baseline "
                             f"'{base_name}' {len(base_runs)}")
        for metric in METRICS:
            values = [_run_value(metric, rows) for rows in runs]
            mean, half, k = mean_ci([v for v, _ in values], confidence)
            diff: dict[str, Any] = {}
            if arr != base_name:
                pairs = [_run_difference(metric, rows, base) for rows, base in zip(runs, base_runs,
                                                                                    strict=True)]
                d_mean, d_half, d_k = mean_ci([d for d, _ in pairs], confidence)
                diff = {"diff_mean": d_mean, "diff_half_width": d_half, "diff_ci_low": d_mean - d_half,
                        "diff_ci_high": d_mean + d_half, "diff_replications": d_k,
                        "diff_pairs": sum(n for _, n in pairs)}
            out.append(MetricSummary(arr, metric.name, mean, half, mean - half, mean + half, k,
                                     sum(n for _, n in values), sum(len(r) for r in runs), **diff))
    return out


# -- the replications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """What a worker needs for one replication (picklable)."""

    scenario: Scenario
    replication: int
    arrangements: tuple[str, ...]
    terrain: bool


@dataclass(frozen=True)
class _Replication:
    """What a worker returns for one replication: small tables and counts, not the run's tables."""

    replication: int
    detections: int
    outcomes: dict[str, pa.Table] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, list[ScenarioError]] = field(default_factory=dict)


def _engine(scenario: Scenario, replication: int, terrain: bool) -> Any:
    from iadsim.sim.engine import Engine

    if terrain:
        from iadsim.geo.terrain import default_terrain

        return Engine(scenario, replication=replication, terrain=default_terrain())
    return Engine(scenario, replication=replication)


def _replicate(task: _Task) -> _Replication:
    """One replication: the sensing pass once, then the C2 pass of every arrangement over it."""
    engine = _engine(task.scenario, task.replication, task.terrain)
    result = engine.run()
    sensors = SensorTable.from_engine(engine)
    out = _Replication(task.replication, int(result.detections.num_rows))
    for arr in task.arrangements:
        try:
            c2 = run_c2(task.scenario, result.detections, result.truth, result.objects, sensors, arr,
                        replication=task.replication)
        except C2Error as exc:
            out.errors[arr] = list(exc.errors)
            continue
        out.outcomes[arr] = c2.outcomes
        out.stats[arr] = {k: float(v) for k, v in c2.stats.items() if isinstance(v, int | float)}
    return out


def _reason(errors: Sequence[ScenarioError]) -> str:
    return "; ".join(e.message for e in errors)


def _check_arrangements(scenario: Scenario, arrangements: Sequence[str], terrain: bool,
                        ) -> tuple[dict[str, list[ScenarioError]], str]:
    """Which arrangements cannot be built at the scenario's date (replication 0's radars), and the
    compiled world's hash; before any replication runs."""
    engine = _engine(scenario, 0, terrain)
    s = SensorTable.from_engine(engine)
    failed = {}
    for arr in arrangements:
        try:
            build_network(scenario, Arrangement(arr), s.sensor_id, s.unit, s.nation, s.aircraft)
        except C2Error as exc:
            failed[arr] = list(exc.errors)
    return failed, str(engine.world.scenario_hash)


def _run_all(tasks: list[_Task], workers: int,
             progress: Callable[[int, int], None] | None) -> list[_Replication]:
    total = len(tasks)
    done: list[_Replication] = []
    if progress is not None:
        progress(0, total)
    if workers <= 1:
        for task in tasks:
            done.append(_replicate(task))
            if progress is not None:
                progress(len(done), total)
    else:
        # spawn: a clean interpreter per worker, whatever threads the parent runs (pyarrow, numba)
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = [pool.submit(_replicate, task) for task in tasks]
            for future in cf.as_completed(futures):
                done.append(future.result())
                if progress is not None:
                    progress(len(done), total)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return sorted(done, key=lambda r: r.replication)


def compare_arrangements(scenario: Scenario, arrangements: Sequence[str], replications: int,
                         jobs: int | None = None, progress: Callable[[int, int], None] | None = None,
                         *, as_of: dt.date | None = None, terrain: bool = True) -> Comparison:
    """Run every arrangement over the same sensing passes and summarise them with CIs.

    Args:
        scenario: the scenario (its ``c2`` settings and arrangement rules).
        arrangements: arrangement names, in report order; the first available one is the baseline.
        replications: replications 0 … N−1, N ≥ 1; each runs the engine once.
        jobs: worker processes over replications (None: ``os.cpu_count()``; 1: in this process).
            The result does not depend on it.
        progress: called with (replications done, replications in all).
        as_of: the date (default: the scenario's).
        terrain: the bundled ETOPO5 terrain (as ``iadsim run``), else a smooth earth.

    Raises:
        ValueError: bad arrangements, replications < 1 or jobs < 1.
        C2Error: no arrangement can be built at the date (every problem of every arrangement).
    """
    names = parse_arrangements(list(arrangements))
    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if as_of is not None:
        scenario = scenario.with_changes(as_of=as_of)
    failed, world_hash = _check_arrangements(scenario, names, terrain)
    if len(failed) == len(names):
        raise C2Error([e for arr in names for e in failed[arr]])
    runnable = tuple(a for a in names if a not in failed)
    tasks = [_Task(scenario, r, runnable, terrain) for r in range(replications)]
    workers = min(jobs or os.cpu_count() or 1, replications)
    reps = _run_all(tasks, workers, progress)

    for rep in reps:  # an arrangement that fails in any replication is left out of all
        for arr, errors in rep.errors.items():
            failed.setdefault(arr, errors)
    if len(failed) == len(names):
        raise C2Error([e for arr in names for e in failed[arr]])
    ran = tuple(a for a in names if a not in failed)
    day = scenario.as_of.isoformat()
    unavailable = {a: f"not available at {day}: {_reason(failed[a])}" for a in names if a in failed}

    outcomes = _outcomes_table(reps, ran)
    runs = _runs_table(reps, ran)
    summary = summarise({a: [rep.outcomes[a] for rep in reps] for a in ran})
    rows: list[MetricSummary] = []
    for arr in names:
        if arr in unavailable:
            rows += [MetricSummary(arr, m.name, available=False, note=unavailable[arr]) for m in METRICS]
        else:
            rows += [s for s in summary if s.arrangement == arr]
    return Comparison(scenario, names, replications, outcomes, runs, unavailable, tuple(rows), world_hash,
                      terrain)


def _outcomes_table(reps: Sequence[_Replication], arrangements: Sequence[str]) -> pa.Table:
    schema = pa.schema([("replication", pa.int64()), ("arrangement", pa.string()), *OUTCOME_SCHEMA])
    parts = []
    for rep in reps:
        for arr in arrangements:
            t = rep.outcomes[arr].select(OUTCOME_SCHEMA.names).cast(OUTCOME_SCHEMA)
            n = t.num_rows
            parts.append(t.add_column(0, "arrangement", pa.array([arr] * n, pa.string()))
                         .add_column(0, "replication", pa.array([rep.replication] * n, pa.int64())))
    return pa.concat_tables(parts).cast(schema) if parts else schema.empty_table()


def _runs_table(reps: Sequence[_Replication], arrangements: Sequence[str]) -> pa.Table:
    keys = sorted({k for rep in reps for arr in arrangements for k in rep.stats.get(arr, {})})
    rows = []
    for rep in reps:
        for arr in arrangements:
            stats = rep.stats.get(arr, {})
            rows.append({"replication": rep.replication, "arrangement": arr, "detections": rep.detections,
                         "objects": rep.outcomes[arr].num_rows,
                         **{k: stats.get(k, math.nan) for k in keys}})
    schema = pa.schema([("replication", pa.int64()), ("arrangement", pa.string()),
                        ("detections", pa.int64()), ("objects", pa.int64()),
                        *[(k, pa.float64()) for k in keys]])
    return pa.Table.from_pylist(rows, schema=schema)
