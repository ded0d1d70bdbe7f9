"""The ``iadsim`` command: a thin layer over the public API.

User errors print one clear message per problem and exit with code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from iadsim.io.paths import (
    OutputPathError,
    check_output_file,
    check_output_folder,
    replace_atomically,
    temp_path,
)
from iadsim.options import OptionError, parse_altitudes, parse_area, parse_number
from iadsim.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioErrors,
    bundled_scenarios,
    load_scenario,
)
from iadsim.version import __version__

app = typer.Typer(
    name="iadsim",
    help="Simulate and analyse integrated air-defence systems from public data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# A pipe or file gets a wide table rather than Rich's 80-column fallback.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)

USER_ERROR = 2

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A problem with what the user asked for, reported as one message with exit code 2."""


def _user_errors(func: F) -> F:
    """Turn ScenarioErrors and UserError into messages on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScenarioErrors as exc:
            typer.echo(exc.render(), err=True)
            raise typer.Exit(USER_ERROR) from None
        except (UserError, OptionError, OutputPathError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 4 and text.isdigit():
            return dt.date(int(text), 12, 31)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date; write YYYY-MM-DD (e.g. 2020-12-31) or a year (= 31 December)"
        ) from None


ScenarioArg = Annotated[
    str | None,
    typer.Argument(help=f"A scenario file or bundled scenario id (default: {DEFAULT_SCENARIO}).",
                   show_default=False),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Date YYYY-MM-DD, or a year for 31 December of it "
                 "(default: the scenario's as_of).", show_default=False),
]


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (phase, done, total) drawing one bar per phase on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        yield progress


class ProgressFormat(enum.StrEnum):
    """How ``iadsim run`` reports progress."""

    bar = "bar"
    json = "json"


@contextmanager
def _progress_lines() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback printing one JSON line per percent of each phase on stdout."""
    last: dict[str, int] = {}

    def progress(phase: str, done: int, total: int) -> None:
        percent = 100 * done // total if total > 0 else 0
        if last.get(phase) == percent and done != total:
            return
        last[phase] = percent
        typer.echo(json.dumps({"phase": phase, "done": done, "total": total}))
        sys.stdout.flush()

    yield progress


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iadsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Simulate and analyse integrated air-defence systems from public data."""


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
) -> None:
    """Check scenario files and report every error at once (file, line, field, given, allowed): the
    schema and references, then everything a run checks before it simulates (traffic, command and
    control of the scenario's arrangement, engagement settings)."""
    from iadsim.pipeline.checks import check_scenario

    failed = 0
    for path in files:
        try:  # read once: the schema and references, then what a run refuses before simulating
            errors = check_scenario(load_scenario(path))
        except ScenarioErrors as exc:
            errors = exc.errors
        if errors:
            failed += 1
            n = len(errors)
            typer.echo(f"{path}: {n} error{'s' if n != 1 else ''}", err=True)
            for e in errors:
                typer.echo("  " + e.render().replace("\n", "\n  "), err=True)
        else:
            typer.echo(f"{path}: valid")
    if failed:
        raise typer.Exit(USER_ERROR)


class OobFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    geojson = "geojson"


def _load(scenario: str | None) -> Scenario:
    return load_scenario(scenario)


def _check(scenario: Scenario, arrangements: Sequence[str] | None = None, as_of: dt.date | None = None,
           ) -> None:
    """Refuse a scenario that the run would refuse later: every problem at once, located."""
    from iadsim.pipeline.checks import check_scenario

    problems = check_scenario(scenario, arrangements=arrangements, as_of=as_of)
    if problems:
        raise ScenarioErrors(problems)


def _check_sweep(plan: Any) -> None:
    """Refuse a sweep with a case that a run would refuse (``_check`` for every case; a case whose
    arrangement is not in service at its date is left to the sweep, which records it as
    unavailable). A problem at a path the spec sets points at the spec's line and names the value."""
    from iadsim.pipeline.checks import check_scenario, locate_problems
    from iadsim.scenario import attach_locations, locate, scenario_locations
    from iadsim.scenario.errors import ScenarioError
    from iadsim.scenario.yamlio import read_yaml_file

    base_where = scenario_locations(plan.base)
    spec_doc = read_yaml_file(plan.spec.source)[0] if plan.spec.source is not None else None
    spec_where = spec_doc.locations if spec_doc is not None else {}
    groups: dict[str, list[Any]] = {}  # cases that differ only in arrangement are checked together
    for case in plan.cases:
        dumped = plan.scenarios[case.case_id].model_dump(mode="json", by_alias=True, exclude={"arrangement"})
        groups.setdefault(json.dumps(dumped, sort_keys=True, default=str), []).append(case)
    problems: list[ScenarioError] = []
    for cases in groups.values():
        first = cases[0]
        scenario = plan.scenarios[first.case_id]
        overrides = {**plan.spec.base, **first.overrides}
        overrides.pop("arrangement", None)
        set_paths = {tuple(int(p) if p.isdigit() else p for p in k.split(".")): k for k in overrides}
        where = {p: loc for p, loc in base_where.items()
                 if not any(p[:len(s)] == s for s in set_paths)}
        for path, dotted in set_paths.items():
            keys = [k for k in spec_where if k and k[-1] == dotted]
            loc = spec_where[keys[0]] if keys else locate(spec_where, ())
            if loc is not None:
                where[path] = loc
        attach_locations(scenario, where)
        names = [str(plan.scenarios[c.case_id].arrangement.value) for c in cases]
        for problem in check_scenario(scenario, arrangements=names, unavailable_ok=True):
            dotted = next((d for p, d in set_paths.items() if problem.path[:len(p)] == p), None)
            if dotted is not None:
                problem = ScenarioError(f"{problem.message} (the sweep sets {dotted} = "
                                        f"{overrides[dotted]!r})", problem.path, problem.location,
                                        problem.given, problem.has_given, problem.allowed)
            problems.append(problem)
    if problems:
        raise ScenarioErrors(locate_problems(problems, {}))


@app.command()
@_user_errors
def oob(
    scenario: ScenarioArg = None,
    as_of: AsOfOpt = None,
    nation: Annotated[str | None, typer.Option(help="Only this nation (e.g. BLR, RUS).")] = None,
    fmt: Annotated[OobFormat, typer.Option("--format", help="Output format.")] = OobFormat.table,
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of "
                                                "the terminal.")] = None,
) -> None:
    """The order of battle at a date: units, places, equipment and launcher counts."""
    from iadsim.io import oob_to_csv, oob_to_geojson, oob_to_json
    from iadsim.oob import order_of_battle

    if output is not None:
        check_output_file(output)
    sc = _load(scenario)
    day = _parse_date(as_of)
    if nation is not None and nation not in sc.nations:
        raise UserError(f"unknown nation '{nation}'; the scenario has: {', '.join(sc.nations)}")
    result = order_of_battle(sc, day, nation)
    if fmt is OobFormat.table:
        if output is not None:
            raise UserError("--out needs --format csv, json or geojson")
        _print_oob_table(result)
        return
    text = {OobFormat.csv: oob_to_csv, OobFormat.json: oob_to_json,
            OobFormat.geojson: oob_to_geojson}[fmt](result)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(output)
        tmp.write_text(text, encoding="utf-8")
        typer.echo(str(replace_atomically(tmp, output)))


