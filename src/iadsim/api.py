"""The notebook API: ``iadsim.run``, ``iadsim.coverage`` and ``iadsim.compare`` with results that
show themselves in Jupyter (short reprs, ``_repr_html_``) and convert to DataFrames (``to_pandas``,
``to_geopandas`` with the ``analysis`` extra). Dates are ``datetime.date``, ISO strings or years.
docs/python-api.md and the tutorial notebook docs/tutorial.ipynb show them in use.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from iadsim.coverage.study import CoverageRequest, CoverageStudy, run_coverage_study
from iadsim.dataframes import html_table, require, to_geopandas_points, to_pandas
from iadsim.io.coverage import coverage_contours
from iadsim.io.run_folder import RunFolder, read_run_folder
from iadsim.oob import OrderOfBattle, order_of_battle
from iadsim.options import MAX_RESOLUTION_KM, OptionError, check_altitudes, parse_number
from iadsim.pipeline.checks import check_scenario
from iadsim.report.compare import comparison_findings, write_compare_report
from iadsim.report.findings import RunFindings, findings_box, run_findings
from iadsim.report.run import render_run_report
from iadsim.runs.compare import Comparison, compare_arrangements
from iadsim.runs.run import RUN_COVERAGE, run_scenario
from iadsim.scenario import DateLike, Scenario, ScenarioErrors, as_date, check_data_period, load_scenario
from iadsim.scenario.schema import Arrangement

__all__ = ["ComparisonResult", "CoverageResult", "Run", "compare", "coverage", "open_run", "run"]

ScenarioLike = Scenario | str | Path | None
"""A loaded scenario, a scenario file, a bundled scenario id, or None for the default scenario."""


def _scenario(scenario: ScenarioLike) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _refuse_problems(scenario: Scenario, **kwargs: Any) -> None:
    problems = check_scenario(scenario, **kwargs)
    if problems:
        raise ScenarioErrors(problems)


# --- runs ------------------------------------------------------------------------------------------


class Run:
    """A finished run folder, read through the run-folder contract: its tables, summary, findings and
    report.

    Args:
        folder: the run folder (``iadsim.run`` returns one; ``open_run`` opens one from disk).
    """

    def __init__(self, folder: Path | str | RunFolder) -> None:
        self.run_folder = folder if isinstance(folder, RunFolder) else read_run_folder(Path(folder))

    @property
    def folder(self) -> Path:
        """The run folder."""
        return self.run_folder.path

    @property
    def report(self) -> Path | None:
        """``report.html``, if it has been rendered."""
        path = self.folder / "report.html"
        return path if path.is_file() else None

    @cached_property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: the run's identity and stored measures."""
        return self.run_folder.summary

    @cached_property
    def scenario(self) -> Scenario:
        """The resolved scenario as run."""
        return self.run_folder.scenario()

    @property
    def as_of(self) -> dt.date:
        """The run's date."""
        return dt.date.fromisoformat(self.summary["as_of"])

    @cached_property
    def findings(self) -> RunFindings:
        """The key findings (per class of air object, per neighbouring state, as sentences)."""
        return run_findings(self.run_folder)

    @property
    def tables(self) -> list[str]:
        """The names of the run's Parquet tables (``truth``, ``outcomes``, ``tracks_<node>``, …)."""
        return [rel.removesuffix(".parquet") for rel, _ in self.run_folder.tables()]

    def table(self, name: str) -> pa.Table:
        """A table of the run as Arrow (e.g. ``outcomes``, ``truth``, ``tracks_rads_command``)."""
        if name not in self.tables:
            raise KeyError(f"run {self.folder.name} has no table '{name}'; it has: {', '.join(self.tables)}")
        return self.run_folder.table(f"{name}.parquet")

    def order_of_battle(self) -> OrderOfBattle:
        """The order of battle of the run's date."""
        return order_of_battle(self.scenario, self.as_of, allow_outside_data=True)

    def to_pandas(self, table: str = "outcomes") -> Any:
        """A table of the run as a pandas DataFrame (default: the outcome per violating object);
        ``units`` is the order of battle. Needs the ``analysis`` extra."""
        if table == "units":
            return self.order_of_battle().to_pandas()
        return to_pandas(self.table(table))

    def to_geopandas(self, table: str = "truth") -> Any:
        """A table with positions as a GeoDataFrame of points (WGS84): ``truth`` (default),
        ``picture``, ``tracks_<node>`` or ``units``. (``detections`` are range and bearing from their
        radar, not positions: a ValueError says so.) Needs the ``analysis`` extra."""
        if table == "units":
            return self.order_of_battle().to_geopandas()
        frame = self.to_pandas(table)
        if "lat_deg" not in frame.columns or "lon_deg" not in frame.columns:
            raise ValueError(f"table '{table}' has no lat_deg/lon_deg columns; to_pandas('{table}') "
                             "gives it without geometry")
        return to_geopandas_points(frame)

    def __repr__(self) -> str:
        s = self.summary
        sim = s.get("simulation", {})
        entered = sum(c.entered for c in self.findings.classes)
        # leakers only where the arrangement engages (in peacetime an entering object is policed)
        leaked = (f", {sum(c.leaked for c in self.findings.classes)} leaked" if self.findings.engagements
                  else "")
        counts = (f"{sim.get('objects', 0)} objects, {entered} entered{leaked}" if sim
                  else "no simulation")
        return (f"<Run {s['scenario']!r} on {s['as_of']} under {s['arrangement']}: {counts}; "
                f"{self.folder}>")

    def _repr_html_(self) -> str:
        link = f"<p>Report: <code>{self.report}</code></p>" if self.report else ""
        return (f"<p><b>{self.summary['scenario']}</b> on {self.summary['as_of']} under "
                f"{self.summary['arrangement']}</p>" + findings_box(self.findings,
                                                                 self.summary.get("warnings", []))
                + link)


