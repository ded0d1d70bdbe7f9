"""Parameter sweeps: a grid or list of scenario overrides × replications, run in processes or on Dask.

A SPEC (YAML, docs/sweeps.md) names a scenario, the overrides of every case (dotted paths into the
scenario, e.g. ``c2.identification_time_s``) and the replications. Every (case, replication) is a
task; a case's replication r runs ``Engine(replication=r)`` with the scenario's seed, so the cases see
common random numbers. Cases that differ only in ``arrangement`` share one sensing pass per
replication (as ``iadsim compare``). Each task's outcomes are written by the parent process to
``OUT/results/case=<case_id>/rep=<r>.parquet`` (atomically), so an interrupted sweep resumes by
running only the tasks whose file is missing; ``OUT/manifest.json`` says what the folder holds.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import difflib
import enum
import hashlib
import importlib
import itertools
import json
import math
import os
import pickle
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from iadsim.analysis.outcomes import OUTCOME_SCHEMA
from iadsim.c2 import C2Error
from iadsim.options import OptionError
from iadsim.pipeline import DEFAULT_TERRAIN, arrangement_problems, run_replication, sensing_pass
from iadsim.runs.workers import (
    hold_freed_memory,
    pool_failure_explained,
    process_pool,
    share_cores,
    stop_workers,
)
from iadsim.scenario import load_scenario, resolve_scenario_path
from iadsim.scenario.errors import Location
from iadsim.scenario.locations import locate
from iadsim.scenario.overrides import OverrideError, split_path
from iadsim.scenario.overrides import apply_overrides as _apply_overrides
from iadsim.scenario.schema import Scenario
from iadsim.scenario.yamlio import read_yaml_file

__all__ = ["MAX_TASKS", "MAX_TASKS_WITHOUT_CONFIRMATION", "Backend", "Case", "DaskBackend", "InlineBackend",
           "ProcessBackend", "Shared", "Spec", "SweepError", "SweepPlan", "SweepResult", "SweepTask",
           "TaskResult", "apply_overrides", "case_id", "dask_local_cluster", "execute", "load_spec",
           "open_backend", "parse_spec", "plan_sweep", "read_manifest", "read_results", "result_path",
           "run_sweep", "run_task", "task_status"]

MAX_TASKS_WITHOUT_CONFIRMATION = 10_000
"""More tasks than this need ``confirm=True`` (``--yes``)."""

MAX_TASKS = 1_000_000
"""No sweep has more tasks, even confirmed: at a second or more per replication that is weeks
of work, and the plan (a list of every task) must fit in memory."""

MANIFEST = "manifest.json"
RESULTS = "results"
FORMAT = "iadsim-sweep/1"
_STATUS_KEY = b"iadsim.status"
_NOTE_KEY = b"iadsim.note"
_SPEC_KEYS = ("scenario", "replications", "base", "parameters", "report")


class SweepError(Exception):
    """A problem with the SPEC, its overrides or the output folder: one message per problem."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# -- the spec ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One set of overrides.

    Attributes:
        case_id: ``c`` + 12 hex digits of the SHA-256 of the overrides' canonical JSON (stable).
        overrides: dotted path → value (JSON-normalised), the case's own (not the spec's ``base``).
    """

    case_id: str
    overrides: dict[str, Any]


def _jsonable(value: Any) -> Any:
    """A YAML value as JSON-compatible data (dates as ISO strings)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def case_id(overrides: Mapping[str, Any]) -> str:
    """The stable id of a case: ``c`` + 12 hex digits of the hash of its overrides."""
    return "c" + hashlib.sha256(_canonical(_jsonable(dict(overrides))).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Spec:
    """A SPEC, normalised.

    Attributes:
        scenario: as written (a bundled id, or a path relative to the spec file).
        scenario_path: the resolved scenario file.
        replications: replications per case, 0 … N−1.
        base: overrides applied to every case first.
        grid: path → values (their cartesian product).
        cases: explicit override sets (combined with every grid point).
        report: options of ``sweep-report`` (``metric``, ``x``).
        source: the spec file (None if built in code).
        locations: where each of the spec file's keys and list items is written (field path →
            file, line, column; empty for a spec built in code).
    """

    scenario: str
    scenario_path: Path
    replications: int
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    locations: Mapping[tuple[str | int, ...], Location] = field(default_factory=dict, compare=False,
                                                                repr=False)

    def where(self, path: Sequence[str | int] = ()) -> str:
        """``file:line:column`` of ``path`` in the spec file (or of its nearest written ancestor),
        else the file's name (``spec`` for a spec built in code)."""
        loc = locate(self.locations, tuple(path))
        return str(loc) if loc is not None else (str(self.source) if self.source else "spec")

    def override_path(self, dotted: str, value: Any, case: int | None,
                      base_only: bool = False) -> tuple[str | int, ...] | None:
        """The spec's field path where override ``dotted`` = ``value`` of a case is written: its value
        in the grid, in explicit case number ``case``, or in ``base`` (only there if ``base_only``);
        None if in none."""
        if dotted in self.grid and not base_only:
            index = next((i for i, v in enumerate(self.grid[dotted]) if v == value), None)
            return ("parameters", "grid", dotted) + ((index,) if index is not None else ())
        if case is not None and case < len(self.cases) and dotted in self.cases[case] and not base_only:
            return ("parameters", "cases", case, dotted)
        if dotted in self.base:
            return ("base", dotted)
        return None

    def normalised(self) -> dict[str, Any]:
        """The spec as JSON data, as recorded in the manifest."""
        return {"scenario": self.scenario, "replications": self.replications, "base": self.base,
                "parameters": {"grid": self.grid, "cases": self.cases}}

    def n_cases(self) -> int:
        """How many cases the spec makes (without building them)."""
        return math.prod(len(v) for v in self.grid.values()) * max(1, len(self.cases))

    def iter_overrides(self) -> Iterator[dict[str, Any]]:
        """Every case's overrides: each explicit case with each grid point, in spec order."""
        for _, overrides in self.iter_cases():
            yield overrides

    def iter_cases(self) -> Iterator[tuple[int | None, dict[str, Any]]]:
        """(number of the explicit case or None, overrides) of every case, in spec order."""
        keys = list(self.grid)
        for number, extra in enumerate(self.cases) if self.cases else [(None, {})]:
            for values in itertools.product(*(self.grid[k] for k in keys)):
                yield number, {**extra, **dict(zip(keys, values, strict=True))}


def _flat_overrides(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SweepError(f"{where}: expected a mapping of dotted paths to values, got {raw!r}")
    return {str(k): _jsonable(v) for k, v in raw.items()}


def parse_spec(data: Any, source: Path | None = None,
               locations: Mapping[tuple[str | int, ...], Location] | None = None) -> Spec:
    """A Spec from parsed YAML data; relative scenario paths resolve against the spec's folder.

    Args:
        data: the parsed spec. source: the spec file. locations: where each key and list item of
            the file is written (``read_yaml_file``); each problem then starts with its file:line.

    Raises:
        SweepError: every problem found in the spec's structure.
    """
    where = dict(locations or {})
    name = str(source) if source else "spec"

    def at(*path: str | int) -> str:
        loc = locate(where, path)
        return str(loc) if loc is not None else name

    if not isinstance(data, Mapping):
        raise SweepError(f"{at()}: expected a mapping with scenario, parameters and replications")
    problems = []
    meant: set[str] = set()  # a required key a misspelt key stands for: one message, not two
    for key in data:
        if key not in _SPEC_KEYS:
            hint = difflib.get_close_matches(str(key), _SPEC_KEYS, n=1)
            meant.update(h for h in hint if h not in data)
            problems.append(f"{at(key)}: unknown key '{key}'"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")
                            + f" (allowed: {', '.join(_SPEC_KEYS)})")
    scenario = data.get("scenario")
    if (not isinstance(scenario, str) or not scenario.strip()) \
            and not (scenario is None and "scenario" in meant):
        problems.append(f"{at('scenario')}: scenario: expected a bundled scenario id or a path, "
                        f"got {scenario!r}")
    reps = data.get("replications")
    if (not isinstance(reps, int) or isinstance(reps, bool) or not 1 <= reps <= MAX_TASKS) \
            and not (reps is None and "replications" in meant):
        problems.append(f"{at('replications')}: replications: expected a whole number from 1 to "
                        f"{MAX_TASKS:,}, got {reps!r}")
    params = data.get("parameters") or {}
    grid: dict[str, list[Any]] = {}
    cases: list[dict[str, Any]] = []
    if not isinstance(params, Mapping):
        problems.append(f"{at('parameters')}: parameters: expected a mapping with grid and/or cases")
        params = {}
    for key in params:
        if key not in ("grid", "cases"):
            problems.append(f"{at('parameters', key)}: parameters: unknown key '{key}' "
                            "(allowed: grid, cases)")
    raw_grid = params.get("grid") or {}
    if not isinstance(raw_grid, Mapping):
        problems.append(f"{at('parameters', 'grid')}: parameters.grid: expected a mapping of dotted paths "
                        "to lists of values")
    else:
        for path, values in raw_grid.items():
            if not isinstance(values, list) or not values:
                problems.append(f"{at('parameters', 'grid', path)}: parameters.grid.{path}: expected a "
                                f"non-empty list of values, got {values!r}")
            else:
                grid[str(path)] = [_jsonable(v) for v in values]
    raw_cases = params.get("cases") or []
    if params.get("cases") == []:
        problems.append(f"{at('parameters', 'cases')}: parameters.cases: expected a non-empty list of "
                        "mappings (dotted path: value), got []")
    if not isinstance(raw_cases, list):
        problems.append(f"{at('parameters', 'cases')}: parameters.cases: expected a list of mappings "
                        "(dotted path: value)")
    else:
        for i, c in enumerate(raw_cases):
            try:
                cases.append(_flat_overrides(c, f"{at('parameters', 'cases', i)}: parameters.cases[{i}]"))
            except SweepError as exc:
                problems += exc.problems
    for i, c in enumerate(cases):
        both = sorted(set(c) & set(grid))
        if both:
            problems.append(f"{at('parameters', 'cases', i, both[0])}: parameters.cases[{i}] sets "
                            f"{', '.join(both)}, which the grid also sweeps")
    try:
        base = _flat_overrides(data.get("base"), f"{at('base')}: base")
    except SweepError as exc:
        problems += exc.problems
        base = {}
    report = data.get("report") or {}
    if not isinstance(report, Mapping):
        problems.append(f"{at('report')}: report: expected a mapping (metric, x)")
        report = {}
    problems += _report_problems(at, report, [*grid, *(k for c in cases for k in c)])
    if problems:
        raise SweepError(problems)
    assert isinstance(scenario, str) and isinstance(reps, int)
    path = _resolve_scenario(scenario, source)
    return Spec(scenario, path, reps, base, grid, cases, _jsonable(dict(report)), source, where)


def _resolve_scenario(scenario: str, source: Path | None) -> Path:
    if source is not None:
        candidate = (source.parent / scenario)
        if candidate.suffix in (".yaml", ".yml") or candidate.exists():
            return candidate.resolve()
    return resolve_scenario_path(scenario)


def load_spec(path: Path) -> Spec:
    """Read and check a SPEC file.

    Raises:
        SweepError: the file is missing, not YAML, or malformed.
    """
    # the scenario reader's checks: missing, binary, non-UTF-8, empty, huge files, duplicate keys,
    # unsafe tags and alias bombs, each with file, line and column
    document, errors = read_yaml_file(path)
    if document is None and errors and errors[0].message.startswith("the file is empty"):
        raise SweepError(f"{path}: the file is empty; a SPEC needs at least `scenario` and `parameters`")
    if errors or document is None:
        raise SweepError([e.render() for e in errors] or [f"{path}: cannot be read"])
    return parse_spec(document.data, path, document.locations)


# -- overrides ---------------------------------------------------------------------------------------


def _get_path(data: Any, path: str) -> Any:
    node = data
    for part in split_path(path):
        node = node[part]
    return node


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """The scenario with every dotted path set, re-validated by the schema
    (``iadsim.scenario.overrides.apply_overrides``, its problems as a SweepError).

    Raises:
        SweepError: a path that does not exist (naming the nearest valid keys), or a value the schema
            rejects (path, value and reason).
    """
    try:
        return _apply_overrides(scenario, overrides)
    except OverrideError as exc:
        raise SweepError(exc.problems) from None


# -- the plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepTask:
    """What a worker needs for one sensing pass and the C2 passes over it (picklable).

    Attributes:
        scenario: the case's scenario (with overrides).
        replication: the replication (seeds the engine and the links).
        cases: (case_id, arrangement) of each case this pass serves (cases that differ only in
            ``arrangement``).
        terrain: the bundled terrain (as ``iadsim run``), else a smooth earth.
    """

    scenario: Scenario
    replication: int
    cases: tuple[tuple[str, str], ...]
    terrain: bool = True


@dataclass(frozen=True)
class TaskResult:
    """One case's replication: its outcomes (``OUTCOME_SCHEMA``) or why it could not be built."""

    case_id: str
    replication: int
    outcomes: pa.Table | None
    note: str = ""


@dataclass(frozen=True)
class SweepPlan:
    """Everything about a sweep before it runs.

    Attributes:
        spec: the spec.
        base: the scenario as loaded (before any override).
        cases: the cases, in spec order.
        scenarios: case_id → its scenario.
        parameters: the dotted paths the cases set, in first-seen order.
        schema: the schema of every result file.
        values: case_id → its overrides as read back from the validated scenario (column values).
        scenario_hash: ``iadsim.world.scenario_hash`` of ``base``.
    """

    spec: Spec
    base: Scenario
    cases: tuple[Case, ...]
    scenarios: dict[str, Scenario]
    parameters: tuple[str, ...]
    schema: pa.Schema
    values: dict[str, dict[str, Any]]
    scenario_hash: str

    @property
    def tasks(self) -> list[tuple[str, int]]:
        """Every (case_id, replication), case by case."""
        return [(c.case_id, r) for c in self.cases for r in range(self.spec.replications)]

    def manifest(self) -> dict[str, Any]:
        """The identity of the sweep, as written to ``manifest.json``."""
        from iadsim.version import __version__, build_fingerprint

        return {"format": FORMAT, "iadsim_version": __version__, "iadsim_build": build_fingerprint(),
                "spec": self.spec.normalised(),
                "report": self.spec.report,
                "scenario_hash": self.scenario_hash, "parameters": list(self.parameters),
                "cases": [{"case_id": c.case_id, "overrides": c.overrides} for c in self.cases],
                "tasks": [[c, r] for c, r in self.tasks]}


def _column_type(values: Sequence[Any]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    if present and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return pa.date32()
    return pa.string()


def _column_value(value: Any, kind: pa.DataType) -> Any:
    if value is None or kind != pa.string():
        return float(value) if kind == pa.float64() and value is not None else value
    if isinstance(value, enum.Enum):
        return str(value.value)
    return value if isinstance(value, str) else _canonical(_jsonable(value))


def _report_problems(at: Callable[..., str], report: Mapping[str, Any], swept: Sequence[str]) -> list[str]:
    """What ``sweep-report`` would refuse in a spec's ``report`` block, found when the sweep starts
    (``at(*path)``: where a field of the spec is written)."""
    from iadsim.analysis.statistics import METRICS

    problems = [f"{at('report', k)}: report: unknown key '{k}' (allowed: metric, x)" for k in report
                if k not in ("metric", "x")]
    metric, x = report.get("metric"), report.get("x")
    names = [m.name for m in METRICS]
    if metric is not None and metric not in names:
        hint = difflib.get_close_matches(str(metric), names, n=1)
        problems.append(f"{at('report', 'metric')}: report.metric: unknown metric '{metric}'"
                        + (f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(names)})"))
    if x is not None and x not in swept:
        problems.append(f"{at('report', 'x')}: report.x: '{x}' is not a parameter the spec sweeps "
                        f"({', '.join(dict.fromkeys(swept)) or 'none'})")
    return problems


def plan_sweep(spec: Spec, *, confirm: bool = False,
               max_tasks: int = MAX_TASKS_WITHOUT_CONFIRMATION) -> SweepPlan:
    """Load the scenario, build and validate every case.

    Args:
        spec: the spec.
        confirm: allow more than ``max_tasks`` tasks.
        max_tasks: the limit without ``confirm``.

    Raises:
        SweepError: too many tasks, bad paths or values (every case's problems), cases that repeat.
        ScenarioErrors: the scenario itself does not load.
    """
    n = spec.n_cases() * spec.replications
    if n > MAX_TASKS:
        raise SweepError(f"the sweep has {n:,} tasks ({spec.n_cases():,} cases × {spec.replications} "
                         f"replications), more than the {MAX_TASKS:,} any sweep may have; split it")
    if n > max_tasks and not confirm:
        raise SweepError(f"the sweep has {n:,} tasks ({spec.n_cases():,} cases × {spec.replications} "
                         f"replications), more than {max_tasks:,}; pass --yes to run it anyway")
    from iadsim.world import scenario_hash

    base = load_scenario(spec.scenario_path)
    try:
        start = _apply_overrides(base, spec.base) if spec.base else base
    except OverrideError as exc:
        raise SweepError(list(_located(spec, exc, spec.base, None, base_only=True))) from None
    cases: list[Case] = []
    scenarios: dict[str, Scenario] = {}
    problems: list[str] = []
    located: dict[str, list[str]] = {}  # a problem at its place in the spec → the cases it is in
    seen: dict[str, int] = {}
    for i, (number, overrides) in enumerate(spec.iter_cases()):
        cid = case_id(overrides)
        if cid in seen:
            problems.append(f"case {i} repeats case {seen[cid]} ({_canonical(overrides)})")
            continue
        seen[cid] = i
        try:
            scenarios[cid] = _apply_overrides(start, overrides)
        except OverrideError as exc:
            for problem in _located(spec, exc, overrides, number):
                located.setdefault(problem, []).append(cid)
            continue
        cases.append(Case(cid, overrides))
    n_cases = len(seen)  # the distinct cases (a repeated one is its own problem above)
    for problem, ids in located.items():
        many = (f" (in all {n_cases} cases)" if len(ids) == n_cases else
                f" (in {len(ids)} of the {n_cases} cases)") if len(ids) > 1 else ""
        problems.append(problem + many)
    if problems:
        raise SweepError(_dedupe_problems(problems))
    params: list[str] = []
    for c in cases:
        params += [p for p in c.overrides if p not in params]
    values: dict[str, dict[str, Any]] = {}
    for c in cases:
        dumped = scenarios[c.case_id].model_dump(by_alias=True)
        values[c.case_id] = {p: (_get_path(dumped, p) if p in c.overrides else None) for p in params}
    # cases written apart that the scenario reads alike (30 and 30.0) would run the same simulation
    alike: dict[str, Case] = {}
    for c in cases:
        first = alike.setdefault(json.dumps(values[c.case_id], sort_keys=True, default=str), c)
        if first is not c:
            problems.append(f"case {_canonical(c.overrides)} sets the same values as case "
                            f"{_canonical(first.overrides)} once the scenario reads them; give each once")
    if problems:
        raise SweepError(_dedupe_problems(problems))
    types = {p: _column_type([values[c.case_id][p] for c in cases]) for p in params}
    for v in values.values():
        for p in params:
            v[p] = _column_value(v[p], types[p])
    fields = [("case_id", pa.string()), ("replication", pa.int64()), *[(p, types[p]) for p in params]]
    clash = [p for p in params if p in OUTCOME_SCHEMA.names]
    if clash:
        raise SweepError(f"parameter paths {', '.join(clash)} clash with outcome columns")
    schema = pa.schema([*fields, *OUTCOME_SCHEMA])
    return SweepPlan(spec, base, tuple(cases), scenarios, tuple(params), schema, values,
                     scenario_hash(base))


def _located(spec: Spec, exc: OverrideError, overrides: Mapping[str, Any], number: int | None,
             base_only: bool = False) -> dict[str, None]:
    """Each of an override's problems once, at the place in the spec where the override is written
    (the value the schema refuses, or the path that does not exist); one the spec cannot place
    names the case's overrides. An ordered set (dict keys)."""
    out: dict[str, None] = {}
    for problem, subject in zip(exc.problems, exc.subjects, strict=True):
        path = None
        if subject is not None and subject[0] in overrides:
            path = spec.override_path(subject[0], overrides[subject[0]], number, base_only)
            if path is not None and subject[1] == "path" and path[:2] == ("parameters", "grid"):
                path = path[:3]  # the key, not a value
        if path is not None:
            out[f"{spec.where(path)}: {problem}"] = None
        else:
            out[f"case {case_id(overrides)} {_canonical(dict(overrides))}: {problem}"] = None
    return out


def _dedupe_problems(problems: Sequence[str], limit: int = 20) -> list[str]:
    out = list(dict.fromkeys(problems))
    return out if len(out) <= limit else [*out[:limit], f"… and {len(out) - limit} more problems"]


# -- the worker ---------------------------------------------------------------------------------------


def run_task(task: SweepTask) -> list[TaskResult]:
    """Run one sensing pass and the C2 pass of each case it serves (the function workers run).

    Args:
        task: the scenario, the replication and the (case_id, arrangement) pairs.

    Returns:
        One TaskResult per case, in ``task.cases`` order; a case whose arrangement cannot be built
        at the scenario's date has no outcomes and the reason in ``note``.
    """
    failed = arrangement_problems(task.scenario, sorted({arr for _, arr in task.cases}))
    notes = {cid: f"'{arr}' not available at {task.scenario.as_of.isoformat()}: "
             + "; ".join(e.message for e in failed[arr]) for cid, arr in task.cases if arr in failed}
    if len(notes) == len(task.cases):
        return [TaskResult(cid, task.replication, None, notes[cid]) for cid, _ in task.cases]
    sensing = sensing_pass(task.scenario, replication=task.replication,
                           terrain=DEFAULT_TERRAIN if task.terrain else None)
    out: list[TaskResult] = []
    for cid, arr in task.cases:
        if cid in notes:
            out.append(TaskResult(cid, task.replication, None, notes[cid]))
            continue
        try:
            run = run_replication(task.scenario, arrangement=arr, replication=task.replication,
                                  sensing=sensing)
        except C2Error as exc:
            out.append(TaskResult(cid, task.replication, None, "; ".join(e.message for e in exc.errors)))
            continue
        out.append(TaskResult(cid, task.replication, run.outcomes))
    return out


# -- backends -----------------------------------------------------------------------------------------


class Backend(Protocol):
    """Where tasks run: submit a pure function of one argument, wait for any, take results.

    Attributes:
        workers: tasks that run at once. slots: tasks kept in flight (``execute``).
    """

    workers: int
    slots: int

    def share(self, value: Any) -> Any:
        """A handle that stands for ``value`` in the tasks' arguments (``execute``'s ``shared``): the
        value itself in this process; else it is sent to each worker once, not with every task."""
        ...

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any: ...

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]: ...

    def result(self, future: Any) -> Any: ...

    def cancel(self, pending: set[Any]) -> None: ...


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value


class InlineBackend:
    """Tasks run in this process, one at a time."""

    workers = 1
    slots = 1

    def share(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return _Done(fn(arg))

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        return set(pending), set()

    def result(self, future: Any) -> Any:
        return future.value

    def cancel(self, pending: set[Any]) -> None:
        pass


class ProcessBackend:
    """Local worker processes (concurrent.futures, spawn)."""

    def __init__(self, pool: cf.ProcessPoolExecutor, workers: int) -> None:
        self.pool = pool
        self.workers = workers
        self.slots = 2 * workers

    def share(self, value: Any) -> Any:
        # pickled once here; each worker unpickles it once (_Pickled.value) and keeps it
        return _Pickled(value)

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.pool.submit(fn, arg)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return set(done), set(rest)

    def result(self, future: Any) -> Any:
        with pool_failure_explained():
            return future.result()

    def cancel(self, pending: set[Any]) -> None:
        for f in pending:
            f.cancel()


class DaskBackend:
    """A Dask distributed client (a remote scheduler or a LocalCluster)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        workers = client.scheduler_info()["workers"]
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
        self.workers = max(1, threads)
        self.slots = 2 * self.workers
        # each task runs on its share of its host's cores for numba's parallel loops (share_cores)
        self.threads_per_host: dict[str, int] = {}
        for address, w in workers.items():
            host = urllib.parse.urlparse(address).hostname or address
            self.threads_per_host[host] = self.threads_per_host.get(host, 0) + int(w.get("nthreads", 1))

    def share(self, value: Any) -> Any:
        # on every worker now (a worker that joins later fetches it from another); tasks that name the
        # future in their argument get the value, deserialised once per worker
        [future] = self.client.scatter([value], broadcast=True, hash=False)
        return future

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.client.submit(_on_shared_cores, fn, arg, self.threads_per_host, pure=False)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, rest = _distributed().wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(rest)

    def result(self, future: Any) -> Any:
        return future.result()

    def cancel(self, pending: set[Any]) -> None:
        if pending:
            self.client.cancel(list(pending))


def _on_shared_cores(fn: Callable[[Any], Any], arg: Any, threads_per_host: dict[str, int]) -> Any:
    """``fn(arg)`` in a Dask worker's task thread, with ``share_cores`` among the worker threads on
    its host first (numba's thread count is per thread, so it is set where the task runs) and the
    worker keeping the memory it frees (``hold_freed_memory``: a few microseconds a task)."""
    address = str(_distributed().get_worker().address)
    share_cores(threads_per_host.get(urllib.parse.urlparse(address).hostname or address, 1))
    hold_freed_memory()
    return fn(arg)


def _distributed() -> Any:
    """The ``distributed`` module (Dask's scheduler), imported only when a Dask backend is asked for."""
    return importlib.import_module("distributed")


@contextmanager
def dask_local_cluster(workers: int) -> Iterator[Any]:
    """A Dask LocalCluster of ``workers`` single-threaded worker processes on this machine.

    Its workers run without the ``MALLOC_TRIM_THRESHOLD_`` that Dask's nannies set by default: it
    turns off glibc's adaptive mmap threshold, so every large array was mapped and faulted in
    afresh, and a sensitivity study's evaluations took 1.6× the CPU they take in a plain process.
    They also run without Dask's statistical profiler, which samples every worker thread's stack
    100 times a second for the dashboard that this cluster does not start; without it a study's
    evaluations took about 4 % less time (docs/benchmarks.md). docs/sweeps.md says how to start a
    cluster of your own the same way. Its scheduler's HTTP server (health and metrics routes; no
    dashboard) takes a free port, not Dask's default 8787, so that clusters started at the same time
    on one machine do not collide.
    """
    distributed = _distributed()  # first: it adds its defaults to Dask's configuration
    config = importlib.import_module("dask").config
    environ = {k: v for k, v in config.get("distributed.nanny.pre-spawn-environ").items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    with config.set({"distributed.nanny.pre-spawn-environ": environ,
                     "distributed.worker.profile.enabled": False}), distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"}) as cluster:
        yield cluster


@contextmanager
def open_backend(jobs: int | None = None, scheduler: str | None = None,
                 local_cluster: int | None = None) -> Iterator[Backend]:
    """A backend, closed cleanly on exit.

    Args:
        jobs: local worker processes (None: the CPU count; 1: in this process).
        scheduler: a Dask scheduler address (``tcp://host:8786``).
        local_cluster: a Dask LocalCluster of this many single-threaded worker processes.

    Raises:
        OptionError: no Dask scheduler answers at ``scheduler``.
    """
    if scheduler is not None or local_cluster is not None:
        dask = _distributed()
        if scheduler is not None:
            try:
                client = dask.Client(scheduler)
            except (OSError, ValueError) as exc:  # TimeoutError is an OSError
                raise OptionError(f"--scheduler {scheduler}: no Dask scheduler answers there ({exc}); "
                                  "start one (docs/sweeps.md) or check the address") from None
            with client:
                yield DaskBackend(client)
            return
        assert local_cluster is not None
        with dask_local_cluster(local_cluster) as cluster, dask.Client(cluster) as client:
            yield DaskBackend(client)
        return
    workers = jobs or os.cpu_count() or 1
    if workers <= 1:
        yield InlineBackend()
        return
    pool = process_pool(workers)
    try:
        yield ProcessBackend(pool, workers)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown()


class _Pickled:
    """A value pickled once by the parent; a worker process unpickles it at its first task and keeps
    it (by the pickle's hash) for the others, so tasks carry bytes, not the objects to pickle again."""

    def __init__(self, value: Any) -> None:
        self.payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.key = hashlib.sha256(self.payload).hexdigest()

    @property
    def value(self) -> Any:
        if self.key not in _UNPICKLED:
            _UNPICKLED.clear()  # one study's value at a time: a worker serves one parent
            _UNPICKLED[self.key] = pickle.loads(self.payload)  # bytes our own parent pickled
        return _UNPICKLED[self.key]


_UNPICKLED: dict[str, Any] = {}


@dataclass(frozen=True)
class _WithShared:
    """Runs ``fn(shared, arg)`` on a (handle, arg) pair: the handle is the value itself (in this
    process and on Dask, which puts the value in place of its future) or a ``_Pickled``."""

    fn: Callable[[Any, Any], Any]

    def __call__(self, pair: tuple[Any, Any]) -> Any:
        handle, arg = pair
        return self.fn(handle.value if isinstance(handle, _Pickled) else handle, arg)


_NOTHING: Any = object()


@dataclass(frozen=True)
class Shared:
    """A value already sent to a backend's workers (``Backend.share``), for several ``execute``
    calls: a sensitivity study's first wave and its Sobol design use one scenario, sent
    once (on Dask each send is a broadcast that waits for every worker)."""

    handle: Any

    @classmethod
    def on(cls, backend: Backend, value: Any) -> Shared:
        """``value`` sent to ``backend``'s workers."""
        return cls(backend.share(value))


def execute(backend: Backend, fn: Callable[..., Any], args: Iterable[Any], shared: Any = _NOTHING,
            ) -> Iterator[Any]:
    """Run ``fn`` over ``args`` on the backend, at most ``backend.slots`` in flight; yield results as
    they finish (any order).

    Args:
        backend: where the tasks run. fn: a module-level function (workers import it).
        args: one per task.
        shared: if given, what every task needs (a scenario, say): it is sent to each worker once
            (``Backend.share``; a ``Shared`` was sent already) and each task runs
            ``fn(shared, arg)``; without it, ``fn(arg)``.
    """
    if shared is not _NOTHING:
        handle = shared.handle if isinstance(shared, Shared) else backend.share(shared)
        yield from execute(backend, _WithShared(fn), ((handle, a) for a in args))
        return
    todo = iter(args)
    pending: set[Any] = set()
    try:
        while True:
            while len(pending) < backend.slots:
                arg = next(todo, _END)
                if arg is _END:
                    break
                pending.add(backend.submit(fn, arg))
            if not pending:
                return
            done, pending = backend.wait_any(pending)
            for f in done:
                yield backend.result(f)
    except BaseException:
        backend.cancel(pending)
        raise


_END = object()


# -- the output folder ----------------------------------------------------------------------------------


def result_path(out: Path, cid: str, replication: int) -> Path:
    """Where one task's outcomes go."""
    return out / RESULTS / f"case={cid}" / f"rep={replication}.parquet"


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a sweep folder.

    Raises:
        SweepError: no manifest or not readable.
    """
    path = out / MANIFEST
    if not out.is_dir():
        raise SweepError(f"{out}: not a folder (give the folder iadsim sweep wrote)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise SweepError(f"{out}: not a sweep folder (no {MANIFEST}; a sweep writes it when it starts, "
                         "so a folder without one was not written by iadsim sweep)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SweepError(f"{path}: not a sweep manifest (format {FORMAT})")
    return data


def _identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in ("unavailable", "report")}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _first_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return key
    return "?"


def _prepare_folder(out: Path, manifest: dict[str, Any]) -> None:
    """Check an existing folder is this sweep's (or empty) and write the manifest; nothing else is
    touched."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).exists():
            raise SweepError(f"{out}: not empty and not a sweep folder (no {MANIFEST}); nothing was "
                             "written; choose another --out")
        old = read_manifest(out)
        if _identity(old) != _identity(manifest):
            key = _first_difference(_identity(old), _identity(manifest))
            raise SweepError(f"{out} holds the results of a different sweep (the manifests differ in "
                             f"'{key}'); nothing was written; choose another --out or delete the folder")
        for tmp in (out / RESULTS).glob("case=*/.rep=*.parquet.tmp-*"):
            tmp.unlink()  # left by a killed run; never read
        return
    _write_json(out / MANIFEST, manifest)


def _result_table(plan: SweepPlan, res: TaskResult) -> pa.Table:
    outcomes = res.outcomes if res.outcomes is not None else OUTCOME_SCHEMA.empty_table()
    t = outcomes.select(OUTCOME_SCHEMA.names).cast(OUTCOME_SCHEMA)
    n = t.num_rows
    cols: dict[str, pa.Array] = {"case_id": pa.array([res.case_id] * n, pa.string()),
                                 "replication": pa.array([res.replication] * n, pa.int64())}
    for p in plan.parameters:
        kind = plan.schema.field(p).type
        cols[p] = pa.array([plan.values[res.case_id][p]] * n, kind)
    arrays = [*cols.values(), *t.columns]
    status = b"unavailable" if res.outcomes is None else b"ok"
    schema = plan.schema.with_metadata({_STATUS_KEY: status, _NOTE_KEY: res.note.encode("utf-8")})
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_result(out: Path, plan: SweepPlan, res: TaskResult) -> None:
    path = result_path(out, res.case_id, res.replication)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(_result_table(plan, res), tmp, compression="zstd", write_statistics=True)
    os.replace(tmp, path)


def _readable_result(path: Path) -> bool:
    """Whether a result file exists and its Parquet footer can be read."""
    if not path.is_file():
        return False
    try:
        pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):
        return False
    return True


def task_status(path: Path) -> tuple[str, str]:
    """(status, note) of a result file: ``ok`` or ``unavailable`` and why."""
    meta = pq.read_schema(path).metadata or {}
    return meta.get(_STATUS_KEY, b"ok").decode("utf-8"), meta.get(_NOTE_KEY, b"").decode("utf-8")


@dataclass(frozen=True)
class SweepResult:
    """What ``run_sweep`` did.

    Attributes:
        out: the output folder.
        tasks: tasks in the sweep.
        ran: tasks run now (the others were already done).
        unavailable: (case_id, replication) → why the case could not be built.
    """

    out: Path
    tasks: int
    ran: int
    unavailable: dict[tuple[str, int], str]


def _groups(plan: SweepPlan, missing: set[tuple[str, int]], terrain: bool) -> list[SweepTask]:
    """The sensing passes to run: cases that differ only in ``arrangement`` share one per replication."""
    by_key: dict[str, list[Case]] = {}
    for c in plan.cases:
        sc = plan.scenarios[c.case_id]
        key = _canonical(sc.model_dump(mode="json", by_alias=True, exclude={"arrangement"}))
        by_key.setdefault(key, []).append(c)
    tasks = []
    for r in range(plan.spec.replications):
        for group in by_key.values():
            todo = tuple((c.case_id, str(plan.scenarios[c.case_id].arrangement.value)) for c in group
                         if (c.case_id, r) in missing)
            if todo:
                tasks.append(SweepTask(plan.scenarios[group[0].case_id], r, todo, terrain))
    return tasks


def run_sweep(plan: SweepPlan, out: Path, backend: Backend,
              progress: Callable[[int, int], None] | None = None, *, terrain: bool = True) -> SweepResult:
    """Run the tasks whose result file is missing and write each as it finishes.

    Args:
        plan: the sweep.
        out: the output folder (created; if it exists it must hold this sweep).
        backend: where tasks run (``open_backend``).
        progress: called with (tasks done, tasks in all), counting tasks done before.
        terrain: the bundled ETOPO5 terrain, else a smooth earth.

    Raises:
        SweepError: ``out`` holds something else (nothing is written then).
    """
    manifest = plan.manifest()
    _prepare_folder(out, manifest)
    tasks = plan.tasks
    # a result file that cannot be read (truncated, emptied) is run again, and replaced atomically
    missing = {t for t in tasks if not _readable_result(result_path(out, *t))}
    done = len(tasks) - len(missing)
    if progress is not None:
        progress(done, len(tasks))
    for results in execute(backend, run_task, _groups(plan, missing, terrain)):
        for res in results:
            _write_result(out, plan, res)
            done += 1
        if progress is not None:
            progress(done, len(tasks))
    unavailable = {}
    for cid, r in tasks:
        status, note = task_status(result_path(out, cid, r))
        if status != "ok":
            unavailable[(cid, r)] = note
    manifest["unavailable"] = [{"case_id": c, "replication": r, "reason": n}
                               for (c, r), n in sorted(unavailable.items())]
    _write_json(out / MANIFEST, manifest)
    return SweepResult(out, len(tasks), len(missing), unavailable)


def read_results(out: Path | str) -> pa.Table:
    """Every result file of a sweep folder as one table (pyarrow.dataset, hive partitioning), sorted by
    case_id, replication and object_id; the partition column ``case`` is dropped (it is ``case_id``)."""
    import pyarrow.dataset as ds

    out = Path(out)

    # the result files only (case=…/rep=….parquet): a stray file (a README) is not a result
    files = sorted(p for p in (out / RESULTS).glob("case=*/rep=*.parquet") if p.is_file())
    for path in files:
        if not _readable_result(path):
            raise SweepError(f"{path}: a result file that cannot be read (truncated or damaged); run "
                             "`iadsim sweep` with the same spec and --out again, and it runs that task again")
    dataset = ds.dataset([str(p) for p in files], format="parquet", partitioning="hive",
                         partition_base_dir=str(out / RESULTS))
    table = dataset.to_table()
    if "case" in table.column_names:
        table = table.drop_columns(["case"])
    return table.sort_by([("case_id", "ascending"), ("replication", "ascending"),
                          ("object_id", "ascending")])


