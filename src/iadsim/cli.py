"""The ``iadsim`` command: a thin layer over the public API.

User errors print one clear message per problem and exit with code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from iadsim.data import BordersError
from iadsim.io.paths import (
    OutputPathError,
    check_output_file,
    check_output_folder,
    free_path,
    replace_atomically,
    temp_path,
)
from iadsim.options import MAX_RESOLUTION_KM, OptionError, parse_altitudes, parse_area, parse_number
from iadsim.runs.workers import WorkerStartError
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
    add_completion=True,
    pretty_exceptions_enable=False,
    # markdown joins a docstring's wrapped lines into one paragraph (rich mode keeps the breaks)
    rich_markup_mode="markdown",
)


def _example(*commands: str) -> str:
    """A command's help epilog: examples to copy."""
    return "**Example:** " + "  \n".join(f"`{c}`" for c in commands)


def _flag_display_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """A flag's type column in the help: empty, as a flag takes no value (Typer 0.29 prints
    ``<bool>`` there, as if ``--no-sim true`` were needed)."""
    if self.is_flag:
        return None
    return _option_display_type(self, ctx)


_option_display_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_display_type  # type: ignore[method-assign]
# A pipe or file gets a wide table rather than Rich's 80-column fallback.
out = Console(highlight=False, soft_wrap=False,
              width=None if sys.stdout is not None and sys.stdout.isatty() else 160)

USER_ERROR = 2
INTERRUPTED = 130
"""Exit code after Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it)."""

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
        except (UserError, BordersError, OptionError, OutputPathError, WorkerStartError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(USER_ERROR) from None
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (main); sweep and sensitivity say more
            typer.echo("interrupted", err=True)
            raise typer.Exit(INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def _parse_date(value: str | None) -> dt.date | None:
    from iadsim.scenario import as_date

    if value is None:
        return None
    try:
        return as_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--as-of'") from None


def _guard_date(scenario: Scenario, day: dt.date | None, allow_outside_data: bool) -> None:
    """Refuse a date outside the scenario's data period (the period in the message), or warn on
    stderr when the user allowed it."""
    from iadsim.scenario import OutsideDataPeriod, check_data_period

    try:
        warning = check_data_period(scenario, day or scenario.as_of, allow_outside_data=allow_outside_data)
    except OutsideDataPeriod as exc:
        raise UserError(str(exc)) from None
    if warning:
        typer.echo(f"warning: {warning}", err=True)


def _warn_borders(oob: Any) -> None:
    """Warn on stderr when units stand outside the borders iadsim draws."""
    from iadsim.oob import outside_borders_warning

    warning = outside_borders_warning(oob)
    if warning:
        typer.echo(f"warning: {warning}", err=True)


def _complete_scenario(incomplete: str) -> list[str]:
    """Shell completion of a scenario: the bundled ids and the YAML files that start with the text."""
    here = Path(incomplete).parent if "/" in incomplete else Path(".")
    files = sorted(str(p) if "/" in incomplete else p.name for p in here.glob("*.y*ml"))
    return [c for c in [*(s.id for s in bundled_scenarios()), *files] if c.startswith(incomplete)]


ScenarioArg = Annotated[
    str | None,
    typer.Argument(help=f"A scenario file or bundled scenario id (default: {DEFAULT_SCENARIO}).",
                   show_default=False, autocompletion=_complete_scenario),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Date YYYY-MM-DD, or a year for 31 December of it "
                 "(default: the scenario's as_of).", show_default=False),
]
AllowOutsideOpt = Annotated[
    bool,
    typer.Option("--allow-outside-data", help="Accept a date outside the period the scenario's data "
                 "describe (the reference data: 1996–2021); results then show the data's state, and "
                 "the report says so."),
]


def mean_rate_per_min(done: float, elapsed_s: float) -> float | None:
    """Items finished per minute since the start; None before the first one."""
    return done / elapsed_s * 60 if elapsed_s > 0 and done > 0 else None


def time_left_s(done: float, total: float | None, elapsed_s: float) -> float | None:
    """Time left at the mean time per finished item so far; None before the first one. With items of
    similar duration it converges on the truth as items finish."""
    if total is None or done <= 0:
        return None
    return max(total - done, 0.0) * elapsed_s / done


class RateColumn(ProgressColumn):
    """Items per minute, from the mean since the start."""

    def render(self, task: Task) -> Text:
        rate = mean_rate_per_min(task.completed, task.elapsed or 0.0)
        return Text(f"{rate:.1f}/min" if rate else "–/min", style="progress.data.speed")


class LeftColumn(ProgressColumn):
    """Time left, from the mean time per item since the start."""

    def render(self, task: Task) -> Text:
        left = time_left_s(task.completed, task.total, task.elapsed or 0.0)
        if left is None:
            return Text("estimating", style="progress.remaining")
        return Text(f"{int(left) // 60}:{int(left) % 60:02d} left", style="progress.remaining")


NOT_A_TERMINAL = ("progress: stderr is not a terminal, so no progress bar is drawn; the result follows "
                  "when done")
"""Said once, instead of a bar, when stderr is a pipe or a file."""


@contextmanager
def _progress_display() -> Iterator[Any]:
    """A Rich Progress on stderr counting finished items, with the rate and the time left from the
    mean time per item since the start (it converges as items finish; Rich's own estimate uses the
    last 30 s only and jumps when items take minutes); None, said once, when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        typer.echo(NOT_A_TERMINAL, err=True)
        yield None
        return

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f}"), RateColumn(), TimeElapsedColumn(),
                  LeftColumn(), console=console, transient=True) as bar:
        yield bar


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (phase, done, total) drawing one bar per phase on stderr."""
    with _progress_display() as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if bar is None:
                return
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

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


@app.command(epilog=_example("iadsim validate my-scenario.yaml"))
@_user_errors
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """Check scenario files and report every error at once (file, line, field, given, allowed): the
    schema and references, then everything a run checks before it simulates (traffic, command and
    control of the scenario's arrangement, engagement settings)."""
    from iadsim.pipeline.checks import check_and_estimate

    failed = 0
    for path in files:
        estimate = None
        try:  # read once: the schema and references, then what a run refuses before simulating
            errors, estimate = check_and_estimate(load_scenario(path), allow_outside_data=allow_outside_data)
        except ScenarioErrors as exc:
            errors = exc.errors
        if estimate is not None:  # the work of a run, before anyone starts a long one
            _say_estimate(estimate, str(path))
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


def _file_format(output: Path | None, fmt: Any, table: Any) -> Any:
    """The format of a command that writes ``--format`` to ``--out``: taken from the file's ending
    when only ``--out`` is given; a UserError when the two disagree (CSV in a .json file)."""
    if output is None:
        return fmt
    ending = output.suffix.lower().lstrip(".")
    known = {f.value: f for f in type(fmt) if f is not table}
    if fmt is table:
        if ending not in known:
            raise UserError(f"--out {output}: give --format ({', '.join(known)}) or a file name ending "
                            f"in one of them")
        return known[ending]
    if ending != fmt.value:
        raise UserError(f"--out {output} does not end in .{fmt.value}, the --format asked for")
    return fmt


def _check_scenario_output(output: Path, scenario: Scenario, force: bool) -> None:
    """``check_output_file`` with every file the scenario was read from as an input: an output never
    replaces the scenario or a file it includes, even with --force."""
    from iadsim.scenario import scenario_locations

    files = sorted({loc.file for loc in scenario_locations(scenario).values()})
    check_output_file(output, inputs=[f for f in files if Path(f).is_file()], force=force)


def _check(scenario: Scenario, arrangements: Sequence[str] | None = None, as_of: dt.date | None = None,
           allow_outside_data: bool = False, estimate: bool = False) -> None:
    """Refuse a scenario that the run would refuse later: every problem at once, located; with
    ``estimate``, say the run's work and estimated time first (on stderr)."""
    from iadsim.pipeline.checks import check_and_estimate

    problems, work = check_and_estimate(scenario, arrangements=arrangements, as_of=as_of,
                                        allow_outside_data=allow_outside_data)
    if problems:
        raise ScenarioErrors(problems)
    if estimate and work is not None:
        _say_estimate(work)


def _say_estimate(estimate: Any, prefix: str | None = None) -> None:
    """The run's work and estimated time (``iadsim.pipeline.estimate.RunEstimate``) on stderr,
    and a warning for a long run."""
    typer.echo((f"{prefix}: " if prefix else "") + estimate.describe(), err=True)
    warning = estimate.warning()
    if warning:
        typer.echo(warning, err=True)


def _check_sweep(plan: Any, allow_outside_data: bool = False) -> None:
    """Refuse a sweep with a case that a run would refuse (``_check`` for every case; a case whose
    arrangement is not in service at its date is left to the sweep, which records it as
    unavailable). A problem at a path the spec sets points at the spec's line and names the value."""
    from iadsim.pipeline.checks import check_scenario, locate_problems
    from iadsim.scenario import attach_locations, locate, scenario_locations
    from iadsim.scenario.errors import ScenarioError

    base_where = scenario_locations(plan.base)
    spec_where = plan.spec.locations
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
        for problem in check_scenario(scenario, arrangements=names, unavailable_ok=True,
                                      allow_outside_data=allow_outside_data):
            dotted = next((d for p, d in set_paths.items() if problem.path[:len(p)] == p), None)
            if dotted is not None:
                problem = ScenarioError(f"{problem.message} (the sweep sets {dotted} = "
                                        f"{overrides[dotted]!r})", problem.path, problem.location,
                                        problem.given, problem.has_given, problem.allowed)
            problems.append(problem)
    if problems:
        raise ScenarioErrors(locate_problems(problems, {}))


@app.command(epilog=_example("iadsim oob --as-of 2016 --nation BLR",
                             "iadsim oob reference-2012 --format geojson --out oob.geojson"))
@_user_errors
def oob(
    scenario: ScenarioArg = None,
    as_of: AsOfOpt = None,
    nation: Annotated[str | None, typer.Option(help="Only this nation (e.g. BLR, RUS).")] = None,
    fmt: Annotated[OobFormat, typer.Option("--format", help="Output format.")] = OobFormat.table,
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of "
                                                "the terminal (the format from its ending if no "
                                                "--format).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")] = False,
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """The order of battle at a date: units, places, equipment and launcher counts."""
    from iadsim.io import oob_to_csv, oob_to_geojson, oob_to_json
    from iadsim.oob import order_of_battle

    fmt = _file_format(output, fmt, OobFormat.table)
    if output is not None:
        check_output_file(output, force=force)
    sc = _load(scenario)
    if output is not None:
        _check_scenario_output(output, sc, force)
    day = _parse_date(as_of)
    if nation is not None and nation not in sc.nations:
        raise UserError(f"unknown nation '{nation}'; the scenario has: {', '.join(sc.nations)}")
    _guard_date(sc, day, allow_outside_data)
    result = order_of_battle(sc, day, nation, allow_outside_data=True)
    _warn_borders(result)
    if fmt is OobFormat.table:
        _print_oob_table(result)
        return
    text = {OobFormat.csv: oob_to_csv, OobFormat.json: oob_to_json,
            OobFormat.geojson: oob_to_geojson}[fmt](result)
    _emit(text, output)


