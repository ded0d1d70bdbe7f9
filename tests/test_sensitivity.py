"""Sensitivity studies: the designs and indices through iadsim's own path (checked against the
Ishigami function's known Sobol indices), zero and monotone effects on a coverage metric, resume
after SIGKILL, and the command's messages."""

from __future__ import annotations

import datetime as dt
import gc
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from iadsim.runs import sensitivity
from iadsim.runs.sensitivity import (
    TASK_SECONDS,
    ScenarioEvaluator,
    SensitivityError,
    SensitivityResult,
    StudySettings,
    parse_metric,
    run_study,
    task_size,
)
from iadsim.runs.sweep import InlineBackend
from iadsim.scenario import load_scenario
from iadsim.scenario.factors import (
    Factor,
    FactorError,
    RangeMember,
    collect_factors,
    quantile_value,
    select_factors,
)
from iadsim.scenario.schema import RangeDistribution

ROOT = Path(__file__).resolve().parents[1]
IADSIM = [sys.executable, "-m", "iadsim"]


# -- the Ishigami function through iadsim's study path ---------------------------------------------


def _ishigami_task(shared: None, points: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """Ishigami–Homma, A = 7, B = 0.1, each x in [−π, π] from its quantile (run by the backend)."""
    out = []
    for p in points:
        x1, x2, x3 = (-math.pi + 2 * math.pi * p[f"x{i}"] for i in (1, 2, 3))
        out.append({"ishigami": math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1)})
    return out


@dataclass(frozen=True)
class IshigamiEvaluator:
    metric_names: tuple[str, ...] = ("ishigami",)
    replications: int = 1
    batch: int = 4096

    @property
    def function(self) -> Callable[[Any, Any], list[dict[str, float]]]:
        return _ishigami_task

    def identity(self) -> dict[str, Any]:
        return {"function": "ishigami", "metrics": list(self.metric_names)}

    def check(self, factors: Sequence[Factor]) -> list[str]:
        return []

    def relevant(self, factors: Sequence[Factor]) -> list[bool]:
        return [True] * len(factors)

    def shared(self, factors: Sequence[Factor]) -> None:
        return None

    def task(self, factors: Sequence[Factor], points: Sequence[dict[str, float | None]], replication: int
             ) -> list[dict[str, float]]:
        return [{f.name: float(p[f.name] if p.get(f.name) is not None else 0.5) for f in factors}
                for p in points]


def _ishigami_factors() -> list[Factor]:
    return [Factor(f"x{i}", "range", "Ishigami input",
                   (RangeMember(f"x{i}", 0.0, -math.pi, math.pi, RangeDistribution.uniform),))
            for i in (1, 2, 3)]


def test_ishigami_sobol_indices_within_salib_tolerance(tmp_path):
    """SALib's own regression test: S1 = (0.31, 0.44, 0.00), ST = (0.55, 0.44, 0.24) with atol 0.05,
    rtol 0.1 (SALib tests/test_regression.py); here through run_study, its store and the backend."""
    settings = StudySettings(oat=True, trajectories=10, sobol_samples=8192, sobol_factors=3,
                             sobol_threshold=0.0, interval_samples=256, seed=1)
    result = run_study(_ishigami_factors(), IshigamiEvaluator(), tmp_path / "ishigami", InlineBackend(),
                       settings)
    by = {r["factor"]: r for r in result.sobol}
    assert_allclose([by[f"x{i}"]["s1"] for i in (1, 2, 3)], [0.31, 0.44, 0.00], atol=5e-2, rtol=1e-1)
    assert_allclose([by[f"x{i}"]["st"] for i in (1, 2, 3)], [0.55, 0.44, 0.24], atol=5e-2, rtol=1e-1)
    # the interval under all ranges: the function spans about −10.7 … 17.9; 90 % lies well inside
    interval = result.intervals["ishigami"]
    assert -10.8 < interval.low < interval.high < 18.0 and interval.samples == 256
    assert pq.read_table(tmp_path / "ishigami" / "sobol.parquet").num_rows == 3
    assert not any("Sobol" in n for n in result.notes)


