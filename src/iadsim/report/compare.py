"""The output folder of ``iadsim compare``: outcomes, the summary table, a figure and the report.

The folder holds ``outcomes.parquet`` (every replication and arrangement), ``runs.parquet`` (per-run
counts), ``summary.csv`` and ``summary.json`` (the table with CIs and paired differences),
``compare.png`` and ``report.html`` (self-contained). Definitions: docs/compare.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from iadsim.analysis.statistics import CONFIDENCE, METRICS, Metric, MetricSummary
from iadsim.io.parquet import write_table
from iadsim.io.paths import check_reusable_folder
from iadsim.report.figures import save_figure
from iadsim.report.html import (
    ReportSection,
    assumptions_section,
    embedded_png,
    esc,
    render_report,
    sources_section,
    table,
)
from iadsim.runs.compare import Comparison
from iadsim.scenario.schema import Arrangement
from iadsim.version import __version__

__all__ = ["COMPARE_FILES", "CompareReport", "check_compare_folder", "compare_figure", "compare_sections",
           "write_compare_report"]

COMPARE_FILES = ("outcomes.parquet", "runs.parquet", "summary.csv", "summary.json", "compare.png",
                 "report.html")
"""What a comparison writes into its folder (and all a folder it may write into again may hold)."""

ARRANGEMENT_COLOURS = {"national": "#4c72b0", "exchange": "#55a868", "joint": "#c44e52",
                       "wartime": "#8172b2"}

SUMMARY_COLUMNS = ("arrangement", "metric", "label", "unit", "mean", "half_width", "ci_low", "ci_high",
                   "replications", "events", "objects", "diff_mean", "diff_half_width", "diff_ci_low",
                   "diff_ci_high", "diff_replications", "diff_pairs", "available", "note")

_TIME_METRICS = tuple(m for m in METRICS if m.event is not None)


@dataclass(frozen=True)
class CompareReport:
    """What ``write_compare_report`` wrote."""

    folder: Path
    report: Path
    files: tuple[Path, ...]


def _value(metric: Metric, value: float, signed: bool = False) -> str:
    """A metric's value for a table (its unit is in the column header): seconds whole, shares in per
    cent, the others to two decimals."""
    if not math.isfinite(value):
        return "—"
    text = (f"{value:,.0f}" if metric.unit == "s" else f"{100 * value:.0f}" if metric.unit == "share"
            else f"{value:.2f}")
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # no "-0"
    return ("+" + text if signed and value > 0 and text != _value(metric, 0.0) else text).replace("-", "−")


def _half(metric: Metric, half: float) -> str:
    if not math.isfinite(half):
        return "± —"
    if metric.unit == "s":
        return f"± {half:,.0f}"
    if metric.unit == "share":
        return f"± {100 * half:.0f}"
    return f"± {half:.2f}"


def _interval(metric: Metric, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{_value(metric, low)}, {_value(metric, high)}]"


def _count(metric: Metric, s: MetricSummary) -> str:
    """The n of a cell: how many object-replications (or replications) the value is over."""
    if metric.event is not None:
        return f"n = {s.events}/{s.objects}"
    if metric.name == "track_breaks":
        return f"n = {s.objects}"
    if metric.name == "share_intercepted":
        return f"{s.events} of {s.objects}"
    return f"{s.events} in {s.replications} replications"


def _cell(metric: Metric, s: MetricSummary) -> str:
    if s.replications == 0:
        never = "never happened" if metric.event is not None else "no objects"
        return f"{never}<br><span class='muted'>{esc(_count(metric, s))}</span>"
    head = f"{esc(_value(metric, s.mean))} {esc(_half(metric, s.half_width))}"
    detail = "; ".join(x for x in (_interval(metric, s.ci_low, s.ci_high), _count(metric, s)) if x)
    return f"{head}<br><span class='muted'>{esc(detail)}</span>"


def _diff_cell(metric: Metric, s: MetricSummary) -> str:
    if s.diff_replications == 0:
        return "—<br><span class='muted'>no pairs</span>"
    head = f"{esc(_value(metric, s.diff_mean, signed=True))} {esc(_half(metric, s.diff_half_width))}"
    pairs = (f"{s.diff_pairs} paired objects" if metric.event is not None or metric.name == "track_breaks"
             else f"{s.diff_replications} paired replications")
    detail = "; ".join(x for x in (_interval(metric, s.diff_ci_low, s.diff_ci_high), pairs) if x)
    return f"{head}<br><span class='muted'>{esc(detail)}</span>"


def _html_table(headers: list[str], rows: list[list[str]], spans: dict[int, str] | None = None) -> str:
    """A table whose cells are already HTML; ``spans`` gives rows (by index) that hold one note
    across the metric columns."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        if spans and i in spans:
            body.append(f"<tr><td>{row[0]}</td><td colspan='{len(headers) - 1}'>{spans[i]}</td></tr>")
        else:
            cells = "".join(f'<td class="num">{c}</td>' for c in row[1:])
            body.append(f"<tr><td>{row[0]}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _metric_header(metric: Metric) -> str:
    unit = {"s": "s", "share": "%"}.get(metric.unit, metric.unit)
    return f"{metric.label} ({unit})"


def results_table(comparison: Comparison) -> str:
    """The table of every arrangement's metrics with CIs (HTML)."""
    rows: list[list[str]] = []
    spans: dict[int, str] = {}
    for arr in comparison.arrangements:
        if arr in comparison.unavailable:
            spans[len(rows)] = esc(comparison.unavailable[arr])
            rows.append([f"<b>{esc(arr)}</b>"])
            continue
        rows.append([f"<b>{esc(arr)}</b>", *(_cell(m, comparison.get(arr, m.name)) for m in METRICS)])
    return _html_table(["arrangement", *(_metric_header(m) for m in METRICS)], rows, spans)


def differences_table(comparison: Comparison) -> str:
    """The paired differences of each arrangement minus the baseline (HTML)."""
    rows: list[list[str]] = []
    spans: dict[int, str] = {}
    for arr in comparison.arrangements:
        if arr == comparison.baseline:
            continue
        label = f"<b>{esc(arr)}</b> − {esc(comparison.baseline)}"
        if arr in comparison.unavailable:
            spans[len(rows)] = esc(comparison.unavailable[arr])
            rows.append([label])
            continue
        rows.append([label, *(_diff_cell(m, comparison.get(arr, m.name)) for m in METRICS)])
    return _html_table(["difference", *(_metric_header(m) for m in METRICS)], rows, spans)


def compare_figure(comparison: Comparison) -> Figure:
    """Per arrangement, the mean with its CI of the time metrics (left) and of the leakers per
    replication (right); error bars are the 95 % CIs, none with one replication."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    arrs = comparison.available
    fig, (ax_t, ax_l) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, width_ratios=[3, 1.2])
    width = 0.8 / max(len(arrs), 1)
    for ax, metrics in ((ax_t, _TIME_METRICS), (ax_l, tuple(m for m in METRICS if m.name == "leakers"))):
        x = np.arange(len(metrics), dtype=float)
        top = 0.0
        for i, arr in enumerate(arrs):
            s = [comparison.get(arr, m.name) for m in metrics]
            mean = np.asarray([v.mean for v in s])
            half = np.asarray([v.half_width for v in s])
            pos = x - 0.4 + width * (i + 0.5)
            ok = np.isfinite(mean)
            err = np.where(np.isfinite(half), half, 0.0)
            colour = ARRANGEMENT_COLOURS.get(arr, "#888888")
            ax.bar(pos[ok], mean[ok], width * 0.9, color=colour)
            bars = ok & np.isfinite(half)
            if bars.any():
                ax.errorbar(pos[bars], mean[bars], yerr=err[bars], fmt="none", ecolor="black",
                            capsize=3, linewidth=1)
            top = max(top, float(np.max(mean[ok] + err[ok], initial=0.0)))
            foot = blended_transform_factory(ax.transData, ax.transAxes)
            for p in pos[~ok]:
                ax.text(p, 0.02, "none", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="#555555", transform=foot)
        ax.set_xticks(x, [m.label for m in metrics], fontsize=8)
        ax.set_ylim(0.0, top * 1.15 if top > 0 else 1.0)
        ax.grid(axis="y", alpha=0.3)
    ax_t.set_ylabel("seconds from the object's start")
    ax_t.set_title("Mean time to each event (over objects it happened to)", fontsize=10)
    ax_l.set_ylabel("leakers per replication")
    ax_l.set_title("Leakers", fontsize=10)
    ax_t.legend(handles=[Patch(color=ARRANGEMENT_COLOURS.get(a, "#888888"), label=a) for a in arrs],
                fontsize=8, title="arrangement", title_fontsize=8)
    fig.suptitle(f"{comparison.scenario.name}, {comparison.as_of.isoformat()}: {comparison.replications} "
                 f"replication{'s' if comparison.replications != 1 else ''}, "
                 f"{100 * CONFIDENCE:.0f} % CIs", fontsize=10)
    fig.tight_layout()
    return fig


_FOOTNOTE = (
    "Each value is the mean over replications of the per-replication value, ± the half-width of its "
    "{conf} % confidence interval (Student t with k − 1 degrees of freedom over the k replications in "
    "which it is defined); the interval is in brackets. With one replication there is no interval "
    "(± —). Times run from the object's start (when it appears) to the event at the deciding node: "
    "first track, declared unknown (identification), visual identification by the interceptors "
    "(intercept). A time is over the objects for which the event happened; an event that never "
    "happened (no time) is not counted as any time, and <i>n = e/o</i> says it happened in e of the o "
    "object-replications (objects that entered a defended airspace, summed over replications). Track "
    "breaks: changes of the deciding node's track on the object, mean per object. Leakers: objects "
    "never intercepted, per replication. Share intercepted: intercepted objects over all, per "
    "replication.")

_CRN = (
    "<p>Common random numbers: in each replication the sensing pass (traffic, radar scan phases, "
    "detections, false alarms, jamming) runs once and every arrangement's command and control runs "
    "over the same detections; replication r is seeded by (seed {seed}, r) whatever the arrangement or "
    "the number of worker processes. The arrangements differ only in command and control, so the "
    "differences are paired by replication: the variation the arrangements share cancels, and the "
    "interval of a difference is usually much narrower than the two intervals of the means suggest. "
    "The first detection of each object is the same in every arrangement of a replication.</p>")


KEY_METRICS = ("leakers", "share_destroyed", "missiles", "time_to_first_track_s", "time_to_identification_s")
"""The metrics of the key findings and of ``iadsim compare``'s summary table (the report has all)."""


def comparison_findings(comparison: Comparison) -> list[str]:
    """What each arrangement changed against the baseline, in sentences: the key metrics' means and
    the paired difference with its CI, and whether the replications resolve it."""
    by = {(m.arrangement, m.metric): m for m in comparison.summary}
    # a metric that is zero or undefined under every arrangement (missiles in peacetime) says nothing
    metrics = [m for m in METRICS if m.name in KEY_METRICS and any(
        math.isfinite(r.mean) and r.mean != 0 for r in comparison.summary if r.metric == m.name)]
    conf = f"{100 * CONFIDENCE:.0f}"
    base = comparison.baseline
    out = []
    for arr in comparison.arrangements:
        if arr in comparison.unavailable:
            out.append(f"{arr}: not available at this date ({comparison.unavailable[arr]}).")
            continue
        if arr == base:
            parts = [f"{m.label} {_value(m, by[(arr, m.name)].mean)}{_unit_word(m)}" for m in metrics
                     if (arr, m.name) in by and math.isfinite(by[(arr, m.name)].mean)]
            out.append(f"Baseline {arr}: " + "; ".join(parts) + ".")
            continue
        parts, same = [], []
        for m in metrics:
            row = by.get((arr, m.name))
            if row is None or not math.isfinite(row.diff_mean):
                continue
            if row.diff_mean == 0 and (not math.isfinite(row.diff_ci_low)
                                       or row.diff_ci_low == row.diff_ci_high == 0):
                same.append(m.label)
                continue
            resolved = (math.isfinite(row.diff_ci_low) and math.isfinite(row.diff_ci_high)
                        and (row.diff_ci_low > 0 or row.diff_ci_high < 0))
            ci = (f" ({conf} % CI {_value(m, row.diff_ci_low, True)} to {_value(m, row.diff_ci_high, True)}"
                  f"{'' if resolved else ', not resolved'})" if math.isfinite(row.diff_ci_low) else "")
            parts.append(f"{m.label} {_value(m, row.diff_mean, True)}{_unit_word(m)}{ci}")
        if same:
            parts.append(f"no change in {', '.join(same)}")
        out.append(f"{arr} against {base}: " + ("; ".join(parts) if parts else "no metric to compare") + ".")
    return out


def _unit_word(metric: Metric) -> str:
    return {"s": " s", "share": " %"}.get(metric.unit, f" {metric.unit}")


def compare_sections(comparison: Comparison, figure_png: Path | None) -> list[ReportSection]:
    """The sections of the comparison report: arrangements, results, differences, figure, CRN."""
    sc = comparison.scenario
    arr_rows = []
    for arr in comparison.arrangements:
        rules = sc.arrangements.get(Arrangement(arr))
        deciding = ", ".join(f"{a}: {n}" for a, n in rules.authority.items()) if rules else ""
        status = comparison.unavailable.get(arr, "available")
        arr_rows.append([arr, rules.description if rules else "no rules in the scenario", deciding, status])
    arrangements = ReportSection(
        "arrangements", "Command arrangements",
        "<p>Each arrangement is a different command and control over the same air situation and "
        "sensors (docs/models/c2.md).</p>"
        + table(["arrangement", "what it means", "deciding node per airspace", "at this date"], arr_rows))
    conf = f"{100 * CONFIDENCE:.0f}"
    objects = comparison.outcomes.num_rows // max(len(comparison.available), 1)
    results = ReportSection(
        "results", "Results",
        f"<p>{comparison.replications} replication{'s' if comparison.replications != 1 else ''}; "
        f"{objects} object-replications per arrangement entered a defended airspace (hostile-side "
        "objects without a flight plan or IFF).</p>"
        + results_table(comparison)
        + f"<p class='muted'>{_FOOTNOTE.format(conf=conf)}</p>")
    body = ""
    if len(comparison.available) > 1 or len(comparison.arrangements) > 1:
        body = (f"<p>Each arrangement minus <b>{esc(comparison.baseline)}</b> (the first listed that "
                f"could be built), paired by replication, mean ± {conf} % CI half-width. Times and "
                "track breaks are paired object by object over the objects for which both arrangements "
                "have a value, so a difference can differ from the difference of the two means above; "
                "leakers and shares are paired replication by replication. An interval that excludes "
                "0 is a difference the replications resolve.</p>"
                + differences_table(comparison))
    else:
        body = "<p>One arrangement: nothing to compare it with.</p>"
    differences = ReportSection("differences", f"Paired differences vs {comparison.baseline}", body)
    sections = [arrangements, results, differences]
    if figure_png is not None:
        sections.append(ReportSection(
            "figure", "Figure", embedded_png(figure_png, "mean times and leakers per arrangement")
            + f"<p class='muted'>Bars: means over replications; error bars: {conf} % CIs (none with one "
            "replication); 'none': the event never happened.</p>"))
    sections.append(ReportSection("crn", "Common random numbers", _CRN.format(seed=sc.seed)))
    sections += [assumptions_section(sc), sources_section(sc)]
    return sections


def _csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ("" if r[k] is None else repr(r[k]) if isinstance(r[k], float) else r[k])
                         for k in SUMMARY_COLUMNS})
    return buf.getvalue()


