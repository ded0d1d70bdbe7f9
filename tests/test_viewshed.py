"""Terrain line of sight (iadsim.geo.viewshed): hand-computed geometry, properties, and GDAL's gdal_viewshed."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.geo import viewshed
from iadsim.geo.viewshed import min_visible_height, visible

CELL = 90.0
R = 6_371_008.8
CM = 0.01  # tolerance: 1 cm


def fractal_dem(n_rows: int, n_cols: int, seed: int, relief_m: float = 600.0, beta: float = 3.5) -> np.ndarray:
    """Seeded fractal terrain (spectral synthesis), heights 0..relief_m, float32."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(n_rows)[:, None]
    fx = np.fft.rfftfreq(n_cols)[None, :]
    amp = (fy * fy + fx * fx + 1e-4) ** (-beta / 4.0)
    amp[0, 0] = 0.0
    z = np.fft.irfft2((rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) * amp,
                      s=(n_rows, n_cols))
    z -= z.min()
    return (z * relief_m / z.max()).astype(np.float32)


# ---------------------------------------------------------------- flat earth, flat ground


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_plane_without_curvature_is_all_visible(dtype):
    dem = np.full((41, 57), 120.0, dtype=dtype)
    h = min_visible_height(dem, CELL, 17, 30, 10.0, math.inf, curvature_coeff=0.0)
    assert h.dtype == np.float32 and h.shape == dem.shape
    assert np.all(h == 0.0)
    assert visible(dem, CELL, 17, 30, 10.0, 0.0, math.inf, curvature_coeff=0.0).all()


def _sphere_min_height(d_m: np.ndarray, eye_m: float, cc: float, radius_m: float) -> np.ndarray:
    """Smooth sphere of effective radius R/cc: hidden height beyond the horizon, (d - d_h)^2 / (2 R_eff)."""
    r_eff = radius_m / cc
    d_h = math.sqrt(2.0 * r_eff * eye_m)
    return np.where(d_m > d_h, (d_m - d_h) ** 2 / (2.0 * r_eff), 0.0)


@pytest.mark.parametrize("cc", [0.75, 0.25, 1.0])
def test_flat_plane_with_curvature_follows_the_horizon_formula(cc):
    # Along the observer's row, column and diagonals the sweep samples the ray cell by cell, so the
    # minimum visible height is the smooth-earth one: (d - sqrt(2 R_eff H))^2 / (2 R_eff), R_eff = R / cc.
    n, eye = 801, 5.0
    dem = np.zeros((n, n), np.float32)
    o = n // 2
    h = min_visible_height(dem, CELL, o, o, eye, math.inf, curvature_coeff=cc, earth_radius_m=R)
    k = np.arange(1, o + 1)
    for line, step in [(h[o, o + 1:], CELL), (h[o, o - 1::-1], CELL), (h[o + 1:, o], CELL),
                       (h[o - 1::-1, o], CELL), (np.diagonal(h)[o + 1:], CELL * math.sqrt(2.0)),
                       (np.diagonal(h[::-1])[o + 1:], CELL * math.sqrt(2.0))]:
        expected = _sphere_min_height(k * step, eye, cc, R)
        assert np.max(np.abs(line - expected)) < CM
        assert expected.max() > 5.0  # the grid reaches well past the horizon (8 to 16 km for a 5 m eye)
    # Off the axes the neighbours' heights are interpolated: still within a few centimetres.
    rr, cc_ = np.mgrid[:n, :n]
    expected = _sphere_min_height(np.hypot(rr - o, cc_ - o) * CELL, eye, cc, R)
    assert np.max(np.abs(h - expected)) < 0.05


