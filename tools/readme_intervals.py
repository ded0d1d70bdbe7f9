"""Regenerate the README's "How sure is this figure?" tables: the Baltic coverage figures and the mixed
raid's outcomes, each with its interval under all stated ranges and the two assumptions that move it
most (docs/sensitivity.md).

Each table is a sensitivity study (``iadsim.runs.sensitivity.run_study``: one at a time over every
range and variant, and draws of all ranges together), written between the README's markers
``<!-- intervals:NAME:start -->`` and ``<!-- intervals:NAME:end -->``. The studies keep their folders
under out/readme-intervals/ and resume there. After the data or the models change, run

    .venv/bin/python tools/readme_intervals.py            # rewrite both tables (about 10 min on 2 cores)
    .venv/bin/python tools/readme_intervals.py baltic     # one of them
    .venv/bin/python tools/readme_intervals.py --check    # exit 1 if the README differs

``tests/test_readme_intervals.py`` (slow) recomputes the tables and compares them with the README.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iadsim.runs.sensitivity import (
    ScenarioEvaluator,
    SensitivityResult,
    StudySettings,
    parse_metric,
    run_study,
)
from iadsim.runs.sweep import open_backend
from iadsim.scenario import load_scenario
from iadsim.scenario.factors import collect_factors, select_factors

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WORK = ROOT / "out" / "readme-intervals"


@dataclass(frozen=True)
class Table:
    """One README table: its study and how its rows read."""

    name: str
    scenario: str
    metrics: tuple[str, ...]
    factors: tuple[str, ...] | None
    settings: StudySettings
    resolution_km: float = 10.0
    caption: str = ""


REGIONS = ("Lithuania", "Latvia", "Estonia")
BALTIC = Table(
    "baltic", "reference-2020",
    tuple(f"{region}, {kind}, {alt:,} m, {year}" for region in REGIONS for year in (2009, 2020)
          for alt in (1000, 3000, 10000) for kind in ("detected", "engageable")),
    None, StudySettings(oat=True, trajectories=0, sobol_samples=0, interval_samples=32, seed=0),
    caption="every range and variant of the reference data; 32 draws of all ranges together; 10 km grid")
RAID = Table(
    "raid", "mixed-raid",
    tuple(f"{metric}, {kind}" for kind in ("generic_cruise_missile", "generic_fighter", "generic_small_uav")
          for metric in ("leakers", "missiles")),
    ("s400_missile", "sam_single_shot_pk", "sam_reaction_time", "detection_range_convention",
     "link_latency", "c2.node_cycle_s"),
    StudySettings(oat=True, trajectories=0, sobol_samples=0, interval_samples=8, seed=0),
    caption="six ranges and variants of detection, C2 timing and engagement (the S-400 missile, Pk, "
            "SAM reaction times, the detection-range convention, link delays, node cycles); 8 draws "
            "of them together; replication 0 (a replication of the raid takes about 10 s of CPU)")
TABLES = {t.name: t for t in (BALTIC, RAID)}


def run_table(table: Table, jobs: int | None = None, work: Path = WORK) -> SensitivityResult:
    """Run (or resume) the study behind ``table``."""
    scenario = load_scenario(table.scenario)
    metrics = tuple(parse_metric(m, scenario) for m in table.metrics)
    factors = select_factors(collect_factors(scenario), list(table.factors) if table.factors else None)
    evaluator = ScenarioEvaluator(scenario, metrics, resolution_km=table.resolution_km)
    with open_backend(jobs) as backend:
        return run_study(factors, evaluator, work / table.name, backend, table.settings)


def _num(value: float, unit: str, sign: bool = False) -> str:
    """Whole numbers rounded half up (74.5 % → 75 %, as the tables above), one decimal below 1."""
    plus = "+" if sign and value >= 0 else ""
    if value == 0 or abs(value) >= 1:
        return f"{plus}{math.copysign(math.floor(abs(value) + 0.5), value):.0f}{unit}"
    return f"{plus}{value:.1f}{unit}"


def _movers(result: SensitivityResult, metric: str, unit: str) -> str:
    parts = []
    for factor, _ in result.top_factors(metric, 2):
        effects = [r["effect"] for r in result.oat if r["metric"] == metric and r["factor"] == factor]
        lo, hi = min(0.0, *effects), max(0.0, *effects)
        parts.append(f"`{factor}` ({_num(lo, '', True)} … {_num(hi, unit.strip(), True)})")
    return "; ".join(parts) or "none of the ranges"


def render(table: Table, result: SensitivityResult) -> str:
    """The Markdown of ``table`` from its study (rows whose value and interval are all 0 are left out)."""
    unit = " %" if table.name == "baltic" else ""
    lines = ["| figure | value | interval under all ranges | moved most by (one at a time) |",
             "|---|---:|---:|---|"]
    left_out = 0
    for name in result.metrics:
        base = result.base[name]
        iv = result.intervals[name]
        _lo, hi = result.oat_range(name)
        if table.name == "baltic" and max(abs(base), abs(iv.high), abs(hi)) == 0:
            left_out += 1
            continue
        shown = name.replace(", generic_", ", ").replace("_", " ").replace("-12-31", "")
        lines.append(f"| {shown} | {_num(base, unit)} | {_num(iv.low, '')}–{_num(iv.high, unit)} "
                     f"(±{iv.low_error:.0f}, ±{iv.high_error:.0f}) | {_movers(result, name, unit)} |")
    drawn = min(result.intervals.values(), key=lambda iv: iv.samples)  # every figure has its draws
    note = (f"\n*{table.caption}. Interval: 5th–95th percentile of the draws, with the sampling error of "
            f"each end (95 % bootstrap); with {drawn.samples} draws the chance that the 95th percentile "
            f"lies above every draw (or the 5th below) is {drawn.beyond_draws:.0%}, which those errors "
            "cannot show.*" + (f" {left_out} figures that are 0 under every range are left "
                               "out." if left_out else ""))
    return "\n".join(lines) + "\n" + note + "\n"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- intervals:{name}:start -->", f"<!-- intervals:{name}:end -->"


def readme_block(name: str, text: str | None = None) -> str:
    """The README's current block of table ``name`` (between its markers)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start, end = _markers(name)
    match = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, flags=re.S)
    if match is None:
        raise SystemExit(f"README.md has no {start} … {end} block")
    return match.group(1)


def write_block(name: str, block: str) -> None:
    """Replace table ``name``'s block in the README."""
    text = README.read_text(encoding="utf-8")
    old = readme_block(name, text)
    start, end = _markers(name)
    README.write_text(text.replace(f"{start}\n{old}{end}", f"{start}\n{block}{end}"), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", help=f"tables to regenerate: {', '.join(TABLES)} (all)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (the CPU count)")
    args = parser.parse_args(argv)
    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        parser.error(f"unknown table {', '.join(unknown)} (tables: {', '.join(TABLES)})")
    status = 0
    for name in args.tables or list(TABLES):
        block = render(TABLES[name], run_table(TABLES[name], args.jobs))
        if args.check:
            if block != readme_block(name):
                print(f"README.md: the {name} table differs from a fresh computation:\n{block}")
                status = 1
        else:
            write_block(name, block)
            print(f"README.md: {name} table written")
    return status


if __name__ == "__main__":
    sys.exit(main())
