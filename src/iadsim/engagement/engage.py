"""Engagements by surface-to-air fire units: at each decision cycle of the commanding node, threat
evaluation, weapon–target assignment, launch under a firing doctrine, flyout, kill draw, kill
assessment and re-engagement, magazines and reloads. All fire units and engagements as arrays.
Formulas, parameters and their sources: docs/models/engagement.md."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iadsim.engagement.assignment import assign_weapons
from iadsim.engagement.lar import LaunchRegion, Refusal, aspect_deg, launch_region
from iadsim.engagement.missile import (
    Intercept,
    MissileProfile,
    ground_and_height,
    kill_probability,
    missile_profile,
    predicted_intercept,
)
from iadsim.engagement.threat import threat_values
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.scenario.schema import EngagementSettings, FiringDoctrine, Scenario

__all__ = ["Engagement", "EngagementLog", "FireUnitTable", "RefusedEngagement", "fcr_holds",
           "fire_unit_table", "launch_acceptable", "plan_engagements", "resolve_engagements"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass
class FireUnitTable:
    """Fire units as parallel arrays of F rows, with their state during a run.

    Attributes:
        unit: unit ids. system: SAM system ids. nation: the unit's nation.
        position_m: ``(F, 3)`` local ENU metres (antenna at ground level plus its height).
        up: ``(F, 3)`` each unit's vertical (up unit vector) in the local frame: heights above a
            unit's level are measured along it (``missile.ground_and_height``).
        profile: the missiles' flyout profiles, ``(F,)`` fields. nominal_pk: ``(F,)``.
        regions: the launch acceptability regions of the missiles in use; region: ``(F,)`` the
            index of each unit's.
        channels: ``(F,)`` fire channels (targets engaged at once). salvo: ``(F,)`` missiles per
            engagement under the doctrine. reaction_s: ``(F,)`` from order to launch.
        fcr_range_m: ``(F,)`` the fire-control radar's range on the reference RCS at its reference Pd.
        fcr_reference_rcs_m2: ``(F,)``. fcr_height_m: ``(F,)`` antenna height.
        missiles: ``(F,)`` missiles on the launchers. reserve: ``(F,)`` missiles in reserve.
        busy: ``(F,)`` channels engaged. reload_done_s: ``(F,)`` when a running reload ends (NaN).
        fired: ``(F,)`` missiles fired so far. full_load: ``(F,)`` missiles on the launchers when
            full. dry: ``(F,)`` out of missiles with no reserve left.
    """

    unit: list[str]
    system: list[str]
    nation: list[str]
    position_m: Array
    profile: MissileProfile
    nominal_pk: Array
    channels: IntArray
    salvo: IntArray
    reaction_s: Array
    fcr_range_m: Array
    fcr_reference_rcs_m2: Array
    fcr_height_m: Array
    missiles: IntArray
    reserve: IntArray
    up: Array = field(default_factory=lambda: np.zeros((0, 3)))
    regions: tuple[LaunchRegion, ...] = ()
    region: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    busy: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reload_done_s: Array = field(default_factory=lambda: np.zeros(0))
    fired: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    full_load: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dry: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.unit)
        if not len(self.up):  # none given: units at the frame's origin, whose up axis is their vertical
            self.up = np.tile([0.0, 0.0, 1.0], (n, 1))
        elif np.shape(self.up) != (n, 3):
            raise ValueError(f"up must be ({n}, 3), one unit vector per fire unit; got {np.shape(self.up)}")
        if len(self.busy) != n:
            self.busy = np.zeros(n, dtype=np.int64)
            self.reload_done_s = np.full(n, np.nan)
            self.fired = np.zeros(n, dtype=np.int64)
            self.full_load = self.missiles.copy()
            self.dry = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.unit)


def fire_unit_table(scenario: Scenario, units: list[str], systems: list[str], launchers: IntArray,
                    position_m: Array, fcr_range_m: Array, fcr_reference_rcs_m2: Array,
                    fcr_height_m: Array, settings: EngagementSettings,
                    up: Array | None = None) -> FireUnitTable:
    """The fire units of a World (``world.fire_units``) ready for engagements.

    Args:
        units, systems: ``(F,)`` unit and SAM system ids. launchers: ``(F,)``.
        position_m: ``(F, 3)`` in the local frame. fcr_*: the fire-control radars' parameters.
        settings: the scenario's engagement settings (doctrine, reserve loads).
        up: ``(F, 3)`` each unit's up unit vector in the local frame (None: the frame's up axis,
            right only for units at the frame's origin).
    """
    if not units:
        raise ValueError("fire_unit_table needs at least one fire unit")
    cat = scenario.catalog
    profiles, pk, channels, per_launcher, reaction = [], [], [], [], []
    region_of: dict[str, int] = {}
    regions: list[LaunchRegion] = []
    region = []
    for system in systems:
        sam = cat.sam_systems[system]
        missile = cat.missiles[sam.missile]
        profiles.append(missile_profile(missile))
        if sam.missile not in region_of:
            region_of[sam.missile] = len(regions)
            regions.append(launch_region(missile))
        region.append(region_of[sam.missile])
        pk.append(missile.single_shot_pk if missile.single_shot_pk is not None else np.nan)
        channels.append(sam.fire_channels or 1)
        per_launcher.append(sam.missiles_per_launcher or 1)
        reaction.append(sam.reaction_time_s or 0.0)
    salvo = 2 if settings.doctrine == FiringDoctrine.salvo_of_two else 1
    load = np.asarray(launchers, dtype=np.int64) * np.asarray(per_launcher, dtype=np.int64)
    return FireUnitTable(
        unit=list(units), system=list(systems),
        nation=[scenario.units[u].nation for u in units], position_m=np.asarray(position_m, float),
        profile=MissileProfile.stack(profiles),
        nominal_pk=np.asarray(pk, dtype=np.float64), channels=np.asarray(channels, dtype=np.int64),
        salvo=np.full(len(units), salvo, dtype=np.int64), reaction_s=np.asarray(reaction, float),
        fcr_range_m=np.asarray(fcr_range_m, float),
        fcr_reference_rcs_m2=np.asarray(fcr_reference_rcs_m2, float),
        fcr_height_m=np.asarray(fcr_height_m, float), missiles=load,
        reserve=(load * int(settings.reserve_loads)).astype(np.int64),
        up=np.zeros((0, 3)) if up is None else np.asarray(up, dtype=np.float64),
        regions=tuple(regions), region=np.asarray(region, dtype=np.int64))


@dataclass
class Engagement:
    """One engagement: a fire unit's salvo at one threat."""

    fire_unit: int
    track_id: int
    target: int  # truth object index, -1 when the track holds none
    node: str
    order_s: float
    launch_s: float
    intercept_s: float
    assess_s: float
    missiles: int
    pk: float
    range_m: float
    killed: bool | None = None  # drawn at intercept


