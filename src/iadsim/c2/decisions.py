"""The decisions stage of the C2 pass, at a deciding node: which unknown or hostile tracks threaten
its airspace, hostile designation under wartime rules, the quick-reaction pair sent (or re-pointed)
against each, and the surface-to-air engagements ordered (``engagements``). docs/models/c2.md,
docs/models/engagement.md."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from iadsim.c2.policing import Phase, intercept_time_s
from iadsim.c2.readiness import time_to_act_s
from iadsim.c2.state import C2State, FighterBase, Identity, NodeState, to_geodetic
from iadsim.geo.frames import ecef_to_enu
from iadsim.geo.geodesy import geodetic_to_ecef
from iadsim.scenario.schema import AircraftRole
from iadsim.tracking.fusion import TrackSet

__all__ = ["decide", "fighter_bases", "jammed_lately", "repoint", "scramble"]

Array = NDArray[np.float64]

_FIGHTER_ROLES = (AircraftRole.fighter, AircraftRole.multirole)


def decide(state: C2State, node: NodeState, picture: TrackSet, identity: NDArray[np.int64], t: float,
           k: int, obj: NDArray[np.int64]) -> None:
    """One decision cycle of a deciding node over its picture (``identity`` is updated in place
    with hostile designations).

    An unknown or hostile track inside one of the node's airspaces, or predicted inside within
    ``scramble_lookahead_s`` (at half and all of it), threatens; under wartime rules an unknown
    track inside for ``hostile_designation_s`` is designated hostile. A threat no pair has been sent
    against gets a pair re-pointed to it or a scramble order; under wartime rules with engagement
    settings the hostile tracks are offered to the fire units the node may task.
    """
    s = state.settings
    net = state.net
    mine = [a for a, n in net.authority.items() if n == node.name]
    threat = (identity == Identity.unknown) | (identity == Identity.hostile)
    if not threat.any():
        return
    idx = np.flatnonzero(threat)
    pos, vel = picture.state[idx, :3], picture.state[idx, 3:6]
    n = len(idx)
    inside_now = np.zeros(n, dtype=bool)
    coming = np.zeros(n, dtype=bool)
    if mine:
        # now, at half and at all of the look-ahead: one conversion to lon/lat for the three
        ahead = np.concatenate([pos, pos + vel * (0.5 * s.scramble_lookahead_s),
                                pos + vel * s.scramble_lookahead_s])
        lat, lon, _ = to_geodetic(ahead, state.origin)
        for a in mine:
            inside = np.asarray(shapely.contains_xy(state.airspaces[a], lon, lat))
            inside_now |= inside[:n]
            coming |= inside[n:2 * n] | inside[2 * n:]
    tid = picture.track_id[idx]
    node.hold(tid)
    if net.rules.wartime_rules:
        suspect = inside_now & (identity[idx] == Identity.unknown)
        since = node.hostile_since_s[tid]
        since = np.where(suspect & np.isnan(since), t, since)
        node.hostile_since_s[tid] = since
        designate = suspect & (t - since >= s.hostile_designation_s)
        node.identity[tid[designate]] = Identity.hostile
        identity[idx[designate]] = Identity.hostile
        for j in np.flatnonzero(designate).tolist():
            state.event(t, "designated_hostile", node.name, track=int(tid[j]), obj=int(obj[idx[j]]))
    # the threats no pair has been sent against yet: a few per cycle, each an order of its own
    for j in np.flatnonzero((inside_now | coming) & ~node.acted_on[tid]).tolist():
        i = int(idx[j])
        if repoint(state, node, picture, i, int(tid[j])) or scramble(state, node, picture, i, t,
                                                                     int(obj[i])):
            node.acted_on[tid[j]] = True

    if state.engage is not None:
        engage = state.engage
        hostile = np.flatnonzero(identity == Identity.hostile)
        for e in engage.cycle(node.name, t, picture.track_id[hostile], picture.state[hostile],
                              obj[hostile], state.truth.enu[k], state.truth.agl[k], state.cut, state.down,
                              state.autonomous | state.units_down, jammed_lately(state, obj[hostile], t)):
            eng = engage.log.engagements[e]
            state.event(eng.launch_s, "launch", node.name, engage.fu.unit[eng.fire_unit], eng.track_id,
                        eng.target, f"{eng.missiles} missile(s), Pk {eng.pk:.2f}, "
                        f"intercept at {eng.intercept_s:.0f} s, {eng.range_m / 1000:.1f} km")


def jammed_lately(state: C2State, obj: NDArray[np.int64], t: float) -> NDArray[np.bool_]:
    """``(T,)`` whether each object (index, −1 none) was detected under jamming by any radar within
    the last ``engagement.jamming_memory_s`` seconds (the window ``[t − memory, t]``)."""
    out = np.zeros(len(obj), dtype=bool)
    if state.scenario.engagement is None or not len(state.jammed_time_s):
        return out
    memory = state.scenario.engagement.jamming_memory_s
    lo = np.searchsorted(state.jammed_time_s, t - memory, side="left")
    hi = np.searchsorted(state.jammed_time_s, t, side="right")
    lately = np.zeros(len(state.truth.object_id), dtype=bool)
    lately[state.jammed_object[lo:hi]] = True
    held = obj >= 0
    out[held] = lately[obj[held]]
    return out


def repoint(state: C2State, node: NodeState, picture: TrackSet, i: int, tid: int) -> bool:
    """Hand a pair whose track the picture dropped the new track ``tid`` (row ``i``) near its last
    aim (the first such pair in order of tasking); False if there is none."""
    ic = state.interceptors
    if not len(ic):
        return False
    free = ((np.asarray(ic.node) == node.name) & (ic.phase != Phase.shadowing)
            & (ic.phase != Phase.done) & ~np.isin(ic.track_id, picture.track_id))
    gap = np.linalg.norm(state.aims()[:, :2] - picture.state[i, :2], axis=1)
    # a pair with no aim yet has NaN gaps: never near
    near = np.flatnonzero(free & (gap <= state.settings.repoint_distance_m))
    if not len(near):
        return False
    ic.track_id[near[0]] = tid
    return True


def scramble(state: C2State, node: NodeState, picture: TrackSet, i: int, t: float, obj: int) -> bool:
    """Order the quick-reaction pair that can intercept track row ``i`` first; False if none can be
    tasked (said once per track as ``no_interceptor``)."""
    net, s = state.net, state.settings
    bases = fighter_bases(state)
    best: tuple[float, float, int] | None = None
    for b, base in enumerate(bases):  # a handful of fighter units
        nation = state.scenario.units[base.unit].nation
        if (nation not in net.may_task.get(node.name, ()) or not base.in_zone_of.get(node.name)
                or state.pairs_out.get((base.unit, base.aircraft), 0) >= base.pairs):
            continue
        unit_node = net.unit_node.get(base.unit)
        if unit_node is None or base.unit in state.autonomous:
            continue
        delay = net.order_delay_s(node.name, unit_node, state.cut, state.down)
        act = time_to_act_s(state.scenario, base.unit)
        if delay is None or act is None:
            continue
        if unit_node != node.name:
            delay += net.processing_delay_s[unit_node]
        airborne = t + delay + s.sensor_report_latency_s + act
        ahead = picture.state[i, :3] + picture.state[i, 3:6] * (airborne - t)
        flight = intercept_time_s(base.position_m[None, :], np.asarray([base.speed_mps]), ahead[None, :],
                                  picture.state[i, 3:6][None, :])[0]
        estimate = airborne + flight
        if best is None or estimate < best[0]:
            best = (estimate, airborne, b)
    track = int(picture.track_id[i])
    if best is None:
        # tried again every cycle (a link may come back), said once per track
        if not node.unserved[track]:
            node.unserved[track] = True
            state.event(t, "no_interceptor", node.name, track=track, obj=obj,
                        detail="no quick-reaction pair this node may task can reach the track")
        return False
    _, airborne, b = best
    base = bases[b]
    key = (base.unit, base.aircraft)
    state.pairs_out[key] = state.pairs_out.get(key, 0) + 1
    j = state.interceptors.add(base.unit, base.aircraft, node.name, track, obj, base.speed_mps, t,
                               airborne, base.position_m)
    state.event(t, "scramble_order", node.name, f"{base.unit}/{base.aircraft}/{j}", track, obj,
                f"airborne at {airborne:.0f} s")
    return True


def fighter_bases(state: C2State) -> list[FighterBase]:
    """The units holding at least a pair of fighters in service, with their base (at the terrain's
    elevation) and intercept speed; computed once per pass."""
    if state.bases is not None:
        return state.bases
    scenario, net = state.scenario, state.net
    cat = scenario.catalog.aircraft
    out = []
    day = scenario.as_of
    for uid, unit in sorted(scenario.units.items()):
        if unit.place is None or not unit.in_service.contains(day):
            continue
        place = scenario.places[unit.place]
        for item in unit.equipment:
            ac = cat.get(item.type)
            if (ac is None or ac.role not in _FIGHTER_ROLES or ac.max_speed_kmh is None
                    or not item.in_service.contains(day) or item.count < 2):
                continue
            ground = (0.0 if state.terrain is None else float(np.nan_to_num(
                np.ravel(state.terrain.height_at([place.lat_deg], [place.lon_deg]))[0])))
            base = ecef_to_enu(geodetic_to_ecef(place.lat_deg, place.lon_deg, ground), *state.origin)[0]
            speed = ac.max_speed_kmh / 3.6 * state.settings.intercept_speed_fraction
            zone = {n: any(shapely.contains_xy(state.airspaces[a], place.lon_deg, place.lat_deg)
                           for a, m in net.authority.items() if m == n)
                    for n in set(net.authority.values())}
            out.append(FighterBase(uid, item.type, item.count // 2, base, speed, zone))
    state.bases = out
    return out
