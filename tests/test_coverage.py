"""Coverage grids, region metrics and exports, checked against hand-computed geometry."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box, mapping

from iadsim import compile_world, load_scenario
from iadsim.coverage import JOINT, CoverageError, CoverageGrid, GridTooLarge, compute_coverage
from iadsim.coverage.compute import ALL_ASPECTS, ANY_ASPECT, _ground_distance, launch_regions
from iadsim.coverage.metrics import (
    RegionError,
    check_region_names,
    default_regions,
    load_region_file,
    region_metrics,
)
from iadsim.data import Region
from iadsim.geo.radar_geometry import horizon_distance_m
from iadsim.io.coverage import (
    coverage_contours,
    write_contours_kml,
    write_coverage_geotiffs,
)
from iadsim.sensors import detection_range_m

from .conftest import MINIMAL as _MINIMAL

# the minimal scenario's radar as a searching (acquisition) radar: engagement radars count for
# engagement only, not for the detected area (docs/models/detection.md, "Which radars search")
MINIMAL = _MINIMAL.replace("role: fire_control", "role: acquisition")

HRODNA = (53.6884, 23.8258)  # lat, lon of the minimal scenario's battalions
AREA = (20.0, 28.0, 51.5, 56.0)


@pytest.fixture(scope="module")
def minimal_world(tmp_path_factory):
    path = tmp_path_factory.mktemp("cov") / "s.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return compile_world(load_scenario(path), dt.date(2020, 12, 31))


@pytest.fixture(scope="module")
def grid():
    return CoverageGrid.over(*AREA, resolution_km=2.0)


@pytest.fixture(scope="module")
def smooth(minimal_world, grid):
    return compute_coverage(minimal_world, grid, [100.0, 10_000.0], {"ref": 1.0, "small": 1 / 16})


def _distances(grid):
    full = (slice(0, grid.shape[0]), slice(0, grid.shape[1]))
    return _ground_distance(grid, full, *HRODNA)


def test_detection_reaches_the_radar_range_at_altitude(smooth, grid):
    d = _distances(grid)
    detected = smooth.detected()[0, 1]  # ref RCS, 10 km
    # two r1 radars (one per battalion) at one town: identical radars at one site are one look
    # (not independent looks, which would reach 139.7 km), so Pd 0.5 falls at their 120 km
    slant = float(detection_range_m(0.5, 1.0, 120e3, 1.0, 0.5))
    assert slant == pytest.approx(120e3, rel=1e-6)
    assert float(detection_range_m(1 - np.sqrt(0.5), 1.0, 120e3, 1.0, 0.5)) == pytest.approx(
        139.7e3, rel=0.01)
    limit = float(np.sqrt(slant**2 - 10e3**2))
    assert d[detected].max() == pytest.approx(limit, abs=2.9e3)
    assert d[detected].max() <= limit + 100
    # the fourth-root law on the map: 16 times smaller RCS → half the range
    half = float(np.sqrt((slant / 2) ** 2 - 10e3**2))
    assert d[smooth.detected()[1, 1]].max() == pytest.approx(half, abs=2.9e3)


def test_low_altitude_detection_is_horizon_limited(smooth, grid):
    d = _distances(grid)
    horizon = float(horizon_distance_m(0.0, 100.0))  # antenna height not given: 0 m
    assert d[smooth.detected()[0, 0]].max() == pytest.approx(horizon, abs=2.9e3)
    assert horizon == pytest.approx(41_200, rel=0.01)


def test_engagement_envelope_and_depth(smooth, grid):
    d = _distances(grid)
    depth = smooth.depth[JOINT][0, 0, 1]  # without launch regions: the kill zone's range alone
    assert smooth.aspects == (ANY_ASPECT,)
    limit = float(np.sqrt(75e3**2 - 10e3**2))  # missile m1: 75 km slant range
    assert d[depth > 0].max() == pytest.approx(limit, abs=2.9e3)
    # two battalions (bn1, bn2) at Hrodna in 2020: both can engage near the site
    assert depth[d < 50e3].min() == 2
    assert smooth.depth["BLR"][0, 0, 1].max() == 2


def test_fewer_fire_units_before_the_second_battalion(minimal_world, grid, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    world_2010 = compile_world(load_scenario(path), dt.date(2010, 1, 1))
    cov = compute_coverage(world_2010, grid, [10_000.0], {"ref": 1.0})
    assert cov.depth[JOINT].max() == 1


def test_region_metrics(smooth):
    lat, lon = HRODNA
    near = Region("near", "near", Point(lon, lat).buffer(0.3))  # ~20-33 km: inside everything
    far = Region("far", "far", box(27.0, 55.0, 27.8, 55.8))  # ~300 km away: outside
    rows = region_metrics(smooth, [near, far])
    by = {(r["region"], r["rcs_class"], r["altitude_m"]): r for r in rows}
    assert {r["aspect"] for r in rows} == {ANY_ASPECT}
    assert by[("near", "ref", 10_000.0)]["detected_pct"] == 100.0
    assert by[("near", "ref", 10_000.0)]["engageable_pct"] == 100.0
    assert by[("near", "ref", 10_000.0)]["max_depth"] == 2
    assert by[("far", "ref", 10_000.0)]["detected_pct"] == 0.0
    assert by[("far", "ref", 10_000.0)]["engageable_pct"] == 0.0


def test_geotiff_export(smooth, tmp_path):
    paths = write_coverage_geotiffs(smooth, tmp_path)
    assert len(paths) == 4  # pd and depth for two RCS classes
    with rasterio.open(tmp_path / "pd_joint_ref.tif") as ds:
        assert ds.crs.to_epsg() == 3035
        assert ds.count == 2 and ds.descriptions == ("100 m AGL", "10,000 m AGL")
        np.testing.assert_array_equal(ds.read(2), smooth.pd[JOINT][0, 1])
        assert ds.tags()["terrain"].startswith("none")
    with rasterio.open(tmp_path / "depth_joint_ref.tif") as ds:
        assert ds.descriptions == ("any aspect (kill-zone range only), 100 m AGL",
                                   "any aspect (kill-zone range only), 10,000 m AGL")


def test_contours_are_lon_lat_and_kml_parses(smooth, tmp_path):
    features = coverage_contours(smooth)
    assert {f["properties"]["quantity"] for f in features} == {"detected", "engageable"}
    for f in features:
        coords = np.array(_all_coords(f["geometry"]))
        assert (coords[:, 0] > 19).all() and (coords[:, 0] < 29).all()  # longitudes first
        assert (coords[:, 1] > 51).all() and (coords[:, 1] < 57).all()
    kml = write_contours_kml(features, tmp_path / "c.kml", "test")
    root = ET.parse(kml).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Placemark", ns)) == len(features)


def _all_coords(geom):
    if geom["type"] == "Polygon":
        return [c for ring in geom["coordinates"] for c in ring]
    return [c for poly in geom["coordinates"] for ring in poly for c in ring]


def test_terrain_blocks_low_altitude_view(minimal_world, grid):
    # a 1,500 m wall 30 km east of the radar hides low targets behind it, not those in front
    ground = np.zeros(grid.shape, dtype=np.float32)
    row, col = grid.index_of(HRODNA[1], HRODNA[0])
    wall_col = col + 15
    ground[:, wall_col] = 1500.0
    cov = compute_coverage(minimal_world, grid, [300.0], {"ref": 1.0}, ground_m=ground,
                           terrain="test wall")
    detected = cov.detected()[0, 0]
    assert detected[row, col + 10]  # in front of the wall
    assert not detected[row, col + 20]  # behind it
    smooth = compute_coverage(minimal_world, grid, [300.0], {"ref": 1.0})
    assert smooth.detected()[0, 0][row, col + 20]


def test_bad_requests(minimal_world, grid):
    with pytest.raises(CoverageError, match="≥ 0 m"):
        compute_coverage(minimal_world, grid, [-50.0], {"ref": 1.0})
    with pytest.raises(CoverageError, match="between 0 and 1"):
        compute_coverage(minimal_world, grid, [100.0], {"ref": 1.0}, pd_threshold=1.5)
    ground = np.full(grid.shape, 500.0, dtype=np.float32)
    with pytest.raises(CoverageError, match="below ground everywhere"):
        compute_coverage(minimal_world, grid, [100.0], {"ref": 1.0}, ground_m=ground,
                         altitude_reference="msl")


def test_grid_too_large_gives_estimate_and_hint():
    grid = CoverageGrid.over(14, 40, 45, 62, resolution_km=0.1)
    with pytest.raises(GridTooLarge) as info:
        grid.check_memory(n_layers=6, n_rcs=5, n_groups=3)
    message = str(info.value)
    assert "GiB" in message and "coarser resolution" in message


def test_region_file_errors(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "Polygon", "coordinates": []}))
    with pytest.raises(RegionError, match=r"empty polygon|no valid geometry"):
        load_region_file(empty)
    point = tmp_path / "point.geojson"
    point.write_text(json.dumps({"type": "Point", "coordinates": [24, 54]}))
    with pytest.raises(RegionError, match="not a polygon"):
        load_region_file(point)
    swapped = tmp_path / "swapped.geojson"
    swapped.write_text(json.dumps(mapping(box(54, 100, 55, 101))))
    with pytest.raises(RegionError, match="outside lon/lat"):
        load_region_file(swapped)
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json")
    with pytest.raises(RegionError, match="not a GeoJSON"):
        load_region_file(bad)
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Suwałki gap"},
         "geometry": mapping(box(22.5, 53.9, 23.6, 54.5))}]}))
    [region] = load_region_file(good)
    assert region.name == "Suwałki gap"
    assert isinstance(region, Region) and region.id == "good:Suwałki gap"
    for features, message in (([1], "feature 1 is not a GeoJSON Feature"),
                              ({"a": 1}, "features is not a list"), (7, "features is not a list")):
        odd = tmp_path / "odd.geojson"
        odd.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        with pytest.raises(RegionError, match=message):
            load_region_file(odd)


def test_a_user_region_named_like_another_is_refused(tmp_path):
    """A region named like a built-in one hid the built-in row (Lithuania 0.0 instead of 73.1), and
    two named alike shared one's figures: each name may stand for one region only."""
    def regions(*names: str) -> list[Region]:
        path = tmp_path / "mine.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": n}, "geometry": mapping(box(22 + i, 54, 23 + i, 55))}
            for i, n in enumerate(names)]}))
        return load_region_file(path)

    with pytest.raises(RegionError, match=r"region 'lithuania' .* has the name of a built-in region"):
        check_region_names(regions("lithuania"), default_regions())
    with pytest.raises(RegionError, match=r"region 'Box' .* has the name of region mine:Box"):
        check_region_names(regions("Box", "Box"), default_regions())
    check_region_names(regions("Box", "Suwałki gap"), default_regions())


