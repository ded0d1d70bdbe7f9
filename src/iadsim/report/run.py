"""The report of a run folder: renders ``report.html`` and its figures from a finished run folder
(``iadsim report RUN_DIR``; ``iadsim run`` = ``iadsim.runs.run_scenario`` + this). No simulation here.

The figures it writes beside the report: ``map.png``, ``launchers_by_year.png``, ``detections.png``,
``timeline.png`` and ``saturation.png`` (renderings, outside the run's manifest).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.analysis.detections import detections_per_minute
from iadsim.analysis.pictures import PICTURE_COLUMNS, PICTURE_HOLD_S, PICTURE_INTERVAL_S
from iadsim.io.run_folder import (
    C2_EVENTS,
    ENGAGEMENTS,
    EW_EFFECTS,
    FIRST_DETECTIONS,
    OOB_CSV,
    OUTCOMES,
    REPORT,
    SATURATION,
    SCENARIO,
    RunFolder,
    read_run_folder,
)
from iadsim.oob import order_of_battle
from iadsim.report.figures import (
    detections_over_time_figure,
    equipment_over_time_figure,
    oob_map_figure,
    outcome_timeline_figure,
    saturation_figure,
    save_figure,
)
from iadsim.report.findings import findings_box, run_findings
from iadsim.report.html import (
    ReportSection,
    assumptions_section,
    embedded_png,
    esc,
    oob_section,
    render_report,
    sources_section,
    table,
    timeline_section,
)
from iadsim.scenario.schema import Scenario

__all__ = ["RunReport", "picture_cells", "pivot_by_altitude", "render_run_report"]


@dataclass(frozen=True)
class RunReport:
    """What ``render_run_report`` wrote."""

    folder: Path
    report: Path
    files: tuple[Path, ...]


def render_run_report(run: Path | RunFolder) -> RunReport:
    """Render ``report.html`` and its figures from a finished run folder, without simulating.

    Every table, figure and number comes from the folder's files: ``scenario.json`` (order of battle,
    timeline, assumptions, sources), ``summary.json`` (the stored measures), the Parquet tables and
    ``coverage/``.

    Args:
        run: the run folder (read through ``iadsim.io.run_folder.read_run_folder``), or one already read.

    Raises:
        RunFolderError: not a finished run folder of a known schema, or files changed after the run.
    """
    rf = run if isinstance(run, RunFolder) else read_run_folder(run)
    folder = rf.path
    scenario = rf.scenario()
    summary = rf.summary
    day = dt.date.fromisoformat(summary["as_of"])
    oob = order_of_battle(scenario, day, allow_outside_data=True)
    unplaced = summary["units_without_public_location"]

    map_png = save_figure(oob_map_figure(oob), folder / "map.png")
    years_png = save_figure(equipment_over_time_figure(scenario, end_year=day.year),
                            folder / "launchers_by_year.png")
    sim_section, sim_files = (_simulation_section(scenario, rf, summary)
                              if "simulation" in summary else (None, []))
    coverage_section = _coverage_section(rf, summary)
    sections = [
        ReportSection("map", "Map", embedded_png(map_png, "map of units in service")
                      + "<p class='muted'>Units at their towns (town-level public locations); "
                      "subordinate units are drawn at their parent. Not shown: units no public "
                      f"source locates ({len(unplaced)}).</p>"),
        oob_section(oob, data=OOB_CSV),
        *([coverage_section] if coverage_section is not None else []),
        *([sim_section] if sim_section is not None else []),
        *_how_sure(folder),
        ReportSection("years", "Launchers over the years",
                      embedded_png(years_png, "launchers in service by year")
                      + "<p class='muted'>State on 31 December of each year, from the in-service "
                      "dates of units and deliveries. Numbered markers on the strip below the plot: "
                      "the milestones of the timeline, keyed under it.</p>"),
        timeline_section(scenario, data=SCENARIO),
        assumptions_section(scenario, data=SCENARIO),
        sources_section(scenario, data=SCENARIO),
    ]
    cov = summary.get("coverage_study")
    meta = {
        "date (as of)": day.isoformat(),
        "command arrangement": str(summary["arrangement"]),
        "seed": str(summary["seed"]),
        "scenario hash": summary["scenario_hash"],
        "iadsim version": summary["iadsim_version"],
        "terrain": (summary["terrain"] if cov is not None else "none: smooth earth"),
        "units in service": f"{summary['units_in_service']} ({summary['fire_units']} fire units, "
                            f"{summary['ground_radars']} ground radars)",
    }
    warnings = summary.get("warnings", [])
    report = render_report(scenario, day, sections, meta, folder / REPORT, warnings=warnings,
                           lead=findings_box(run_findings(rf), warnings))
    return RunReport(folder, report, (report, map_png, years_png, *sim_files))


SENSITIVITY = "sensitivity"
"""The study folder of ``iadsim run --sensitivity`` inside a run folder."""


def _how_sure(folder: Path) -> list[ReportSection]:
    """'How sure is this figure?' when the run has a finished sensitivity study (``--sensitivity``)."""
    from iadsim.report.sensitivity import how_sure_section, write_sensitivity_report

    study = folder / SENSITIVITY
    if not (study / "interval.parquet").exists():
        return []
    write_sensitivity_report(study)
    return [how_sure_section(study)]


def _simulation_section(scenario: Scenario, rf: RunFolder, summary: dict[str, Any],
                        ) -> tuple[ReportSection, list[Path]]:
    """Detections, the picture and C2 of the run, from its tables and stored measures."""
    folder = rf.path
    sim = summary["simulation"]
    files: list[Path] = []
    parts = [f"<p>{sim['objects']} air objects over {scenario.duration_s:,.0f} s at a "
             f"{scenario.tick_s:g} s tick; {sim['radars']} scanning radars of the defending "
             f"nations; {sim['detections']:,} detections ({sim['false_alarms']:,} false alarms). "
             "Tables: <code>truth.parquet</code>, <code>detections.parquet</code>, "
             "<code>bearings.parquet</code>, <code>events.parquet</code>, "
             "<code>objects.parquet</code>, <code>first_detections.parquet</code>, "
             "<code>ew_effects.parquet</code>.</p>"]
    ew_effects = rf.table(EW_EFFECTS)
    if ew_effects.num_rows:
        effects = ew_effects.to_pylist()
        worst: dict[str, dict[str, Any]] = {}
        for e in effects:
            if e["object_id"] not in worst or e["burn_through_km"] < worst[e["object_id"]]["burn_through_km"]:
                worst[e["object_id"]] = e
        parts.append("<h3>The defender's jamming of hostile aircraft radars</h3>"
                     "<p>Shortest burn-through range of each jammed radar during the run (the range "
                     "within which it still sees its reference target).</p>")
        parts.append(table(["aircraft", "radar", "strongest jammer", "J/N (dB)", "unjammed (km)",
                            "burn-through (km)", "at (s)"],
                           [[e["object_id"], e["radar_type"], e["jammer_id"], f"{e['jnr_db']:.1f}",
                             f"{e['detection_range_km']:.0f}", f"{e['burn_through_km']:.1f}",
                             f"{e['time_s']:.0f}"] for e in worst.values()], numeric=[3, 4, 5, 6]))
    edges, per_sensor = detections_per_minute(rf.table("detections"))
    if per_sensor:
        png = save_figure(detections_over_time_figure(edges, per_sensor), folder / "detections.png")
        files.append(png)
        parts.append(embedded_png(png, "detections per minute by radar"))
    if "c2" in summary:
        track_files, track_html = _command_and_control(scenario, rf, summary)
    else:
        track_files, track_html = [], _node_tracks(scenario, summary)
    files += track_files
    parts.append(track_html)
    rows = []
    for r in rf.table(FIRST_DETECTIONS).to_pylist():
        detected = r["first_detection_s"] is not None
        rows.append([r["object_id"], r["type"], r["nation"], f"{r['appears_s']:,.0f}",
                     f"{r['first_detection_s']:,.0f}" if detected else "not detected",
                     f"{r['delay_s']:,.0f}" if detected else "",
                     r["sensor_id"] or "", f"{r['range_km']:.1f}" if detected else ""])
    if rows:
        parts.append("<h3>First detection of each air object</h3>")
        shown = rows[:200]
        parts.append(table(["object", "type", "nation", "appears (s)", "first detected (s)",
                            "delay (s)", "by radar", "range (km)"], shown, numeric=[3, 4, 5, 7],
                           breakable=[0], data=FIRST_DETECTIONS))
        if len(rows) > len(shown):
            parts.append(f"<p class='muted'>First 200 of {len(rows)} objects.</p>")
    else:
        parts.append("<p>The scenario has no air traffic.</p>")
    return ReportSection("simulation", "Simulation: detections", "".join(parts)), files


def picture_cells(measures: dict[str, Any]) -> list[str]:
    """A node's stored picture measures as the report's cells (``PICTURE_COLUMNS``)."""

    def num(value: float | None, fmt: str, scale: float = 1.0) -> str:
        return "–" if value is None or not np.isfinite(value) else format(scale * value, fmt)

    return [num(measures["mean_ospa_m"], ",.0f"), num(measures["completeness"], ".0f", 100) + " %",
            num(measures["spuriousness"], ".0f", 100) + " %", num(measures["ids_per_object"], ".2f"),
            num(measures["track_breaks_per_object"], ".2f"),
            num(measures["median_time_to_confirmed_track_s"], ",.0f")]


_OUTCOME_ROWS = 100
"""Objects listed in the report's outcome tables (a saturation raid may have hundreds)."""

