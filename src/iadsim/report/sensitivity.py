"""The report of a sensitivity study (a folder written by ``iadsim.runs.sensitivity.run_study``): the
metric's interval under all ranges, a tornado chart and table per metric, Morris's screening and the
Sobol indices, each factor with its reason. Renders the folder's tables only; no simulation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from matplotlib.figure import Figure

from iadsim.report.figures import save_figure
from iadsim.report.html import _CSS, ReportSection, embedded_png, esc, table
from iadsim.runs.sensitivity import read_manifest
from iadsim.version import __version__

__all__ = ["how_sure_section", "tornado_figure", "write_sensitivity_report"]


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / f"{name}.parquet"
    if not path.exists():
        return []
    rows = pq.read_table(path).to_pylist()
    return [r for r in rows if "empty" not in r]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _signed(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:+.3g}"


def _oat_by_factor(oat: list[dict[str, Any]], metric: str) -> list[tuple[str, float, float, str, str]]:
    """(factor, lowest effect, highest effect, at lowest, at highest) per factor, largest swing first."""
    per: dict[str, list[dict[str, Any]]] = {}
    for r in oat:
        if r["metric"] == metric:
            per.setdefault(r["factor"], []).append(r)
    out = []
    for factor, rows in per.items():
        finite = [r for r in rows if r["effect"] is not None and math.isfinite(r["effect"])]
        if not finite:
            continue
        lo = min(finite, key=lambda r: r["effect"])
        hi = max(finite, key=lambda r: r["effect"])
        out.append((factor, min(0.0, lo["effect"]), max(0.0, hi["effect"]), str(lo["at"]), str(hi["at"])))
    return sorted(out, key=lambda t: -(t[2] - t[1]))


def tornado_figure(metric: str, base: float, oat: list[dict[str, Any]], most: int = 15) -> Figure:
    """A tornado chart: per factor, the metric at each end of its range (or each option), as bars
    from the scenario's value; the factors that move it most at the top."""
    rows = _oat_by_factor(oat, metric)[:most]
    fig = Figure(figsize=(9, 0.45 * max(3, len(rows)) + 1.2))
    ax = fig.add_subplot()
    for i, (_factor, lo, hi, at_lo, at_hi) in enumerate(reversed(rows)):
        ax.barh(i, lo, left=base, color="#4477aa", height=0.6)
        ax.barh(i, hi, left=base, color="#ee6677", height=0.6)
        if lo < 0:
            ax.text(base + lo, i, f"{at_lo} ", va="center", ha="right", fontsize=7)
        if hi > 0:
            ax.text(base + hi, i, f" {at_hi}", va="center", ha="left", fontsize=7)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
    ax.axvline(base, color="#333", linewidth=1)
    ax.set_xlabel(f"{metric} (the scenario's value {base:.3g}; blue: lower, red: higher)")
    ax.margins(x=0.25)
    fig.tight_layout()
    return fig


def _interval_text(row: dict[str, Any]) -> str:
    return (f"{_fmt(row['low'])} – {_fmt(row['high'])} (ends ±{_fmt(row['low_error'], 2)}, "
            f"±{_fmt(row['high_error'], 2)}; {row['level']:.0%} of {row['samples']} draws)")


def how_sure_section(folder: Path, anchor: str = "how-sure", link_study: bool = True) -> ReportSection:
    """'How sure is this figure?': each metric's value, its interval under all ranges together and
    the two assumptions that move it most one at a time, from a study folder."""
    manifest = read_manifest(folder)
    base = {r["factor"]: r for r in _rows(folder, "factors")}
    oat, intervals = _rows(folder, "one_at_a_time"), {r["metric"]: r for r in _rows(folder, "interval")}
    cases = _rows(folder, "cases")
    base_values = next((c for c in cases if c["stage"] == "base"), {})
    rows = []
    for metric in manifest["evaluator"].get("metrics", []):
        top = _oat_by_factor(oat, metric)[:2]
        movers = "; ".join(f"{f} ({_signed(lo)} … {_signed(hi)})" for f, lo, hi, _a, _b in top
                           if hi - lo > 0) or "none of the ranges moves it"
        interval = _interval_text(intervals[metric]) if metric in intervals else "—"
        rows.append([metric, _fmt(base_values.get(metric)), interval, movers])
    n_factors = len(base)
    body = (f"<p>Each figure under the {n_factors} stated ranges and variants of its assumptions "
            "(docs/sensitivity.md): the interval holds the central share of draws of all ranges "
            "together, with the sampling error of its ends; the two assumptions that move it most one "
            "at a time, with the change at each end."
            + (f" The full study is in <code>{esc(folder.name)}/report.html</code>." if link_study else "")
            + "</p>"
            + table(["figure", "value", "interval under all ranges", "moved most by"], rows, numeric=[1]))
    return ReportSection(anchor, "How sure is this figure?", body)


