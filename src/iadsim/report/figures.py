"""Figures of the report: the order-of-battle map and equipment in service over the years."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox, AnnotationBbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Rectangle
from shapely.geometry import MultiPolygon, box
from shapely.geometry import Polygon as ShapelyPolygon

from iadsim.data import BORDER_ATTRIBUTION, TOWN_ATTRIBUTION, load_regions
from iadsim.geo import geodesic_distance_m
from iadsim.io.figures import save_map
from iadsim.oob import OrderOfBattle, order_of_battle
from iadsim.scenario.schema import Scenario
from iadsim.symbology import (
    AFFILIATION_FILL,
    FUNCTIONS,
    affiliation_of,
    nation_frame,
    unit_function,
    unit_sidc,
    unit_symbol,
)

__all__ = ["MAP_EXTENT", "equipment_over_time_figure", "fit_extent", "oob_map_figure", "save_figure"]

MAP_EXTENT = (14.0, 40.0, 45.0, 62.0)
"""Default map window (lon_min, lon_max, lat_min, lat_max): the region of the design."""

_REGION_FILL = {"BLR": "#e6f2e6", "RUS": "#f7e4e4", "RUS-KGD": "#f7e4e4"}

def _symbol_legend(oob: OrderOfBattle) -> AnchoredOffsetbox:
    """The legend of the unit symbols: each function as a friend of the first nation, then each
    nation's frame colour, with the convention in words."""
    first = oob.nations[0] if oob.nations else ""
    kinds_present = {unit_function(e.kind).family for e in oob if e.depth == 0}
    rows: list[Any] = [TextArea("Units (APP-6 / MIL-STD-2525C)",
                                textprops={"fontsize": 7, "fontweight": "bold"})]
    for func in FUNCTIONS.values():
        if func.family not in kinds_present:
            continue
        sidc = unit_sidc({"sam": "sam_regiment", "radar": "radar_brigade", "ew": "ew_regiment",
                          "comms": "communications", "air": "air_base"}[func.family], "friend")
        rows.append(HPacker(children=[unit_symbol(sidc, nation_frame(first), 0.7),
                                      TextArea(func.label, textprops={"fontsize": 6.5})],
                            align="center", pad=0, sep=3))
    for nation in oob.nations:
        rows.append(HPacker(children=[
            _frame_swatch(nation_frame(nation)),
            TextArea(f"frame: {oob.scenario.nations[nation].name}", textprops={"fontsize": 6.5})],
            align="center", pad=0, sep=3))
    rows.append(TextArea("fill: friend blue, hostile red, neutral green, unknown yellow;\n"
                         "echelon above: I battery, II battalion, III regiment, X brigade",
                         textprops={"fontsize": 5.5, "color": "#444444"}))
    pack = VPacker(children=rows, align="left", pad=2, sep=2)
    legend = AnchoredOffsetbox(loc="lower right", child=pack, frameon=True, pad=0.3, borderpad=0.4)
    legend.patch.set_facecolor("white")
    legend.patch.set_alpha(0.92)
    legend.set_zorder(8)
    return legend


def _frame_swatch(colour: str) -> DrawingArea:
    box = DrawingArea(16, 10, 0, 0)
    box.add_artist(Rectangle((1, 1), 14, 8, facecolor=AFFILIATION_FILL["friend"], edgecolor=colour,
                             linewidth=1.6))
    return box


