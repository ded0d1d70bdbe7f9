"""Every check a run makes before it simulates, on a loaded scenario, as located problems.

The schema and the reference checks run while a scenario loads (``iadsim.scenario``). What only
the later stages can refuse — trajectories that cannot be flown (``iadsim.sim.traffic``), a
command-and-control network that cannot be built (``iadsim.c2.build_network``), engagements a
missile cannot be modelled for (``iadsim.engagement``) — is checked here, the same way the run
does it, and each problem gets the field path in the scenario and the file, line and column
where the offending record is written (the loader's locations). ``iadsim validate``, ``run``,
``compare``, ``sweep`` and the viewer's upload call :func:`check_scenario` before anything runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from iadsim.c2 import C2Error, build_network
from iadsim.geo.terrain import Terrain, default_terrain
from iadsim.pipeline.estimate import RunEstimate, estimate_run
from iadsim.scenario.collector import collector_paused
from iadsim.scenario.dates import OutsideDataPeriod, check_data_period
from iadsim.scenario.errors import ScenarioError
from iadsim.scenario.factors import check_factors
from iadsim.scenario.locations import Locations, locate, scenario_locations
from iadsim.scenario.schema import Arrangement, Scenario
from iadsim.sim.radars import radar_roster
from iadsim.sim.random import Stage, stream
from iadsim.sim.traffic import Trajectories, check_trajectories
from iadsim.world import World, compile_world

__all__ = ["check_and_estimate", "check_scenario", "locate_problems"]


def check_scenario(scenario: Scenario, *, arrangements: Sequence[Arrangement | str] | None = None,
                   as_of: dt.date | None = None, terrain: Terrain | bool = True,
                   unavailable_ok: bool = False, allow_outside_data: bool = False) -> list[ScenarioError]:
    """Every problem a run of a loaded scenario would refuse before simulating, each once.

    Checks every range end and variant option of the scenario (``check_factors``), the traffic
    (what ``build_trajectories`` refuses: speeds above the type's, legs below
    the ground, terrain following outside the DEM, trajectories too large, ...), the C2 network of
    each arrangement with the radars the engine would have (a unit with no commander is one
    problem naming the unit), and the engagement settings (every fire unit's missile has the
    ``max_speed_mps`` its flyout needs) under an arrangement with wartime rules; for a single run
    with engagements and ``saturation_scales``, also the traffic at every raid size of the
    saturation curve.

    Args:
        scenario: a loaded scenario (``load_scenario``); its recorded locations give each
            problem's file, line and column (none for a scenario built in code).
        arrangements: the arrangements that will run (compare, sweep); None: the scenario's own,
            if it has ``c2`` settings and rules for it (else ``run`` skips the C2 pass).
        as_of: the date of the run (default: the scenario's).
        terrain: the DEM the run uses; True: the bundled ETOPO5 (as ``run``, ``compare`` and
            ``sweep``), False: a smooth earth at sea level.
        unavailable_ok: an arrangement whose deciding node is not in service at the date is left
            out by ``sweep`` (recorded as unavailable), not refused: True says so. Without it such
            an arrangement is a problem unless another of ``arrangements`` can be built, as in
            ``compare``.
        allow_outside_data: accept a date outside the scenario's ``data_period`` (else it is a
            problem that names the period).

    Returns:
        The problems in file order, duplicates removed; empty if the run can start.
    """
    return check_and_estimate(scenario, arrangements=arrangements, as_of=as_of, terrain=terrain,
                              unavailable_ok=unavailable_ok, allow_outside_data=allow_outside_data)[0]


def check_and_estimate(scenario: Scenario, *, arrangements: Sequence[Arrangement | str] | None = None,
                       as_of: dt.date | None = None, terrain: Terrain | bool = True,
                       unavailable_ok: bool = False, allow_outside_data: bool = False,
                       ) -> tuple[list[ScenarioError], RunEstimate | None]:
    """``check_scenario``'s problems, and the run's work and estimated time from the traffic and
    radars the check builds anyway (``iadsim.pipeline.estimate``; None if the traffic or the
    date has problems)."""
    with collector_paused():  # a large scenario would be rescanned again and again (collector.py)
        return _check_scenario(scenario, arrangements=arrangements, as_of=as_of, terrain=terrain,
                               unavailable_ok=unavailable_ok, allow_outside_data=allow_outside_data)


def _check_scenario(scenario: Scenario, *, arrangements: Sequence[Arrangement | str] | None,
                    as_of: dt.date | None, terrain: Terrain | bool, unavailable_ok: bool,
                    allow_outside_data: bool) -> tuple[list[ScenarioError], RunEstimate | None]:
    from_file = as_of is None
    if as_of is not None:
        scenario = scenario.with_changes(as_of=as_of)
    try:
        check_data_period(scenario, scenario.as_of, allow_outside_data=allow_outside_data)
    except OutsideDataPeriod as exc:
        # a date given on the command line has no line in the file to point at
        problem = ScenarioError(str(exc), ("as_of",) if from_file else (),
                                given=scenario.as_of.isoformat(), has_given=True,
                                allowed=f"{scenario.data_period.start} to {scenario.data_period.end}"
                                if scenario.data_period else None)
        return locate_problems([problem], scenario_locations(scenario) if from_file else {}), None
    dem = default_terrain() if terrain is True else (terrain or None)
    names = [Arrangement(a) for a in (arrangements or [scenario.arrangement])]
    if arrangements is None and (scenario.c2 is None or scenario.arrangement not in scenario.arrangements):
        names = []  # a single run without c2 settings or rules skips the C2 pass, so nothing to check
    # every range end and variant option (what a sensitivity study would set), each located
    problems: list[ScenarioError] = check_factors(scenario)
    # the run's own traffic draws (replication 0): a raid below the ground is found as it flies
    trajectories, traffic = check_trajectories(scenario, stream(scenario.seed, 0, Stage.traffic), dem)
    problems += traffic
    world = compile_world(scenario, scenario.as_of)
    sensors = _radars(scenario, world, trajectories)
    estimate = None if trajectories is None else estimate_run(
        scenario.duration_s, scenario.tick_s, len(sensors[0]), trajectories.start_s, trajectories.end_s)
    problems += _c2_problems(scenario, world, trajectories, names, unavailable_ok, sensors)
    engages = scenario.engagement is not None and any(
        scenario.arrangements[a].wartime_rules for a in names if a in scenario.arrangements)
    if engages:
        problems += _engagement_problems(scenario, world)
    if engages and arrangements is None and scenario.saturation_scales:
        # run's report adds the saturation curve: the raids flown again at each size
        problems += _saturation_problems(scenario, dem, {p.path for p in traffic})
    return locate_problems(problems, scenario_locations(scenario)), estimate


def locate_problems(problems: Iterable[ScenarioError], locations: Locations) -> list[ScenarioError]:
    """The problems with the location of their field path (where they have none), in file order,
    each once (same place, path and message)."""
    out: dict[tuple[object, ...], ScenarioError] = {}
    for p in problems:
        if p.location is None:
            loc = locate(locations, p.path)
            if loc is not None:
                p = ScenarioError(p.message, p.path, loc, p.given, p.has_given, p.allowed)
        out.setdefault((p.location, p.path, p.message), p)
    return sorted(out.values(), key=ScenarioError.sort_key)


def _radars(scenario: Scenario, world: World, trajectories: Trajectories | None,
            ) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.str_], NDArray[np.str_]]:
    """(sensor id, unit, nation, aircraft type) of the radars the engine will have
    (``iadsim.sim.radars.radar_roster``, the engine's own rule), without preparing the engine; no
    airborne radars when the traffic has problems."""
    none = np.zeros(0, dtype=np.str_)
    if trajectories is None:
        roster = radar_roster(scenario, world, none, none, none, np.zeros(0, dtype=bool))
    else:
        roster = radar_roster(scenario, world, trajectories.object_id, trajectories.type_id,
                              trajectories.nation, trajectories.radar_on)
    return roster.sensor_id, roster.unit, roster.nation, roster.aircraft


_SENSOR = re.compile(r"^sensor '([^']*)'")


def _on_record(problem: ScenarioError, record: dict[str, tuple[str | int, ...]]) -> ScenarioError:
    """An airborne radar's problem at its traffic record, said once for all the record's objects
    (``sensor 'patrol-0001/radar' has ...`` at no path becomes ``the record's airborne radars have
    ...`` at ``traffic.raids.patrol``)."""
    match = _SENSOR.match(problem.message)
    if problem.path or match is None or match.group(1) not in record:
        return problem
    path = record[match.group(1)]
    tail = problem.message[match.end():].replace(" has no ", " have no ", 1)
    tail = tail.replace(": its chain", ": their chain", 1)
    message = "the record's airborne radars" + tail
    return ScenarioError(message, path, problem.location, problem.given, problem.has_given,
                         problem.allowed)


def _is_unavailable(problem: ScenarioError) -> bool:
    """A deciding node not in service at the date: the arrangement did not exist yet (or any
    more), which compare and sweep report as unavailable rather than refuse."""
    path = problem.path
    return len(path) == 4 and path[0] == "arrangements" and path[2] == "authority"


def _c2_problems(scenario: Scenario, world: World, trajectories: Trajectories | None,
                 names: Sequence[Arrangement], unavailable_ok: bool,
                 sensors: tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.str_], NDArray[np.str_]],
                 ) -> list[ScenarioError]:
    # an airborne radar's record: its object's source (``traffic.orbits.awacs``)
    record: dict[str, tuple[str | int, ...]] = {}
    if trajectories is not None:
        source = dict(zip(trajectories.object_id.tolist(), trajectories.source.tolist(), strict=True))
        for sid in sensors[0][sensors[3] != ""].tolist():
            record[sid] = tuple(source[sid.rsplit("/", 1)[0]].split("."))
    found: dict[Arrangement, list[ScenarioError]] = {}
    for arr in dict.fromkeys(names):
        try:
            build_network(scenario, arr, *sensors)
        except C2Error as exc:
            found[arr] = [_on_record(p, record) for p in exc.errors]
    runnable = [a for a in dict.fromkeys(names) if a not in found
                or not all(_is_unavailable(p) for p in found[a])]
    keep_unavailable = not unavailable_ok and not runnable
    merged: dict[tuple[tuple[str | int, ...], str], tuple[ScenarioError, list[str]]] = {}
    for arr, errors in found.items():
        for p in errors:
            if _is_unavailable(p) and not keep_unavailable:
                continue
            # the same problem in several arrangements is said once, naming them all
            generic = p.message.replace(f"'{arr}' arrangement", "{arrangements}")
            entry = merged.setdefault((p.path, generic), (p, []))
            if str(arr) not in entry[1]:
                entry[1].append(str(arr))
    out = []
    for (_, generic), (p, arrs) in merged.items():
        if len(arrs) > 1:
            listed = ", ".join(f"'{a}'" for a in arrs[:-1]) + f" and '{arrs[-1]}' arrangements"
            p = ScenarioError(generic.replace("{arrangements}", listed), p.path, p.location, p.given,
                              p.has_given, p.allowed)
        out.append(p)
    return out




def _engagement_problems(scenario: Scenario, world: World) -> list[ScenarioError]:
    """The engagement stage's refusals: a fire unit's missile without ``max_speed_mps`` (its
    flyout cannot be computed)."""
    cat = scenario.catalog
    out = []
    seen: set[str] = set()
    for system in dict.fromkeys(str(s) for s in world.fire_units.system.tolist()):
        sam = cat.sam_systems.get(system)
        if sam is None or sam.missile in seen:
            continue
        seen.add(sam.missile)
        missile = cat.missiles.get(sam.missile)
        if missile is not None and missile.max_speed_mps is None:
            out.append(ScenarioError(
                f"the missile of the {system} fire units has no max_speed_mps: engagements (wartime "
                f"rules with engagement settings) need it for the flyout; give it with its source or "
                f"assumption", ("catalog", "missiles", sam.missile, "max_speed_mps")))
    return out


def _saturation_problems(scenario: Scenario, dem: Terrain | None,
                         known: set[tuple[str | int, ...]]) -> list[ScenarioError]:
    """The traffic problems of the saturation curve's raid sizes (``count`` × scale, rounded, at
    least 1, as ``iadsim.runs.saturation.scale_raids``), each field once at the smallest
    size that has it, beyond those of the scenario itself (``known`` paths)."""
    out = []
    seen = set(known)
    for i, scale in enumerate(scenario.saturation_scales):
        raids = {rid: raid.model_copy(update={"count": max(1, round(raid.count * scale))})
                 for rid, raid in scenario.traffic.raids.items()}
        sized = scenario.with_changes(traffic=scenario.traffic.model_copy(update={"raids": raids}))
        _, problems = check_trajectories(sized, stream(scenario.seed, 0, Stage.traffic), dem)
        for p in problems:
            if p.path in seen:
                continue
            seen.add(p.path)
            out.append(ScenarioError(f"{p.message} (in the saturation curve, raids × {scale:g}: "
                                     f"saturation_scales[{i}])", p.path, p.location, p.given,
                                     p.has_given, p.allowed))
    return out
