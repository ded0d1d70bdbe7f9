"""Sensors: radar detection probability from signal-to-noise ratio (Swerling models)."""

from iadsim.sensors.detection import (
    DEFAULT_FALSE_ALARM_PROBABILITY,
    detection_probability,
    detection_range_m,
    reference_snr,
)

__all__ = [
    "DEFAULT_FALSE_ALARM_PROBABILITY",
    "detection_probability",
    "detection_range_m",
    "reference_snr",
]
