"""A coverage study: one scenario at one or more dates, computed and measured by region.

This is what ``iadsim coverage`` and the coverage section of ``iadsim run`` compute. For each date
it compiles the World, computes coverage on the grid and measures every region;
``iadsim.io.coverage.write_coverage_study`` writes the PNG maps (one per altitude layer and RCS
class), GeoTIFF grids, GeoJSON and KML contours, CSV tables and the comparison across dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.coverage.compute import (
    ALL_ASPECTS,
    Coverage,
    CoverageError,
    compute_coverage,
    launch_regions,
)
from iadsim.coverage.grid import CoverageGrid
from iadsim.coverage.metrics import Region, default_regions, region_masks, region_metrics
from iadsim.geo.radar_geometry import STANDARD_K
from iadsim.scenario.dates import as_date
from iadsim.scenario.schema import Scenario
from iadsim.world import compile_world

__all__ = [
    "DEFAULT_AREA",
    "DEFAULT_LAYERS_M",
    "CoverageRequest",
    "CoverageStudy",
    "run_coverage_study",
]

DEFAULT_AREA = (14.0, 40.0, 45.0, 62.0)
"""lon_min, lon_max, lat_min, lat_max of the analysis region of the design."""

DEFAULT_LAYERS_M = (30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)


@dataclass(frozen=True)
class CoverageRequest:
    """What to compute: dates, layers, RCS classes (catalog ids), grid, terrain, thresholds."""

    dates: tuple[dt.date, ...]
    layers_m: tuple[float, ...] = DEFAULT_LAYERS_M
    altitude_reference: str = "agl"
    rcs_classes: tuple[str, ...] = ("fighter",)
    resolution_km: float = 10.0
    area: tuple[float, float, float, float] = DEFAULT_AREA
    k: float = STANDARD_K
    pd_threshold: float = 0.5
    dem: str | None = "default"
    """``default`` (bundled ETOPO5), ``none`` / None (smooth earth), or a GeoTIFF path."""
    extra_regions: tuple[Region, ...] = ()
    maps: bool = True
    aspects: tuple[str, ...] = ALL_ASPECTS
    """The target's aspects to each fire unit: approaching, crossing, receding or degrees."""
    target_speed_mps: float | None = None
    """One target speed for every RCS class, m/s; None: each class's ``speed_mps``."""


@dataclass
class CoverageStudy:
    """What a study computed (and, once written by ``iadsim.io.coverage.write_coverage_study``,
    the files and maps it wrote).

    Attributes:
        coverages: per date, the coverage. tables: per date, the region rows. comparison: every
            date's region rows. rcs_m2: RCS class → m². files, maps: the written outputs (maps
            keyed by (date, RCS class index, layer index, aspect index)).
    """

    coverages: dict[dt.date, Coverage]
    tables: dict[dt.date, list[dict[str, Any]]]
    comparison: list[dict[str, Any]]
    rcs_m2: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    maps: dict[tuple[dt.date, int, int, int], Path] = field(default_factory=dict)


Progress = Callable[[str, int, int], None]


def _terrain_on_grid(request: CoverageRequest, grid: CoverageGrid) -> tuple[Any, str]:
    from iadsim.geo.terrain import NO_TERRAIN_DESCRIPTION

    if request.dem in (None, "none"):
        return None, NO_TERRAIN_DESCRIPTION
    stamp: tuple[int, int] | None = None
    if request.dem != "default":
        try:
            st = os.stat(request.dem)
            stamp = (st.st_mtime_ns, st.st_size)  # a file rewritten since is read again
        except OSError:
            pass  # load_dem says what is wrong with it
    return _terrain_resampled(request.dem, stamp, request.area, grid)


@functools.lru_cache(maxsize=4)
def _terrain_resampled(dem: str, stamp: tuple[int, int] | None, area: tuple[float, float, float, float],
                       grid: CoverageGrid) -> tuple[Any, str]:
    """The DEM's heights on the grid (read-only), kept per process: a sensitivity study computes a
    coverage on one grid for every point, and resampling the DEM was a sixth of each evaluation."""
    from iadsim.geo.terrain import default_terrain, load_dem

    terrain = default_terrain() if dem == "default" else load_dem(dem)
    lon0, lon1, lat0, lat1 = area
    terrain.check_covers(lon0, lat0, lon1, lat1)
    heights = terrain.resample(grid.crs, grid.transform, grid.shape)
    # cells of the grid's rectangle outside the analysis area may lie beyond the DEM: sea level
    heights = np.where(np.isfinite(heights), heights, 0.0).astype(np.float32)
    heights.setflags(write=False)
    return heights, terrain.description


