"""Setting fields of a scenario by dotted path, choosing variants, and the provenance of both.

One home for what sweeps, variants and sensitivity studies do to a scenario: set ``units.x.place``
or ``catalog.radars.r.detection_range_km`` on the scenario's mapping and validate it again. A value
that replaces another carries its own provenance: ``mark_overridden`` drops the inherited source,
assumption and range of that field and records where the new value comes from in the record's
``overridden`` mapping (shown by reports as the value's source).
"""

from __future__ import annotations

import difflib
import functools
import typing
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from iadsim.scenario.errors import format_path
from iadsim.scenario.locations import attach_removed, scenario_removed
from iadsim.scenario.schema import Scenario, Sourced

__all__ = [
    "PROVENANCE_KEYS",
    "OverrideError",
    "apply_overrides",
    "apply_variant",
    "change_scenario",
    "changes_to_present_records",
    "choose_variants",
    "get_path",
    "mark_overridden",
    "model_at",
    "set_path",
    "split_path",
    "variant_changes",
]

PROVENANCE_KEYS = ("sources", "assumed", "ranges")
"""The per-field provenance mappings that an override of the field makes stale."""


class OverrideError(Exception):
    """A dotted path that does not exist, or a value the schema rejects: one message per problem.

    Attributes:
        problems: one message per problem.
        subjects: for each problem, what it is about where that is one override: (dotted path,
            ``"path"`` when the path does not exist or ``"value"`` when its value is refused), else
            None. A caller that knows where each override was written points there.
    """

    def __init__(self, problems: str | Sequence[str],
                 subjects: Sequence[tuple[str, str] | None] | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.subjects = list(subjects) if subjects is not None else [None] * len(self.problems)
        super().__init__("\n".join(self.problems))


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is_container) for Optional[X], dict[K, X] and list[X] annotations."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (dict, list):
            return args[-1], True
        if origin is not None and len(args) == 1:
            annotation = args[0]
            continue
        return annotation, False


