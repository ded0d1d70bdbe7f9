"""Run metrics and comparisons."""

from iadsim.analysis.detections import detections_per_minute, first_detections

__all__ = ["detections_per_minute", "first_detections"]
