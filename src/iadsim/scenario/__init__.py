"""The scenario language: schema, YAML loading with line numbers, includes, overrides, messages."""

from iadsim.scenario.errors import Location, ScenarioError, ScenarioErrors
from iadsim.scenario.loader import (
    DEFAULT_SCENARIO,
    BundledScenario,
    bundled_scenarios,
    load_scenario,
    load_scenario_with_locations,
    resolve_scenario_path,
    validate_file,
)
from iadsim.scenario.locations import Locations, attach_locations, locate, scenario_locations
from iadsim.scenario.schema import Arrangement, Scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "Arrangement",
    "BundledScenario",
    "Location",
    "Locations",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "attach_locations",
    "bundled_scenarios",
    "load_scenario",
    "load_scenario_with_locations",
    "locate",
    "resolve_scenario_path",
    "scenario_locations",
    "validate_file",
]
