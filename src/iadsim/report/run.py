"""The report of ``iadsim run``: validates, compiles and writes the run folder.

The folder holds ``report.html`` (self-contained), ``map.png``, ``launchers_by_year.png``,
``oob.csv``, ``oob.geojson`` and ``summary.json`` (scenario hash and package version).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from iadsim import __version__
from iadsim.coverage.study import CoverageRequest, run_coverage_study
from iadsim.io import oob_to_csv, oob_to_geojson
from iadsim.oob import order_of_battle
from iadsim.report.figures import (
    detections_over_time_figure,
    equipment_over_time_figure,
    oob_map_figure,
    save_figure,
)
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
from iadsim.scenario.provenance import collect_assumptions
from iadsim.scenario.schema import Scenario
from iadsim.sim import Engine
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


RUN_COVERAGE = CoverageRequest(dates=(), layers_m=(100.0, 1000.0, 10000.0), resolution_km=10.0,
                               rcs_classes=("fighter",), dem="default")
"""The coverage the run report includes: three layers on a 10 km grid over the bundled ETOPO5."""


def write_run_report(scenario: Scenario, out_dir: Path, as_of: dt.date | None = None,
                     coverage: CoverageRequest | None = RUN_COVERAGE, simulate: bool = True,
                     progress: Callable[[str, int, int], None] | None = None) -> RunReport:
    """Compile the scenario at ``as_of`` and write the run folder under ``out_dir``.

    Args:
        scenario: a loaded scenario.
        out_dir: the parent folder of run folders.
        as_of: the date (default: the scenario's).
        coverage: the coverage to compute for the report (its dates are replaced by ``as_of``),
            or None to leave coverage out; skipped with a note if the scenario's catalog lacks
            the RCS classes.
        simulate: run the engine over the scenario's duration and write truth, detections,
            bearings and events as Parquet.
        progress: called with (phase, done, total).
    """
    day = as_of or scenario.as_of
    # build the simulation first: bad traffic is refused before anything is written
    engine = _prepare_engine(scenario, day) if simulate else None
    if engine is not None and scenario.c2 is not None and scenario.arrangement in scenario.arrangements:
        # and a C2 network that cannot be built (e.g. a unit with no commander)
        from iadsim.c2 import build_network
        build_network(scenario.with_changes(as_of=day), scenario.arrangement, engine.radars.sensor_id,
                      engine.radar_unit, engine.radars.nation, engine.radar_aircraft)
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

    sim_section, sim_files = (_simulation_section(scenario, engine, folder, summary, progress)
                              if engine is not None else (None, []))
    coverage_section, coverage_files = _coverage_section(scenario, day, coverage, folder)
    if coverage_section is not None:
        summary["coverage"] = "coverage/" if coverage_files else "not computed"
        summary["terrain"] = coverage_section.terrain
        summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")

    sections = [
        ReportSection("map", "Map", embedded_png(map_png, "map of units in service")
                      + "<p class='muted'>Units at their towns (town-level public locations); "
                      "subordinate units are drawn at their parent. Not shown: units no public "
                      f"source locates ({len(world.unplaced)}).</p>"),
        oob_section(oob),
        *([coverage_section] if coverage_section is not None else []),
        *([sim_section] if sim_section is not None else []),
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
        "terrain": (coverage_section.terrain if coverage_section is not None
                    else "none: smooth earth"),
        "units in service": f"{len(oob)} ({len(world.fire_units)} fire units, "
                            f"{len(world.sensors)} ground radars)",
    }
    report = render_report(scenario, day, sections, meta, folder / "report.html")
    files = (report, map_png, years_png, csv_path, geojson_path, summary_path, *coverage_files,
             *sim_files)
    return RunReport(folder, report, files)


def _prepare_engine(scenario: Scenario, day: dt.date) -> Engine:
    from iadsim.geo.terrain import default_terrain

    return Engine(scenario, as_of=day, terrain=default_terrain())


def _simulation_section(scenario: Scenario, engine: Engine, folder: Path, summary: dict[str, Any],
                        progress: Callable[[str, int, int], None] | None,
                        ) -> tuple[ReportSection, list[Path]]:
    """Run the engine, write its tables, and describe detections in the report."""
    from iadsim.analysis import detections_per_minute, first_detections
    from iadsim.io.parquet import write_table

    def step(done: int, total: int) -> None:
        if progress:
            progress("simulation", done, total)

    result = engine.run(step)
    files = [write_table(result.truth, folder / "truth.parquet"),
             write_table(result.detections, folder / "detections.parquet"),
             write_table(result.bearings, folder / "bearings.parquet"),
             write_table(result.events, folder / "events.parquet"),
             write_table(result.objects, folder / "objects.parquet"),
             write_table(result.ew_effects, folder / "ew_effects.parquet")]
    firsts = first_detections(result.detections, result.objects)
    files.append(write_table(firsts, folder / "first_detections.parquet"))
    false_alarms = int(sum(result.detections["false_alarm"].to_pylist()))
    summary["simulation"] = {**result.stats, "false_alarms": false_alarms,
                             "duration_s": scenario.duration_s, "tick_s": scenario.tick_s,
                             "terrain": "ETOPO5 (bundled)", "replication": 0}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    parts = [f"<p>{result.stats['objects']} air objects over {scenario.duration_s:,.0f} s at a "
             f"{scenario.tick_s:g} s tick; {result.stats['radars']} scanning radars of the defending "
             f"nations; {result.stats['detections']:,} detections ({false_alarms:,} false alarms). "
             "Tables: <code>truth.parquet</code>, <code>detections.parquet</code>, "
             "<code>bearings.parquet</code>, <code>events.parquet</code>, "
             "<code>objects.parquet</code>, <code>first_detections.parquet</code>, "
             "<code>ew_effects.parquet</code>.</p>"]
    if result.ew_effects.num_rows:
        effects = result.ew_effects.to_pylist()
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
    edges, per_sensor = detections_per_minute(result.detections)
    if per_sensor:
        png = save_figure(detections_over_time_figure(edges, per_sensor), folder / "detections.png")
        files.append(png)
        parts.append(embedded_png(png, "detections per minute by radar"))
    if scenario.c2 is not None and scenario.arrangement in scenario.arrangements:
        track_files, track_html = _command_and_control(scenario, engine, result, folder, summary, progress)
    else:
        track_files, track_html = _node_tracks(scenario, engine, result, folder, summary)
    files += track_files
    parts.append(track_html)
    rows = []
    for r in firsts.to_pylist():
        detected = r["first_detection_s"] is not None
        rows.append([r["object_id"], r["type"], r["nation"], f"{r['appears_s']:,.0f}",
                     f"{r['first_detection_s']:,.0f}" if detected else "not detected",
                     f"{r['delay_s']:,.0f}" if detected else "",
                     r["sensor_id"] or "", f"{r['range_km']:.1f}" if detected else ""])
    if rows:
        parts.append("<h3>First detection of each air object</h3>")
        shown = rows[:200]
        parts.append(table(["object", "type", "nation", "appears (s)", "first detected (s)",
                            "delay (s)", "by radar", "range (km)"], shown, numeric=[3, 4, 5, 7]))
        if len(rows) > len(shown):
            parts.append(f"<p class='muted'>First 200 of {len(rows)} objects; all are in "
                         "<code>first_detections.parquet</code>.</p>")
    else:
        parts.append("<p>The scenario has no air traffic.</p>")
    return ReportSection("simulation", "Simulation: detections", "".join(parts)), files


_OUTCOME_ROWS = 100
"""Objects listed in the report's outcome tables (a saturation raid may have hundreds)."""

_TIMELINE_ROWS = 200
"""Decisions listed in the report's command-and-control timeline."""

_C2_TIMELINE_KINDS = ("declared_unknown", "designated_hostile", "scramble_order", "no_interceptor",
                      "airborne", "radar_acquisition", "visual_identification", "shadow_end",
                      "target_lost", "launch", "air_to_air_launch", "kill", "miss", "reload_started",
                      "reloaded",
                      "out_of_missiles", "node_down", "node_up", "link_cut", "link_restored", "link_jammed",
                      "link_unjammed", "autonomous",
                      "rejoined")


def _command_and_control(scenario: Scenario, engine: Engine, result: Any, folder: Path,
                         summary: dict[str, Any], progress: Callable[[str, int, int], None] | None,
                         ) -> tuple[list[Path], str]:
    """The C2 pass of the scenario's arrangement: each node's picture (tracks_<node>.parquet),
    scored against truth; identification, scrambles and intercepts; outcome per violating object."""
    import pyarrow as pa

    from iadsim.analysis.detections import decoded
    from iadsim.c2 import SensorTable, run_c2
    from iadsim.io.parquet import write_table

    def step(done: int, total: int) -> None:
        if progress:
            progress("command and control", done, total)

    c2 = run_c2(scenario.with_changes(as_of=engine.world.as_of), result.detections, result.truth,
                result.objects, SensorTable.from_engine(engine), world=engine.world, progress=step)
    files = [write_table(c2.picture, folder / "picture.parquet"),
             write_table(c2.events, folder / "c2_events.parquet"),
             write_table(c2.interceptors, folder / "interceptors.parquet"),
             write_table(c2.outcomes, folder / "outcomes.parquet"),
             write_table(c2.engagements, folder / "engagements.parquet")]
    truth = decoded(result.truth)
    rows, metrics = [], {}
    nodes = sorted(set(c2.picture["node"].to_pylist())) if c2.picture.num_rows else []
    for node in nodes:
        pic = c2.picture.filter(pa.compute.equal(c2.picture["node"], node))
        tracks = pic.append_column("confirmed", pa.array(np.ones(pic.num_rows, dtype=bool)))
        files.append(write_table(tracks, folder / f"tracks_{node}.parquet"))
        measures, cells = score_picture(tracks, truth, result.detections, scenario.duration_s)
        n_tracks = len(set(pic["track_id"].to_pylist()))
        name = scenario.command_nodes[node].name if node in scenario.command_nodes else node
        metrics[node] = {"tracks": n_tracks, **measures}
        rows.append([name, n_tracks, *cells])
    outcomes = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in o.items()}
                for o in c2.outcomes.to_pylist()]
    summary["tracking"] = metrics
    summary["c2"] = {"arrangement": c2.arrangement, **c2.stats, "outcomes": outcomes}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    rules = scenario.arrangements[scenario.arrangement]
    parts = [f"<h3>Command and control: the {esc(c2.arrangement)} arrangement</h3>"
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
        from iadsim.report.figures import outcome_timeline_figure

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
            numeric=list(range(4, 9))))
        parts.append("<h4>Outcome per violating object: response</h4>"
                     f"<p>Seconds from the start of the run.{cut}</p>")
        parts.append(table(
            ["object", "scramble", "airborne", "identified visually", "engaged", "destroyed", "missiles",
             "track breaks", "leaker"],
            [[o["object_id"], fmt(o["scramble_s"]), fmt(o["airborne_s"]), fmt(o["intercept_s"]),
              fmt(o["engaged_s"]), fmt(o["killed_s"]), o["missiles"], o["track_breaks"],
              "yes" if o["leaker"] else "no"] for o in shown],
            numeric=list(range(1, 8))))
    parts.append(_engagement_html(c2, outcomes))
    if scenario.saturation_scales and "missiles_expended" in c2.stats:
        sat_files, sat_html = _saturation(scenario.with_changes(as_of=engine.world.as_of), engine, folder,
                                          summary, progress)
        files += sat_files
        parts.append(sat_html)
    timeline = [e for e in c2.events.to_pylist() if e["kind"] in _C2_TIMELINE_KINDS]
    if timeline:
        parts.append("<h4>Command-and-control timeline</h4>")
        if len(timeline) > _TIMELINE_ROWS:
            parts.append(f"<p>The first {_TIMELINE_ROWS} of {len(timeline)} decisions; all events are "
                         "in <code>c2_events.parquet</code>.</p>")
        parts.append(table(["time (s)", "event", "node", "subject", "track", "object", "detail"],
                           [[f"{e['time_s']:,.0f}", e["kind"], e["node"], e["subject"],
                             "" if e["track_id"] < 0 else e["track_id"], e["object_id"], e["detail"]]
                            for e in timeline[:_TIMELINE_ROWS]], numeric=[0]))
    return files, "".join(parts)


