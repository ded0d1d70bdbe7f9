"""check_scenario: what a run refuses before simulating, found on the loaded scenario, located, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iadsim.pipeline.checks import _radars, check_scenario
from iadsim.scenario import bundled_scenarios, load_scenario, scenario_locations
from iadsim.scenario.schema import Arrangement, Scenario
from iadsim.sim.engine import Engine
from iadsim.sim.random import Stage, stream
from iadsim.sim.traffic import TrafficError, build_trajectories, check_trajectories
from iadsim.world import compile_world

# A flight at 2,000 km/h: the speed is written on line 12, column 7.
FAST = """\
name: too fast
include: [reference]
as_of: 2020-12-31
arrangement: joint
duration_s: 600
traffic:
  flights:
    violator:
      type: generic_light_aircraft
      nation: LTU
      start_s: 0
      speed_kmh: 2000
      alt_m: 3000
      route:
        - {lat_deg: 54.95, lon_deg: 25.45}
        - {place: minsk}
"""

# A radar brigade (seven radars in 2020) whose commander is removed: its parent is on line 8.
ORPHAN = """\
name: orphan radar brigade
include: [reference]
as_of: 2020-12-31
arrangement: national
duration_s: 60
units:
  blr_8_rtb:
    parent: null
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_flight_faster_than_its_type_is_one_located_problem(tmp_path):
    path = write(tmp_path, "fast.yaml", FAST)
    [problem] = check_scenario(load_scenario(path))
    assert str(problem.location) == f"{path}:12:7"
    assert problem.path == ("traffic", "flights", "violator", "speed_kmh")
    assert "2,000 km/h is faster than the generic_light_aircraft type's max_speed_kmh" in problem.message


def test_a_brigade_without_commander_is_one_problem_not_one_per_radar(tmp_path):
    path = write(tmp_path, "orphan.yaml", ORPHAN)
    scenario = load_scenario(path)
    units = _radars(scenario, compile_world(scenario, scenario.as_of), None)[1]
    assert (units == "blr_8_rtb").sum() > 1  # several radars, still one problem
    [problem] = check_scenario(scenario)
    assert str(problem.location) == f"{path}:8:5"
    assert problem.path == ("units", "blr_8_rtb", "parent")
    assert problem.message.startswith("unit 'blr_8_rtb' has no commander in the 'national' arrangement")


def test_the_same_problem_in_several_arrangements_is_said_once_naming_them(tmp_path):
    path = write(tmp_path, "orphan.yaml", ORPHAN.replace("parent: null", "parent: rads_command"))
    scenario = load_scenario(path)
    [problem] = check_scenario(scenario, arrangements=["national", "exchange", "joint", "wartime"])
    assert "no commander in the 'national' and 'exchange' arrangements" in problem.message
    assert check_scenario(scenario, arrangements=["joint", "wartime"]) == []


@pytest.mark.parametrize("scenario_id", [s.id for s in bundled_scenarios()])
def test_the_bundled_scenarios_have_no_problem(scenario_id):
    scenario = load_scenario(scenario_id)
    assert check_scenario(scenario) == []
    assert check_scenario(scenario, arrangements=["national", "exchange", "joint", "wartime"]) == []


def test_an_arrangement_not_yet_in_service_is_refused_alone_but_left_out_of_a_comparison():
    scenario = load_scenario("air-policing-violation")
    early = dt.date(1996, 12, 31)
    [problem] = check_scenario(scenario, arrangements=["joint"], as_of=early)
    assert "rads_command" in problem.message and "not in service on 1996-12-31" in problem.message
    assert problem.location is not None and problem.location.file.endswith("c2.yaml")  # the bundled rules
    assert check_scenario(scenario, arrangements=["national", "joint"], as_of=early) == []
    assert check_scenario(scenario, arrangements=["joint"], as_of=early, unavailable_ok=True) == []


def test_a_problem_in_included_data_points_at_the_bundled_file(tmp_path):
    path = write(tmp_path, "missile.yaml", "name: no missile speed\ninclude: [reference]\nas_of: 2020-12-31\n"
                 "arrangement: wartime\nduration_s: 60\nremove: [catalog.missiles.s300ps_5v55r.max_speed_mps]\n")
    scenario = load_scenario(path)
    [problem] = check_scenario(scenario)
    assert problem.path == ("catalog", "missiles", "s300ps_5v55r", "max_speed_mps")
    assert problem.location is not None
    catalog = Path(problem.location.file)
    assert catalog.name == "catalog.yaml"
    line = catalog.read_text(encoding="utf-8").splitlines()[problem.location.line - 1]
    assert line.strip() == "s300ps_5v55r:"
    # the national arrangement engages nothing, so the missile's speed is not needed there
    assert check_scenario(scenario.with_changes(arrangement=Arrangement.national)) == []


