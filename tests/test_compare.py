"""Comparing command arrangements: metrics and CIs, common random numbers, worker processes, the
``iadsim compare`` command and its report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import t as student_t
from typer.testing import CliRunner

from iadsim.analysis import mean_ci, parse_arrangements, summarise
from iadsim.analysis.outcomes import OUTCOME_SCHEMA
from iadsim.analysis.statistics import METRICS
from iadsim.c2 import C2Error
from iadsim.cli import app
from iadsim.report.compare import write_compare_report
from iadsim.runs.compare import compare_arrangements
from iadsim.scenario import load_scenario

SHORT_S = 600.0
"""Long enough for the violator (start 0 s) to enter Belarusian airspace (about 525 s) and be tracked
and identified; too short for an intercept. Keeps each C2 pass to a few seconds."""

SHORT_FILE = f"include: [air-policing-violation]\nname: Short violation\nduration_s: {SHORT_S:g}\n"

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def nan_to_none(rows: list[dict]) -> list[dict]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "short.yaml"
    path.write_text(SHORT_FILE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def short(short_file):
    return load_scenario(short_file)


@pytest.fixture(scope="module")
def serial(short):
    """national and exchange over two replications, in this process."""
    return compare_arrangements(short, ["national", "exchange"], 2, jobs=1)


# -- statistics on made-up outcomes ------------------------------------------------------------------


def test_mean_ci_is_student_t_over_finite_values():
    mean, half, k = mean_ci([1.0, 2.0, np.nan, 3.0, 4.0])
    assert k == 4 and mean == 2.5
    assert half == pytest.approx(student_t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert mean_ci([7.0, 7.0, 7.0]) == (7.0, 0.0, 3)


def test_mean_ci_with_one_value_has_no_half_width_and_with_none_no_mean():
    mean, half, k = mean_ci([5.0, np.nan])
    assert (mean, k) == (5.0, 1) and math.isnan(half)
    mean, half, k = mean_ci([np.nan])
    assert k == 0 and math.isnan(mean) and math.isnan(half)


def test_ci_half_width_shrinks_as_replications_grow():
    """The same spread over more replications: t shrinks and √k grows."""
    halves = [mean_ci(np.tile([100.0, 140.0], n // 2))[1] for n in (2, 4, 8, 16, 32)]
    assert all(a > b for a, b in itertools.pairwise(halves))
    assert halves[0] == pytest.approx(student_t.ppf(0.975, 1) * np.std([100, 140], ddof=1) / math.sqrt(2))


def outcomes(*rows: dict) -> pa.Table:
    base = {"type": "t", "nation": "LTU", "start_s": 0.0, "airspace": "BLR", "deciding_node": "n",
            "entry_s": 10.0, "first_detection_s": 5.0, "first_track_s": np.nan, "identified_s": np.nan,
            "hostile_s": np.nan, "scramble_s": np.nan, "airborne_s": np.nan, "intercept_s": np.nan,
            "engaged_s": np.nan, "killed_s": np.nan, "track_breaks": 0, "missiles": 0, "leaker": True}
    full = []
    for r in rows:
        row = {**base, **r}
        row["leaker"] = not math.isfinite(row["intercept_s"])
        full.append(row)
    return pa.Table.from_pylist(full, schema=OUTCOME_SCHEMA)


def test_summarise_counts_events_skips_never_and_pairs_by_object():
    a = [outcomes({"object_id": "x", "start_s": 100.0, "first_track_s": 130.0, "intercept_s": 400.0,
                   "track_breaks": 2},
                  {"object_id": "y", "first_track_s": 50.0}),
         outcomes({"object_id": "x", "start_s": 100.0, "first_track_s": 150.0, "track_breaks": 1},
                  {"object_id": "y"})]
    b = [outcomes({"object_id": "x", "start_s": 100.0, "first_track_s": 120.0, "track_breaks": 0},
                  {"object_id": "y", "first_track_s": 40.0, "intercept_s": 300.0}),
         outcomes({"object_id": "x", "start_s": 100.0, "first_track_s": 160.0, "intercept_s": 500.0,
                   "track_breaks": 0},
                  {"object_id": "y", "first_track_s": 70.0, "intercept_s": 600.0})]
    rows = {(s.arrangement, s.metric): s for s in summarise({"a": a, "b": b})}

    track = rows["a", "time_to_first_track_s"]
    # replication 0: mean of 30 and 50; replication 1: y never tracked, so only x's 50
    assert (track.mean, track.replications, track.events, track.objects) == (45.0, 2, 3, 4)
    assert track.half_width == pytest.approx(student_t.ppf(0.975, 1) * np.std([40, 50], ddof=1)
                                             / math.sqrt(2))
    intercept = rows["a", "time_to_intercept_s"]
    assert (intercept.mean, intercept.replications, intercept.events) == (300.0, 1, 1)
    assert math.isnan(intercept.half_width)  # one replication has an intercept
    assert rows["a", "leakers"].mean == 1.5 and rows["a", "leakers"].events == 3
    assert rows["a", "share_intercepted"].mean == 0.25
    assert rows["a", "track_breaks"].mean == 0.75
    assert math.isnan(track.diff_mean) and track.diff_replications == 0  # the baseline

    d = rows["b", "time_to_first_track_s"]
    # object by object, over objects tracked in both: rep 0 x −10, y −10; rep 1 x +10 (y not in a)
    assert (d.diff_mean, d.diff_pairs, d.diff_replications) == (0.0, 3, 2)
    assert d.diff_half_width == pytest.approx(student_t.ppf(0.975, 1) * np.std([-10, 10], ddof=1)
                                              / math.sqrt(2))
    di = rows["b", "time_to_intercept_s"]
    # no object was intercepted in both arrangements of a replication: no pair, no difference
    assert math.isnan(di.diff_mean) and (di.diff_pairs, di.diff_replications) == (0, 0)
    dl = rows["b", "leakers"]
    assert dl.diff_mean == (1 - 1 + 0 - 2) / 2 and dl.diff_pairs == 2
    assert rows["b", "share_intercepted"].diff_mean == pytest.approx((0.5 - 0.5 + 1.0 - 0.0) / 2)


def test_summarise_engagement_measures():
    a = [outcomes({"object_id": "x", "start_s": 100.0, "engaged_s": 400.0, "killed_s": 420.0, "missiles": 2},
                  {"object_id": "y", "engaged_s": 300.0, "missiles": 1}),
         outcomes({"object_id": "x", "start_s": 100.0, "missiles": 0}, {"object_id": "y"})]
    rows = {(s.arrangement, s.metric): s for s in summarise({"a": a})}
    # engagement times from each object's start: rep 0 (300 + 300) / 2; rep 1 none engaged
    assert (rows["a", "time_to_engagement_s"].mean, rows["a", "time_to_engagement_s"].events) == (300.0, 2)
    assert rows["a", "missiles"].mean == 1.5  # 3 missiles, then none
    assert rows["a", "share_destroyed"].mean == 0.25  # 1 of 2, then 0 of 2


def test_summarise_baseline_is_the_one_named():
    one = [outcomes({"object_id": "x", "first_track_s": 10.0})]
    two = [outcomes({"object_id": "x", "first_track_s": 30.0})]
    rows = {(s.arrangement, s.metric): s for s in summarise({"a": one, "b": two}, baseline="b")}
    assert rows["a", "time_to_first_track_s"].diff_mean == -20.0
    assert math.isnan(rows["b", "time_to_first_track_s"].diff_mean)


@pytest.mark.parametrize(("text", "message"), [
    ("national,nato", "unknown arrangement 'nato'; allowed: national, exchange, joint, wartime"),
    ("joint, national,joint", "arrangement 'joint' is listed twice"),
    (" , ", "no arrangement given"),
])
def test_parse_arrangements_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_arrangements(text)
    assert parse_arrangements(" wartime,national ") == ("wartime", "national")


# -- simulated comparisons ---------------------------------------------------------------------------


def test_common_random_numbers_first_detection_is_shared_by_arrangements(serial):
    rows = serial.outcomes.to_pylist()
    assert {r["arrangement"] for r in rows} == {"national", "exchange"}
    assert {r["replication"] for r in rows} == {0, 1}
    firsts: dict[tuple[int, str], set[float]] = {}
    for r in rows:
        firsts.setdefault((r["replication"], r["object_id"]), set()).add(r["first_detection_s"])
    assert ("violator" in {o for _, o in firsts})
    assert all(len(v) == 1 and math.isfinite(next(iter(v))) for v in firsts.values()), firsts
    # each replication is its own draw: the sensing passes differ between replications
    by_rep = serial.runs.to_pylist()
    assert len(by_rep) == 4 and {r["detections"] for r in by_rep if r["replication"] == 0} != \
        {r["detections"] for r in by_rep if r["replication"] == 1}


def test_national_only_with_one_replication_has_means_but_no_intervals(short):
    result = compare_arrangements(short, ["national"], 1, jobs=1)
    assert result.baseline == "national" and result.available == ("national",)
    track = result.get("national", "time_to_first_track_s")
    assert track.replications == 1 and track.events == 1 and math.isfinite(track.mean)
    assert math.isnan(track.half_width) and math.isnan(track.ci_low)
    intercept = result.get("national", "time_to_intercept_s")
    assert intercept.events == 0 and math.isnan(intercept.mean)  # too short to intercept: n = 0
    assert all(math.isnan(s.diff_mean) for s in result.summary)
    assert result.outcomes.column_names[:2] == ["replication", "arrangement"]


def test_arrangement_not_in_service_is_reported_not_fatal(short, tmp_path):
    result = compare_arrangements(short, ["national", "joint"], 1, jobs=1, as_of=dt.date(1996, 12, 31))
    assert result.available == ("national",)
    note = result.unavailable["joint"]
    assert note.startswith("not available at 1996-12-31: ") and "rads_command" in note
    assert all(not s.available and s.note == note for s in result.summary if s.arrangement == "joint")
    assert set(result.outcomes["arrangement"].to_pylist()) <= {"national"}
    report = write_compare_report(result, tmp_path / "c").report.read_text()
    assert "not available at 1996-12-31" in report
    with pytest.raises(C2Error, match="rads_command"):
        compare_arrangements(short, ["joint"], 1, jobs=1, as_of=dt.date(1996, 12, 31))


# -- the command -------------------------------------------------------------------------------------


def test_compare_command_with_two_workers_writes_what_one_process_computes(short_file, serial, tmp_path):
    """Two worker processes give the same tables as the comparison run in this process (``serial``),
    and the folder holds the report with the table and the figure, the CSV, JSON and Parquet."""
    out = tmp_path / "cmp"
    result = invoke("compare", str(short_file), "--arrangements", "national,exchange",
                    "--replications", "2", "--jobs", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "outcomes.parquet")
    assert nan_to_none(table.to_pylist()) == nan_to_none(serial.outcomes.to_pylist())
    assert nan_to_none(pq.read_table(out / "runs.parquet").to_pylist()) == nan_to_none(serial.runs.to_pylist())
    doc = json.loads((out / "summary.json").read_text())
    assert doc["rows"] == serial.summary_records()
    assert doc["baseline"] == "national" and doc["replications"] == 2

    report = Path(result.stdout.strip().splitlines()[-1])
    assert report == out / "report.html"
    html = report.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html and "<img" in html
    assert "time to first track" in html and "Paired differences vs national" in html
    assert "Common random numbers" in html and "n = 2/2" in html
    scenario = load_scenario("air-policing-violation")
    for arr in ("national", "exchange"):
        assert scenario.arrangements[arr].description in html.replace("&quot;", '"')
    rows = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text())))
    assert len(rows) == 2 * len(METRICS) and {r["arrangement"] for r in rows} == {"national", "exchange"}
    first = next(r for r in rows if r["arrangement"] == "exchange" and r["metric"] == "time_to_first_track_s")
    assert float(first["ci_low"]) <= float(first["mean"]) <= float(first["ci_high"])
    assert first["replications"] == "2" and first["diff_replications"] == "2"
    assert table.column_names[:2] == ["replication", "arrangement"] and table.num_rows == 4
    track = serial.get("exchange", "time_to_first_track_s")
    assert track.replications == 2 and math.isfinite(track.half_width) and track.half_width >= 0
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_command_fails_when_no_arrangement_can_be_built(short_file, tmp_path):
    out = tmp_path / "cmp"
    result = invoke("compare", str(short_file), "--arrangements", "joint",
                    "--replications", "1", "--as-of", "1996", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "rads_command" in result.stderr and "not in service on 1996-12-31" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--arrangements", "national,nato"],
     "unknown arrangement 'nato'; allowed: national, exchange, joint, wartime"),
    (["--arrangements", "joint,joint"], "arrangement 'joint' is listed twice"),
    (["--replications", "0"], "--replications must be at least 1, got 0"),
    (["--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["--arrangements", "national,,joint"], "an empty name in the list ('national,,joint')"),
    (["--replications", "100000000"], "--replications must be at most 10,000"),
])
def test_compare_command_bad_input(tmp_path, args, message):
    out = tmp_path / "cmp"
    result = invoke("compare", "air-policing-violation", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1  # one message
    assert not out.exists()


def test_compare_never_writes_into_a_run_or_a_users_folder(tmp_path):
    """--out into a folder of other files (a user's, a run's) is refused before any replication,
    and the files are untouched; an earlier comparison's folder may be written again."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "summary.csv").write_text("my own summary")
    (theirs / "notes.txt").write_text("notes")
    result = invoke("compare", "air-policing-violation", "--arrangements", "national",
                    "--replications", "1", "--out", str(theirs))
    assert result.exit_code == 2 and "holds files that are not a comparison's (notes.txt)" in result.stderr
    assert (theirs / "summary.csv").read_text() == "my own summary"
    (theirs / "notes.txt").unlink()
    result = invoke("compare", "air-policing-violation", "--arrangements", "national",
                    "--replications", "1", "--out", str(theirs))
    assert result.exit_code == 2 and "but not a comparison's summary.json" in result.stderr
    from iadsim.report.compare import COMPARE_FILES, check_compare_folder

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for name in COMPARE_FILES:
        (earlier / name).write_text("{\"arrangements\": [], \"common_random_numbers\": \"x\"}")
    check_compare_folder(earlier)  # no error
