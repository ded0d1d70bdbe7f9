"""Loading a scenario: includes, overrides and removals, schema validation, reference checks.

A scenario file may ``include`` other files (paths relative to it) or bundled data sets and
scenarios by name; mappings merge recursively over the included ones, anything else replaces.
``remove`` lists dotted paths (``units.blr_825_aamr``) deleted from what was included before
the file's own content is applied, so remove-and-redefine replaces a record whole. Removing a
unit removes its subordinate units too.

Variants (docs/scenario-language.md, "Variants"): ``choose: {variant: option}`` in a file applies
the chosen option's ``changes`` over what the file includes, before the file's own content, so
the file can still override a field the option sets. A variant is chosen once along an include
chain.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from iadsim.scenario.collector import collector_paused
from iadsim.scenario.errors import Location, Path, ScenarioError, ScenarioErrors, format_path
from iadsim.scenario.locations import (
    Locations,
    attach_locations,
    attach_removed,
    locate,
    scenario_locations,
)
from iadsim.scenario.overrides import (
    PROVENANCE_KEYS,
    changes_to_present_records,
    choose_variants,
    get_path,
    mark_overridden,
)
from iadsim.scenario.overrides import model_at as _model_at
from iadsim.scenario.references import check_references
from iadsim.scenario.schema import RANGES_PREFIX, Scenario
from iadsim.scenario.yamlio import Document, paths_under, read_yaml_file

__all__ = [
    "BundledScenario",
    "Locations",
    "attach_locations",
    "bundled_data_sets",
    "bundled_scenarios",
    "load_scenario",
    "load_scenario_with_locations",
    "locate",
    "resolve_scenario_path",
    "scenario_locations",
    "validate_file",
]

_INCLUDE = "include"
_REMOVE = "remove"
_CHOOSE = "choose"
_VARIANTS = "variants"
_MAX_INCLUDE_DEPTH = 32

MAX_INCLUDED_FILES = 256
"""Most files one scenario may read, each counted every time it is included (the reference data
set is 12 files): ``include: [reference]`` fifty times is refused, not merged for minutes."""

MAX_INCLUDED_BYTES = 32 * 1024 * 1024
"""Most bytes one scenario may read, its own file and every include, each counted every time."""


@dataclass(frozen=True)
class BundledScenario:
    """A scenario shipped inside the package."""

    id: str
    path: FsPath
    name: str
    description: str


def _package_dir(*parts: str) -> FsPath:
    return FsPath(str(resources.files("iadsim").joinpath(*parts)))


def bundled_scenarios() -> list[BundledScenario]:
    """The bundled scenarios, sorted by id, with their name and description."""
    out = []
    for path in sorted(_package_dir("scenario", "bundled").glob("*.yaml")):
        doc, _ = read_yaml_file(path)
        data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        out.append(BundledScenario(path.stem, path, str(data.get("name", path.stem)),
                                   str(data.get("description", "")).strip()))
    return out


def bundled_data_sets() -> dict[str, FsPath]:
    """The bundled data sets a scenario can include by name (``reference``), by name."""
    root = _package_dir("data")
    return {p.parent.name: p for p in sorted(root.glob("*/*.yaml")) if p.stem == p.parent.name}


DEFAULT_SCENARIO = "reference-2020"
"""The bundled scenario that ``iadsim run`` and ``make run`` use when none is named."""


def resolve_scenario_path(name_or_path: str | FsPath | None) -> FsPath:
    """A scenario file path from a path, a bundled scenario id, or None (the default scenario).

    Raises ScenarioErrors naming the available scenarios if it is neither.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_SCENARIO
    path = FsPath(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in str(name_or_path):
        return path
    bundled = {s.id: s.path for s in bundled_scenarios()}
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    hint = difflib.get_close_matches(str(name_or_path), list(bundled), n=1)
    return_msg = "neither a file nor a bundled scenario" + (f"; did you mean '{hint[0]}'?" if hint else "")
    raise ScenarioErrors([ScenarioError(return_msg, (), Location(str(name_or_path), 1),
                                        allowed=", ".join(bundled) or "(none bundled)")])


def _resolve_include(name: str, including: FsPath) -> FsPath | None:
    candidate = (including.parent / name).resolve()
    if candidate.exists():
        return candidate
    data_sets = bundled_data_sets()
    if name in data_sets:
        return data_sets[name]
    bundled = {s.id: s.path for s in bundled_scenarios()}
    return bundled.get(name)


class _Merger:
    """Builds one merged document out of a file and everything it includes."""

    def __init__(self) -> None:
        self.errors: list[ScenarioError] = []
        # records removed by `remove:` (their id → the removal as written, where, its index), so a
        # reference left to one is reported once at the removal, not at every referring record
        self.removed: dict[str, tuple[str, Location | None, int]] = {}
        self.removed_from: dict[str, str] = {}  # id → its collection (places, units, radars, …)
        self.incomplete = False  # some file could not be read at all
        self.files = 0
        self.bytes = 0

    def load(self, path: FsPath, stack: tuple[FsPath, ...] = (),
             include_loc: Location | None = None,
             choose: Mapping[str, str] | None = None) -> Document | None:
        shown = str(path)
        if len(stack) > _MAX_INCLUDE_DEPTH:
            self.errors.append(ScenarioError("includes nest too deeply", (_INCLUDE,), include_loc))
            return None
        self.files += 1
        with contextlib.suppress(OSError):
            self.bytes += path.stat().st_size if path.is_file() else 0
        if self.files > MAX_INCLUDED_FILES or self.bytes > MAX_INCLUDED_BYTES:
            if not self.incomplete:
                self.errors.append(ScenarioError(
                    f"the includes read more than {MAX_INCLUDED_FILES} files or "
                    f"{MAX_INCLUDED_BYTES // 2**20} MiB (each counted every time it is included); "
                    "include each data set once", (_INCLUDE,), include_loc))
            self.incomplete = True
            return None
        doc, errs = read_yaml_file(path, shown)
        self.errors.extend(errs)
        if doc is None:
            self.incomplete = True
            return None
        if not isinstance(doc.data, dict):
            self.errors.append(ScenarioError(
                "a scenario file must be a mapping of fields (name: ..., as_of: ...)", (),
                Location(shown, 1), type(doc.data).__name__, True))
            return None
        own = dict(doc.data)
        includes = own.pop(_INCLUDE, [])
        removals = own.pop(_REMOVE, [])
        merged = Document({}, {(): Location(shown, 1)}, shown)
        for i, name in enumerate(self._as_list(includes, (_INCLUDE,), doc)):
            loc = doc.location_of((_INCLUDE, i))
            if not isinstance(name, str):
                self.errors.append(ScenarioError("an include must be a file name or bundled data set",
                                                 (_INCLUDE, i), loc, name, True))
                continue
            target = _resolve_include(name, path)
            if target is None:
                self.errors.append(ScenarioError(
                    "included file not found (relative to this file), and no bundled data set or "
                    "scenario has that name", (_INCLUDE, i), loc, name, True,
                    allowed=", ".join([*bundled_data_sets(), *(s.id for s in bundled_scenarios())])))
                continue
            resolved = target.resolve()
            if resolved in stack or resolved == path.resolve():
                chain = " -> ".join(p.name for p in (*stack, path.resolve(), resolved))
                self.errors.append(ScenarioError(f"include cycle: {chain}", (_INCLUDE, i), loc))
                continue
            sub = self.load(target, (*stack, path.resolve()), loc)
            if sub is not None:
                _merge_into(merged, sub.data, sub.locations)
        for i, dotted in enumerate(self._as_list(removals, (_REMOVE,), doc)):
            self._remove(merged, dotted, doc.location_of((_REMOVE, i)), i)
        selection = dict(own.get(_CHOOSE) or {}) if isinstance(own.get(_CHOOSE), dict) else {}
        if choose:
            for vid, option in choose.items():
                if vid in selection and selection[vid] != option:
                    self.errors.append(ScenarioError(
                        f"variant '{vid}' is chosen as '{selection[vid]}' here and as '{option}' "
                        "by the caller; choose it once", (_CHOOSE, vid),
                        doc.location_of((_CHOOSE, vid)), selection[vid], True))
            selection.update(choose)
            own[_CHOOSE] = selection
        # an option changes the data its variant is defined with: an included variant before
        # this file's own content (which may still override it), the file's own after it
        own_variants = _mapping_or_empty(own.get(_VARIANTS))
        for vid in own_variants:
            if vid in _mapping_or_empty(merged.data.get(_VARIANTS)):
                where = merged.location_of((_VARIANTS, vid))
                at = f" in {where.file}:{where.line}" if where else ""
                self.errors.append(ScenarioError(
                    f"variant '{vid}' is already defined{at}; a variant is defined once, next to the "
                    "data it varies (to use another option, choose it; to change a record, override "
                    "the record)", (_VARIANTS, vid), doc.location_of((_VARIANTS, vid))))
        included = {v: o for v, o in selection.items() if v not in own_variants}
        self._apply_variants(merged, own, doc, included)
        # `include` and `remove` are out of `own`, so their locations are never looked up
        own_locations = doc.locations
        changed = [p for p in _overridden_leaves(own, merged.data) if not _own_provenance(own, p)]
        _merge_into(merged, own, own_locations)
        for p in changed:
            loc = own_locations.get(p)
            mark_overridden(merged.data, p, f"{loc.file}:{loc.line}" if loc else shown)
        self._apply_variants(merged, own, doc,
                             {v: o for v, o in selection.items() if v in own_variants},
                             before=_mapping_or_empty(included))
        return merged

    def _apply_variants(self, merged: Document, own: Mapping[str, Any], doc: Document,
                        selection: Mapping[str, Any],
                        before: Mapping[str, Any] | None = None) -> None:
        """Merge the chosen options' changes over ``merged``."""
        defined: dict[str, Any] = dict(_mapping_or_empty(merged.data.get(_VARIANTS)))
        defined.update(_mapping_or_empty(own.get(_VARIANTS)))
        if before is None:
            before = _mapping_or_empty(merged.data.get(_CHOOSE))
        for vid, option in selection.items():
            loc = doc.location_of((_CHOOSE, vid)) or doc.location_of((_CHOOSE,))
            variant = defined.get(vid)
            options = _mapping_or_empty(variant.get("options")) if isinstance(variant, dict) else {}
            if option not in options:
                continue  # an unknown variant or option: the schema reports it (Scenario.choose)
            if vid in before and before[vid] != option:
                where = merged.location_of((_CHOOSE, vid))
                self.errors.append(ScenarioError(
                    f"variant '{vid}' is already chosen as '{before[vid]}'"
                    + (f" in {where.file}" if where else "") + "; choose it once", (_CHOOSE, vid),
                    loc, option, True))
                continue
            if vid in before:
                continue  # the same option, already applied by the included file
            changes = _mapping_or_empty(_mapping_or_empty(options[option]).get("changes"))
            prefix: Path = (_VARIANTS, vid, "options", option, "changes")
            source = doc if vid in _mapping_or_empty(own.get(_VARIANTS)) else merged
            n = len(prefix)
            locations = {p[n:]: at for p, at in source.locations.items() if p[:n] == prefix}
            # copied: the merge keeps values by reference, and the variant keeps its own changes;
            # nothing for records removed before (a fragment of one would not be a record)
            _merge_into(merged, copy.deepcopy(changes_to_present_records(merged.data, changes, self.removed)),
                        locations)

    def _as_list(self, value: Any, path: Path, doc: Document) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [value]
        self.errors.append(ScenarioError("expected a list", path, doc.location_of(path),
                                         value, True))
        return []

    def _remove(self, merged: Document, dotted: Any, loc: Location | None, index: int) -> None:
        # each removal is its own field path (remove[i]): one message per bad entry, not the first
        if not isinstance(dotted, str) or not dotted:
            self.errors.append(ScenarioError("a removal is a dotted path such as units.blr_15_aamr",
                                             (_REMOVE, index), loc, dotted, True))
            return
        parts = dotted.split(".")
        parent: Any = merged.data
        for part in parts[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or parts[-1] not in parent:
            options = list(parent) if isinstance(parent, dict) else []
            hint = difflib.get_close_matches(parts[-1], options, n=1)
            self.errors.append(ScenarioError(
                "cannot remove: nothing at that path in the included data"
                + (f"; did you mean '{'.'.join([*parts[:-1], hint[0]])}'?" if hint else ""),
                (_REMOVE, index), loc, dotted, True))
            return
        doomed = [tuple(parts)]
        if len(parts) == 2 and parts[0] == "units":
            doomed += [("units", u) for u in _descendants(parent, parts[1])]
        for path in doomed:
            _drop_locations(merged.locations, path, parent.pop(path[-1], None))
            if len(path) == 2 or (len(path) == 3 and path[0] == "catalog"):
                self.removed[path[-1]] = (dotted, loc, index)
                self.removed_from[path[-1]] = str(path[-2])


def _mapping_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _overridden_leaves(own: Mapping[str, Any], included: Mapping[str, Any],
                       path: Path = ()) -> list[Path]:
    """Paths of the values in a file's own content that replace a different included value (the
    file overrides them); provenance mappings and variants are not values of the model."""
    out: list[Path] = []
    for key, value in own.items():
        sub = (*path, key)
        if key in PROVENANCE_KEYS or key == "overridden" or sub == ("variants",):
            continue
        before = included.get(key) if isinstance(included, dict) else None
        if before is None:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            out += _overridden_leaves(value, before, sub)
        elif value != before:
            out.append(sub)
    return out


def _own_provenance(own: Mapping[str, Any], path: Path) -> bool:
    """Whether the file itself states the provenance of the field at ``path``."""
    record = get_path(own, list(path[:-1]))
    return isinstance(record, dict) and any(
        isinstance(record.get(k), dict) and path[-1] in record[k] for k in (*PROVENANCE_KEYS, "overridden"))


def _descendants(units: Mapping[str, Any], root: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for uid, unit in units.items():
        if isinstance(unit, dict) and isinstance(unit.get("parent"), str):
            children.setdefault(unit["parent"], []).append(uid)
    out, todo, seen = [], [root], {root}
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                out.append(child)
                todo.append(child)
    return out


def _drop_locations(locations: dict[Path, Location], prefix: Path, value: Any) -> None:
    """Forgets the locations of ``value`` (at ``prefix``) and everything in it: linear in its size,
    not in the size of the whole document."""
    for p in paths_under(prefix, value):
        locations.pop(p, None)


def _merge_into(target: Document, data: Mapping[str, Any], locations: Mapping[Path, Location],
                path: Path = ()) -> None:
    """Merge ``data`` (at ``path``) over ``target``: mappings recurse, anything else replaces."""
    node: Any = target.data
    for part in path:
        node = node[part]
    for key, value in data.items():
        sub = (*path, key)
        # a field's range is one statement: a file that gives one replaces the included one whole
        whole = bool(path) and path[-1] == "ranges"
        if isinstance(value, dict) and isinstance(node.get(key), dict) and not whole:
            if sub in locations:
                # a record merged into keeps the place it is defined (a range or an override file
                # adds to it; its fields point at where they are written)
                target.locations.setdefault(sub, locations[sub])
            _merge_into(target, value, locations, sub)
        else:
            if key in node:
                _drop_locations(target.locations, sub, node[key])
            # not copied: every document is read afresh (an alias is expanded into its own
            # objects), so nothing else refers to ``value``
            node[key] = value
            for p in paths_under(sub, value):
                loc = locations.get(p)
                if loc is not None:
                    target.locations[p] = loc


# ---------------------------------------------------------------------------------------------
# Turning pydantic's errors into messages in the user's terms
# ---------------------------------------------------------------------------------------------

_UNIT_WORDS = {
    "_km": "kilometres", "_m": "metres", "_s": "seconds", "_deg": "degrees", "_m2": "square metres",
    "_kmh": "km/h", "_mps": "m/s", "_kg": "kilograms", "_min": "minutes", "_w": "watts",
    "_dbi": "dBi", "_mhz": "MHz", "_pd": "a probability", "_pk": "a probability",
}


def _unit_word(field: str) -> str | None:
    for suffix, word in sorted(_UNIT_WORDS.items(), key=lambda kv: -len(kv[0])):
        if field.endswith(suffix):
            return word
    return None


def _unit_hint(field: str) -> str:
    word = _unit_word(field)
    return f" in {word} (the unit is in the field name; write a plain number)" if word else ""


def _allowed_fields(model: type[BaseModel]) -> list[str]:
    return sorted((info.alias or name) for name, info in model.model_fields.items())


def _translate(err: Mapping[str, Any], doc: Document) -> ScenarioError:
    loc: Path = tuple(err["loc"])
    kind = err["type"]
    given = err.get("input")
    field = str(loc[-1]) if loc else ""
    location = doc.location_of(loc)
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = _allowed_fields(parent) if parent else []
        hint = difflib.get_close_matches(field, allowed, n=1)
        msg = f"unknown field '{field}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
        return ScenarioError(msg, loc, location, allowed=", ".join(allowed) or None)
    if kind == "missing":
        return ScenarioError("required field is missing", loc, location)
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        what = "a whole number" if kind.startswith("int") else "a number"
        return ScenarioError(f"expected {what}{_unit_hint(field)}", loc, location, given, True)
    if kind == "finite_number":
        return ScenarioError(f"expected a finite number{_unit_hint(field)}; .inf and .nan are "
                             "not allowed", loc, location, given, True)
    if kind.startswith("date") or kind.startswith("datetime"):
        return ScenarioError("expected a date written YYYY-MM-DD", loc, location, given, True)
    if kind == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        return ScenarioError("not one of the allowed values", loc, location, given, True,
                             allowed=str(expected).replace("'", ""))
    if kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        if msg.startswith(RANGES_PREFIX) and ":" in msg:
            # a record's check of one field's range: point at that range
            field_path, msg = msg.split(":", 1)
            loc = (*loc, *field_path.split("."))
            return ScenarioError(msg.strip(), loc, doc.location_of(loc))
        return ScenarioError(msg, loc, _where_named(doc, loc, msg) or location)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return ScenarioError("expected a mapping of fields (key: value lines)", loc, location,
                             given, True)
    if kind == "list_type":
        return ScenarioError("expected a list (lines starting with '- ')", loc, location, given,
                             True)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        word = _unit_word(field)
        unit = f" ({word})" if word else ""
        return ScenarioError(f"out of range{unit}: {err['msg'].lower()}", loc, location, given, True)
    return ScenarioError(str(err["msg"]), loc, location, given, "input" in err)


def _where_named(doc: Document, loc: Path, message: str) -> Location | None:
    """Of the record's fields that a record-level message names (``min_range_km (500.0) must be
    below max_range_km``), where one is written, preferring the loaded file itself: a user who
    overrides one field of an included record is pointed at their line, not at the record's first
    line in the included data. None if the message names no written field."""
    found_at: list[tuple[int, Location]] = []
    for key, at in doc.locations.items():
        if len(key) == len(loc) + 1 and key[:len(loc)] == loc and isinstance(key[-1], str):
            match = re.search(rf"\b{re.escape(key[-1])}\b", message)
            if match:
                found_at.append((match.start(), at))
    named = [at for _, at in sorted(found_at, key=lambda pair: pair[0])]  # the first the message names
    own = [at for at in named if at.file == doc.file]
    found = own or named
    return found[0] if found else None


def _validate(doc: Document) -> tuple[Scenario | None, list[ScenarioError]]:
    errors: list[ScenarioError] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        errors.extend(_translate(e, doc) for e in exc.errors(include_url=False))
    for path, message, given in check_references(doc.data):
        errors.append(ScenarioError(message, path, doc.location_of(path), given, given is not None))
    return (scenario if not errors else None), errors


_UNKNOWN_REFERENCE = re.compile(r"unknown ([a-z_ ]+) '([^']*)'")


def _at_removals(errors: Iterable[ScenarioError], removed: Mapping[str, tuple[str, Location | None, int]],
                 removed_from: Mapping[str, str]) -> list[ScenarioError]:
    """The references to records the file removed, one error per removal at its line (naming the
    records that still refer to it), instead of one per referring record at the included data's
    line with a wrong "did you mean"; the other errors as they are.

    Args:
        errors: the schema's and the reference check's errors.
        removed: id → (the removal as written, where, its index). removed_from: id → its collection
            (``places``): a reference error counts when it names that kind ("unknown place 'x'").
    """
    out: list[ScenarioError] = []
    left: dict[str, list[str]] = {}
    for e in errors:
        match = _UNKNOWN_REFERENCE.match(e.message)
        kind = removed_from.get(match.group(2), "") if match else ""
        if match and match.group(2) in removed and kind.rstrip("s").replace("_", " ") in match.group(1):
            left.setdefault(match.group(2), []).append(format_path(e.path))
        else:
            out.append(e)
    for key, paths in left.items():
        dotted, loc, index = removed[key]
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        out.append(ScenarioError(
            f"removing {dotted} leaves {len(paths)} reference{'s' if len(paths) > 1 else ''} to "
            f"'{key}' ({shown}); remove or change {'them' if len(paths) > 1 else 'it'} too",
            (_REMOVE, index), loc, dotted, True))
    return out


def _dedupe(errors: Iterable[ScenarioError]) -> list[ScenarioError]:
    """One error per field path and file: the first found (reading before schema) is the clearest."""
    seen, out = set(), []
    for e in errors:
        key = (e.path, e.location.file if e.location else "")
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def validate_file(path: str | FsPath) -> list[ScenarioError]:
    """Every problem in a scenario file (and what it includes) that the schema and the reference
    checks find; empty if there is none. The checks a run makes on the loaded scenario (traffic,
    command and control, engagements) are ``iadsim.pipeline.checks.check_scenario``."""
    return _load(FsPath(path))[1]


def _load(path: FsPath, choose: Mapping[str, str] | None = None,
          ) -> tuple[Scenario | None, list[ScenarioError]]:
    with collector_paused():  # plain data and models, without cycles: see collector.py
        return _load_uncollected(path, choose)


def _load_uncollected(path: FsPath, choose: Mapping[str, str] | None = None,
                      ) -> tuple[Scenario | None, list[ScenarioError]]:
    merger = _Merger()
    doc = merger.load(path, choose=choose)
    if doc is None or merger.incomplete:
        # with a file missing, cross-checks would only repeat its absence many times over
        return None, _dedupe(merger.errors)
    scenario, errors = _validate(doc)
    # a record whose merge key the reader could not use (`p3: {<<: 5}`) lacks the fields it would
    # have merged: those are that error's consequences, not more errors of the user's
    unread = {e.path for e in merger.errors if e.path and e.message.startswith("the merge key '<<'")}
    errors = [e for e in errors if not any(len(e.path) > len(p) and e.path[:len(p)] == p for p in unread)]
    errors = sorted(_dedupe([*merger.errors, *_at_removals(errors, merger.removed, merger.removed_from)]),
                    key=ScenarioError.sort_key)
    if scenario is not None and not errors:
        attach_locations(scenario, doc.locations)
        if merger.removed:
            attach_removed(scenario, frozenset(merger.removed))
    return (scenario if not errors else None), errors


def load_scenario(name_or_path: str | FsPath | Scenario | None = None,
                  choose: Mapping[str, str] | None = None) -> Scenario:
    """Load, merge and validate a scenario file or bundled scenario id into a Scenario (a Scenario
    given is returned as it is, with ``choose`` applied).

    ``choose`` selects variant options as if the file said ``choose: {variant: option}``
    (e.g. ``{"blr_s300_variant": "ps"}``); a file's own choice of another option is an error.

    The file, line and column of every field path of the merged document stay beside the
    Scenario (``scenario_locations``), so checks made after loading can point at them.

    Raises ScenarioErrors with every problem found; TypeError for something that is neither.
    """
    if isinstance(name_or_path, Scenario):
        return choose_variants(name_or_path, choose) if choose else name_or_path
    if name_or_path is not None and not isinstance(name_or_path, str | FsPath):
        raise TypeError(f"load_scenario takes a file, a bundled scenario id or a Scenario, got "
                        f"{name_or_path!r}")
    scenario, errors = _load(resolve_scenario_path(name_or_path), choose)
    if errors or scenario is None:
        raise ScenarioErrors(errors)
    return scenario


def load_scenario_with_locations(name_or_path: str | FsPath | None = None,
                                 ) -> tuple[Scenario, Locations]:
    """``load_scenario`` and the location of every field path of the merged document.

    An included record's location is in the included file (for ``include: [reference]``, the
    bundled file inside the package). Raises ScenarioErrors with every problem found.
    """
    scenario = load_scenario(name_or_path)
    return scenario, scenario_locations(scenario)
