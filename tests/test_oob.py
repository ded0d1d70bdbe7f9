"""The bundled order of battle at each date, checked against the seed report's figures.

Seed: OSW report "Russia's Belarusian army" (2021), its Appendix and section on arms supplies.
"""

from __future__ import annotations

import datetime as dt

import pytest

from iadsim.oob import order_of_battle

# The Appendix: Rocket Forces of the Air Defence (unit, town, launchers by system).
APPENDIX = {
    "120th Anti-Aircraft Missile Brigade": ("Baranavichy", {"tor_m2": 12}, 3),
    "1st Anti-Aircraft Missile Regiment": ("Hrodna", {"s300ps": 24}, 2),
    "15th Anti-Aircraft Missile Regiment": ("Fanipal", {"s300pmu1": 40}, 5),
    "115th Anti-Aircraft Missile Regiment": ("Brest", {"s300ps": 24}, 2),
    "147th Anti-Aircraft Missile Regiment": ("Babruisk", {"s300ps": 24}, 2),
    "825th Anti-Aircraft Missile Regiment": ("Polatsk", {"s300pmu1": 32}, 4),
    "1146th Guards Anti-Aircraft Missile Regiment": ("Astravyets", {"tor_m2": 8}, 2),
}


def _by_name(oob):
    return {e.name: e for e in oob if e.depth == 0}


def _launchers(units, name):
    """A regiment's launchers, or none if the regiment itself is not listed at the date."""
    return units[name].totals if name in units else {}


def test_appendix_units_at_end_of_2020(reference):
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    units = _by_name(oob)
    for name, (town, launchers, subunits) in APPENDIX.items():
        assert name in units, name
        entry = units[name]
        assert entry.place_name == town, name
        assert entry.totals == launchers, name
        assert entry.subunits == subunits, name


def test_battalion_launcher_counts_at_end_of_2020(reference):
    oob = order_of_battle(reference, dt.date(2020, 12, 31), "BLR")
    per_battalion = {"s300ps": 12, "s300pmu1": 8, "tor_m2": 4}  # Appendix: per battalion/battery
    for entry in oob:
        if entry.kind in ("sam_battalion", "sam_battery"):
            [(system, count)] = entry.equipment.items()
            assert count == per_battalion[system], entry.name


def test_totals_end_of_2020(reference):
    totals = order_of_battle(reference, dt.date(2020, 12, 31)).totals_by_type("BLR")
    assert totals["tor_m2"] == 20  # seed: 20 Tor-M2 systems in total (fifth battery Nov 2018)
    assert totals["s300ps"] == 72  # 6 battalions x 12
    assert totals["s300pmu1"] == 72  # 9 battalions x 8


def test_no_tor_m2_in_2010_and_only_delivered_s300(reference):
    oob = order_of_battle(reference, dt.date(2010, 1, 1), "BLR")
    totals = oob.totals_by_type()
    assert "tor_m2" not in totals  # first Tor-M2 battery: December 2011
    units = _by_name(oob)
    # delivered in 2006 (Brest in April, Hrodna by 1 December) and the Soviet-era Minsk regiment
    assert units["115th Anti-Aircraft Missile Regiment"].totals == {"s300ps": 24}
    assert units["1st Anti-Aircraft Missile Regiment"].totals == {"s300ps": 24}
    assert units["15th Anti-Aircraft Missile Regiment"].totals == {"s300pmu1": 40}
    # the Polatsk battalions arrived late 2015 to May 2016
    assert _launchers(units, "825th Anti-Aircraft Missile Regiment") == {}


def test_2016_deliveries(reference):
    before = _by_name(order_of_battle(reference, dt.date(2015, 6, 1), "BLR"))
    after = _by_name(order_of_battle(reference, dt.date(2016, 12, 31), "BLR"))
    assert _launchers(before, "825th Anti-Aircraft Missile Regiment") == {}
    assert after["825th Anti-Aircraft Missile Regiment"].totals == {"s300pmu1": 32}


@pytest.mark.parametrize(("day", "tor"), [("2011-11-30", 0), ("2012-01-15", 4), ("2013-06-01", 8),
                                          ("2014-06-01", 12), ("2018-06-01", 16), ("2018-12-31", 20)])
def test_tor_m2_deliveries(reference, day, tor):
    totals = order_of_battle(reference, dt.date.fromisoformat(day)).totals_by_type("BLR")
    assert totals.get("tor_m2", 0) == tor


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
    with pytest.raises(KeyError):
        order_of_battle(reference, None, "XX")


def test_hierarchy_order_parents_before_children(reference):
    oob = order_of_battle(reference)
    seen = set()
    for entry in oob:
        if entry.depth > 0:
            assert entry.parent_id in seen
        seen.add(entry.unit_id)