@dataclass(frozen=True)
class RefusedEngagement:
    """A fire unit not ordered to engage a track it holds within its missile's maximum range,
    because the launch lies outside the launch acceptability region (``reason``: a ``Refusal``)."""

    fire_unit: int
    track_id: int
    target: int
    node: str
    order_s: float
    range_m: float
    reason: Refusal


@dataclass
class EngagementLog:
    """All engagements of a run, in launch order, the pending ones and the refused ones (each
    fire unit, track and reason once, at its first cycle)."""

    engagements: list[Engagement] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # not yet assessed
    destroyed: set[int] = field(default_factory=set)  # truth objects killed so far
    refused: list[RefusedEngagement] = field(default_factory=list)
    refused_keys: set[tuple[str, int, int, str]] = field(default_factory=set)

    def engaged_tracks(self, node: str) -> set[int]:
        """Tracks of ``node`` with an engagement not yet assessed."""
        return {self.engagements[i].track_id for i in self.pending if self.engagements[i].node == node}

    def engaged_targets(self) -> set[int]:
        """Truth objects with an engagement not yet assessed."""
        return {self.engagements[i].target for i in self.pending if self.engagements[i].target >= 0}


def fcr_holds(fu: FireUnitTable, target_m: Array, target_rcs_m2: Array, target_agl_m: Array) -> BoolArray:
    """``(F, T)`` whether each fire unit's fire-control radar holds each target: within its range
    for the target's RCS (fourth-root scaling of the published range, at its reference Pd) and
    above its smooth-earth horizon (k = 4/3)."""
    d = target_m[None, :, :] - fu.position_m[:, None, :]
    ground, _ = ground_and_height(d, fu.up[:, None, :])
    slant = np.linalg.norm(d, axis=-1)
    reach = fu.fcr_range_m[:, None] * (target_rcs_m2[None, :] / fu.fcr_reference_rcs_m2[:, None]) ** 0.25
    horizon = horizon_distance_m(fu.fcr_height_m[:, None], target_agl_m[None, :])
    out: BoolArray = np.asarray((slant <= reach) & (ground <= horizon))
    return out


