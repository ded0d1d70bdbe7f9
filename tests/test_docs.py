"""The examples in README and docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from iadsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_readme_yaml_example_loads(write):
    [example] = [b for b in _blocks(ROOT / "README.md", "yaml") if "include: [reference]" in b]
    sc = load_scenario(write(example))
    assert "blr_825_aamr" not in sc.units
    assert not any(u.parent == "blr_825_aamr" for u in sc.units.values())
    assert sc.units["blr_15_aamr_bn1"].alert_duty is False
    # what `iadsim validate` and `iadsim run` check too (the variant check refused this example once)
    from iadsim.pipeline.checks import check_scenario

    assert check_scenario(sc) == []


def test_readme_python_example_runs():
    [example] = [b for b in _blocks(ROOT / "README.md", "python") if "load_scenario" in b]
    exec(compile(example.replace("print(", "(lambda *a: None)("), "README", "exec"), {})


def test_scenario_language_include_example_validates(write):
    [example] = [b for b in _blocks(ROOT / "docs" / "scenario-language.md", "yaml")
                 if b.startswith("include: [reference]")]
    sc = load_scenario(write(example))
    assert "blr_825_aamr" not in sc.units


def test_readme_baltic_table_matches_a_fresh_computation():
    """The README's numbers on the seed's claim are recomputed (1 km and 10 km rows, each aspect)."""
    import datetime as dt

    from iadsim.coverage.study import CoverageRequest, run_coverage_study

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| altitude | Lithuania"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    rows = {}
    for line in text.splitlines():
        if line.startswith(("| 1,000 m", "| 10,000 m")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[float(cells[0].removesuffix(" m").replace(",", ""))] = cells[1:]
    scenario = load_scenario("reference-2020")
    request = CoverageRequest(dates=(dt.date(2009, 12, 31), dt.date(2020, 12, 31)),
                              layers_m=(1000.0, 10000.0), resolution_km=10.0)
    study = run_coverage_study(scenario, request, None)
    got = {(r["region"], r["as_of"][:4], r["altitude_m"], r["aspect"]): r for r in study.comparison}
    for altitude, cells in rows.items():
        for column, cell in zip(columns, cells, strict=True):
            region, year = column.rsplit(" ", 1)
            detected, engageable = cell.removesuffix(" %").split(" / ")
            for aspect, value in zip(("approaching", "crossing", "receding"),
                                     engageable.split(" · "), strict=True):
                r = got[(region, year, altitude, aspect)]
                assert abs(r["detected_pct"] - float(detected)) <= 0.51, (column, altitude)
                assert abs(r["engageable_pct"] - float(value)) <= 0.51, (column, altitude, aspect)


def test_readme_wmd_table_matches_a_fresh_computation():
    """The README's answer with and without the optional data set reference-wmd is recomputed."""
    import datetime as dt

    from iadsim.coverage.study import CoverageRequest, run_coverage_study

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| end of 2020, detected / engageable"))
    request = CoverageRequest(dates=(dt.date(2020, 12, 31),), layers_m=(3000.0, 10000.0),
                              resolution_km=10.0)
    got = {}
    for name, scenario in (("", "reference-2020"), (" with WMD", "reference-2020-wmd")):
        study = run_coverage_study(load_scenario(scenario), request, None)
        got.update({(r["region"], f"{r['altitude_m']:,.0f} m{name}", r["aspect"]): r
                    for r in study.comparison})
    columns = [c.strip() for c in lines[start].strip("|").split("|")][1:]
    for line in lines[start + 2:start + 5]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for column, cell in zip(columns, cells[1:], strict=True):
            detected, engageable = cell.removesuffix(" %").split(" / ")
            for aspect, value in zip(("approaching", "crossing", "receding"),
                                     engageable.split(" · "), strict=True):
                r = got[(cells[0], column, aspect)]
                assert abs(r["detected_pct"] - float(detected)) <= 0.51, (cells[0], column)
                assert abs(r["engageable_pct"] - float(value)) <= 0.51, (cells[0], column, aspect)


def test_readme_counts_of_assumptions_and_sources():
    from iadsim.scenario.provenance import cited_source_ids, collect_assumptions

    text = (ROOT / "README.md").read_text(encoding="utf-8").replace("\n  ", " ")
    match = re.search(r"(\d+) stated assumptions, (\d+) cited sources", text)
    assert match, "the README states the counts"
    scenario = load_scenario("reference-2020")
    assert int(match.group(1)) == len(collect_assumptions(scenario))
    assert int(match.group(2)) == len(cited_source_ids(scenario))


def test_readme_simulation_table_matches_a_fresh_run():
    """The README's first-detection table of the mixed raid is recomputed."""
    from iadsim.analysis import first_detections
    from iadsim.geo.terrain import default_terrain
    from iadsim.sim import run_simulation

    result = run_simulation(load_scenario("mixed-raid"), terrain=default_terrain())
    rows = first_detections(result.detections, result.objects).to_pylist()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for label, type_id in (("cruise missiles", "generic_cruise_missile"),
                           ("fighters", "generic_fighter"), ("small UAVs", "generic_small_uav")):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {label}"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        of = [r for r in rows if r["type"] == type_id]
        seen = [r for r in of if r["first_detection_s"] is not None]
        assert cells[1] == f"{len(seen)} of {len(of)}"
        assert cells[2] == f"{np.median([r['range_km'] for r in seen]):.0f} km"
        assert cells[3] == f"{np.median([r['delay_s'] for r in seen]):.0f} s"
