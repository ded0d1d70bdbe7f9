"""Command and control: arrangements, links, alert duty, autonomy, air policing, bad input."""

from __future__ import annotations

import datetime as dt
import gc
import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iadsim.analysis.outcomes import outcome_table
from iadsim.c2 import C2Error, build_network, pictures, run_c2
from iadsim.c2.policing import Interceptors, Phase, intercept_time_s, step_interceptors
from iadsim.c2.readiness import readiness_state
from iadsim.cli import app
from iadsim.scenario.loader import load_scenario, resolve_scenario_path
from iadsim.scenario.schema import Arrangement, Event, EventKind
from iadsim.sim.engine import Engine

DURATION_S = 1800.0
"""The violation scenario cut to 30 minutes: the violator is identified and intercepted by then."""


@pytest.fixture(scope="module")
def violation():
    """The bundled violation scenario, shortened, and one sensing pass of it."""
    scenario = load_scenario(resolve_scenario_path("air-policing-violation"))
    scenario = scenario.with_changes(duration_s=DURATION_S)
    engine = Engine(scenario)
    return scenario, engine, engine.run()


@pytest.fixture(scope="module")
def arms(violation):
    """The C2 pass of each arrangement over the one sensing pass (computed once per module)."""
    scenario, engine, result = violation
    return {a: _c2(scenario, engine, result, a) for a in ("national", "exchange", "joint", "wartime")}


def _c2(scenario, engine, result, arrangement, **kw):
    """The C2 pass with its outcomes (measured by analysis, as run_replication does) attached."""
    kw.setdefault("terrain", engine.terrain)
    out = run_c2(scenario, result.detections, result.truth, result.objects, engine.radars, arrangement, **kw)
    out.outcomes = outcome_table(scenario, out, result.detections, result.objects)
    return out