_TIMELINE_ROWS = 200
"""Decisions listed in the report's command-and-control timeline."""

_C2_TIMELINE_KINDS = ("declared_unknown", "designated_hostile", "scramble_order", "stand_down",
                      "no_interceptor", "airborne", "radar_acquisition", "visual_identification",
                      "shadow_end", "target_lost", "launch", "air_to_air_launch", "kill", "miss",
                      "reload_started", "reloaded",
                      "out_of_missiles", "node_down", "node_up", "link_cut", "link_restored", "link_jammed",
                      "link_unjammed", "autonomous",
                      "rejoined")


def _command_and_control(scenario: Scenario, rf: RunFolder, summary: dict[str, Any],
                         ) -> tuple[list[Path], str]:
    """The C2 pass of the run's arrangement: each node's picture scored against truth;
    identification, scrambles and intercepts; outcome per violating object."""
    folder = rf.path
    c2 = summary["c2"]
    files: list[Path] = []
    rows = []
    for node, m in summary.get("tracking", {}).items():
        name = scenario.command_nodes[node].name if node in scenario.command_nodes else node
        rows.append([name, m["tracks"], *picture_cells(m)])
    outcomes = c2["outcomes"]
    rules = scenario.arrangements[scenario.arrangement]
    parts = [f"<h3>Command and control: the {esc(c2['arrangement'])} arrangement</h3>"
             f"<p>{esc(rules.description)} Each command node fuses the reports of its radars and "
             "the tracks it receives over links (covariance intersection) into its recognised air "
             "picture every cycle (<code>picture.parquet</code>, <code>tracks_&lt;node&gt;.parquet</code>); "
             "events are in <code>c2_events.parquet</code>, interceptor paths in "
             "<code>interceptors.parquet</code>, outcomes in <code>outcomes.parquet</code> "
             "(docs/models/c2.md).</p>"]
    if rows:
        parts.append("<h4>Recognised air picture per command node</h4><p>Scored every "
                     f"{PICTURE_INTERVAL_S:g} s, each track held up to {PICTURE_HOLD_S:g} s; OSPA "
                     "(c = 1 km, p = 1) and completeness against all air objects, seen or not; "
                     "spuriousness is the share of tracks with no object within 1 km; track breaks "
                     "count changes of the track holding an object; the delay to a confirmed track "
                     "runs from the object's first detection by any radar.</p>")
        parts.append(table(["node", "tracks", *PICTURE_COLUMNS], rows, numeric=list(range(1, 8))))

    def fmt(value: float | None) -> str:
        return "" if value is None or not np.isfinite(value) else f"{value:,.0f}"

    if outcomes:
        png = save_figure(outcome_timeline_figure(outcomes, scenario.duration_s), folder / "timeline.png")
        files.append(png)
        parts.append(embedded_png(png, "timeline per object"))
        # Two tables of nine columns, not one of seventeen, so that each fits a printed page.
        shown = outcomes[:_OUTCOME_ROWS]
        cut = (f" The first {len(shown)} of {len(outcomes)} objects; all are in "
               "<code>outcomes.parquet</code>." if len(shown) < len(outcomes) else "")
        parts.append("<h4>Outcome per violating object: detection and identification</h4>"
                     f"<p>Seconds from the start of the run.{cut}</p>")
        parts.append(table(
            ["object", "type", "airspace", "deciding node", "enters", "first detected", "first track",
             "declared unknown", "hostile"],
            [[o["object_id"], o["type"], o["airspace"], o["deciding_node"], fmt(o["entry_s"]),
              fmt(o["first_detection_s"]), fmt(o["first_track_s"]), fmt(o["identified_s"]),
              fmt(o["hostile_s"])] for o in shown],
            numeric=list(range(4, 9)), breakable=[0], data=OUTCOMES))
        parts.append("<h4>Outcome per violating object: response</h4>"
                     f"<p>Seconds from the start of the run.{cut}</p>")
        parts.append(table(
            ["object", "scramble", "airborne", "identified visually", "engaged", "destroyed", "missiles",
             "track breaks", "leaker"],
            [[o["object_id"], fmt(o["scramble_s"]), fmt(o["airborne_s"]), fmt(o["intercept_s"]),
              fmt(o["engaged_s"]), fmt(o["killed_s"]), o["missiles"], o["track_breaks"],
              "yes" if o["leaker"] else "no"] for o in shown],
            numeric=list(range(1, 8)), breakable=[0], data=OUTCOMES))
    parts.append(_engagement_html(rf, c2, outcomes))
    if rf.has(SATURATION):
        sat_files, sat_html = _saturation(scenario, rf)
        files += sat_files
        parts.append(sat_html)
    timeline = [e for e in rf.table(C2_EVENTS).to_pylist() if e["kind"] in _C2_TIMELINE_KINDS]
    if timeline:
        parts.append("<h4>Command-and-control timeline</h4>")
        if len(timeline) > _TIMELINE_ROWS:
            parts.append(f"<p>The first {_TIMELINE_ROWS} of {len(timeline)} decisions; all events are "
                         "in <code>c2_events.parquet</code>.</p>")
        parts.append(table(["time (s)", "event", "node", "subject", "track", "object", "detail"],
                           [[f"{e['time_s']:,.0f}", e["kind"], e["node"], e["subject"],
                             "" if e["track_id"] < 0 else e["track_id"], e["object_id"], e["detail"]]
                            for e in timeline[:_TIMELINE_ROWS]], numeric=[0], breakable=[5],
                           data=C2_EVENTS))
    return files, "".join(parts)