def _emit(text: str, output: Path | None) -> None:
    """Write an export to stdout, or to ``output`` (its folder made) and print the path."""
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
        if e.planned:  # dates that are plans no delivery report confirms
            equipment += " (of which planned: " + ", ".join(
                f"{n} × {result.type_name(t)}" for t, n in e.planned.items()) + ")"
        since = e.in_service_from.isoformat() if e.in_service_from else "…"
        style = "bold" if e.depth == 0 else None
        table.add_row("  " * e.depth + e.name, e.nation, e.place_name or "not public", equipment,
                      since, style=style)
    out.print(table)
    for nation in result.nations:
        totals = ", ".join(f"{n} × {result.type_name(t)}"
                           for t, n in result.totals_by_type(nation).items())
        typer.echo(f"{result.scenario.nations[nation].name}: {totals or 'no equipment listed'}")


@app.command(epilog=_example("iadsim init baltic-test", "iadsim run baltic-test.yaml"))
@_user_errors
def init(
    name: Annotated[str, typer.Argument(help="The new scenario's name; the file is NAME.yaml (a NAME "
                                        "ending in .yaml is the file itself).", show_default=False)],
    output: Annotated[Path, typer.Option("--out", help="Folder to write the file in.")] = Path("."),
) -> None:
    """Write a starter scenario that includes the reference data and shows how to override a record,
    remove one and add a flight; prints its path. An existing file is never overwritten."""
    import re

    from iadsim.scenario.starter import starter_scenario

    stem, ending = (name[:-5], ".yaml") if name.endswith(".yaml") else (
        (name[:-4], ".yml") if name.endswith(".yml") else (name, ".yaml"))
    # letters of any script (a Belarusian or Russian name is a fine file name), digits, . _ -
    slug = re.sub(r"[^\w.-]+", "-", stem).strip("-.")
    if not slug:
        raise UserError(f"'{name}' gives no file name; use letters, digits, '-' or '_'")
    path = output / f"{slug}{ending}"
    check_output_folder(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as fh:  # "x": fails if the file exists, atomically
            fh.write(starter_scenario(stem, path.name))
    except FileExistsError:
        raise UserError(f"{path} exists; choose another name or remove it first") from None
    except OSError as exc:
        raise UserError(f"--out {output}: cannot write {path.name} there ({exc.strerror})") from None
    typer.echo(str(path))


@app.command(epilog=_example("iadsim scenarios"))
@_user_errors
def scenarios() -> None:
    """The bundled scenarios, one line each."""
    for s in bundled_scenarios():
        first = s.description.splitlines()[0] if s.description else ""
        mark = " (default)" if s.id == DEFAULT_SCENARIO else ""
        typer.echo(f"{s.id}{mark}: {s.name} — {first}")


@app.command("map", epilog=_example("iadsim map reference-2012 --out map-2012.png"))
@_user_errors
def map_(
    scenario: ScenarioArg = None,
    as_of: AsOfOpt = None,
    output: Annotated[Path | None, typer.Option("--out", help="PNG file to write (default: "
                                                "out/map-SCENARIO-DATE.png, or -2, -3 … after it "
                                                "when that exists).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the PNG file if it exists.")] = False,
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """A PNG map of borders and units by kind and nation."""
    from iadsim.oob import order_of_battle
    from iadsim.report.figures import oob_map_figure, save_figure
    from iadsim.runs import run_folder_name

    sc = _load(scenario)
    day = _parse_date(as_of) or sc.as_of
    # the default name: a fresh one beside the earlier maps, as run folders do
    path = output or free_path(Path("out") / f"map-{run_folder_name(sc, day)}.png")
    if path.suffix.lower() != ".png":
        raise UserError(f"--out must end in .png, got '{path}'")
    _check_scenario_output(path, sc, force)
    _guard_date(sc, day, allow_outside_data)
    oob = order_of_battle(sc, day, allow_outside_data=True)
    _warn_borders(oob)
    save_figure(oob_map_figure(oob), path)
    typer.echo(str(path))


@app.command(epilog=_example("iadsim run mixed-raid --out out",
                             "iadsim run --as-of 2016 --arrangement national --no-coverage"))
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
    allow_outside_data: AllowOutsideOpt = False,
    sensitivity: Annotated[bool, typer.Option(
        "--sensitivity", help="Also measure how sure the run's key figures are: each range and "
        "variant one at a time and 16 draws of all together (the report's 'How sure is this "
        "figure?'; the study in RUN/sensitivity/). Needs the sensitivity extra.")] = False,
) -> None:
    """The main job: validate, compile, simulate, write a new run folder and its report; prints the
    report's path (in the folder it chose)."""
    from iadsim.io.run_folder import RunFolderError
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
    _guard_date(sc, day, allow_outside_data)
    if not no_sim:
        _check(sc if chosen is None else sc.with_changes(arrangement=chosen), as_of=day,
               allow_outside_data=True, estimate=True)
    study = None
    if sensitivity:  # checked before the run, which it follows
        run_sc = sc.with_changes(as_of=day or sc.as_of, **({"arrangement": chosen} if chosen else {}))
        study = _run_sensitivity_plan(run_sc, coverage=not no_coverage, simulate=not no_sim)
    reporter = _progress_bars() if progress_format is ProgressFormat.bar else _progress_lines()
    with reporter as progress:
        try:
            # the report is rendered before the folder is published: it appears with its report
            folder = run_scenario(sc, output, as_of=day, arrangement=chosen,
                                  coverage=None if no_coverage else RUN_COVERAGE, simulate=not no_sim,
                                  force=force, progress=progress, allow_outside_data=allow_outside_data,
                                  render=_render)
        except (TrafficError, RunFolderError) as exc:
            raise UserError(str(exc)) from None
        if study is not None:
            study(folder, progress)
            _render(folder)  # again, with the study's "How sure is this figure?"
    typer.echo(str(folder / "report.html"))
    if progress_format is ProgressFormat.bar:
        _print_run_summary(folder)


# Summary tables go to stderr: stdout stays the one path scripts (and the viewer's jobs) read.
err = Console(stderr=True, highlight=False, soft_wrap=False,
              width=None if sys.stderr.isatty() else 160)


def _print_run_summary(folder: Path) -> None:
    """The run's key findings as a short table on stderr, after the report's path."""
    from iadsim.io.run_folder import read_run_folder
    from iadsim.report.findings import run_findings

    rf = read_run_folder(folder)
    findings = run_findings(rf)
    for warning in rf.summary.get("warnings", []):
        err.print(f"warning: {warning}", markup=False)
    if findings.classes:
        entered = any(c.entered for c in findings.classes)
        table = Table(title="Air objects by class", title_justify="left")
        heads = ["class", "flown", "detected"] + (["entered", "detected (entered)"] if entered else [])
        if entered and findings.engagements:
            heads += ["destroyed", "leaked", "missiles"]
        for i, head in enumerate(heads):
            table.add_column(head, justify="right" if i else "left")
        for c in findings.classes:
            cells = [c.label, c.flown, c.detected_any]
            if entered:
                cells += [c.entered, c.detected]
                if findings.engagements:
                    cells += [c.destroyed, c.leaked, c.missiles]
            table.add_row(*(str(v) for v in cells))
        err.print(table)
    if findings.regions:
        from iadsim.report.findings import aspect_words, engageable_shares

        table = Table(title="Neighbouring states: % of area detected / engageable "
                      f"({aspect_words(findings.regions[0].aspects)})", title_justify="left")
        altitudes = sorted({(r.altitude_m, r.altitude_ref) for r in findings.regions})
        table.add_column("region")
        for alt, ref in altitudes:
            table.add_column(f"{alt:,.0f} m {ref.upper()}", justify="right")
        by_region: dict[str, dict[float, Any]] = {}
        for r in findings.regions:
            by_region.setdefault(r.region, {})[r.altitude_m] = r
        for region, at in by_region.items():
            table.add_row(region, *(f"{at[a].detected_pct:.0f} / {engageable_shares(at[a])[:-2]}"
                                    if a in at else "–" for a, _ in altitudes))
        err.print(table)
    if not findings.classes and not findings.regions:
        err.print(findings.sentences[0], markup=False)


RUN_KEY_COVERAGE = ("Lithuania, engageable, 10,000 m", "Latvia, engageable, 10,000 m",
                    "Lithuania, detected, 1,000 m")
"""The coverage figures of ``iadsim run --sensitivity`` (the README's headline)."""
RUN_KEY_OUTCOMES = ("leakers", "missiles", "time to first track")
"""The outcome figures of ``iadsim run --sensitivity`` when the run simulates hostile traffic."""


def _run_sensitivity_plan(sc: Scenario, *, coverage: bool, simulate: bool) -> Callable[..., None]:
    """The study of ``iadsim run --sensitivity``, checked before the run starts: the run's key
    figures, every range and variant one at a time and 16 draws of all together. Returns what runs
    it into RUN/sensitivity/ (``(folder, progress)``)."""
    from iadsim.analysis.sensitivity import SALibMissing
    from iadsim.report.run import SENSITIVITY
    from iadsim.runs.sensitivity import (
        ScenarioEvaluator,
        SensitivityError,
        StudySettings,
        check_study,
        parse_metric,
    )
    from iadsim.runs.sensitivity import run_study as run_sensitivity_study
    from iadsim.runs.sweep import open_backend
    from iadsim.scenario.factors import collect_factors, reachable_factors

    names = list(RUN_KEY_COVERAGE if coverage else ())
    traffic = sc.traffic
    if simulate and (traffic.flights or traffic.raids):
        names += RUN_KEY_OUTCOMES
    if not names:
        raise UserError("--sensitivity needs coverage or a simulation with air traffic to measure")
    factors, notes = reachable_factors(sc, collect_factors(sc))
    settings = StudySettings(oat=True, trajectories=0, sobol_samples=0, interval_samples=16)
    try:
        metrics = tuple(parse_metric(n, sc) for n in names)
        if not factors:
            raise SensitivityError("--sensitivity: the scenario gives no ranges or variants to vary"
                                   + "".join(f"; {n}" for n in notes))
        evaluator = ScenarioEvaluator(sc, metrics)
        problems = check_study(factors, evaluator, settings, notes)
        if problems:
            raise SensitivityError(problems)
    except SensitivityError as exc:
        raise UserError(str(exc)) from None

    def run(folder: Path, progress: Callable[[str, int, int], None]) -> None:
        try:
            with open_backend(None) as backend:
                run_sensitivity_study(factors, evaluator, folder / SENSITIVITY, backend, settings, progress,
                                      notes)
        except (SensitivityError, SALibMissing) as exc:
            raise UserError(str(exc)) from None

    return run


def _render(folder: Path) -> Path:
    """Render a run folder's report; a folder that is not a finished run is a user error."""
    from iadsim.io.run_folder import RunFolderError
    from iadsim.report import render_run_report

    try:
        return render_run_report(folder).report
    except RunFolderError as exc:
        raise UserError(str(exc)) from None


class ExportFormat(enum.StrEnum):
    """The formats of ``iadsim export``."""

    czml = "czml"
    kml = "kml"
    gpkg = "gpkg"
    asterix = "asterix"
    dis = "dis"


FOLDER_FORMATS = (ExportFormat.asterix, ExportFormat.dis)
"""Formats written as a folder of files (raw records, pcap, a table): ``--out`` names the folder."""


def _exporter(fmt: ExportFormat) -> Callable[[Path, Path], Path]:
    """The writer of one export format: (run folder, file) → file. Each format is its own module,
    imported only when asked for (their libraries are the optional ``exports`` extra)."""
    from iadsim.io.export_data import read_export_data

    if fmt is ExportFormat.czml:
        from iadsim.io.export_czml import write_czml as write
    elif fmt is ExportFormat.kml:
        from iadsim.io.export_kml import write_kml as write
    else:
        from iadsim.io.export_gpkg import write_gpkg as write
    return lambda run_dir, path: write(read_export_data(run_dir), path)


@app.command(epilog=_example("iadsim export out/mixed-raid-from-the-west-2020-12-31 --format czml",
                             "iadsim export out/mixed-raid-from-the-west-2020-12-31 --format gpkg "
                             "--out raid.gpkg"))
@_user_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (written by iadsim run).",
                                            show_default=False)],
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", help="czml (Cesium: units, coverage, truth, tracks with time), kml (Google Earth: "
        "time-stamped units, truth, tracks), gpkg (QGIS: GeoPackage layers), asterix (CAT048 detections "
        "and CAT062 node pictures, raw and pcap; docs/asterix.md) or dis (Entity State PDUs of truth "
        "and fighters, raw and pcap; docs/dis.md).", show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--out", help="The file to write (default: RUN_DIR/RUN.FORMAT); for asterix and dis the "
        "folder (default: RUN_DIR/export-FORMAT; files are never overwritten).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Export a run for the tools analysts use (docs/exports.md); prints the file's path."""
    from iadsim.io.run_folder import RunFolderError

    if fmt in FOLDER_FORMATS:
        folder = output if output is not None else run_dir / f"export-{fmt.value}"
        check_output_folder(folder)  # a file there, or a file on its path, is one message
        try:
            write = _export_asterix if fmt is ExportFormat.asterix else _export_dis
            lines = write(run_dir, folder)
        except RunFolderError as exc:
            raise UserError(str(exc)) from None
        for line in lines:
            typer.echo(line)
        return
    path = output or run_dir / f"{run_dir.resolve().name}.{fmt.value}"
    if path.suffix.lower() != f".{fmt.value}":
        raise UserError(f"--out must end in .{fmt.value} for --format {fmt.value}, got '{path}'")
    check_output_file(path, force=force)
    try:
        writer = _exporter(fmt)
    except ImportError as exc:
        raise UserError(f"--format {fmt.value} needs {exc.name or 'a library'} (not installed); install "
                        "the exports extra: pip install 'iadsim[exports]'") from None
    try:
        typer.echo(str(writer(run_dir, path)))
    except RunFolderError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(f"{run_dir}: {exc}") from None


@app.command(epilog=_example("iadsim report out/mixed-raid-from-the-west-2020-12-31"))
@_user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (written by iadsim run).",
                                            show_default=False)],
) -> None:
    """Render a run folder's report.html and figures again, without simulating; prints its path."""
    typer.echo(str(_render(run_dir)))


