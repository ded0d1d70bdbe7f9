"""The self-contained HTML run report: one file, figures embedded, no network needed to view it."""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from iadsim.oob import OrderOfBattle
from iadsim.scenario.provenance import cited_source_ids, collect_assumptions, collect_overrides
from iadsim.scenario.schema import Scenario
from iadsim.version import __version__

__all__ = ["ReportSection", "render_report", "warnings_box"]

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.8em 0; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
/* cells wrap between words only (break-word leaves a column at least its longest word wide: no
   "sam briga de"); URLs and ids may break anywhere so that wide tables still fit the page */
td, th { overflow-wrap: break-word; word-break: normal; hyphens: manual; }
td.url, td.id { overflow-wrap: anywhere; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums;
                                     overflow-wrap: normal; }
tr.depth0 td { font-weight: 600; background: #fafafa; }
.meta td:first-child { font-weight: 600; } .muted { color: #666; font-size: 0.85em; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.warning { border: 2px solid #b35c00; background: #fff4e5; padding: 0.4em 0.9em; margin: 0.8em 0; }
.warning li { margin: 0.2em 0; }
nav a { margin-right: 1em; }
section.findings { border: 2px solid #2c6fbb; background: #f3f8fd; padding: 0.2em 1em 0.6em;
                   margin: 1em 0; }
section.findings h2 { margin-top: 0.4em; border: none; } section.findings li { margin: 0.25em 0; }
details.long > summary { cursor: pointer; color: #2c6fbb; margin: 0.4em 0; }
code { background: #f4f4f4; padding: 0 3px; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } nav { display: none; }
  h2 { page-break-before: auto; } img { max-width: 95%; page-break-inside: avoid; }
  table { font-size: 7.5pt; } th, td { padding: 1px 3px; } tr { page-break-inside: avoid; }
  section.findings { page-break-inside: avoid; } }
"""


class ReportSection:
    """A titled block of HTML in the report."""

    def __init__(self, anchor: str, title: str, body: str) -> None:
        self.anchor = anchor
        self.title = title
        self.body = body


def esc(value: object) -> str:
    """HTML-escape any value."""
    return html.escape("" if value is None else str(value))


COLLAPSE_ROWS = 25
"""A table of more rows is folded (``<details>``) so that the report reads from its findings down."""


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          numeric: Sequence[int] = (), row_classes: Sequence[str] | None = None,
          breakable: Sequence[int] = (), data: str | None = None,
          collapse_after: int | None = COLLAPSE_ROWS) -> str:
    """An HTML table; cells are escaped; columns in ``numeric`` are right-aligned, those in
    ``breakable`` (URLs, ids) may break anywhere. A table of more than ``collapse_after`` rows is
    folded behind a summary line; ``data`` (a file beside the report) is linked as the complete data."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if j in numeric
            else f'<td class="url">{esc(c)}</td>' if j in breakable else f"<td>{esc(c)}</td>"
            for j, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    html_table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    link = (f' Complete data: <a href="{esc(data)}"><code>{esc(data)}</code></a>.' if data else "")
    if collapse_after is not None and len(body) > collapse_after:
        return (f'<details class="long"><summary>Show the table ({len(body):,} rows)</summary>'
                f"{html_table}</details>" + (f"<p class='muted'>{link.strip()}</p>" if link else ""))
    return html_table + (f"<p class='muted'>{link.strip()}</p>" if link else "")


def embedded_png(path: Path, alt: str) -> str:
    """An <img> with the PNG inlined as a data URI."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _fmt_equipment(oob: OrderOfBattle, counts: dict[str, int]) -> str:
    return ", ".join(f"{n} × {oob.type_name(t)}" for t, n in counts.items())


def oob_section(oob: OrderOfBattle, data: str | None = None) -> ReportSection:
    """The order of battle: one row per unit, indented by hierarchy, with rolled-up equipment."""
    rows, classes = [], []
    for e in oob:
        indent = "\u2003" * e.depth
        span = f"{e.in_service_from.isoformat() if e.in_service_from else '…'} – " \
               f"{e.in_service_to.isoformat() if e.in_service_to else ''}"
        rows.append([
            indent + e.name, e.nation, e.kind.replace("_", " "), e.place_name or "not public",
            _fmt_equipment(oob, e.totals), span, "yes" if e.alert_duty else "",
            ", ".join(e.sources) + (" (+ assumptions)" if e.assumed else ""),
        ])
        classes.append(f"depth{min(e.depth, 2)}")
    totals_rows = []
    for nation in oob.nations:
        for type_id, n in oob.totals_by_type(nation).items():
            totals_rows.append([oob.scenario.nations[nation].name, oob.type_name(type_id), n])
    body = (
        f"<p>{len(oob)} units in service on {esc(oob.as_of.isoformat())}. Equipment counts of a "
        "parent include its subordinate units; for surface-to-air missile systems the count is "
        "launchers.</p>"
        + table(["unit", "nation", "kind", "location", "equipment (incl. subunits)",
                 "in service", "alert duty", "sources"], rows, row_classes=classes, data=data)
        + "<h3>Totals by nation and type</h3>"
        + table(["nation", "type", "in service"], totals_rows, numeric=[2])
    )
    return ReportSection("oob", "Order of battle", body)


def assumptions_section(scenario: Scenario, data: str | None = None) -> ReportSection:
    """Every value no source gives, with the reason it was assumed and its plausible range; the
    values the scenario's own files set over the reference data, with the file and line; the
    variants and the option in effect."""
    items = collect_assumptions(scenario)
    ranged = sum(1 for a in items if a.range)
    rows = [[a.record, a.field, a.reason, a.range] for a in items]
    body = (f"<p>{len(items)} assumptions, {ranged} with a plausible range (what "
            "<code>iadsim sensitivity</code> samples). Everything else cites a source below.</p>"
            + table(["record", "field", "why it is assumed", "plausible range: why"], rows,
                    breakable=[0], data=data))
    overrides = collect_overrides(scenario)
    if overrides:
        body += ("<h3>Values this scenario sets</h3><p>Each replaces an included value; its source "
                 "is the file and line that set it, and the included value's source, assumption and "
                 "range no longer apply.</p>"
                 + table(["record", "field", "set by"], [[o.record, o.field, o.where] for o in overrides]))
    if scenario.variants:
        vrows = []
        for vid, variant in scenario.variants.items():
            for oid, option in variant.options.items():
                why = ", ".join(option.source)
                if option.assumed:
                    why += "; assumed: " + "; ".join(option.assumed.values())
                vrows.append([vid if oid == next(iter(variant.options)) else "", oid,
                              "in effect" if oid == scenario.chosen(vid) else "", option.name, why])
        body += ("<h3>Variants</h3><p>Choices between published alternatives; the run uses the "
                 "option in effect (<code>choose:</code> in a scenario selects another), a "
                 "sensitivity study tries each.</p>"
                 + table(["variant", "option", "", "what", "sources"], vrows))
    return ReportSection("assumptions", "Assumptions", body)


def sources_section(scenario: Scenario, data: str | None = None) -> ReportSection:
    """The public sources cited by the scenario's facts."""
    cited = cited_source_ids(scenario)
    rows = []
    for sid in sorted(cited, key=lambda s: (len(s), s)):
        src = scenario.sources.get(sid)
        if src is None:
            continue
        rows.append([sid, src.title, src.publisher or "", src.date.isoformat() if src.date else "",
                     src.confidence or "", src.url or ""])
    body = ("<p>Confidence codes: C consistent across two or more sources; S single source; "
            "M manufacturer or official claim; U unconfirmed; X sources conflict.</p>"
            + table(["id", "title", "publisher", "date", "confidence", "url"], rows, breakable=[5],
                    data=data))
    return ReportSection("sources", "Sources", body)


def timeline_section(scenario: Scenario, data: str | None = None) -> ReportSection:
    """The dated milestones of the system and the units' and deliveries' start dates."""
    rows: list[list[object]] = [
        [m.date.isoformat(), m.label, m.arrangement or "", ", ".join(m.source)]
        for m in scenario.timeline.values()]
    for uid, unit in scenario.units.items():
        if unit.in_service.start is not None:
            rows.append([unit.in_service.start.isoformat(), f"in service: {unit.name}", "",
                         ", ".join(unit.source)])
        for item in unit.equipment:
            if item.in_service.start is not None and item.in_service.start != unit.in_service.start:
                rows.append([item.in_service.start.isoformat(),
                             f"{item.count} × {item.type} to {unit.name}", "",
                             ", ".join(item.source or unit.source)])
        if unit.in_service.end is not None:
            rows.append([unit.in_service.end.isoformat(), f"out of service: {unit.name} ({uid})",
                         "", ", ".join(unit.source)])
    rows.sort(key=lambda r: str(r[0]))
    body = table(["date", "event", "arrangement from then", "sources"], rows, data=data)
    return ReportSection("timeline", "Timeline", body)


def warnings_box(warnings: Sequence[str]) -> str:
    """The run's warnings (a date outside the data, places outside the borders) as one box; empty
    without warnings."""
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return f'<div class="warning" role="alert"><strong>Warning</strong><ul>{items}</ul></div>'


def render_report(scenario: Scenario, as_of: dt.date, sections: Sequence[ReportSection],
                  meta: dict[str, str], path: Path, warnings: Sequence[str] = (), lead: str = "") -> Path:
    """Write the report HTML to ``path`` from its sections and a metadata table; ``warnings`` open
    the report in a box, ``lead`` (the key findings) follows them."""
    nav = " ".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    meta_rows = table(["", ""], list(meta.items()), collapse_after=None)
    blocks = "".join(f'<h2 id="{esc(s.anchor)}">{esc(s.title)}</h2>\n{s.body}\n' for s in sections)
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iadsim report: {esc(scenario.name)} ({esc(as_of.isoformat())})</title>
<style>{_CSS}</style></head>
<body>
<h1>{esc(scenario.name)}</h1>
<p>{esc(scenario.description)}</p>
{warnings_box(warnings)}
{lead}
<div class="meta">{meta_rows}</div>
<nav>{nav}</nav>
{blocks}
<p class="muted">Made by iadsim {esc(__version__)} from public data only. Every number has a
source or is listed under Assumptions.</p>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a report rendered again and killed half-way leaves the old one
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    return path