def test_locations_follow_with_changes_and_are_absent_for_scenarios_built_in_code(tmp_path):
    scenario = load_scenario(write(tmp_path, "fast.yaml", FAST))
    assert scenario_locations(scenario.with_changes(duration_s=300)) == scenario_locations(scenario)
    rebuilt = Scenario.model_validate(scenario.model_dump(by_alias=True))
    assert rebuilt == scenario and scenario_locations(rebuilt) == {}
    [problem] = check_scenario(rebuilt)
    assert problem.location is None and problem.path[-1] == "speed_kmh"


def test_the_radar_table_is_the_engines():
    scenario = load_scenario("mixed-raid")
    engine = Engine(scenario)
    table = engine.radars
    ids, units, nations, aircraft = _radars(scenario, engine.world, engine.traffic)
    assert ids.tolist() == table.sensor_id.tolist() and units.tolist() == table.unit.tolist()
    assert nations.tolist() == table.nation.tolist() and aircraft.tolist() == table.aircraft.tolist()


def test_check_trajectories_returns_what_build_trajectories_raises(tmp_path):
    scenario = load_scenario(write(tmp_path, "fast.yaml", FAST))
    rng = stream(scenario.seed, 0, Stage.traffic)
    trajectories, problems = check_trajectories(scenario, rng)
    assert trajectories is None and len(problems) == 1
    with pytest.raises(TrafficError) as exc:
        build_trajectories(scenario, stream(scenario.seed, 0, Stage.traffic))
    assert exc.value.errors == problems


_BASE = load_scenario("air-policing-violation").model_dump(by_alias=True, exclude_unset=True)
_ANY = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**7, 10**7))


def _numbers(low: float, high: float) -> st.SearchStrategy[float | int]:
    """Mostly values the schema may accept (so the checks after it run), sometimes anything."""
    return st.one_of(st.floats(low, high), st.sampled_from([low, high, 0.0, 1e-9]), _ANY)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(speed=_numbers(-10.0, 5000.0), alt=_numbers(-500.0, 40_000.0), start=_numbers(-100.0, 10_000.0),
       lat=_numbers(-90.0, 90.0), lon=_numbers(-180.0, 180.0), wp_speed=_numbers(-10.0, 5000.0),
       alt_ref=st.sampled_from(["msl", "agl"]))
def test_check_scenario_never_raises_on_fuzzed_traffic(speed, alt, start, lat, lon, wp_speed, alt_ref):
    data = {**_BASE, "traffic": {**_BASE["traffic"], "flights": dict(_BASE["traffic"]["flights"])}}
    violator = dict(data["traffic"]["flights"]["violator"])
    route = [dict(w) for w in violator["route"]]
    route[1] = {"lat_deg": lat, "lon_deg": lon, "speed_kmh": wp_speed}
    violator.update(speed_kmh=speed, alt_m=alt, start_s=start, alt_ref=alt_ref, route=route)
    data["traffic"]["flights"]["violator"] = violator
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError:
        assume(False)  # the schema refuses it: validate says so before any check
        return
    problems = check_scenario(scenario)
    assert isinstance(problems, list)
    assert len({(p.location, p.path, p.message) for p in problems}) == len(problems)


def test_the_saturation_curves_raid_sizes_are_checked_for_a_run(tmp_path):
    path = write(tmp_path, "sat.yaml", "name: big saturation\ninclude: [mixed-raid]\n"
                 "saturation_scales: [1, 100]\ntraffic:\n  raids:\n    cruise_missiles:\n      count: 20000\n")
    scenario = load_scenario(path)
    [problem] = check_scenario(scenario, terrain=False)
    assert str(problem.location) == f"{path}:7:7" and problem.path[-1] == "count"
    assert "a raid of 2,000,000 objects" in problem.message
    assert problem.message.endswith("(in the saturation curve, raids × 100: saturation_scales[1])")
    # compare and sweep draw no saturation curve
    assert check_scenario(scenario, arrangements=["wartime"], terrain=False) == []


def test_airborne_radars_without_commander_are_one_problem_at_their_record(tmp_path):
    path = write(tmp_path, "airborne.yaml", "name: a defender patrol with no command\ninclude: [reference]\n"
                 "as_of: 2020-12-31\narrangement: national\nduration_s: 600\nnations:\n  LTU: {side: defender}\n"
                 "traffic:\n  raids:\n    patrol:\n      type: generic_fighter\n      nation: LTU\n"
                 "      count: 3\n      radar_on: true\n      origin: {lat_deg: 54.9, lon_deg: 25.3}\n"
                 "      destinations: [{lat_deg: 55.5, lon_deg: 24.0}]\n      speed_kmh: 800\n      alt_m: 8000\n")
    [problem] = check_scenario(load_scenario(path), terrain=False)
    assert str(problem.location) == f"{path}:10:5" and problem.path == ("traffic", "raids", "patrol")
    assert problem.message.startswith("the record's airborne radars have no commander in the 'national' "
                                      "arrangement on 2020-12-31: their chain ends at 'nation:LTU'")
