"""Run metrics and comparisons."""

from iadsim.analysis.compare import (
    METRICS,
    Comparison,
    MetricSummary,
    compare_arrangements,
    mean_ci,
    parse_arrangements,
    summarise,
)
from iadsim.analysis.detections import detections_per_minute, first_detections

__all__ = ["METRICS", "Comparison", "MetricSummary", "compare_arrangements", "detections_per_minute",
           "first_detections", "mean_ci", "parse_arrangements", "summarise"]
