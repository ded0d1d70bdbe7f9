"""The bundled order of battle at each date, checked against the seed report's figures.

Seed: OSW report "Russia's Belarusian army" (2021), its Appendix and section on arms supplies.
"""

from __future__ import annotations

import datetime as dt

import pytest

from iadsim.oob import order_of_battle

# The Appendix: Rocket Forces of the Air Defence (unit, town, launchers by system).
APPENDIX = {
    "120th Anti-Aircraft Missile Brigade": ("Baranavichy", {"tor_m2k": 12}, 3),
    "1st Anti-Aircraft Missile Regiment": ("Hrodna", {"s300ps": 24}, 2),
    "15th Anti-Aircraft Missile Regiment": ("Fanipal", {"s300pmu1": 40}, 5),
    "115th Anti-Aircraft Missile Regiment": ("Brest", {"s300ps": 24}, 2),
    "147th Anti-Aircraft Missile Regiment": ("Babruisk", {"s300ps": 24}, 2),
    "825th Anti-Aircraft Missile Regiment": ("Polatsk", {"s300pmu1": 32}, 4),
    "1146th Guards Anti-Aircraft Missile Regiment": ("Astravyets", {"tor_m2k": 8}, 2),
}


def _by_name(oob):
    return {e.name: e for e in oob if e.depth == 0}


def _sam(totals, reference):
    """The SAM launchers of a roll-up (command posts and radars left out)."""
    return {t: n for t, n in totals.items() if t in reference.catalog.sam_systems}


def _launchers(units, name, reference):
    """A regiment's launchers, or none if the regiment itself is not listed at the date."""
    return _sam(units[name].totals, reference) if name in units else {}


def test_appendix_units_at_end_of_2020(reference):
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    units = _by_name(oob)
    for name, (town, launchers, subunits) in APPENDIX.items():
        assert name in units, name
        entry = units[name]
        assert entry.place_name == town, name
        assert _sam(entry.totals, reference) == launchers, name
        assert entry.subunits == subunits, name


def test_battalion_launcher_counts_at_end_of_2020(reference):
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    per_battalion = {"s300ps": 12, "s300pmu1": 8, "tor_m2k": 4}  # Appendix: per battalion/battery
    for entry in oob:
        if entry.kind in ("sam_battalion", "sam_battery"):
            [(system, count)] = entry.equipment.items()
            assert count == per_battalion[system], entry.name


def test_totals_end_of_2020(reference):
    totals = order_of_battle(reference, dt.date(2020, 12, 31)).totals_by_type("BLR")
    assert totals["tor_m2k"] == 20  # seed: 20 Tor-M2 systems in total (fifth battery Nov 2018)
    assert totals["s300ps"] == 72  # 6 battalions x 12
    assert totals["s300pmu1"] == 72  # 9 battalions x 8


def test_appendix_144_launchers_in_15_battalions_not_16_by_8(reference):
    """The seed's two totals: the data follow the Appendix (15 battalions, 144 launchers), not the
    text's 16 battalions x 8 = 128 (units_blr.yaml, header)."""
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    s300 = [e for e in oob if e.kind == "sam_battalion"
            and set(e.equipment) <= {"s300ps", "s300pmu1"}]
    assert len(s300) == 15
    assert sum(sum(e.equipment.values()) for e in s300) == 144 != 16 * 8
    older = sum(e.equipment.get("s300ps", 0) for e in s300)
    assert older == 72  # the text's "first 72 systems of the older S-300PS version"


