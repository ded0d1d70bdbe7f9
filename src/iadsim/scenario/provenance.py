"""Provenance of a scenario's facts: every stated assumption and every cited source, and the
audit of how many of its numbers are cited and how many assumed."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path as FsPath

from pydantic import BaseModel

from iadsim.scenario.errors import Path, format_path
from iadsim.scenario.locations import scenario_locations
from iadsim.scenario.schema import (
    Scenario,
    Sourced,
    default_sensing_settings,
    default_tracking_settings,
)

__all__ = [
    "Assumption",
    "Override",
    "ProvenanceCount",
    "ProvenanceEntry",
    "cited_source_ids",
    "collect_assumptions",
    "collect_overrides",
    "provenance_audit",
    "provenance_entries",
]


@dataclass(frozen=True)
class Assumption:
    """A value no source gives: where it is (``units.blr_1_aamr``), which field, and why; with its
    plausible range where the data give one (``range``: '150 – 250 (uniform): why')."""

    record: str
    field: str
    reason: str
    range: str = ""


@dataclass(frozen=True)
class Override:
    """A value a scenario file (or a chosen variant) set over an included one, and where."""

    record: str
    field: str
    where: str


def _range_text(record: BaseModel, field: str) -> str:
    ranges = getattr(record, "ranges", None)
    if not isinstance(ranges, dict) or field not in ranges:
        return ""
    value = getattr(record, field, None)
    if not isinstance(value, int | float):
        return ""
    rng = ranges[field]
    return f"{rng.describe(float(value))}: {rng.reason}"


def _walk(obj: object, path: Path = ()) -> Iterator[tuple[Path, BaseModel]]:
    """Every model inside ``obj`` with its field path (``("units", "blr_1_aamr", "equipment", 0)``)."""
    if isinstance(obj, BaseModel):
        yield path, obj
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), (*path, name))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk(value, (*path, i))


def collect_assumptions(scenario: Scenario) -> list[Assumption]:
    """Every ``assumed`` entry in the scenario, plus the scenario-wide assumptions, in order.

    Of each variant, the option in effect is an assumption (which published alternative the run
    rests on), with its own ``assumed`` entries; the other options' are not listed.

    A scenario without a ``sensing:`` (``tracking:``) section runs on the default sensing
    (tracking) settings; their assumptions are listed too (record ``sensing (default)``,
    ``tracking (default)``), since the run rests on them.
    """
    out = [Assumption("scenario", "", text) for text in scenario.assumptions]
    for path, record in _walk(scenario):
        if path and path[0] == "variants":
            continue  # only the option in effect counts (below)
        assumed = getattr(record, "assumed", None)
        if isinstance(assumed, dict):
            out += [Assumption(format_path(path), field, reason, _range_text(record, field))
                    for field, reason in assumed.items()]
    for vid, variant in scenario.variants.items():
        option = scenario.chosen(vid)
        others = ", ".join(f"'{o}' ({v.name})" for o, v in variant.options.items() if o != option)
        how = "chosen by the scenario" if vid in scenario.choose else "the data's default"
        out.append(Assumption(f"variants.{vid}", "option",
                              f"'{option}' ({variant.options[option].name}), {how}; the "
                              f"alternative{'s' if len(variant.options) > 2 else ''}: {others}"))
        out += [Assumption(f"variants.{vid}.options.{option}", field, reason)
                for field, reason in variant.options[option].assumed.items()]
    defaults = [("sensing (default)", default_sensing_settings(), scenario.sensing),
                ("tracking (default)", default_tracking_settings(), scenario.tracking)]
    for name, settings, own in defaults:
        if own is None:
            out += [Assumption(name, field, reason, _range_text(settings, field))
                    for field, reason in settings.assumed.items()]
    return out


def collect_overrides(scenario: Scenario) -> list[Override]:
    """Every value the scenario's own files set over an included value, with the file and line
    (``overridden`` entries), in order."""
    out = []
    for path, record in _walk(scenario):
        overridden = getattr(record, "overridden", None)
        if isinstance(overridden, dict):
            out += [Override(format_path(path), field, where) for field, where in overridden.items()]
    return out


def cited_source_ids(scenario: Scenario) -> set[str]:
    """The ids of every source cited anywhere in the scenario."""
    cited: set[str] = set()
    for _, record in _walk(scenario):
        source = getattr(record, "source", None)
        if isinstance(source, list):
            cited.update(source)
        sources = getattr(record, "sources", None)
        if isinstance(sources, dict) and record is not scenario:
            for ids in sources.values():
                if isinstance(ids, list):
                    cited.update(ids)
    return cited


# ---------------------------------------------------------------------------------------------
# Audit: how many of the numbers are cited
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenanceEntry:
    """One number of a scenario and how it is known.

    ``file`` and ``line`` are where the value is written (a bundled file as
    ``iadsim/data/reference/catalog.yaml``); ``kind`` the kind of record (a catalog section such
    as ``missiles``, or ``places``, ``equipment``, ``c2``, ``command_nodes``, ...); ``record``
    its path; ``sources`` the ids of the sources that give it (empty for an assumed number) and
    ``reason`` the stated assumption (empty for a cited one).
    """

    file: str
    line: int | None
    kind: str
    record: str
    field: str
    sources: tuple[str, ...]
    reason: str

    @property
    def cited(self) -> bool:
        """Whether a source gives the number."""
        return bool(self.sources)


@dataclass(frozen=True)
class ProvenanceCount:
    """Cited and assumed numbers of one group: a file, a kind of record, or all (``total``)."""

    group: str
    name: str
    numbers: int
    cited: int

    @property
    def assumed(self) -> int:
        """Numbers that carry a stated assumption instead of a source."""
        return self.numbers - self.cited

    @property
    def cited_share(self) -> float:
        """Cited numbers as a fraction of all numbers of the group (0 for an empty group)."""
        return self.cited / self.numbers if self.numbers else 0.0


_PACKAGE_DIR = FsPath(str(resources.files("iadsim")))


def _shown_file(file: str) -> str:
    """A bundled file relative to the package (the same on every machine); a user's file relative
    to the working directory where it lies below it."""
    path = FsPath(file)
    for base, prefix in ((_PACKAGE_DIR, "iadsim"), (FsPath.cwd(), "")):
        try:
            rel = path.resolve().relative_to(base.resolve())
        except (ValueError, OSError):
            continue
        return os.path.join(prefix, rel.as_posix()) if prefix else rel.as_posix()
    return file


def _kind(path: Path) -> str:
    if path[0] == "catalog" and len(path) > 1:
        return str(path[1])
    if path[0] == "units":
        return "equipment"
    return str(path[0])


def _sourced_entries(record: Sourced, path: Path, kind: str,
                     where: dict[Path, tuple[str, int | None]]) -> Iterator[ProvenanceEntry]:
    for name in record._numeric_fields:
        if getattr(record, name) is None:
            continue
        file, line = where.get((*path, name)) or where.get(path) or ("", None)
        sources = tuple(record.sources.get(name, ()))
        if sources and name in record.assumed and _written_with_value(where, path, name) == "assumed":
            sources = ()
        reason = "" if sources else record.assumed.get(name, "")
        overridden = (getattr(record, "overridden", None) or {}).get(name)
        if not sources and not reason and overridden:
            # the scenario set the value without stating a source or a reason: that is its own
            # assumption, and the audit says where it is written
            reason = f"set by the scenario ({overridden}) without a source or a stated reason"
        yield ProvenanceEntry(file, line, kind, format_path(path), name, sources, reason)


def _written_with_value(where: dict[Path, tuple[str, int | None]], path: Path, name: str) -> str | None:
    """Of a field that both ``sources`` and ``assumed`` name (a scenario overrode an included
    value and stated its own provenance, which merges beside the inherited one), the one written
    in the same file as the value; None if that does not decide it."""
    value = where.get((*path, name))
    if value is None:
        return None
    same = [key for key in ("sources", "assumed") if (where.get((*path, key, name)) or ("",))[0] == value[0]]
    return same[0] if len(same) == 1 else None


def provenance_entries(scenario: Scenario) -> list[ProvenanceEntry]:
    """Every number of the scenario that is a fact about the real world, with its provenance.

    These are the numeric fields of the sourced records (catalog types, command nodes, links,
    readiness states and the c2, engagement, sensing and tracking settings), the coordinates of
    places and the equipment counts of units. A sourced record's number is cited when
    ``sources`` names it; a place's coordinate or an equipment count is cited by the record's
    (or the unit's) ``source`` list unless ``assumed`` names it. A scenario without a ``sensing:``
    (``tracking:``) section runs on the default settings, whose numbers are counted as written in
    the bundled data file. Entries come in the scenario's order.
    """
    where: dict[Path, tuple[str, int | None]] = {
        path: (_shown_file(loc.file), loc.line) for path, loc in scenario_locations(scenario).items()}
    out: list[ProvenanceEntry] = []
    for path, record in _walk(scenario):
        if not path:
            continue
        if isinstance(record, Sourced):
            out += _sourced_entries(record, path, _kind(path), where)
        elif path[0] == "places" and len(path) == 2:
            place = getattr(record, "assumed", {})
            for name in ("lat_deg", "lon_deg"):
                file, line = where.get((*path, name)) or ("", None)
                sources = () if name in place else tuple(getattr(record, "source", ()))
                out.append(ProvenanceEntry(file, line, "places", format_path(path), name, sources,
                                           place.get(name, "")))
        elif path[0] == "units" and len(path) == 4 and path[2] == "equipment":
            unit = scenario.units[str(path[1])]
            item_assumed = getattr(record, "assumed", {})
            file, line = where.get((*path, "count")) or where.get(path) or ("", None)
            sources = () if "count" in item_assumed else tuple(getattr(record, "source", ()) or unit.source)
            out.append(ProvenanceEntry(file, line, "equipment", format_path(path), "count", sources,
                                       item_assumed.get("count", "")))
    for section, settings in (("sensing", default_sensing_settings), ("tracking", default_tracking_settings)):
        if getattr(scenario, section) is None:
            file = _shown_file(str(_PACKAGE_DIR / "data" / "reference" / f"{section}.yaml"))
            out += _sourced_entries(settings(), (section,), section, {(section,): (file, None)})
    return out


def _counts(group: str, keys: Iterable[tuple[str, bool]]) -> list[ProvenanceCount]:
    numbers: dict[str, int] = {}
    cited: dict[str, int] = {}
    for key, is_cited in keys:
        numbers[key] = numbers.get(key, 0) + 1
        cited[key] = cited.get(key, 0) + int(is_cited)
    return [ProvenanceCount(group, key, numbers[key], cited[key]) for key in numbers]


def provenance_audit(entries: Iterable[ProvenanceEntry]) -> list[ProvenanceCount]:
    """Cited and assumed counts per file (in order of first appearance), per kind of record
    (likewise), then over all entries (group ``total``, name ``all``)."""
    rows = list(entries)
    return [*_counts("file", ((e.file, e.cited) for e in rows)),
            *_counts("kind", ((e.kind, e.cited) for e in rows)),
            ProvenanceCount("total", "all", len(rows), sum(e.cited for e in rows))]