def test_curvature_drop_uses_gdal_formula_cc_d2_over_2r():
    # A single cell in front of the observer at the height of its eye hides nothing but itself when
    # the earth is flat; with curvature the drop at distance d is cc * d^2 / (2 R).
    dem = np.zeros((1, 3), np.float64)
    eye, cc, radius = 5.0, 0.75, 1.0e5  # a small planet makes the drop large
    h = min_visible_height(dem, 1000.0, 0, 0, eye, math.inf, curvature_coeff=cc, earth_radius_m=radius)
    drop1, drop2 = (cc * d**2 / (2 * radius) for d in (1000.0, 2000.0))
    # The cell at 2 km is seen over the cell at 1 km: line of sight from the eye through (1 km, -drop1).
    los2 = (-drop1 - eye) * 2.0
    assert h[0, 1] == 0.0
    assert h[0, 2] == pytest.approx(max(0.0, los2 - (-drop2 - eye)), abs=1e-9)


# ---------------------------------------------------------------- walls, ridges, pits


@pytest.mark.parametrize(("shape", "obs"), [((37, 91), (11, 20)), ((91, 37), (60, 3)), ((40, 40), (0, 0)),
                                            ((25, 60), (24, 59))])
def test_wall_needs_the_similar_triangles_height(shape, obs):
    # A straight wall W high across the whole grid, dw cells from the observer (eye H above flat ground):
    # a target dx cells away behind it must be H + (W - H) * dx / dw high (similar triangles), for any
    # row; the same for a wall across the rows.
    rows, cols = shape
    r0, c0 = obs
    wall, eye = 100.0, 10.0
    for axis in (1, 0):
        dem = np.zeros(shape, np.float64)
        n_along = cols if axis == 1 else rows
        o = c0 if axis == 1 else r0
        step = 1 if o < n_along // 2 else -1
        dw = 7
        w = o + step * dw
        if axis == 1:
            dem[:, w] = wall
        else:
            dem[w, :] = wall
        h = min_visible_height(dem, CELL, r0, c0, eye, math.inf, curvature_coeff=0.0)
        offsets = (np.arange(n_along) - o) * step
        behind = offsets > dw
        need = eye + (wall - eye) * offsets[behind] / dw
        got = h[:, behind] if axis == 1 else h[behind, :].T
        assert np.max(np.abs(got - need[None, :])) < CM
        in_front = (offsets >= 0) & (offsets <= dw)
        assert np.all((h[:, in_front] if axis == 1 else h[in_front, :]) == 0.0)


def test_single_ridge_cell_on_the_row_shades_only_its_ray():
    dem = np.zeros((21, 41), np.float64)
    dem[10, 25] = 50.0  # one tall cell 5 cells east of the observer at (10, 20)
    h = min_visible_height(dem, CELL, 10, 20, 2.0, math.inf, curvature_coeff=0.0)
    behind = np.arange(26, 41) - 20
    assert np.max(np.abs(h[10, 26:] - (2.0 + 48.0 * behind / 5.0))) < CM
    assert np.all(h[:, :25] == 0.0)  # west of the ridge nothing is hidden


def test_trench_floor_is_hidden_behind_its_near_edge():
    # A trench D deep in columns x1..x2: its floor at dx is hidden below the line from the eye over the
    # last ground column (offset e = x1 - 1): minimum height max(0, D + H - H * dx / e).
    dem = np.zeros((31, 61), np.float64)
    r0, c0, eye, depth = 15, 5, 12.0, 10.0
    x1, x2 = c0 + 10, c0 + 30
    dem[:, x1:x2 + 1] = -depth
    h = min_visible_height(dem, CELL, r0, c0, eye, math.inf, curvature_coeff=0.0)
    e = x1 - 1 - c0
    dx = np.arange(x1, x2 + 1) - c0
    need = np.maximum(0.0, depth + eye - eye * dx / e)
    assert np.max(np.abs(h[:, x1:x2 + 1] - need[None, :])) < CM
    assert need[0] > 0.0 and need[-1] == 0.0  # the near part of the floor is hidden, the far part seen
    assert np.all(h[:, c0:x1] == 0.0)


def test_pit_around_the_observer_hides_nothing_outside_but_its_own_floor_is_seen():
    dem = np.zeros((21, 21), np.float64)
    dem[8:13, 8:13] = -3.0  # observer in a 3 m pit, eye 5 m above its floor: 2 m above the rim
    h = min_visible_height(dem, CELL, 10, 10, 5.0, math.inf, curvature_coeff=0.0)
    assert np.all(h[8:13, 8:13] == 0.0)
    assert np.all(h == 0.0)  # the rim is below the eye, the plain beyond is level with the rim