def test_no_tor_m2_in_2010_and_only_delivered_s300(reference):
    oob = order_of_battle(reference, dt.date(2010, 1, 1), "BLR")
    totals = oob.totals_by_type()
    assert "tor_m2k" not in totals  # first Tor-M2 battery: December 2011
    units = _by_name(oob)
    # delivered in 2006 (Brest in April, Hrodna by 1 December): 6 launchers per battalion until
    # the renovation ended (May 2016; assumed, units_blr.yaml); the Soviet-era Minsk regiment
    # with the S-300PS (its 1985 variant is not public; PMU-1 only from 2016)
    assert units["115th Anti-Aircraft Missile Regiment"].totals == {"s300ps": 12, "s300ps_5n83s": 1}
    assert units["1st Anti-Aircraft Missile Regiment"].totals == {"s300ps": 12, "s300ps_5n83s": 1}
    assert units["15th Anti-Aircraft Missile Regiment"].totals == {"s300ps": 40, "s300ps_5n83s": 1}
    # the Polatsk battalions arrived late 2015 to May 2016
    assert _launchers(units, "825th Anti-Aircraft Missile Regiment", reference) == {}


def test_2016_deliveries(reference):
    before = _by_name(order_of_battle(reference, dt.date(2015, 6, 1), "BLR"))
    after = _by_name(order_of_battle(reference, dt.date(2016, 12, 31), "BLR"))
    assert _launchers(before, "825th Anti-Aircraft Missile Regiment", reference) == {}
    assert after["825th Anti-Aircraft Missile Regiment"].totals == {"s300pmu1": 32, "s300pmu1_83m6e": 1}


@pytest.mark.parametrize(("day", "tor"), [("2011-11-30", 0), ("2012-01-15", 4), ("2013-06-01", 8),
                                          ("2014-06-01", 12), ("2017-06-01", 12), ("2018-01-15", 16),
                                          ("2018-06-01", 16), ("2018-12-31", 20)])
def test_tor_m2_deliveries(reference, day, tor):
    """Belarus's Tor-M2K by battery; the fourth battery (planned for 2016, no delivery report) is
    dated from the 1146th regiment's formation, December 2017 [OOB02]."""
    totals = order_of_battle(reference, dt.date.fromisoformat(day)).totals_by_type("BLR")
    assert totals.get("tor_m2k", 0) == tor
    assert "tor_m2" not in totals  # the Russian 16-missile version is not Belarus's


def test_russian_rotation_and_a50(reference):
    def aircraft_at(day):
        oob = order_of_battle(reference, dt.date.fromisoformat(day), "RUS")
        return oob.totals_by_type()

    assert "su27" not in aircraft_at("2013-11-30")
    assert aircraft_at("2014-06-01").get("su27", 0) >= 4  # 4 at Baranavichy from 10 Dec 2013
    assert aircraft_at("2014-06-01").get("a50", 0) == 1  # A-50 at Baranavichy from 15 Mar 2014
    assert "su27" not in aircraft_at("2020-12-31")  # the rotation ended by 2016


def test_su30sm_from_november_2019(reference):
    def su30(day):
        return order_of_battle(reference, dt.date.fromisoformat(day), "BLR").totals_by_type().get("su30sm", 0)

    assert su30("2019-11-12") == 0
    assert su30("2019-11-14") == 2
    assert su30("2019-12-31") == 4


def test_kaliningrad_s400_from_2012(reference):
    def s400(day):
        return order_of_battle(reference, dt.date.fromisoformat(day), "RUS").totals_by_type().get("s400", 0)

    assert s400("2011-12-31") == 0
    assert s400("2012-12-31") > 0
    assert s400("2020-12-31") > s400("2012-12-31")  # a second S-400 regiment in 2019


def test_nation_filter_and_unknown_nation(reference):
    oob = order_of_battle(reference, None, "RUS")
    assert oob.nations == ("RUS",)
    with pytest.raises(KeyError, match=r"unknown nation 'XX'; the scenario has: BLR, RUS"):
        order_of_battle(reference, None, "XX")
    with pytest.raises(ValueError):  # also a ValueError: a bad argument value
        order_of_battle(reference, None, "blr")


def test_hierarchy_order_parents_before_children(reference):
    oob = order_of_battle(reference)
    seen = set()
    for entry in oob:
        if entry.depth > 0:
            assert entry.parent_id in seen
        seen.add(entry.unit_id)


