"""Terrain shading for the viewer's map, rendered offline from the bundled DEM (no tile server).

The bundled ETOPO5 (EPSG:4326) is warped to Web Mercator, the projection Leaflet draws in, so that
the image's rows and columns line up with the map when placed by its corners; land is shaded by
matplotlib's ``LightSource`` (sun from the north-west, 45° up), the sea left transparent.
"""

from __future__ import annotations

import base64
import io
import math
import threading
from functools import cache
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject

from iadsim.data import data_dir
from iadsim.geo import transformer

__all__ = ["RELIEF_PIXEL_M", "relief_image"]

RELIEF_PIXEL_M = 4000.0
"""Pixel size of the shaded relief in Web Mercator metres (the DEM's cells are about 9 km)."""

VERTICAL_EXAGGERATION = 30.0
"""The region is lowland (Belarus: 80–345 m) on a 9 km grid: slopes show only exaggerated."""


_RENDERING = threading.Lock()
"""One rendering at a time: the server answers in threads, and matplotlib is not thread-safe (two
first requests at once gave a 500)."""


def relief_image() -> dict[str, Any]:
    """The shaded relief of the bundled DEM: a PNG data URL and its corners in degrees (rendered
    once per process).

    Returns:
        ``{"image": "data:image/png;base64,…", "bounds": [lon_min, lon_max, lat_min, lat_max],
        "attribution": …}``.
    """
    with _RENDERING:
        return _relief_image()


@cache
def _relief_image() -> dict[str, Any]:
    from matplotlib.colors import LightSource
    from matplotlib.image import imsave

    path = data_dir() / "dem" / "etopo5_region.tif"
    with rasterio.open(path) as src:
        heights = src.read(1).astype(np.float64)
        left, bottom, right, top = src.bounds
        dst_crs = "EPSG:3857"
        # the destination grid from the corners (rasterio's calculate_default_transform multiplies
        # Affine objects with *, which affine deprecates)
        to_merc = transformer("EPSG:4326", dst_crs)
        x0, y0 = to_merc.transform(left, bottom)
        x1, y1 = to_merc.transform(right, top)
        width = math.ceil((x1 - x0) / RELIEF_PIXEL_M)
        height = math.ceil((y1 - y0) / RELIEF_PIXEL_M)
        transform = Affine(RELIEF_PIXEL_M, 0.0, x0, 0.0, -RELIEF_PIXEL_M, y1)
        warped = np.full((height, width), np.nan)
        reproject(heights, warped, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
                  dst_crs=dst_crs, resampling=Resampling.bilinear, dst_nodata=np.nan)
    land = np.isfinite(warped) & (warped > 0)
    ground = np.where(np.isfinite(warped), np.maximum(warped, 0.0), 0.0)
    altitude_deg = 45.0
    shade = LightSource(azdeg=315, altdeg=altitude_deg).hillshade(
        ground, vert_exag=VERTICAL_EXAGGERATION, dx=RELIEF_PIXEL_M, dy=RELIEF_PIXEL_M)
    # against flat ground's shade: slopes away from the sun darken (grey, more opaque the steeper),
    # slopes toward it lighten a little; flat land and the sea stay clear, so the borders read
    flat = math.sin(math.radians(altitude_deg))
    delta = shade - flat
    rgba = np.zeros((height, width, 4))
    rgba[..., :3] = np.where(delta[..., None] < 0, 0.2, 1.0)
    alpha = np.where(delta < 0, np.clip(-delta * 2.5, 0.0, 0.55), np.clip(delta * 1.5, 0.0, 0.3))
    rgba[..., 3] = np.where(land, alpha, 0.0)
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    # the corners of the warped grid in degrees (Web Mercator x, y → lon, lat)
    x0, y0 = transform.c, transform.f
    x1, y1 = x0 + transform.a * width, y0 + transform.e * height
    radius = 6378137.0
    lon = [math.degrees(x / radius) for x in (x0, x1)]
    lat = [math.degrees(2 * math.atan(math.exp(y / radius)) - math.pi / 2) for y in (y1, y0)]
    return {"image": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
            "bounds": [lon[0], lon[1], lat[0], lat[1]],
            "attribution": "Relief: ETOPO5 (NOAA NGDC, public domain)"}
