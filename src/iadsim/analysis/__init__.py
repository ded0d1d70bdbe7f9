"""Measures of one run's tables and the statistics of comparisons (no simulation here)."""

from iadsim.analysis.detections import detections_per_minute, first_detections
from iadsim.analysis.outcomes import OUTCOME_FIELDS, OUTCOME_SCHEMA, outcome_table
from iadsim.analysis.statistics import METRICS, MetricSummary, mean_ci, parse_arrangements, summarise

__all__ = ["METRICS", "OUTCOME_FIELDS", "OUTCOME_SCHEMA", "MetricSummary", "detections_per_minute",
           "first_detections", "mean_ci", "outcome_table", "parse_arrangements", "summarise"]