def test_sobol_indices_from_few_samples_are_flagged_not_resolved(tmp_path):
    """With 8 base samples the Ishigami indices' confidence half-widths pass 0.25: the study says
    they are not resolved; with 8192 (above) it does not."""
    settings = StudySettings(oat=False, trajectories=4, sobol_samples=8, sobol_factors=3,
                             sobol_threshold=0.0, interval_samples=0, seed=1)
    result = run_study(_ishigami_factors(), IshigamiEvaluator(), tmp_path / "few", InlineBackend(), settings)
    [note] = [n for n in result.notes if "Sobol" in n]
    assert "the Sobol indices of 'ishigami' are not resolved by 8 base samples" in note
    widest = max(max(r["s1_ci"], r["st_ci"]) for r in result.sobol)
    assert widest > sensitivity.SOBOL_CI_NOTED and f"up to {widest:.2f}" in note


# -- tasks of several points -----------------------------------------------------------------------


def test_task_size_by_the_workers_timings_capped_by_factoring():
    assert task_size(71, 2, 1, None) == 1  # nothing timed yet: the evaluator's batch
    assert task_size(71, 2, 1, 0.045) == 5  # a quarter of a second of 45 ms evaluations
    assert task_size(71, 2, 1, 1e-6) == 18  # fast ones: at most ⌈71 / (2 × 2)⌉
    assert task_size(3, 2, 1, 1e-6) == 1  # the last tasks shrink to one point
    assert task_size(71, 2, 1, 2.0) == 1  # slow evaluations (a run metric) stay one per task
    assert task_size(10, 2, 4096, 1e-6) == 4096  # never fewer than the evaluator's batch


@given(st.integers(1, 5000), st.integers(1, 64), st.integers(1, 100),
       st.one_of(st.none(), st.floats(0.0, 10.0)))
def test_task_size_bounds(remaining, workers, least, seconds_per_point):
    n = task_size(remaining, workers, least, seconds_per_point)
    assert least <= n <= max(least, math.ceil(remaining / (2 * workers)))
    if seconds_per_point is not None and n > least:
        assert n * seconds_per_point <= TASK_SECONDS + 1e-12


class _TwoWorkers(InlineBackend):
    """Runs in this process, sized as for two workers; counts the values sent to its workers."""

    workers = 2

    def __init__(self) -> None:
        self.shares = 0

    def share(self, value: Any) -> Any:
        self.shares += 1
        return super().share(value)


def test_grouped_points_give_the_same_study_in_fewer_tasks(tmp_path, monkeypatch):
    """Fast evaluations go in tasks of many points; the study's tables are those of one point per
    task (TASK_SECONDS = 0), value for value."""
    settings = StudySettings(oat=True, trajectories=6, sobol_samples=64, sobol_factors=3,
                             sobol_threshold=0.0, interval_samples=64, seed=3)
    one_each = replace(IshigamiEvaluator(), batch=1)
    backend = _TwoWorkers()
    grouped = run_study(_ishigami_factors(), one_each, tmp_path / "grouped", backend, settings)
    assert grouped.sobol and backend.shares == 1  # the first wave and Sobol's: one value, sent once
    monkeypatch.setattr(sensitivity, "TASK_SECONDS", 0.0)
    single = run_study(_ishigami_factors(), one_each, tmp_path / "single", _TwoWorkers(), settings)
    assert single.tasks == single.ran == grouped.ran > 400
    assert grouped.tasks < grouped.ran / 10
    assert grouped.cases == single.cases
    assert grouped.morris == single.morris and grouped.sobol == single.sobol
    assert grouped.intervals == single.intervals


