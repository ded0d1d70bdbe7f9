"""Multi-target tracking: batched EKF, gating, GNN on clusters, M-of-N track management, metrics.

The roles are modules (as in Stone Soup): ``filters`` (prediction and update), ``association``
(gating and assignment), ``tracker`` (track management and the public ``track_detections``),
``fusion`` (track-to-track fusion between nodes by covariance intersection), ``metrics`` (OSPA,
SIAP-style measures, time to confirmed track) and ``io`` (the DETECTIONS and TRACKS tables).
Models: docs/models/tracking.md; tables: docs/tracking-io.md.
"""

from iadsim.tracking.fusion import FusedPicture, FusionConfig, TrackSet, covariance_intersection
from iadsim.tracking.io import TrackingInputError, read_detections, read_tracks, write_tracks
from iadsim.tracking.metrics import (
    ConfirmationSummary,
    GospaResult,
    OspaResult,
    SiapResult,
    confirmation_summary,
    gospa,
    ospa,
    siap,
    time_to_confirmed_track,
    track_breaks,
)
from iadsim.tracking.tracker import Tracker, TrackerConfig, track_detections

__all__ = [
    "ConfirmationSummary",
    "FusedPicture",
    "FusionConfig",
    "GospaResult",
    "OspaResult",
    "SiapResult",
    "TrackSet",
    "Tracker",
    "TrackerConfig",
    "TrackingInputError",
    "confirmation_summary",
    "covariance_intersection",
    "gospa",
    "ospa",
    "read_detections",
    "read_tracks",
    "siap",
    "time_to_confirmed_track",
    "track_breaks",
    "track_detections",
    "write_tracks",
]
