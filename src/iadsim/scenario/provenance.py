"""Provenance of a scenario's facts: every stated assumption and every cited source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from iadsim.scenario.schema import Scenario, default_sensing_settings, default_tracking_settings

__all__ = ["Assumption", "Override", "cited_source_ids", "collect_assumptions", "collect_overrides"]


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

    A scenario without a ``sensing:`` (``tracking:``) section runs on the default sensing
    (tracking) settings; their assumptions are listed too (record ``sensing (default)``,
    ``tracking (default)``), since the run rests on them.
    """
    out = [Assumption("scenario", "", text) for text in scenario.assumptions]
    for path, record in _walk(scenario, ""):
        assumed = getattr(record, "assumed", None)
        if isinstance(assumed, dict):
            out += [Assumption(path, field, reason, _range_text(record, field))
                    for field, reason in assumed.items()]
    defaults = [("sensing (default)", default_sensing_settings(), scenario.sensing),
                ("tracking (default)", default_tracking_settings(), scenario.tracking)]
    for name, settings, own in defaults:
        if own is None:
            out += [Assumption(name, field, reason, _range_text(settings, field))
                    for field, reason in settings.assumed.items()]
    return out


def collect_overrides(scenario: Scenario) -> list[Override]:
    """Every value the scenario's own files (or its chosen variants) set over an included value,
    with the file and line (``overridden`` entries), in order."""
    out = []
    for path, record in _walk(scenario, ""):
        overridden = getattr(record, "overridden", None)
        if isinstance(overridden, dict):
            out += [Override(path, field, where) for field, where in overridden.items()]
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
    for variant in scenario.variants.values():
        for option in variant.options.values():
            cited.update(option.sources)
    return cited
