"""Findings first: the key findings counted from a run's tables, the report's box, folded long
tables, the years chart's milestone strip, and what an arrangement changed in a comparison."""

from __future__ import annotations

import math
import re

import pyarrow as pa
import pytest

from iadsim import load_scenario
from iadsim.analysis.findings import class_findings, region_findings
from iadsim.analysis.outcomes import OUTCOME_FIELDS, OUTCOME_SCHEMA
from iadsim.io.run_folder import read_run_folder
from iadsim.report import render_run_report
from iadsim.report.compare import comparison_findings
from iadsim.report.figures import equipment_over_time_figure
from iadsim.report.findings import _region_sentences, run_findings
from iadsim.report.html import COLLAPSE_ROWS, table
from iadsim.runs import run_scenario
from iadsim.runs.compare import compare_arrangements

from .conftest import MINIMAL
from .test_compare import SHORT_FILE

NAN = math.nan


def _outcome(oid: str, type_id: str, *, detected: bool, killed: bool, leaker: bool, missiles: int) -> dict:
    row = {name: NAN for name in OUTCOME_FIELDS}
    row.update(object_id=oid, type=type_id, nation="POL", start_s=0.0, airspace="BLR", deciding_node="n",
               entry_s=10.0, first_detection_s=20.0 if detected else NAN, killed_s=90.0 if killed else NAN,
               track_breaks=0, missiles=missiles, leaker=leaker)
    return row


def test_class_findings_count_each_class(reference):
    objects = pa.table({"object_id": ["cm1", "cm2", "cm3", "f1", "air1"],
                        "type": ["generic_cruise_missile"] * 3 + ["generic_fighter", "generic_airliner"]})
    # as analysis.detections.first_detections writes it: a row per object, null if never detected
    first = pa.table({"object_id": ["cm1", "cm2", "cm3", "f1", "air1"],
                      "first_detection_s": [20.0, 30.0, None, 40.0, 50.0]})
    outcomes = pa.Table.from_pylist([
        _outcome("cm1", "generic_cruise_missile", detected=True, killed=True, leaker=False, missiles=2),
        _outcome("cm2", "generic_cruise_missile", detected=True, killed=False, leaker=True, missiles=1),
        _outcome("cm3", "generic_cruise_missile", detected=False, killed=False, leaker=True, missiles=0),
        _outcome("f1", "generic_fighter", detected=True, killed=True, leaker=False, missiles=4),
    ], schema=OUTCOME_SCHEMA)
    found = {c.object_class: c for c in class_findings(reference, objects, first, outcomes)}
    roles = {t: str(reference.catalog.aircraft[t].role) for t in
             ("generic_cruise_missile", "generic_fighter", "generic_airliner")}
    cm = found[roles["generic_cruise_missile"]]
    assert (cm.flown, cm.detected_any, cm.entered, cm.detected, cm.destroyed, cm.leaked, cm.missiles) == \
        (3, 2, 3, 2, 1, 2, 3)
    fighter = found[roles["generic_fighter"]]
    assert (fighter.entered, fighter.destroyed, fighter.missiles) == (1, 1, 4)
    airliner = found[roles["generic_airliner"]]
    assert (airliner.flown, airliner.detected_any, airliner.entered) == (1, 1, 0)


def test_region_findings_are_the_opposing_nations_regions(reference):
    rows = [{"as_of": "2020-12-31", "region": name, "rcs_class": "fighter", "altitude_m": alt,
             "altitude_ref": "agl", "aspect": aspect, "detected_pct": 10.0, "engageable_pct": pct}
            for name in ("Lithuania", "Belarus", "Latvia") for alt in (100.0, 1000.0)
            for aspect, pct in (("approaching", 31.0), ("crossing", 27.0), ("receding", 25.0))]
    found = region_findings(reference, rows, "2020-12-31")
    assert {f.region for f in found} == {"Lithuania", "Latvia"}  # Belarus defends, it is not watched
    assert len(found) == 4  # one per region and altitude, with a share per aspect
    assert {(f.engageable_pct, f.aspects) for f in found} == {
        ((31.0, 27.0, 25.0), ("approaching", "crossing", "receding"))}
    assert region_findings(reference, rows, "2016-12-31") == []
    sentences = _region_sentences(found)
    assert sentences[0] == ("Lithuania: detected over 10 % at 100 m AGL, 10 % at 1,000 m AGL of its area; "
                            "engageable over 31/27/25 %, 31/27/25 % at the same altitudes "
                            "(approaching/crossing/receding target).")


def test_long_tables_fold_and_link_their_data():
    rows = [[i, f"row {i}"] for i in range(COLLAPSE_ROWS + 1)]
    folded = table(["n", "text"], rows, data="oob.csv")
    assert folded.startswith('<details class="long"><summary>Show the table (26 rows)</summary>')
    assert '<a href="oob.csv">' in folded
    short = table(["n", "text"], rows[:COLLAPSE_ROWS])
    assert "<details" not in short


@pytest.fixture(scope="module")
def minimal_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("findings")
    path = folder / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return render_run_report(run_scenario(load_scenario(path), folder / "out"))


def test_every_run_report_opens_with_key_findings(minimal_run):
    html = minimal_run.report.read_text(encoding="utf-8")
    findings = run_findings(read_run_folder(minimal_run.folder))
    assert html.index("Key findings") < html.index('<div class="meta">') < html.index('id="map"')
    for sentence in findings.sentences:
        assert sentence.replace("'", "&#x27;") in html
    # the light aircraft crosses from Lithuania: one class, counted from the run's tables
    objects = read_run_folder(minimal_run.folder).table("objects")
    assert sum(c.flown for c in findings.classes) == objects.num_rows
    # "detected" counts objects with a first detection, not the rows of first_detections (one per object)
    first = read_run_folder(minimal_run.folder).table("first_detections")
    assert sum(c.detected_any for c in findings.classes) == first.num_rows - first["first_detection_s"].null_count
    assert all(re.search(r"\d", s) for s in findings.sentences)
    # the order of battle and the assumptions link their complete data
    assert '<a href="oob.csv">' in html and '<a href="scenario.json">' in html


def test_years_chart_keys_its_milestones_below_the_plot(reference):
    fig = equipment_over_time_figure(reference)
    plot, strip, key = fig.axes
    period = reference.data_period
    shown = [m for m in reference.timeline.values() if period.start.year <= m.date.year <= reference.as_of.year]
    numbers = [t.get_text() for t in strip.texts]
    assert numbers == [str(i) for i in range(1, len(shown) + 1)]
    assert len(key.texts) == len(shown)
    assert len(plot.texts) == 0  # no label drawn over the data
    assert plot.get_xlim()[0] < period.start.year


def test_comparison_findings_say_what_each_arrangement_changed(tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_FILE, encoding="utf-8")
    comparison = compare_arrangements(load_scenario(path), ["national", "exchange", "joint"], 2, jobs=1)
    sentences = comparison_findings(comparison)
    assert len(sentences) == 3
    assert sentences[0].startswith("Baseline national: ")
    assert sentences[1].startswith("exchange against national: ")
    assert sentences[2].startswith("joint against national: ")
    by = {(m.arrangement, m.metric): m for m in comparison.summary}
    joint = by[("joint", "time_to_first_track_s")]
    if math.isfinite(joint.diff_mean) and joint.diff_mean != 0:
        assert f"time to first track {joint.diff_mean:+,.0f} s".replace("-", "−") in sentences[2]