def _print_oob_table(result: Any) -> None:
    table = Table(title=f"{result.scenario.name} — order of battle on {result.as_of.isoformat()}",
                  show_lines=False)
    table.add_column("unit", overflow="fold", ratio=3)
    table.add_column("nation", no_wrap=True)
    table.add_column("location", no_wrap=True)
    table.add_column("equipment (incl. subunits)", overflow="fold", ratio=2)
    table.add_column("in service since", no_wrap=True)
    for e in result:
        equipment = ", ".join(f"{n} × {result.type_name(t)}" for t, n in e.totals.items())
        since = e.in_service_from.isoformat() if e.in_service_from else "…"
        style = "bold" if e.depth == 0 else None
        table.add_row("  " * e.depth + e.name, e.nation, e.place_name or "not public", equipment,
                      since, style=style)
    out.print(table)
    for nation in result.nations:
        totals = ", ".join(f"{n} × {result.type_name(t)}"
                           for t, n in result.totals_by_type(nation).items())
        typer.echo(f"{result.scenario.nations[nation].name}: {totals or 'no equipment listed'}")


@app.command()
def scenarios() -> None:
    """The bundled scenarios, one line each."""
    for s in bundled_scenarios():
        first = s.description.splitlines()[0] if s.description else ""
        mark = " (default)" if s.id == DEFAULT_SCENARIO else ""
        typer.echo(f"{s.id}{mark}: {s.name} — {first}")