@app.command(epilog=_example("iadsim coverage --as-of 2009,2016,2020 --alt 100,1000 --out out/coverage"))
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
    aspect: Annotated[str, typer.Option("--aspect", help="The target's aspect to each fire unit, "
                                        "comma-separated: approaching, crossing, receding or a "
                                        "heading in degrees (0 approaching … 180 receding).")
                      ] = "approaching,crossing,receding",
    target_speed: Annotated[float | None, typer.Option(
        "--target-speed", help="Target speed in m/s for every RCS class (default: each class's "
        "speed_mps in the catalog).", show_default=False)] = None,
    shift: Annotated[bool, typer.Option("--shift", help="With two dates in --as-of: how far the "
                                        "detection and engagement boundaries moved (km) and the "
                                        "area gained per region; tables and maps in OUT/shift.")
                     ] = False,
    shift_lat: Annotated[str | None, typer.Option(
        "--shift-lat", help="Parallels to measure the shift along, degrees north, comma-separated "
        "(default: every whole degree of the area, unless --shift-bearing is given).",
        show_default=False)] = None,
    shift_bearing: Annotated[str | None, typer.Option(
        "--shift-bearing", help="Bearings from --shift-from to measure the shift along, degrees "
        "from north, comma-separated.", show_default=False)] = None,
    shift_from: Annotated[str | None, typer.Option(
        "--shift-from", help="LAT,LON the bearings start from.", show_default=False)] = None,
    output: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/coverage"),
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """Where the system detects and can engage, by altitude, RCS, target aspect and date; maps,
    grids, tables; with --shift, how the zones moved between two dates."""
    from iadsim.coverage import CoverageError, GridTooLarge
    from iadsim.coverage.metrics import RegionError, check_region_names, default_regions, load_region_file
    from iadsim.coverage.study import (
        CoverageRequest,
        dates_from,
        pivot,
        run_coverage_study,
        study_grid,
    )
    from iadsim.geo.terrain import TerrainError
    from iadsim.io.coverage import check_coverage_folder, write_coverage_shift, write_coverage_study

    # every option is checked before the scenario is read or anything computed
    layers = parse_altitudes(alt)
    bounds = parse_area(area)
    parse_number("--resolution-km", resolution_km, 0, MAX_RESOLUTION_KM, low_open=True, unit="km")
    parse_number("--k", k, 0.1, 100, unit="(effective earth radius factor)")
    parse_number("--pd", pd_threshold, 0, 1, low_open=True)
    if alt_ref not in ("agl", "msl"):
        raise UserError(f"--alt-ref must be agl or msl, got '{alt_ref}'")
    if not str(output).strip() or output == Path("."):
        raise UserError("--out: give an output folder (not the current folder)")
    check_output_folder(output)
    check_coverage_folder(output)
    sc = _load(scenario)
    try:
        dates = dates_from(as_of, sc.as_of)
        loaded = [(path, load_region_file(path)) for path in region or []]
        extra = tuple(r for _, regions in loaded for r in regions)
        files = {r.id: path for path, regions in loaded for r in regions}
        check_region_names(extra, default_regions())
        lines = _shift_lines(shift, shift_lat, shift_bearing, shift_from, dates, bounds)
    except (ValueError, RegionError) as exc:
        raise UserError(str(exc)) from None
    for day in dates:
        _guard_date(sc, day, allow_outside_data)
    if target_speed is not None:
        parse_number("--target-speed", target_speed, 0, 2000, unit="m/s")
    aspects = tuple(a.strip().lower() for a in aspect.split(",") if a.strip())
    if not aspects:
        raise UserError("--aspect needs at least one of approaching, crossing, receding or degrees")
    request = CoverageRequest(
        dates=dates, layers_m=layers, altitude_reference=alt_ref,
        rcs_classes=tuple(x.strip() for x in rcs.split(",") if x.strip()),
        resolution_km=resolution_km, area=(bounds[0], bounds[1], bounds[2], bounds[3]),
        k=k, pd_threshold=pd_threshold, dem=dem, extra_regions=extra, maps=not no_maps,
        aspects=aspects, target_speed_mps=target_speed)
    try:
        grid = study_grid(sc, request)
    except (CoverageError, GridTooLarge) as exc:
        raise UserError(str(exc)) from None
    _check_regions_in_area(extra, files, grid)
    with _progress_bars() as progress:
        try:
            study = write_coverage_study(run_coverage_study(sc, request, progress), sc, request, output)
        except (CoverageError, GridTooLarge, TerrainError) as exc:
            raise UserError(str(exc)) from None
    if lines is not None:
        try:
            boundary, areas, _ = write_coverage_shift(study, lines, default_regions() + list(extra),
                                                      output / "shift")
        except CoverageError as exc:
            raise UserError(str(exc)) from None
        _print_shift(boundary, areas, request)
        typer.echo(str(output / "shift" / "shift_boundaries.csv"))
        return
    header, body = pivot(study.comparison, "engageable_pct")
    table = Table(title="% of region area engageable (joint system)")
    for col in header:
        table.add_column(col, justify="right" if col[:1].isdigit() else "left")
    for row in body:
        table.add_row(*(str(c) for c in row))
    out.print(table)
    typer.echo(str(output / "regions_by_date.csv"))