def model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that the object at ``path`` of a scenario must satisfy, walking the schema
    (None for a container, a plain value or a path the schema does not have)."""
    model: Any = Scenario
    skip_key = False
    for part in path:
        if skip_key:  # a mapping key or list index inside a container field
            skip_key = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = model.model_fields
        info = fields.get(str(part)) or next(
            (f for f in fields.values() if f.alias == part), None)
        if info is None:
            return None
        model, skip_key = _unwrap(info.annotation)
    if skip_key:
        return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def split_path(path: str) -> list[str | int]:
    """``units.x.equipment.0.count`` → ['units', 'x', 'equipment', 0, 'count']."""
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _model_fields(parts: Sequence[str | int]) -> list[str]:
    model = model_at(list(parts))
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def set_path(data: dict[str, Any], path: str, value: Any) -> bool:
    """Set ``value`` at the dotted ``path`` of a scenario mapping (a dump or a merged document).

    A field of a schema model that is not set yet may be set; a key of a mapping (a unit id, a raid
    name) or a list index must exist. Returns whether the path held a value before.

    Raises:
        OverrideError: the path does not exist (naming the nearest valid keys).
    """
    parts = split_path(path)
    node: Any = data
    for i, part in enumerate(parts):
        here = format_path(parts[:i]) if i else "the scenario"
        last = i == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                fields = _model_fields(parts[:i])
                if str(part) in fields:
                    if last:
                        node[part] = value
                        return False
                    node[part] = {}
                    node = node[part]
                    continue
                keys = sorted({*(str(k) for k in node), *fields})
                near = difflib.get_close_matches(str(part), keys, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                shown = ", ".join(keys[:20]) + (", …" if len(keys) > 20 else "")
                raise OverrideError(f"parameter '{path}': '{part}' is not a key of {here}{hint} "
                                    f"(valid keys: {shown or 'none'})", [(path, "path")])
        elif isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise OverrideError(f"parameter '{path}': {here} is a list of {len(node)}; "
                                    f"'{part}' is not an index of it (0 … {len(node) - 1})",
                                    [(path, "path")])
        else:
            what = "not set (null)" if node is None else f"a value ({node!r}), not a mapping"
            raise OverrideError(f"parameter '{path}': {here} is {what}, so it has no '{part}'",
                                [(path, "path")])
        if last:
            node[part] = value
            return True
        node = node[part]
    return True


def get_path(data: Any, parts: Sequence[str | int]) -> Any:
    """The value at ``parts`` of a mapping, or None where the path does not exist."""
    node = data
    for part in parts:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            return None
    return node


def mark_overridden(data: dict[str, Any], path: Sequence[str | int], note: str) -> bool:
    """Record that the field at ``path`` of a scenario mapping was set by ``note`` (``file:line``, or
    a variant): its inherited source, assumption and range are dropped and ``overridden[field]`` says
    where the value comes from. Only records that keep per-field provenance are marked (catalog
    types, settings, command nodes, links, units, places); returns whether this one was.
    """
    if len(path) < 2 or not isinstance(path[-1], str):
        return False
    record_path, field = list(path[:-1]), path[-1]
    model = model_at(record_path)
    record = get_path(data, record_path)
    if model is None or not isinstance(record, dict) or "overridden" not in model.model_fields:
        return False
    if issubclass(model, Sourced) and field not in model._numeric_fields:
        return False  # a Sourced record keeps provenance for its numbers only
    for key in PROVENANCE_KEYS:
        mapping = record.get(key)
        if isinstance(mapping, dict):
            mapping.pop(field, None)
    overridden = record.get("overridden")
    if not isinstance(overridden, dict):
        overridden = record["overridden"] = {}
    overridden[field] = note
    return True


def changes_to_present_records(data: Mapping[str, Any], changes: Mapping[str, Any],
                               removed: Collection[str], path: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """A variant option's changes without those to records the scenario removed: a record removed
    with ``remove: [units.blr_825_aamr]`` is not brought back as a fragment of the fields the option
    sets. A change to any other missing record is kept, so a misspelt id stays an error.

    Args:
        data: the scenario mapping the changes merge over (a dump or a merged document).
        changes: the option's changes. removed: the ids of the records the scenario's files removed
            (``scenario_removed``). path: where ``changes`` sit (for recursion).
    """
    if not removed:
        return dict(changes)
    out: dict[str, Any] = {}
    for key, value in changes.items():
        sub = (*path, key)
        here = data.get(key) if isinstance(data, Mapping) else None
        if isinstance(value, Mapping) and isinstance(here, Mapping | BaseModel):
            inner = here.model_dump(by_alias=True, exclude_unset=True) if isinstance(here, BaseModel) \
                else here
            out[key] = changes_to_present_records(inner, value, removed, sub)
            continue
        if here is None and key in removed and model_at([*path, key]) is not None:
            continue  # a change to a record (a keyed model: a unit, a place) the scenario removed
        out[key] = value
    return out


def variant_changes(data: Mapping[str, Any], name: str, option: str,
                    removed: Collection[str] = ()) -> dict[str, Any]:
    """The scenario fragment that option ``option`` of variant ``name`` merges over the data (from a
    scenario mapping; empty for the default option), without changes to records the data do not
    have because the scenario removed them (``removed``; ``changes_to_present_records``), or raises
    OverrideError naming the variants or options there are."""
    variants = data.get("variants")
    variants = variants if isinstance(variants, dict) else {}
    variant = variants.get(name)
    if not isinstance(variant, dict) or not isinstance(variant.get("options"), dict):
        known = [k for k, v in variants.items() if isinstance(v, dict) and "options" in v]
        hint = difflib.get_close_matches(name, known, n=1)
        raise OverrideError(f"no record defines a variant '{name}'"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")
                            + f" (variants: {', '.join(known) or 'none'})")
    options = variant["options"]
    if option not in options or not isinstance(options[option], dict):
        hint = difflib.get_close_matches(option, list(options), n=1)
        raise OverrideError(f"variant '{name}' has no option '{option}'"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")
                            + f" (options: {', '.join(options)})")
    changes = options[option].get("changes")
    return changes_to_present_records(data, changes, removed) if isinstance(changes, dict) else {}


def _merge_fragment(data: dict[str, Any], fragment: Mapping[str, Any]) -> None:
    """Merge a scenario fragment over ``data`` as the loader merges a variant's changes: mappings
    merge key by key, anything else (a list, a number) replaces what is there."""
    for key, value in fragment.items():
        if isinstance(value, Mapping) and isinstance(data.get(key), dict):
            _merge_fragment(data[key], value)
        else:
            data[key] = value


def apply_variant(data: dict[str, Any], name: str, option: str, removed: Collection[str] = ()) -> None:
    """Choose ``option`` of variant ``name`` on a scenario mapping whose variants are at their
    defaults: merge the option's changes (but for records in ``removed``, which the scenario's files
    removed) and record the choice (``choose``), as the loader does.

    Raises:
        OverrideError: an unknown variant or option, or a variant the scenario already set to
            another option than its default (the data as written are gone; choose in the file).
    """
    changes = variant_changes(data, name, option, removed)
    current = (data.get("choose") or {}).get(name)
    default = data["variants"][name].get("default")
    if current not in (None, default, option):
        raise OverrideError(f"variant '{name}': the scenario chose '{current}', so the data of its "
                            f"default are not at hand to switch to '{option}'; choose it in the "
                            "scenario file (choose:) instead")
    _merge_fragment(data, changes)
    data.setdefault("choose", {})[name] = option


def _validate(data: dict[str, Any], overrides: Mapping[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems, subjects = [], []
        for err in exc.errors(include_url=False):
            loc = format_path(tuple(err["loc"]))
            # the changed path at or above the error's place, else one inside the record it is on
            changed = next((p for p in overrides if loc == p or loc.startswith(p + ".")
                            or loc.startswith(p + "[")), None) \
                or next((p for p in overrides if p.startswith(loc + ".") or p.startswith(loc + "[")), None)
            given = repr(overrides[changed] if changed else err.get("input"))
            if len(given) > 80:  # a whole record, when the error is on one the changes did not name
                given = given[:77] + "..."
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"parameter '{changed or loc}' = {given}: rejected by the scenario "
                            f"schema at '{loc}': {msg}")
            subjects.append((changed, "value") if changed else None)
        raise OverrideError(problems, subjects) from None


# Changing a scenario copies only what changes. The scenario's mapping is "opened" (made a fresh dict
# or list) along each path that is set or merged; everything off those paths stays the scenario's
# own immutable, already validated models, which the schema takes as they are (pydantic does not
# validate a model instance again). The result is the scenario that a full dump, the same changes and
# a full validation give (tested), for a fraction of the cost: a study changes a few fields of a
# scenario of ~3,000 numbers at every point (docs/benchmarks.md).


def _mentions_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_mentions_model(a) for a in typing.get_args(annotation))


@functools.cache
def _model_holding_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` whose type holds models (a model, or a container or union of them)."""
    return frozenset(name for name, info in model.model_fields.items()
                     if _mentions_model(info.annotation))


