"""The README's simulation numbers are recomputed: the mixed raid's outcome by type and its
saturation curve, and the violation's comparison of the four arrangements over 10 replications.

A model change that moves them must update the README (and say by how much in the CHANGELOG); a
change that should not move them (a faster pass, a restructuring) must leave them as they are.
These are the slowest tests of the suite (about a minute each on two cores).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from iadsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

RAID_TYPES = (("cruise missiles", "generic_cruise_missile"), ("fighters", "generic_fighter"),
              ("small UAVs", "generic_small_uav"))


def _row(label: str) -> list[str]:
    """The cells of the README table row whose first cell is exactly ``label``."""
    line = next(ln for ln in README.splitlines() if ln.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _number(text: str) -> tuple[float, int]:
    """A printed number (spaces as thousands separators) and its decimals."""
    text = text.replace(" ", "").replace("−", "-")
    return float(text), len(text.split(".")[1]) if "." in text else 0


def _matches(printed: str, value: float) -> bool:
    """Whether ``value`` prints as ``printed`` at the printed precision."""
    number, decimals = _number(printed)
    return abs(number - value) <= 0.5 * 10.0**-decimals + 1e-9


def _mean_pm(cell: str, mean: float, half: float) -> None:
    """A cell ``m ± h`` (or ``m`` alone when the interval is nil, or ``—`` when undefined)."""
    if cell == "—":
        assert not math.isfinite(mean), (cell, mean)
        return
    parts = [p.strip() for p in cell.split("±")]
    assert _matches(parts[0], mean), (cell, mean)
    assert _matches(parts[1] if len(parts) > 1 else "0", half if math.isfinite(half) else 0.0), (cell, half)


@pytest.fixture(scope="module")
def raid():
    """The mixed raid as `iadsim run` runs it: replication 0 and the saturation curve."""
    from iadsim.pipeline import run_replication
    from iadsim.runs.saturation import saturation_curve

    scenario = load_scenario("mixed-raid")
    run = run_replication(scenario)
    curve = saturation_curve(scenario, scenario.saturation_scales, main=run, jobs=2)
    return run, curve


def test_readme_raid_outcomes_match_a_fresh_run(raid):
    run, _ = raid
    outcomes = run.outcomes.to_pylist()
    for label, type_id in RAID_TYPES:
        cells = _row(label)
        of = [o for o in outcomes if o["type"] == type_id]
        destroyed = sum(1 for o in of if math.isfinite(o["killed_s"]))
        assert cells[1:] == [str(len(of)), str(destroyed), str(sum(o["leaker"] for o in of)),
                             str(sum(o["missiles"] for o in of))], label
    missiles = run.stats["c2"]["missiles_expended"]
    units = {e["fire_unit"] for e in run.engagements.to_pylist() if e["status"] == "engaged"}
    match = re.search(r"(\d+) missiles from (\w+) fire units?\b", README)
    assert match is not None
    assert int(match.group(1)) == missiles
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    assert match.group(2) == dict(enumerate(words, start=1)).get(len(units))
    assert "none ran dry" in README and not run.stats["c2"]["fire_units_dry"]
    refused = [e for e in run.engagements.to_pylist() if e["status"] == "refused"]
    match = re.search(r"(\d+) times a\nunit's fire-control radar held a target", README)
    assert match is not None
    assert int(match.group(1)) == len(refused) == run.stats["c2"]["engagements_refused"]
    by_system = {"S-300PS": "s300ps", "S-300PMU-1": "s300pmu1", "S-400": "s400", "Tor-M2": "tor_m2"}
    stated = {by_system[name]: int(n) for n, name in
              re.findall(r"(\d+) times an?\s+(S-300PS|S-300PMU-1|S-400|Tor-M2) battalion", README)}
    assert stated == {s: sum(e["system"] == s for e in refused) for s in {e["system"] for e in refused}}


def test_readme_saturation_curve_matches_a_fresh_run(raid):
    _, curve = raid
    match = re.search(r"destroying (\d+), (\d+), (\d+) and (\d+) objects of (\d+), (\d+), (\d+) and (\d+),"
                      r"\s+for (\d+), (\d+), (\d+) and\s+(\d+)\s+missiles", README)
    assert match is not None, "the README states the saturation curve"
    numbers = [int(g) for g in match.groups()]
    rows = curve.to_pylist()
    assert numbers[0:4] == [r["destroyed"] for r in rows]
    assert numbers[4:8] == [r["raid_objects"] for r in rows]
    assert numbers[8:12] == [r["missiles"] for r in rows]


@pytest.fixture(scope="module")
def comparison():
    """The violation under the four arrangements, 10 replications, as the README ran it."""
    from iadsim.runs.compare import compare_arrangements

    scenario = load_scenario("air-policing-violation")
    return compare_arrangements(scenario, ["national", "exchange", "joint", "wartime"], 10, jobs=2)


def test_readme_violation_comparison_matches_a_fresh_computation(comparison):
    table = comparison.outcomes.to_pylist()
    for arr in ("national", "exchange", "joint", "wartime"):
        cells = _row(arr)
        for cell, metric in zip(cells[1:5], ("time_to_first_track_s", "time_to_identification_s",
                                             "time_to_intercept_s", "track_breaks"), strict=True):
            s = comparison.get(arr, metric)
            _mean_pm(cell, s.mean, s.half_width)
        mine = [o for o in table if o["arrangement"] == arr]
        if arr == "wartime":
            match = re.fullmatch(r"engaged at ([\d ]+) s, shot down (\d+) of (\d+), ([\d.]+) ± ([\d.]+) missiles",
                                 cells[5])
            assert match is not None, cells[5]
            engaged = [o["engaged_s"] - o["start_s"] for o in mine if math.isfinite(o["engaged_s"])]
            killed = [o for o in mine if math.isfinite(o["killed_s"])]
            assert _matches(match.group(1), float(np.mean(engaged)))
            assert (int(match.group(2)), int(match.group(3))) == (len(killed), len(mine))
            s = comparison.get(arr, "missiles")
            assert _matches(match.group(4), s.mean) and _matches(match.group(5), s.half_width)
        else:
            match = re.fullmatch(r"intercepted and shadowed, (\d+) of (\d+)", cells[5])
            assert match is not None, cells[5]
            caught = sum(1 for o in mine if math.isfinite(o["intercept_s"]))
            assert (int(match.group(1)), int(match.group(2))) == (caught, len(mine))


def test_readme_paired_differences_match_a_fresh_computation(comparison):
    match = re.search(r"exchange removes ([\d.]+) track breaks \(CI −([\d.]+) to −([\d.]+)\)", README)
    assert match is not None
    s = comparison.get("exchange", "track_breaks")
    assert _matches(match.group(1), -s.diff_mean)
    assert _matches(match.group(2), -s.diff_ci_low) and _matches(match.group(3), -s.diff_ci_high)
    match = re.search(r"brings the intercept (\d+) s earlier \(CI (\d+)–(\d+)\)", README)
    assert match is not None
    s = comparison.get("exchange", "time_to_intercept_s")
    assert _matches(match.group(1), -s.diff_mean)
    assert _matches(match.group(2), -s.diff_ci_high) and _matches(match.group(3), -s.diff_ci_low)
    match = re.search(r"the joint command adds (\d+) s to the\s+first track and the identification and "
                      r"(−?\d+) s \(CI (−?\d+)(?:–| to )(−?\d+)\) to the intercept, the wartime chain (\d+) s",
                      README)
    assert match is not None
    track = comparison.get("joint", "time_to_first_track_s")
    ident = comparison.get("joint", "time_to_identification_s")
    intercept = comparison.get("joint", "time_to_intercept_s")
    wartime = comparison.get("wartime", "time_to_first_track_s")
    assert _matches(match.group(1), track.diff_mean) and _matches(match.group(1), ident.diff_mean)
    assert _matches(match.group(2), intercept.diff_mean)
    assert _matches(match.group(3), intercept.diff_ci_low) and _matches(match.group(4), intercept.diff_ci_high)
    assert _matches(match.group(5), wartime.diff_mean)