def _draw_borders(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    window = box(extent[0], extent[2], extent[1], extent[3])
    for region in load_regions().values():
        geom = region.geometry.intersection(window)
        if geom.is_empty:
            continue
        polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
        for poly in polys:
            if not isinstance(poly, ShapelyPolygon):
                continue
            x, y = poly.exterior.xy
            ax.fill(x, y, facecolor=_REGION_FILL.get(region.id, "#f4f4f2"), edgecolor="#777777",
                    linewidth=0.5, zorder=1)
        label_at = geom.representative_point()
        if geom.area > 4:  # small regions (the Kaliningrad oblast) are named by their towns
            ax.text(label_at.x, label_at.y, region.name, fontsize=7, color="#555555",
                    ha="center", va="center", zorder=2, style="italic")


def _scale_bar(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    lon0 = extent[0] + 0.05 * (extent[1] - extent[0])
    lat0 = extent[2] + 0.05 * (extent[3] - extent[2])
    target_m = 200_000.0 if extent[1] - extent[0] > 8 else 50_000.0
    # find the longitude step that spans target_m along the parallel (geodesic distance)
    step = target_m / (111_320.0 * math.cos(math.radians(lat0)))
    real = float(geodesic_distance_m(lat0, lon0, lat0, lon0 + step)[0])
    step *= target_m / real
    ax.plot([lon0, lon0 + step], [lat0, lat0], color="black", linewidth=3, zorder=6,
            solid_capstyle="butt")
    ax.text(lon0 + step / 2, lat0 + 0.12, f"{target_m / 1000:.0f} km", ha="center", fontsize=8,
            zorder=6)


def _label_towns(ax: Axes, oob: OrderOfBattle, aspect: float) -> None:
    """Label the towns that host units, largest holdings first, skipping labels that would collide."""
    weight: Counter[tuple[str, float, float]] = Counter()
    for e in oob:
        if e.place_name and e.lat_deg is not None and e.lon_deg is not None and e.depth == 0:
            weight[(e.place_name, e.lon_deg, e.lat_deg)] += 1 + sum(e.totals.values())
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    # approximate text box in data units from the axes size: 7 pt font
    width_in = ax.get_figure().get_size_inches()[0] * 0.85  # type: ignore[union-attr]
    char_w = (x1 - x0) / (width_in * 72 / 4.2)
    line_h = char_w * 2.4 / aspect
    taken: list[tuple[float, float, float, float]] = []
    offsets = [(0.12, 0.06), (0.12, -0.55), (-0.12, 0.06), (-0.12, -0.55), (0.0, 0.45), (0.0, -1.0)]
    for (name, lon, lat), _ in sorted(weight.items(), key=lambda kv: -kv[1]):
        w = char_w * len(name)
        for fx, fy in offsets:
            left = lon + fx * aspect if fx >= 0 else lon + fx * aspect - w
            if fx == 0.0:
                left = lon - w / 2
            bottom = lat + fy * line_h * 2
            box_ = (left, bottom, left + w, bottom + line_h)
            if box_[0] < x0 or box_[2] > x1 or box_[1] < y0 or box_[3] > y1:
                continue
            if any(not (box_[2] < b[0] or box_[0] > b[2] or box_[3] < b[1] or box_[1] > b[3])
                   for b in taken):
                continue
            taken.append(box_)
            ax.text(left, bottom, name, fontsize=7, zorder=7, ha="left", va="bottom",
                    bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.6})
            break


def fit_extent(oob: OrderOfBattle, margin_deg: float = 1.5) -> tuple[float, float, float, float]:
    """A map window around the placed units (lon_min, lon_max, lat_min, lat_max)."""
    lons = [e.lon_deg for e in oob if e.lon_deg is not None]
    lats = [e.lat_deg for e in oob if e.lat_deg is not None]
    if not lons:
        return MAP_EXTENT
    lon0, lon1 = min(lons) - margin_deg, max(lons) + margin_deg
    lat0, lat1 = min(lats) - margin_deg, max(lats) + margin_deg
    # at least 6 degrees of latitude so a single town still shows its surroundings
    if lat1 - lat0 < 6:
        mid = (lat0 + lat1) / 2
        lat0, lat1 = mid - 3, mid + 3
    if lon1 - lon0 < 8:
        mid = (lon0 + lon1) / 2
        lon0, lon1 = mid - 4, mid + 4
    return (lon0, lon1, lat0, lat1)


def oob_map_figure(oob: OrderOfBattle,
                   extent: tuple[float, float, float, float] | None = None) -> Figure:
    """A map of borders and the units in service as APP-6 / MIL-STD-2525C symbols (the codes of
    ``iadsim.symbology``, as the viewer draws them): frame fill by standard identity, frame outline
    by nation, icon by function, echelon above.

    Args:
        oob: the order of battle to draw.
        extent: (lon_min, lon_max, lat_min, lat_max) in degrees; default: around the units.
    """
    extent = extent or fit_extent(oob)
    lat_mid = (extent[2] + extent[3]) / 2
    width = 10.0
    aspect = 1.0 / math.cos(math.radians(lat_mid))
    height = width * (extent[3] - extent[2]) / (extent[1] - extent[0]) * aspect
    fig, ax = plt.subplots(figsize=(width, max(height, 4.0)), dpi=110)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect(aspect)
    ax.set_facecolor("#dbe9f4")
    _draw_borders(ax, extent)

    # several units at one town: fanned on a small ring so every symbol stays visible
    by_place: Counter[tuple[float, float]] = Counter()
    seen: Counter[tuple[float, float]] = Counter()
    for e in oob:
        if e.lat_deg is not None and e.lon_deg is not None and e.depth == 0:
            by_place[(e.lat_deg, e.lon_deg)] += 1
    for e in oob:
        if e.lat_deg is None or e.lon_deg is None or e.depth != 0:
            continue  # subordinate units sit at their parent's town; the parent stands for them
        key = (e.lat_deg, e.lon_deg)
        n, k = by_place[key], seen[key]
        seen[key] += 1
        dx = dy = 0.0
        if n > 1:
            angle = 2 * math.pi * k / n
            dx, dy = 0.28 * math.cos(angle) * aspect, 0.28 * math.sin(angle)
        affiliation = affiliation_of(oob.scenario, e.nation)
        symbol = unit_symbol(unit_sidc(e.kind, affiliation), nation_frame(e.nation))
        placed = AnnotationBbox(symbol, (e.lon_deg + dx, e.lat_deg + dy), frameon=False, pad=0, zorder=5,
                                annotation_clip=True)
        placed.set_gid(f"{e.unit_id} {unit_sidc(e.kind, affiliation)}")  # the unit and its code, in SVG too
        ax.add_artist(placed)
    _label_towns(ax, oob, aspect)
    ax.add_artist(_symbol_legend(oob))
    _scale_bar(ax, extent)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(f"{oob.scenario.name}: units in service on {oob.as_of.isoformat()}", fontsize=11)
    fig.text(0.01, 0.005, f"{BORDER_ATTRIBUTION}. {TOWN_ATTRIBUTION}. Unit places: town level "
             "from public reports; units at one town fanned around it; overlapping town labels omitted.",
             fontsize=6, color="#444444")
    fig.tight_layout()
    return fig


def equipment_over_time_figure(scenario: Scenario, start_year: int | None = None,
                               end_year: int | None = None, roles: tuple[str, ...] = ("sam_systems",),
                               ) -> Figure:
    """Equipment in service on 31 December of each year, one step line per type, above a strip of
    the scenario's milestones (numbered markers on the same time axis, keyed below the plot).

    Args:
        scenario: a loaded scenario.
        start_year, end_year: the span (default: the data's period, else 1996, to the scenario's year).
        roles: catalog sections to plot (``sam_systems`` counts launchers).
    """
    period = scenario.data_period
    start = start_year if start_year is not None else (period.start.year if period else 1996)
    end = end_year or scenario.as_of.year
    years = list(range(start, end + 1))
    series: dict[str, list[int]] = {}
    for i, year in enumerate(years):
        oob = order_of_battle(scenario, dt.date(year, 12, 31), allow_outside_data=True)
        for type_id, n in oob.totals_by_type().items():
            if scenario.catalog.kind_of(type_id) in roles:
                series.setdefault(type_id, [0] * len(years))[i] = n
    milestones = [m for m in sorted(scenario.timeline.values(), key=lambda m: m.date)
                  if start <= m.date.year <= end]
    key_rows = math.ceil(len(milestones) / 2)
    key_in = 0.17 * key_rows + 0.3 if milestones else 0.0
    fig = plt.figure(figsize=(10, 4.6 + 0.7 + key_in), dpi=110)
    grid = fig.add_gridspec(3, 1, height_ratios=[4.6, 0.7, max(key_in, 0.01)], hspace=0.12)
    ax = fig.add_subplot(grid[0])
    for type_id, counts in sorted(series.items()):
        section = scenario.catalog.kind_of(type_id) or ""
        name = getattr(scenario.catalog, section)[type_id].name if section else type_id
        ax.step(years, counts, where="post", label=name, linewidth=2)
    ax.set_ylabel("launchers in service" if roles == ("sam_systems",) else "items in service")
    ax.set_title("Surface-to-air missile launchers in service, by system (state on 31 December)")
    ax.grid(alpha=0.3)
    ax.set_xlim(start - 0.5, end + 0.5)
    ax.tick_params(labelbottom=False)
    if series:
        ax.legend(fontsize=8, loc="upper left", frameon=True)
    strip = fig.add_subplot(grid[1], sharex=ax)
    strip.set_yticks([])
    strip.set_ylim(0, 1)
    for side in ("left", "right", "top"):
        strip.spines[side].set_visible(False)
    strip.set_ylabel("milestones", rotation=0, ha="right", va="center", fontsize=8)
    for i, m in enumerate(milestones, 1):
        when = m.date.year + (m.date.timetuple().tm_yday - 1) / 365.25
        ax.axvline(when, color="#bbbbbb", linestyle=":", linewidth=0.8, zorder=0)
        level = 0.3 if i % 2 else 0.72  # alternate rows so that neighbouring numbers do not touch
        strip.plot([when], [level], marker="o", markersize=11, color="#555555", zorder=2)
        strip.text(when, level, str(i), color="white", fontsize=6.5, ha="center", va="center",
                   zorder=3, fontweight="bold")
    if milestones:
        key = fig.add_subplot(grid[2])
        key.axis("off")
        for i, m in enumerate(milestones):
            col, row = divmod(i, key_rows)
            label = m.label if len(m.label) <= 62 else m.label[:60] + "…"
            key.text(0.5 * col, 1 - (row + 0.5) / key_rows, f"{i + 1:>2}  {m.date.isoformat()[:7]}  {label}",
                     fontsize=6.8, va="center", ha="left", transform=key.transAxes, family="sans-serif")
    fig.subplots_adjust(left=0.09, right=0.98, top=0.94, bottom=0.02)
    return fig


def detections_over_time_figure(edges_s: np.ndarray, per_sensor: dict[str, np.ndarray],
                                top: int = 12) -> Figure:
    """Detections per minute of the busiest radars (the rest summed), one line each."""
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=110)
    ranked = sorted(per_sensor.items(), key=lambda kv: -int(kv[1].sum()))
    minutes = edges_s / 60.0
    for sid, counts in ranked[:top]:
        ax.step(minutes, counts, where="post", linewidth=1.2, label=sid)
    if len(ranked) > top:
        rest = np.sum([c for _, c in ranked[top:]], axis=0)
        ax.step(minutes, rest, where="post", linewidth=1.2, color="grey",
                label=f"{len(ranked) - top} other radars")
    ax.set_xlabel("simulated time (min)")
    ax.set_ylabel("detections per minute")
    ax.set_title("Detections over time by radar (false alarms excluded)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    fig.tight_layout()
    return fig


_OUTCOME_MARKERS = (
    ("entry_s", "|", "#555555", "enters the defended airspace"),
    ("first_detection_s", ".", "#7f7f7f", "first detection"),
    ("first_track_s", "o", "#2c6fbb", "first track at the deciding node"),
    ("identified_s", "s", "#e69f00", "declared unknown"),
    ("hostile_s", "D", "#c0392b", "designated hostile"),
    ("scramble_s", "^", "#009e73", "scramble ordered"),
    ("airborne_s", "2", "#009e73", "interceptors airborne"),
    ("intercept_s", "*", "#006d4f", "visual identification"),
    ("engaged_s", ">", "#8e44ad", "first missile launched"),
    ("killed_s", "X", "#000000", "destroyed"),
)
"""The outcome columns the timeline draws: column, marker, colour, legend label."""


def outcome_timeline_figure(outcomes: list[dict[str, Any]], duration_s: float, most: int = 40) -> Figure:
    """When each object that entered the defended airspace was detected, tracked, identified,
    intercepted or engaged: one row per object (the first ``most`` by entry time), minutes on x."""
    rows = sorted(outcomes, key=lambda o: (o["entry_s"], o["object_id"]))[:most]
    height = 1.6 + 0.28 * max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(9.5, height), dpi=110)
    seen: set[str] = set()
    for y, o in enumerate(rows):
        start = o.get("start_s")
        start = start if start is not None and np.isfinite(start) else 0.0
        killed = o.get("killed_s")
        end = killed if killed is not None and np.isfinite(killed) else duration_s
        ax.plot([start / 60.0, end / 60.0], [y, y], color="#dddddd", linewidth=3, zorder=1)
        for col, marker, colour, label in _OUTCOME_MARKERS:
            t = o.get(col)
            if t is None or not np.isfinite(t):
                continue
            ax.scatter([t / 60.0], [y], marker=marker, color=colour, s=36, zorder=3,
                       label=None if label in seen else label)
            seen.add(label)
        if o["leaker"]:
            ax.text(end / 60.0, y, "  leaked", va="center", fontsize=7, color="#c0392b")
    ax.set_yticks(range(len(rows)), [o["object_id"] for o in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, duration_s / 60.0)
    ax.set_xlabel("simulated time (min)")
    ax.set_title("Timeline per object: detection, track, identification, interception, engagement")
    ax.grid(axis="x", alpha=0.3)
    if seen:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.75 / height), ncol=4,
                  frameon=False)
    fig.tight_layout()
    return fig


def saturation_figure(raid_objects: np.ndarray, entered: np.ndarray, leakers: np.ndarray,
                      missiles: np.ndarray, title: str) -> Figure:
    """Leakers (and objects that entered the defended airspace) against raid size, with the
    missiles expended on a second axis."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    order = np.argsort(raid_objects, kind="stable")
    x = raid_objects[order]
    ax.plot(x, entered[order], "o--", color="grey", label="entered the defended airspace")
    ax.plot(x, leakers[order], "o-", color="#c0392b", linewidth=2, label="leakers (not destroyed)")
    ax.set_xlabel("raid size (objects in the scenario's raids)")
    ax.set_ylabel("objects")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    twin = ax.twinx()
    twin.plot(x, missiles[order], "s:", color="#2c6fbb", label="missiles expended")
    twin.set_ylabel("missiles expended", color="#2c6fbb")
    twin.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Write a figure as PNG and close it (as the coverage maps are written)."""
    return save_map(fig, path)
