"""iadsim: simulate and analyse integrated air-defence systems from public data.

The public API is small: load a scenario, look at its order of battle at a date, compile it into
arrays, and write the run report.

>>> import iadsim
>>> scenario = iadsim.load_scenario("reference-2020")
>>> oob = iadsim.order_of_battle(scenario)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iadsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from iadsim.oob import OrderOfBattle, order_of_battle
from iadsim.scenario import (
    Scenario,
    ScenarioError,
    ScenarioErrors,
    bundled_scenarios,
    load_scenario,
    validate_file,
)
from iadsim.world import World, compile_world

__all__ = [
    "OrderOfBattle",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "World",
    "__version__",
    "bundled_scenarios",
    "compile_world",
    "load_scenario",
    "order_of_battle",
    "validate_file",
]