def write_sensitivity_report(folder: Path) -> Path:
    """Write ``report.html`` (and a tornado PNG per metric) into a study folder; returns its path.

    Raises:
        SensitivityError: ``folder`` is not a sensitivity study.
    """
    manifest = read_manifest(folder)
    metrics = list(manifest["evaluator"].get("metrics", []))
    factors = _rows(folder, "factors")
    oat, morris, sobol = _rows(folder, "one_at_a_time"), _rows(folder, "morris"), _rows(folder, "sobol")
    cases = _rows(folder, "cases")
    base = next((c for c in cases if c["stage"] == "base"), {})
    sections = [how_sure_section(folder, "summary", link_study=False).body]
    for i, metric in enumerate(metrics):
        png = save_figure(tornado_figure(metric, float(base.get(metric, math.nan)), oat),
                          folder / f"tornado-{i + 1}.png")
        oat_rows = [[r["factor"], r["end"], r["at"], _fmt(r["value"]), _signed(r["effect"]),
                     _fmt(r["effect_ci"], 2)] for r in oat if r["metric"] == metric]
        part = (f"<h2>{esc(metric)}</h2><h3>One at a time</h3>"
                + embedded_png(png, f"tornado chart of {metric}")
                + table(["factor", "end", "at", "value", "change", "± (95 %, replications)"], oat_rows,
                        numeric=[3, 4, 5]))
        m_rows = sorted((r for r in morris if r["metric"] == metric), key=lambda r: -r["mu_star"])
        if m_rows:
            part += ("<h3>Morris screening</h3><p>μ*: the mean absolute change over a factor's whole "
                     "range along the trajectories (its 95 % bootstrap half-width); μ: signed; σ: "
                     "spread, from interactions or non-linearity.</p>"
                     + table(["factor", "μ*", "±", "μ", "σ"],
                             [[r["factor"], _fmt(r["mu_star"]), _fmt(r["mu_star_ci"], 2), _fmt(r["mu"]),
                               _fmt(r["sigma"])] for r in m_rows], numeric=[1, 2, 3, 4]))
        s_rows = [r for r in sobol if r["metric"] == metric]
        if s_rows:
            part += ("<h3>Sobol indices</h3><p>For the factors Morris found to matter most (the others "
                     "at the scenario's values): S1, the share of the metric's variance a factor "
                     "explains alone; ST, with its interactions (95 % bootstrap half-widths).</p>"
                     + table(["factor", "S1", "±", "ST", "±"],
                             [[r["factor"], _fmt(r["s1"]), _fmt(r["s1_ci"], 2), _fmt(r["st"]),
                               _fmt(r["st_ci"], 2)] for r in s_rows], numeric=[1, 2, 3, 4]))
        sections.append(part)
    notes = [r["note"] for r in _rows(folder, "notes")]
    if notes:
        sections.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    sections.append("<h2>Factors</h2><p>Each range or variant of the scenario that the study varied, "
                    "what it spans and why. A factor marked inert cannot move the metrics (it changes "
                    "no input of the coverage study); its points were evaluated once.</p>"
                    + table(["factor", "kind", "spans", "why", ""],
                            [[f["factor"], f["kind"], f["spans"], f["reason"],
                              "" if f["relevant"] else "inert"] for f in factors]))
    settings = manifest["settings"]
    ev = manifest["evaluator"]
    meta = [["scenario hash", str(ev.get("scenario_hash", ""))[:16]],
            ["made with", f"iadsim {manifest['iadsim_version']} (report: iadsim {__version__})"],
            ["designs", f"one at a time; Morris {settings['trajectories']} trajectories × "
                        f"{len(factors) + 1} points, {settings['levels']} levels; interval: "
                        f"{settings['interval_samples']} scrambled Sobol' draws; Sobol indices: "
                        f"N = {settings['sobol_samples']} for up to {settings['sobol_factors']} factors; "
                        f"seed {settings['seed']}"],
            ["evaluations", f"{len(cases)} points, replications {ev.get('replications', 1)}"
                            + (f", coverage grid {ev['resolution_km']} km" if "resolution_km" in ev else "")]]
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iadsim sensitivity</title>
<style>{_CSS}</style></head>
<body>
<h1>How sure is this figure? Sensitivity study</h1>
<div class="meta">{table(['', ''], meta)}</div>
<h2>Summary</h2>
{''.join(sections)}
<p class="muted">Made by iadsim {esc(__version__)}. Tables: cases, one_at_a_time, morris, sobol,
interval, factors (CSV and Parquet) beside this file.</p>
</body></html>
"""
    path = folder / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
