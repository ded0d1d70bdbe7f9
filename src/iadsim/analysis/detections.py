"""Metrics of a run's detections: first detection of each air object, detections over time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iadsim.io.parquet import decoded

__all__ = ["detections_per_minute", "first_detections"]

_KM = 1000.0


def first_detections(detections: pa.Table, objects: pa.Table, start_s: float = 0.0) -> pa.Table:
    """One row per air object: when, by which radar and at what range it was first detected
    (null if never), its type and nation, and when it appeared.

    Args:
        detections: the run's detections table.
        objects: the run's objects table (object_id, type, nation, start_s, ...).
        start_s: the run's start: objects already in the air then appear at it.

    Columns: object_id, type, nation, appears_s, first_detection_s, delay_s, sensor_id,
    range_km.
    """
    detections = decoded(detections)
    appears = pc.max_element_wise(objects["start_s"], pa.scalar(start_s))
    objects = pa.table({"object_id": objects["object_id"], "type": objects["type"],
                        "nation": objects["nation"], "appears_s": appears})
    real = detections.filter(pc.invert(detections["false_alarm"]))
    if real.num_rows:
        order = pc.sort_indices(real, sort_keys=[("object_id", "ascending"), ("time_s", "ascending"),
                                                 ("sensor_id", "ascending")])
        real = real.take(order)
        ids = real["object_id"].to_numpy(zero_copy_only=False)
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        firsts = real.filter(pa.array(first)).select(["object_id", "time_s", "sensor_id", "range_m"])
    else:
        firsts = pa.table({"object_id": pa.array([], pa.string()), "time_s": pa.array([], pa.float64()),
                           "sensor_id": pa.array([], pa.string()), "range_m": pa.array([], pa.float64())})
    joined = objects.join(firsts, "object_id", join_type="left outer")
    joined = joined.sort_by([("object_id", "ascending")])
    delay = pc.subtract(joined["time_s"], joined["appears_s"])
    return pa.table({
        "object_id": joined["object_id"], "type": joined["type"], "nation": joined["nation"],
        "appears_s": joined["appears_s"], "first_detection_s": joined["time_s"], "delay_s": delay,
        "sensor_id": joined["sensor_id"], "range_km": pc.divide(joined["range_m"], _KM),
    })


def detections_per_minute(detections: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(minute starts in s, {sensor_id: detections in each minute}) for true detections."""
    real = decoded(detections).filter(pc.invert(detections["false_alarm"]))
    if not real.num_rows:
        return np.zeros(0), {}
    t = real["time_s"].to_numpy()
    sensors = real["sensor_id"].to_numpy(zero_copy_only=False).astype(str)
    minutes = np.floor(t / 60.0).astype(np.int64)
    edges = np.arange(0, minutes.max() + 1) * 60.0
    out = {}
    for sid in np.unique(sensors):
        out[str(sid)] = np.bincount(minutes[sensors == sid], minlength=len(edges))
    return edges, out
