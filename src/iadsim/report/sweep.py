"""The report of ``iadsim sweep-report``: per-case metrics with Student-t 95 % CIs, a figure, HTML.

Reads a sweep folder (``manifest.json`` and the ``results`` dataset), summarises every case over its
replications with ``iadsim.analysis.statistics.summarise`` (the metrics of docs/compare.md) and writes
``summary.csv``, ``sweep.png`` and a self-contained ``report.html`` into the folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from matplotlib.figure import Figure

from iadsim.analysis.outcomes import OUTCOME_SCHEMA
from iadsim.analysis.statistics import CONFIDENCE, METRICS, MetricSummary, summarise
from iadsim.report.compare import ARRANGEMENT_COLOURS
from iadsim.report.figures import save_figure
from iadsim.report.html import _CSS, embedded_png, esc, table
from iadsim.runs.sweep import SweepError, read_manifest, read_results, result_path, task_status
from iadsim.version import __version__

__all__ = ["CaseSummary", "summarise_sweep", "sweep_figure", "write_sweep_report"]

DEFAULT_METRIC = "time_to_identification_s"
_METRIC = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class CaseSummary:
    """One case over its replications.

    Attributes:
        case_id: the case.
        overrides: its parameter values (as in the manifest).
        done: replications with a result file.
        replications: replications in the spec.
        note: why the case is unavailable ('' if it ran).
        metrics: metric name → summary (empty if unavailable).
    """

    case_id: str
    overrides: dict[str, Any]
    done: int
    replications: int
    note: str
    metrics: dict[str, MetricSummary]

    @property
    def available(self) -> bool:
        """Whether any replication ran."""
        return bool(self.metrics)


def summarise_sweep(folder: Path) -> tuple[dict[str, Any], list[CaseSummary]]:
    """The manifest and every case's summary.

    Args:
        folder: a folder written by ``iadsim sweep`` (complete or not).

    Raises:
        SweepError: not a sweep folder.
    """
    manifest = read_manifest(folder)
    reps = int(manifest["spec"]["replications"])
    rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    if (folder / "results").exists():
        results = read_results(folder).select(["case_id", "replication", *OUTCOME_SCHEMA.names])
        for r in results.to_pylist():
            rows.setdefault((str(r["case_id"]), int(r["replication"])), []).append(r)
    out = []
    for case in manifest["cases"]:
        cid = str(case["case_id"])
        tables, notes = [], []
        for r in range(reps):
            path = result_path(folder, cid, r)
            if not path.exists():
                continue
            status, note = task_status(path)
            if status != "ok":
                notes.append(note)
                continue
            tables.append(pa.Table.from_pylist(rows.get((cid, r), []), schema=OUTCOME_SCHEMA))
        metrics = {s.metric: s for s in summarise({cid: tables})} if tables else {}
        out.append(CaseSummary(cid, dict(case["overrides"]), len(tables) + len(notes), reps,
                               notes[0] if notes else "", metrics))
    return manifest, out


def _x_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _series_label(overrides: dict[str, Any], x: str | None) -> str:
    rest = {k: v for k, v in overrides.items() if k != x}
    return ", ".join(f"{k}={v}" for k, v in rest.items()) or "all cases"


def sweep_figure(cases: Sequence[CaseSummary], metric: str, x: str | None) -> Figure:
    """The metric (mean and 95 % CI) against the swept parameter ``x``, one line per combination of the
    other parameters (per arrangement in the example sweep).

    Args:
        cases: the case summaries.
        metric: a metric name of ``iadsim.analysis.statistics.METRICS``.
        x: the parameter on the x axis (None: the cases in order).
    """
    m = _METRIC[metric]
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs_all = [_x_value(c.overrides.get(x)) if x else i for i, c in enumerate(cases)]
    categorical = not all(isinstance(v, int | float | dt.date) and not isinstance(v, bool) for v in xs_all)
    cats = list(dict.fromkeys(str(v) for v in xs_all))
    series: dict[str, list[tuple[Any, float, float]]] = {}
    for c, xv in zip(cases, xs_all, strict=True):
        s = c.metrics.get(metric)
        if s is None or not math.isfinite(s.mean):
            continue
        pos = cats.index(str(xv)) if categorical else xv
        series.setdefault(_series_label(c.overrides, x), []).append((pos, s.mean, s.half_width))
    n = max(1, len(series))
    for i, (label, pts) in enumerate(series.items()):
        pts.sort(key=lambda p: p[0])
        offset = (i - (n - 1) / 2) * 0.08 if categorical else 0
        xs = [p[0] + offset if categorical else p[0] for p in pts]
        ys = [p[1] for p in pts]
        err = [p[2] if math.isfinite(p[2]) else 0.0 for p in pts]
        colour = ARRANGEMENT_COLOURS.get(label.removeprefix("arrangement="))
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=4, label=label, color=colour)
    if categorical:
        ax.set_xticks(range(len(cats)), cats, rotation=20 if len(cats) > 4 else 0)
    ax.set_xlabel(x or "case")
    ax.set_ylabel(f"{m.label} ({m.unit})")
    ax.set_title(f"{m.label}: mean and {CONFIDENCE:.0%} CI over replications")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no case has a value of this metric", ha="center", va="center",
                transform=ax.transAxes)
    fig.tight_layout()
    return fig


def _fmt(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "—"
    if unit == "s":
        return f"{value:,.0f}"
    if unit == "share":
        return f"{100 * value:.0f} %"
    return f"{value:.2f}"


def _cell(s: MetricSummary | None, unit: str) -> str:
    if s is None or not math.isfinite(s.mean):
        return "—"
    half = _fmt(s.half_width, unit).removesuffix(" %")
    return f"{_fmt(s.mean, unit)} ± {half}"


def _summary_records(cases: Sequence[CaseSummary], params: Sequence[str]) -> list[dict[str, Any]]:
    records = []
    for c in cases:
        for m in METRICS:
            s = c.metrics.get(m.name)
            rec: dict[str, Any] = {"case_id": c.case_id, **{p: c.overrides.get(p) for p in params},
                                   "metric": m.name, "unit": m.unit, "available": c.available,
                                   "replications_done": c.done, "note": c.note}
            for key in ("mean", "half_width", "ci_low", "ci_high", "replications", "events", "objects"):
                v = getattr(s, key) if s is not None else None
                rec[key] = None if isinstance(v, float) and not math.isfinite(v) else v
            records.append(rec)
    return records


def _csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if records:
        w = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(records)
    return buf.getvalue()


def write_sweep_report(folder: Path, metric: str | None = None, x: str | None = None) -> Path:
    """Write ``summary.csv``, ``sweep.png`` and ``report.html`` into a sweep folder.

    Args:
        folder: a folder written by ``iadsim sweep``.
        metric: the figure's metric (default: the spec's ``report.metric``, else time to identification).
        x: the figure's x parameter (default: the spec's ``report.x``, else the first swept parameter
            other than ``arrangement``).

    Returns:
        The report's path.

    Raises:
        SweepError: not a sweep folder, an unknown metric or parameter.
    """
    manifest, cases = summarise_sweep(folder)
    params = [str(p) for p in manifest["parameters"]]
    options = manifest.get("report") or {}
    metric = metric or options.get("metric") or DEFAULT_METRIC
    if metric not in _METRIC:
        raise SweepError(f"unknown metric '{metric}'; allowed: {', '.join(_METRIC)}")
    first = next((p for p in params if p != "arrangement"), params[0] if params else None)
    x = x or options.get("x") or first
    if x is not None and x not in params:
        raise SweepError(f"--x '{x}' is not a swept parameter; the sweep sets: {', '.join(params) or 'none'}")
    m = _METRIC[metric]
    records = _summary_records(cases, params)
    (folder / "summary.csv").write_text(_csv(records), encoding="utf-8")
    png = save_figure(sweep_figure(cases, metric, x), folder / "sweep.png")

    tasks = len(manifest["tasks"])
    done = sum(c.done for c in cases)
    unavailable = [c for c in cases if not c.available and c.note]
    meta = [["scenario", manifest["spec"]["scenario"]], ["scenario hash", manifest["scenario_hash"][:16]],
            ["made with", f"iadsim {manifest['iadsim_version']} (report: iadsim {__version__})"],
            ["cases × replications", f"{len(cases)} × {manifest['spec']['replications']} = {tasks} tasks"],
            ["tasks done", f"{done} of {tasks}" + ("" if done == tasks else " (incomplete: rerun the sweep)")
             ],
            ["confidence", f"{CONFIDENCE:.0%} two-sided, Student t over replications"]]
    head = [*params, f"{m.label} ({m.unit}) mean ± half-width", "CI", "replications with a value",
            "replications done", "note"]
    body = []
    for c in cases:
        s = c.metrics.get(metric)
        ci = (f"{_fmt(s.ci_low, m.unit)} … {_fmt(s.ci_high, m.unit)}"
              if s is not None and math.isfinite(s.ci_low) else "—")
        body.append([*(c.overrides.get(p, "") for p in params), _cell(s, m.unit), ci,
                     s.replications if s else 0, f"{c.done}/{c.replications}", c.note])
    all_head = [*params, *(f"{mm.label} ({mm.unit})" for mm in METRICS)]
    all_body = [[*(c.overrides.get(p, "") for p in params), *(_cell(c.metrics.get(mm.name), mm.unit)
                                                             for mm in METRICS)] for c in cases]
    n = len(params)
    sections = [
        ("<h2>Figure</h2>" + embedded_png(png, f"{m.label} by {x}")),
        (f"<h2>{esc(m.label)} by case</h2><p>Means over replications of the per-replication mean "
         "(docs/compare.md), with the half-width of the confidence interval.</p>"
         + table(head, body, numeric=list(range(n, n + 4)))),
        ("<h2>Every metric</h2>" + table(all_head, all_body, numeric=list(range(n, n + len(METRICS))))),
    ]
    if unavailable:
        sections.append("<h2>Unavailable cases</h2>" + table(
            ["case", *params, "why"], [[c.case_id, *(c.overrides.get(p, "") for p in params), c.note]
                                       for c in unavailable]))
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iadsim sweep: {esc(manifest['spec']['scenario'])}</title>
<style>{_CSS}</style></head>
<body>
<h1>Sweep: {esc(manifest['spec']['scenario'])}</h1>
<div class="meta">{table(['', ''], meta)}</div>
{''.join(sections)}
<p class="muted">Made by iadsim {esc(__version__)}. Data: results/ (Parquet, hive-partitioned by case),
summary.csv.</p>
</body></html>
"""
    path = folder / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