def _export_asterix(run_dir: Path, out: Path) -> list[str]:
    from iadsim.io.asterix import AsterixError, export_asterix

    try:
        result = export_asterix(run_dir, out)
    except AsterixError as exc:
        raise UserError(str(exc)) from None
    lines = [str(p) for p in result.files]
    lines.append(f"{result.cat048_records} CAT048 target reports, {result.cat062_records} CAT062 track "
                 "reports")
    lines += [f"not written: {n} detections with {why}" for why, n in result.skipped.items()]
    return lines


def _export_dis(run_dir: Path, out: Path) -> list[str]:
    from iadsim.io.dis import DisError, export_dis

    try:
        result = export_dis(run_dir, out)
    except DisError as exc:
        raise UserError(str(exc)) from None
    return [*(str(p) for p in result.files),
            f"{result.truth_pdus} Entity State PDUs of truth, {result.fighter_pdus} of fighters"]


ASTERIX_SUFFIXES = (".ast", ".asterix", ".pcap")
"""File name endings ``iadsim track`` reads as ASTERIX CAT048 (raw datablocks, or a pcap)."""


def _read_cat048(path: Path, sources: Path) -> Any:
    """A DETECTIONS table from a CAT048 file and its sources table; UserError on bad input."""
    from iadsim.io.asterix import AsterixError, read_cat048, read_sources

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return read_cat048(data, read_sources(sources))
    except AsterixError as exc:
        raise UserError(f"{path}: {exc}") from None


