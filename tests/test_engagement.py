"""Engagements: the predicted range, saturation by hand, magazines running dry, the C2 pass in wartime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iadsim.analysis.outcomes import outcome_table
from iadsim.engagement.engage import (
    EngagementLog,
    _intercepts,
    fire_unit_table,
    plan_engagements,
    resolve_engagements,
)
from iadsim.engagement.missile import missile_profile, predicted_intercept, time_of_flight_s
from iadsim.scenario.loader import load_scenario, resolve_scenario_path
from iadsim.scenario.schema import FiringDoctrine
from iadsim.sim.random import Stage, stream

CYCLE_S = 10.0


@pytest.fixture(scope="module")
def reference():
    return load_scenario(resolve_scenario_path("reference-2020"))


def _battalion(scenario, system="s300ps", launchers=8, *, pk=None, reserve_loads=0,
               doctrine=FiringDoctrine.shoot_look_shoot):
    """One fire unit of ``system`` at the origin, FCR seeing everything within 500 km."""
    if pk is not None:  # the same missile with another nominal Pk
        sam = scenario.catalog.sam_systems[system]
        missile = scenario.catalog.missiles[sam.missile].model_copy(update={"single_shot_pk": pk})
        missiles = {**scenario.catalog.missiles, sam.missile: missile}
        scenario = scenario.with_changes(catalog=scenario.catalog.model_copy(update={"missiles": missiles}))
    settings = scenario.engagement.model_copy(update={"reserve_loads": reserve_loads, "doctrine": doctrine})
    unit = next(u for u, x in scenario.units.items() if x.nation == "BLR")
    fu = fire_unit_table(scenario, [unit], [system], np.asarray([launchers]), np.zeros((1, 3)),
                         np.asarray([500e3]), np.asarray([1.0]), np.asarray([20.0]), settings)
    return scenario, fu, settings


def _cycle(fu, log, settings, t, positions, velocities, alive, rng):
    """One 10 s decision cycle with a perfect picture: every live target is a hostile track.
    Returns the engagements launched and the magazine events."""
    _, events = resolve_engagements(fu, log, t, rng, settings)
    for e in log.engagements:
        if e.killed and e.intercept_s <= t:
            alive[e.target] = False
    idx = np.flatnonzero(alive)
    state = np.hstack([positions[idx], velocities[idx]])
    launched = plan_engagements(fu, log, "cmd", t, np.ones(1, dtype=bool), np.zeros(1), idx.astype(np.int64),
                                state, idx.astype(np.int64), positions[idx], np.full(len(idx), 5.0),
                                positions[idx, 2], np.ones(len(idx)), np.zeros((1, 3)), np.ones(1), settings)
    return launched, [kind for _, kind, _ in events], [when for when, _, _ in events]


def test_intercepts_of_the_pairs_that_may_fire_are_those_of_all_pairs(reference):
    """The planner predicts intercepts only for the pairs that may fire: each of their rows is what
    a prediction of all pairs gives, to the bit, and the others have none."""
    scenario = reference
    rng = np.random.default_rng(3)
    names = ["s300ps_5v55r", "s400_48n6dm", "tor_m2_9m338"]
    profiles = [missile_profile(scenario.catalog.missiles[n]) for n in names]
    n = 300
    kind = rng.integers(0, len(names), n)
    profile = profiles[0].take(np.zeros(n, dtype=np.int64))
    for f in profile.__dataclass_fields__:
        getattr(profile, f)[:] = np.asarray([getattr(profiles[k], f) for k in kind])
    launcher = np.column_stack([rng.uniform(-5e4, 5e4, (n, 2)), rng.uniform(0.0, 300.0, n)])
    target = launcher + np.column_stack([rng.uniform(-3e5, 3e5, (n, 2)), rng.uniform(50.0, 2e4, n)])
    vel = np.column_stack([rng.uniform(-700.0, 700.0, (n, 2)), rng.uniform(-30.0, 30.0, n)])
    rows = rng.random(n) < 0.4
    # each launcher's vertical a few degrees off the frame's up axis, as far from the frame's origin
    tilt = rng.uniform(-0.08, 0.08, (n, 2))
    up = np.column_stack([tilt, np.ones(n)]) / np.linalg.norm(np.column_stack([tilt, np.ones(n)]), axis=1)[:, None]
    some = _intercepts(launcher, up, target, vel, profile, rows)
    every = predicted_intercept(launcher, target, vel, profile, launcher_up=up)
    assert every.feasible[rows].any() and (~every.feasible[rows]).any()  # both kinds among the rows
    for got, want in zip(some, every, strict=True):
        assert np.array_equal(got[rows], want[rows], equal_nan=True)
    assert np.all(np.isinf(some.time_of_flight_s[~rows])) and np.all(np.isnan(some.point_m[~rows]))
    assert not some.feasible[~rows].any()
    assert not _intercepts(launcher, up, target, vel, profile, np.zeros(n, dtype=bool)).feasible.any()


def test_a_single_target_is_engaged_at_the_predicted_range(reference):
    scenario, fu, settings = _battalion(reference)
    profile = missile_profile(scenario.catalog.missiles["s300ps_5v55r"])
    start = np.asarray([[150e3, 0.0, 5000.0]])
    vel = np.asarray([[-250.0, 0.0, 0.0]])
    log, rng = EngagementLog(), stream(1, 0, Stage.engagement)
    alive = np.ones(1, dtype=bool)
    first = None
    for k in range(120):
        t = k * CYCLE_S
        if _cycle(fu, log, settings, t, start + vel * t, vel, alive, rng)[0] and first is None:
            first = t
            break
    assert first is not None
    e = log.engagements[0]
    reaction = scenario.catalog.sam_systems["s300ps"].reaction_time_s
    assert e.launch_s == first + reaction
    # by hand: the first cycle at which the missile launched after the reaction time reaches the
    # target within its maximum range; it meets it at the range the flyout model predicts
    ahead = start + vel * e.launch_s
    hit = predicted_intercept(np.zeros((1, 3)), ahead, vel, profile)
    assert hit.feasible[0]
    assert e.range_m == pytest.approx(np.linalg.norm(hit.point_m[0]), rel=1e-9)
    before = start + vel * (e.launch_s - CYCLE_S)
    assert not predicted_intercept(np.zeros((1, 3)), before, vel, profile).feasible[0]
    # so the intercept is within one cycle's closing distance of the maximum range
    closing = 250.0 * CYCLE_S
    assert profile.max_range_m - closing * 1.5 <= e.range_m <= profile.max_range_m
    assert e.intercept_s == pytest.approx(e.launch_s + float(time_of_flight_s(profile, e.range_m)), abs=0.5)


def test_a_raid_larger_than_channels_times_cycles_leaks_as_computed_by_hand(reference):
    # certain kills (Pk 1) against targets hovering at 20 km for 120 s: each engagement holds a
    # channel from its order to its kill assessment, and the channel is tasked again at the next cycle
    scenario, fu, settings = _battalion(reference, pk=1.0)
    channels = int(fu.channels[0])
    n_targets, stay_s, distance = 40, 120.0, 20e3
    angle = np.linspace(0, np.pi / 2, n_targets)
    pos = np.column_stack([distance * np.cos(angle), distance * np.sin(angle), np.full(n_targets, 3000.0)])
    vel = np.zeros((n_targets, 3))
    profile = missile_profile(scenario.catalog.missiles["s300ps_5v55r"])
    reaction = scenario.catalog.sam_systems["s300ps"].reaction_time_s
    busy = reaction + float(time_of_flight_s(profile, np.hypot(distance, 3000.0))) + settings.kill_assessment_s
    period = math.ceil(busy / CYCLE_S) * CYCLE_S  # from one order to the next on the same channel
    rounds = math.floor((stay_s - 1e-9) / period) + 1  # orders at 0, period, ... before the raid leaves
    expected_kills = min(n_targets, channels * rounds)
    log, rng = EngagementLog(), stream(2, 0, Stage.engagement)
    alive = np.ones(n_targets, dtype=bool)
    t = 0.0
    while t < stay_s:
        _cycle(fu, log, settings, t, pos, vel, alive, rng)
        t += CYCLE_S
    resolve_engagements(fu, log, 1e9, rng, settings)  # the missiles in flight arrive
    kills = sum(bool(e.killed) for e in log.engagements)
    assert n_targets > channels * rounds  # the raid saturates the battalion
    assert kills == expected_kills
    assert n_targets - kills == n_targets - channels * rounds  # the leakers


def test_a_battalion_runs_dry_and_stops_firing(reference):
    _, fu, settings = _battalion(reference, launchers=1, pk=0.5)
    load = int(fu.missiles[0])
    n = 30
    pos = np.column_stack([np.full(n, 30e3), np.linspace(-5e3, 5e3, n), np.full(n, 3000.0)])
    vel = np.zeros((n, 3))
    log, rng = EngagementLog(), stream(3, 0, Stage.engagement)
    alive = np.ones(n, dtype=bool)
    events = []
    for k in range(100):
        t = k * CYCLE_S
        events += _cycle(fu, log, settings, t, pos, vel, alive, rng)[1]
    assert sum(e.missiles for e in log.engagements) == load == int(fu.fired[0])
    assert fu.missiles[0] == 0 and fu.dry[0]
    assert "out_of_missiles" in events and "reload_started" not in events
    assert alive.sum() > 0  # targets were left when it ran dry


def test_a_reserve_reloads_after_the_reload_time(reference):
    _, fu, settings = _battalion(reference, launchers=1, pk=0.5, reserve_loads=1)
    load = int(fu.missiles[0])
    n = 40
    pos = np.column_stack([np.full(n, 30e3), np.linspace(-5e3, 5e3, n), np.full(n, 3000.0)])
    log, rng = EngagementLog(), stream(4, 0, Stage.engagement)
    alive = np.ones(n, dtype=bool)
    started = reloaded = None
    for k in range(400):
        t = k * CYCLE_S
        _, kinds, times = _cycle(fu, log, settings, t, pos, np.zeros((n, 3)), alive, rng)
        for when, kind in zip(times, kinds, strict=True):
            if kind == "reload_started" and started is None:
                started = when
            if kind == "reloaded" and reloaded is None:
                reloaded = when
    assert started is not None and reloaded is not None
    assert reloaded - started == pytest.approx(settings.reload_time_s, abs=CYCLE_S)
    # it fired its first load, reloaded once from the reserve and fired again: no more than two loads
    assert load < int(fu.fired[0]) <= 2 * load
    # no order while the launchers were being reloaded (launches ordered before may still leave)
    assert not any(started <= e.order_s < reloaded for e in log.engagements)


def test_a_salvo_of_two_fires_two_missiles_with_the_salvo_kill_probability(reference):
    _, fu, settings = _battalion(reference, pk=0.7, doctrine=FiringDoctrine.salvo_of_two)
    pos = np.asarray([[20e3, 0.0, 3000.0]])
    log, rng = EngagementLog(), stream(5, 0, Stage.engagement)
    _cycle(fu, log, settings, 0.0, pos, np.zeros((1, 3)), np.ones(1, dtype=bool), rng)
    e = log.engagements[0]
    assert e.missiles == 2 and e.pk == pytest.approx(1 - 0.3**2)


def test_jamming_lowers_the_kill_probability_by_its_factor(reference):
    _, fu, settings = _battalion(reference, pk=0.8)
    pos = np.asarray([[20e3, 0.0, 3000.0], [20e3, 2e3, 3000.0]])
    log = EngagementLog()
    idx = np.arange(2, dtype=np.int64)
    state = np.hstack([pos, np.zeros((2, 3))])
    plan_engagements(fu, log, "cmd", 0.0, np.ones(1, dtype=bool), np.zeros(1), idx, state, idx, pos,
                     np.full(2, 5.0), pos[:, 2], np.ones(2), np.zeros((1, 3)), np.ones(1), settings,
                     np.asarray([1.0, settings.jammed_pk_factor]))
    pk = {e.track_id: e.pk for e in log.engagements}
    assert pk[0] == pytest.approx(0.8) and pk[1] == pytest.approx(0.8 * settings.jammed_pk_factor)


def test_two_tracks_on_one_object_are_engaged_once(reference):
    _, fu, settings = _battalion(reference, pk=0.8)
    pos = np.asarray([[20e3, 0.0, 3000.0], [20.3e3, 0.0, 3000.0]])  # a duplicated track
    state = np.hstack([pos, np.zeros((2, 3))])
    log = EngagementLog()
    plan_engagements(fu, log, "cmd", 0.0, np.ones(1, dtype=bool), np.zeros(1), np.asarray([4, 9]), state,
                     np.asarray([0, 0]), pos[[0, 0]], np.full(2, 5.0), pos[:, 2], np.ones(2),
                     np.zeros((1, 3)), np.ones(1), settings)
    assert [e.track_id for e in log.engagements] == [4]


def test_a_target_two_units_fire_at_is_destroyed_once(reference):
    scenario, fu, settings = _battalion(reference, pk=0.5)
    two = fire_unit_table(scenario, fu.unit * 2, fu.system * 2, np.asarray([8, 8]), np.zeros((2, 3)),
                          np.full(2, 500e3), np.ones(2), np.full(2, 20.0), settings)
    pos = np.asarray([[20e3, 0.0, 3000.0]])
    log, rng = EngagementLog(), stream(8, 0, Stage.engagement)
    # a single target of high value: the assignment gives it both units' shots
    plan_engagements(two, log, "cmd", 0.0, np.ones(2, dtype=bool), np.zeros(2), np.asarray([1]),
                     np.hstack([pos, np.zeros((1, 3))]), np.asarray([0]), pos, np.full(1, 5.0), pos[:, 2],
                     np.ones(1), np.zeros((1, 3)), np.ones(1), settings)
    assert len(log.engagements) == 2
    for e in log.engagements:  # both missiles would kill: only the first to arrive is credited
        e.pk = 1.0
    resolve_engagements(two, log, 1e9, rng, settings)
    assert [e.killed for e in log.engagements] == [True, False] and log.destroyed == {0}


def test_kill_draws_match_the_kill_probability(reference):
    """Statistical: 2 000 single shots at Pk 0.7; the kill share within 3 standard deviations."""
    _, fu, settings = _battalion(reference, pk=0.7)
    n = 2000
    kills = 0
    rng = stream(6, 0, Stage.engagement)
    for _ in range(n // 10):
        fu.missiles[:] = 100
        fu.busy[:] = 0
        log = EngagementLog()
        pos = np.column_stack([np.full(10, 20e3), np.linspace(-3e3, 3e3, 10), np.full(10, 3000.0)])
        fu.channels[:] = 10
        _cycle(fu, log, settings, 0.0, pos, np.zeros((10, 3)), np.ones(10, dtype=bool), rng)
        resolve_engagements(fu, log, 1e9, rng, settings)
        kills += sum(bool(e.killed) for e in log.engagements)
    assert abs(kills / n - 0.7) <= 3 * math.sqrt(0.7 * 0.3 / n)


@pytest.fixture(scope="module")
def raid():
    """The bundled mixed raid cut to 25 minutes, one sensing pass, the wartime C2 pass."""
    from iadsim.c2 import run_c2
    from iadsim.sim.engine import Engine

    scenario = load_scenario(resolve_scenario_path("mixed-raid")).with_changes(duration_s=1500.0)
    engine = Engine(scenario)
    result = engine.run()
    out = run_c2(scenario, result.detections, result.truth, result.objects,
                 engine.radars, "wartime", world=engine.world, terrain=engine.terrain)
    out.outcomes = outcome_table(scenario, out, result.detections, result.objects)
    return scenario, result, out


def test_no_track_outlives_its_object_by_more_than_the_report_age_and_a_coasting_spell(raid):
    """A track every radar lost is not echoed between nodes: once no picture row of it follows an
    object, it goes within max_report_age_s plus a coasting spell (bounded here by 120 s). Before
    the data-age rule and max_coast_s, the stand-off jammer's track and a destroyed cruise missile's
    coasted on, echoed between nodes, to the end of the raid."""
    scenario, _, out = raid
    rows = out.picture.select(["node", "track_id", "time_s", "object_id"]).to_pylist()
    last_seen: dict[tuple[str, int], float] = {}
    last_row: dict[tuple[str, int], float] = {}
    for row in rows:
        key = (row["node"], row["track_id"])
        last_row[key] = max(last_row.get(key, -1.0), row["time_s"])
        if row["object_id"] is not None:
            last_seen[key] = max(last_seen.get(key, -1.0), row["time_s"])
    bound = scenario.c2.max_report_age_s + 120.0
    overlong = {k: last_row[k] - t for k, t in last_seen.items() if last_row[k] - t > bound}
    assert not overlong


def test_wartime_pass_engages_and_kills_leave_the_picture(raid):
    scenario, _, out = raid
    eng = out.engagements.to_pylist()
    assert eng, "the raid is engaged"
    assert out.stats["missiles_expended"] == sum(e["missiles"] for e in eng)
    assert sum(out.stats["kills_by_unit"].values()) == sum(bool(e["killed"]) for e in eng)
    killed = {e["object_id"]: e["intercept_s"] for e in eng if e["killed"]}
    assert killed
    assert len(killed) == sum(bool(e["killed"]) for e in eng)  # nothing is destroyed twice
    # no picture holds a destroyed object after its destruction (a cycle and the report latency later)
    late = scenario.c2.node_cycle_s + scenario.c2.sensor_report_latency_s
    for row in out.picture.to_pylist():
        if row["object_id"] in killed:
            assert row["time_s"] <= killed[row["object_id"]] + late
    outcomes = {o["object_id"]: o for o in out.outcomes.to_pylist()}
    for oid in killed:
        if oid in outcomes:
            assert outcomes[oid]["killed_s"] == pytest.approx(min(e["intercept_s"] for e in eng
                                                                 if e["object_id"] == oid and e["killed"]))
            assert not outcomes[oid]["leaker"]
    # every launch follows the designation of its track as hostile at the deciding node
    hostile = {(e["node"], e["track_id"]): e["time_s"] for e in out.events.to_pylist()
               if e["kind"] == "designated_hostile"}
    assert all(e["order_s"] >= hostile[(e["node"], e["track_id"])] for e in eng)


def test_the_run_report_of_a_raid_shows_engagements_and_the_saturation_curve(tmp_path):
    import json

    import pyarrow.parquet as pq

    from iadsim.report import render_run_report
    from iadsim.runs import run_scenario

    scenario = load_scenario(resolve_scenario_path("mixed-raid"))
    assert scenario.saturation_scales  # the bundled raid asks for the curve
    short = scenario.with_changes(duration_s=1300.0, saturation_scales=[0.5, 1.0])
    result = render_run_report(run_scenario(short, tmp_path, coverage=None))
    html = result.report.read_text(encoding="utf-8")
    assert "<h4>Engagements</h4>" in html and "missiles expended" in html
    assert "Saturation curve" in html and "leakers against raid size" in html
    curve = pq.read_table(result.folder / "saturation.parquet").to_pylist()
    assert [r["scale"] for r in curve] == [0.5, 1.0]
    assert curve[0]["raid_objects"] < curve[1]["raid_objects"]
    assert all(r["leakers"] <= r["entered"] and r["destroyed"] + r["leakers"] == r["entered"] for r in curve)
    summary = json.loads((result.folder / "summary.json").read_text())
    engagements = pq.read_table(result.folder / "engagements.parquet")
    assert summary["c2"]["missiles_expended"] == sum(engagements["missiles"].to_pylist()) > 0
    # the full-size point of the curve is the run itself (same seed, replication and scenario)
    assert curve[1]["missiles"] == summary["c2"]["missiles_expended"]


def test_a_pair_fires_air_to_air_missiles_one_at_a_time_at_a_hostile_target():
    from iadsim.engagement.air import AirToAir
    from iadsim.engagement.missile import missile_profile

    scenario = load_scenario(resolve_scenario_path("reference-2020"))
    r27 = missile_profile(scenario.catalog.missiles["r27r"])
    air = AirToAir(missiles_per_pair=3, launch_fraction=0.8)
    rng = stream(7, 0, Stage.engagement)
    me = np.zeros((1, 3))
    tgt_vel = np.asarray([[-200.0, 0.0, 0.0]])
    shots_at = []
    for k in range(200):
        t = float(k)
        target = np.asarray([[80e3, 0.0, 3000.0]]) + tgt_vel * t
        fired = air.fire(t, np.asarray([0]), me, np.asarray([5]), target, tgt_vel, np.asarray([1]), ["n"],
                         ["r27r"], r27, np.asarray([0.5]))
        shots_at += [t for _ in fired]
        for i in air.resolve(t, rng):
            if air.shots[i].killed:
                break
        else:
            continue
        break
    first = air.shots[0]
    # the first shot inside 80 % of the maximum range, not before
    start_range = 80e3 - 200.0 * first.launch_s
    assert start_range <= 0.8 * float(r27.max_range_m) < start_range + 200.0 + 1.0
    # one missile in the air at a time: each launch after the previous intercept
    for a, b in zip(air.shots, air.shots[1:], strict=False):
        assert b.launch_s >= a.intercept_s
    assert len(air.shots) <= 3 and air.left[0] == 3 - len(air.shots)


def test_wartime_interceptors_shoot_down_a_hostile_violator_when_no_fire_unit_can():
    from iadsim.c2 import run_c2
    from iadsim.sim.engine import Engine

    scenario = load_scenario(resolve_scenario_path("air-policing-violation")).with_changes(duration_s=2400.0)
    engine = Engine(scenario)
    result = engine.run()
    no_sams = engine.world.select(fire_units=np.zeros(len(engine.world.fire_units), dtype=bool))
    out = run_c2(scenario, result.detections, result.truth, result.objects, engine.radars,
                 "wartime", world=no_sams)
    events = out.events.to_pylist()
    kinds = [e["kind"] for e in events]
    assert "launch" not in kinds  # no fire unit
    shots = [e for e in events if e["kind"] == "air_to_air_launch"]
    assert shots, "the pair fires at the hostile violator"
    hostile = min(e["time_s"] for e in events if e["kind"] == "designated_hostile" and e["object_id"] == "violator")
    acquired = min(e["time_s"] for e in events if e["kind"] == "radar_acquisition")
    assert all(s["time_s"] >= max(hostile, acquired) for s in shots)
    assert len(shots) <= scenario.engagement.fighter_missiles_per_pair
    eng = out.engagements.to_pylist()
    assert len(eng) == len(shots) and all(e["system"] == "r27r" for e in eng)
    outcomes = outcome_table(scenario, out, result.detections, result.objects)
    violator = next(o for o in outcomes.to_pylist() if o["object_id"] == "violator")
    assert violator["missiles"] == len(shots)
    assert violator["leaker"] == (not any(e["killed"] for e in eng))


def _one_cycle(fu, settings, pos, vel):
    log = EngagementLog()
    state = np.hstack([pos, vel])
    n = len(pos)
    plan_engagements(fu, log, "cmd", 0.0, np.ones(1, dtype=bool), np.zeros(1), np.arange(n), state,
                     np.arange(n), pos, np.full(n, 5.0), pos[:, 2], np.ones(n), np.zeros((1, 3)),
                     np.ones(1), settings)
    return log


@pytest.mark.parametrize("aspect", ["crossing", "receding"])
def test_the_engine_refuses_outside_the_launch_region_and_takes_inside(reference, aspect):
    """A fighter inside the missile's maximum range but outside the launch region for its aspect is
    refused, with the reason; just inside the region's far edge it is engaged."""
    from iadsim.engagement.lar import Aspect, Refusal, launch_region

    scenario, fu, settings = _battalion(reference, system="s300pmu1")
    sam = scenario.catalog.sam_systems["s300pmu1"]
    region = launch_region(scenario.catalog.missiles[sam.missile])
    reaction = sam.reaction_time_s or 0.0
    speed, height = {"crossing": 600.0, "receding": 250.0}[aspect], 8000.0
    far = float(region.edges_m(height, speed, Aspect(aspect).degrees)[1])
    assert far < 140e3  # inside the 150 km maximum range: a range rule would fire
    heading = {"crossing": np.array([0.0, 1.0, 0.0]), "receding": np.array([1.0, 0.0, 0.0])}[aspect]
    vel = (speed * heading)[None, :]
    for ground, engaged in ((far + 3e3, False), (far - 3e3, True)):
        # where the target is at launch (after the reaction time): ground distance from the unit
        at_launch = np.array([[ground, 0.0, height]])
        pos = at_launch - vel * reaction
        log = _one_cycle(fu, settings, pos, vel)
        assert bool(log.engagements) is engaged, (aspect, ground)
        if not engaged:
            [refused] = log.refused
            assert refused.reason is Refusal.beyond
            assert refused.range_m < 150e3