@app.command("map")
@_user_errors
def map_(
    scenario: ScenarioArg = None,
    as_of: AsOfOpt = None,
    output: Annotated[Path | None, typer.Option("--out", help="PNG file to write "
                                                "(default: out/map-<scenario>-<date>.png).")] = None,
) -> None:
    """A PNG map of borders and units by kind and nation."""
    from iadsim.oob import order_of_battle
    from iadsim.report.figures import oob_map_figure, save_figure
    from iadsim.runs import run_folder_name

    sc = _load(scenario)
    day = _parse_date(as_of) or sc.as_of
    path = output or Path("out") / f"map-{run_folder_name(sc, day)}.png"
    if path.suffix.lower() != ".png":
        raise UserError(f"--out must end in .png, got '{path}'")
    check_output_file(path)
    save_figure(oob_map_figure(order_of_battle(sc, day)), path)
    typer.echo(str(path))


@app.command()
@_user_errors
def run(
    scenario: ScenarioArg = None,
    as_of: AsOfOpt = None,
    output: Annotated[Path, typer.Option("--out", help="Folder for run folders.")] = Path("out"),
    no_sim: Annotated[bool, typer.Option("--no-sim", help="Skip the simulation.")] = False,
    no_coverage: Annotated[bool, typer.Option("--no-coverage", help="Skip coverage.")] = False,
    arrangement: Annotated[str | None, typer.Option(
        "--arrangement", help="Command arrangement: national, exchange, joint or wartime "
        "(default: the scenario's).", show_default=False)] = None,
    progress_format: Annotated[ProgressFormat, typer.Option(
        "--progress-format", help="Progress as bars on stderr, or as JSON lines on stdout "
        "({\"phase\", \"done\", \"total\"}) for programs; the report path is always the last line.")]
    = ProgressFormat.bar,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing run folder of the same name (atomically) instead of "
        "writing a fresh one (NAME-2, NAME-3, ...).")] = False,
) -> None:
    """The main job: validate, compile, simulate, write a new run folder and its report; prints the
    report's path (in the folder it chose)."""
    from iadsim.runs import RUN_COVERAGE, run_scenario
    from iadsim.scenario.schema import Arrangement
    from iadsim.sim.traffic import TrafficError

    check_output_folder(output)
    sc = _load(scenario)
    chosen = None
    if arrangement is not None:
        allowed = [a.value for a in Arrangement]
        if arrangement not in allowed:
            raise UserError(f"--arrangement {arrangement!r}: not an arrangement (allowed: "
                            f"{', '.join(allowed)})")
        chosen = Arrangement(arrangement)
    day = _parse_date(as_of)
    if not no_sim:
        _check(sc if chosen is None else sc.with_changes(arrangement=chosen), as_of=day)
    reporter = _progress_bars() if progress_format is ProgressFormat.bar else _progress_lines()
    with reporter as progress:
        try:
            folder = run_scenario(sc, output, as_of=day, arrangement=chosen,
                                  coverage=None if no_coverage else RUN_COVERAGE, simulate=not no_sim,
                                  force=force, progress=progress)
        except TrafficError as exc:
            raise UserError(str(exc)) from None
    typer.echo(str(_render(folder)))


