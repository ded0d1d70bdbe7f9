"""The report of ``iadsim run``: validates, compiles and writes the run folder.

The folder holds ``report.html`` (self-contained), ``map.png``, ``launchers_by_year.png``,
``oob.csv``, ``oob.geojson`` and ``summary.json`` (scenario hash and package version).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from iadsim import __version__
from iadsim.io import oob_to_csv, oob_to_geojson
from iadsim.oob import order_of_battle
from iadsim.report.figures import equipment_over_time_figure, oob_map_figure, save_figure
from iadsim.report.html import (
    ReportSection,
    assumptions_section,
    embedded_png,
    oob_section,
    render_report,
    sources_section,
    timeline_section,
)
from iadsim.scenario.provenance import collect_assumptions
from iadsim.scenario.schema import Scenario
from iadsim.world import compile_world

__all__ = ["RunReport", "run_folder_name", "write_run_report"]


@dataclass(frozen=True)
class RunReport:
    """What ``write_run_report`` wrote."""

    folder: Path
    report: Path
    files: tuple[Path, ...]


def run_folder_name(scenario: Scenario, as_of: dt.date) -> str:
    """A filesystem-safe folder name from the scenario name and date."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scenario.name).strip("-").lower() or "scenario"
    return f"{slug}-{as_of.isoformat()}"


def write_run_report(scenario: Scenario, out_dir: Path, as_of: dt.date | None = None) -> RunReport:
    """Compile the scenario at ``as_of`` and write the run folder under ``out_dir``."""
    day = as_of or scenario.as_of
    world = compile_world(scenario, day)
    oob = order_of_battle(scenario, day)
    folder = out_dir / run_folder_name(scenario, day)
    folder.mkdir(parents=True, exist_ok=True)

    map_png = save_figure(oob_map_figure(oob), folder / "map.png")
    years_png = save_figure(equipment_over_time_figure(scenario, end_year=day.year),
                            folder / "launchers_by_year.png")
    csv_path = folder / "oob.csv"
    csv_path.write_text(oob_to_csv(oob), encoding="utf-8")
    geojson_path = folder / "oob.geojson"
    geojson_path.write_text(oob_to_geojson(oob), encoding="utf-8")

    summary = {
        "scenario": scenario.name,
        "as_of": day.isoformat(),
        "arrangement": str(scenario.arrangement),
        "seed": scenario.seed,
        "scenario_hash": world.scenario_hash,
        "iadsim_version": __version__,
        "units_in_service": len(oob),
        "units_without_public_location": list(world.unplaced),
        "ground_radars": len(world.sensors),
        "fire_units": len(world.fire_units),
        "launchers_by_type": {oob.type_name(t): n for t, n in oob.totals_by_type().items()
                              if scenario.catalog.kind_of(t) == "sam_systems"},
        "assumptions": len(collect_assumptions(scenario)),
        "terrain": "none (smooth earth)",
    }
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")

    sections = [
        ReportSection("map", "Map", embedded_png(map_png, "map of units in service")
                      + "<p class='muted'>Units at their towns (town-level public locations); "
                      "subordinate units are drawn at their parent. Not shown: units no public "
                      f"source locates ({len(world.unplaced)}).</p>"),
        oob_section(oob),
        ReportSection("years", "Launchers over the years",
                      embedded_png(years_png, "launchers in service by year")
                      + "<p class='muted'>State on 31 December of each year, from the in-service "
                      "dates of units and deliveries. Dotted lines: milestones of the joint "
                      "system.</p>"),
        timeline_section(scenario),
        assumptions_section(scenario),
        sources_section(scenario),
    ]
    meta = {
        "date (as of)": day.isoformat(),
        "command arrangement": str(scenario.arrangement),
        "seed": str(scenario.seed),
        "scenario hash": world.scenario_hash,
        "iadsim version": __version__,
        "terrain": "none: smooth earth",
        "units in service": f"{len(oob)} ({len(world.fire_units)} fire units, "
                            f"{len(world.sensors)} ground radars)",
    }
    report = render_report(scenario, day, sections, meta, folder / "report.html")
    files = (report, map_png, years_png, csv_path, geojson_path, summary_path)
    return RunReport(folder, report, files)
