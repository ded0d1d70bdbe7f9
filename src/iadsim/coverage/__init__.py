"""Static coverage grids (detection and engagement by altitude and RCS) and region metrics."""

from iadsim.coverage.compute import (
    JOINT,
    AltitudeReference,
    Coverage,
    CoverageError,
    compute_coverage,
    sensor_coverage,
)
from iadsim.coverage.grid import DEFAULT_CRS, CoverageGrid, GridTooLarge

__all__ = [
    "DEFAULT_CRS",
    "JOINT",
    "AltitudeReference",
    "Coverage",
    "CoverageError",
    "CoverageGrid",
    "GridTooLarge",
    "compute_coverage",
    "sensor_coverage",
]