def test_2006_four_s300ps_battalions_24_launchers_two_command_posts(reference):
    """March-December 2006: four S-300PS battalions and two command posts [S06], 24 launchers."""
    oob = order_of_battle(reference, dt.date(2006, 12, 31), "BLR")
    new = [e for e in oob if e.kind == "sam_battalion" and e.parent_id in ("blr_1_aamr", "blr_115_aamr")]
    assert len(new) == 4 and sum(e.equipment["s300ps"] for e in new) == 24
    posts = [e for e in oob if "s300ps_5n83s" in e.equipment and e.unit_id != "blr_15_aamr"]
    assert {e.unit_id for e in posts} == {"blr_1_aamr", "blr_115_aamr"}


def test_fanipal_by_period(reference):
    """The 15th: S-300 from 1985 [S68], not the 1990s export PMU-1; the Appendix's PMU-1 after 2016."""
    def fanipal(day):
        units = _by_name(order_of_battle(reference, dt.date.fromisoformat(day), "BLR"))
        return _sam(units["15th Anti-Aircraft Missile Regiment"].totals, reference)

    assert fanipal("1996-06-01") == {"s300ps": 40}
    assert fanipal("2016-04-30") == {"s300ps": 40}
    assert fanipal("2016-05-01") == {"s300pmu1": 40}


def test_regiments_hold_command_posts_and_battalions_fire_control_radars(reference):
    """Radar structure: the acquisition radar is the regiment's (83M6E/64N6E, 5N83S, 30K6E/91N6E);
    battalions hold only their engagement radars; no 76N6/96L6 is placed without a source."""
    from iadsim.world import compile_world

    cat = reference.catalog
    assert cat.sam_systems["s300ps"].acquisition_radar is None
    assert cat.sam_systems["s300pmu1"].acquisition_radar is None
    assert cat.sam_systems["s400"].acquisition_radar is None
    assert cat.command_systems["s300pmu1_83m6e"].radars == ["s300pmu1_64n6"]
    assert cat.command_systems["s400_30k6e"].radars == ["s400_91n6"]
    oob = order_of_battle(reference, dt.date(2020, 12, 31))
    entries = {e.unit_id: e for e in oob}
    for e in oob:
        if e.kind == "sam_regiment" and any(t in ("s300ps", "s300pmu1", "s400") for t in e.totals):
            posts = [t for t in e.equipment if t in cat.command_systems]
            assert len(posts) == 1, e.unit_id
        if e.kind == "sam_battalion":
            assert not set(e.equipment) & set(cat.command_systems), e.unit_id
            assert e.parent_id in entries
    world = compile_world(reference)
    types = world.sensors.radar_type.tolist()
    assert "s300_76n6" not in types and "s400_96l6" not in types and "st68u_36d6" not in types
    posts = sum(n for e in oob for t, n in e.equipment.items() if t in cat.command_systems)
    acquisition = sum(t in ("s300pmu1_64n6", "s400_91n6") for t in types)
    assert acquisition == posts  # one acquisition radar per regiment command post


def test_fire_channels_and_missiles_per_vehicle(reference):
    cat = reference.catalog
    assert cat.sam_systems["s400"].fire_channels == 6  # 36 targets / 6 battalions [S23,S64,S88]
    assert cat.radars["s400_92n6"].max_tracks == 6
    assert cat.sam_systems["tor_m2k"].missiles_per_launcher == 8  # M2K (Belarus)
    assert cat.sam_systems["tor_m2"].missiles_per_launcher == 16  # Russian Tor-M2 [S13,S86]


@pytest.mark.parametrize(("day", "mig29", "su27"), [("1998-06-01", 40, 14), ("2012-06-01", 40, 14),
                                                   ("2013-06-01", 40, 0), ("2016-06-01", 38, 0),
                                                   ("2020-12-31", 24, 0)])
