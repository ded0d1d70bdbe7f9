"""Compiling a scenario at a date into arrays."""

from __future__ import annotations

import datetime as dt

import numpy as np

from iadsim import load_scenario
from iadsim.world import compile_world, scenario_hash

from .conftest import MINIMAL


def test_minimal_world_arrays(write):
    sc = load_scenario(write(MINIMAL))
    world = compile_world(sc, dt.date(2020, 12, 31))
    assert list(world.unit_id) == ["bn1", "bn2", "regt"]
    assert world.unit_ecef_m.shape == (3, 3)
    # two fire units, each with its fire-control radar as an organic sensor
    assert len(world.fire_units) == 2 and list(world.fire_units.launchers) == [12, 8]
    np.testing.assert_allclose(world.fire_units.max_range_m, [75_000, 75_000])
    np.testing.assert_allclose(world.fire_units.min_range_m, [5_000, 5_000])
    assert len(world.sensors) == 2 and world.sensors.organic.all()
    np.testing.assert_allclose(world.sensors.detection_range_m, [120_000, 120_000])


def test_world_respects_the_date(write):
    sc = load_scenario(write(MINIMAL))
    assert len(compile_world(sc, dt.date(2010, 1, 1)).fire_units) == 1
    assert len(compile_world(sc, dt.date(2005, 1, 1)).fire_units) == 0


def test_ecef_positions_lie_on_the_ellipsoid(reference):
    world = compile_world(reference)
    radius = np.linalg.norm(world.unit_ecef_m, axis=1)
    assert ((radius > 6_356_000) & (radius < 6_379_000)).all()


def test_reference_world_2020(reference):
    world = compile_world(reference)
    fire = world.fire_units
    blr = np.isin(fire.unit_index, np.flatnonzero(world.unit_nation == "BLR"))
    # Belarus: 6 S-300PS and 9 S-300PMU-1 battalions, 5 Tor-M2 batteries (the Appendix)
    systems, counts = np.unique(fire.system[blr], return_counts=True)
    assert dict(zip(systems.tolist(), counts.tolist(), strict=True)) == {
        "s300pmu1": 9, "s300ps": 6, "tor_m2k": 5}
    assert fire.launchers[blr].sum() == 72 + 72 + 20
    assert np.isfinite(fire.max_range_m).all()
    expected_unplaced = {uid for uid, u in reference.units.items()
                         if u.place is None and u.in_service.contains(reference.as_of)}
    assert expected_unplaced and set(world.unplaced) == expected_unplaced


def test_scenario_hash_is_stable_and_sensitive(write):
    a = load_scenario(write(MINIMAL, "a.yaml"))
    b = load_scenario(write(MINIMAL, "b.yaml"))
    c = load_scenario(write(MINIMAL.replace("seed: 7", "seed: 8"), "c.yaml"))
    assert scenario_hash(a) == scenario_hash(b) != scenario_hash(c)


def test_world_and_coverage_hash_their_scenario_when_asked(write, monkeypatch):
    """Compiling and computing coverage do not serialise the scenario (a sensitivity study does
    both for every point and never asks); the hash, once asked, is the scenario's, computed once."""
    import iadsim.world as world_module
    from iadsim.coverage.compute import compute_coverage
    from iadsim.coverage.grid import CoverageGrid

    sc = load_scenario(write(MINIMAL))
    calls = []
    monkeypatch.setattr(world_module, "scenario_hash", lambda s: calls.append(s) or scenario_hash(s))
    world = compile_world(sc, dt.date(2020, 12, 31))
    lat, lon = float(world.unit_lat_deg[0]), float(world.unit_lon_deg[0])
    cov = compute_coverage(world, CoverageGrid.over(lon - 1, lon + 1, lat - 1, lat + 1, 10.0), [1000.0],
                           {"fighter": 3.0})
    assert calls == []
    assert cov.scenario_hash == world.scenario_hash == scenario_hash(sc)
    assert world.scenario is sc and len(calls) == 1


def test_air_bases_and_command_nodes(reference):
    world = compile_world(reference)
    bases = world.air_bases
    by_type = {}
    for t, n in zip(bases.aircraft_type.tolist(), bases.count.tolist(), strict=True):
        by_type[t] = by_type.get(t, 0) + n
    assert by_type["su30sm"] == 4 and by_type["mig29"] == 24  # end of 2020
    assert "su27" not in by_type  # the Russian rotation ended in 2016
    nodes = world.command_nodes
    assert {"blr_af_ad_command", "rads_command", "jsc_west"} <= set(nodes.node_id.tolist())
    assert np.isfinite(nodes.lat_deg).all()
    early = compile_world(reference, dt.date(2010, 6, 1)).command_nodes
    assert "rads_command" not in early.node_id.tolist()  # the agreement came into force in 2012
