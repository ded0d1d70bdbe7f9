#!/usr/bin/env python3
"""Build the bundled default DEM ``src/iadsim/data/dem/etopo5_region.tif`` from ETOPO5.

This is a maintainer tool. The ``iadsim`` package reads only the committed GeoTIFF; it needs
neither the Debian package nor scipy at run time.

Source: ETOPO5, NOAA National Geophysical Data Center (NGDC), 5 arc-minute global relief
(land heights and ocean depths, metres above/below mean sea level), as shipped in the Debian
package ``ferret-datasets`` 7.6.0-5 (``usr/share/ferret-vis/data/etopo5.cdf``, NetCDF-3,
variable ``ROSE``, float32, 2161 x 4320). Licence: a work of the US government, in the public
domain (Debian's copyright file: "THIS SOFTWARE AND ITS DOCUMENTATION ARE IN THE PUBLIC DOMAIN").

Processing:

* Cut lon 8–46 E, lat 42–65 N, grid nodes included at both ends: 457 columns x 277 rows.
  The analysis region (14–40 E, 45–62 N) lies well inside.
* Georeferencing: an exact 1/12° grid. ETOPO5 is defined on the nodes lon = i/12,
  lat = -90 + j/12 (i = 0..4319, j = 0..2160). The file's ``ETOPO05_Y`` axis is exactly that;
  its ``ETOPO05_X`` axis runs from 0 to 359.92 in even steps of 0.0833341° (Ferret wrote the
  end as 359.92 instead of 359.9167), so it drifts from i/12 by up to 0.0033°, 0.0004° inside
  the cut. Column i is taken to be the node at lon = i/12, i.e. output lon L maps to column
  ``round(12 L)`` and lat B to row ``round(12 (B + 90))``. The script checks that this is the
  nearest index on the file's own axes for every output node, so the mapping agrees with the
  nearest-index lookup of ``docs``' geodata sheet.
* Each GeoTIFF pixel is centred on one ETOPO5 node (``AREA_OR_POINT=Area``): the raster's
  outer edges are half a cell (1/24°) outside the node range, i.e. 7.9583–46.0417 E,
  41.9583–65.0417 N. Rows run north to south.
* Values are kept as ETOPO5 gives them, including negative depths (the package raises the sea
  to 0 m when it loads the file); stored as int16 (ETOPO5 values are whole metres: checked),
  no no-data value (there are no gaps: checked), EPSG:4326, DEFLATE with horizontal-difference
  predictor. The same input and GDAL version give a byte-identical file.

Checks printed at the end (nearest node, as in the geodata sheet): Minsk 210 m, Dzyarzhynskaya
Hara 254 m, Warsaw 81 m, Hoverla 1232 m; the script exits with status 1 if one differs, and
also prints the bilinear heights that ``iadsim.geo.terrain.default_terrain()`` gives.

Rebuild (from the repository root, in the project venv; needs ``apt-get`` and ``dpkg-deb``,
i.e. a Debian or Ubuntu machine with the Debian archive reachable, unless ``--deb`` or ``--cdf``
names a local copy)::

    .venv/bin/pip install scipy rasterio
    .venv/bin/python tools/build_default_dem.py            # apt-get download into a temp dir
    .venv/bin/python tools/build_default_dem.py --deb ferret-datasets_7.6.0-5_all.deb
    .venv/bin/python tools/build_default_dem.py --cdf etopo5.cdf
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from scipy.io import netcdf_file

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "iadsim" / "data" / "dem" / "etopo5_region.tif"

PACKAGE = "ferret-datasets"
CDF_IN_DEB = Path("usr/share/ferret-vis/data/etopo5.cdf")
# SHA-256 of etopo5.cdf in ferret-datasets 7.6.0-5 (Debian bookworm).
CDF_SHA256 = "1455d5e5feebd183d0bef5538a750ca8a44801e1503f964df900831c224459ce"

LON_MIN, LON_MAX = 8, 46  # degrees east, whole degrees: nodes included at both ends
LAT_MIN, LAT_MAX = 42, 65  # degrees north
PER_DEG = 12  # 5 arc-minute nodes per degree

# (name, lat, lon, ETOPO5 nearest-node height in m from the geodata sheet)
CHECKS = [
    ("Minsk", 53.9, 27.57, 210),
    ("Dzyarzhynskaya Hara", 53.87, 27.15, 254),
    ("Warsaw", 52.23, 21.01, 81),
    ("Hoverla", 48.16, 24.50, 1232),
]


def fetch_deb(workdir: Path) -> Path:
    """Download the ferret-datasets .deb with ``apt-get download`` into workdir."""
    if shutil.which("apt-get") is None:
        sys.exit("apt-get not found: pass --deb FILE or --cdf FILE (see the module docstring)")
    subprocess.run(["apt-get", "download", PACKAGE], cwd=workdir, check=True)
    [deb] = sorted(workdir.glob(f"{PACKAGE}_*.deb"))
    print(f"downloaded {deb.name}")
    return deb


def extract_cdf(deb: Path, workdir: Path) -> Path:
    """Extract etopo5.cdf from the .deb with ``dpkg-deb -x``."""
    if shutil.which("dpkg-deb") is None:
        sys.exit("dpkg-deb not found: extract usr/share/ferret-vis/data/etopo5.cdf yourself and pass --cdf")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "deb")], check=True)
    return workdir / "deb" / CDF_IN_DEB


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def cut_region(cdf: Path) -> tuple[np.ndarray, Affine]:
    """The region's heights (rows north to south, int16 m) and their pixel-is-area transform."""
    with netcdf_file(str(cdf), mmap=False) as f:
        x = np.array(f.variables["ETOPO05_X"][:], dtype=np.float64)
        y = np.array(f.variables["ETOPO05_Y"][:], dtype=np.float64)
        rose = f.variables["ROSE"]
        missing = float(rose.missing_value)
        z = np.array(rose[:], dtype=np.float64)

    assert x.shape == (4320,) and y.shape == (2161,) and z.shape == (2161, 4320), (x.shape, y.shape, z.shape)
    # Latitude axis: exactly -90 + j/12. Longitude axis: i/12 up to Ferret's rounded end (see docstring).
    assert np.allclose(y, -90 + np.arange(y.size) / PER_DEG, atol=1e-9, rtol=0)
    assert np.abs(x - np.arange(x.size) / PER_DEG).max() < 0.004

    lons = LON_MIN + np.arange((LON_MAX - LON_MIN) * PER_DEG + 1) / PER_DEG
    lats = LAT_MAX - np.arange((LAT_MAX - LAT_MIN) * PER_DEG + 1) / PER_DEG  # north to south
    cols = np.rint(lons * PER_DEG).astype(int)
    rows = np.rint((lats + 90) * PER_DEG).astype(int)
    # The exact-grid mapping equals the nearest index on the file's own axes for every node.
    assert np.array_equal(cols, np.abs(x[None, :] - lons[:, None]).argmin(axis=1))
    assert np.array_equal(rows, np.abs(y[None, :] - lats[:, None]).argmin(axis=1))
    print(f"lon drift of the file's axis inside the cut: {np.abs(x[cols] - lons).max():.5f} deg")

    cut = z[np.ix_(rows, cols)]
    assert not np.any(cut == missing) and np.all(np.isfinite(cut)), "gaps in the cut"
    assert np.array_equal(cut, np.rint(cut)), "non-integer heights"
    assert cut.min() >= np.iinfo(np.int16).min and cut.max() <= np.iinfo(np.int16).max
    half = 0.5 / PER_DEG
    transform = Affine(1 / PER_DEG, 0.0, LON_MIN - half, 0.0, -1 / PER_DEG, LAT_MAX + half)
    return cut.astype(np.int16), transform