# ---------------------------------------------------------------- no data, range, edges, shapes


def test_nan_cells_are_nan_and_do_not_block():
    dem = np.zeros((21, 31), np.float32)
    dem[:, 15] = np.nan  # a column of no data between observer and the east half
    dem[3, 4] = np.nan
    h = min_visible_height(dem, CELL, 10, 5, 10.0, math.inf, curvature_coeff=0.0)
    assert np.isnan(h[:, 15]).all() and np.isnan(h[3, 4])
    assert np.isnan(h).sum() == 21 + 1
    assert np.all(h[:, 16:] == 0.0)  # seen across the hole
    v = visible(dem, CELL, 10, 5, 10.0, 0.0, math.inf, curvature_coeff=0.0)
    assert not v[:, 15].any() and not v[3, 4] and v.sum() == dem.size - 22


def test_wall_behind_a_no_data_hole_still_shades():
    dem = np.zeros((11, 40), np.float64)
    dem[:, 10] = np.nan
    dem[:, 20] = 50.0
    h = min_visible_height(dem, CELL, 5, 0, 10.0, math.inf, curvature_coeff=0.0)
    dx = np.arange(21, 40)
    assert np.max(np.abs(h[5, 21:] - (10.0 + 40.0 * dx / 20.0))) < CM


def test_observer_on_no_data_is_an_error():
    dem = np.zeros((5, 5))
    dem[2, 2] = np.nan
    with pytest.raises(ValueError, match="no data"):
        min_visible_height(dem, CELL, 2, 2, 10.0, math.inf)


@pytest.mark.parametrize(("row", "col"), [(-1, 0), (0, 5), (5, 0)])
def test_observer_outside_the_grid_is_an_error(row, col):
    with pytest.raises(ValueError, match="outside"):
        visible(np.zeros((5, 5)), CELL, row, col, 10.0, 0.0, math.inf)


def test_range_limit_is_centre_to_centre_inclusive():
    dem = np.zeros((21, 21), np.float32)
    h = min_visible_height(dem, 90.0, 10, 10, 10.0, 450.0, curvature_coeff=0.0)
    rr, cc = np.mgrid[:21, :21]
    d2 = ((rr - 10) * 90.0) ** 2 + ((cc - 10) * 90.0) ** 2
    assert np.array_equal(np.isfinite(h), d2 <= 450.0**2)
    assert np.isfinite(h[13, 14]) and np.isnan(h[10, 16])  # a 3-4-5 cell is exactly 450 m away
    v = visible(dem, 90.0, 10, 10, 10.0, 0.0, 450.0, curvature_coeff=0.0)
    assert np.array_equal(v, d2 <= 450.0**2)
    h0 = min_visible_height(dem, 90.0, 10, 10, 10.0, 0.0)
    assert np.isfinite(h0).sum() == 1 and h0[10, 10] == 0.0


@pytest.mark.parametrize(("row", "col"), [(0, 0), (0, 44), (29, 0), (29, 44), (0, 20), (15, 44), (29, 7)])
def test_observer_at_an_edge_or_corner(row, col):
    dem = fractal_dem(30, 45, seed=3)
    h = min_visible_height(dem, CELL, row, col, 15.0, math.inf)
    assert np.isfinite(h).all() and h[row, col] == 0.0
    # the grid mirrored about the observer's quadrant gives the mirrored answer
    hf = min_visible_height(dem[::-1, ::-1], CELL, 29 - row, 44 - col, 15.0, math.inf)
    np.testing.assert_array_equal(hf[::-1, ::-1], h)


def test_transposed_grid_gives_transposed_answer():
    dem = fractal_dem(33, 50, seed=4)
    h = min_visible_height(dem, CELL, 12, 31, 20.0, 3000.0)
    ht = min_visible_height(np.ascontiguousarray(dem.T), CELL, 31, 12, 20.0, 3000.0)
    np.testing.assert_allclose(ht.T, h, atol=1e-4, equal_nan=True)


