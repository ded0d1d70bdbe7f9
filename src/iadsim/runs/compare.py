"""Comparing command arrangements over replications, with common random numbers.

Per replication the sensing pass runs once (``iadsim.pipeline.sensing_pass``) and
``iadsim.pipeline.run_replication`` runs the command-and-control pass over it once per arrangement:
every arrangement sees the same traffic, scan phases, detections and false alarms (exact common
random numbers), so only command and control differs between them and differences are paired by
replication. The metrics, their confidence intervals and the paired differences
(``iadsim.analysis.statistics``): docs/compare.md.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from iadsim.analysis.outcomes import OUTCOME_SCHEMA
from iadsim.analysis.statistics import METRICS, MetricSummary, parse_arrangements, summarise
from iadsim.c2 import C2Error
from iadsim.pipeline import DEFAULT_TERRAIN, arrangement_problems, run_replication, sensing_pass
from iadsim.runs.workers import pool_failure_explained, process_pool, stop_workers
from iadsim.scenario.errors import ScenarioError
from iadsim.scenario.schema import Scenario
from iadsim.world import scenario_hash

__all__ = ["Comparison", "compare_arrangements"]

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


def _replicate(task: _Task) -> _Replication:
    """One replication: the sensing pass once, then ``run_replication`` of every arrangement over it."""
    sensing = sensing_pass(task.scenario, replication=task.replication,
                           terrain=DEFAULT_TERRAIN if task.terrain else None)
    out = _Replication(task.replication, int(sensing.result.detections.num_rows))
    for arr in task.arrangements:
        try:
            run = run_replication(task.scenario, arrangement=arr, replication=task.replication,
                                  sensing=sensing)
        except C2Error as exc:
            out.errors[arr] = list(exc.errors)
            continue
        out.outcomes[arr] = run.outcomes
        out.stats[arr] = {k: float(v) for k, v in run.stats["c2"].items() if isinstance(v, int | float)}
    return out


def _reason(errors: Sequence[ScenarioError]) -> str:
    return "; ".join(e.message for e in errors)


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
        pool = process_pool(workers)
        try:
            futures = [pool.submit(_replicate, task) for task in tasks]
            for future in cf.as_completed(futures):
                with pool_failure_explained():
                    done.append(future.result())
                if progress is not None:
                    progress(len(done), total)
        except BaseException:
            stop_workers(pool)
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
    failed = arrangement_problems(scenario, names)
    world_hash = scenario_hash(scenario)
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