def test_evaluations_and_probes_pause_the_cyclic_collector_and_resume_it(reference, monkeypatch):
    """A task's evaluations and the inert-factor probes run with the collector paused (it rescanned
    the heap every few points: 15 % of an evaluation) and leave it as they found it."""
    factors = select_factors(collect_factors(reference), ["detection_range_convention", "link_latency"])
    evaluator = ScenarioEvaluator(reference, (parse_metric("Latvia, detected, 10,000 m", reference),))
    seen: list[bool] = []
    monkeypatch.setattr(sensitivity, "evaluate_metrics",
                        lambda *a, **k: (seen.append(gc.isenabled()), {"x": 1.0})[1])
    keys = sensitivity._coverage_inputs_key
    monkeypatch.setattr(sensitivity, "_coverage_inputs_key",
                        lambda *a: (seen.append(gc.isenabled()), keys(*a))[1])
    assert gc.isenabled()
    shared = evaluator.shared(factors)
    task = evaluator.task(factors, [{}, {"detection_range_convention": 1.0}], 0)
    assert sensitivity._evaluate_scenario_task(shared, task) == [{"x": 1.0}, {"x": 1.0}]
    assert evaluator.relevant(factors) == [True, False]
    assert len(seen) >= 5 and not any(seen[:2]) and gc.isenabled()
    assert seen[2]  # the base's key, computed outside the probes; the probes' own: paused
    assert not any(seen[3:])
    gc.disable()
    try:
        sensitivity._evaluate_scenario_task(shared, task)
        assert not gc.isenabled()  # paused by the caller: the caller's to resume
    finally:
        gc.enable()


# -- quantiles --------------------------------------------------------------------------------------


@given(st.floats(0.1, 100), st.floats(0.01, 10), st.floats(0, 1), st.floats(0, 1),
       st.sampled_from(list(RangeDistribution)))
def test_quantile_is_monotone_and_inside_the_range(low, width, m, u, dist):
    high = low + width
    mode = low + m * width
    a = quantile_value(dist, low, high, mode, u)
    b = quantile_value(dist, low, high, mode, min(1.0, u + 0.1))
    assert low - 1e-9 <= a <= b + 1e-9 <= high + 2e-9
    assert quantile_value(dist, low, high, mode, 0.0) == pytest.approx(low)
    assert quantile_value(dist, low, high, mode, 1.0) == pytest.approx(high)


def test_triangular_median_and_variant_options():
    # the median of a triangular distribution on [0, 2] with its mode at 1 is 1
    assert quantile_value(RangeDistribution.triangular, 0, 2, 1, 0.5) == pytest.approx(1.0)
    f = Factor("v", "variant", "why", (), ("a", "b", "c"), "b")
    assert [f.option(u) for u in (0.0, 0.33, 0.34, 0.99, 1.0)] == ["a", "a", "b", "c", "c"]
    assert all(f.option(f.quantile_of_option(o)) == o for o in f.options)


def test_select_factors_by_pattern_and_unknown_name(reference):
    every = collect_factors(reference)
    assert [f.name for f in select_factors(every, ["c2.node_*"])] == ["c2.node_cycle_s"]
    with pytest.raises(FactorError, match="no range or variant of the scenario is named 'link_latncy'; "
                                          "did you mean 'link_latency'"):
        select_factors(every, ["link_latncy"])


# -- a coverage metric: zero and monotone effects ------------------------------------------------------


def test_coverage_metric_independent_factor_zero_and_monotone_factor_right_way(reference, tmp_path):
    every = collect_factors(reference)
    factors = select_factors(every, ["detection_range_convention", "link_latency", "s400_missile"])
    metrics = (parse_metric("Latvia, detected, 10,000 m", reference),
               parse_metric("Lithuania, engageable, 10,000 m", reference))
    evaluator = ScenarioEvaluator(reference, metrics, resolution_km=25.0)
    settings = StudySettings(trajectories=4, sobol_samples=0, interval_samples=8)
    backend = _TwoWorkers()
    result = run_study(factors, evaluator, tmp_path / "s", backend, settings)
    assert result.relevant == [True, False, True]
    assert backend.shares == 1  # the first wave and the Sobol design: one scenario, sent once
    oat = {(r["metric"], r["factor"], r["end"]): r["effect"] for r in result.oat}
    detected = metrics[0].name
    # detection ranges: shorter ranges see less of Latvia, longer more
    assert oat[(detected, "detection_range_convention", "low")] < 0
    assert oat[(detected, "detection_range_convention", "high")] > 0
    # a link's delay cannot change what the radars cover: exactly zero, in every design
    for metric in (m.name for m in metrics):
        assert oat[(metric, "link_latency", "low")] == 0 and oat[(metric, "link_latency", "high")] == 0
        [morris] = [r for r in result.morris if r["metric"] == metric and r["factor"] == "link_latency"]
        assert morris["mu_star"] == 0 and morris["sigma"] == 0
    # the 40N6 on the 91N6's track reaches further: Lithuania engageable grows
    assert oat[(metrics[1].name, "s400_missile", "s400_40n6_cued")] > 0
    top = result.top_factors(metrics[1].name)
    assert top[0][0] == "s400_missile"
    lo, hi = result.oat_range(detected)
    assert lo < result.base[detected] < hi


