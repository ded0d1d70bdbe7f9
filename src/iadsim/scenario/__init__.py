"""The scenario language: schema, YAML loading with line numbers, includes, overrides, messages."""

from iadsim.scenario.errors import Location, ScenarioError, ScenarioErrors
from iadsim.scenario.loader import (
    DEFAULT_SCENARIO,
    BundledScenario,
    bundled_scenarios,
    load_scenario,
    resolve_scenario_path,
    validate_file,
)
from iadsim.scenario.schema import Arrangement, Scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "Arrangement",
    "BundledScenario",
    "Location",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "bundled_scenarios",
    "load_scenario",
    "resolve_scenario_path",
    "validate_file",
]
