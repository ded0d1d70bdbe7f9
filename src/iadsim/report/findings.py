"""The key findings that open every run report and that ``iadsim run`` prints: plain sentences with
numbers, counted from the run folder (``iadsim.analysis.findings``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from iadsim.analysis.findings import ClassFinding, RegionFinding, class_findings, region_findings
from iadsim.io.run_folder import RunFolder
from iadsim.report.html import esc

__all__ = ["RunFindings", "findings_box", "run_findings"]


@dataclass(frozen=True)
class RunFindings:
    """A run's key findings: per class of air object, per neighbouring state, and as sentences."""

    classes: tuple[ClassFinding, ...]
    regions: tuple[RegionFinding, ...]
    sentences: tuple[str, ...]
    engagements: bool


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _plural_class(label: str) -> str:
    if label.endswith("aircraft") or label.endswith("s"):
        return label
    return label + "s"


def _altitude(value_m: float, ref: str) -> str:
    return f"{value_m:,.0f} m {ref.upper()}"


def _class_sentences(classes: Sequence[ClassFinding], engagements: bool) -> list[str]:
    out = []
    for c in classes:
        if c.entered:
            text = (f"{_n(c.entered, c.label, _plural_class(c.label))} entered the defended airspace: "
                    f"{c.detected:,} detected")
            if engagements:
                text += (f", {c.destroyed:,} destroyed, {c.leaked:,} leaked; "
                         f"{_n(c.missiles, 'missile')} fired at them")
            out.append(text + ".")
        elif c.flown:
            out.append(f"{_n(c.flown, c.label, _plural_class(c.label))} flew without entering a defended "
                       f"airspace as a hostile-side object; {c.detected_any:,} detected.")
    return out


def _region_sentences(regions: Sequence[RegionFinding]) -> list[str]:
    by_region: dict[str, list[RegionFinding]] = {}
    for r in regions:
        by_region.setdefault(r.region, []).append(r)
    out = []
    for name, rows in by_region.items():
        rows = sorted(rows, key=lambda r: r.altitude_m)
        at = [_altitude(r.altitude_m, r.altitude_ref) for r in rows]
        detected = ", ".join(f"{r.detected_pct:.0f} % at {a}" for r, a in zip(rows, at, strict=True))
        engageable = ", ".join(engageable_shares(r) for r in rows)
        out.append(f"{name}: detected over {detected} of its area; engageable over {engageable} "
                   f"at the same altitudes ({aspect_words(rows[0].aspects)}).")
    return out


def engageable_shares(finding: RegionFinding) -> str:
    """The engageable shares of one finding, one per aspect: ``31/27/25 %`` (or ``31 %``)."""
    return "/".join(f"{p:.0f}" for p in finding.engageable_pct) + " %"


def aspect_words(aspects: Sequence[str]) -> str:
    """How the shares of ``engageable_shares`` are ordered: ``approaching/crossing/receding
    target``, ``a target at any heading`` for a study without aspects."""
    if all(a.startswith("any") for a in aspects):
        return "a target at any heading"
    return "/".join(aspects) + " target"


def run_findings(rf: RunFolder) -> RunFindings:
    """The key findings of a finished run folder (empty parts for what the run did not compute)."""
    scenario = rf.scenario()
    summary = rf.summary
    simulated = "simulation" in summary
    objects = rf.table("objects") if simulated and rf.has("objects") else None
    first = rf.table("first_detections") if simulated and rf.has("first_detections") else None
    outcomes = rf.table("outcomes") if rf.has("outcomes") else None
    classes = tuple(class_findings(scenario, objects, first, outcomes)) if objects is not None else ()
    engagements = rf.has("engagements") and scenario.engagement is not None \
        and bool(scenario.arrangements.get(scenario.arrangement)) \
        and scenario.arrangements[scenario.arrangement].wartime_rules
    cov = summary.get("coverage_study") or {}
    regions = tuple(region_findings(scenario, cov.get("regions", []), summary["as_of"],
                                    cov.get("rcs_name")))
    sentences = _class_sentences(classes, engagements)
    if regions:
        rcs = cov.get("rcs_name", "")
        sentences.append(f"Coverage against a {rcs.replace('_', ' ')} ({cov.get('rcs_m2', '?')} m² RCS) "
                         "over the neighbouring states:")
        sentences += _region_sentences(regions)
    if not sentences:
        sentences.append(f"{summary['units_in_service']:,} units in service with "
                         f"{summary['fire_units']:,} fire units and {summary['ground_radars']:,} ground "
                         "radars; the run neither simulated traffic nor computed coverage.")
    return RunFindings(classes, regions, tuple(sentences), engagements)


def findings_box(findings: RunFindings, warnings: Sequence[str] = ()) -> str:
    """The key-findings box that opens the report: sentences, then the per-class table."""
    items = "".join(f"<li>{esc(s)}</li>" for s in findings.sentences)
    table_html = ""
    if findings.classes:
        head = ["class", "flown", "detected"]
        if any(c.entered for c in findings.classes):
            head += ["entered", "of these detected"]
            if findings.engagements:
                head += ["destroyed", "leaked", "missiles"]
        rows = []
        for c in findings.classes:
            cells: list[object] = [c.label, c.flown, c.detected_any]
            if len(head) > 3:
                cells += [c.entered, c.detected]
                if findings.engagements:
                    cells += [c.destroyed, c.leaked, c.missiles]
            rows.append("<tr>" + "".join(
                f'<td class="num">{esc(v)}</td>' if i else f"<td>{esc(v)}</td>"
                for i, v in enumerate(cells)) + "</tr>")
        table_html = ("<table class='findings'><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
                      + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    note = ("<p class='muted'>Read with the warning above.</p>" if warnings else "")
    return (f'<section class="findings" id="findings"><h2>Key findings</h2><ul>{items}</ul>'
            f"{table_html}{note}</section>")
