"""Tracking per command node: each node tracks the detections of the sensors that report to it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from iadsim.tracking.tracker import TrackerConfig, track_detections

__all__ = ["track_by_node"]


def track_by_node(detections: pa.Table, sensor_node: dict[str, str],
                  config: TrackerConfig | None = None) -> dict[str, pa.Table]:
    """TRACKS per node from one detections table.

    Args:
        detections: the engine's detections (DETECTIONS columns plus extras).
        sensor_node: sensor_id → the id of the node it reports to.
        config: tracker settings shared by the nodes.

    Returns:
        node id → its TRACKS table, for every node that received at least one detection.
    """
    if not detections.num_rows:
        return {}
    sensors = detections["sensor_id"].cast(pa.string()).to_numpy(zero_copy_only=False).astype(str)
    unique, inverse = np.unique(sensors, return_inverse=True)
    nodes = np.asarray([sensor_node.get(s, "") for s in unique.tolist()])
    row_node = nodes[inverse]
    out = {}
    for node in sorted(set(nodes.tolist()) - {""}):
        subset = detections.filter(pa.array(row_node == node))
        out[node] = track_detections(subset, config)
    return out
