"""Engagement: threat evaluation, weapon–target assignment, missile flyout and kill probability,
and the engagement stage of the C2 pass (docs/models/engagement.md, docs/models/assignment.md)."""

from iadsim.engagement.assignment import (
    AUTO_MAX_NODES,
    EXACT_MAX_NODES,
    WeaponAssignment,
    assign_weapons,
    assign_weapons_exact,
    assign_weapons_greedy,
    exact_nodes,
    expected_value,
)
from iadsim.engagement.missile import (
    Envelope,
    Intercept,
    MissileProfile,
    envelope,
    kill_probability,
    missile_profile,
    predicted_intercept,
    salvo_kill_probability,
    time_of_flight_s,
)
from iadsim.engagement.threat import ThreatAssessment, threat_values

__all__ = [
    "AUTO_MAX_NODES",
    "EXACT_MAX_NODES",
    "Envelope",
    "Intercept",
    "MissileProfile",
    "ThreatAssessment",
    "WeaponAssignment",
    "assign_weapons",
    "assign_weapons_exact",
    "assign_weapons_greedy",
    "envelope",
    "exact_nodes",
    "expected_value",
    "kill_probability",
    "missile_profile",
    "predicted_intercept",
    "salvo_kill_probability",
    "threat_values",
    "time_of_flight_s",
]