def _render(folder: Path) -> Path:
    """Render a run folder's report; a folder that is not a finished run is a user error."""
    from iadsim.io.run_folder import RunFolderError
    from iadsim.report import render_run_report

    try:
        return render_run_report(folder).report
    except RunFolderError as exc:
        raise UserError(str(exc)) from None


@app.command()
@_user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (written by iadsim run).",
                                            show_default=False)],
) -> None:
    """Render a run folder's report.html and figures again, without simulating; prints its path."""
    typer.echo(str(_render(run_dir)))


@app.command()
@_user_errors
def coverage(
    scenario: ScenarioArg = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="One or more dates, comma-separated: YYYY-MM-DD or a year (= 31 December), "
        "e.g. 2009,2012,2016,2020 (default: the scenario's as_of).", show_default=False)] = None,
    alt: Annotated[str, typer.Option("--alt", help="Altitude layers in metres, comma-separated.")
                   ] = "30,100,300,1000,3000,10000",
    alt_ref: Annotated[str, typer.Option("--alt-ref", help="Altitudes above ground (agl) or sea "
                                         "level (msl).")] = "agl",
    rcs: Annotated[str, typer.Option("--rcs", help="Target RCS classes of the scenario's catalog, "
                                     "comma-separated (e.g. fighter,cruise_missile).")] = "fighter",
    resolution_km: Annotated[float, typer.Option("--resolution-km", help="Grid cell size.")] = 10.0,
    dem: Annotated[str, typer.Option("--dem", help="A GeoTIFF DEM (any CRS), 'default' for the "
                                     "bundled ETOPO5, or 'none' for a smooth earth.")] = "default",
    k: Annotated[float, typer.Option("--k", help="Effective earth radius factor (refraction).")
                 ] = 4.0 / 3.0,
    pd_threshold: Annotated[float, typer.Option("--pd", help="Pd at which a cell counts as "
                                                "detected.")] = 0.5,
    region: Annotated[list[Path] | None, typer.Option("--region", help="Extra region polygons "
                                                      "(GeoJSON, lon/lat); repeatable.")] = None,
    area: Annotated[str, typer.Option("--area", help="lon_min,lon_max,lat_min,lat_max of the grid.")
                    ] = "14,40,45,62",
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the PNG maps.")] = False,
    output: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/coverage"),
) -> None:
    """Where the system detects and can engage, by altitude, RCS and date; maps, grids, tables."""
    from iadsim.coverage import CoverageError, GridTooLarge
    from iadsim.coverage.metrics import RegionError, load_region_file
    from iadsim.coverage.study import (
        CoverageRequest,
        dates_from,
        pivot,
        run_coverage_study,
    )
    from iadsim.geo.terrain import TerrainError
    from iadsim.io.coverage import write_coverage_study

    # every option is checked before the scenario is read or anything computed
    layers = parse_altitudes(alt)
    bounds = parse_area(area)
    parse_number("--resolution-km", resolution_km, 0, 1000, low_open=True, unit="km")
    parse_number("--k", k, 0.1, 100, unit="(effective earth radius factor)")
    parse_number("--pd", pd_threshold, 0, 1, low_open=True)
    if alt_ref not in ("agl", "msl"):
        raise UserError(f"--alt-ref must be agl or msl, got '{alt_ref}'")
    check_output_folder(output)
    sc = _load(scenario)
    try:
        dates = dates_from(as_of, sc.as_of)
        extra = tuple(r for path in (region or []) for r in load_region_file(path))
    except (ValueError, RegionError) as exc:
        raise UserError(str(exc)) from None
    request = CoverageRequest(
        dates=dates, layers_m=layers, altitude_reference=alt_ref,
        rcs_classes=tuple(x.strip() for x in rcs.split(",") if x.strip()),
        resolution_km=resolution_km, area=(bounds[0], bounds[1], bounds[2], bounds[3]),
        k=k, pd_threshold=pd_threshold, dem=dem, extra_regions=extra, maps=not no_maps)
    with _progress_bars() as progress:
        try:
            study = write_coverage_study(run_coverage_study(sc, request, progress), sc, request, output)
        except (CoverageError, GridTooLarge, TerrainError) as exc:
            raise UserError(str(exc)) from None
    header, body = pivot(study.comparison, "engageable_pct")
    table = Table(title="% of region area engageable (joint system)")
    for col in header:
        table.add_column(col, justify="right" if col[:1].isdigit() else "left")
    for row in body:
        table.add_row(*(str(c) for c in row))
    out.print(table)
    typer.echo(str(output / "regions_by_date.csv"))