def test_one_region_type_for_bundled_and_user_regions():
    import iadsim.coverage.metrics as metrics
    from iadsim.data import load_regions

    assert metrics.Region is Region  # one class, defined in iadsim.data
    regions = default_regions()
    assert [r.id for r in regions] == list(metrics.DEFAULT_REGIONS)
    assert all(isinstance(r, Region) and r is load_regions()[r.id] for r in regions)


def test_grid_distances_within_0_4_percent_of_wgs84_geodesics():
    from iadsim.geo import geodesic_distance_m

    grid = CoverageGrid.over(14, 40, 45, 62, resolution_km=25.0)
    lon, lat = grid.lonlat_deg
    for site_lat, site_lon in ((53.9, 27.57), (54.7, 20.5), (46.0, 39.0), (61.5, 15.0)):
        row, col = grid.index_of(site_lon, site_lat)
        window = grid.window(row, col, 600e3)
        sphere = _ground_distance(grid, window, site_lat, site_lon)
        geodesic = geodesic_distance_m(site_lat, site_lon, lat[window], lon[window]).reshape(sphere.shape)
        far = geodesic > 1e3
        assert np.max(np.abs(sphere[far] / geodesic[far] - 1)) < 0.004


def test_sites_outside_the_grid_still_cover_it(minimal_world):
    # Hrodna (23.8 E) lies west of this grid; its radars reach into it
    grid = CoverageGrid.over(25.0, 28.0, 52.5, 55.0, resolution_km=5.0)
    ground = np.zeros(grid.shape, dtype=np.float32)
    cov = compute_coverage(minimal_world, grid, [10_000.0], {"ref": 1.0}, ground_m=ground,
                           terrain="flat test DEM")
    assert cov.detected()[0, 0].any()
    assert any("smooth-earth horizon" in note for note in cov.notes)
    smooth = compute_coverage(minimal_world, grid, [10_000.0], {"ref": 1.0})
    np.testing.assert_array_equal(cov.detected(), smooth.detected())