def test_fighter_holdings_by_period(reference, day, mig29, su27):
    totals = order_of_battle(reference, dt.date.fromisoformat(day), "BLR").totals_by_type()
    assert totals.get("mig29", 0) == mig29
    assert totals.get("su27", 0) == su27


def test_kaliningrad_tor_m2_since_october_2019(reference):
    def tor(day):
        return order_of_battle(reference, dt.date.fromisoformat(day), "RUS").totals_by_type().get("tor_m2", 0)

    assert tor("2019-09-30") == 0
    assert tor("2019-11-01") == 4


def test_planned_dates_are_labelled(reference):
    """Plans recorded as dates are marked planned and listed as such."""
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    planned = {}
    for e in oob:
        for t, n in e.planned.items():
            planned[t] = planned.get(t, 0) + n
    # six Protivnik "should have been received" by the end of 2020 (seed): only the 2018 one is a
    # delivery report [S11]
    assert planned.get("protivnik_ge") == 5
    assert oob.totals_by_type()["protivnik_ge"] == 6


def test_variant_ps_for_the_15th_and_825th(reference):
    from iadsim.scenario import load_scenario

    assert reference.chosen("blr_s300_variant") == "appendix"
    ps = load_scenario("reference-2020", choose={"blr_s300_variant": "ps"})
    assert ps.chosen("blr_s300_variant") == "ps"
    from iadsim.scenario.provenance import collect_assumptions

    # the option in effect is listed as an assumption (reports show it), the other one is not
    def listed(scenario):
        return [a for a in collect_assumptions(scenario) if a.record.startswith("variants.")]

    [default] = [a for a in listed(reference) if a.field == "option" and a.record == "variants.blr_s300_variant"]
    assert default.reason.startswith("'appendix'") and "the data's default" in default.reason
    assert any("chosen by the scenario" in a.reason for a in listed(ps))
    assert not any(a.record.endswith(".ps") for a in listed(reference))
    units = _by_name(order_of_battle(ps, dt.date(2020, 12, 31), "BLR"))
    assert _sam(units["15th Anti-Aircraft Missile Regiment"].totals, ps) == {"s300ps": 40}
    assert _sam(units["825th Anti-Aircraft Missile Regiment"].totals, ps) == {"s300ps": 32}
    assert "s300ps_5n83s" in units["825th Anti-Aircraft Missile Regiment"].equipment
    # everything else is the same
    assert units["1st Anti-Aircraft Missile Regiment"].totals == _by_name(
        order_of_battle(reference, dt.date(2020, 12, 31), "BLR"))["1st Anti-Aircraft Missile Regiment"].totals


def test_reference_wmd_adds_the_leningrad_region(write):
    """The optional data set of Western Military District units reaching the Baltic states."""
    from iadsim.scenario import load_scenario

    with_wmd = load_scenario("reference-2020-wmd")
    path = write("include: [reference, reference-wmd]\nname: with WMD\nas_of: 2020-12-31\n")
    assert set(load_scenario(path).units) == set(with_wmd.units)

    def leningrad(scenario, day):
        oob = order_of_battle(scenario, dt.date.fromisoformat(day), "RUS")
        out = {}
        for e in oob:
            if e.place_id == "saint_petersburg":
                for t, n in e.equipment.items():
                    if t in scenario.catalog.sam_systems:
                        out[t] = out.get(t, 0) + n
        return out

    assert leningrad(with_wmd, "2009-12-31") == {"s300ps": 24}
    assert leningrad(with_wmd, "2017-06-01") == {"s300ps": 24, "s400": 16}  # S-400 from Sep 2016
    assert leningrad(with_wmd, "2020-12-31") == {"s400": 32}  # the S-300 replaced in March 2019
    assert leningrad(load_scenario("reference-2020"), "2020-12-31") == {}
    added = set(with_wmd.units) - set(load_scenario("reference-2020").units)
    for uid in added:
        unit = with_wmd.units[uid]
        assert unit.nation == "RUS" and unit.source and unit.assumed.get("place"), uid