def test_metric_names_parse_and_bad_ones_are_one_message(reference):
    m = parse_metric("Lithuania, engageable, 10,000 m", reference)
    assert (m.region, m.kind, m.altitude_m) == ("Lithuania", "engageable", 10000.0)
    m2 = parse_metric("LVA detected 3 km 2012", reference)
    assert (m2.region, m2.kind, m2.altitude_m, m2.as_of.year) == ("Latvia", "detected", 3000.0, 2012)
    day = parse_metric("Lithuania, engageable, 10,000 m, 2012-06-30", reference)
    assert day.as_of == dt.date(2012, 6, 30) and day.name.endswith("2012-06-30")
    assert parse_metric("Kaliningrad oblast, engageable, 3,000 m", reference).region == \
        "Kaliningrad oblast (Russia)"
    raid = load_scenario("mixed-raid")
    assert parse_metric("leakers", raid).metric == "leakers"
    assert parse_metric("time to first track, generic_cruise_missile", raid).object_type == \
        "generic_cruise_missile"
    with pytest.raises(SensitivityError, match="the scenario flies no traffic"):
        parse_metric("leakers", reference)
    with pytest.raises(SensitivityError, match="no flight or raid of the scenario flies generic_bomber"):
        parse_metric("leakers, generic_bomber", raid)
    with pytest.raises(SensitivityError, match="is not one a run or a coverage study produces"):
        parse_metric("mean leak probability", reference)
    with pytest.raises(SensitivityError, match=r"'Lithuana' is not a region.*did you mean 'Lithuania'\?$"):
        parse_metric("Lithuana, engageable, 10,000 m", reference)
    with pytest.raises(SensitivityError, match="say detected or engageable"):
        parse_metric("Lithuania, 10,000 m", reference)


@pytest.mark.parametrize(("text", "message"), [
    ("Lithuania, engageable, 10,000 m, 1980", "outside the period the scenario's data describe, 1996"),
    ("Lithuania, engageable, 10,000 m, 0000", "'0000' is not a date"),
    ("Lithuania, engageable, 10,000 m, 2012-02-30", "'2012-02-30' is not a date"),
    ("Lithuania, engageable, 999999999 m", "the altitude must be from -500 to 100,000 m"),
    ("Lithuania, engageable, 10,000 km", "the altitude must be from -500 to 100,000 m"),
    ("Lithuania, detected, engageable, 1000 m", "more than one detected/engageable"),
    ("Lithuania, Latvia, engageable, 1000 m", r"more than one region \(Lithuania, Latvia\)"),
    ("Lithuania, engageable, 10,000 m, 2009, 2012", "more than one date"),
    ("Lithuania, engageable, 10.000 m", "could be read two ways"),
    ("Narnia, engageable, 1000 m", r"'Narnia' is not a region.*\(regions: Lithuania, .*; RCS classes: fighter"),
])
def test_a_metric_that_says_too_much_or_what_the_data_lack_is_one_message(reference, text, message):
    with pytest.raises(SensitivityError, match=message) as caught:
        parse_metric(text, reference)
    assert len(caught.value.problems) == 1