PRIOR_ALTITUDE_RANGE_M = (-500.0, 100_000.0)
"""``--prior-altitude-m`` from below the lowest land (the Dead Sea shore, −430 m) to the Kármán line."""
def _check_regions_in_area(extra: Sequence[Any], files: dict[str, Path], grid: Any) -> None:
    """Refuse a region of the user's files that has no cell of the study's grid inside ``--area``
    (its rows would be empty), hinting at swapped coordinates; a note for a built-in region outside
    it."""
    from iadsim.coverage.metrics import default_regions, regions_without_cells

    lon0, lon1, lat0, lat1 = grid.area_lonlat
    resolution_km = grid.resolution_m / 1000.0
    box = f"{lon0:g}°–{lon1:g}°E, {lat0:g}°–{lat1:g}°N"
    problems = []
    for region, swapped in regions_without_cells(grid, extra):
        hint = ("; with its coordinates swapped it would lie inside: GeoJSON gives longitude, then "
                "latitude" if swapped else "; widen --area or leave the region out")
        problems.append(f"--region {files[region.id]}: region '{region.name}' has no "
                        f"{resolution_km:g} km grid cell inside the area ({box}){hint}")
    if problems:
        raise UserError("\n".join(problems))
    outside = [r.name for r, _ in regions_without_cells(grid, default_regions())]
    if outside:
        typer.echo(f"note: {', '.join(outside)} {'lies' if len(outside) == 1 else 'lie'} outside the "
                   f"area ({box}); {'its' if len(outside) == 1 else 'their'} rows are empty (NaN)",
                   err=True)


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"{what} takes numbers separated by commas, got '{text}'") from None


def _shift_lines(shift: bool, lat: str | None, bearing: str | None, origin: str | None,
                 dates: tuple[Any, ...], bounds: tuple[float, ...]) -> Any:
    """The lines of ``--shift`` (None without it); ValueError for a bad request."""
    from iadsim.coverage.compute import CoverageError
    from iadsim.coverage.shift import ShiftLines

    if not shift:
        if lat or bearing or origin:
            raise ValueError("--shift-lat, --shift-bearing and --shift-from need --shift")
        return None
    if len(dates) != 2:
        raise ValueError(f"--shift compares two dates: give --as-of D1,D2 (got {len(dates)})")
    if dates[0] >= dates[1]:
        raise ValueError("--shift needs the earlier date first in --as-of")
    bearings = _floats(bearing, "--shift-bearing") if bearing else ()
    point = None
    if origin:
        values = _floats(origin, "--shift-from")
        if len(values) != 2 or not (-90 <= values[0] <= 90 and -180 <= values[1] <= 180):
            raise ValueError(f"--shift-from takes LAT,LON in degrees, got '{origin}'")
        point = (values[0], values[1])
    if bearings and point is None:
        raise ValueError("--shift-bearing needs the point the bearings start from: --shift-from LAT,LON")
    if point is not None and not bearings:
        raise ValueError("--shift-from is the point --shift-bearing's lines start from; give "
                         "--shift-bearing too (or leave --shift-from out)")
    if lat:
        latitudes = _floats(lat, "--shift-lat")
    elif bearings:
        latitudes = ()
    else:  # every whole degree inside the area
        latitudes = tuple(float(v) for v in range(math.ceil(bounds[2]), math.floor(bounds[3]) + 1))
    lines = ShiftLines(latitudes=latitudes, bearings=bearings, origin=point)
    try:
        lines.check_area(bounds)
    except CoverageError as exc:
        raise ValueError(f"--shift: {exc}") from None
    return lines


