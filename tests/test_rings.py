"""A unit's detection and engagement rings at an altitude, against the textbook horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iadsim import compile_world
from iadsim.coverage.rings import unit_rings
from iadsim.geo.radar_geometry import horizon_distance_m


@pytest.fixture(scope="module")
def world_and_parents(reference):
    return compile_world(reference), {u: x.parent for u, x in reference.units.items()}


def _sam_regiment(reference):
    return next(uid for uid, u in reference.units.items() if str(u.kind) == "sam_regiment")


def test_low_targets_are_cut_by_the_radar_horizon(reference, world_and_parents):
    world, parents = world_and_parents
    unit = _sam_regiment(reference)
    rings = unit_rings(world, unit, 100.0, 3.0, parents=parents)
    assert rings, "a SAM regiment has radars and fire units"
    s = world.sensors
    for r in rings:
        if r.quantity != "detection":
            continue
        rows = [i for i in range(len(s)) if s.radar_type[i] in r.label and abs(s.lat_deg[i] - r.lat_deg) < 1e-4]
        horizon = float(horizon_distance_m(s.antenna_height_m[rows[0]], 100.0))
        # 4.12 (√h1 + √h2) km: the horizon of a low target is tens of km, and the ring stays inside it
        assert r.radius_m <= horizon + 1.0
        assert horizon == pytest.approx(4120.0 * (math.sqrt(s.antenna_height_m[rows[0]]) + 10.0), rel=0.01)


def test_rings_grow_with_altitude_and_engagement_stays_within_the_missile(reference, world_and_parents):
    world, parents = world_and_parents
    unit = _sam_regiment(reference)
    low = unit_rings(world, unit, 100.0, 3.0, parents=parents)
    high = unit_rings(world, unit, 10000.0, 3.0, parents=parents)
    assert max(r.radius_m for r in high) > max(r.radius_m for r in low)
    f = world.fire_units
    for r in high:
        if r.quantity == "engagement":
            assert r.radius_m <= np.nanmax(f.max_range_m) + 1.0
    assert all(r.count >= 1 for r in high)


def test_a_unit_without_radars_or_a_target_too_high_has_no_rings(reference, world_and_parents):
    world, parents = world_and_parents
    comms = next(uid for uid, u in reference.units.items() if str(u.kind) == "communications")
    assert unit_rings(world, comms, 1000.0, 3.0, parents=parents) == []
    unit = _sam_regiment(reference)
    assert [r for r in unit_rings(world, unit, 39_000.0, 3.0, parents=parents) if r.quantity == "engagement"] == []