def test_single_sensor_coverage_is_that_radars_pd(minimal_world, grid):
    from iadsim.coverage import sensor_coverage

    one = sensor_coverage(minimal_world, grid, 0, [10_000.0], {"ref": 1.0})
    d = _distances(grid)
    # one r1 radar alone reaches Pd 0.5 at 120 km slant range
    limit = float(np.sqrt(120e3**2 - 10e3**2))
    assert d[one.detected()[0, 0]].max() == pytest.approx(limit, abs=2.9e3)
    assert one.n_fire_units == 0 and one.depth[JOINT].max() == 0
    with pytest.raises(CoverageError, match="no ground radar 9"):
        sensor_coverage(minimal_world, grid, 9, [10_000.0], {"ref": 1.0})


@pytest.fixture(scope="module")
def by_aspect(tmp_path_factory, grid):
    path = tmp_path_factory.mktemp("cov") / "s.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    scenario = load_scenario(path)
    # the minimal missile with a speed, so that it has a flyout and a launch region
    base = scenario.catalog.missiles["m1"]
    m1 = base.model_copy(update={"max_speed_mps": 2000.0,
                                 "assumed": {**base.assumed, "max_speed_mps": "test value"}})
    scenario = scenario.with_changes(catalog=scenario.catalog.model_copy(
        update={"missiles": {**scenario.catalog.missiles, "m1": m1}}))
    world = compile_world(scenario, dt.date(2020, 12, 31))
    regions = launch_regions(scenario)
    assert set(regions) == {"sam1"}
    cov = compute_coverage(world, grid, [10_000.0], {"ref": 1.0}, regions=regions,
                           target_speed_mps={"ref": 250.0})
    return cov, regions["sam1"]


