"""iadsim: simulate and analyse integrated air-defence systems from public data.

The public API is small: load a scenario, look at its order of battle at a date, compile it into
arrays, run one replication (``run_replication``) or a whole run folder (``run_scenario``).

>>> import iadsim
>>> scenario = iadsim.load_scenario("reference-2020")
>>> oob = iadsim.order_of_battle(scenario)
"""

from iadsim.oob import OrderOfBattle, order_of_battle
from iadsim.pipeline import RunResult, run_replication, sensing_pass
from iadsim.runs import run_scenario
from iadsim.scenario import (
    Scenario,
    ScenarioError,
    ScenarioErrors,
    bundled_scenarios,
    load_scenario,
    validate_file,
)
from iadsim.version import __version__
from iadsim.world import World, compile_world

__all__ = [
    "OrderOfBattle",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "World",
    "__version__",
    "bundled_scenarios",
    "compile_world",
    "load_scenario",
    "order_of_battle",
    "run_replication",
    "run_scenario",
    "sensing_pass",
    "validate_file",
]