def _saturation(scenario: Scenario, rf: RunFolder) -> tuple[list[Path], str]:
    """The saturation curve (``saturation.parquet``): leakers and missiles against raid size."""
    curve = rf.table(SATURATION)
    rows = curve.to_pylist()
    col = {name: np.asarray(curve[name].to_pylist()) for name in curve.column_names}
    png = save_figure(saturation_figure(col["raid_objects"], col["entered"], col["leakers"], col["missiles"],
                                        f"Saturation: {scenario.name}"), rf.path / "saturation.png")
    html = ("<h4>Saturation curve</h4><p>The scenario's raids flown again at "
            + ", ".join(f"{r['scale']:g}×" for r in rows)
            + " their size (one sensing and C2 pass each, replication 0): leakers, objects destroyed "
            "and missiles expended against raid size (<code>saturation.parquet</code>).</p>"
            + embedded_png(png, "leakers against raid size")
            + table(["scale", "raid objects", "entered", "leakers", "destroyed", "missiles",
                     "fire units dry"],
                    [[f"{r['scale']:g}×", r["raid_objects"], r["entered"], r["leakers"], r["destroyed"],
                      r["missiles"], r["fire_units_dry"]] for r in rows], numeric=[1, 2, 3, 4, 5, 6]))
    return [png], html