def study_grid(scenario: Scenario, request: CoverageRequest) -> CoverageGrid:
    """The grid of a coverage study, after the checks that need no computing: every RCS class known
    to the scenario, and the study's arrays within memory (a command calls it before anything else
    touches the grid: a 50 m grid over the default area would not fit).

    Raises:
        CoverageError: an unknown RCS class. GridTooLarge: the grid would not fit in memory.
    """
    for name in request.rcs_classes:
        if name not in scenario.catalog.rcs_classes:
            known = ", ".join(scenario.catalog.rcs_classes) or "(none defined)"
            raise CoverageError(f"unknown RCS class '{name}'; the scenario defines: {known}")
    lon0, lon1, lat0, lat1 = request.area
    grid = CoverageGrid.over(lon0, lon1, lat0, lat1, request.resolution_km)
    nations = {u.nation for u in scenario.units.values()}
    grid.check_memory(len(request.layers_m), len(request.rcs_classes) * max(1, len(request.aspects)),
                      len(nations) + 1)
    return grid


def run_coverage_study(scenario: Scenario, request: CoverageRequest,
                       progress: Progress | None = None) -> CoverageStudy:
    """Compute coverage at each requested date and measure regions (no file is written: the outputs
    are ``iadsim.io.coverage.write_coverage_study``).

    Args:
        scenario: a loaded scenario.
        request: what to compute.
        progress: called with (phase description, done, total).

    Raises:
        CoverageError: for an unknown RCS class or a request that cannot be computed.
        GridTooLarge: if the grid would not fit in memory.
        iadsim.geo.terrain.TerrainError: for an unusable DEM.
    """
    grid = study_grid(scenario, request)
    rcs, speeds = {}, {}
    for name in request.rcs_classes:
        cls = scenario.catalog.rcs_classes[name]
        rcs[name] = cls.rcs_m2
        speed = request.target_speed_mps if request.target_speed_mps is not None else cls.speed_mps
        if speed is not None:
            speeds[name] = float(speed)
    ground, terrain_text = _terrain_on_grid(request, grid)
    regions = default_regions() + list(request.extra_regions)
    masks = region_masks(grid, regions)

    study = CoverageStudy({}, {}, [], rcs_m2=rcs)
    regions_by_system = launch_regions(scenario)
    for date in request.dates:
        world = compile_world(scenario, date)

        def step(done: int, total: int, date: dt.date = date) -> None:
            if progress:
                progress(f"coverage {date.isoformat()}", done, total)

        coverage = compute_coverage(
            world, grid, request.layers_m, rcs, altitude_reference=request.altitude_reference,
            k=request.k, ground_m=ground, terrain=terrain_text, pd_threshold=request.pd_threshold,
            sensing=scenario.sensing, progress=step, regions=regions_by_system,
            aspects=request.aspects, target_speed_mps=speeds)
        study.coverages[date] = coverage
        study.tables[date] = region_metrics(coverage, regions, masks)
        study.comparison += study.tables[date]
    return study


def dates_from(text: str | None, default: dt.date) -> tuple[dt.date, ...]:
    """Dates from '2009,2012,2016-05-01' (a bare year is 31 December), each once, in the order
    given; the default if None.

    Raises:
        ValueError: no date in ``text`` (an empty string), a part that is not a date, or a date
            given twice (``2020,2020-12-31``).
    """
    if text is None:
        return (default,)
    out: list[dt.date] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            day = as_date(part)
        except ValueError:
            raise ValueError(f"'{part}' is not a date; write YYYY-MM-DD or a year") from None
        if day in out:
            raise ValueError(f"--as-of gives {day.isoformat()} twice")
        out.append(day)
    if not out:
        raise ValueError(f"--as-of {text!r} gives no date; write YYYY-MM-DD or a year, comma-separated")
    return tuple(out)


def pivot(rows: Sequence[dict[str, Any]], value: str, regions: Sequence[str] | None = None,
          ) -> tuple[list[str], list[list[Any]]]:
    """A region × altitude × aspect table with one column per date, of one metric (e.g.
    engageable_pct)."""
    dates = sorted({r["as_of"] for r in rows})
    keys: list[tuple[str, str, float, str]] = []
    cells: dict[tuple[str, str, float, str, str], Any] = {}
    for r in rows:
        if regions is not None and r["region"] not in regions:
            continue
        key = (r["region"], r["rcs_class"], r["altitude_m"], str(r.get("aspect", "")))
        if key not in keys:
            keys.append(key)
        cells[(*key, r["as_of"])] = r[value]
    header = ["region", "rcs class", "altitude (m)", "aspect", *dates]
    body = [[k[0], k[1], f"{k[2]:,.0f}", k[3], *(cells.get((*k, d), "") for d in dates)]
            for k in keys]
    return header, body
