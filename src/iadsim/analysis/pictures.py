"""The measures of a command node's recognised air picture against truth (docs/models/c2.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from iadsim.tracking import confirmation_summary, ospa, siap, time_to_confirmed_track

__all__ = ["PICTURE_COLUMNS", "PICTURE_HOLD_S", "PICTURE_INTERVAL_S", "score_picture"]

PICTURE_INTERVAL_S = 10.0
"""How often a picture is scored, s."""
PICTURE_HOLD_S = 30.0
"""How long a track is held (extrapolated) after its last update when scored, s."""

PICTURE_COLUMNS = ["mean OSPA (m)", "completeness", "spuriousness", "track ids per object",
                   "track breaks per object", "median s to confirmed track"]
"""The report's column labels of the picture measures (``mean_ospa_m`` … the median delay)."""


def score_picture(tracks: Any, truth: Any, detections: Any, duration_s: float
                  ) -> dict[str, float | None]:
    """A node's picture against truth: OSPA, SIAP-style measures, continuity and the median delay
    from an object's first detection (any radar) to a confirmed track of the node on it.

    The picture is scored every ``PICTURE_INTERVAL_S``, each track held (extrapolated) up to
    ``PICTURE_HOLD_S`` after its last update; association within 1 km.

    Args:
        tracks: the node's TRACKS table (with ``confirmed``).
        truth: the run's truth, decoded (``iadsim.io.parquet.decoded``).
        detections: the run's detections.
        duration_s: the run's duration, s.

    Returns:
        The measures (None where not defined), as ``summary.json`` stores them.
    """
    times = np.arange(0.0, duration_s, PICTURE_INTERVAL_S)
    o = ospa(tracks, truth, cutoff_m=1000.0, order=1.0, times_s=times, hold_s=PICTURE_HOLD_S)
    s = siap(tracks, truth, association_distance_m=1000.0, times_s=times, hold_s=PICTURE_HOLD_S)
    delay = confirmation_summary(time_to_confirmed_track(tracks, truth, detections, 1000.0,
                                                         times_s=times, hold_s=PICTURE_HOLD_S))
    measures = {"mean_ospa_m": o.mean_m, "completeness": s.completeness,
                "spuriousness": s.spuriousness, "ids_per_object": s.ids_per_object,
                "track_breaks_per_object": s.track_breaks_per_object,
                "median_time_to_confirmed_track_s": delay.median_delay_s,
                "share_detected_confirmed": delay.share_confirmed}

    return {k: (None if not np.isfinite(v) else float(v)) for k, v in measures.items()}