def test_single_row_and_single_cell_grids():
    assert min_visible_height(np.array([[3.0]]), CELL, 0, 0, 1.0, math.inf)[0, 0] == 0.0
    row = np.array([[0.0, 0.0, 30.0, 0.0, 0.0]])
    h = min_visible_height(row, CELL, 0, 0, 10.0, math.inf, curvature_coeff=0.0)
    np.testing.assert_allclose(h[0], [0.0, 0.0, 0.0, 10.0 + 20.0 * 3 / 2, 10.0 + 20.0 * 4 / 2], atol=CM)


def test_non_float_and_non_contiguous_input():
    dem = np.arange(12 * 20, dtype=np.int64).reshape(12, 20) % 7
    h = min_visible_height(dem[:, ::2], CELL, 3, 4, 2.0, math.inf)
    h_ref = min_visible_height(np.ascontiguousarray(dem[:, ::2], dtype=np.float64), CELL, 3, 4, 2.0, math.inf)
    np.testing.assert_array_equal(h, h_ref)


# ---------------------------------------------------------------- the plain algorithm, cell by cell


def _reference_sweep(dem: np.ndarray, cell: float, r0: int, c0: int, eye: float, max_d: float, cc: float,
                     radius: float) -> np.ndarray:
    """GDAL's sweep written out plainly (row by row, left and right of the observer, EDGE mode, GROUND
    output, the observer's 8 neighbours visible): the reference for the optimised numba kernel."""
    rows, cols = dem.shape
    z_obs = float(dem[r0, c0]) + eye
    adj = cc / (2.0 * radius)
    out = np.full((rows, cols), np.nan)

    def line(r: int) -> tuple[np.ndarray, np.ndarray]:
        d2 = ((np.arange(cols) - c0) * cell) ** 2 + ((r - r0) * cell) ** 2
        return dem[r].astype(np.float64) - (adj * d2 + z_obs), d2 <= max_d**2

    def settle(r: int, c: int, cur: np.ndarray, los: float) -> None:
        out[r, c] = max(0.0, los - cur[c])
        cur[c] = max(cur[c], los)

    first, inr = line(r0)
    out[r0, c0] = 0.0
    for step in (-1, 1):
        c = c0 + step
        while 0 <= c < cols and inr[c]:
            n = abs(c - c0)
            settle(r0, c, first, -math.inf if n == 1 else first[c - step] * n / (n - 1))
            c += step
    for rstep in (-1, 1):
        prev, r = first.copy(), r0 + rstep
        while 0 <= r < rows:
            cur, inr = line(r)
            b = abs(r - r0)
            if inr[c0]:
                settle(r, c0, cur, -math.inf if b == 1 else prev[c0] * b / (b - 1))
            for step in (-1, 1):
                c = c0 + step
                while 0 <= c < cols and inr[c]:
                    a = abs(c - c0)
                    if a == b:
                        los = -math.inf if a == 1 else prev[c - step] * a / (a - 1)
                    elif a > b:
                        los = (prev[c - step] * b + cur[c - step] * (a - b)) / (a - 1)
                    else:
                        los = (prev[c - step] * a + prev[c] * (b - a)) / (b - 1)
                    settle(r, c, cur, los)
                    c += step
            prev, r = cur, r + rstep
    return out


# ---------------------------------------------------------------- properties

dems = st.builds(
    lambda rows, cols, seed, relief: fractal_dem(rows, cols, seed, relief),
    st.integers(3, 40), st.integers(3, 40), st.integers(0, 2**31 - 1), st.floats(1.0, 800.0),
)


@settings(max_examples=80, deadline=None)
@given(dem=dems, fr=st.floats(0, 1), fc=st.floats(0, 1), eye=st.floats(0, 100),
       cc=st.sampled_from([0.0, 0.75, 1.0]), max_cells=st.floats(0, 60))
