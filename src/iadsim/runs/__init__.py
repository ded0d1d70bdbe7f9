"""Everything that runs replications and writes results: a run folder (``run_scenario``), comparisons
of arrangements, sweeps and the saturation curve. Each calls ``iadsim.pipeline.run_replication``."""

from iadsim.runs.compare import Comparison, compare_arrangements
from iadsim.runs.run import RUN_COVERAGE, run_folder_name, run_scenario
from iadsim.runs.saturation import saturation_curve

__all__ = ["RUN_COVERAGE", "Comparison", "compare_arrangements", "run_folder_name", "run_scenario",
           "saturation_curve"]
