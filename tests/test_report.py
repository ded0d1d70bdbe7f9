"""The run report: self-contained, with the sections and files users expect."""

from __future__ import annotations

import json
import re

from iadsim import __version__, load_scenario
from iadsim.report import render_run_report
from iadsim.runs import run_scenario
from iadsim.world import scenario_hash


def write_run_report(scenario, out, **kwargs):
    """``iadsim run``: the run folder, then its report."""
    return render_run_report(run_scenario(scenario, out, **kwargs))


def test_reference_report(reference, tmp_path):
    result = write_run_report(reference, tmp_path)
    html = result.report.read_text(encoding="utf-8")
    for heading in ("Map", "Order of battle", "Coverage", "Launchers over the years", "Timeline",
                    "Assumptions", "Sources"):
        assert f">{heading}</h2>" in html
    # self-contained: no external scripts, stylesheets or images
    assert not re.search(r'(src|href)="https?://', html)
    # the unit map, three coverage layers × three aspects, detections over time, launchers by year
    assert html.count('src="data:image/png;base64,') == 12
    assert "Simulation: detections" in html and "First detection of each air object" in html
    assert "ETOPO5" in html and "Lithuania" in html
    assert "120th Anti-Aircraft Missile Brigade" in html and "Fanipal" in html
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["scenario_hash"] == scenario_hash(reference)
    assert summary["iadsim_version"] == __version__
    assert summary["launchers_by_type"]["Tor-M2K (wheeled, Belarus)"] == 20  # Belarus (seed)
    assert summary["launchers_by_type"]["Tor-M2"] == 4  # Kaliningrad from October 2019 [OOB03]
    assert summary["terrain"].startswith("ETOPO5")
    assert (result.folder / "coverage" / "regions_by_date.csv").exists()
    for name in ("truth", "detections", "events", "bearings", "first_detections"):
        assert (result.folder / f"{name}.parquet").exists(), name
    assert summary["simulation"]["objects"] > 0 and summary["simulation"]["detections"] > 0


def test_report_is_deterministic(tmp_path):
    sc = load_scenario("reference-2012")
    a = write_run_report(sc, tmp_path / "a")
    b = write_run_report(sc, tmp_path / "b")
    files_a = sorted(p.relative_to(a.folder) for p in a.folder.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.folder) for p in b.folder.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.suffix in (".html", ".csv", ".geojson", ".json", ".parquet"):
            assert (a.folder / rel).read_bytes() == (b.folder / rel).read_bytes(), rel


def test_every_bundled_scenario_runs(tmp_path):
    from iadsim import bundled_scenarios

    for s in bundled_scenarios():
        # ten minutes of each: every stage runs, end to end, at a tenth of the cost
        scenario = load_scenario(s.id)
        scenario = scenario.with_changes(duration_s=min(scenario.duration_s, 600.0))
        result = write_run_report(scenario, tmp_path)
        assert result.report.exists(), s.id
        html = result.report.read_text(encoding="utf-8")
        assert "Command and control: the " in html, s.id