def test_interval_notes_say_why_the_base_is_outside_and_how_far_few_draws_go():
    """The base value outside its interval is explained (the factors at an end of their range, the
    variants whose chosen option most draws change), and with few draws the chance that an end
    lies beyond every draw is stated (a bootstrap cannot reach beyond them)."""
    from iadsim.analysis.sensitivity import Interval
    from iadsim.runs.sensitivity import _interval_notes

    at_top = Factor("missile_range", "range", "r", (RangeMember("a.b", 90.0, 75.0, 90.0,
                                                                RangeDistribution.uniform),))
    inside = Factor("height", "range", "r", (RangeMember("a.c", 10.0, 5.0, 15.0, RangeDistribution.uniform),))
    inert = Factor("pk", "range", "r", (RangeMember("a.d", 0.9, 0.7, 0.9, RangeDistribution.uniform),))
    variant = Factor("s300", "variant", "v", options=("pmu1", "ps"), chosen="pmu1")
    result = SensitivityResult([at_top, inside, inert, variant], [True, True, False, True], ["m", "n"],
                               {"m": 75.5, "n": 10.0})
    result.intervals = {"m": Interval(44.3, 75.0, 2.0, 0.5, 60.0, 16), "n": Interval(5.0, 15.0, 1, 1, 10, 16)}
    few, outside = _interval_notes(result)
    assert "with 16 draws" in few and f"is {0.95 ** 16:.0%}" in few
    assert "'m' (75.5) lies above its 90% interval (44.3 – 75)" in outside
    assert "sets missile_range at an end of its range" in outside and "pk" not in outside
    assert "keeps one option of s300, which most draws change" in outside
    result.intervals = {k: replace(v, samples=64) for k, v in result.intervals.items()}
    assert len(_interval_notes(result)) == 1  # 0.95^64 = 4 %: no note on the draws


def test_bad_settings_and_foreign_folder(reference, tmp_path):
    factors = select_factors(collect_factors(reference), ["link_latency"])
    ev = ScenarioEvaluator(reference, (parse_metric("Latvia, detected, 10,000 m", reference),),
                           resolution_km=25.0)
    with pytest.raises(SensitivityError, match="power of two"):
        run_study(factors, ev, tmp_path / "a", InlineBackend(), StudySettings(sobol_samples=10))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine.txt").write_text("x")
    with pytest.raises(SensitivityError, match="not a sensitivity study"):
        run_study(factors, ev, tmp_path / "b", InlineBackend(), StudySettings(sobol_samples=0))
    assert (tmp_path / "b" / "mine.txt").read_text() == "x"


# -- the command: end to end, resume after SIGKILL -----------------------------------------------------

STUDY = ["sensitivity", "reference-2020", "--metric", "Latvia, detected, 10,000 m",
         "--factors", "detection_range_convention,vehicle_antenna_height,s400_missile",
         "--trajectories", "6", "--sobol-samples", "8", "--interval-samples", "16",
         "--resolution-km", "25", "--jobs", "1"]


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IADSIM, *args], capture_output=True, text=True, cwd=ROOT, check=False, **kw)


def test_cli_unknown_metric_and_factor_are_exit_2(tmp_path):
    r = _run(["sensitivity", "reference-2020", "--metric", "leak rate", "--out", str(tmp_path / "x")])
    assert r.returncode == 2 and "is not one a run or a coverage study produces" in r.stderr
    assert "Traceback" not in r.stderr
    r = _run(["sensitivity", "reference-2020", "--metric", "Latvia, detected, 10,000 m", "--factors", "nope",
              "--out", str(tmp_path / "x")])
    assert r.returncode == 2 and "no range or variant of the scenario is named 'nope'" in r.stderr
    r = _run(["sensitivity", "reference-2020", "--list"])
    assert r.returncode == 0 and "s400_missile (variant)" in r.stdout


SMALL = ["--metric", "Latvia, detected, 10,000 m", "--resolution-km", "50", "--trajectories", "0",
         "--sobol-samples", "0", "--interval-samples", "0", "--jobs", "1"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--dem", "no-such.tif"], "--dem no-such.tif: "),
    (["--resolution-km", "nan"], "--resolution-km must be a finite number in (0, 1000] km"),
    (["--resolution-km", "0.001"], "GiB"),
    (["--seed", "-1"], "seed: expected a whole number from 0"),
    (["--factors", ","], "names no factor"),
    (["--trajectories", "1000"], "pass --yes to run it"),
    (["--trajectories", "100000", "--yes"], "no study may take more than 1,000,000"),
    (["--sobol-samples", "8", "--trajectories", "2", "--sobol-factors", "0"], "sobol factors: expected at least 1"),
])
def test_cli_bad_options_are_one_message_and_leave_no_folder(tmp_path, extra, message):
    """Each bad option is one message (exit 2) before the study writes anything: the corrected
    command can use the same folder."""
    r = _run(["sensitivity", "reference-2020", *SMALL, *extra, "--out", str(tmp_path / "x")])
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()
    assert "progress" not in r.stderr  # refused before the workers and the progress bar start


