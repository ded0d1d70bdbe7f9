"""The interceptors stage of the C2 pass: every ordered pair flies a clock step (ground control
onto its node's track, then its own radar), visual identification and shadowing, and under wartime
rules air-to-air shots at targets its node holds as hostile. Kinematics: ``policing``;
docs/models/c2.md, docs/models/engagement.md."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iadsim.c2.decisions import jammed_lately
from iadsim.c2.policing import Phase, step_interceptors
from iadsim.c2.state import C2State, Identity
from iadsim.engagement.missile import MissileProfile, missile_profile

__all__ = ["air_to_air", "air_to_air_missile", "fly", "stand_down"]

Array = NDArray[np.float64]


def fly(state: C2State, k: int) -> None:
    """Advance every pair from clock step ``k`` to ``k + 1``: steered on its node's current picture
    track (or its last aim point when the picture lost it), then the air-to-air shots."""
    ic = state.interceptors
    if not len(ic):
        return
    t0, t1 = float(state.times_s[k]), float(state.times_s[k + 1])
    stand_down(state, t0)
    aim = np.full((len(ic), 3), np.nan)
    aim_vel = np.full((len(ic), 3), np.nan)
    last = state.aims()
    steering = np.asarray(ic.node)
    for name in sorted(set(ic.node)):  # the deciding nodes steering pairs: a handful
        picture = state.nodes[name].current
        if picture is not None and name not in state.down and len(picture):
            at = np.minimum(np.searchsorted(picture.track_id, ic.track_id), len(picture) - 1)  # ids sorted
            held = (steering == name) & (picture.track_id[at] == ic.track_id)
            aim[held], aim_vel[held] = picture.state[at[held], :3], picture.state[at[held], 3:6]
            last[held] = aim[held]
    lost = ~np.all(np.isfinite(aim), axis=1) & np.all(np.isfinite(last), axis=1)
    aim[lost], aim_vel[lost] = last[lost], 0.0
    target = ic.target
    valid = target >= 0
    tgt0 = np.full((len(ic), 3), np.nan)
    tgt1 = np.full((len(ic), 3), np.nan)
    tgt0[valid] = state.truth.enu[k, target[valid]]
    tgt1[valid] = state.truth.enu[k + 1, target[valid]]
    s = state.settings
    for when, j, kind in step_interceptors(ic, t0, t1, aim, aim_vel, tgt0, tgt1,
                                           s.onboard_acquisition_range_m,
                                           s.visual_identification_range_m, s.shadow_s):
        state.event(when, kind, ic.node[j], f"{ic.unit[j]}/{ic.aircraft[j]}/{j}", int(ic.track_id[j]),
                    int(ic.target[j]))
    if state.air is not None:
        air_to_air(state, k, t1, tgt1)
    flying = np.flatnonzero((ic.phase != Phase.ordered) & (ic.phase != Phase.done))
    if len(flying):
        state.interceptor_rows.append((t1, flying, ic.position_m[flying], ic.phase[flying].astype(np.int64)))


def stand_down(state: C2State, t: float) -> None:
    """Recall the pairs still on the ground whose target has been destroyed (by a fire unit or
    another pair): the order is cancelled, the pair is free for the next track, and a
    ``stand_down`` event says so. A pair in the air flies its mission out (it may still identify
    what is left)."""
    ic = state.interceptors
    target = ic.target
    waiting = np.flatnonzero((ic.phase == Phase.ordered) & (target >= 0))
    for j in waiting.tolist():
        if state.killed_s[target[j]] <= t:
            ic.phase[j] = Phase.done
            key = (ic.unit[j], ic.aircraft[j])
            state.pairs_out[key] = max(0, state.pairs_out.get(key, 0) - 1)
            state.event(t, "stand_down", ic.node[j], f"{ic.unit[j]}/{ic.aircraft[j]}/{j}",
                        int(ic.track_id[j]), int(target[j]),
                        "its target was destroyed before the pair took off")


def air_to_air_missile(state: C2State, aircraft: str) -> tuple[str, MissileProfile, float] | None:
    """The air-to-air missile of an aircraft type: (id, profile, nominal Pk), None without one."""
    cat = state.scenario.catalog
    ac = cat.aircraft.get(aircraft)
    if ac is None or ac.air_to_air_missile is None:
        return None
    missile = cat.missiles[ac.air_to_air_missile]
    if missile.max_speed_mps is None or missile.single_shot_pk is None:
        return None
    return ac.air_to_air_missile, missile_profile(missile), missile.single_shot_pk


def air_to_air(state: C2State, k: int, t1: float, target_m: Array) -> None:
    """Pairs whose radar holds a target their node holds as hostile fire; kills are drawn."""
    assert state.air is not None
    ic = state.interceptors
    armed = state.air_to_air_missiles
    for a in set(ic.aircraft) - armed.keys():  # each type's missile once per pass
        armed[a] = air_to_air_missile(state, a)
    hostile = np.zeros(len(ic), dtype=bool)
    steering = np.asarray(ic.node)
    for name in set(ic.node):
        node = state.nodes[name]
        mine = steering == name
        known = mine & (ic.track_id < len(node.identity))
        hostile[known] = node.identity[ic.track_id[known]] == Identity.hostile
    ready = np.flatnonzero(((ic.phase == Phase.acquired) | (ic.phase == Phase.shadowing))
                           & (ic.target >= 0) & np.all(np.isfinite(target_m), axis=1) & hostile
                           & np.asarray([armed[a] is not None for a in ic.aircraft], dtype=bool))
    if len(ready):
        aams = [armed[ic.aircraft[j]] for j in ready.tolist()]
        vel = (state.truth.enu[k + 1, ic.target[ready]] - state.truth.enu[k, ic.target[ready]]) / (
            state.times_s[k + 1] - state.times_s[k])
        vel = np.where(np.isfinite(vel), vel, 0.0)
        engagement = state.scenario.engagement
        assert engagement is not None
        jammed = np.where(jammed_lately(state, ic.target[ready], t1), engagement.jammed_pk_factor, 1.0)
        fired = state.air.fire(t1, ready, ic.position_m[ready], ic.target[ready], target_m[ready], vel,
                               ic.track_id[ready], [ic.node[j] for j in ready.tolist()],
                               [a[0] for a in aams if a is not None],
                               MissileProfile.stack([a[1] for a in aams if a is not None]),
                               np.asarray([a[2] for a in aams if a is not None]) * jammed)
        for i in fired:
            shot = state.air.shots[i]
            flight = f"{ic.unit[shot.pair]}/{ic.aircraft[shot.pair]}/{shot.pair}"
            state.event(shot.launch_s, "air_to_air_launch", shot.node, flight, shot.track_id, shot.target,
                        f"{shot.missile}, Pk {shot.pk:.2f}, {shot.range_m / 1000:.1f} km")
    for i in state.air.resolve(t1, state.rng_engagement, state.killed_s):
        shot = state.air.shots[i]
        state.event(shot.intercept_s, "kill" if shot.killed else "miss", shot.node,
                    f"{ic.unit[shot.pair]}/{ic.aircraft[shot.pair]}/{shot.pair}", shot.track_id, shot.target)
        if shot.killed:
            state.kill(shot.target, shot.intercept_s)