@app.command()
@_user_errors
def track(
    detections: Annotated[Path, typer.Argument(help="DETECTIONS table: Parquet, or CSV by "
                                               "extension (docs/tracking-io.md).")],
    output: Annotated[Path, typer.Option("--out", help="TRACKS file to write: Parquet, or CSV by "
                                         "extension.")],
    origin: Annotated[str | None, typer.Option(
        "--origin", help="lat,lon of the local frame (default: the sensors' centroid).")] = None,
    motion_model: Annotated[str, typer.Option(
        "--motion-model", help="cv (constant velocity) or imm (constant velocity + coordinated "
        "turn, for manoeuvring targets; docs/models/tracking.md).")] = "cv",
) -> None:
    """Track radar detections with the batched tracker; writes one row per track per scan."""
    from iadsim.tracking import (
        TrackerConfig,
        TrackingInputError,
        read_detections,
        track_detections,
        write_tracks,
    )

    if motion_model not in ("cv", "imm"):
        raise UserError(f"--motion-model must be cv or imm, got '{motion_model}'")
    frame = None
    if origin is not None:
        parts = origin.split(",")
        if len(parts) != 2:
            raise UserError(f"--origin needs lat,lon in degrees, got '{origin}'")
        frame = (parse_number("--origin latitude", parts[0], -90, 90, unit="degrees"),
                 parse_number("--origin longitude", parts[1], -180, 180, unit="degrees"))
    if detections.is_dir():
        raise UserError(f"{detections} is a folder; give a DETECTIONS file (Parquet or CSV)")
    check_output_file(output, inputs=[detections])
    try:
        config = TrackerConfig(motion_model="imm" if motion_model == "imm" else "cv")
        tracks = track_detections(read_detections(detections), config, origin=frame)
    except TrackingInputError as exc:
        raise UserError(f"{detections}: {exc}") from None
    write_tracks(tracks, output)
    confirmed = len(set(tracks.filter(tracks["confirmed"])["track_id"].to_pylist())) if tracks.num_rows else 0
    typer.echo(f"{output} ({confirmed} confirmed tracks, {tracks.num_rows} rows)")


