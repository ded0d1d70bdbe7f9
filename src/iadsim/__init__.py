"""iadsim: simulate and analyse integrated air-defence systems from public data.

The public API is small: load a scenario, look at its order of battle at a date, compile it into
arrays, run one replication (``run_replication``) or a whole run folder (``run_scenario``); in a
notebook, ``iadsim.run``, ``iadsim.coverage`` and ``iadsim.compare`` return results that display
themselves and convert to DataFrames (docs/python-api.md).

>>> import iadsim
>>> scenario = iadsim.load_scenario("reference-2020")
>>> oob = iadsim.order_of_battle(scenario, 2016)
"""

import types
from typing import Any

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

# iadsim.run, iadsim.compare, iadsim.open_run come from iadsim.api (the top layer: it renders reports),
# imported on first use so that `import iadsim` stays light and no layer imports it.
_API = ("ComparisonResult", "CoverageResult", "Run", "compare", "open_run", "run")


def __dir__() -> list[str]:
    """The module's names and the lazily imported notebook API (tab completion offers them)."""
    return sorted({*globals(), *_API})


def __getattr__(name: str) -> Any:
    if name in _API:
        from iadsim import api

        return getattr(api, name)
    raise AttributeError(f"module 'iadsim' has no attribute {name!r}")


class _CoverageModule(types.ModuleType):
    """``iadsim.coverage`` is the coverage package and, called, ``iadsim.api.coverage``: the name the
    notebook API asks for is taken by the package, so the package answers the call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from iadsim import api

        return api.coverage(*args, **kwargs)


import iadsim.coverage as _coverage_package  # noqa: E402  (the package exists once the names above do)

_coverage_package.__class__ = _CoverageModule

__all__ = [
    "ComparisonResult",
    "CoverageResult",
    "OrderOfBattle",
    "Run",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "World",
    "__version__",
    "bundled_scenarios",
    "compare",
    "compile_world",
    "coverage",
    "load_scenario",
    "open_run",
    "order_of_battle",
    "run",
    "run_replication",
    "run_scenario",
    "sensing_pass",
    "validate_file",
]
