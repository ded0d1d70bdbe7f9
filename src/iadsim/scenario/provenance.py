"""Provenance of a scenario's facts: every stated assumption and every cited source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from iadsim.scenario.schema import Scenario, default_sensing_settings, default_tracking_settings

__all__ = ["Assumption", "cited_source_ids", "collect_assumptions"]


@dataclass(frozen=True)
class Assumption:
    """A value no source gives: where it is (``units.blr_1_aamr``), which field, and why."""

    record: str
    field: str
    reason: str


def _walk(obj: object, path: str) -> Iterator[tuple[str, BaseModel]]:
    if isinstance(obj, BaseModel):
        yield path, obj
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]")


def collect_assumptions(scenario: Scenario) -> list[Assumption]:
    """Every ``assumed`` entry in the scenario, plus the scenario-wide assumptions, in order.

    Of each variant, the option in effect is an assumption (which published alternative the run
    rests on), with its own ``assumed`` entries; the other options' are not listed.

    A scenario without a ``sensing:`` (``tracking:``) section runs on the default sensing
    (tracking) settings; their assumptions are listed too (record ``sensing (default)``,
    ``tracking (default)``), since the run rests on them.
    """
    out = [Assumption("scenario", "", text) for text in scenario.assumptions]
    for path, record in _walk(scenario, ""):
        if path.startswith("variants."):
            continue  # only the option in effect counts (below)
        assumed = getattr(record, "assumed", None)
        if isinstance(assumed, dict):
            out += [Assumption(path, field, reason) for field, reason in assumed.items()]
    for vid, variant in scenario.variants.items():
        option = scenario.chosen(vid)
        others = ", ".join(f"'{o}' ({v.name})" for o, v in variant.options.items() if o != option)
        how = "chosen by the scenario" if vid in scenario.choose else "the data's default"
        out.append(Assumption(f"variants.{vid}", "option",
                              f"'{option}' ({variant.options[option].name}), {how}; the "
                              f"alternative{'s' if len(variant.options) > 2 else ''}: {others}"))
        out += [Assumption(f"variants.{vid}.options.{option}", field, reason)
                for field, reason in variant.options[option].assumed.items()]
    if scenario.sensing is None:
        out += [Assumption("sensing (default)", field, reason)
                for field, reason in default_sensing_settings().assumed.items()]
    if scenario.tracking is None:
        out += [Assumption("tracking (default)", field, reason)
                for field, reason in default_tracking_settings().assumed.items()]
    return out


def cited_source_ids(scenario: Scenario) -> set[str]:
    """The ids of every source cited anywhere in the scenario."""
    cited: set[str] = set()
    for _, record in _walk(scenario, ""):
        source = getattr(record, "source", None)
        if isinstance(source, list):
            cited.update(source)
        sources = getattr(record, "sources", None)
        if isinstance(sources, dict) and record is not scenario:
            for ids in sources.values():
                if isinstance(ids, list):
                    cited.update(ids)
    return cited