def _saturation(scenario: Scenario, engine: Engine, folder: Path, summary: dict[str, Any],
                progress: Callable[[str, int, int], None] | None) -> tuple[list[Path], str]:
    """The saturation curve of the scenario's ``saturation_scales``: one sensing and C2 pass per raid
    size, leakers and missiles against raid size."""
    from iadsim.analysis.saturation import saturation_curve
    from iadsim.io.parquet import write_table
    from iadsim.report.figures import saturation_figure

    def step(done: int, total: int) -> None:
        if progress:
            progress("saturation curve", done, total)

    curve = saturation_curve(scenario, scenario.saturation_scales, terrain=engine.terrain, progress=step)
    files = [write_table(curve, folder / "saturation.parquet")]
    rows = curve.to_pylist()
    summary["saturation"] = rows
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    col = {name: np.asarray(curve[name].to_pylist()) for name in curve.column_names}
    png = save_figure(saturation_figure(col["raid_objects"], col["entered"], col["leakers"], col["missiles"],
                                        f"Saturation: {scenario.name}"), folder / "saturation.png")
    files.append(png)
    html = ("<h4>Saturation curve</h4><p>The scenario's raids flown again at "
            + ", ".join(f"{s:g}×" for s in scenario.saturation_scales)
            + " their size (one sensing and C2 pass each, replication 0): leakers, objects destroyed "
            "and missiles expended against raid size (<code>saturation.parquet</code>).</p>"
            + embedded_png(png, "leakers against raid size")
            + table(["scale", "raid objects", "entered", "leakers", "destroyed", "missiles",
                     "fire units dry"],
                    [[f"{r['scale']:g}×", r["raid_objects"], r["entered"], r["leakers"], r["destroyed"],
                      r["missiles"], r["fire_units_dry"]] for r in rows], numeric=[1, 2, 3, 4, 5, 6]))
    return files, html