def test_refusals_are_recorded_once_per_unit_track_and_reason(reference):
    _, fu, settings = _battalion(reference, system="s300pmu1")
    pos = np.array([[140e3, 0.0, 8000.0]])
    vel = np.array([[250.0, 0.0, 0.0]])
    log = _one_cycle(fu, settings, pos, vel)
    state = np.hstack([pos, vel])
    plan_engagements(fu, log, "cmd", 10.0, np.ones(1, dtype=bool), np.zeros(1), np.arange(1), state,
                     np.arange(1), pos, np.full(1, 5.0), pos[:, 2], np.ones(1), np.zeros((1, 3)),
                     np.ones(1), settings)
    assert len(log.refused) == 1 and not log.engagements


@pytest.mark.parametrize(("bearing_deg", "altitude_m", "refused_on_the_frames_axis"), [
    (270.0, 200.0, True), (90.0, 200.0, False), (270.0, 26_500.0, False), (90.0, 26_500.0, True)])
def test_a_unit_far_from_the_frames_origin_measures_height_along_its_own_vertical(
        reference, bearing_deg, altitude_m, refused_on_the_frames_axis):
    """The engine's frame is centred on the sensors; a unit 380 km from its centre (Kaliningrad from
    central Belarus) stands 3.4° off its up axis. Heights are measured along the unit's vertical:
    a target 200 m up (or 500 m under the ceiling) 60 km away, on either side, is engaged. Along
    the frame's up axis it was put 3.6 km lower on the far side, 3.6 km higher on the near side:
    refused below the floor or above the ceiling."""
    from pyproj import Geod

    from iadsim.geo import geodetic_to_ecef
    from iadsim.geo.frames import ecef_to_enu, enu_rotation, enu_rotations

    origin, site = (54.0, 26.0), (54.7, 20.5)
    settings = reference.engagement.model_copy(update={"reserve_loads": 0})
    unit = next(u for u, x in reference.units.items() if x.nation == "BLR")
    position = ecef_to_enu(geodetic_to_ecef(*site, 0.0), *origin)
    up = enu_rotations(*site)[:, 2, :] @ enu_rotation(*origin).T
    fu = fire_unit_table(reference, [unit], ["s300ps"], np.asarray([8]), position, np.asarray([500e3]),
                         np.asarray([1.0]), np.asarray([20.0]), settings, up=up)
    lon, lat, _ = Geod(ellps="WGS84").fwd(site[1], site[0], bearing_deg, 60e3)
    target = ecef_to_enu(geodetic_to_ecef(lat, lon, altitude_m), *origin)
    toward = ecef_to_enu(geodetic_to_ecef(*site, altitude_m), *origin) - target  # approaching
    vel = 250.0 * toward / np.linalg.norm(toward)
    log = EngagementLog()
    plan_engagements(fu, log, "cmd", 0.0, np.ones(1, dtype=bool), np.zeros(1), np.arange(1),
                     np.hstack([target, vel]), np.arange(1), target, np.full(1, 5.0), np.full(1, altitude_m),
                     np.ones(1), np.zeros((1, 3)), np.ones(1), settings)
    assert not log.refused, [r.reason for r in log.refused]
    assert len(log.engagements) == 1
    # the same unit measured along the frame's up axis refuses it for its altitude
    flat = fire_unit_table(reference, [unit], ["s300ps"], np.asarray([8]), position, np.asarray([500e3]),
                           np.asarray([1.0]), np.asarray([20.0]), settings)
    log = EngagementLog()
    plan_engagements(flat, log, "cmd", 0.0, np.ones(1, dtype=bool), np.zeros(1), np.arange(1),
                     np.hstack([target, vel]), np.arange(1), target, np.full(1, 5.0), np.full(1, altitude_m),
                     np.ones(1), np.zeros((1, 3)), np.ones(1), settings)
    assert [str(r.reason.name) for r in log.refused] == (["altitude"] if refused_on_the_frames_axis else [])


