"""Coverage maps: detected area and engagement depth for one altitude layer, in the grid's
equal-area projection, with borders, units, legend and scale bar."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.collections import PolyCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.patches import Patch
from numpy.typing import NDArray
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from iadsim.coverage.compute import JOINT, Coverage
from iadsim.data import BORDER_ATTRIBUTION, load_regions
from iadsim.geo import transformer
from iadsim.oob import OrderOfBattle
from iadsim.symbology import AFFILIATION_FILL, affiliation_of, nation_frame, unit_sidc, unit_symbol

__all__ = ["coverage_map_figure", "shift_map_figure"]

_DEPTH_BOUNDS = [0.5, 1.5, 2.5, 4.5, 8.5, 16.5, 1000]
_DEPTH_LABELS = ["1", "2", "3–4", "5–8", "9–16", "17+"]
_DEPTH_CMAP = ListedColormap(["#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04"])


def _projected_regions(coverage: Coverage, window: tuple[float, float, float, float]
                       ) -> tuple[BaseGeometry, ...]:
    """Bundled regions clipped around the grid's area in lon/lat, then projected and clipped to
    the map ``window`` (x0, y0, x1, y1, grid metres): clipping first keeps far-off parts (Russia
    beyond 180°) out of the projection."""
    lon, lat = coverage.grid.lonlat_deg  # the map's corners reach beyond the lon/lat area
    around = (max(float(lon.min()) - 5, -180), max(float(lat.min()) - 5, -90),
              min(float(lon.max()) + 5, 180), min(float(lat.max()) + 5, 90))
    return _regions_on_map(str(coverage.grid.crs), around, window)


@functools.lru_cache(maxsize=8)
def _regions_on_map(crs: str, around: tuple[float, float, float, float],
                    window: tuple[float, float, float, float]) -> tuple[BaseGeometry, ...]:
    """``_projected_regions`` for one grid, kept: every map of a study is drawn on the same one
    (shapely geometries are immutable, so the maps can share them)."""
    to_xy = transformer("EPSG:4326", crs)
    out = []
    for region in load_regions().values():
        for part in (region.geometry.intersection(box(*around)),
                     region.geometry.boundary.intersection(box(*around))):
            if part.is_empty:
                continue
            projected = shapely.transform(
                shapely.segmentize(part, 0.2),
                lambda xy: np.column_stack(to_xy.transform(xy[:, 0], xy[:, 1])))
            clipped = projected.intersection(box(*window))
            if not clipped.is_empty:
                out.append(clipped)
    return tuple(out)


def _frame(coverage: Coverage) -> tuple[Figure, Any, tuple[float, float, float, float], Any,
                                       Sequence[BaseGeometry]]:
    """A figure over the coverage grid with the land shaded: (figure, axes, extent x0, x1, y0, y1,
    lon/lat → grid transformer, the projected region outlines)."""
    grid = coverage.grid
    rows, cols = grid.shape
    t = grid.transform
    x0, y1 = t.c, t.f
    x1, y0 = x0 + cols * t.a, y1 + rows * t.e
    fig, ax = plt.subplots(figsize=(10, 8.4 * (y1 - y0) / (x1 - x0) + 0.6), dpi=110)
    ax.set_facecolor("#dbe9f4")
    to_xy = transformer("EPSG:4326", grid.crs)
    outlines = _projected_regions(coverage, (x0, y0, x1, y1))
    land = [np.asarray(poly.exterior.coords)[:, :2] for geom in outlines
            for poly in (geom.geoms if hasattr(geom, "geoms") else [geom]) if isinstance(poly, Polygon)]
    # one collection, outside the axes' autoscaling (the limits are the grid's): ax.fill made a
    # patch per polygon and walked each outline's vertices to update the data limits, about half
    # of building a map's figure (the PNG is the same, pixel for pixel)
    ax.add_collection(PolyCollection(land, facecolors="#f4f4f2", edgecolors="none", zorder=1),
                      autolim=False)
    return fig, ax, (x0, x1, y0, y1), to_xy, outlines


def coverage_map_figure(coverage: Coverage, layer: int, rcs: int = 0, group: str = JOINT,
                        oob: OrderOfBattle | None = None, title: str | None = None,
                        aspect: int = 0) -> Figure:
    """A map of one layer: shaded where detected (Pd ≥ threshold), coloured by engagement depth.

    Args:
        coverage: computed coverage.
        layer, rcs, aspect: indices of the altitude layer, RCS class and target aspect.
        group: ``joint`` or a nation id.
        oob: the order of battle, to draw unit positions.
        title: the map's title (default: scenario date, layer and RCS class).
    """
    grid = coverage.grid
    fig, ax, (x0, x1, y0, y1), to_xy, outlines = _frame(coverage)
    extent = (x0, x1, y0, y1)
    detected = coverage.detected(group)[rcs, layer]
    ax.imshow(np.where(detected, 1.0, np.nan), extent=extent, origin="upper", cmap="Blues",
              vmin=0, vmax=2.5, alpha=0.55, zorder=2, interpolation="nearest")
    depth = coverage.depth[group][aspect, rcs, layer].astype(float)
    depth[(depth <= 0) | coverage.below_ground[layer]] = np.nan
    image = ax.imshow(depth, extent=extent, origin="upper", cmap=_DEPTH_CMAP,
                      norm=BoundaryNorm(_DEPTH_BOUNDS, _DEPTH_CMAP.N), alpha=0.75, zorder=3,
                      interpolation="nearest")
    for geom in outlines:  # borders above the shading: the line parts of the outlines
        parts = geom.geoms if hasattr(geom, "geoms") else [geom]
        for part in parts:
            if part.geom_type == "LineString":
                xs, ys = part.xy
                ax.plot(xs, ys, color="#444444", linewidth=0.5, zorder=4)
    # fade what lies outside the analysis area (the grid's rectangle reaches beyond it)
    ax.imshow(np.where(grid.in_area, np.nan, 1.0), extent=extent, origin="upper", cmap="Greys",
              vmin=0, vmax=4, alpha=0.5, zorder=5, interpolation="nearest")
    if oob is not None:
        for e in oob:
            if e.depth != 0 or e.lat_deg is None or e.lon_deg is None:
                continue
            if not (e.kind.startswith("sam") or e.kind.startswith("radar")):
                continue
            x, y = to_xy.transform(e.lon_deg, e.lat_deg)
            # the units' APP-6 symbols, as on the report's unit map and in the viewer
            symbol = unit_symbol(unit_sidc(e.kind, affiliation_of(oob.scenario, e.nation)),
                                 nation_frame(e.nation), scale=0.6)
            ax.add_artist(AnnotationBbox(symbol, (x, y), frameon=False, pad=0, zorder=6))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    cbar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.01, ticks=[1, 2, 3.5, 6.5, 12.5, 500])
    cbar.ax.set_yticklabels(_DEPTH_LABELS)
    cbar.set_label("fire units able to engage (overlap depth)")
    handles: list[Artist] = [Patch(facecolor="#6baed6", alpha=0.55,
                                   label=f"detected (Pd ≥ {coverage.pd_threshold:g})")]
    if oob is not None:
        handles += [Patch(facecolor=AFFILIATION_FILL["friend"], edgecolor=nation_frame(""),
                          label="SAM and radar units (APP-6 symbols, as on the unit map)")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    # scale bar: the grid is in metres
    bar = 200_000.0 if (x1 - x0) > 800_000 else 50_000.0
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + bar], [by, by], color="black", linewidth=3, zorder=7, solid_capstyle="butt")
    ax.text(bx + bar / 2, by + 0.012 * (y1 - y0), f"{bar / 1000:.0f} km", ha="center", fontsize=8,
            zorder=7)
    name = coverage.rcs_names[rcs]
    ax.set_title(title or f"{coverage.as_of.isoformat()}: {coverage.layer_label(layer)}, target "
                 f"{name} ({coverage.rcs_m2[rcs]:g} m²) {coverage.aspect_label(aspect, rcs)}, "
                 f"{group}", fontsize=11)
    res_km = grid.resolution_m / 1000
    fig.text(0.01, 0.005,
             f"Grid {res_km:g} km, {grid.crs} (equal-area). Terrain: {coverage.terrain}. "
             f"Refraction k = {coverage.k:.3g}. {BORDER_ATTRIBUTION}.", fontsize=6, color="#444444")
    fig.tight_layout()
    return fig


def shift_map_figure(before: Coverage, after: Coverage, zone_before: NDArray[np.bool_],
                     zone_after: NDArray[np.bool_], title: str,
                     latitudes: Sequence[float] = (),
                     rays: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]] = ()) -> Figure:
    """A map of how a zone changed between two dates: kept, gained and lost cells, with the
    parallels and bearing lines along which the boundary's shift is measured.

    Args:
        before, after: the two coverages (same grid). zone_before, zone_after: (rows, cols) masks.
        title: the map's title. latitudes: parallels to draw (degrees north).
        rays: (lon, lat) point arrays of the bearing lines to draw.
    """
    grid = before.grid
    fig, ax, (x0, x1, y0, y1), to_xy, outlines = _frame(before)
    state = np.full(grid.shape, np.nan)
    state[zone_before & zone_after] = 0.0
    state[zone_after & ~zone_before] = 1.0
    state[zone_before & ~zone_after] = 2.0
    colours = ListedColormap(["#9ecae1", "#31a354", "#de2d26"])
    ax.imshow(state, extent=(x0, x1, y0, y1), origin="upper", cmap=colours, vmin=-0.5, vmax=2.5,
              alpha=0.7, zorder=2, interpolation="nearest")
    for geom in outlines:
        for part in (geom.geoms if hasattr(geom, "geoms") else [geom]):
            if part.geom_type == "LineString":
                xs, ys = part.xy
                ax.plot(xs, ys, color="#444444", linewidth=0.5, zorder=4)
    lon, _ = grid.lonlat_deg
    for phi in latitudes:
        lons = np.linspace(float(np.nanmin(lon)), float(np.nanmax(lon)), 200)
        xs, ys = to_xy.transform(lons, np.full(len(lons), phi))
        ax.plot(xs, ys, color="black", linewidth=0.8, linestyle="--", zorder=5)
    for ray_lon, ray_lat in rays:
        xs, ys = to_xy.transform(ray_lon, ray_lat)
        ax.plot(xs, ys, color="black", linewidth=0.8, linestyle=":", zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    d1, d2 = before.as_of.isoformat(), after.as_of.isoformat()
    handles: list[Artist] = [Patch(facecolor="#9ecae1", label=f"both {d1} and {d2}"),
                             Patch(facecolor="#31a354", label=f"gained by {d2}"),
                             Patch(facecolor="#de2d26", label=f"lost by {d2}")]
    if latitudes or rays:
        handles.append(Line2D([], [], color="black", linestyle="--", label="lines measured along"))
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    ax.set_title(title, fontsize=11)
    fig.text(0.01, 0.005, f"Grid {grid.resolution_m / 1000:g} km, {grid.crs} (equal-area). "
             f"Terrain: {before.terrain}. {BORDER_ATTRIBUTION}.", fontsize=6, color="#444444")
    fig.tight_layout()
    return fig
