"""A unit's detection and engagement rings at one altitude: the radius within which each of its
radars detects a target of a given RCS (Swerling 1 at the run's Pd threshold, cut by the
smooth-earth radar horizon with k = 4/3, the instrumented range and the radar's ceiling), and within
which each of its fire units can engage it (the missile's envelope, cut by its fire-control radar's
detection range and horizon). Rings ignore terrain masking, which the coverage grids include: they
answer "how far at most", the coverage map "where". docs/models/coverage.md has the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iadsim.geo.radar_geometry import STANDARD_K, horizon_distance_m
from iadsim.sensors.detection import detection_range_m
from iadsim.world import World

__all__ = ["Ring", "unit_rings"]


@dataclass(frozen=True)
class Ring:
    """One ring: ``detection`` (a radar) or ``engagement`` (a fire unit), centred on its site."""

    quantity: str
    label: str
    lat_deg: float
    lon_deg: float
    radius_m: float
    count: int = 1


def _units_of(world: World, unit_id: str, parents: dict[str, str | None]) -> set[int]:
    """The row indices of a unit and of every unit under it."""
    ids = list(world.unit_id)
    wanted = {unit_id}
    changed = True
    while changed:
        changed = False
        for uid, parent in parents.items():
            if parent in wanted and uid not in wanted:
                wanted.add(uid)
                changed = True
    return {i for i, uid in enumerate(ids) if uid in wanted}


def unit_rings(world: World, unit_id: str, altitude_m: float, rcs_m2: float, *,
               parents: dict[str, str | None], pd: float = 0.5, k: float = STANDARD_K) -> list[Ring]:
    """The detection ring of each radar and the engagement ring of each fire unit of a unit and its
    subunits, for a target at ``altitude_m`` above the ground with ``rcs_m2``.

    Args:
        world: the compiled world at the run's date.
        unit_id: the unit.
        altitude_m: the target's height above the ground, metres.
        rcs_m2: the target's radar cross-section, m².
        parents: unit id → parent unit id, to include subunits.
        pd: the detection probability that defines the ring.
        k: effective-earth-radius factor.

    Returns:
        The rings, radars first, equal rings (same kind of equipment, site and radius) once with
        their ``count``; none for a unit without radars or fire units at the date.
    """
    rows = _units_of(world, unit_id, parents)
    s, f = world.sensors, world.fire_units
    out: list[Ring] = []
    for i in range(len(s)):
        if int(s.unit_index[i]) not in rows:
            continue
        if np.isfinite(s.max_altitude_m[i]) and altitude_m > s.max_altitude_m[i]:
            continue
        reach = detection_range_m(pd, rcs_m2, s.detection_range_m[i], s.reference_rcs_m2[i],
                                  s.reference_pd[i])
        limits = [float(reach), float(horizon_distance_m(s.antenna_height_m[i], altitude_m, k))]
        if np.isfinite(s.instrumented_range_m[i]):
            limits.append(float(s.instrumented_range_m[i]))
        radius = min(v for v in limits if np.isfinite(v))
        out.append(Ring("detection", f"{s.radar_type[i]} detects", float(s.lat_deg[i]), float(s.lon_deg[i]),
                        radius))
    for j in range(len(f)):
        if int(f.unit_index[j]) not in rows:
            continue
        if not (f.min_altitude_m[j] <= altitude_m <= f.max_altitude_m[j]):
            continue
        fcr = detection_range_m(pd, rcs_m2, f.fcr_detection_range_m[j], f.fcr_reference_rcs_m2[j],
                                f.fcr_reference_pd[j])
        limits = [float(f.max_range_m[j]), float(fcr), float(horizon_distance_m(f.fcr_antenna_height_m[j],
                                                                                    altitude_m, k))]
        radius = min(v for v in limits if np.isfinite(v))
        u = int(f.unit_index[j])
        out.append(Ring("engagement", f"{f.system[j]} engages", float(world.unit_lat_deg[u]),
                        float(world.unit_lon_deg[u]), radius))
    merged: dict[tuple[str, str, float, float, float], int] = {}
    for r in out:
        key = (r.quantity, r.label, round(r.lat_deg, 5), round(r.lon_deg, 5), round(r.radius_m, 1))
        merged[key] = merged.get(key, 0) + 1
    return [Ring(q, label, lat, lon, radius, n) for (q, label, lat, lon, radius), n in merged.items()]