def test_cli_damaged_or_unwritable_folders_are_one_message(tmp_path):
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "manifest.json").write_text("[]")
    (tmp_path / "dir" / "manifest.json").mkdir(parents=True)
    (tmp_path / "file").write_text("x")
    for out, message in [(tmp_path / "list", "not a sensitivity study"),
                         (tmp_path / "dir", "not a sensitivity study"),
                         (tmp_path / "file" / "below", "cannot be written or read")]:
        r = _run(["sensitivity", "reference-2020", *SMALL, "--factors", "detection_range_convention",
                  "--out", str(out)])
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "list" / "manifest.json").read_text() == "[]"


def test_a_variant_the_scenario_chose_is_left_out_with_a_note(tmp_path):
    """A scenario that itself chooses a variant's other option cannot switch it back: the study
    varies the rest and says so (it stopped with a traceback in the inert-factor probes)."""
    path = tmp_path / "chosen.yaml"
    path.write_text("include: [reference-2020]\nname: chosen\nchoose: {s400_missile: s400_40n6_cued}\n")
    r = _run(["sensitivity", str(path), *SMALL, "--factors", "s400_missile,detection_range_convention",
              "--out", str(tmp_path / "x")])
    assert r.returncode == 0, r.stderr
    assert "variant 's400_missile' is not varied: the scenario chooses 's400_40n6_cued'" in r.stderr
    assert "s400_missile" not in (tmp_path / "x" / "one_at_a_time.csv").read_text()
    r = _run(["sensitivity", str(path), *SMALL, "--factors", "s400_missile", "--out", str(tmp_path / "y")])
    assert r.returncode == 2 and "no factors to vary" in r.stderr and "is not varied" in r.stderr