def write_geotiff(heights: np.ndarray, transform: Affine, path: Path, source_note: str) -> None:
    """Write the int16 heights as a compressed single-band GeoTIFF in EPSG:4326."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": "int16",
        "crs": "EPSG:4326",
        "transform": transform,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": 9,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(heights, 1)
        dst.update_tags(
            AREA_OR_POINT="Area",
            TIFFTAG_IMAGEDESCRIPTION="ETOPO5 relief (m above mean sea level, negative = depth), "
            "lon 8-46 E, lat 42-65 N, pixel centres on the 5' ETOPO5 nodes",
            SOURCE=source_note,
            LICENSE="Public domain (US government work, NOAA NGDC)",
        )
        dst.update_tags(1, UNITS="m")
        dst.set_band_description(1, "height above mean sea level (m); negative = ocean depth")


def verify(path: Path) -> bool:
    """Print the point checks; True if every nearest-node height matches the geodata sheet."""
    ok = True
    with rasterio.open(path) as ds:
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes, {ds.width} x {ds.height}, "
              f"{ds.crs}, bounds {tuple(round(b, 4) for b in ds.bounds)}")
        nearest = [int(v[0]) for v in ds.sample([(lon, lat) for _, lat, lon, _ in CHECKS])]
    sys.path.insert(0, str(ROOT / "src"))
    from iadsim.geo.terrain import default_terrain

    default_terrain.cache_clear()
    terrain = default_terrain()
    bilinear = terrain.height_at([c[1] for c in CHECKS], [c[2] for c in CHECKS])
    for (name, lat, lon, expected), near, bil in zip(CHECKS, nearest, bilinear, strict=True):
        flag = "ok" if near == expected else f"MISMATCH (sheet: {expected} m)"
        ok &= near == expected
        print(f"  {name:20s} {lat:6.2f} N {lon:6.2f} E  nearest node {near:5d} m  "
              f"bilinear {bil:7.1f} m  {flag}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--deb", type=Path, help="a local ferret-datasets .deb (skips apt-get download)")
    group.add_argument("--cdf", type=Path, help="a local etopo5.cdf (skips the .deb)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"output GeoTIFF (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="iadsim-dem-") as tmp:
        work = Path(tmp)
        if args.cdf is not None:
            cdf, note = args.cdf, "etopo5.cdf"
        else:
            deb = args.deb if args.deb is not None else fetch_deb(work)
            cdf, note = extract_cdf(deb, work), deb.name
        digest = sha256(cdf)
        if digest != CDF_SHA256:
            print(f"warning: etopo5.cdf SHA-256 {digest} differs from the one this script was written for "
                  f"({CDF_SHA256}); check the output", file=sys.stderr)
        heights, transform = cut_region(cdf)
        source = f"NOAA NGDC ETOPO5 via Debian {PACKAGE} ({note}), usr/share/ferret-vis/data/etopo5.cdf"
        write_geotiff(heights, transform, args.out, source)
    print(f"heights {heights.min()} .. {heights.max()} m; {int((heights < 0).sum())} cells below 0 m")
    if args.out.resolve() != OUT.resolve():
        print(f"wrote {args.out} (checks run on the bundled file only)")
        return 0
    return 0 if verify(args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
