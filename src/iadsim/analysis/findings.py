"""The key findings of a run, counted from its tables: per class of air object, what flew, entered a
defended airspace, was detected, destroyed or leaked and how many missiles it drew; per region of a
neighbouring state, the share of its area detected and engageable at each altitude of the run's
coverage. Pure functions of a run's tables (``iadsim.runs`` and the report call them)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from iadsim.data import load_regions
from iadsim.scenario.schema import Scenario, Side

__all__ = ["ClassFinding", "RegionFinding", "class_findings", "object_class", "region_findings"]


@dataclass(frozen=True)
class ClassFinding:
    """One class of air object (an aircraft role: ``cruise_missile``, ``fighter``, ``airliner``, …).

    Attributes:
        object_class: the role, as the catalog gives it.
        flown: objects of the class in the air during the run.
        detected_any: of those, detected by at least one radar (false alarms excluded).
        entered: hostile-side objects of the class that entered a defended airspace (the outcomes).
        detected: of those that entered, detected.
        destroyed: of those that entered, destroyed.
        leaked: of those that entered, leakers (reached their end undestroyed).
        missiles: surface-to-air and air-to-air missiles fired at objects of the class.
    """

    object_class: str
    flown: int
    detected_any: int
    entered: int
    detected: int
    destroyed: int
    leaked: int
    missiles: int

    @property
    def label(self) -> str:
        """The class in words (``cruise missile``, ``UAV``)."""
        return _CLASS_WORDS.get(self.object_class, self.object_class.replace("_", " "))


_CLASS_WORDS = {"uav": "UAV", "aew": "AEW aircraft"}
"""Roles whose words are not the role id with spaces."""


@dataclass(frozen=True)
class RegionFinding:
    """A region's share of area detected and engageable at one altitude of the run's coverage.

    Attributes:
        engageable_pct: one share per target aspect, in the order of ``aspects`` (engagement depends
            on the target's heading; detection does not).
        aspects: the aspects of the coverage study (``approaching``, ``crossing``, ``receding``, or
            degrees), as its region rows name them.
    """

    region: str
    altitude_m: float
    altitude_ref: str
    detected_pct: float
    engageable_pct: tuple[float, ...]
    aspects: tuple[str, ...]


def object_class(scenario: Scenario, type_id: str) -> str:
    """The class of an air object type: its catalog role, or the type id when the catalog lacks it."""
    aircraft = scenario.catalog.aircraft.get(type_id)
    return str(aircraft.role) if aircraft is not None else type_id


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, float | int) and math.isfinite(value)


def class_findings(scenario: Scenario, objects: pa.Table, first_detections: pa.Table | None,
                   outcomes: pa.Table | None) -> list[ClassFinding]:
    """Counts per class of air object, classes in the order of the objects table.

    Args:
        scenario: the scenario as run (its catalog gives each type's role).
        objects: the run's objects (``object_id``, ``type``).
        first_detections: the run's first detections (``object_id``, ``first_detection_s``: null for
            an object never detected), or None without a simulation.
        outcomes: the run's outcomes (``OUTCOME_SCHEMA``), or None without a C2 pass.
    """
    # the table has a row for every object; one never detected has no first detection time
    detected_ids = {oid for oid, t in zip(first_detections.column("object_id").to_pylist(),
                                          first_detections.column("first_detection_s").to_pylist(),
                                          strict=True) if _finite(t)} \
        if first_detections is not None and first_detections.num_rows else set()
    flown: dict[str, list[str]] = {}
    for oid, type_id in zip(objects.column("object_id").to_pylist(), objects.column("type").to_pylist(),
                            strict=True):
        flown.setdefault(object_class(scenario, type_id), []).append(oid)
    entered: dict[str, list[dict[str, Any]]] = {}
    for row in (outcomes.to_pylist() if outcomes is not None else []):
        entered.setdefault(object_class(scenario, row["type"]), []).append(row)
    out = []
    for cls in [*flown, *(c for c in entered if c not in flown)]:
        rows = entered.get(cls, [])
        out.append(ClassFinding(
            object_class=cls, flown=len(flown.get(cls, [])),
            detected_any=sum(oid in detected_ids for oid in flown.get(cls, [])),
            entered=len(rows),
            detected=sum(_finite(r["first_detection_s"]) for r in rows),
            destroyed=sum(_finite(r["killed_s"]) for r in rows),
            leaked=sum(bool(r["leaker"]) for r in rows),
            missiles=sum(int(r["missiles"] or 0) for r in rows)))
    return out


def region_findings(scenario: Scenario, regions: Sequence[Mapping[str, Any]], as_of: str,
                    rcs_class: str | None = None) -> list[RegionFinding]:
    """The coverage of the regions of the scenario's opposing-side nations (the neighbouring states
    whose airspace the system watches), one finding per region and altitude (the engageable share
    per target aspect), at the run's date.

    Args:
        scenario: the scenario as run (its nations' sides and regions; the regions' names).
        regions: the coverage study's region rows (``region``, ``as_of``, ``altitude_m``, ...).
        as_of: the run's date, ISO.
        rcs_class: the target class to report (default: the first in the rows).
    """
    bundled = load_regions()
    names = {bundled[n.region or nid].name for nid, n in scenario.nations.items()
             if n.side == Side.opposing and (n.region or nid) in bundled}
    rows = [r for r in regions if r.get("as_of") == as_of and r.get("region") in names]
    if rows and rcs_class is None:
        rcs_class = rows[0].get("rcs_class")
    grouped: dict[tuple[str, float, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("rcs_class") == rcs_class:
            key = (str(r["region"]), float(r["altitude_m"]), str(r.get("altitude_ref", "agl")))
            grouped.setdefault(key, []).append(r)
    return [RegionFinding(region, altitude, ref, float(group[0]["detected_pct"]),
                          tuple(float(g["engageable_pct"]) for g in group),
                          tuple(str(g.get("aspect") or "any") for g in group))
            for (region, altitude, ref), group in grouped.items()]