def _engagement_html(c2: Any, outcomes: list[dict[str, Any]]) -> str:
    """Leakers, missiles expended and kills by fire unit, when the run had engagements."""
    if "missiles_expended" not in c2.stats:
        return ""
    eng = c2.engagements.to_pylist()
    leakers = sum(1 for o in outcomes if o["leaker"])
    by_unit: dict[str, list[int]] = {}
    for e in eng:
        row = by_unit.setdefault(e["fire_unit"], [0, 0, 0])
        row[0] += 1
        row[1] += e["missiles"]
        row[2] += bool(e["killed"])
    parts = ["<h4>Engagements</h4>",
             f"<p>{len(outcomes)} hostile objects entered the defended airspace; <b>{leakers} leaked</b> "
             f"(not destroyed). {len(eng)} engagements, {c2.stats['missiles_expended']} missiles "
             f"expended, {sum(c2.stats['kills_by_unit'].values())} kills. Fire units out of missiles: "
             f"{', '.join(c2.stats['fire_units_dry']) or 'none'}. The log is "
             "<code>engagements.parquet</code> (docs/models/engagement.md).</p>"]
    if by_unit:
        parts.append(table(["fire unit", "engagements", "missiles", "kills"],
                           [[u, *v] for u, v in sorted(by_unit.items())], numeric=[1, 2, 3]))
    return "".join(parts)


