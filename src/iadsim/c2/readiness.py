"""Alert duty: the readiness state of each unit and the time it needs from an order to act."""

from __future__ import annotations

from iadsim.scenario.schema import ReadinessDefault, ReadinessState, Scenario

__all__ = ["readiness_state", "time_to_act_s"]


def readiness_state(scenario: Scenario, unit_id: str) -> tuple[str, ReadinessState] | None:
    """The unit's readiness state (id, state): its own ``readiness``, else the state that is the
    default for its kind and duty (``alert_duty`` → duty, else standby); None if there is none."""
    unit = scenario.units[unit_id]
    if unit.readiness is not None:
        return unit.readiness, scenario.readiness_states[unit.readiness]
    duty = ReadinessDefault.duty if unit.alert_duty else ReadinessDefault.standby
    for sid, state in sorted(scenario.readiness_states.items()):
        if state.default_for == duty and unit.kind in state.unit_kinds:
            return sid, state
    return None


def time_to_act_s(scenario: Scenario, unit_id: str) -> float | None:
    """Seconds from an order reaching the unit to the unit acting (airborne, ready to fire)."""
    found = readiness_state(scenario, unit_id)
    return None if found is None else found[1].time_to_act_s
