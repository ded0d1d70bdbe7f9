"""Engagement: threat evaluation, weapon–target assignment, missile flyout and kill probability,
fire units and air-to-air shots (docs/models/engagement.md, docs/models/assignment.md). The stage of
the C2 pass that uses them is ``iadsim.c2.engagements``: this package does not know the C2 network."""

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
from iadsim.engagement.lar import Aspect, LaunchRegion, Refusal, aspect_deg, launch_region
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
    "Aspect",
    "Envelope",
    "Intercept",
    "LaunchRegion",
    "MissileProfile",
    "Refusal",
    "ThreatAssessment",
    "WeaponAssignment",
    "aspect_deg",
    "assign_weapons",
    "assign_weapons_exact",
    "assign_weapons_greedy",
    "envelope",
    "exact_nodes",
    "expected_value",
    "kill_probability",
    "launch_region",
    "missile_profile",
    "predicted_intercept",
    "salvo_kill_probability",
    "threat_values",
    "time_of_flight_s",
]