def open_run(folder: Path | str) -> Run:
    """A finished run folder (written by ``iadsim run`` or ``iadsim.run``).

    Raises:
        RunFolderError: not a finished run folder of a known schema.
    """
    return Run(folder)


def run(scenario: ScenarioLike = None, out_dir: Path | str = "out", *, as_of: DateLike | None = None,
        arrangement: Arrangement | str | None = None, coverage: bool = True, simulate: bool = True,
        report: bool = True, force: bool = False, allow_outside_data: bool = False,
        progress: Callable[[str, int, int], None] | None = None, jobs: int | None = None) -> Run:
    """Run a scenario as ``iadsim run`` does: check it, simulate, write a new run folder and its report.

    Args:
        scenario: a loaded scenario, a file, a bundled id, or None for the default.
        out_dir: the parent folder of run folders.
        as_of: the date (``datetime.date``, ISO string or year); default: the scenario's.
        arrangement: the command arrangement (default: the scenario's).
        coverage: compute the run's coverage (three layers on a 10 km grid).
        simulate: run the replication (else the folder holds the order of battle and coverage).
        report: render ``report.html``.
        force: replace an existing run folder of the same name.
        allow_outside_data: accept a date outside the scenario's data period (with a warning).
        progress: called with (phase, done, total).
        jobs: processes (None: up to two; 1: no worker process, e.g. in a script without an
            ``if __name__ == "__main__":`` guard). The folder does not depend on it.

    Raises:
        ScenarioErrors: what the run would refuse, every problem at once, located.
        OutsideDataPeriod: the date is outside the data's period and not allowed.
        WorkerStartError: a worker process stopped before its task (the message says why that
            usually happens: a script without the main guard).
    """
    sc = _scenario(scenario)
    day = as_date(as_of) if as_of is not None else None
    check_data_period(sc, day or sc.as_of, allow_outside_data=allow_outside_data)
    chosen = Arrangement(arrangement) if arrangement is not None else None
    if simulate:
        _refuse_problems(sc if chosen is None else sc.with_changes(arrangement=chosen), as_of=day,
                         allow_outside_data=True)
    # the report is rendered before the folder is published: it appears with its report or not at all
    folder = run_scenario(sc, Path(out_dir), as_of=day, arrangement=chosen,
                          coverage=RUN_COVERAGE if coverage else None, simulate=simulate, force=force,
                          progress=progress, allow_outside_data=allow_outside_data,
                          render=render_run_report if report else None, jobs=jobs)
    return Run(folder)


# --- coverage --------------------------------------------------------------------------------------


