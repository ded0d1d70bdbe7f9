"""Cross-reference checks over a merged scenario: every id named resolves, no hierarchy has a cycle,
every cited source exists. Works on the raw merged mapping so that it reports its findings even
when other fields fail the schema, and all problems are shown at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from iadsim.scenario.errors import Path

__all__ = ["check_references"]

Finding = tuple[Path, str, Any]

_EQUIPMENT_SECTIONS = ("sam_systems", "radars", "aircraft", "jammers", "passive_sensors")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """A list field, or nothing when the field is missing or not a list (the schema reports that)."""
    return value if isinstance(value, list) else []


def _items(value: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for key, item in _mapping(value).items():
        if isinstance(item, dict):
            yield key, item


class _Checker:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.findings: list[Finding] = []
        catalog = _mapping(data.get("catalog"))
        self.sections = {name: set(_mapping(catalog.get(name))) for name in
                         ("radars", "missiles", "sam_systems", "aircraft", "jammers",
                          "passive_sensors", "rcs_classes")}
        self.nations = set(_mapping(data.get("nations")))
        self.places = set(_mapping(data.get("places")))
        self.units = set(_mapping(data.get("units")))
        self.nodes = set(_mapping(data.get("command_nodes")))
        self.links = set(_mapping(data.get("links")))
        self.sources = set(_mapping(data.get("sources")))
        traffic = _mapping(data.get("traffic"))
        self.flights = set(_mapping(traffic.get("flights"))) | set(_mapping(traffic.get("orbits")))

    def ref(self, path: Path, value: Any, pool: set[str], what: str, optional: bool = True) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or value not in pool:
            hint = difflib.get_close_matches(str(value), sorted(pool), n=1)
            msg = f"unknown {what} '{value}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
            if not pool:
                msg += f" (the scenario defines no {what}s)"
            self.findings.append((path, msg, None))

    def sources_of(self, path: Path, ids: Any) -> None:
        for i, sid in enumerate(ids if isinstance(ids, list) else []):
            self.ref((*path, i), sid, self.sources, "source")

    def provenance(self, path: Path, record: Mapping[str, Any]) -> None:
        for fname, ids in _mapping(record.get("sources")).items():
            self.sources_of((*path, "sources", fname), ids)

    def run(self) -> list[Finding]:
        d = self.data
        base: Path
        catalog = _mapping(d.get("catalog"))
        for section in self.sections:
            for tid, t in _items(catalog.get(section)):
                self.provenance(("catalog", section, tid), t)
        for sid, sam in _items(catalog.get("sam_systems")):
            base = ("catalog", "sam_systems", sid)
            self.ref((*base, "missile"), sam.get("missile"), self.sections["missiles"], "missile",
                     optional=False)
            self.ref((*base, "fire_control_radar"), sam.get("fire_control_radar"),
                     self.sections["radars"], "radar")
            self.ref((*base, "acquisition_radar"), sam.get("acquisition_radar"),
                     self.sections["radars"], "radar")
        for aid, ac in _items(catalog.get("aircraft")):
            base = ("catalog", "aircraft", aid)
            self.ref((*base, "radar"), ac.get("radar"), self.sections["radars"], "radar")
            self.ref((*base, "air_to_air_missile"), ac.get("air_to_air_missile"),
                     self.sections["missiles"], "missile")
        for pid, place in _items(d.get("places")):
            self.sources_of(("places", pid, "source"), place.get("source"))
        for mid, milestone in _items(d.get("timeline")):
            self.sources_of(("timeline", mid, "source"), milestone.get("source"))
        equipment_pool = set().union(*(self.sections[s] for s in _EQUIPMENT_SECTIONS))
        for uid, unit in _items(d.get("units")):
            base = ("units", uid)
            self.ref((*base, "nation"), unit.get("nation"), self.nations, "nation", optional=False)
            self.ref((*base, "place"), unit.get("place"), self.places, "place")
            self.ref((*base, "parent"), unit.get("parent"), self.units | self.nodes,
                     "parent unit or command node")
            self.sources_of((*base, "source"), unit.get("source"))
            for i, item in enumerate(_list(unit.get("equipment"))):
                if isinstance(item, dict):
                    self.ref((*base, "equipment", i, "type"), item.get("type"), equipment_pool,
                             "equipment type", optional=False)
                    self.sources_of((*base, "equipment", i, "source"), item.get("source"))
        self.cycles("units", "parent", "unit hierarchy")
        self.readiness()
        self.variants()
        for nid, node in _items(d.get("command_nodes")):
            base = ("command_nodes", nid)
            self.ref((*base, "nation"), node.get("nation"), self.nations, "nation", optional=False)
            self.ref((*base, "place"), node.get("place"), self.places, "place")
            self.ref((*base, "superior"), node.get("superior"), self.nodes, "command node")
            self.sources_of((*base, "source"), node.get("source"))
            self.provenance(base, node)
        self.cycles("command_nodes", "superior", "chain of command")
        endpoints = self.nodes | self.units
        for lid, link in _items(d.get("links")):
            base = ("links", lid)
            for end in ("from", "to"):
                self.ref((*base, end), link.get(end), endpoints, "command node or unit",
                         optional=False)
            if link.get("from") is not None and link.get("from") == link.get("to"):
                self.findings.append(((*base, "to"), "a link must join two different ends",
                                      link.get("to")))
            self.provenance(base, link)
        for name, rules in _items(d.get("arrangements")):
            base = ("arrangements", name)
            for airspace, decider in _mapping(rules.get("authority")).items():
                self.ref((*base, "authority", airspace), airspace, self.nations, "nation",
                         optional=False)
                self.ref((*base, "authority", airspace), decider, self.nodes, "command node",
                         optional=False)
            for tasker, nations in _mapping(rules.get("may_task")).items():
                self.ref((*base, "may_task", tasker), tasker, self.nodes, "command node", optional=False)
                for i, nation in enumerate(nations if isinstance(nations, list) else []):
                    self.ref((*base, "may_task", tasker, i), nation, self.nations, "nation",
                             optional=False)
            self.sources_of((*base, "source"), rules.get("source"))
        traffic = _mapping(d.get("traffic"))
        for kind in ("flights", "raids", "orbits", "civil"):
            for fid, flight in _items(traffic.get(kind)):
                base = ("traffic", kind, fid)
                self.ref((*base, "type"), flight.get("type"), self.sections["aircraft"],
                         "aircraft type", optional=False)
                self.ref((*base, "nation"), flight.get("nation"), self.nations, "nation",
                         optional=False)
                points: list[tuple[Path, Any]] = []
                if kind in ("flights", "civil"):
                    points = [((*base, "route", i), w) for i, w in enumerate(_list(flight.get("route")))]
                elif kind == "orbits":
                    points = [((*base, "center"), flight.get("center"))]
                else:
                    points = [((*base, "origin"), flight.get("origin"))]
                    points += [((*base, "destinations", i), w)
                               for i, w in enumerate(_list(flight.get("destinations")))]
                for wpath, wp in points:
                    if isinstance(wp, dict) and wp.get("place") is not None:
                        self.ref((*wpath, "place"), wp.get("place"), self.places, "place")
        for eid, em in _items(d.get("emitters")):
            base = ("emitters", eid)
            self.ref((*base, "jammer"), em.get("jammer"), self.sections["jammers"], "jammer type",
                     optional=False)
            self.ref((*base, "nation"), em.get("nation"), self.nations, "nation", optional=False)
            self.ref((*base, "flight"), em.get("flight"), self.flights, "flight")
            loc = em.get("location")
            if isinstance(loc, dict) and loc.get("place") is not None:
                self.ref((*base, "location", "place"), loc.get("place"), self.places, "place")
        pools = {"unit": (self.units, "unit"), "link": (self.links, "link"),
                 "node": (self.nodes, "command node")}
        for eid, ev in _items(d.get("events")):
            kind = str(ev.get("kind", ""))
            target_kind = kind.split("_")[0]
            if target_kind in pools:
                pool, what = pools[target_kind]
                self.ref(("events", eid, "target"), ev.get("target"), pool, what, optional=False)
        return self.findings

    def variants(self) -> None:
        """Each variant option's sources exist."""
        for vid, variant in _items(self.data.get("variants")):
            for oid, option in _items(variant.get("options")):
                self.sources_of(("variants", vid, "options", oid, "sources"), option.get("sources"))

    def readiness(self) -> None:
        """Each unit's readiness state exists and fits its kind; one default per kind and duty."""
        states = dict(_items(self.data.get("readiness_states")))
        defaults: dict[tuple[str, str], str] = {}
        for sid, state in states.items():
            self.sources_of(("readiness_states", sid, "source"), state.get("source"))
            self.provenance(("readiness_states", sid), state)
            duty = state.get("default_for")
            for kind in _list(state.get("unit_kinds")):
                if duty is None or not isinstance(kind, str):
                    continue
                other = defaults.setdefault((kind, str(duty)), sid)
                if other != sid:
                    self.findings.append(((("readiness_states", sid, "default_for")),
                                          f"two default {duty} states for {kind}: '{other}' and "
                                          f"'{sid}'", duty))
        for uid, unit in _items(self.data.get("units")):
            state_id = unit.get("readiness")
            if state_id is None:
                continue
            path = ("units", uid, "readiness")
            self.ref(path, state_id, set(states), "readiness state", optional=False)
            kinds = states.get(state_id, {}).get("unit_kinds") if state_id in states else None
            if isinstance(kinds, list) and unit.get("kind") not in kinds:
                self.findings.append((path, f"a {unit.get('kind')} cannot hold readiness state "
                                      f"'{state_id}' (it is for: {', '.join(map(str, kinds))})",
                                      state_id))

    def cycles(self, section: str, field: str, what: str) -> None:
        records = dict(_items(self.data.get(section)))
        reported: set[str] = set()
        for start in records:
            chain, seen = [start], {start}
            current = records[start].get(field)
            while isinstance(current, str) and current in records:
                if current in seen:
                    loop = [*chain[chain.index(current):], current]
                    if not reported & set(loop):
                        reported.update(loop)
                        self.findings.append(((section, current, field),
                                              f"cycle in the {what}: " + " -> ".join(loop), None))
                    break
                seen.add(current)
                chain.append(current)
                current = records[current].get(field)


def check_references(data: Any) -> list[Finding]:
    """Every dangling reference, unknown source and hierarchy cycle in a merged scenario mapping.

    Returns (field path, message, given value or None) triples.
    """
    if not isinstance(data, dict):
        return []
    return _Checker(data).run()