def _engagement_html(rf: RunFolder, c2: dict[str, Any], outcomes: list[dict[str, Any]]) -> str:
    """Leakers, missiles expended and kills by fire unit, when the run had engagements."""
    if "missiles_expended" not in c2:
        return ""
    rows = rf.table(ENGAGEMENTS).to_pylist()
    eng = [e for e in rows if e.get("status", "engaged") == "engaged"]
    refused = len(rows) - len(eng)
    leakers = sum(1 for o in outcomes if o["leaker"])
    by_unit: dict[str, list[int]] = {}
    for e in eng:
        row = by_unit.setdefault(e["fire_unit"], [0, 0, 0])
        row[0] += 1
        row[1] += e["missiles"]
        row[2] += bool(e["killed"])
    parts = ["<h4>Engagements</h4>",
             f"<p>{len(outcomes)} hostile objects entered the defended airspace; <b>{leakers} leaked</b> "
             f"(not destroyed). {len(eng)} engagements, {c2['missiles_expended']} missiles "
             f"expended, {sum(c2['kills_by_unit'].values())} kills; {refused} engagements refused "
             "outside the launch acceptability region (docs/models/launch-regions.md). "
             f"Fire units out of missiles: "
             f"{', '.join(c2['fire_units_dry']) or 'none'}. The log is "
             "<code>engagements.parquet</code> (docs/models/engagement.md).</p>"]
    if by_unit:
        parts.append(table(["fire unit", "engagements", "missiles", "kills"],
                           [[u, *v] for u, v in sorted(by_unit.items())], numeric=[1, 2, 3]))
    return "".join(parts)


