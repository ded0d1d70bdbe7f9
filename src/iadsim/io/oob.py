"""The order of battle as CSV (one row per unit and equipment type), JSON and GeoJSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from iadsim.oob import OobEntry, OrderOfBattle
from iadsim.symbology import affiliation_of, unit_sidc

__all__ = ["CSV_COLUMNS", "oob_to_csv", "oob_to_geojson", "oob_to_json", "oob_to_records"]

CSV_COLUMNS = [
    "as_of", "unit_id", "unit_name", "nation", "kind", "parent_id", "depth", "place", "lat_deg",
    "lon_deg", "in_service_from", "in_service_to", "alert_duty", "equipment_type",
    "equipment_name", "count", "sources", "assumed",
]


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _record(oob: OrderOfBattle, e: OobEntry) -> dict[str, Any]:
    return {
        "unit_id": e.unit_id,
        "name": e.name,
        "nation": e.nation,
        "kind": e.kind,
        "parent_id": e.parent_id,
        "depth": e.depth,
        "place": e.place_name,
        "place_id": e.place_id,
        "lat_deg": e.lat_deg,
        "lon_deg": e.lon_deg,
        "in_service_from": _date(e.in_service_from),
        "in_service_to": _date(e.in_service_to),
        "alert_duty": e.alert_duty,
        "equipment": [{"type": t, "name": oob.type_name(t), "count": n,
                       "planned": e.planned.get(t, 0)} for t, n in e.equipment.items()],
        "totals": [{"type": t, "name": oob.type_name(t), "count": n} for t, n in e.totals.items()],
        "subunits": e.subunits,
        "sources": list(e.sources),
        "assumed": e.assumed,
        "note": e.note,
        "affiliation": affiliation_of(oob.scenario, e.nation),
        "sidc": unit_sidc(e.kind, affiliation_of(oob.scenario, e.nation)),
    }


def oob_to_records(oob: OrderOfBattle) -> list[dict[str, Any]]:
    """One plain dict per unit (JSON-ready)."""
    return [_record(oob, e) for e in oob]


def oob_to_json(oob: OrderOfBattle) -> str:
    """The order of battle as a JSON document with the date, the units and totals by type."""
    doc = {
        "scenario": oob.scenario.name,
        "as_of": oob.as_of.isoformat(),
        "units": oob_to_records(oob),
        "totals_by_type": {
            nation: {oob.type_name(t): n for t, n in oob.totals_by_type(nation).items()}
            for nation in oob.nations
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def oob_to_csv(oob: OrderOfBattle) -> str:
    """One row per unit and equipment type it holds (a unit with none has one row)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in oob:
        base = [
            oob.as_of.isoformat(), e.unit_id, e.name, e.nation, e.kind, e.parent_id or "", e.depth,
            e.place_name or "", "" if e.lat_deg is None else e.lat_deg,
            "" if e.lon_deg is None else e.lon_deg, _date(e.in_service_from) or "",
            _date(e.in_service_to) or "", str(e.alert_duty).lower(),
        ]
        tail = [";".join(e.sources), "; ".join(f"{k}: {v}" for k, v in e.assumed.items())]
        items = list(e.equipment.items()) or [("", 0)]
        for type_id, count in items:
            name = oob.type_name(type_id) if type_id else ""
            writer.writerow([*base, type_id, name, count if type_id else "", *tail])
    return buf.getvalue()


def oob_to_geojson(oob: OrderOfBattle) -> str:
    """Units with a known place as GeoJSON Points (RFC 7946: lon, lat)."""
    features = []
    for e in oob:
        if e.lat_deg is None or e.lon_deg is None:
            continue
        props = _record(oob, e)
        props.pop("lat_deg")
        props.pop("lon_deg")
        features.append({
            "type": "Feature",
            "id": e.unit_id,
            "geometry": {"type": "Point", "coordinates": [e.lon_deg, e.lat_deg]},
            "properties": props,
        })
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