def check_compare_folder(folder: Path) -> None:
    """Raise OutputPathError unless ``folder`` is absent, empty or a comparison's folder (its files
    only, ``COMPARE_FILES``, with a comparison's ``summary.json``): a comparison replaces an earlier
    one, but never a run folder's or a user's files."""
    check_reusable_folder(folder, "summary.json", _is_comparison, owner="a comparison",
                          unmarked="a comparison's summary.json", only=COMPARE_FILES)


def _is_comparison(summary: Any) -> bool:
    return isinstance(summary, dict) and "common_random_numbers" in summary and "arrangements" in summary


def write_compare_report(comparison: Comparison, folder: Path) -> CompareReport:
    """Write the comparison's outputs into ``folder``.

    Args:
        comparison: from ``compare_arrangements``.
        folder: the output folder (created; absent, empty or an earlier comparison's:
            ``check_compare_folder``).
    """
    check_compare_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = [write_table(comparison.outcomes, folder / "outcomes.parquet"),
             write_table(comparison.runs, folder / "runs.parquet")]
    records = comparison.summary_records()
    csv_path = folder / "summary.csv"
    csv_path.write_text(_csv(records), encoding="utf-8")
    sc = comparison.scenario
    doc = {
        "scenario": sc.name,
        "as_of": comparison.as_of.isoformat(),
        "seed": sc.seed,
        "scenario_hash": comparison.scenario_hash,
        "iadsim_version": __version__,
        "replications": comparison.replications,
        "arrangements": list(comparison.arrangements),
        "baseline": comparison.baseline,
        "unavailable": comparison.unavailable,
        "confidence": CONFIDENCE,
        "common_random_numbers": "one sensing pass per replication, shared by every arrangement",
        "metrics": [{"name": m.name, "label": m.label, "unit": m.unit, "event": m.event} for m in METRICS],
        "rows": records,
    }
    json_path = folder / "summary.json"
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    png = save_figure(compare_figure(comparison), folder / "compare.png")
    meta = {
        "date (as of)": comparison.as_of.isoformat(),
        "arrangements": ", ".join(comparison.arrangements),
        "replications": str(comparison.replications),
        "seed": str(sc.seed),
        "scenario hash": comparison.scenario_hash,
        "iadsim version": __version__,
        "terrain": "ETOPO5 (bundled)" if comparison.terrain else "none: smooth earth",
    }
    items = "".join(f"<li>{esc(t)}</li>" for t in comparison_findings(comparison))
    lead = (f'<section class="findings" id="findings"><h2>Key findings</h2><p>Over '
            f"{comparison.replications} replications, means and paired differences with "
            f"{100 * CONFIDENCE:.0f} % CIs:</p><ul>{items}</ul></section>")
    report = render_report(sc, comparison.as_of, compare_sections(comparison, png), meta,
                           folder / "report.html", lead=lead)
    return CompareReport(folder, report, (report, *files, csv_path, json_path, png))
