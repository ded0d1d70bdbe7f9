"""The statistics of comparisons: the metrics of one run's outcomes, means with Student-t confidence
intervals and paired differences between arrangements (docs/compare.md). Pure functions of tables;
running the replications is ``iadsim.runs.compare``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from iadsim.scenario.schema import Arrangement

__all__ = ["ARRANGEMENT_NAMES", "CONFIDENCE", "METRICS", "Metric", "MetricSummary", "mean_ci",
           "metric_value", "parse_arrangements", "summarise"]

CONFIDENCE = 0.95
"""The confidence level of every interval (two-sided, Student t)."""

ARRANGEMENT_NAMES = tuple(a.value for a in Arrangement)


@dataclass(frozen=True)
class Metric:
    """One metric of the comparison.

    Attributes:
        name: the column-friendly name (``time_to_first_track_s``).
        label: the words in tables and figures.
        unit: ``s``, ``per object``, ``per replication`` or ``share`` (0–1).
        event: for a time metric, the outcomes column of the event (its time minus ``start_s``);
            None for the others.
    """

    name: str
    label: str
    unit: str
    event: str | None = None


METRICS = (
    Metric("time_to_first_track_s", "time to first track", "s", "first_track_s"),
    Metric("time_to_identification_s", "time to identification", "s", "identified_s"),
    Metric("time_to_intercept_s", "time to intercept", "s", "intercept_s"),
    Metric("time_to_engagement_s", "time to engagement", "s", "engaged_s"),
    Metric("track_breaks", "track breaks", "per object"),
    Metric("leakers", "leakers", "per replication"),
    Metric("share_intercepted", "share intercepted", "share"),
    Metric("share_destroyed", "share destroyed", "share"),
    Metric("missiles", "missiles expended", "per replication"),
)
"""The metrics, in table order. Times run from the object's start (``start_s``) to the event at the
deciding node; an object for which the event never happened (NaN) does not count in that time."""

_METRIC = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one arrangement over the replications, and its paired difference to the
    baseline arrangement.

    Attributes:
        arrangement, metric: which.
        mean: the mean over replications of the per-replication value (NaN if never defined).
        half_width: half-width of the CI of the mean (NaN with fewer than 2 replications).
        ci_low, ci_high: the interval, mean ∓ half_width.
        replications: replications in which the metric is defined (a time metric: the event
            happened to at least one object).
        events: object-replications the value counts (time metrics: the event happened;
            track breaks: all; leakers: leakers; share intercepted: intercepted).
        objects: object-replications in the outcomes (objects that entered a defended airspace).
        diff_mean, diff_half_width, diff_ci_low, diff_ci_high: the paired difference this minus the
            baseline (NaN for the baseline itself).
        diff_replications: replications in which the difference is defined.
        diff_pairs: what the difference is over: time metrics and track breaks, object-replications
            with a value in both arrangements; counts and shares, replications.
        available: whether the arrangement could be built at the date.
        note: why not, if not.
    """

    arrangement: str
    metric: str
    mean: float = math.nan
    half_width: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    replications: int = 0
    events: int = 0
    objects: int = 0
    diff_mean: float = math.nan
    diff_half_width: float = math.nan
    diff_ci_low: float = math.nan
    diff_ci_high: float = math.nan
    diff_replications: int = 0
    diff_pairs: int = 0
    available: bool = True
    note: str = ""

    def record(self) -> dict[str, Any]:
        """The summary as a flat dict (NaN as None), with the metric's label and unit."""
        m = _METRIC[self.metric]
        out: dict[str, Any] = {"arrangement": self.arrangement, "metric": self.metric,
                               "label": m.label, "unit": m.unit}
        for key, value in self.__dict__.items():
            if key in ("arrangement", "metric"):
                continue
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out

