"""The saturation curve: leakers, kills and missiles expended against raid size.

The scenario's raids are scaled (``count`` × scale, at least one object each), and each size gets
its own sensing pass and C2 pass under the scenario's arrangement (engagements run under wartime
rules). docs/models/engagement.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from iadsim.scenario.schema import Scenario

__all__ = ["SATURATION_SCHEMA", "saturation_curve", "scale_raids"]

SATURATION_SCHEMA = pa.schema([
    ("scale", pa.float64()), ("raid_objects", pa.int64()), ("replication", pa.int64()),
    ("entered", pa.int64()), ("leakers", pa.int64()), ("destroyed", pa.int64()),
    ("missiles", pa.int64()), ("fire_units_dry", pa.int64()),
])


def scale_raids(scenario: Scenario, scale: float) -> Scenario:
    """The scenario with every raid's ``count`` multiplied by ``scale`` (rounded, at least 1)."""
    raids = {rid: raid.model_copy(update={"count": max(1, round(raid.count * scale))})
             for rid, raid in scenario.traffic.raids.items()}
    traffic = scenario.traffic.model_copy(update={"raids": raids})
    return scenario.with_changes(traffic=traffic)


def saturation_curve(scenario: Scenario, scales: Sequence[float], *, replication: int = 0,
                     terrain: Any = None,
                     progress: Callable[[int, int], None] | None = None) -> pa.Table:
    """Leakers against raid size: one sensing and C2 pass per scale.

    Args:
        scenario: the scenario (its raids are scaled; flights and orbits stay).
        scales: raid-size multipliers (> 0).
        replication: the replication of every pass (the same random streams at every size).
        terrain: the engine's terrain (None: smooth earth; the run report passes its DEM).
        progress: called with (sizes done, sizes in all).

    Returns:
        One row per scale (``SATURATION_SCHEMA``): raid objects flown, objects that entered a
        defended airspace, leakers among them, destroyed, missiles expended, fire units run dry.
    """
    from iadsim.c2 import SensorTable, run_c2
    from iadsim.sim import Engine

    if any(not (s > 0 and np.isfinite(s)) for s in scales):
        raise ValueError(f"saturation scales must be positive, got {list(scales)}")
    rows = []
    for i, scale in enumerate(scales):
        sized = scale_raids(scenario, scale)
        engine = Engine(sized, replication=replication, terrain=terrain)
        result = engine.run()
        out = run_c2(sized, result.detections, result.truth, result.objects,
                     SensorTable.from_engine(engine), replication=replication, world=engine.world)
        outcomes = out.outcomes.to_pylist()
        raid_objects = sum(r.count for r in sized.traffic.raids.values())
        rows.append({"scale": float(scale), "raid_objects": raid_objects,
                     "replication": replication, "entered": len(outcomes),
                     "leakers": sum(1 for o in outcomes if o["leaker"]),
                     "destroyed": sum(1 for o in outcomes if np.isfinite(o["killed_s"])),
                     "missiles": int(out.stats.get("missiles_expended", 0)),
                     "fire_units_dry": len(out.stats.get("fire_units_dry", []))})
        if progress is not None:
            progress(i + 1, len(scales))
    return pa.Table.from_pylist(rows, schema=SATURATION_SCHEMA)

