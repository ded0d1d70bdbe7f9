"""Multi-target tracking: batched EKF, gating, GNN on clusters, M-of-N track management, metrics.

The roles are modules (as in Stone Soup): ``filters`` (prediction and update), ``association``
(gating and assignment), ``tracker`` (track management and the public ``track_detections``),
``metrics`` (OSPA and SIAP-style measures) and ``io`` (the DETECTIONS and TRACKS tables).
Models: docs/models/tracking.md; tables: docs/tracking-io.md.
"""

from iadsim.tracking.io import TrackingInputError, read_detections, read_tracks, write_tracks
from iadsim.tracking.metrics import OspaResult, SiapResult, ospa, siap
from iadsim.tracking.tracker import Tracker, TrackerConfig, track_detections

__all__ = [
    "OspaResult",
    "SiapResult",
    "Tracker",
    "TrackerConfig",
    "TrackingInputError",
    "ospa",
    "read_detections",
    "read_tracks",
    "siap",
    "track_detections",
    "write_tracks",
]
