"""The pipeline: one replication of a scenario (``replication``: the sensing pass, the C2 pass,
engagements and outcomes — the one place the stages are wired) and the checks a run makes before
anything runs (``checks``: what ``iadsim validate`` reports, located in the scenario's files; with
``estimate``, the run's work and estimated time)."""

from iadsim.pipeline.checks import check_and_estimate, check_scenario, locate_problems
from iadsim.pipeline.estimate import RunEstimate
from iadsim.pipeline.replication import (
    DEFAULT_TERRAIN,
    RunResult,
    SensingPass,
    arrangement_problems,
    run_replication,
    sensing_pass,
)

__all__ = ["DEFAULT_TERRAIN", "RunEstimate", "RunResult", "SensingPass", "arrangement_problems",
           "check_and_estimate", "check_scenario", "locate_problems", "run_replication", "sensing_pass"]