def _opened(node: Any) -> Any:
    """One level of a scenario as a fresh mapping or list: a model's set fields that hold no model
    dumped (JSON mode, by alias, as ``model_dump(exclude_unset=True)`` would give them), those that do
    kept as they are; a mapping or list copied. Anything else is returned as it is."""
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        kept = node.model_fields_set & _model_holding_fields(type(node))
        out = node.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=kept)
        for name in kept:
            out[fields[name].alias or name] = getattr(node, name)
        return out
    if isinstance(node, dict):
        return dict(node)
    if isinstance(node, list):
        return list(node)
    return node


def _open_path(data: dict[str, Any], parts: Sequence[str | int]) -> None:
    """Open every node that ``set_path(data, parts)`` walks through and may change."""
    node: Any = data
    for part in parts[:-1]:
        if not ((isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))):
            return  # set_path reports a path that does not exist
        parent: Any = node  # a mapping, or a list and an index
        node = parent[part] = _opened(parent[part])


def _open_fragment(data: dict[str, Any], fragment: Mapping[str, Any]) -> None:
    """Open every node that merging ``fragment`` over ``data`` (``_merge_fragment``) merges into."""
    for key, value in fragment.items():
        if isinstance(value, Mapping) and isinstance(data.get(key), (BaseModel, dict)):
            data[key] = _opened(data[key])
            _open_fragment(data[key], value)


def change_scenario(scenario: Scenario, choices: Mapping[str, str] | None = None,
                    overrides: Mapping[str, Any] | None = None) -> Scenario:
    """The scenario with each named variant set to the given option (and its provenance), then every
    dotted path set, validated once by the schema.

    Args:
        scenario: the base scenario. choices: variant → option. overrides: dotted path → value
            (e.g. ``{"c2.identification_time_s": 30}``).

    Raises:
        OverrideError: an unknown variant or option; a path that does not exist (naming the nearest
            valid keys); a value the schema rejects (path, value and reason).
    """
    choices, overrides = dict(choices or {}), dict(overrides or {})
    if not choices and not overrides:
        return scenario
    data: dict[str, Any] = _opened(scenario)
    if choices:
        data["variants"] = {k: v.model_dump(mode="json", by_alias=True, exclude_unset=True)
                            for k, v in scenario.variants.items()}
        problems = []
        removed = scenario_removed(scenario)
        for name, option in choices.items():
            try:
                _open_fragment(data, variant_changes(data, name, option, removed))
                apply_variant(data, name, option, removed)
            except OverrideError as exc:
                problems += exc.problems
        if problems:
            raise OverrideError(problems)
    for path, value in overrides.items():
        _open_path(data, split_path(path))
        set_path(data, path, value)
    changed = _validate(data, {**{f"choose.{n}": o for n, o in choices.items()}, **overrides})
    if scenario_removed(scenario):  # a changed scenario is changed again (a study's points)
        attach_removed(changed, scenario_removed(scenario))
    return changed


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """The scenario with every dotted path set, re-validated by the schema (``change_scenario``).

    Args:
        scenario: the base scenario.
        overrides: dotted path → value (e.g. ``{"c2.identification_time_s": 30}``).

    Raises:
        OverrideError: a path that does not exist (naming the nearest valid keys), or a value the
            schema rejects (path, value and reason).
    """
    return change_scenario(scenario, overrides=overrides)


def choose_variants(scenario: Scenario, choices: Mapping[str, str]) -> Scenario:
    """The scenario with each named variant set to the given option (and its provenance;
    ``change_scenario``).

    Raises:
        OverrideError: an unknown variant or option, or a value the schema rejects.
    """
    return change_scenario(scenario, choices=choices)