@dataclass
class CoverageResult:
    """A coverage study: where the system detects and can engage, by date, altitude and RCS class.

    Attributes:
        scenario: the scenario it was computed for.
        request: what was computed.
        study: the computed grids and region rows.
    """

    scenario: Scenario
    request: CoverageRequest
    study: CoverageStudy = field(repr=False)

    def to_pandas(self) -> Any:
        """One row per date, region, RCS class, altitude and target aspect (``aspect``: approaching,
        crossing, receding; engagement depends on the target's heading, detection does not): % of
        the region's area detected and engageable (overall and per nation), overlap depth. Needs the
        ``analysis`` extra."""
        return to_pandas(self.study.comparison)

    def to_geopandas(self) -> Any:
        """The detected and engageable areas as polygons (WGS84), one row per date, quantity, RCS class,
        altitude and, for an engageable area, target aspect. Needs the ``analysis`` extra."""
        gpd = require("geopandas", "to_geopandas()")
        features = [f for cov in self.study.coverages.values() for f in coverage_contours(cov)]
        return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")

    def pivot(self, value: str = "engageable_pct") -> tuple[list[str], list[list[Any]]]:
        """A region × RCS class × altitude × aspect table of one measure, one column per date."""
        from iadsim.coverage.study import pivot

        return pivot(self.study.comparison, value)

    def __repr__(self) -> str:
        dates = ", ".join(d.isoformat() for d in self.study.coverages)
        layers = ", ".join(f"{a:g}" for a in self.request.layers_m)
        return (f"<CoverageResult {self.scenario.name!r} on {dates}: layers {layers} m "
                f"{self.request.altitude_reference.upper()}, RCS {', '.join(self.request.rcs_classes)}, "
                f"{self.request.resolution_km:g} km grid, {len(self.study.comparison)} region rows>")

    def _repr_html_(self) -> str:
        header, body = self.pivot("engageable_pct")
        numeric = [i for i, h in enumerate(header) if h[:1].isdigit()]
        return html_table(header, body, caption=f"{self.scenario.name}: % of region area engageable",
                          numeric=numeric)


def coverage(scenario: ScenarioLike = None, *, as_of: DateLike | Sequence[DateLike] | None = None,
             altitudes_m: Sequence[float] = (100.0, 1000.0, 10000.0), altitude_reference: str = "agl",
             rcs: str | Sequence[str] = "fighter", resolution_km: float = 10.0, dem: str | None = "default",
             allow_outside_data: bool = False,
             progress: Callable[[str, int, int], None] | None = None) -> CoverageResult:
    """Where the system detects and can engage (``iadsim coverage`` without writing files).

    Args:
        scenario: a loaded scenario, a file, a bundled id, or None for the default.
        as_of: one date or a list of them (``datetime.date``, ISO string or year), each once;
            default: the scenario's.
        altitudes_m: altitude layers in metres, a list: each finite, in [-500, 100,000] m, once.
        altitude_reference: ``agl`` (above ground) or ``msl``.
        rcs: RCS class(es) of the scenario's catalog.
        resolution_km: grid cell size.
        dem: ``default`` (bundled ETOPO5), None for a smooth earth, or a GeoTIFF path.
        allow_outside_data: accept dates outside the scenario's data period.
        progress: called with (phase, done, total).
    """
    sc = _scenario(scenario)
    layers = check_altitudes(altitudes_m)
    if isinstance(resolution_km, bool) or not isinstance(resolution_km, numbers.Real):
        raise OptionError(f"resolution_km takes a number of kilometres, got {resolution_km!r}")
    resolution = parse_number("resolution_km", resolution_km, 0, MAX_RESOLUTION_KM, low_open=True, unit="km")
    if as_of is None:
        dates_in: list[Any] = [sc.as_of]
    elif isinstance(as_of, Iterable) and not isinstance(as_of, str | bytes | dt.date):
        dates_in = list(as_of)  # a list, a tuple, an array or a pandas date range
        if not dates_in:
            raise OptionError("as_of: give at least one date (or None for the scenario's)")
    else:
        dates_in = [as_of]
    dates = tuple(as_date(d) for d in dates_in)
    twice = next((d for i, d in enumerate(dates) if d in dates[:i]), None)
    if twice is not None:
        raise OptionError(f"as_of gives {twice.isoformat()} twice")
    for day in dates:
        check_data_period(sc, day, allow_outside_data=allow_outside_data)
    if altitude_reference not in ("agl", "msl"):
        raise ValueError(f"altitude_reference must be agl or msl, got {altitude_reference!r}")
    request = CoverageRequest(dates=dates, layers_m=layers,
                              altitude_reference=altitude_reference,
                              rcs_classes=(rcs,) if isinstance(rcs, str) else tuple(rcs),
                              resolution_km=resolution, dem=dem, maps=False)
    return CoverageResult(sc, request, run_coverage_study(sc, request, progress))