def test_engagement_by_aspect_follows_the_launch_region(by_aspect, grid):
    """The far edge of engageable cells for each aspect is the launch region's far edge at the
    target's height above the site (10 km) and speed, within a cell."""
    cov, region = by_aspect
    assert cov.aspects == ALL_ASPECTS
    assert cov.depth[JOINT].shape[:3] == (3, 1, 1)
    d = _distances(grid)
    reach = []
    for a, name in enumerate(ALL_ASPECTS):
        cells = cov.depth[JOINT][a, 0, 0] > 0
        far = d[cells].max()
        # the height above the site is the layer's altitude: the drop is not added (the engine adds
        # it to an up coordinate that the drop has lowered; a height over the earth already has it)
        edge = float(region.edges_m(10_000.0, 250.0, {"approaching": 0, "crossing": 90, "receding": 180}[name])[1])
        assert far == pytest.approx(edge, abs=2.9e3), name
        reach.append(far)
    assert reach[0] > reach[1] > reach[2]  # approaching beyond crossing beyond receding
    assert cov.aspect_label(2, 0) == "receding at 250 m/s"


def test_a_target_just_under_the_missiles_ceiling_is_engaged_as_far_as_one_lower_down(tmp_path, grid):
    """100 m under the ceiling the far edge is the launch region's, as 2 km under it. With the
    earth's drop added to the height twice, the ceiling cut every aspect at √(2R · 100 m) = 36 km."""
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    scenario = load_scenario(path)
    base = scenario.catalog.missiles["m1"]
    m1 = base.model_copy(update={"max_speed_mps": 2000.0, "max_altitude_km": 12.0,
                                 "assumed": {**base.assumed, "max_speed_mps": "test value",
                                             "max_altitude_km": "test value"}})
    scenario = scenario.with_changes(catalog=scenario.catalog.model_copy(
        update={"missiles": {**scenario.catalog.missiles, "m1": m1}}))
    world = compile_world(scenario, dt.date(2020, 12, 31))
    regions = launch_regions(scenario)
    cov = compute_coverage(world, grid, [10_000.0, 11_900.0], {"ref": 1.0}, altitude_reference="msl",
                           regions=regions, target_speed_mps={"ref": 250.0}, aspects=["approaching"])
    d = _distances(grid)
    site_m = float(np.nan_to_num(world.fire_units.fcr_antenna_height_m[0]))  # none given: 0
    for layer, altitude in enumerate((10_000.0, 11_900.0)):
        far = d[cov.depth[JOINT][0, 0, layer] > 0].max()
        edge = float(regions["sam1"].edges_m(altitude - site_m, 250.0, 0.0)[1])
        assert far == pytest.approx(edge, abs=2.9e3), altitude
        assert far > 60e3