@contextmanager
def _replication_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (done, total) drawing one bar on stderr: tasks done, rate, time left."""
    from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed * 60:.1f}/min" if speed else "–/min", style="progress.data.speed")

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), RateColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


@app.command()
@_user_errors
def compare(
    scenario: ScenarioArg = None,
    arrangements: Annotated[str, typer.Option(
        "--arrangements", help="Command arrangements to compare, comma-separated; the first is the "
        "baseline of the paired differences.")] = "national,exchange,joint,wartime",
    replications: Annotated[int, typer.Option("--replications", help="Replications; each runs the "
                                              "sensing pass once for all arrangements.")] = 10,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Worker processes (default: the CPU count; "
                                             "1: no workers). Results do not depend on it.",
                                             show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Output folder (default: "
                                                "out/compare-<scenario>).", show_default=False)] = None,
    as_of: AsOfOpt = None,
) -> None:
    """Compare command arrangements over replications with common random numbers; prints the report's
    path."""
    from iadsim.analysis.statistics import parse_arrangements
    from iadsim.report.compare import write_compare_report
    from iadsim.runs.compare import compare_arrangements
    from iadsim.scenario import resolve_scenario_path
    from iadsim.sim.traffic import TrafficError

    try:
        names = parse_arrangements(arrangements)
    except ValueError as exc:
        raise UserError(f"--arrangements: {exc}") from None
    if replications < 1:
        raise UserError(f"--replications must be at least 1, got {replications}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    day = _parse_date(as_of)
    folder = check_output_folder(output or Path("out") / f"compare-{resolve_scenario_path(scenario).stem}")
    sc = _load(scenario)
    _check(sc, names, day)
    with _replication_bar("replications") as progress:
        try:
            comparison = compare_arrangements(sc, names, replications, jobs, progress, as_of=day)
        except TrafficError as exc:
            raise UserError(str(exc)) from None
    for name, note in comparison.unavailable.items():
        typer.echo(f"note: '{name}' is {note}", err=True)
    typer.echo(str(write_compare_report(comparison, folder).report))


def _sweep_spec_path(spec: str) -> Path:
    """A SPEC file from a path or the id of a bundled spec (``sweep-violation``)."""
    path = Path(spec)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in spec:
        return path
    from importlib import resources

    bundled = Path(str(resources.files("iadsim").joinpath("scenario", "bundled", "sweeps")))
    found = bundled / f"{spec}.yaml"
    if found.exists():
        return found
    names = sorted(p.stem for p in bundled.glob("*.yaml"))
    raise UserError(f"'{spec}' is neither a file nor a bundled sweep spec (bundled: {', '.join(names)})")


@app.command()
@_user_errors
def sweep(
    spec: Annotated[str, typer.Argument(help="A sweep SPEC file (docs/sweeps.md) or a bundled spec id "
                                        "(sweep-violation).")],
    output: Annotated[Path | None, typer.Option("--out", help="Output folder (default: "
                                                "out/sweep-<spec>); rerun with the same folder to "
                                                "resume.", show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Local worker processes (default: the CPU "
                                             "count; 1: no workers).", show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Run on this Dask distributed "
                                                  "scheduler (e.g. tcp://host:8786).",
                                                  show_default=False)] = None,
    local_cluster: Annotated[int | None, typer.Option("--local-cluster", help="Run on a Dask LocalCluster "
                                                      "of N single-threaded workers.",
                                                      show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Run a sweep of more than 10 000 tasks.")] = False,
) -> None:
    """Run a parameter sweep (cases × replications) into a partitioned Parquet dataset; prints the
    folder."""
    from iadsim.runs.sweep import SweepError, load_spec, open_backend, plan_sweep, run_sweep
    from iadsim.sim.traffic import TrafficError

    if scheduler is not None and local_cluster is not None:
        raise UserError("--scheduler and --local-cluster exclude each other")
    if jobs is not None and (scheduler is not None or local_cluster is not None):
        raise UserError("--jobs sets local worker processes; it does not go with --scheduler or "
                        "--local-cluster")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if local_cluster is not None and local_cluster < 1:
        raise UserError(f"--local-cluster must be at least 1, got {local_cluster}")
    path = _sweep_spec_path(spec)
    folder = check_output_folder(output or Path("out") / f"sweep-{path.stem}")
    try:
        plan = plan_sweep(load_spec(path), confirm=yes)
        _check_sweep(plan)
        with open_backend(jobs, scheduler, local_cluster) as backend, _replication_bar("tasks") as progress:
            result = run_sweep(plan, folder, backend, progress)
    except SweepError as exc:
        raise UserError("\n".join(exc.problems)) from None
    except TrafficError as exc:
        raise UserError(str(exc)) from None
    cases = {c for c, _ in result.unavailable}
    if cases:
        typer.echo(f"note: {len(result.unavailable)} tasks of {len(cases)} cases are unavailable "
                   f"(see {folder / 'manifest.json'}), e.g. {next(iter(result.unavailable.values()))}",
                   err=True)
    typer.echo(f"{result.tasks - result.ran} tasks were already done, {result.ran} ran", err=True)
    typer.echo(str(folder))


@app.command("sweep-report")
@_user_errors
def sweep_report(
    folder: Annotated[Path, typer.Argument(help="A folder written by iadsim sweep.")],
    metric: Annotated[str | None, typer.Option("--metric", help="The metric of the figure (default: the "
                                               "spec's report.metric, else time_to_identification_s).",
                                               show_default=False)] = None,
    x: Annotated[str | None, typer.Option("--x", help="The swept parameter on the figure's x axis "
                                          "(default: the spec's report.x, else the first one that is "
                                          "not arrangement).", show_default=False)] = None,
) -> None:
    """Aggregate a sweep per case with 95 % CIs into summary.csv and a self-contained report.html;
    prints the report's path."""
    from iadsim.report.sweep import write_sweep_report
    from iadsim.runs.sweep import SweepError

    try:
        report = write_sweep_report(folder, metric=metric, x=x)
    except SweepError as exc:
        raise UserError("\n".join(exc.problems)) from None
    typer.echo(str(report))


