"""The scenario language: schema, YAML loading with line numbers, includes, overrides, messages."""

from iadsim.scenario.dates import DateLike, OutsideDataPeriod, as_date, check_data_period
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
    "DateLike",
    "Location",
    "Locations",
    "OutsideDataPeriod",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "as_date",
    "attach_locations",
    "bundled_scenarios",
    "check_data_period",
    "load_scenario",
    "load_scenario_with_locations",
    "locate",
    "resolve_scenario_path",
    "scenario_locations",
    "validate_file",
]
