"""The order of battle at a date: which units are in service, where, with what equipment.

A unit is in service on a day when the day falls in its ``in_service`` period; an equipment item
counts when it is in service too. Totals roll subordinate units up into their parents, so a
regiment shows the launchers of its battalions in service on that day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from iadsim.data import BORDERS_ENV, borders_extent
from iadsim.dataframes import html_table, to_geopandas_points, to_pandas
from iadsim.scenario.dates import DateLike, as_date, check_data_period
from iadsim.scenario.schema import Scenario, Unit

__all__ = ["OobEntry", "OrderOfBattle", "UnknownNation", "order_of_battle", "outside_borders_warning"]


@dataclass(frozen=True)
class OobEntry:
    """One unit in service at the date, with its own and its rolled-up equipment."""

    unit_id: str
    name: str
    nation: str
    kind: str
    parent_id: str | None
    depth: int
    place_id: str | None
    place_name: str | None
    lat_deg: float | None
    lon_deg: float | None
    in_service_from: dt.date | None
    in_service_to: dt.date | None
    alert_duty: bool
    equipment: dict[str, int]
    totals: dict[str, int]
    planned: dict[str, int]  # of ``equipment``: items whose date is a plan (``planned: true``)
    subunits: int
    sources: tuple[str, ...]
    assumed: dict[str, str]
    note: str | None


@dataclass(frozen=True)
class OrderOfBattle:
    """The order of battle of a scenario at a date, in hierarchy order."""

    scenario: Scenario
    as_of: dt.date
    entries: tuple[OobEntry, ...]
    nations: tuple[str, ...] = field(default=())

    def __iter__(self) -> Iterator[OobEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        totals = ", ".join(f"{n} {self.type_name(t)}" for t, n in self.totals_by_type().items()
                           if self.scenario.catalog.kind_of(t) == "sam_systems")
        return (f"<OrderOfBattle {self.scenario.name!r} on {self.as_of.isoformat()}: {len(self)} units "
                f"({', '.join(self.nations)}); launchers: {totals or 'none'}>")

    def _repr_html_(self) -> str:
        """The totals by nation and type, then the first units (a notebook's display)."""
        totals = [[n, self.type_name(t), c] for n in self.nations for t, c in self.totals_by_type(n).items()]
        units = [["\u2003" * e.depth + e.name, e.nation, e.kind.replace("_", " "),
                  e.place_name or "not public",
                  ", ".join(f"{c} × {self.type_name(t)}" for t, c in e.totals.items())]
                 for e in self.entries[:15]]
        more = f" (first 15 of {len(self)}; all in to_pandas())" if len(self) > 15 else ""
        return (html_table(["nation", "type", "in service"], totals, numeric=[2],
                           caption=f"{self.scenario.name}: order of battle on {self.as_of.isoformat()}")
                + html_table(["unit", "nation", "kind", "place", "equipment (incl. subunits)"], units,
                             caption=f"{len(self)} units{more}"))

    def records(self) -> list[dict[str, Any]]:
        """One mapping per unit, in hierarchy order: the entry's fields, equipment as ``type: count``
        text, sources and assumed fields joined."""
        out = []
        for e in self.entries:
            row = asdict(e)
            row["equipment"] = "; ".join(f"{t}: {n}" for t, n in e.equipment.items())
            row["totals"] = "; ".join(f"{t}: {n}" for t, n in e.totals.items())
            row["sources"] = ", ".join(e.sources)
            row["assumed"] = "; ".join(f"{k}: {v}" for k, v in e.assumed.items())
            row["launchers"] = sum(n for t, n in e.totals.items()
                                   if self.scenario.catalog.kind_of(t) == "sam_systems")
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per unit (``records()``); needs the ``analysis`` extra."""
        columns = [*OobEntry.__dataclass_fields__, "launchers"]
        return to_pandas(self.records(), columns)

    def to_geopandas(self) -> Any:
        """A GeoDataFrame of the units at their places (points, WGS84); units without a public place
        have an empty geometry. Needs the ``analysis`` extra."""
        return to_geopandas_points(self.to_pandas())

    def by_id(self, unit_id: str) -> OobEntry:
        """The entry of a unit (KeyError if it is not in service at the date)."""
        for entry in self.entries:
            if entry.unit_id == unit_id:
                return entry
        raise KeyError(unit_id)

    def totals_by_type(self, nation: str | None = None) -> dict[str, int]:
        """Equipment in service by catalog type id, optionally for one nation."""
        out: Counter[str] = Counter()
        for e in self.entries:
            if nation is None or e.nation == nation:
                out.update(e.equipment)
        return dict(sorted(out.items()))

    def type_name(self, type_id: str) -> str:
        """The display name of a catalog type id."""
        catalog = self.scenario.catalog
        section = catalog.kind_of(type_id)
        if section is None:
            return type_id
        entry = getattr(catalog, section)[type_id]
        return str(entry.name)


def _natural_key(text: str) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


_KIND_ORDER = [
    "sam_brigade", "sam_regiment", "sam_battalion", "sam_battery", "radar_brigade",
    "radar_battalion", "radar_site", "ew_regiment", "ew_centre", "ew_battalion", "air_base",
    "air_detachment", "communications",
]


def _sort_key(unit_id: str, unit: Unit) -> tuple[object, ...]:
    kind = str(unit.kind)
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    return (rank, _natural_key(unit.name), unit_id)


def _in_service_equipment(unit: Unit, day: dt.date, planned_only: bool = False) -> dict[str, int]:
    out: Counter[str] = Counter()
    for item in unit.equipment:
        if item.in_service.contains(day) and (item.planned or not planned_only):
            out[item.type] += item.count
    return {k: v for k, v in out.items() if v > 0}


class UnknownNation(KeyError, ValueError):
    """A nation id that the scenario does not have (the message lists those it has)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def order_of_battle(scenario: Scenario, as_of: DateLike | None = None,
                    nation: str | None = None, *, allow_outside_data: bool = False) -> OrderOfBattle:
    """The units in service at ``as_of`` (default: the scenario's), optionally for one nation.

    Args:
        scenario: a loaded scenario.
        as_of: the date (``datetime.date``, ISO string or year = 31 December); a unit is listed
            when the date falls in its in-service period.
        nation: a nation id (e.g. ``BLR``) to list only that nation's units.
        allow_outside_data: accept a date outside the scenario's ``data_period``.

    Raises:
        UnknownNation: ``nation`` is not a nation of the scenario (a KeyError and a ValueError; the
            message lists the scenario's nations).
        ValueError: ``as_of`` is not a date.
        OutsideDataPeriod: ``as_of`` is outside the data's period and not allowed.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"order_of_battle takes a loaded Scenario (iadsim.load_scenario), got {scenario!r}")
    day = scenario.as_of if as_of is None else as_date(as_of)
    check_data_period(scenario, day, allow_outside_data=allow_outside_data)
    if nation is not None and nation not in scenario.nations:
        raise UnknownNation(f"unknown nation {nation!r}; the scenario has: {', '.join(scenario.nations)}")
    live = {uid: u for uid, u in scenario.units.items()
            if u.in_service.contains(day) and (nation is None or u.nation == nation)}
    children: dict[str | None, list[str]] = defaultdict(list)
    for uid, unit in live.items():
        parent = unit.parent if unit.parent in live else None
        children[parent].append(uid)
    for kids in children.values():
        kids.sort(key=lambda k: _sort_key(k, live[k]))

    own = {uid: _in_service_equipment(u, day) for uid, u in live.items()}
    totals: dict[str, Counter[str]] = {}

    def total(uid: str) -> Counter[str]:
        if uid not in totals:
            acc: Counter[str] = Counter(own[uid])
            for child in children.get(uid, []):
                acc.update(total(child))
            totals[uid] = acc
        return totals[uid]

    entries: list[OobEntry] = []

    def visit(uid: str, depth: int) -> None:
        unit = live[uid]
        place = scenario.places.get(unit.place) if unit.place else None
        entries.append(OobEntry(
            unit_id=uid, name=unit.name, nation=unit.nation, kind=str(unit.kind),
            parent_id=unit.parent, depth=depth, place_id=unit.place,
            place_name=place.name if place else None,
            lat_deg=place.lat_deg if place else None, lon_deg=place.lon_deg if place else None,
            in_service_from=unit.in_service.start, in_service_to=unit.in_service.end,
            alert_duty=unit.alert_duty, equipment=own[uid], totals=dict(sorted(total(uid).items())),
            planned=_in_service_equipment(unit, day, planned_only=True),
            subunits=len(children.get(uid, [])), sources=tuple(unit.source),
            assumed=dict(unit.assumed), note=unit.note,
        ))
        for child in children.get(uid, []):
            visit(child, depth + 1)

    roots = sorted(children.get(None, []), key=lambda k: (live[k].nation, _sort_key(k, live[k])))
    for root in roots:
        visit(root, 0)
    nations = tuple(sorted({e.nation for e in entries}))
    return OrderOfBattle(scenario, day, tuple(entries), nations)


def outside_borders_warning(oob: OrderOfBattle) -> str | None:
    """A warning when units in service stand outside the extent of the borders in use (maps would
    draw them without borders), saying how to supply borders for their region; None otherwise."""
    lon_min, lon_max, lat_min, lat_max = borders_extent()
    outside: dict[str, tuple[float, float]] = {}
    for e in oob.entries:
        if e.lat_deg is None or e.lon_deg is None:
            continue
        if not (lon_min <= e.lon_deg <= lon_max and lat_min <= e.lat_deg <= lat_max):
            outside.setdefault(e.place_name or e.place_id or e.unit_id, (e.lat_deg, e.lon_deg))
    if not outside:
        return None
    shown = ", ".join(f"{name} ({lat:.2f}° N, {lon:.2f}° E)"
                      for name, (lat, lon) in list(outside.items())[:5])
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    return (f"{len(outside)} place{'s' if len(outside) != 1 else ''} of units in service lie outside the "
            f"borders iadsim has (longitude {lon_min:g}° to {lon_max:g}°, latitude {lat_min:g}° to "
            f"{lat_max:g}°): {shown}{more}; maps show them without borders. To draw the borders of "
            f"their region, set {BORDERS_ENV} to a GeoJSON file of its polygons with 'id' and 'name' "
            "properties (docs/regions.md)")