def parse_arrangements(text: str | Sequence[str]) -> tuple[str, ...]:
    """Arrangement names from ``national,joint`` (or a list), checked.

    Raises:
        ValueError: none given, an empty or unknown name (the message lists the allowed), or one
            listed twice.
    """
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else [str(n).strip() for n in text]
    if not any(names):
        raise ValueError(f"no arrangement given; allowed: {', '.join(ARRANGEMENT_NAMES)}")
    if not all(names):  # "national,,joint": a name left out, or a stray comma
        raise ValueError(f"an empty name in the list ({text!r}); allowed: {', '.join(ARRANGEMENT_NAMES)}")
    for name in names:
        if name not in ARRANGEMENT_NAMES:
            raise ValueError(f"unknown arrangement '{name}'; allowed: {', '.join(ARRANGEMENT_NAMES)}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"arrangement '{name}' is listed twice")
        seen.add(name)
    return tuple(names)


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """The mean of the finite values and the half-width of its Student-t confidence interval.

    Args:
        values: one value per replication; NaN (not defined in that replication) are left out.
        confidence: two-sided confidence level.

    Returns:
        (mean, half-width, k): k finite values; mean NaN if k = 0, half-width NaN if k < 2 (no
        spread to estimate), t(1 − α/2, k − 1) · s / √k otherwise (0 when all values are equal).
    """
    from scipy.stats import t as student_t

    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    k = len(x)
    if k == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if k < 2:
        return mean, math.nan, 1
    sd = float(x.std(ddof=1))
    half = float(student_t.ppf(0.5 + confidence / 2, k - 1)) * sd / math.sqrt(k)
    return mean, half, k


# -- the metrics of one run -------------------------------------------------------------------------

_Rows = dict[str, dict[str, Any]]  # object_id -> outcome row


def _rows(table: pa.Table) -> _Rows:
    return {str(r["object_id"]): r for r in table.to_pylist()}


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _run_value(metric: Metric, rows: _Rows) -> tuple[float, int]:
    """(value, events) of one replication of one arrangement."""
    objs = list(rows.values())
    if metric.event is not None:
        times = [float(r[metric.event]) - float(r["start_s"]) for r in objs
                 if _finite(r[metric.event]) and _finite(r["start_s"])]
        return (float(np.mean(times)) if times else math.nan), len(times)
    if metric.name == "track_breaks":
        return (float(np.mean([r["track_breaks"] for r in objs])) if objs else math.nan), len(objs)
    if metric.name == "leakers":
        n = sum(1 for r in objs if r["leaker"])
        return float(n), n
    if metric.name in ("share_intercepted", "share_destroyed"):
        col = "intercept_s" if metric.name == "share_intercepted" else "killed_s"
        n = sum(1 for r in objs if _finite(r[col]))
        return (n / len(objs) if objs else math.nan), n
    if metric.name == "missiles":
        n = sum(int(r["missiles"]) for r in objs)
        return float(n), n
    raise KeyError(metric.name)


def metric_value(name: str, outcomes: pa.Table) -> float:
    """The value of metric ``name`` (``METRICS``) in one replication's outcomes table."""
    return _run_value(_METRIC[name], _rows(outcomes))[0]


def _run_difference(metric: Metric, rows: _Rows, base: _Rows) -> tuple[float, int]:
    """(this − baseline, pairs) of one replication: object by object for the time metrics and track
    breaks (objects with a value in both), run by run for the counts and shares."""
    if metric.event is not None or metric.name == "track_breaks":
        col = metric.event or "track_breaks"
        diffs = [float(r[col]) - float(base[o][col]) for o, r in rows.items()
                 if o in base and _finite(r[col]) and _finite(base[o][col])]
        return (float(np.mean(diffs)) if diffs else math.nan), len(diffs)
    a, _ = _run_value(metric, rows)
    b, _ = _run_value(metric, base)
    return a - b, int(math.isfinite(a - b))


def summarise(outcomes: Mapping[str, Sequence[pa.Table]], baseline: str | None = None,
              confidence: float = CONFIDENCE) -> list[MetricSummary]:
    """The metrics of each arrangement with CIs, and paired differences against ``baseline``.

    Args:
        outcomes: arrangement → its outcomes table per replication (index = replication; the same
            number of replications for every arrangement), in the order of the report.
        baseline: the arrangement the differences are taken against (default: the first).
        confidence: two-sided confidence level.
    """
    if not outcomes:
        return []
    base_name = baseline or next(iter(outcomes))
    per_arr = {a: [_rows(t) for t in tables] for a, tables in outcomes.items()}
    base_runs = per_arr[base_name]
    out = []
    for arr, runs in per_arr.items():
        if len(runs) != len(base_runs):
            raise ValueError(f"arrangement '{arr}' has {len(runs)} replications, the baseline "
                             f"'{base_name}' {len(base_runs)}")
        for metric in METRICS:
            values = [_run_value(metric, rows) for rows in runs]
            mean, half, k = mean_ci([v for v, _ in values], confidence)
            diff: dict[str, Any] = {}
            if arr != base_name:
                pairs = [_run_difference(metric, rows, base) for rows, base in zip(runs, base_runs,
                                                                                    strict=True)]
                d_mean, d_half, d_k = mean_ci([d for d, _ in pairs], confidence)
                diff = {"diff_mean": d_mean, "diff_half_width": d_half, "diff_ci_low": d_mean - d_half,
                        "diff_ci_high": d_mean + d_half, "diff_replications": d_k,
                        "diff_pairs": sum(n for _, n in pairs)}
            out.append(MetricSummary(arr, metric.name, mean, half, mean - half, mean + half, k,
                                     sum(n for _, n in values), sum(len(r) for r in runs), **diff))
    return out