def test_kernel_matches_the_plain_algorithm(dem, fr, fc, eye, cc, max_cells):
    r, c = int(fr * (dem.shape[0] - 1)), int(fc * (dem.shape[1] - 1))
    ours = min_visible_height(dem, 500.0, r, c, eye, max_cells * 500.0, curvature_coeff=cc, earth_radius_m=1e5)
    ref = _reference_sweep(dem, 500.0, r, c, eye, max_cells * 500.0, cc, 1e5)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-3, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(dem=dems, fr=st.floats(0, 1), fc=st.floats(0, 1), eye=st.floats(0, 100), target=st.floats(0, 300),
       cc=st.sampled_from([0.0, 0.75, 1.0]), max_cells=st.floats(0, 60))
def test_parallel_and_serial_sweeps_give_the_same_arrays(dem, fr, fc, eye, target, cc, max_cells):
    """A DEM of PARALLEL_MIN_CELLS or more is swept on numba's threads, a smaller one on the calling
    thread: the same arrays, bit for bit, in both output modes."""
    r, c = int(fr * (dem.shape[0] - 1)), int(fc * (dem.shape[1] - 1))

    def both() -> tuple[np.ndarray, np.ndarray]:
        return (min_visible_height(dem, 500.0, r, c, eye, max_cells * 500.0, curvature_coeff=cc),
                visible(dem, 500.0, r, c, eye, target, max_cells * 500.0, curvature_coeff=cc))

    with mock.patch.object(viewshed, "_viewshed_parallel", wraps=viewshed._viewshed_parallel) as parallel:
        heights, seen = both()
        assert parallel.call_count == 0  # these DEMs are far below the threshold
        with mock.patch.object(viewshed, "PARALLEL_MIN_CELLS", 0):
            heights_parallel, seen_parallel = both()
        assert parallel.call_count == 2
    np.testing.assert_array_equal(heights, heights_parallel)
    np.testing.assert_array_equal(seen, seen_parallel)


@settings(max_examples=60, deadline=None)
@given(dem=dems, fr=st.floats(0, 1), fc=st.floats(0, 1), h1=st.floats(0, 100), dh=st.floats(0.01, 200),
       cc=st.sampled_from([0.0, 0.75, 1.0]), max_cells=st.floats(1, 60))
def test_raising_the_observer_never_hides_a_cell(dem, fr, fc, h1, dh, cc, max_cells):
    r, c = int(fr * (dem.shape[0] - 1)), int(fc * (dem.shape[1] - 1))
    args = (dem, 500.0, r, c)
    lo = min_visible_height(*args, h1, max_cells * 500.0, curvature_coeff=cc, earth_radius_m=1e5)
    hi = min_visible_height(*args, h1 + dh, max_cells * 500.0, curvature_coeff=cc, earth_radius_m=1e5)
    assert np.array_equal(np.isnan(lo), np.isnan(hi))
    finite = np.isfinite(lo)
    assert np.all(hi[finite] <= lo[finite] + 1e-3)
    v_lo = visible(*args, h1, 0.0, max_cells * 500.0, curvature_coeff=cc, earth_radius_m=1e5)
    v_hi = visible(*args, h1 + dh, 0.0, max_cells * 500.0, curvature_coeff=cc, earth_radius_m=1e5)
    assert not np.any(v_lo & ~v_hi)


@settings(max_examples=60, deadline=None)
@given(dem=dems, fr=st.floats(0, 1), fc=st.floats(0, 1), eye=st.floats(0, 100), target=st.floats(0, 300),
       cc=st.sampled_from([0.0, 0.75]), holes=st.integers(0, 2**31 - 1))
def test_visible_is_min_visible_height_at_most_the_target(dem, fr, fc, eye, target, cc, holes):
    r, c = int(fr * (dem.shape[0] - 1)), int(fc * (dem.shape[1] - 1))
    dem = dem.copy()
    mask = np.random.default_rng(holes).random(dem.shape) < 0.05
    mask[r, c] = False
    dem[mask] = np.nan
    h = min_visible_height(dem, 300.0, r, c, eye, 8000.0, curvature_coeff=cc, earth_radius_m=1e5)
    v = visible(dem, 300.0, r, c, eye, target, 8000.0, curvature_coeff=cc, earth_radius_m=1e5)
    assert v.dtype == np.bool_ and v.shape == dem.shape
    with np.errstate(invalid="ignore"):
        derived = h <= target
    differ = v != derived
    # they can differ only where the float32 minimum height rounds across the target height
    assert np.all(np.abs(h[differ] - target) < 1e-3 * max(1.0, target))
    assert not v[np.isnan(h)].any()


