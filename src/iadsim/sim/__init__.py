"""The simulation engine: clock, stage pipeline, random streams, event log."""

from iadsim.sim.engine import Engine, SensingResult, run_simulation
from iadsim.sim.random import Stage, stream

__all__ = ["Engine", "SensingResult", "Stage", "run_simulation", "stream"]