def _print_shift(boundary: list[dict[str, Any]], areas: list[dict[str, Any]], request: Any) -> None:
    """The shift at the highest layer of the first RCS class: boundaries (km) and net area (km²)."""
    top = max(request.layers_m)
    rcs = request.rcs_classes[0]
    columns = ["detected", *request.aspects]

    def pick(rows: list[dict[str, Any]], key: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {(*(r[k] for k in key), r["quantity"], r["aspect"] or "detected"): r for r in rows
                if r["altitude_m"] == top and r["rcs_class"] == rcs}

    edges = pick(boundary, ("line", "edge"))
    table = Table(title=f"Boundary moved, km ({rcs}, {top:,.0f} m; + = outward)")
    for col in ("line", "edge", *columns):
        table.add_column(col, justify="left" if col in ("line", "edge") else "right")
    for line, edge in dict.fromkeys((k[0], k[1]) for k in edges):
        cells = [edges.get((line, edge, "detected" if c == "detected" else "engageable", c))
                 for c in columns]
        table.add_row(line, edge, *("" if c is None else f"{c['moved_km']:g}" for c in cells))
    out.print(table)
    gained = pick(areas, ("region",))
    table = Table(title=f"Area gained − lost, km² ({rcs}, {top:,.0f} m)")
    for col in ("region", *columns):
        table.add_column(col, justify="left" if col == "region" else "right")
    for name in dict.fromkeys(k[0] for k in gained):
        cells = [gained.get((name, "detected" if c == "detected" else "engageable", c)) for c in columns]
        table.add_row(name, *("" if c is None else f"{c['net_km2']:,}" for c in cells))
    out.print(table)


@app.command(epilog=_example("iadsim track detections.parquet --out tracks.csv --motion-model imm"))
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
    prior_altitude_m: Annotated[float | None, typer.Option(
        "--prior-altitude-m", help="Altitude at which a 2D radar's detection is placed, m above the "
        "earth (default: the reference tracking settings, 5000).", show_default=False)] = None,
    prior_altitude_std_m: Annotated[float | None, typer.Option(
        "--prior-altitude-std-m", help="Its standard deviation, m (default: the reference tracking "
        "settings, 4000).", show_default=False)] = None,
    sources: Annotated[Path | None, typer.Option(
        "--sources", help="For ASTERIX CAT048 input (.ast raw datablocks or .pcap): the SAC/SIC table "
        "with each radar's site and accuracies (asterix-sources.csv of iadsim export; docs/asterix.md).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the TRACKS file if it exists.")] = False,
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
    defaults = TrackerConfig()
    if prior_altitude_m is None:
        prior_altitude_m = defaults.prior_altitude_m
    elif not PRIOR_ALTITUDE_RANGE_M[0] <= prior_altitude_m <= PRIOR_ALTITUDE_RANGE_M[1]:
        raise UserError(f"--prior-altitude-m must be within {PRIOR_ALTITUDE_RANGE_M[0]:g} to "
                        f"{PRIOR_ALTITUDE_RANGE_M[1]:g} m, got {prior_altitude_m:g}")
    if prior_altitude_std_m is None:
        prior_altitude_std_m = defaults.prior_altitude_std_m
    elif not 0.0 < prior_altitude_std_m <= PRIOR_ALTITUDE_RANGE_M[1]:
        raise UserError(f"--prior-altitude-std-m must be above 0 and at most "
                        f"{PRIOR_ALTITUDE_RANGE_M[1]:g} m, got {prior_altitude_std_m:g}")
    asterix_input = detections.suffix.lower() in ASTERIX_SUFFIXES
    if asterix_input and sources is None:
        raise UserError(f"{detections}: ASTERIX input needs --sources (the SAC/SIC table, "
                        "asterix-sources.csv)")
    if detections.is_dir():
        raise UserError(f"{detections} is a folder; give a DETECTIONS file (Parquet, CSV or ASTERIX)")
    check_output_file(output, inputs=[detections, *([sources] if sources is not None else [])],
                      force=force)
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise UserError(f"--out {output}: a TRACKS file ends in .parquet or .csv, the format it is "
                        "written in")
    try:
        config = TrackerConfig(motion_model="imm" if motion_model == "imm" else "cv",
                               prior_altitude_m=prior_altitude_m, prior_altitude_std_m=prior_altitude_std_m)
        if asterix_input and sources is not None:
            table = _read_cat048(detections, sources)
        else:
            table = read_detections(detections)
        tracks = track_detections(table, config, origin=frame)
    except TrackingInputError as exc:
        raise UserError(f"{detections}: {exc}") from None
    write_tracks(tracks, output)
    confirmed = len(set(tracks.filter(tracks["confirmed"])["track_id"].to_pylist())) if tracks.num_rows else 0
    typer.echo(f"{output} ({confirmed} confirmed tracks, {tracks.num_rows} rows)")


@contextmanager
def _replication_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (done, total) drawing one bar on stderr: items finished, rate, time left."""
    with _progress_display() as bar:
        task = bar.add_task(label, total=None) if bar is not None else None

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.update(task, completed=done, total=total)

        yield progress


@app.command(epilog=_example("iadsim compare mixed-raid --replications 10 --arrangements national,joint"))
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
                                                "out/compare-SCENARIO).", show_default=False)] = None,
    as_of: AsOfOpt = None,
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """Compare command arrangements over replications with common random numbers; prints the report's
    path."""
    from iadsim.analysis.statistics import parse_arrangements
    from iadsim.report.compare import check_compare_folder, write_compare_report
    from iadsim.runs.compare import compare_arrangements
    from iadsim.scenario import resolve_scenario_path
    from iadsim.sim.traffic import TrafficError

    try:
        names = parse_arrangements(arrangements)
    except ValueError as exc:
        raise UserError(f"--arrangements: {exc}") from None
    if replications < 1:
        raise UserError(f"--replications must be at least 1, got {replications}")
    from iadsim.runs.sweep import MAX_TASKS_WITHOUT_CONFIRMATION  # as many as a sweep without --yes

    if replications > MAX_TASKS_WITHOUT_CONFIRMATION:
        raise UserError(f"--replications must be at most {MAX_TASKS_WITHOUT_CONFIRMATION:,} (a replication "
                        f"takes seconds), got {replications:,}; for more, run a sweep (iadsim sweep)")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    day = _parse_date(as_of)
    folder = check_output_folder(output or Path("out") / f"compare-{resolve_scenario_path(scenario).stem}")
    check_compare_folder(folder)  # before the replications, not after
    sc = _load(scenario)
    _guard_date(sc, day, allow_outside_data)
    _check(sc, names, day, allow_outside_data=True)
    with _replication_bar("replications") as progress:
        try:
            comparison = compare_arrangements(sc, names, replications, jobs, progress, as_of=day)
        except TrafficError as exc:
            raise UserError(str(exc)) from None
    for name, note in comparison.unavailable.items():
        typer.echo(f"note: '{name}' is {note}", err=True)
    typer.echo(str(write_compare_report(comparison, folder).report))
    _print_compare_summary(comparison)


def _print_compare_summary(comparison: Any) -> None:
    """Each arrangement's means of the main metrics, with 95 % CI half-widths, on stderr."""
    import math

    from iadsim.analysis.statistics import METRICS
    from iadsim.report.compare import KEY_METRICS

    labels = {m.name: f"{m.label} ({m.unit})" for m in METRICS}
    rows = {(m.arrangement, m.metric): m for m in comparison.summary}
    shown = [name for name in KEY_METRICS
             if any(math.isfinite(m.mean) for (a, n), m in rows.items() if n == name)]
    n = comparison.replications
    table = Table(title=f"Mean over {n} replication{'s' if n != 1 else ''} ± 95 % CI half-width",
                  title_justify="left")
    table.add_column("arrangement")
    for name in shown:
        table.add_column(labels.get(name, name), justify="right")
    for arrangement in comparison.arrangements:
        if arrangement in comparison.unavailable:
            table.add_row(arrangement, *(["not available"] + [""] * (len(shown) - 1) if shown else []))
            continue
        cells = []
        for name in shown:
            m = rows.get((arrangement, name))
            if m is None or not math.isfinite(m.mean):
                cells.append("–")
            else:
                hw = f" ± {m.half_width:.2g}" if math.isfinite(m.half_width) else ""
                cells.append(f"{m.mean:.3g}{hw}")
        table.add_row(arrangement, *cells)
    err.print(table)


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


JobsOpt = Annotated[int | None, typer.Option("--jobs", help="Local worker processes (default: the CPU "
                                             "count; 1: no workers).", show_default=False)]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Run on this Dask distributed "
                                                  "scheduler (e.g. tcp://host:8786).", show_default=False)]
LocalClusterOpt = Annotated[int | None, typer.Option("--local-cluster", help="Run on a Dask LocalCluster "
                                                     "of N single-threaded workers.", show_default=False)]
"""The backend options of ``sweep`` and ``sensitivity`` (``runs.sweep.open_backend``)."""


