"""One symbology: APP-6 / MIL-STD-2525C codes for unit kinds, identity fills, nation frames, the same
codes in the report's maps, the units GeoJSON (viewer) and the exports."""

from __future__ import annotations

import json

import pytest
from matplotlib.offsetbox import AnnotationBbox

from iadsim import order_of_battle
from iadsim.io import oob_to_geojson
from iadsim.report.figures import oob_map_figure
from iadsim.scenario.schema import UnitKind
from iadsim.symbology import AFFILIATION_FILL, FUNCTIONS, affiliation_of, unit_function, unit_sidc

from .conftest import MINIMAL


@pytest.mark.parametrize("kind", [k.value for k in UnitKind])
def test_every_unit_kind_has_a_15_letter_code_of_its_function(kind):
    for affiliation, letter in (("friend", "F"), ("hostile", "H"), ("neutral", "N"), ("unknown", "U")):
        code = unit_sidc(kind, affiliation)
        assert len(code) == 15 and code[0] == "S" and code[1] == letter and code[2:4] == "GP"
        assert code[4:10] == unit_function(kind).function


def test_codes_carry_the_echelon_and_installations_their_flag():
    assert unit_sidc("sam_battery", "friend") == "SFGPUCDM---E---"
    assert unit_sidc("sam_battalion", "friend") == "SFGPUCDM---F---"
    assert unit_sidc("sam_regiment", "friend") == "SFGPUCDM---G---"
    assert unit_sidc("radar_brigade", "friend") == "SFGPUUMRG--H---"
    assert unit_sidc("ew_regiment", "hostile") == "SHGPUUMSE--G---"
    assert unit_sidc("air_base", "friend") == "SFGPIBA---H----"
    assert unit_sidc("communications", "friend") == "SFGPUUS--------"
    assert set(FUNCTIONS) == {"sam", "radar", "ew", "comms", "air"}
    assert AFFILIATION_FILL["friend"] == "#80e0ff" and AFFILIATION_FILL["hostile"] == "#ff8080"


def test_affiliation_is_the_defenders_view(reference):
    sides = {nid: str(n.side) for nid, n in reference.nations.items()}
    for nid, side in sides.items():
        expected = {"defender": "friend", "opposing": "hostile", "neutral": "neutral"}[side]
        assert affiliation_of(reference, nid) == expected
    assert affiliation_of(reference, "XXX") == "unknown"


def test_the_units_geojson_and_the_report_map_carry_the_same_codes(reference):
    oob = order_of_battle(reference)
    features = json.loads(oob_to_geojson(oob))["features"]
    codes = {f["properties"]["unit_id"]: f["properties"]["sidc"] for f in features}
    for e in oob:
        if e.unit_id in codes:
            assert codes[e.unit_id] == unit_sidc(e.kind, affiliation_of(reference, e.nation))
    fig = oob_map_figure(oob)
    drawn = [a.get_gid() for a in fig.axes[0].artists if isinstance(a, AnnotationBbox)]
    top = [e for e in oob if e.depth == 0 and e.lat_deg is not None]
    assert len(drawn) == len(top)
    for gid in drawn:
        unit_id, code = gid.split(" ")
        assert codes[unit_id] == code


def test_a_hostile_nations_units_are_hostile_symbols(write):
    from iadsim import load_scenario

    text = MINIMAL.replace("BLR: {name: Belarus, side: defender, region: BLR}",
                           "BLR: {name: Belarus, side: opposing, region: BLR}")
    oob = order_of_battle(load_scenario(write(text)))
    codes = [f["properties"]["sidc"] for f in json.loads(oob_to_geojson(oob))["features"]]
    assert codes and all(c[1] == "H" for c in codes)