@app.command()
@_user_errors
def serve(
    folder: Annotated[Path, typer.Argument(help="Folder of run folders (as written by `iadsim run`).")]
    = Path("out"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on; any address other than "
                                      "loopback requires a token, printed at start.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[str | None, typer.Option(
        "--token", envvar="IADSIM_TOKEN", help="The token API calls must carry (at least 16 characters; "
        "default off loopback: a new random one). Also read from IADSIM_TOKEN.", show_default=False)]
    = None,
    no_jobs: Annotated[bool, typer.Option("--no-jobs", help="Do not let the page start runs.")] = False,
) -> None:
    """Serve the viewer page and its API over a folder of runs (docs/viewer.md, docs/security.md)."""
    import secrets
    import urllib.parse

    import uvicorn

    from iadsim.web import create_app, is_loopback
    from iadsim.web.app import LOOPBACK_HOSTS

    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder of runs")
    if token is not None and (len(token) < 16 or not token.isascii() or not token.isprintable()
                              or " " in token):
        raise UserError("--token: use at least 16 printable ASCII characters without spaces")
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    loopback = is_loopback(host)
    if token is None and not loopback:
        token = secrets.token_urlsafe(32)
        typer.echo(f"every /api call needs 'Authorization: Bearer {token}'; the page takes it from the URL")
        url += f"#token={urllib.parse.quote(token, safe='')}"
    elif token is not None:
        # a token the user chose is theirs to keep: not echoed into terminals and logs
        typer.echo("every /api call needs the token you gave; open the page with #token=<your token>")
        url += "#token=<your token>"
    hosts = [*LOOPBACK_HOSTS, shown_host.lower()] if loopback else None
    typer.echo(f"serving {folder.resolve()}; open {url}")
    # stop within seconds on Ctrl-C or SIGTERM: requests still open after 3 s are dropped (uploads
    # are validated in worker processes, killed at shutdown; a job's child is terminated)
    uvicorn.run(create_app(folder, token, jobs=not no_jobs, allowed_hosts=hosts), host=host, port=port,
                log_level="info", timeout_graceful_shutdown=3)


def main() -> None:
    """Entry point of the ``iadsim`` console script."""
    import os

    parent = os.environ.get("IADSIM_PARENT_PID", "")
    if parent.isdigit():  # started by the viewer's job manager: stop if the server dies
        from iadsim.runs.workers import watch_parent

        watch_parent(int(parent))
    app()


if __name__ == "__main__":
    main()
