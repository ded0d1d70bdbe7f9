"""The peacetime chain of command: the command node a unit (and so its sensors) reports to."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iadsim.scenario.schema import CommandNodeKind, Scenario

__all__ = ["reporting_node", "sensor_reporting_nodes"]

# which node of a nation takes the reports of its aircraft when no unit says (most senior air node)
_AIR_NODE_ORDER = (CommandNodeKind.central_command_point, CommandNodeKind.national_command,
                   CommandNodeKind.operational_command, CommandNodeKind.joint_command,
                   CommandNodeKind.strategic_command, CommandNodeKind.command_post)


def reporting_node(scenario: Scenario, unit_id: str) -> str | None:
    """The first command node up a unit's chain of parents, or None if the chain ends without one."""
    seen = set()
    current: str | None = unit_id
    while current is not None and current not in seen:
        seen.add(current)
        if current in scenario.command_nodes:
            return current
        unit = scenario.units.get(current)
        current = unit.parent if unit is not None else None
    return None


def _aircraft_node(scenario: Scenario, type_id: str, nation: str) -> str:
    """The node an airborne sensor of this type and nation reports to: the node of a unit of the
    nation that holds the type, else the nation's most senior air node, else ``nation:<id>``."""
    for uid, unit in sorted(scenario.units.items()):
        if unit.nation == nation and any(item.type == type_id for item in unit.equipment):
            found = reporting_node(scenario, uid)
            if found is not None:
                return found
    for kind in _AIR_NODE_ORDER:
        for nid, command in sorted(scenario.command_nodes.items()):
            if command.nation == nation and command.kind == kind:
                return nid
    return f"nation:{nation}"


def sensor_reporting_nodes(scenario: Scenario, units: NDArray[np.str_],
                           nations: NDArray[np.str_],
                           aircraft_types: NDArray[np.str_]) -> NDArray[np.str_]:
    """The reporting node of each sensor: by its unit for ground sensors (``units`` non-empty),
    by its aircraft type and nation for airborne ones. Arrays of S."""
    out = []
    for unit, nation, aircraft in zip(units.tolist(), nations.tolist(), aircraft_types.tolist(),
                                      strict=True):
        node = reporting_node(scenario, unit) if unit else None
        if node is None:
            node = _aircraft_node(scenario, aircraft, nation) if aircraft else f"nation:{nation}"
        out.append(node)
    return np.asarray(out, dtype=np.str_)