@pytest.fixture(scope="module")
def full_raid():
    """The whole bundled mixed raid, replication 0 (run_replication: sensing and C2 passes)."""
    from iadsim.pipeline import run_replication

    return run_replication(load_scenario(resolve_scenario_path("mixed-raid")))


def test_fire_control_radars_see_targets_at_their_height_above_the_ground(monkeypatch):
    """The fire-control radar's horizon takes the target's height above the ground (truth less the
    terrain). The shared frame's up coordinate, passed before, falls below zero a few hundred km
    from the frame's centre: far units then held low targets only as if at ground level."""
    from iadsim.c2 import run_c2
    from iadsim.engagement import engage
    from iadsim.sim.engine import Engine

    seen: list[np.ndarray] = []
    real = engage.fcr_holds

    def spy(fu, target_m, rcs, target_agl_m):
        seen.append(np.asarray(target_agl_m, dtype=float))
        return real(fu, target_m, rcs, target_agl_m)

    monkeypatch.setattr(engage, "fcr_holds", spy)
    scenario = load_scenario(resolve_scenario_path("mixed-raid")).with_changes(duration_s=900.0)
    engine = Engine(scenario)
    result = engine.run()
    run_c2(scenario, result.detections, result.truth, result.objects, engine.radars, "wartime",
           world=engine.world, terrain=engine.terrain)
    heights = np.concatenate(seen)
    assert len(heights) > 10
    # every raid object flies above the ground (cruise missiles at 30 m and up)
    assert heights.min() > 0.0, heights.min()


def test_no_pair_takes_off_after_its_target_was_destroyed(full_raid):
    """A pair ordered against a track whose object a fire unit destroys before the pair is airborne
    stands down (an event) and is free again; none takes off to chase a destroyed object (the
    whole mixed raid: its first 25 minutes have no such pair)."""
    events = full_raid.c2_events.to_pylist()
    killed = {e["object_id"]: e["time_s"] for e in events if e["kind"] == "kill"}
    by_flight: dict[str, dict[str, dict]] = {}
    for e in events:
        if e["kind"] in ("scramble_order", "airborne", "stand_down"):
            by_flight.setdefault(e["subject"], {})[e["kind"]] = e
    stood_down = [f for f, kinds in by_flight.items() if "stand_down" in kinds]
    assert stood_down, "the raid has pairs ordered against objects destroyed before take-off"
    for flight, kinds in by_flight.items():
        obj = kinds["scramble_order"]["object_id"]
        if "airborne" in kinds and obj in killed:
            assert kinds["airborne"]["time_s"] <= killed[obj] + 10.0, flight  # within a C2 step
        if "stand_down" in kinds:
            assert "airborne" not in kinds and killed[obj] <= kinds["stand_down"]["time_s"], flight
