"""Exports of a scenario's provenance: the cited sources, and the audit of cited and assumed
numbers (per file, per kind of record, overall, or number by number), as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from iadsim.scenario.provenance import ProvenanceCount, ProvenanceEntry
from iadsim.scenario.schema import Scenario

__all__ = [
    "AUDIT_COLUMNS",
    "ENTRY_COLUMNS",
    "SOURCE_COLUMNS",
    "audit_to_csv",
    "audit_to_json",
    "entries_to_csv",
    "entries_to_json",
    "source_records",
    "sources_to_csv",
    "sources_to_json",
]

AUDIT_COLUMNS = ("group", "name", "numbers", "cited", "assumed", "cited_share")
ENTRY_COLUMNS = ("file", "line", "kind", "record", "field", "status", "sources", "reason")
SOURCE_COLUMNS = ("id", "title", "publisher", "date", "confidence", "url", "numbers_cited", "note")


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def _audit_record(c: ProvenanceCount) -> dict[str, Any]:
    return {"group": c.group, "name": c.name, "numbers": c.numbers, "cited": c.cited,
            "assumed": c.assumed, "cited_share": round(c.cited_share, 4)}


def audit_to_csv(counts: Iterable[ProvenanceCount]) -> str:
    """One row per file, per kind of record and for the total (``AUDIT_COLUMNS``); the share is
    a fraction (0–1) to four decimals."""
    return _csv(AUDIT_COLUMNS, (_audit_record(c) for c in counts))


def audit_to_json(counts: Iterable[ProvenanceCount]) -> str:
    """``{"by_file": [...], "by_kind": [...], "total": {...}}``, each count as in the CSV."""
    rows = [_audit_record(c) for c in counts]
    doc = {"by_file": [r for r in rows if r["group"] == "file"],
           "by_kind": [r for r in rows if r["group"] == "kind"],
           "total": next(r for r in rows if r["group"] == "total")}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _entry_record(e: ProvenanceEntry) -> dict[str, Any]:
    return {"file": e.file, "line": e.line, "kind": e.kind, "record": e.record, "field": e.field,
            "status": "cited" if e.cited else "assumed", "sources": ";".join(e.sources),
            "reason": e.reason}


def entries_to_csv(entries: Iterable[ProvenanceEntry]) -> str:
    """One row per number (``ENTRY_COLUMNS``); ``sources`` separated by ``;``."""
    return _csv(ENTRY_COLUMNS, (_entry_record(e) for e in entries))


def entries_to_json(entries: Iterable[ProvenanceEntry]) -> str:
    """A JSON list of the numbers, each as in the CSV but with ``sources`` as a list."""
    rows = [{**_entry_record(e), "sources": list(e.sources)} for e in entries]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def source_records(scenario: Scenario, entries: Iterable[ProvenanceEntry]) -> list[dict[str, Any]]:
    """The scenario's listed sources in its order, each with how many of ``entries`` cite it
    (``numbers_cited``; a source cited only for non-numeric facts has 0)."""
    cited: dict[str, int] = {}
    for e in entries:
        for sid in e.sources:
            cited[sid] = cited.get(sid, 0) + 1
    return [{"id": sid, "title": s.title, "publisher": s.publisher,
             "date": s.date.isoformat() if s.date else None,
             "confidence": s.confidence.value if s.confidence else None, "url": s.url,
             "numbers_cited": cited.get(sid, 0), "note": s.note}
            for sid, s in scenario.sources.items()]


def sources_to_csv(records: Iterable[dict[str, Any]]) -> str:
    """One row per source (``SOURCE_COLUMNS``)."""
    return _csv(SOURCE_COLUMNS, records)


def sources_to_json(records: Iterable[dict[str, Any]]) -> str:
    """A JSON list of the sources, as in the CSV."""
    return json.dumps(list(records), indent=2, ensure_ascii=False) + "\n"