# --- comparisons -----------------------------------------------------------------------------------


@dataclass
class ComparisonResult:
    """Command arrangements compared over replications with common random numbers.

    Attributes:
        comparison: the outcomes, runs and per-metric summary (``iadsim.runs.compare.Comparison``).
    """

    comparison: Comparison = field(repr=False)

    @property
    def findings(self) -> list[str]:
        """What each arrangement changed against the baseline, in sentences with paired CIs."""
        return comparison_findings(self.comparison)

    def to_pandas(self, table: str = "summary") -> Any:
        """``summary`` (one row per arrangement and metric: mean, CI, paired difference), ``outcomes``
        (every replication's and arrangement's outcome per object) or ``runs``. Needs the
        ``analysis`` extra."""
        if table == "summary":
            return to_pandas(self.comparison.summary_records())
        if table in ("outcomes", "runs"):
            return to_pandas(getattr(self.comparison, table))
        raise ValueError(f"table must be summary, outcomes or runs, got {table!r}")

    def write_report(self, folder: Path | str) -> Path:
        """Write the comparison's report and tables into ``folder`` (as ``iadsim compare``); its path."""
        return write_compare_report(self.comparison, Path(folder)).report

    def __repr__(self) -> str:
        c = self.comparison
        return (f"<ComparisonResult {c.scenario.name!r} on {c.as_of.isoformat()}: "
                f"{', '.join(c.arrangements)} over {c.replications} replications; baseline {c.baseline}>")

    def _repr_html_(self) -> str:
        rows = []
        for m in self.comparison.summary:
            if not m.available or not math.isfinite(m.mean):
                continue
            rows.append([m.arrangement, m.metric, f"{m.mean:.3g}",
                         f"{m.half_width:.2g}" if math.isfinite(m.half_width) else "—",
                         f"{m.diff_mean:+.3g}" if math.isfinite(m.diff_mean) else ""])
        items = "".join(f"<li>{t}</li>" for t in self.findings)
        return (f"<ul>{items}</ul>" + html_table(
            ["arrangement", "metric", "mean", "± 95 % CI", f"vs {self.comparison.baseline}"], rows,
            numeric=[2, 3, 4]))


def compare(scenario: ScenarioLike = None,
            arrangements: Sequence[str] | str = ("national", "exchange", "joint", "wartime"),
            replications: int = 10, *, jobs: int | None = None, as_of: DateLike | None = None,
            allow_outside_data: bool = False,
            progress: Callable[[int, int], None] | None = None) -> ComparisonResult:
    """Compare command arrangements over replications (``iadsim compare`` without writing files;
    ``write_report`` writes them).

    Args:
        scenario: a loaded scenario, a file, a bundled id, or None for the default.
        arrangements: names, in report order (a list or ``"national,joint"``); the first is the baseline.
        replications: replications 0 … N−1.
        jobs: worker processes (None: the CPU count; 1: in this process). Results do not depend on it.
        as_of: the date (``datetime.date``, ISO string or year); default: the scenario's.
        allow_outside_data: accept a date outside the scenario's data period.
        progress: called with (replications done, replications in all).

    Raises:
        ScenarioErrors: what the comparison would refuse, located.
    """
    from iadsim.analysis.statistics import parse_arrangements

    sc = _scenario(scenario)
    names = parse_arrangements(arrangements)
    day = as_date(as_of) if as_of is not None else None
    check_data_period(sc, day or sc.as_of, allow_outside_data=allow_outside_data)
    _refuse_problems(sc, arrangements=names, as_of=day, allow_outside_data=True)
    return ComparisonResult(compare_arrangements(sc, names, replications, jobs, progress, as_of=day))