def _node_tracks(scenario: Scenario, engine: Engine, result: Any, folder: Path,
                 summary: dict[str, Any]) -> tuple[list[Path], str]:
    """Each command node tracks its sensors' detections: TRACKS per node, metrics vs truth."""
    from iadsim.analysis.detections import decoded
    from iadsim.c2 import sensor_reporting_nodes
    from iadsim.io.parquet import write_table
    from iadsim.tracking.nodes import track_by_node

    nodes = sensor_reporting_nodes(scenario, engine.radar_unit, engine.radars.nation,
                                   engine.radar_aircraft)
    mapping = dict(zip(engine.radars.sensor_id.tolist(), nodes.tolist(), strict=True))
    tracks = track_by_node(result.detections, mapping)
    truth = decoded(result.truth)
    files, rows, metrics = [], [], {}
    for node, node_tracks in tracks.items():
        files.append(write_table(node_tracks, folder / f"tracks_{node.replace(':', '_')}.parquet"))
        confirmed = (node_tracks.filter(node_tracks["confirmed"]) if node_tracks.num_rows
                     else node_tracks)
        n_confirmed = len(set(confirmed["track_id"].to_pylist())) if confirmed.num_rows else 0
        measures, cells = score_picture(node_tracks, truth, result.detections, scenario.duration_s)
        name = scenario.command_nodes[node].name if node in scenario.command_nodes else node
        metrics[node] = {"confirmed_tracks": n_confirmed, **measures}
        rows.append([name, sum(1 for v in mapping.values() if v == node), n_confirmed, *cells])
    summary["tracking"] = metrics
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    if not rows:
        return files, ""
    html = ("<h3>Recognised air picture per command node</h3><p>Each node tracks the detections "
            "of the radars that report to it along the peacetime chain of command "
            "(<code>tracks_&lt;node&gt;.parquet</code>). The picture is scored every "
            f"{PICTURE_INTERVAL_S:g} s, each track held (and extrapolated) up to "
            f"{PICTURE_HOLD_S:g} s after its last update. OSPA (c = 1 km, p = 1) and completeness "
            "are against all air objects in the air, seen or not; spuriousness is the share of "
            "confirmed tracks with no object within 1 km.</p>"
            + table(["node", "radars", "confirmed tracks", *PICTURE_COLUMNS], rows,
                    numeric=list(range(1, 9))))
    return files, html


PICTURE_INTERVAL_S = 10.0
PICTURE_HOLD_S = 30.0

PICTURE_COLUMNS = ["mean OSPA (m)", "completeness", "spuriousness", "track ids per object",
                   "track breaks per object", "median s to confirmed track"]
"""The picture measures of a node, as ``score_picture`` formats them for a report table."""