def test_region_tables_and_exports_name_the_aspect(by_aspect, tmp_path):
    cov, _ = by_aspect
    lat, lon = HRODNA
    rows = region_metrics(cov, [Region("near", "near", Point(lon, lat).buffer(0.6))])
    assert [r["aspect"] for r in rows] == list(ALL_ASPECTS)
    assert {r["target_speed_mps"] for r in rows} == {250.0}
    assert len({r["detected_pct"] for r in rows}) == 1  # detection does not depend on the aspect
    write_coverage_geotiffs(cov, tmp_path)
    with rasterio.open(tmp_path / "depth_joint_ref.tif") as ds:
        assert ds.descriptions == tuple(f"{a} at 250 m/s, 10,000 m AGL" for a in ALL_ASPECTS)
        np.testing.assert_array_equal(ds.read(3), cov.depth[JOINT][2, 0, 0])
    features = coverage_contours(cov)
    assert {f["properties"]["aspect"] for f in features
            if f["properties"]["quantity"] == "engageable"} == set(ALL_ASPECTS)


def test_bad_aspects_and_speeds(minimal_world, grid, by_aspect):
    _, region = by_aspect
    regions = {"sam1": region}
    with pytest.raises(CoverageError, match="not an aspect"):
        compute_coverage(minimal_world, grid, [100.0], {"ref": 1.0}, regions=regions,
                         aspects=["sideways"], target_speed_mps={"ref": 250.0})
    with pytest.raises(CoverageError, match="0-180"):
        compute_coverage(minimal_world, grid, [100.0], {"ref": 1.0}, regions=regions,
                         aspects=["270"], target_speed_mps={"ref": 250.0})
    with pytest.raises(CoverageError, match="no target speed"):
        compute_coverage(minimal_world, grid, [100.0], {"ref": 1.0}, regions=regions)


def test_shift_of_a_zone_moved_west_along_parallels_and_bearings(smooth):
    """The same zone moved 5 cells (10 km) in −x: its west edge moves ~10 km west along the
    parallel through Hrodna (the grid's x axis turns ~11° from the parallels there), its reach
    westward grows as much, and the area gained is the newly covered cells."""
    import dataclasses

    from iadsim.coverage.shift import ShiftLines, boundary_shift

    moved = {g: np.roll(d, -5, axis=-1) for g, d in smooth.depth.items()}
    pd = {g: np.roll(p, -5, axis=-1) for g, p in smooth.pd.items()}
    after = dataclasses.replace(smooth, depth=moved, pd=pd, as_of=dt.date(2021, 1, 1))
    lat, lon = HRODNA
    everything = Region("all", "all", box(*AREA[:1], AREA[2], AREA[1], AREA[3]))
    lines = ShiftLines(latitudes=(lat,), bearings=(270.0,), origin=(lat, lon))
    boundary, areas = boundary_shift(smooth, after, lines, [everything])
    rows = {(b["quantity"], b["rcs_class"], b["altitude_m"], b["line"][:3], b["edge"]): b
            for b in boundary}
    for quantity in ("detected", "engageable"):
        west = rows[(quantity, "ref", 10_000.0, "lat", "west")]
        east = rows[(quantity, "ref", 10_000.0, "lat", "east")]
        reach = rows[(quantity, "ref", 10_000.0, "bea", "outer")]
        assert west["moved_km"] == pytest.approx(10.2, abs=2.5), quantity
        assert east["moved_km"] == pytest.approx(-10.2, abs=2.5), quantity
        assert reach["moved_km"] == pytest.approx(10.2, abs=2.5), quantity
    cell_km2 = (smooth.grid.resolution_m / 1000) ** 2
    zone1 = smooth.engageable()[0, 0, 1] & smooth.grid.in_area
    zone2 = after.engageable()[0, 0, 1] & smooth.grid.in_area
    [row] = [a for a in areas if a["quantity"] == "engageable" and a["rcs_class"] == "ref"
             and a["altitude_m"] == 10_000.0]
    assert row["gained_km2"] == pytest.approx(np.count_nonzero(zone2 & ~zone1) * cell_km2, abs=cell_km2)
    assert abs(row["net_km2"]) <= 2 * cell_km2 * 10  # a pure move gains what it loses (edges aside)