@pytest.mark.slow
def test_cli_study_resumes_after_sigkill_with_the_same_indices(tmp_path):
    whole = _run([*STUDY, "--out", str(tmp_path / "whole")])
    assert whole.returncode == 0, whole.stderr
    report = Path(whole.stdout.strip().splitlines()[-1])
    assert report.name == "report.html" and "How sure is this figure?" in report.read_text()
    for name in ("cases", "one_at_a_time", "morris", "sobol", "interval"):
        assert (report.parent / f"{name}.csv").exists() and (report.parent / f"{name}.parquet").exists()

    folder = tmp_path / "killed"
    proc = subprocess.Popen([*IADSIM, *STUDY, "--out", str(folder)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((folder / "evaluations").glob("*.json"))) >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the study finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (folder / "morris.csv").exists()
    resumed = _run([*STUDY, "--out", str(folder)])
    assert resumed.returncode == 0, resumed.stderr
    [(done, ran)] = re.findall(r"(\d+) evaluations were already done, (\d+) ran", resumed.stderr)
    done, ran = int(done), int(ran)
    assert done >= 8 and ran > 0
    for name in ("one_at_a_time", "morris", "sobol", "interval"):
        a = pq.read_table(tmp_path / "whole" / f"{name}.parquet").to_pylist()
        b = pq.read_table(folder / f"{name}.parquet").to_pylist()
        assert repr(a) == repr(b), name  # repr: NaN (no spread from one replication) equals NaN


def test_sensitivity_result_values_are_finite_numbers(tmp_path, reference):
    """A study of a metric that is a constant (Estonia engageable at 30 m: 0 %) gives zeros, not NaN."""
    factors = select_factors(collect_factors(reference), ["vehicle_antenna_height", "s400_missile"])
    ev = ScenarioEvaluator(reference, (parse_metric("Estonia, engageable, 30 m", reference),),
                           resolution_km=25.0)
    result = run_study(factors, ev, tmp_path / "c", InlineBackend(),
                       StudySettings(trajectories=4, sobol_samples=8, sobol_threshold=0.0,
                                     interval_samples=8))
    assert all(np.isfinite(r["mu_star"]) and r["mu_star"] == 0 for r in result.morris)
    assert result.sobol == []  # nothing matters, so no factor is chosen for Sobol indices
    assert result.intervals[ev.metric_names[0]].low == result.intervals[ev.metric_names[0]].high == 0


@pytest.mark.slow
def test_cli_run_with_sensitivity_adds_how_sure_section(tmp_path):
    r = _run(["run", "reference-2020", "--no-sim", "--sensitivity", "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    report = Path(r.stdout.strip().splitlines()[-1])
    html = report.read_text(encoding="utf-8")
    assert "How sure is this figure?" in html and "Lithuania, engageable, 10,000 m" in html
    assert "s400_missile" in html  # the assumption that moves Lithuania's engageable share most
    assert (report.parent / "sensitivity" / "interval.parquet").exists()
    again = _run(["report", str(report.parent)])
    assert again.returncode == 0 and "How sure is this figure?" in report.read_text(encoding="utf-8")


def test_a_range_end_the_scenario_refuses_stops_the_study_before_it_writes(reference, tmp_path):
    """A factor whose high end breaks the schema (a minimum range above the maximum) is refused
    before anything is written, with the reason."""
    bad = Factor("min_range", "range", "test", (RangeMember("catalog.missiles.s300ps_5v55r.min_range_km",
                                                            5.0, 1.0, 200.0, RangeDistribution.uniform),))
    ev = ScenarioEvaluator(reference, (parse_metric("Latvia, detected, 10,000 m", reference),),
                           resolution_km=25.0)
    with pytest.raises(SensitivityError, match=r"high end of the range \(200\) is refused.*max_range_km"):
        run_study([bad], ev, tmp_path / "p", InlineBackend(),
                  StudySettings(trajectories=0, sobol_samples=0, interval_samples=0))
    assert not (tmp_path / "p").exists()


def test_a_point_the_model_refuses_has_no_value_and_a_note(reference, tmp_path):
    """Two ranges whose ends each pass but some combinations do not (the Tor's minimum range drawn
    above its maximum): those draws have no value, the study says why, and the rest stands."""
    tor = "catalog.missiles.tor_m2_9m338"
    low_max = Factor("max_range", "range", "test", (RangeMember(f"{tor}.max_range_km", 15.0, 4.0, 15.0,
                                                                RangeDistribution.uniform),))
    high_min = Factor("min_range", "range", "test", (RangeMember(f"{tor}.min_range_km", 1.0, 0.5, 12.0,
                                                                 RangeDistribution.uniform),))
    metric = "Belarus, engageable, 3,000 m"
    ev = ScenarioEvaluator(reference, (parse_metric(metric, reference),), resolution_km=25.0)
    result = run_study([low_max, high_min], ev, tmp_path / "p", InlineBackend(),
                       StudySettings(trajectories=0, sobol_samples=0, interval_samples=24))
    assert all(r["relevant"] for r in result.oat)  # the Tor's ranges move what is engageable
    oat = {(r["factor"], r["end"]): r["effect"] for r in result.oat}
    assert all(math.isfinite(v) for v in oat.values())
    drawn = [c for c in result.cases if c["stage"] == "interval"]
    refused = [c for c in drawn if float(c["at:min_range"]) >= float(c["at:max_range"])]
    assert refused and all(math.isnan(c[metric]) for c in refused)
    assert all(math.isfinite(c[metric]) for c in drawn if c not in refused)
    assert any("min_range_km" in why and "max_range_km" in why for why in result.problems)
    assert any("could not be made" in n for n in result.notes)
    assert result.intervals[metric].samples == len(drawn) - len(refused)


def test_scenario_errors_cross_process_boundaries():
    """A C2 or traffic error raised in a worker reaches the parent as itself (it broke the pool)."""
    import pickle

    from iadsim.c2.network import C2Error
    from iadsim.scenario.errors import ScenarioError

    err = pickle.loads(pickle.dumps(C2Error([ScenarioError("no node", ("c2",))])))
    assert isinstance(err, C2Error) and err.errors[0].message == "no node"