def launch_acceptable(fu: FireUnitTable, unit: IntArray, target_m: Array, target_vel_mps: Array,
                      ) -> tuple[BoolArray, NDArray[np.object_]]:
    """Whether N launches lie inside the launch acceptability region of their fire unit's missile
    (``iadsim.engagement.lar``), and the ``Refusal`` of those that do not (None where inside).

    Args:
        fu: the fire units. unit: ``(N,)`` fire-unit rows.
        target_m, target_vel_mps: ``(N, 3)`` the target at launch (local ENU, m, m/s).
    """
    # along each launcher's own vertical: height above its level, the earth's drop included
    ground, height = ground_and_height(target_m - fu.position_m[unit], fu.up[unit])
    speed = np.linalg.norm(target_vel_mps, axis=1)
    aspect = aspect_deg(target_m, target_vel_mps, fu.position_m[unit])
    reason = np.full(len(unit), None, dtype=object)
    for k, region in enumerate(fu.regions):
        rows = fu.region[unit] == k
        if rows.any():
            reason[rows] = region.refusal(ground[rows], height[rows], speed[rows], aspect[rows])
    inside: BoolArray = np.asarray(reason == None)  # noqa: E711 (elementwise on an object array)
    return inside, reason


def plan_engagements(fu: FireUnitTable, log: EngagementLog, node: str, t: float, tasked: BoolArray,
                     order_delay_s: Array, track_id: IntArray, state: Array, target: IntArray,
                     target_true_m: Array, target_rcs_m2: Array, target_agl_m: Array,
                     type_weight: Array, assets_m: Array, asset_value: Array,
                     settings: EngagementSettings, jamming_factor: Array | None = None) -> list[int]:
    """One decision cycle of ``node``: assign its free fire units to its hostile tracks and launch.

    Args:
        fu: the fire units (their state is updated: missiles, busy channels).
        log: the engagement log (appended to).
        node: the deciding node. t: its cycle time, seconds.
        tasked: ``(F,)`` the fire units this node may task now (rules, authority, links, not down).
        order_delay_s: ``(F,)`` from the node's decision to the order reaching each unit, seconds.
        track_id, state: ``(T,)`` and ``(T, 6)`` the hostile tracks of the node's picture (local
            ENU, m and m/s). target: ``(T,)`` the truth object each track holds (−1: none).
        target_true_m: ``(T, 3)`` the held objects' true positions now (NaN rows where none).
        target_rcs_m2, target_agl_m: ``(T,)`` their RCS and height above ground.
        type_weight: ``(T,)`` threat weight of each track's type. assets_m, asset_value: the
            defended assets ``(A, 3)`` and their values ``(A,)``.
        settings: doctrine, timings and the assignment method.
        jamming_factor: ``(T,)`` the Pk multiplier of each track's target for jamming (1: none).

    Returns:
        The indices (into ``log.engagements``) of the engagements launched.
    """
    busy_tracks = np.fromiter(log.engaged_tracks(node), dtype=np.int64)
    busy_targets = np.fromiter(log.engaged_targets(), dtype=np.int64)
    free = ~np.isin(track_id, busy_tracks) & ((target < 0) | ~np.isin(target, busy_targets))
    # two tracks on one object (an ambiguous picture) are one target for the fire-control radar:
    # only the first of them is offered
    held = np.flatnonzero(free & (target >= 0))
    _, first = np.unique(target[held], return_index=True)
    duplicate = np.ones(len(held), dtype=bool)
    duplicate[first] = False
    free[held[duplicate]] = False
    weapons = np.flatnonzero(tasked & (fu.busy < fu.channels) & (fu.missiles >= fu.salvo)
                             & np.isfinite(fu.nominal_pk))
    threats = np.flatnonzero(free)
    if not len(weapons) or not len(threats):
        return []
    w, j = np.meshgrid(weapons, threats, indexing="ij")
    launch = t + order_delay_s[w] + fu.reaction_s[w]
    ahead = state[j, :3] + state[j, 3:6] * (launch - t)[..., None]
    profile = fu.profile.take(w.ravel())
    vel = state[j, 3:6].reshape(-1, 3)
    # a unit is ordered to fire only inside its missile's launch acceptability region
    inside, reason = launch_acceptable(fu, w.ravel(), ahead.reshape(-1, 3), vel)
    held = np.zeros(w.shape, dtype=bool)
    valid = target[threats] >= 0
    if valid.any():
        holds = fcr_holds(fu, target_true_m[threats[valid]], target_rcs_m2[threats[valid]],
                          target_agl_m[threats[valid]])
        held[:, valid] = holds[weapons]
    # the intercept is predicted only for the pairs that may fire (held and inside the region): the
    # others get no shot whatever it is, and each row's prediction is its own
    hit = _intercepts(fu.position_m[w].reshape(-1, 3), fu.up[w].reshape(-1, 3), ahead.reshape(-1, 3),
                      vel, profile, np.asarray(held.ravel() & inside, dtype=bool))
    rng_m = np.linalg.norm(hit.point_m - fu.position_m[w].reshape(-1, 3), axis=1)
    frac = np.where(hit.feasible, rng_m / profile.max_range_m, np.nan)
    jam = np.ones(len(track_id)) if jamming_factor is None else np.asarray(jamming_factor, float)
    single = kill_probability(fu.nominal_pk[w].ravel(), frac, hit.feasible, jam[j].ravel())
    # a salvo's missiles are independent shots at one target (docs/models/engagement.md)
    shots = fu.salvo[w].ravel()
    pk = 1.0 - (1.0 - single) ** shots
    _log_refusals(fu, log, node, t, w.ravel(), j.ravel(), track_id, target, ahead.reshape(-1, 3),
                  np.asarray(held.ravel() & ~inside, dtype=bool), reason)
    pk = np.where(held.ravel() & hit.feasible & inside, pk, 0.0).reshape(w.shape)
    if not (pk > 0).any():
        return []
    values = threat_values(state[threats, :3], state[threats, 3:6], type_weight[threats], assets_m,
                           asset_value).value
    # a threat with no value left in the look-ahead is still engaged when it can be: a floor
    values = np.maximum(values, 1e-9)
    capacity = np.minimum(fu.channels[weapons] - fu.busy[weapons], fu.missiles[weapons] // fu.salvo[weapons])
    plan = assign_weapons(values, pk, capacity, method=settings.assignment)
    launched = []
    for a, b in zip(*np.nonzero(plan.shots), strict=True):
        f, k = int(weapons[a]), int(threats[b])
        tof = float(hit.time_of_flight_s.reshape(w.shape)[a, b])
        when = float(launch[a, b])
        n = int(fu.salvo[f])
        fu.missiles[f] -= n
        fu.fired[f] += n
        fu.busy[f] += 1
        log.engagements.append(Engagement(
            fire_unit=f, track_id=int(track_id[k]), target=int(target[k]), node=node, order_s=t,
            launch_s=when, intercept_s=when + tof, assess_s=when + tof + settings.kill_assessment_s,
            missiles=n, pk=float(pk[a, b]), range_m=float(rng_m.reshape(w.shape)[a, b])))
        log.pending.append(len(log.engagements) - 1)
        launched.append(len(log.engagements) - 1)
    return launched


def _intercepts(launcher_m: Array, launcher_up: Array, target_m: Array, target_vel_mps: Array,
                profile: MissileProfile, rows: BoolArray) -> Intercept:
    """``predicted_intercept`` of the N pairs where ``rows`` is true; none (infinite time of flight,
    NaN point, not feasible) elsewhere.

    Args:
        launcher_m, target_m, target_vel_mps: ``(N, 3)`` ENU metres and m/s. launcher_up: ``(N, 3)``
            each launcher's vertical. profile: ``(N,)``.
        rows: ``(N,)`` the pairs to predict.
    """
    n = len(rows)
    tof, point, feasible = np.full(n, np.inf), np.full((n, 3), np.nan), np.zeros(n, dtype=bool)
    at = np.flatnonzero(rows)
    if len(at):
        hit = predicted_intercept(launcher_m[at], target_m[at], target_vel_mps[at], profile.take(at),
                                  launcher_up=launcher_up[at])
        tof[at], point[at], feasible[at] = hit
    return Intercept(tof, point, feasible)


def _log_refusals(fu: FireUnitTable, log: EngagementLog, node: str, t: float, unit: IntArray,
                  threat: IntArray, track_id: IntArray, target: IntArray, ahead_m: Array,
                  candidate: BoolArray, reason: NDArray[np.object_]) -> None:
    """Record the launches refused by the launch region among those a maximum-range rule would
    allow (the fire-control radar holds the target, within the missile's maximum range), each fire
    unit, track and reason once."""
    slant = np.linalg.norm(ahead_m - fu.position_m[unit], axis=1)
    for i in np.flatnonzero(candidate & (slant <= fu.profile.max_range_m[unit])).tolist():
        f, k = int(unit[i]), int(threat[i])
        key = (node, f, int(track_id[k]), str(reason[i].name))
        if key in log.refused_keys:
            continue
        log.refused_keys.add(key)
        log.refused.append(RefusedEngagement(f, int(track_id[k]), int(target[k]), node, t,
                                             float(slant[i]), reason[i]))


def resolve_engagements(fu: FireUnitTable, log: EngagementLog, t: float, rng: np.random.Generator,
                        settings: EngagementSettings) -> tuple[list[int], list[tuple[float, str, int]]]:
    """Advance the engagements and magazines to ``t``: kill draws at intercept, channels freed at
    kill assessment, reloads started on an empty launcher set and finished after the reload time.

    Returns:
        The engagements whose intercept happened by ``t`` (their ``killed`` now drawn), and
        (time, kind, fire unit) magazine events (``reload_started``, ``reloaded``, ``out_of_missiles``).
    """
    intercepted = []
    due = [i for i in log.pending
           if log.engagements[i].killed is None and log.engagements[i].intercept_s <= t]
    # in intercept order (launch order on ties): a target two units fired at is destroyed once, and
    # the first missile to arrive gets the kill; one draw per engagement that meets a live target
    for i in sorted(due, key=lambda i: (log.engagements[i].intercept_s, i)):
        e = log.engagements[i]
        if e.target in log.destroyed:
            e.killed = False
        else:
            e.killed = bool(rng.random() < e.pk) and e.target >= 0
            if e.killed:
                log.destroyed.add(e.target)
        intercepted.append(i)
    still = []
    for i in log.pending:
        e = log.engagements[i]
        if e.killed is not None and e.assess_s <= t:
            fu.busy[e.fire_unit] -= 1
        else:
            still.append(i)
    log.pending = still
    events: list[tuple[float, str, int]] = []
    done = np.isfinite(fu.reload_done_s) & (fu.reload_done_s <= t)
    for f in np.flatnonzero(done).tolist():
        load = min(int(fu.reserve[f]), int(fu.full_load[f]) - int(fu.missiles[f]))
        fu.missiles[f] += load
        fu.reserve[f] -= load
        fu.reload_done_s[f] = np.nan
        events.append((float(t), "reloaded", f))
    empty = (fu.missiles < fu.salvo) & ~np.isfinite(fu.reload_done_s) & ~fu.dry
    for f in np.flatnonzero(empty).tolist():
        if fu.reserve[f] > 0:
            fu.reload_done_s[f] = t + settings.reload_time_s
            events.append((float(t), "reload_started", f))
        else:
            fu.dry[f] = True
            events.append((float(t), "out_of_missiles", f))
    return intercepted, events