def _rows(table: pa.Table) -> list[dict]:
    """Rows with NaN as None, so that tables with never-happened times compare equal."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in table.to_pylist()]


def _with_events(scenario, *events: tuple[float, EventKind, str]):
    return scenario.with_changes(events={f"e{i}": Event(at_s=t, kind=k, target=x)
                                         for i, (t, k, x) in enumerate(events)})


def test_cutting_the_only_cross_border_link_makes_exchange_behave_as_national(violation, arms):
    scenario, engine, result = violation
    national, exchange = arms["national"], arms["exchange"]
    cut = _with_events(scenario, (0.0, EventKind.link_cut, "blr_rus_exchange"))
    exchange_cut = _c2(cut, engine, result, "exchange")
    assert national.picture.equals(exchange_cut.picture)
    assert _rows(national.outcomes) == _rows(exchange_cut.outcomes)
    # and the link matters when it is up: the Belarusian picture then holds Russian tracks too
    blr = pa.compute.equal(exchange.picture["node"], "blr_af_ad_command")
    assert pa.compute.max(exchange.picture.filter(blr)["sources"]).as_py() >= 2
    assert not national.picture.equals(exchange.picture)


def test_a_lost_command_post_sends_its_units_autonomous_at_the_documented_time(violation):
    scenario, engine, result = violation
    down_at = 300.0
    lost = _with_events(scenario, (down_at, EventKind.node_down, "blr_af_ad_command"))
    out = _c2(lost, engine, result, "national")
    events = out.events.to_pylist()
    autonomous = [e for e in events if e["kind"] == "autonomous"]
    net = build_network(lost, Arrangement.national, *(np.asarray(a) for a in (
        engine.radars.sensor_id, engine.radars.unit, engine.radars.nation, engine.radars.aircraft)))
    expected = sorted(u for u, n in net.unit_node.items() if n == "blr_af_ad_command")
    assert expected and sorted(e["subject"] for e in autonomous) == expected
    assert {e["time_s"] for e in autonomous} == {down_at + scenario.c2.autonomy_delay_s}
    # the national command decides for Belarus: with it down nobody scrambles for the violator
    assert not [e for e in events if e["kind"] == "scramble_order" and e["time_s"] >= down_at]
    assert out.stats["reports_lost_node_down"] > 0


def test_a_command_post_back_before_the_autonomy_delay_keeps_its_units(violation):
    scenario, engine, result = violation
    blip = _with_events(scenario, (300.0, EventKind.node_down, "blr_af_ad_command"),
                        (330.0, EventKind.node_up, "blr_af_ad_command"))
    kinds = _c2(blip, engine, result, "national").events["kind"].to_pylist()
    assert "autonomous" not in kinds and "node_down" in kinds and "node_up" in kinds


@pytest.mark.parametrize("state", ["qra_15min", "qra_5min"])
def test_qra_launches_no_earlier_than_its_readiness_allows(violation, arms, state):
    scenario, engine, result = violation
    if state == "qra_15min":  # the base's default state (it is on alert duty): the national arm
        sc, out = scenario, arms["national"]
    else:
        unit = scenario.units["blr_61_fab"].model_copy(update={"readiness": state})
        sc = scenario.with_changes(units={**scenario.units, "blr_61_fab": unit})
        out = _c2(sc, engine, result, "national")
    ready_s = sc.readiness_states[state].time_to_act_s
    rows = out.outcomes.to_pylist()
    violator = next(r for r in rows if r["object_id"] == "violator")
    lag = violator["airborne_s"] - violator["scramble_s"]
    # the order's path: link latencies and processing delays, then the unit's readiness
    assert ready_s <= lag <= ready_s + 60.0
    assert violator["scramble_s"] >= violator["identified_s"] >= violator["first_track_s"]
    assert violator["intercept_s"] > violator["airborne_s"]
    assert not violator["leaker"]


def test_the_arrangements_differ_in_who_decides(arms):
    deciding = {a: arms[a].outcomes.to_pylist()[0]["deciding_node"] for a in ("national", "joint", "wartime")}
    assert deciding == {"national": "blr_af_ad_command", "joint": "rads_command", "wartime": "jsc_west"}
    wartime = arms["wartime"].outcomes.to_pylist()[0]
    assert wartime["hostile_s"] >= wartime["identified_s"]


def test_the_pass_is_deterministic(violation, arms):
    scenario, engine, result = violation
    a, b = arms["joint"], _c2(scenario, engine, result, "joint", replication=0)
    assert a.picture.equals(b.picture) and a.events.equals(b.events)


def test_the_pass_pauses_the_cyclic_collector_and_resumes_it(violation, monkeypatch):
    """The pass runs with the collector paused (it rescans the caller's heap otherwise) and leaves it
    as it found it: on, after a pass and after a refused arrangement; off, when the caller paused it."""
    scenario, engine, result = violation
    seen = []
    monkeypatch.setattr(pictures, "take_reports", lambda *a, _f=pictures.take_reports: (
        seen.append(gc.isenabled()), _f(*a))[1])
    assert gc.isenabled()
    _c2(scenario, engine, result, "national")
    assert seen and not any(seen) and gc.isenabled()
    early = scenario.with_changes(as_of=dt.date(2005, 1, 1))
    with pytest.raises(C2Error):
        _c2(early, engine, result, "joint")
    assert gc.isenabled()
    gc.disable()
    try:
        _c2(scenario, engine, result, "national")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_friendly_airliner_is_never_scrambled_against(arms):
    out = arms["joint"]
    targets = {e["object_id"] for e in out.events.to_pylist() if e["kind"] == "scramble_order"}
    assert targets == {"violator"}
    friends = {e["object_id"] for e in out.events.to_pylist() if e["kind"] == "declared_friend"}
    assert "airliner_vno_msq" in friends


def test_an_arrangement_whose_command_is_not_in_service_is_refused(violation):
    scenario, engine, _ = violation
    early = scenario.with_changes(as_of=dt.date(2005, 1, 1))
    with pytest.raises(C2Error, match=r"rads_command.*not in service"):
        build_network(early, Arrangement.joint, engine.radars.sensor_id, engine.radars.unit,
                      engine.radars.nation, engine.radars.aircraft)


def test_a_unit_with_no_commander_is_a_clear_error(tmp_path):
    path = tmp_path / "orphan.yaml"
    path.write_text(
        "name: orphan radar\ninclude: [reference]\nas_of: 2020-12-31\narrangement: national\n"
        "duration_s: 60\nunits:\n  blr_8_rtb:\n    parent: rads_command\n",
        encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--no-coverage", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "unit 'blr_8_rtb' has no commander in the 'national' arrangement" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("report.html"))


def test_a_readiness_state_the_unit_kind_cannot_have_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad readiness\ninclude: [reference]\nas_of: 2020-12-31\n"
        "units:\n  blr_8_rtb:\n    readiness: qra_5min\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "a radar_brigade cannot hold readiness state 'qra_5min'" in result.output


def test_default_readiness_follows_alert_duty():
    scenario = load_scenario(resolve_scenario_path("air-policing-violation"))
    assert readiness_state(scenario, "blr_61_fab")[0] == "qra_15min"  # on alert duty
    assert readiness_state(scenario, "blr_116_gaab")[0] == "air_base_standby"
    assert readiness_state(scenario, "blr_8_rtb") is None  # no state for a radar brigade


def test_run_cli_arrangement_flag_is_checked(tmp_path):
    result = CliRunner().invoke(app, ["run", "air-policing-violation", "--arrangement", "unified",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "allowed: national, exchange, joint, wartime" in result.output


# -- interceptor kinematics ---------------------------------------------------------------------

finite = st.floats(-2e5, 2e5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.tuples(finite, finite, st.floats(0, 1e4)), st.tuples(finite, finite, st.floats(0, 1e4)),
       st.tuples(st.floats(-240, 240), st.floats(-240, 240), st.just(0.0)), st.floats(350, 700))
def test_intercept_time_reaches_the_target(origin, target, velocity, speed):
    o, p, v = (np.asarray([x], dtype=float) for x in (origin, target, velocity))
    t = intercept_time_s(o, np.asarray([speed]), p, v)[0]
    # faster than the target (at most 340 m/s): an intercept always exists, and at t the pursuer can be there
    assert np.isfinite(t) and t >= 0
    np.testing.assert_allclose(np.linalg.norm(p[0] + v[0] * t - o[0]), speed * t, rtol=1e-6, atol=1e-3)


def test_intercept_time_is_infinite_for_a_faster_target_running_away():
    t = intercept_time_s(np.zeros((1, 3)), np.asarray([100.0]), np.asarray([[1e4, 0, 0]]),
                         np.asarray([[200.0, 0, 0]]))
    assert np.isinf(t[0])


def test_an_interceptor_identifies_a_straight_flier_at_the_predicted_time():
    ic = Interceptors()
    ic.add("base", "mig29", "node", 1, 0, 400.0, 0.0, 0.0, np.zeros(3))
    target0 = np.asarray([60_000.0, 0.0, 1000.0])
    vel = np.asarray([-100.0, 0.0, 0.0])
    predicted = intercept_time_s(np.zeros((1, 3)), np.asarray([400.0]), target0[None], vel[None])[0]
    kinds = {}
    for k in range(200):
        t0, t1 = k * 1.0, (k + 1) * 1.0
        p0, p1 = target0 + vel * t0, target0 + vel * t1
        for when, _, kind in step_interceptors(ic, t0, t1, p0[None], vel[None], p0[None], p1[None],
                                               40_000.0, 1_500.0, 600.0):
            kinds.setdefault(kind, when)
    assert kinds["airborne"] == 0.0
    assert kinds["radar_acquisition"] < kinds["visual_identification"]
    # identified 1.5 km short of the meeting point at a closing speed of 500 m/s: 3 s early
    assert kinds["visual_identification"] == pytest.approx(predicted - 1_500.0 / 500.0, abs=1.0)
    assert ic.phase[0] == Phase.shadowing


def test_a_jammed_link_loses_messages_at_its_jammed_reliability(violation, arms):
    scenario, engine, result = violation
    jam = _with_events(scenario, (0.0, EventKind.link_jammed, "blr_rus_exchange"))
    # fully jammed (no jammed_reliability given): as if cut, so exchange is national again
    assert _rows(_c2(jam, engine, result, "exchange").outcomes) == _rows(arms["national"].outcomes)
    link = scenario.links["blr_rus_exchange"].model_copy(update={
        "jammed_reliability": 0.5, "assumed": {**scenario.links["blr_rus_exchange"].assumed,
                                               "jammed_reliability": "test"}})
    half = jam.with_changes(links={**scenario.links, "blr_rus_exchange": link})
    counts = _c2(half, engine, result, "exchange").stats["link_messages"]["blr_rus_exchange"]
    # binomial: the share lost within 3 standard deviations of 0.5
    n = counts["sent"]
    assert n > 100
    assert abs(counts["lost"] / n - 0.5) <= 3 * np.sqrt(0.25 / n)
    clear = arms["exchange"].stats["link_messages"]["blr_rus_exchange"]
    assert clear["lost"] / clear["sent"] < 0.05  # reliability 0.99 when not jammed


@pytest.mark.parametrize("body", [
    "units:\n  blr_8_rtb:\n    equipment: true\n",
    "readiness_states:\n  odd:\n    name: odd\n    unit_kinds: true\n    time_to_act_s: 5\n    assumed: {time_to_act_s: t}\n",
])
def test_a_list_field_given_a_scalar_is_a_message_not_a_crash(tmp_path, body):
    path = tmp_path / "odd.yaml"
    path.write_text("name: odd\ninclude: [reference]\nas_of: 2020-12-31\n" + body, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "list" in result.output.lower()


def test_a_report_age_limit_shorter_than_the_oldest_legitimate_data_is_refused(violation):
    scenario, engine, _ = violation
    short = scenario.with_changes(c2=scenario.c2.model_copy(update={"max_report_age_s": 180.0}))
    radars = engine.radars
    args = (radars.sensor_id, radars.unit, radars.nation, radars.aircraft)
    # national: slowest report path 43.5 s (cycle 10 + processing 30 + latency 2 + 3 × jitter 0.5),
    # plus report latency 4, three cycles 30 and 90 s of coasting; exchange: 67 s over the border
    assert build_network(short, "national", *args).report_age_bound_s() == pytest.approx(167.5)
    with pytest.raises(C2Error, match=r"max_report_age_s: 180 s is not longer .*'exchange' .*\(191 s"):
        build_network(short, "exchange", *args)
    # a cut link makes a detour slower: the bound follows the scenario's link events
    cut = _with_events(scenario, (600.0, EventKind.link_cut, "blr_rus_exchange"))
    assert build_network(scenario, "joint", *args).report_age_bound_s() == pytest.approx(191.0)
    assert build_network(cut, "joint", *args).report_age_bound_s() == pytest.approx(196.0)


def test_a_pair_crossing_the_frame_origin_climbs_without_diving_below_its_base():
    """A base 100 km west of the local frame's origin and a target at a constant 500 m height 100 km
    east: in ENU both lie below the origin's tangent plane (by d²/2R, about 785 m), and a straight
    ENU line between them passes under the origin some 300 m below the ground. The pair's height
    (ENU up plus d²/2R) must stay between the base's and the target's, climbing all the way."""
    radius = 6_371_008.8

    def enu(east_m, height_m):
        return np.asarray([east_m, 0.0, height_m - east_m**2 / (2 * radius)])

    ic = Interceptors()
    ic.add("base", "mig29", "node", 1, 0, 300.0, 0.0, 0.0, enu(-100e3, 0.0))
    heights = []
    for k in range(600):
        t0, t1 = k * 1.0, (k + 1) * 1.0
        p0, p1 = enu(100e3 - 50.0 * t0, 500.0), enu(100e3 - 50.0 * t1, 500.0)
        v = p1 - p0  # the ENU velocity of a level flier, with its small vertical part
        step_interceptors(ic, t0, t1, p0[None], v[None], p0[None], p1[None], 40_000.0, 1_500.0, 600.0)
        east, _, up = ic.position_m[0]
        heights.append(up + east**2 / (2 * radius))
        if ic.phase[0] == Phase.shadowing:
            break
    assert ic.phase[0] == Phase.shadowing
    assert min(heights) >= -1.0 and max(heights) <= 501.0
    assert all(b >= a - 1.0 for a, b in itertools.pairwise(heights))  # it only climbs


def test_interceptors_take_off_from_their_airfields_elevation(violation, arms):
    from iadsim.geo.terrain import default_terrain

    scenario, engine, result = violation
    terrain = default_terrain()
    out = run_c2(scenario, result.detections, result.truth, result.objects, engine.radars, "national",
                 terrain=terrain)
    rows = out.interceptors.to_pylist()
    assert rows, "the violation scrambles a pair"
    first = {}
    for row in rows:
        first.setdefault(row["flight_id"], row)
    for row in first.values():
        ground = float(np.ravel(terrain.height_at([row["lat_deg"]], [row["lon_deg"]]))[0])
        assert ground > 100.0  # Belarusian airfields lie 100-250 m above the sea
        assert row["alt_m"] == pytest.approx(ground, abs=30.0)
    assert min(r["alt_m"] for r in rows) > 100.0  # and no pair flies below its airfield's level
    # without terrain (a smooth earth at sea level) they take off from 0 m
    assert min(r["alt_m"] for r in arms["national"].interceptors.to_pylist()) < 50.0


def test_shared_node_trackers_give_the_same_passes_as_trackers_of_their_own(violation, arms):
    """Arrangements over one sensing pass share node trackers through a TrackerCache: a node reads
    the record an earlier pass made while its reports are the same, and rebuilds its own tracker
    where they depart (a command post down or back, units autonomous, destroyed objects). Every
    table and counter equals the pass run alone, in any order of the arrangements."""
    from iadsim.c2 import TrackerCache

    scenario, engine, result = violation
    cut = _with_events(scenario, (300.0, EventKind.node_down, "blr_af_ad_command"),
                       (900.0, EventKind.node_up, "blr_af_ad_command"))
    blip = _with_events(scenario, (600.0, EventKind.node_down, "blr_af_ad_command"),
                        (610.0, EventKind.node_up, "blr_af_ad_command"))
    alone = {("plain", a): arms[a] for a in arms}
    alone[("cut", "national")] = _c2(cut, engine, result, "national")
    alone[("blip", "joint")] = _c2(blip, engine, result, "joint")
    for order in (["wartime", "national", "joint", "exchange"], ["national", "exchange", "wartime", "joint"]):
        cache = TrackerCache()
        runs = [(("plain", a), scenario) for a in order] + [(("cut", "national"), cut), (("blip", "joint"), blip)]
        for (kind, arr), sc in runs:
            shared = _c2(sc, engine, result, arr, tracker_cache=cache)
            own = alone[(kind, arr)]
            for name in ("picture", "events", "interceptors", "outcomes", "engagements"):
                assert _rows(getattr(shared, name)) == _rows(getattr(own, name)), (order, kind, arr, name)
            assert shared.stats == own.stats, (order, kind, arr)
        assert cache.records  # the passes did share


def test_shared_node_trackers_hold_through_kills(raid_short):
    """Under wartime rules destroyed objects' detections leave a node's reports: a pass following
    a record made without kills departs there and still equals the pass run alone."""
    from iadsim.c2 import TrackerCache

    scenario, engine, result, alone = raid_short
    cache = TrackerCache()
    for arr in ("national", "wartime"):
        shared = _c2(scenario, engine, result, arr, tracker_cache=cache, world=engine.world)
        own = alone[arr]
        for name in ("picture", "events", "outcomes", "engagements"):
            assert _rows(getattr(shared, name)) == _rows(getattr(own, name)), (arr, name)
        assert shared.stats == own.stats
    assert alone["wartime"].engagements.num_rows and any(alone["wartime"].engagements["killed"].to_pylist())


@pytest.fixture(scope="module")
def raid_short():
    """The bundled mixed raid cut to 25 minutes: one sensing pass, national and wartime alone."""
    scenario = load_scenario(resolve_scenario_path("mixed-raid")).with_changes(duration_s=1500.0)
    engine = Engine(scenario)
    result = engine.run()
    alone = {a: _c2(scenario, engine, result, a, world=engine.world) for a in ("national", "wartime")}
    return scenario, engine, result, alone
