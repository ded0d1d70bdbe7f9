"""Where each field of a loaded scenario is written (file, line, column), kept beside the Scenario.

The loader records a location for every field path while it merges includes; checks made after
loading (``iadsim.pipeline.checks``) use them to point at the record a problem is about.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from iadsim.scenario.errors import Location, Path

if TYPE_CHECKING:
    from iadsim.scenario.schema import Scenario

__all__ = ["Locations", "attach_locations", "attach_removed", "locate", "scenario_locations",
           "scenario_removed"]

Locations = Mapping[Path, Location]
"""Field path → the file, line and column where it is written."""

# A side table rather than a field or private attribute of Scenario: scenarios compare, hash and
# pickle by their content, and two loads of the same content from different files stay equal.
# Keyed by id; an entry lives as long as its scenario (weakref.finalize removes it).
_LOCATIONS: dict[int, Locations] = {}


def attach_locations(scenario: Scenario, locations: Locations) -> None:
    """Keep ``locations`` beside ``scenario`` (see ``scenario_locations``); replaces earlier ones."""
    key = id(scenario)
    if key not in _LOCATIONS:
        weakref.finalize(scenario, _LOCATIONS.pop, key, None)
    _LOCATIONS[key] = dict(locations)


def scenario_locations(scenario: Scenario) -> Locations:
    """Where each field path of a loaded scenario is written; empty for a scenario not loaded from
    files (built in code, or re-validated from a dump as a sweep case is)."""
    return _LOCATIONS.get(id(scenario), {})


def locate(locations: Locations, path: Sequence[str | int]) -> Location | None:
    """The location of ``path`` or of its nearest ancestor that has one (None if none has)."""
    for n in range(len(path), -1, -1):
        loc = locations.get(tuple(path[:n]))
        if loc is not None:
            return loc
    return None


# The ids of the records a scenario's files removed (``remove:``), kept beside it as its locations are:
# a variant option applied later (a study, a sweep) leaves those records out instead of bringing
# them back as fragments (``overrides.changes_to_present_records``).
_REMOVED: dict[int, frozenset[str]] = {}


def attach_removed(scenario: Scenario, ids: frozenset[str]) -> None:
    """Keep the ids of the records the scenario's files removed beside ``scenario``."""
    key = id(scenario)
    if key not in _REMOVED:
        weakref.finalize(scenario, _REMOVED.pop, key, None)
    _REMOVED[key] = frozenset(ids)


def scenario_removed(scenario: Scenario) -> frozenset[str]:
    """The ids of the records the scenario's files removed (empty if none, or not loaded from files)."""
    return _REMOVED.get(id(scenario), frozenset())