def _node_tracks(scenario: Scenario, summary: dict[str, Any]) -> str:
    """Each command node's tracks of its sensors' detections, scored against truth."""
    rows = []
    for node, m in summary.get("tracking", {}).items():
        name = scenario.command_nodes[node].name if node in scenario.command_nodes else node
        rows.append([name, m["radars"], m["confirmed_tracks"], *picture_cells(m)])
    if not rows:
        return ""
    return ("<h3>Recognised air picture per command node</h3><p>Each node tracks the detections "
            "of the radars that report to it along the peacetime chain of command "
            "(<code>tracks_&lt;node&gt;.parquet</code>). The picture is scored every "
            f"{PICTURE_INTERVAL_S:g} s, each track held (and extrapolated) up to "
            f"{PICTURE_HOLD_S:g} s after its last update. OSPA (c = 1 km, p = 1) and completeness "
            "are against all air objects in the air, seen or not; spuriousness is the share of "
            "confirmed tracks with no object within 1 km.</p>"
            + table(["node", "radars", "confirmed tracks", *PICTURE_COLUMNS], rows,
                    numeric=list(range(1, 9))))


class _CoverageSection(ReportSection):
    def __init__(self, body: str, terrain: str) -> None:
        super().__init__("coverage", "Coverage", body)
        self.terrain = terrain


def _coverage_section(rf: RunFolder, summary: dict[str, Any]) -> _CoverageSection | None:
    """The run's coverage, from ``coverage/`` and its description in the summary."""
    cov = summary.get("coverage_study")
    if cov is None:
        return None
    if "missing_rcs_classes" in cov:
        body = (f"<p>Coverage not computed: the scenario's catalog has no RCS class "
                f"{', '.join(cov['missing_rcs_classes'])}.</p>")
        return _CoverageSection(body, "none")
    parts = [
        f"<p>Where the joint system detects (Pd ≥ {cov['pd_threshold']:g}) and can engage a "
        f"{cov['rcs_name']} ({cov['rcs_m2']:g} m²), at {cov['layers']} altitudes above ground, "
        f"on a {cov['resolution_km']:g} km equal-area grid. Terrain: {esc(cov['terrain'])}. "
        f"Refraction k = {cov['k']:.3g}. {cov['sensors']} ground radars and {cov['fire_units']} fire units "
        "in service. Grids, contours (GeoJSON, KML) and tables are in <code>coverage/</code>; "
        "<code>iadsim coverage</code> computes more layers, classes and dates.</p>"]
    for note in cov["notes"]:
        parts.append(f"<p class='muted'>{esc(note)}.</p>")
    for m in cov["maps"]:
        parts.append(embedded_png(rf.file(m["file"]), f"coverage at {m['label']}"))
    columns, rows = pivot_by_altitude(cov["regions"])
    parts.append("<h3>By region: % of area detected / engageable, mean and max overlap depth</h3>")
    parts.append(table(columns, rows, numeric=[1, *range(3, len(columns))]))
    return _CoverageSection("".join(parts), cov["terrain"])


def pivot_by_altitude(rows: list[dict[str, object]]) -> tuple[list[str], list[list[object]]]:
    """Region rows of one date and RCS class: one line per region, altitude and target aspect."""
    header = ["region", "altitude (m)", "aspect", "detected %", "engageable %", "mean depth",
              "max depth"]
    body = [[r["region"], f"{r['altitude_m']:,.0f}", r.get("aspect", ""), r["detected_pct"],
             r["engageable_pct"], r["mean_depth"], r["max_depth"]] for r in rows]
    return header, body
