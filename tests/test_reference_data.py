"""Integrity of the bundled data: places lie in their countries, borders are valid, facts sourced."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point

from iadsim.data import borders_path, load_regions, load_towns
from iadsim.scenario.provenance import cited_source_ids, collect_assumptions

GEOD = Geod(ellps="WGS84")


def _area_km2(geom) -> float:
    # densify first: GeoJSON edges are straight in lon/lat, pyproj's are geodesics
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.01))[0]) / 1e6


def test_borders_are_valid_lon_lat_polygons():
    doc = json.loads(borders_path().read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    for f in doc["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    regions = load_regions()
    assert {"BLR", "POL", "LTU", "LVA", "EST", "UKR", "RUS", "RUS-KGD"} <= set(regions)
    for region in regions.values():
        assert region.geometry.is_valid, region.id
        minx, miny, maxx, maxy = region.geometry.bounds
        assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def test_region_areas_match_official_figures():
    regions = load_regions()
    assert _area_km2(regions["BLR"].geometry) == pytest.approx(207_600, rel=0.01)
    # the Kaliningrad oblast's land polygon: 13,561 km² in the independent GMT DCW data set
    # (geodata-sources.md); the official 15,125 km² includes lagoon waters
    assert _area_km2(regions["RUS-KGD"].geometry) == pytest.approx(13_561, rel=0.015)


def test_kaliningrad_is_its_own_region():
    regions = load_regions()
    kaliningrad_city = Point(20.511, 54.7065)
    assert regions["RUS-KGD"].geometry.contains(kaliningrad_city)
    assert not regions["RUS"].geometry.contains(kaliningrad_city)


def test_crimea_is_drawn_in_ukraine():
    # the internationally recognised border (UN GA resolution 68/262); see docs/data-sources.md
    assert load_regions()["UKR"].geometry.contains(Point(34.1024, 44.9521))  # Simferopol


def test_towns_in_region_and_sorted_by_population():
    towns = load_towns()
    assert len(towns) > 1500
    assert towns[0].population >= towns[-1].population
    assert all(14 <= t.lon_deg <= 40 and 45 <= t.lat_deg <= 62 for t in towns)
    assert any(t.name == "Minsk" for t in towns)


def test_every_place_lies_in_its_country(reference):
    regions = load_regions()
    by_iso2 = {"BLR": ["BLR"], "RUS": ["RUS", "RUS-KGD"]}
    for pid, place in reference.places.items():
        assert place.country, pid
        ids = by_iso2.get(place.country, [place.country])
        point = Point(place.lon_deg, place.lat_deg)
        assert any(regions[i].geometry.buffer(0.02).contains(point) for i in ids if i in regions), pid


def test_belarusian_units_are_in_belarus_and_kaliningrad_units_in_the_oblast(reference):
    regions = load_regions()
    for uid, unit in reference.units.items():
        if unit.place is None:
            continue
        place = reference.places[unit.place]
        point = Point(place.lon_deg, place.lat_deg)
        if unit.nation == "BLR":
            assert regions["BLR"].geometry.contains(point), uid
        if "Kaliningrad" in place.name or place.name in ("Gvardeysk",):
            assert regions["RUS-KGD"].geometry.contains(point), uid


def test_every_cited_source_is_listed_with_a_title(reference):
    cited = cited_source_ids(reference)
    assert cited <= set(reference.sources)
    assert {"OSW2021", "GeoNames"} <= cited
    for sid in cited:
        assert reference.sources[sid].title


def test_every_assumption_gives_a_reason(reference):
    assumptions = collect_assumptions(reference)
    assert assumptions, "the reference data state their assumptions"
    for a in assumptions:
        assert len(a.reason) >= 10, a


def test_nation_regions_exist(reference):
    regions = load_regions()
    for nid, nation in reference.nations.items():
        assert nation.region in regions, nid
