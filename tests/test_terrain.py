"""Terrain: DEMs written by the tests reproduce known planes; the bundled ETOPO5; every user error."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning

from iadsim.geo.terrain import (
    DEFAULT_DEM_DESCRIPTION,
    Terrain,
    TerrainError,
    default_dem_path,
    default_terrain,
    load_dem,
)

ROOT = Path(__file__).resolve().parents[1]

# A UTM zone 35N DEM near Minsk: 200 rows x 300 cols of 30 m, heights on a tilted plane.
UTM = "EPSG:32635"
X0, Y0, PIX = 400_000.0, 6_000_000.0, 30.0
ROWS, COLS = 200, 300
UTM_TRANSFORM = Affine(PIX, 0, X0, 0, -PIX, Y0)


def utm_plane(x, y):
    """Height in m of the test plane at UTM x, y (m): 150 m at the origin, up to the north-east."""
    return 150.0 + 0.002 * (np.asarray(x) - X0) + 0.001 * (np.asarray(y) - (Y0 - ROWS * PIX))


def lonlat_plane(lon, lat):
    """Height in m of the lon/lat test plane."""
    return 100.0 + 50.0 * (np.asarray(lon) - 20.0) + 30.0 * (np.asarray(lat) - 50.0)


def pixel_centres(transform: Affine, rows: int, cols: int):
    col, row = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    return transform @ (col, row)


def write_dem(path: Path, heights, crs=UTM, transform=UTM_TRANSFORM, nodata=None, driver="GTiff", **kw) -> Path:
    """Write a DEM (2-D array, or 3-D for several bands) with rasterio and return its path."""
    data = np.asarray(heights)
    if data.ndim == 2:
        data = data[None]
    profile = {"driver": driver, "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": data.dtype.name, "nodata": nodata, **kw}
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
    return path


def utm_heights() -> np.ndarray:
    return utm_plane(*pixel_centres(UTM_TRANSFORM, ROWS, COLS)).astype(np.float32)


@pytest.fixture(scope="module")
def utm_dem(tmp_path_factory) -> Terrain:
    return load_dem(write_dem(tmp_path_factory.mktemp("dem") / "plane_utm.tif", utm_heights()))


GEO_TRANSFORM = Affine(0.01, 0, 20.0, 0, -0.01, 51.0)  # 20-22 E, 50-51 N, 0.01 deg pixels


@pytest.fixture(scope="module")
def geo_dem(tmp_path_factory) -> Terrain:
    heights = lonlat_plane(*pixel_centres(GEO_TRANSFORM, 100, 200))
    return load_dem(write_dem(tmp_path_factory.mktemp("dem") / "plane_4326.tif", heights.astype(np.float64),
                              crs="EPSG:4326", transform=GEO_TRANSFORM))


_TO_LONLAT = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
_TO_UTM = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)


# --- a UTM DEM -----------------------------------------------------------------------------


def test_utm_dem_metadata(utm_dem):
    t = utm_dem
    assert t.crs == UTM
    assert t.resolution_m == pytest.approx(30.0)
    assert t.description == "plane_utm.tif: 30 m, EPSG:32635"
    assert t.heights_m.shape == (ROWS, COLS) and t.heights_m.dtype == np.float32
    assert not t.heights_m.flags.writeable
    lon_min, lat_min, lon_max, lat_max = t.bounds_lonlat
    corners = [_TO_LONLAT.transform(x, y) for x, y in [(X0, Y0), (X0 + COLS * PIX, Y0 - ROWS * PIX)]]
    assert lon_min <= corners[0][0] < corners[1][0] <= lon_max
    assert lat_min <= corners[1][1] < corners[0][1] <= lat_max
    assert 25.4 < lon_min < lon_max < 25.7 and 54.0 < lat_min < lat_max < 54.2


def test_utm_height_at_reproduces_the_plane(utm_dem):
    rng = np.random.default_rng(1)
    x = rng.uniform(X0 + PIX / 2, X0 + (COLS - 0.5) * PIX, 500)
    y = rng.uniform(Y0 - (ROWS - 0.5) * PIX, Y0 - PIX / 2, 500)
    lon, lat = _TO_LONLAT.transform(x, y)
    h = utm_dem.height_at(lat, lon)
    assert h.shape == (500,) and h.dtype == np.float64
    np.testing.assert_allclose(h, utm_plane(x, y), atol=1e-3)


def test_height_at_shapes_and_outside(utm_dem):
    lon, lat = _TO_LONLAT.transform(X0 + 1000, Y0 - 1000)
    assert utm_dem.height_at(lat, lon).shape == (1,)
    assert utm_dem.height_at([lat, lat], lon).shape == (2,)
    assert utm_dem.height_at(np.full((2, 3), lat), np.full((2, 3), lon)).shape == (2, 3)
    assert np.isnan(utm_dem.height_at(53.9, 27.57)).all()  # Minsk: far outside this small DEM
    # the outer half-pixel rim holds the edge value; a metre beyond the edge is outside
    lon_rim, lat_rim = _TO_LONLAT.transform(X0 + 5, Y0 - 1000)
    lon_out, lat_out = _TO_LONLAT.transform(X0 - 1, Y0 - 1000)
    assert np.isfinite(utm_dem.height_at(lat_rim, lon_rim)).all()
    assert np.isnan(utm_dem.height_at(lat_out, lon_out)).all()


def test_utm_resample_onto_a_coarser_utm_grid(utm_dem):
    # 90 m target cells inside the DEM, offset by a third of a source cell
    dst_transform = Affine(90.0, 0, X0 + 10.0, 0, -90.0, Y0 - 10.0)
    out = utm_dem.resample(UTM, dst_transform, (60, 90))
    assert out.shape == (60, 90) and out.dtype == np.float32
    expected = utm_plane(*pixel_centres(dst_transform, 60, 90))
    inner = (slice(1, -1), slice(1, -1))  # the outermost target cells see the DEM's edge
    np.testing.assert_allclose(out[inner], expected[inner], atol=0.02)


def test_utm_resample_onto_a_lonlat_grid_with_nan_outside(utm_dem):
    lon_min, lat_min, lon_max, lat_max = utm_dem.bounds_lonlat
    step = 0.002
    dst_transform = Affine(step, 0, lon_min - 0.02, 0, -step, lat_max + 0.02)
    shape = (int((lat_max - lat_min + 0.04) / step), int((lon_max - lon_min + 0.04) / step))
    out = utm_dem.resample("EPSG:4326", dst_transform, shape)
    lon, lat = pixel_centres(dst_transform, *shape)
    x, y = _TO_UTM.transform(lon, lat)
    c, r = ~UTM_TRANSFORM @ (x, y)
    well_inside = (c > 2) & (c < COLS - 2) & (r > 2) & (r < ROWS - 2)
    outside = (c < -10) | (c > COLS + 10) | (r < -10) | (r > ROWS + 10)  # beyond the target cells' reach
    assert well_inside.sum() > 1000 and outside.sum() > 1000
    np.testing.assert_allclose(out[well_inside], utm_plane(x, y)[well_inside], atol=0.05)
    assert np.isnan(out[outside]).all()


@pytest.mark.parametrize("method", ["nearest", "cubic", "average", "max", "min"])
def test_resample_methods_stay_within_the_plane_range(utm_dem, method):
    out = utm_dem.resample(UTM, Affine(300.0, 0, X0, 0, -300.0, Y0), (20, 30), resampling=method)
    assert np.isfinite(out).all()
    assert utm_dem.heights_m.min() - 0.01 <= out.min() and out.max() <= utm_dem.heights_m.max() + 0.01


def test_resample_rejects_bad_arguments(utm_dem):
    with pytest.raises(ValueError, match="unknown resampling 'linear'"):
        utm_dem.resample(UTM, UTM_TRANSFORM, (10, 10), resampling="linear")
    with pytest.raises(ValueError, match="shape"):
        utm_dem.resample(UTM, UTM_TRANSFORM, (0, 10))
    with pytest.raises(ValueError, match="target CRS"):
        utm_dem.resample("EPSG:99999999", UTM_TRANSFORM, (10, 10))


@settings(max_examples=300, deadline=None)
@given(fx=st.floats(0.5, COLS - 0.5), fy=st.floats(0.5, ROWS - 0.5))
def test_property_height_at_equals_the_plane_inside(utm_dem, fx, fy):
    x, y = UTM_TRANSFORM @ (fx, fy)
    lon, lat = _TO_LONLAT.transform(x, y)
    assert abs(utm_dem.height_at(lat, lon)[0] - utm_plane(x, y)) < 1e-3


# --- a lon/lat DEM -------------------------------------------------------------------------


def test_lonlat_dem(geo_dem):
    t = geo_dem
    assert t.crs == "EPSG:4326"
    assert t.bounds_lonlat == pytest.approx((20.0, 50.0, 22.0, 51.0))
    assert t.resolution_m == pytest.approx(1112, rel=0.01)  # 0.01 deg of latitude; 0.01 deg lon is ~710 m
    assert t.description == "plane_4326.tif: ~1,112 m (36″), EPSG:4326"
    lon = np.array([20.005, 20.5, 21.333, 21.995])
    lat = np.array([50.005, 50.25, 50.777, 50.995])
    np.testing.assert_allclose(t.height_at(lat, lon), lonlat_plane(lon, lat), atol=1e-3)
    t.check_covers(20.1, 50.1, 21.9, 50.9)


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(20.005, 21.995), lat=st.floats(50.005, 50.995))
def test_property_lonlat_height_at_equals_the_plane(geo_dem, lon, lat):
    assert abs(geo_dem.height_at(lat, lon)[0] - lonlat_plane(lon, lat)) < 1e-3


def test_crs_without_epsg_code(tmp_path):
    # a Lambert conformal conic CRS defined by hand: kept as WKT, named by its name in the description
    wkt = ('PROJCS["Test LCC Belarus",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
           'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],'
           'PARAMETER["standard_parallel_1",52],PARAMETER["standard_parallel_2",56],PARAMETER["latitude_of_origin",54],'
           'PARAMETER["central_meridian",28],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1]]')
    transform = Affine(100.0, 0, -5000.0, 0, -100.0, 5000.0)
    heights = np.full((100, 100), 180.0, np.float32)
    t = load_dem(write_dem(tmp_path / "lcc.tif", heights, crs=wkt, transform=transform))
    assert t.crs.startswith("PROJCS[") or t.crs.startswith("PROJCRS[")
    assert t.description == "lcc.tif: 100 m, Test LCC Belarus"
    assert t.height_at(54.0, 28.0)[0] == pytest.approx(180.0)
    t.check_covers(27.95, 53.97, 28.05, 54.03)
    out = t.resample("EPSG:4326", Affine(0.01, 0, 27.96, 0, -0.01, 54.03), (5, 8))
    np.testing.assert_allclose(out, 180.0)


# --- sea -----------------------------------------------------------------------------------


def test_sea_is_clamped_to_zero_by_default(tmp_path):
    heights = np.array([[-50.0, -1.0], [0.0, 120.0]], dtype=np.float32)
    path = write_dem(tmp_path / "coast.tif", heights, transform=Affine(1000, 0, X0, 0, -1000, Y0))
    np.testing.assert_array_equal(load_dem(path).heights_m, [[0, 0], [0, 120]])
    np.testing.assert_array_equal(load_dem(path, clamp_sea=False).heights_m, heights)


def test_nodata_as_sea(tmp_path):
    heights = np.array([[-32768, 5], [7, 9]], dtype=np.int16)
    path = write_dem(tmp_path / "empty_sea.tif", heights, nodata=-32768, transform=Affine(1000, 0, X0, 0, -1000, Y0))
    assert np.isnan(load_dem(path).heights_m[0, 0])
    np.testing.assert_array_equal(load_dem(path, nodata_as_sea=True).heights_m, [[0, 5], [7, 9]])


def test_scale_and_offset_are_applied(tmp_path):
    path = write_dem(tmp_path / "scaled.tif", np.full((4, 4), 100, np.int16))
    with rasterio.open(path, "r+") as ds:
        ds.scales = (0.5,)
        ds.offsets = (10.0,)
    assert (load_dem(path).heights_m == 60.0).all()


# --- the bundled default -------------------------------------------------------------------


def test_default_terrain_metadata():
    t = default_terrain()
    assert t is default_terrain()  # loaded once
    assert t.bundled and t.path == default_dem_path() and t.path.is_file()
    assert t.description == DEFAULT_DEM_DESCRIPTION
    assert t.crs == "EPSG:4326"
    assert 9000 < t.resolution_m < 9500
    assert t.bounds_lonlat == pytest.approx((8 - 1 / 24, 42 - 1 / 24, 46 + 1 / 24, 65 + 1 / 24))
    assert t.heights_m.shape == (277, 457)
    assert t.path.stat().st_size < 300_000
    t.check_covers(14, 45, 40, 62)  # the analysis region


def test_default_terrain_point_checks():
    # nearest ETOPO5 node, as in the geodata sheet: Minsk 210 m, Warsaw 81 m
    with rasterio.open(default_dem_path()) as ds:
        assert ds.crs.to_epsg() == 4326 and ds.nodata is None and ds.dtypes[0] == "int16"
        assert [int(v[0]) for v in ds.sample([(27.57, 53.9), (21.01, 52.23)])] == [210, 81]
    minsk, warsaw, sea = default_terrain().height_at([53.9, 52.23, 55.5], [27.57, 21.01, 19.0])
    assert minsk == pytest.approx(210, abs=10)
    assert warsaw == pytest.approx(81, abs=10)
    assert sea == 0.0  # the Baltic: ETOPO5 depth, raised to the sea surface
    assert default_terrain().heights_m.min() == 0.0


def test_default_terrain_resamples_onto_a_km_grid():
    # 1 km cells, 100 km x 100 km around Minsk in UTM 35N
    x, y = _TO_UTM.transform(27.57, 53.9)
    out = default_terrain().resample(UTM, Affine(1000, 0, x - 50_000, 0, -1000, y + 50_000), (100, 100))
    assert np.isfinite(out).all()
    assert 120 < out.mean() < 300 and out.max() < 400


def test_resample_of_a_large_dem_is_fast():
    # 6000 x 6000 source cells onto 1000 x 1000 target cells
    src = np.random.default_rng(0).uniform(100, 300, (6000, 6000)).astype(np.float32)
    t = Terrain(Path("big.tif"), "big", UTM, 30.0, (0, 0, 0, 0), src, Affine(30, 0, X0, 0, -30, Y0))
    start = time.perf_counter()
    out = t.resample(UTM, Affine(180, 0, X0, 0, -180, Y0), (1000, 1000))
    assert time.perf_counter() - start < 5.0  # about 0.4 s on a 2-core machine
    assert np.isfinite(out).all()


# --- user errors: one line, naming the file ------------------------------------------------


def one_line_error(exc_info: pytest.ExceptionInfo[TerrainError], path: Path | str) -> str:
    msg = str(exc_info.value)
    assert exc_info.type is TerrainError
    assert "\n" not in msg and msg.startswith(str(path)), msg
    assert exc_info.value.__cause__ is None
    return msg


def test_error_file_not_found(tmp_path):
    path = tmp_path / "nope.tif"
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert one_line_error(e, path).endswith("DEM file not found")


def test_error_folder(tmp_path):
    with pytest.raises(TerrainError) as e:
        load_dem(tmp_path)
    assert "is a folder" in one_line_error(e, tmp_path)


def test_error_text_file(tmp_path):
    path = tmp_path / "heights.txt"
    path.write_text("name: my scenario\nas_of: 2020-12-31\n", encoding="utf-8")
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    msg = one_line_error(e, path)
    assert "not a raster" in msg and "not recognized as being in a supported file format" in msg
    assert msg.count(str(path)) == 1


@pytest.mark.parametrize("bands", [1, 3])
def test_error_png_without_georeferencing(tmp_path, bands):
    path = write_dem(tmp_path / "picture.png", np.zeros((bands, 8, 8), np.uint8), crs=None, transform=None,
                     driver="PNG")
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert "has no coordinate reference system" in one_line_error(e, path)


def test_error_geotiff_without_crs(tmp_path):
    path = write_dem(tmp_path / "nocrs.tif", utm_heights(), crs=None)
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert "has no coordinate reference system" in one_line_error(e, path)


def test_error_crs_without_geotransform(tmp_path):
    path = write_dem(tmp_path / "notransform.tif", utm_heights(), transform=None)
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert "no georeferencing" in one_line_error(e, path)


def test_error_several_bands(tmp_path):
    path = write_dem(tmp_path / "rgb.tif", np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert "has 3 bands" in one_line_error(e, path)


def test_error_all_nodata(tmp_path):
    path = write_dem(tmp_path / "empty.tif", np.full((8, 8), -9999, np.int16), nodata=-9999)
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    assert "no valid heights" in one_line_error(e, path)


def test_error_heights_in_centimetres(tmp_path):
    path = write_dem(tmp_path / "cm.tif", (utm_heights() * 100).astype(np.float32))
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    msg = one_line_error(e, path)
    assert "above 9,000 m" in msg and "unit and scale" in msg
    assert re.search(r"e\.g\. [\d,.]+ m at 25\.\d\d E, 54\.\d\d N", msg), msg


def test_error_undeclared_nodata(tmp_path):
    heights = utm_heights()
    heights[5:7, 5:7] = -32768
    path = write_dem(tmp_path / "sentinel.tif", heights)
    with pytest.raises(TerrainError) as e:
        load_dem(path)
    msg = one_line_error(e, path)
    assert msg.startswith(f"{path}: 4 cells below -12,000 m") and "-32,768 m" in msg and "-a_nodata" in msg


def test_error_does_not_cover_the_area(utm_dem):
    with pytest.raises(TerrainError) as e:
        utm_dem.check_covers(14, 45, 40, 62)
    msg = one_line_error(e, utm_dem.path)
    assert "does not cover the area" in msg
    assert "the area is 14.00 E–40.00 E, 45.00 N–62.00 N" in msg
    assert re.search(r"the DEM spans 25\.\d\d E–25\.\d\d E, 54\.\d\d N–54\.\d\d N", msg), msg
    assert msg.endswith("(it reaches beyond the DEM to the west, east, north and south)")


def test_error_area_sticks_out_on_one_side(geo_dem):
    with pytest.raises(TerrainError) as e:
        geo_dem.check_covers(20.5, 50.2, 22.5, 50.8)
    msg = one_line_error(e, geo_dem.path)
    assert "the DEM spans 20.00 E–22.00 E, 50.00 N–51.00 N" in msg and "(it reaches beyond the DEM to the east)" in msg


def test_default_terrain_does_not_cover_far_areas():
    with pytest.raises(TerrainError) as e:
        default_terrain().check_covers(0, 40, 30, 60)
    msg = one_line_error(e, "the bundled DEM (etopo5_region.tif)")
    assert msg.endswith("(it reaches beyond the DEM to the west and south)")


def test_holes_inside_the_area(tmp_path):
    heights = utm_heights()
    heights[100:103, 200:204] = -9999  # 12 cells: 6,000 m east and 3,000 m south of the origin
    path = write_dem(tmp_path / "holes.tif", heights, nodata=-9999)
    t = load_dem(path)
    hole_lon, hole_lat = _TO_LONLAT.transform(X0 + 201 * PIX, Y0 - 101 * PIX)
    assert np.isnan(t.height_at(hole_lat, hole_lon)).all()

    lon_min, lat_min, lon_max, lat_max = t.bounds_lonlat
    pad = 0.01  # keep the area inside the UTM rectangle
    area = (lon_min + pad, lat_min + pad, lon_max - pad, lat_max - pad)
    with pytest.raises(TerrainError) as e:
        t.check_covers(*area)
    msg = one_line_error(e, path)
    m = re.search(r": 12 no-data cells \(([\d.]+) % of the ([\d,]+) cells\) inside the area .*, around "
                  r"(25\.\d\d) E, (54\.\d\d) N; fill them first \(e\.g\. gdal_fillnodata\.py\)", msg)
    assert m, msg
    assert float(m[1]) == pytest.approx(100 * 12 / int(m[2].replace(",", "")), rel=0.05)
    assert abs(float(m[3]) - hole_lon) <= 0.01 and abs(float(m[4]) - hole_lat) <= 0.01

    t.check_covers(*area, allow_holes=True)  # accepted on request
    # holes far apart: the message gives their box
    heights[100, 35] = heights[100, 275] = -9999  # 7.2 km apart
    spread = load_dem(write_dem(tmp_path / "spread.tif", heights, nodata=-9999))
    with pytest.raises(TerrainError, match=r": 14 no-data cells .*, within 25\.\d\d E–25\.\d\d E, 54\.\d\d N–54\.\d\d N; "):
        spread.check_covers(*area)
    # an area away from the holes passes
    west_lon, south_lat = _TO_LONLAT.transform(X0 + 300, Y0 - ROWS * PIX + 300)
    east_lon, north_lat = _TO_LONLAT.transform(X0 + 3000, Y0 - ROWS * PIX + 2000)
    t.check_covers(west_lon, south_lat, east_lon, north_lat)
    # resample leaves the holes as NaN
    out = t.resample(UTM, UTM_TRANSFORM, (ROWS, COLS), resampling="nearest")
    assert np.isnan(out).sum() == 12


def test_check_covers_rejects_a_non_box(geo_dem):
    with pytest.raises(ValueError, match="not a lon/lat box"):
        geo_dem.check_covers(22, 50, 21, 51)


# --- the model document's example runs -------------------------------------------------------


def test_terrain_doc_example_runs():
    text = (ROOT / "docs" / "models" / "terrain.md").read_text(encoding="utf-8")
    [example] = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "default_terrain" in b]
    exec(compile(example, "terrain.md", "exec"), {})