def test_shift_needs_lines_and_matching_coverages(smooth):
    from iadsim.coverage.shift import ShiftLines, boundary_shift

    with pytest.raises(CoverageError, match="at least one latitude"):
        boundary_shift(smooth, smooth, ShiftLines(), [])
    with pytest.raises(CoverageError, match="--shift-from"):
        boundary_shift(smooth, smooth, ShiftLines(bearings=(90.0,)), [])
    with pytest.raises(CoverageError, match="outside the area"):
        boundary_shift(smooth, smooth, ShiftLines(latitudes=(80.0,)), [])
    lon0, _, lat0, lat1 = smooth.grid.area_lonlat
    # a parallel inside the grid's rectangle but outside its area would give empty (NaN) rows
    with pytest.raises(CoverageError, match="outside the area"):
        ShiftLines(latitudes=(lat1 + 0.5,)).check(smooth)
    with pytest.raises(CoverageError, match=r"origin .* outside the area"):
        ShiftLines(bearings=(90.0,), origin=(lat0 - 1.0, lon0)).check(smooth)
    ShiftLines(bearings=(90.0,), origin=(lat0, lon0)).check(smooth)  # on the edge is inside


def test_regions_without_cells_are_found_with_a_hint_for_swapped_coordinates():
    from shapely.geometry import box

    from iadsim.coverage.grid import CoverageGrid
    from iadsim.coverage.metrics import Region, regions_without_cells

    grid = CoverageGrid.over(20, 30, 51, 57, 50)
    inside = Region("f:in", "in", box(24, 54, 26, 55))
    far = Region("f:far", "far", box(100, 10, 101, 11))
    swapped = Region("f:sw", "swapped", box(54, 24, 55, 26))  # lat, lon written as lon, lat
    found = regions_without_cells(grid, [inside, far, swapped])
    assert [(r.name, hint) for r, hint in found] == [("far", False), ("swapped", True)]


def test_region_masks_are_kept_per_grid_and_returned_fresh():
    """A study evaluates many coverages on one grid: the masks are computed once per grid and
    region, equal to a recomputation on an equal grid, and a caller's change does not leak."""
    from iadsim.coverage.metrics import region_masks

    regions = default_regions()
    grid = CoverageGrid.over(14, 40, 45, 62, resolution_km=25.0)
    first = region_masks(grid, regions)
    first[regions[0].id][:] = True
    again = region_masks(CoverageGrid.over(14, 40, 45, 62, resolution_km=25.0), regions)
    assert not again[regions[0].id].all()
    assert all(again[r.id].any() for r in regions)
    finer = region_masks(CoverageGrid.over(14, 40, 45, 62, resolution_km=20.0), regions)
    assert finer[regions[0].id].shape != again[regions[0].id].shape


def _write_flat_dem(path, height_m: float) -> None:
    """A flat GeoTIFF (EPSG:4326) over lon 20–30 E, lat 50–58 N at ``height_m``."""
    from affine import Affine

    profile = {"driver": "GTiff", "width": 100, "height": 80, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": Affine(0.1, 0.0, 20.0, 0.0, -0.1, 58.0)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, 80, 100), height_m, np.float32))


def test_kept_grid_and_terrain_are_read_only_and_a_rewritten_dem_is_read_again(tmp_path):
    """A study keeps its grid's cell coordinates and the DEM resampled on it per process (a
    sensitivity study computes a coverage on one grid for every point): what is kept cannot be
    changed by a caller, and a DEM file written again is read again, not served from the cache."""
    import os

    from iadsim.coverage.study import CoverageRequest, _terrain_on_grid

    grid = CoverageGrid.over(22.0, 26.0, 53.0, 56.0, 10.0)
    assert CoverageGrid.over(22.0, 26.0, 53.0, 56.0, 10.0) is grid
    for array in (*grid.lonlat_deg, grid.unit_vectors, grid.in_area):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    dem = tmp_path / "flat.tif"
    _write_flat_dem(dem, 120.0)
    request = CoverageRequest(dates=(dt.date(2020, 1, 1),), area=(22.0, 26.0, 53.0, 56.0), dem=str(dem))
    heights, _ = _terrain_on_grid(request, grid)
    assert np.all(heights == 120.0) and not heights.flags.writeable
    assert _terrain_on_grid(request, grid)[0] is heights
    _write_flat_dem(dem, 240.0)
    stat = dem.stat()
    os.utime(dem, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later write, whatever the clock
    assert np.all(_terrain_on_grid(request, grid)[0] == 240.0)