@app.command(epilog=_example("iadsim sweep sweep-violation --jobs 2"))
@_user_errors
def sweep(
    spec: Annotated[str, typer.Argument(help="A sweep SPEC file (docs/sweeps.md) or a bundled spec id "
                                        "(sweep-violation).")],
    output: Annotated[Path | None, typer.Option("--out", help="Output folder (default: "
                                                "out/sweep-SPEC); rerun with the same folder to "
                                                "resume.", show_default=False)] = None,
    jobs: JobsOpt = None,
    scheduler: SchedulerOpt = None,
    local_cluster: LocalClusterOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Run a sweep of more than 10 000 tasks.")] = False,
    allow_outside_data: AllowOutsideOpt = False,
) -> None:
    """Run a parameter sweep (cases × replications) into a partitioned Parquet dataset; prints the
    folder."""
    from iadsim.runs.sweep import SweepError, load_spec, plan_sweep, run_sweep
    from iadsim.sim.traffic import TrafficError

    backend_cm = _open_backend_checked(jobs, scheduler, local_cluster)
    path = _sweep_spec_path(spec)
    folder = check_output_folder(output or Path("out") / f"sweep-{path.stem}")
    try:
        plan = plan_sweep(load_spec(path), confirm=yes)
        _check_sweep(plan, allow_outside_data)
        with backend_cm as backend, _replication_bar("tasks") as progress:
            result = run_sweep(plan, folder, backend, progress)
    except SweepError as exc:
        raise UserError("\n".join(exc.problems)) from None
    except TrafficError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        done = len(list(folder.glob("results/case=*/rep=*.parquet")))
        tasks = "1 task is" if done == 1 else f"{done} tasks are"
        typer.echo(f"interrupted: {tasks} done and kept in {folder}; run the same command again to "
                   "resume", err=True)
        raise typer.Exit(INTERRUPTED) from None
    cases = {c for c, _ in result.unavailable}
    if cases:
        typer.echo(f"note: {len(result.unavailable)} tasks of {len(cases)} cases are unavailable "
                   f"(see {folder / 'manifest.json'}), e.g. {next(iter(result.unavailable.values()))}",
                   err=True)
    typer.echo(f"{result.tasks - result.ran} tasks were already done, {result.ran} ran", err=True)
    typer.echo(str(folder))


def _open_backend_checked(jobs: int | None, scheduler: str | None, local_cluster: int | None) -> Any:
    """``open_backend`` after checking the options go together (one message each)."""
    from iadsim.runs.sweep import open_backend

    if scheduler is not None and local_cluster is not None:
        raise UserError("--scheduler and --local-cluster exclude each other")
    if jobs is not None and (scheduler is not None or local_cluster is not None):
        raise UserError("--jobs sets local worker processes; it does not go with --scheduler or "
                        "--local-cluster")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if local_cluster is not None and local_cluster < 1:
        raise UserError(f"--local-cluster must be at least 1, got {local_cluster}")
    return open_backend(jobs, scheduler, local_cluster)


@app.command(epilog=_example('iadsim sensitivity reference-2020 --metric "Lithuania, engageable, 10,000 m"',
                             "iadsim sensitivity mixed-raid --metric leakers --factors 's400_*,link_*'"))
@_user_errors
def sensitivity(
    scenario: ScenarioArg = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="A metric of a coverage study ('Lithuania, engageable, 10,000 m[, 2012][, RCS "
        "class]') or of a run ('leakers', 'time to first track[, aircraft type]'); repeat for more. "
        "Sobol factors are chosen by the first.", show_default=False)] = None,
    factors: Annotated[str | None, typer.Option(
        "--factors", help="Factors to vary, comma-separated names or patterns (link_*, c2.*); "
        "default: every range and variant of the scenario (see --list).", show_default=False)] = None,
    list_factors: Annotated[bool, typer.Option("--list", help="List the scenario's factors and exit.")]
    = False,
    output: Annotated[Path | None, typer.Option("--out", help="Study folder (default: "
                                                "out/sensitivity-SCENARIO); rerun with the same "
                                                "folder to resume.", show_default=False)] = None,
    trajectories: Annotated[int, typer.Option("--trajectories", help="Morris trajectories "
                                              "(0: no screening).")] = 10,
    levels: Annotated[int, typer.Option("--levels", help="Morris grid levels (even).")] = 4,
    sobol_samples: Annotated[int, typer.Option("--sobol-samples", help="Saltelli base samples N, a "
                                               "power of two (0: no Sobol indices).")] = 32,
    sobol_factors: Annotated[int, typer.Option("--sobol-factors", help="Sobol indices for at most this "
                                               "many factors, those Morris ranks highest.")] = 3,
    interval_samples: Annotated[int, typer.Option("--interval-samples", help="Draws of all ranges "
                                                  "together for each metric's interval (0: none).")] = 64,
    no_oat: Annotated[bool, typer.Option("--no-oat", help="Skip the one-at-a-time design.")] = False,
    replications: Annotated[int, typer.Option("--replications", help="Replications of each point (run "
                                              "metrics; common random numbers).")] = 1,
    resolution_km: Annotated[float, typer.Option("--resolution-km", help="Coverage grid cell size.")]
    = 10.0,
    dem: Annotated[str, typer.Option("--dem", help="Terrain: default (bundled ETOPO5), none, or a "
                                     "GeoTIFF path.")] = "default",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the designs and bootstraps.")] = 0,
    jobs: JobsOpt = None,
    scheduler: SchedulerOpt = None,
    local_cluster: LocalClusterOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Run a study of more than 10 000 evaluations.")]
    = False,
) -> None:
    """How much a metric hangs on the scenario's stated ranges and variants: one at a time (tornado),
    Morris screening, Sobol indices, the interval under all ranges; prints the report's path."""
    from iadsim.analysis.sensitivity import SALibMissing
    from iadsim.report.sensitivity import write_sensitivity_report
    from iadsim.runs.sensitivity import (
        ScenarioEvaluator,
        SensitivityError,
        StudySettings,
        check_study,
        parse_metric,
        run_study,
    )
    from iadsim.runs.sweep import MAX_TASKS, MAX_TASKS_WITHOUT_CONFIRMATION
    from iadsim.scenario import resolve_scenario_path
    from iadsim.scenario.factors import FactorError, collect_factors, reachable_factors, select_factors

    sc = _load(scenario)
    every = collect_factors(sc)
    if list_factors:
        for f in every:
            out.print(f"{f.name} ({f.kind}): {f.describe()}", markup=False)
        return
    if not metric:
        raise UserError("give at least one --metric (e.g. --metric 'Lithuania, engageable, 10,000 m' "
                        "or --metric leakers)")
    if replications < 1:
        raise UserError(f"--replications must be at least 1, got {replications}")
    parse_number("--resolution-km", resolution_km, 0, MAX_RESOLUTION_KM, low_open=True, unit="km")
    dem = dem.strip()
    dem = dem.lower() if dem.lower() in ("none", "default") else dem
    if not dem:
        raise UserError("--dem: give default, none or a GeoTIFF path")
    patterns = [p.strip() for p in factors.split(",") if p.strip()] if factors is not None else None
    if patterns == []:
        raise UserError(f"--factors {factors!r} names no factor (see --list)")
    try:
        metrics = tuple(parse_metric(m, sc) for m in metric)
        chosen, notes = reachable_factors(sc, select_factors(every, patterns))
    except (SensitivityError, FactorError) as exc:
        raise UserError(str(exc)) from None
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise UserError(f"--metric repeats a metric: {', '.join(names)}")
    folder = output or Path("out") / f"sensitivity-{resolve_scenario_path(scenario).stem}"
    settings = StudySettings(oat=not no_oat, trajectories=trajectories, levels=levels,
                             sobol_samples=sobol_samples, sobol_factors=sobol_factors,
                             interval_samples=interval_samples, seed=seed)
    evaluations = settings.points(len(chosen)) * replications
    if evaluations > MAX_TASKS or (evaluations > MAX_TASKS_WITHOUT_CONFIRMATION and not yes):
        raise UserError(f"the study's designs take up to {evaluations:,} evaluations (points × "
                        "replications); " + (f"no study may take more than {MAX_TASKS:,}"
                                             if evaluations > MAX_TASKS else "pass --yes to run it")
                        + ", or give fewer --trajectories, --sobol-samples or --interval-samples")
    evaluator = ScenarioEvaluator(sc, metrics, replications, resolution_km,
                                  None if dem == "none" else dem)
    problems = check_study(chosen, evaluator, settings, notes)  # before any worker starts
    if problems:
        raise UserError("\n".join(problems))
    try:
        with _open_backend_checked(jobs, scheduler, local_cluster) as backend, _progress_bars() as progress:
            result = run_study(chosen, evaluator, folder, backend, settings, progress, notes)
    except (SensitivityError, SALibMissing) as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the evaluations made so far are kept in {folder}; run the same "
                   "command again to resume" if folder.is_dir() else
                   "interrupted before any evaluation was made; nothing was kept", err=True)
        raise typer.Exit(INTERRUPTED) from None
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"{result.evaluations - result.ran} evaluations were already done, {result.ran} ran",
               err=True)
    typer.echo(str(write_sensitivity_report(folder)))