def score_picture(tracks: Any, truth: Any, detections: Any, duration_s: float
                  ) -> tuple[dict[str, float | None], list[str]]:
    """A node's picture against truth: OSPA, SIAP-style measures, continuity and the median delay
    from an object's first detection (any radar) to a confirmed track of the node on it.

    The picture is scored every ``PICTURE_INTERVAL_S``, each track held (extrapolated) up to
    ``PICTURE_HOLD_S`` after its last update; association within 1 km. Returns the measures (for
    ``summary.json``) and their cells (``PICTURE_COLUMNS``).
    """
    from iadsim.tracking import confirmation_summary, ospa, siap, time_to_confirmed_track

    times = np.arange(0.0, duration_s, PICTURE_INTERVAL_S)
    o = ospa(tracks, truth, cutoff_m=1000.0, order=1.0, times_s=times, hold_s=PICTURE_HOLD_S)
    s = siap(tracks, truth, association_distance_m=1000.0, times_s=times, hold_s=PICTURE_HOLD_S)
    delay = confirmation_summary(time_to_confirmed_track(tracks, truth, detections, 1000.0,
                                                         times_s=times, hold_s=PICTURE_HOLD_S))
    measures = {"mean_ospa_m": o.mean_m, "completeness": s.completeness,
                "spuriousness": s.spuriousness, "ids_per_object": s.ids_per_object,
                "track_breaks_per_object": s.track_breaks_per_object,
                "median_time_to_confirmed_track_s": delay.median_delay_s,
                "share_detected_confirmed": delay.share_confirmed}

    def num(value: float, fmt: str) -> str:
        return format(value, fmt) if np.isfinite(value) else "–"

    cells = [num(o.mean_m, ",.0f"), num(100 * s.completeness, ".0f") + " %",
             num(100 * s.spuriousness, ".0f") + " %", num(s.ids_per_object, ".2f"),
             num(s.track_breaks_per_object, ".2f"), num(delay.median_delay_s, ",.0f")]
    return {k: (None if not np.isfinite(v) else float(v)) for k, v in measures.items()}, cells


class _CoverageSection(ReportSection):
    def __init__(self, body: str, terrain: str) -> None:
        super().__init__("coverage", "Coverage", body)
        self.terrain = terrain


def _coverage_section(scenario: Scenario, day: dt.date, request: CoverageRequest | None,
                      folder: Path) -> tuple[_CoverageSection | None, list[Path]]:
    if request is None:
        return None, []
    missing = [r for r in request.rcs_classes if r not in scenario.catalog.rcs_classes]
    if missing:
        body = (f"<p>Coverage not computed: the scenario's catalog has no RCS class "
                f"{', '.join(missing)}.</p>")
        return _CoverageSection(body, "none"), []
    request = replace(request, dates=(day,))
    study = run_coverage_study(scenario, request, folder / "coverage")
    cov = study.coverages[day]
    parts = [
        f"<p>Where the joint system detects (Pd ≥ {cov.pd_threshold:g}) and can engage a "
        f"{cov.rcs_names[0]} ({cov.rcs_m2[0]:g} m²), at {len(cov.layers_m)} altitudes above ground, "
        f"on a {cov.grid.resolution_m / 1000:g} km equal-area grid. Terrain: {esc(cov.terrain)}. "
        f"Refraction k = {cov.k:.3g}. {cov.n_sensors} ground radars and {cov.n_fire_units} fire units "
        "in service. Grids, contours (GeoJSON, KML) and tables are in <code>coverage/</code>; "
        "<code>iadsim coverage</code> computes more layers, classes and dates.</p>"]
    for note in cov.notes:
        parts.append(f"<p class='muted'>{esc(note)}.</p>")
    for layer in range(len(cov.layers_m)):
        png = study.maps.get((day, 0, layer))
        if png is not None:
            parts.append(embedded_png(png, f"coverage at {cov.layer_label(layer)}"))
    columns, rows = pivot_by_altitude(study.tables[day])
    parts.append("<h3>By region: % of area detected / engageable, mean and max overlap depth</h3>")
    parts.append(table(columns, rows, numeric=list(range(1, len(columns)))))
    return _CoverageSection("".join(parts), cov.terrain), study.files


def pivot_by_altitude(rows: list[dict[str, object]]) -> tuple[list[str], list[list[object]]]:
    """Region rows of one date and RCS class: one line per region and altitude."""
    header = ["region", "altitude (m)", "detected %", "engageable %", "mean depth", "max depth"]
    body = [[r["region"], f"{r['altitude_m']:,.0f}", r["detected_pct"], r["engageable_pct"],
             r["mean_depth"], r["max_depth"]] for r in rows]
    return header, body