# ---------------------------------------------------------------- against GDAL's gdal_viewshed


def _write_vrt_dem(dem: np.ndarray, directory: Path, cell: float, x0: float, y0: float) -> Path:
    raw = directory / "dem.raw"
    dem.astype("<f4").tofile(raw)
    rows, cols = dem.shape
    vrt = directory / "dem.vrt"
    vrt.write_text(f"""<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">
  <SRS>EPSG:3035</SRS>
  <GeoTransform>{x0!r}, {cell!r}, 0.0, {y0!r}, 0.0, {-cell!r}</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="1">dem.raw</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>4</PixelOffset><LineOffset>{4 * cols}</LineOffset>
    <ByteOrder>LSB</ByteOrder>
  </VRTRasterBand>
</VRTDataset>
""")
    return vrt


def _gdal_viewshed(vrt: Path, out: Path, args: list[str], dtype: type, shape: tuple[int, int],
                   cell: float, x0: float, y0: float, fill: float) -> np.ndarray:
    subprocess.run(["gdal_viewshed", "-q", "-f", "ENVI", *args, str(vrt), str(out)], check=True)
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(out)], check=True, capture_output=True,
                                     text=True).stdout)
    cols, rows = info["size"]
    gt = info["geoTransform"]
    arr = np.fromfile(out, dtype=np.dtype(dtype).newbyteorder("<")).reshape(rows, cols)
    full = np.full(shape, fill, dtype=arr.dtype)
    r0, c0 = round((y0 - gt[3]) / cell), round((gt[0] - x0) / cell)
    full[r0:r0 + rows, c0:c0 + cols] = arr
    return full


@pytest.mark.skipif(shutil.which("gdal_viewshed") is None, reason="gdal_viewshed (gdal-bin) is not installed")
def test_agrees_with_gdal_viewshed(tmp_path):
    n, cell, x0, y0 = 200, 90.0, 4_000_000.0, 3_000_000.0
    dem = fractal_dem(n, n, seed=11, relief_m=300.0)
    vrt = _write_vrt_dem(dem, tmp_path, cell, x0, y0)
    row, col, eye, max_d, cc = 83, 117, 20.0, 8000.0, 0.75
    a = 6_378_137.0  # GRS80 semi-major axis of EPSG:3035: GDAL's earth radius
    xy = ["-ox", repr(x0 + (col + 0.5) * cell), "-oy", repr(y0 - (row + 0.5) * cell), "-oz", repr(eye),
          "-md", repr(max_d), "-cc", repr(cc), "-ov", "1"]
    rr, cc_ = np.mgrid[:n, :n]
    in_range = ((rr - row) * cell) ** 2 + ((cc_ - col) * cell) ** 2 <= max_d**2
    for target in (0.0, 25.0):
        g = _gdal_viewshed(vrt, tmp_path / f"v{target:g}.bin", [*xy, "-tz", repr(target)], np.uint8, (n, n),
                           cell, x0, y0, 1)
        assert np.array_equal(g != 1, in_range)
        ours = visible(dem, cell, row, col, eye, target, max_d, curvature_coeff=cc, earth_radius_m=a)
        agree = (ours == (g == 255))[in_range].mean()
        assert agree >= 0.99, agree
        assert 0.01 < ours[in_range].mean() < 0.99  # the test means something: both kinds of cells exist
    g_h = _gdal_viewshed(vrt, tmp_path / "h.bin", [*xy, "-om", "GROUND"], np.float64, (n, n), cell, x0, y0,
                         np.nan)
    h = min_visible_height(dem, cell, row, col, eye, max_d, curvature_coeff=cc, earth_radius_m=a)
    err = np.abs(h[in_range] - g_h[in_range])
    assert (err <= CM).mean() >= 0.99
    assert np.isnan(h[~in_range]).all()