@app.command("sweep-report", epilog=_example("iadsim sweep-report out/sweep-sweep-violation"))
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


@app.command(epilog=_example("iadsim serve out --port 8000"))
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


class SourcesFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command(epilog=_example("iadsim sources --audit",
                             "iadsim sources mixed-raid --audit --detail --format csv --out provenance.csv"))
@_user_errors
def sources(
    scenario: ScenarioArg = None,
    audit: Annotated[bool, typer.Option("--audit", help="Count the cited and the assumed numbers "
                                        "per file, per kind of record and overall.")] = False,
    detail: Annotated[bool, typer.Option("--detail", help="With --audit: one row per number "
                                         "(file, line, record, field, sources or reason).")] = False,
    fmt: Annotated[SourcesFormat, typer.Option("--format", help="Output format.")] = SourcesFormat.table,
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of "
                                                "the terminal (csv or json; the format from its "
                                                "ending if no --format).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")] = False,
) -> None:
    """The public sources a scenario cites, and (--audit) how many of its numbers a source gives
    and how many are stated assumptions."""
    from iadsim.io.provenance import (
        audit_to_csv,
        audit_to_json,
        entries_to_csv,
        entries_to_json,
        source_records,
        sources_to_csv,
        sources_to_json,
    )
    from iadsim.scenario.provenance import provenance_audit, provenance_entries

    if detail and not audit:
        raise UserError("--detail goes with --audit")
    fmt = _file_format(output, fmt, SourcesFormat.table)
    if output is not None:
        check_output_file(output, force=force)
    sc = _load(scenario)
    if output is not None:
        _check_scenario_output(output, sc, force)
    entries = provenance_entries(sc)
    if fmt is SourcesFormat.table:
        if not audit:
            _print_sources_table(sc.name, source_records(sc, entries))
        elif detail:
            _print_entries_table(sc.name, entries)
        else:
            _print_audit_table(sc.name, provenance_audit(entries))
        return
    as_csv = fmt is SourcesFormat.csv
    if detail:
        text = entries_to_csv(entries) if as_csv else entries_to_json(entries)
    elif audit:
        counts = provenance_audit(entries)
        text = audit_to_csv(counts) if as_csv else audit_to_json(counts)
    else:
        records = source_records(sc, entries)
        text = sources_to_csv(records) if as_csv else sources_to_json(records)
    _emit(text, output)


def _print_sources_table(name: str, records: Sequence[dict[str, Any]]) -> None:
    table = Table(title=f"{name} — sources ({len(records)})")
    for column, opts in (("id", {"no_wrap": True}), ("title", {"overflow": "fold", "ratio": 3}),
                         ("publisher", {"overflow": "fold", "ratio": 1}), ("date", {"no_wrap": True}),
                         ("numbers", {"justify": "right"}), ("url", {"overflow": "fold", "ratio": 2})):
        table.add_column(column, **opts)
    for r in records:
        table.add_row(r["id"], r["title"], r["publisher"] or "", r["date"] or "",
                      str(r["numbers_cited"]), r["url"] or "")
    out.print(table)


def _print_audit_table(name: str, counts: Sequence[Any]) -> None:
    out.print(f"{name}: numbers that a source gives (cited) and stated assumptions")
    titles = {"file": "per file", "kind": "per kind of record", "total": "overall"}
    for group, title in titles.items():
        table = Table(title=title)
        table.add_column("file" if group == "file" else "kind" if group == "kind" else "", overflow="fold")
        for column in ("numbers", "cited", "assumed", "cited %"):
            table.add_column(column, justify="right")
        for c in counts:
            if c.group == group:
                table.add_row(c.name, str(c.numbers), str(c.cited), str(c.assumed),
                              f"{100 * c.cited_share:.1f}")
        out.print(table)


def _print_entries_table(name: str, entries: Sequence[Any]) -> None:
    table = Table(title=f"{name} — every number and how it is known")
    for column in ("where", "record", "field", "status"):
        table.add_column(column, overflow="fold")
    table.add_column("sources or reason", overflow="fold", ratio=3)
    for e in entries:
        where = f"{e.file}:{e.line}" if e.line else e.file
        table.add_row(where, e.record, e.field, "cited" if e.cited else "assumed",
                      ", ".join(e.sources) if e.cited else e.reason)
    out.print(table)


def main() -> None:
    """Entry point of the ``iadsim`` console script."""
    import os
    import signal

    # SIGTERM (the viewer's Cancel, a batch scheduler's time limit, `kill`) takes the path of Ctrl-C:
    # a sweep or a study says what is kept and how to resume, worker processes are stopped and
    # temporary folders removed, instead of the process vanishing mid-write
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parent = os.environ.get("IADSIM_PARENT_PID", "")
    if parent.isdigit():  # started by the viewer's job manager: stop if the server dies
        from iadsim.runs.workers import watch_parent

        watch_parent(int(parent))
    code: Any = 0
    try:
        app()  # exits with SystemExit (Typer's standalone mode)
    except SystemExit as done:
        code = done.code
    except OSError as exc:  # a write to standard output failed inside a command
        code = _output_failed(exc)
    try:  # flushed here, not at exit, where a failure is an "Exception ignored" traceback
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:
        code = _output_failed(exc)
    raise SystemExit(code)


_OUTPUT_ERRNOS = {"EPIPE", "ENOSPC", "EDQUOT", "EFBIG"}
"""What a failed write to standard output can be: the reader went away, or the disk is full."""


def _output_failed(exc: OSError) -> int:
    """The exit code after a failed write to standard output: 0 when the reader closed the pipe
    (`| head`), else one message and USER_ERROR; any other OSError is not the output's, and is
    raised again (a defect, with its traceback)."""
    import errno
    import os

    if errno.errorcode.get(exc.errno or 0) not in _OUTPUT_ERRNOS:
        raise exc
    # nothing more can be written there: drop the rest rather than fail again at exit
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    if exc.errno == errno.EPIPE:
        return 0
    sys.stderr.write(f"error: cannot write the output ({exc.strerror})\n")
    return USER_ERROR


if __name__ == "__main__":
    main()
