"""The saturation curve: leakers, kills and missiles expended against raid size.

The scenario's raids are scaled (``count`` × scale, at least one object each), and each size is one
``run_replication`` under the scenario's arrangement (engagements run under wartime rules).
docs/models/engagement.md.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from iadsim.pipeline import DEFAULT_TERRAIN, RunResult, run_replication
from iadsim.runs.workers import process_pool, stop_workers
from iadsim.scenario.schema import Scenario
from iadsim.world import scenario_hash

__all__ = ["SATURATION_SCHEMA", "SaturationRuns", "saturation_curve", "saturation_row", "scale_raids"]

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


def saturation_row(scenario: Scenario, scale: float, run: RunResult) -> dict[str, Any]:
    """One row of the curve (``SATURATION_SCHEMA``) from the replication of the scaled scenario.

    Args:
        scenario: the scaled scenario (``scale_raids``).
        scale: its raid-size multiplier.
        run: its replication.
    """
    outcomes = run.outcomes.to_pylist()
    c2 = run.stats.get("c2", {})
    return {"scale": float(scale), "raid_objects": sum(r.count for r in scenario.traffic.raids.values()),
            "replication": run.replication, "entered": len(outcomes),
            "leakers": sum(1 for o in outcomes if o["leaker"]),
            "destroyed": sum(1 for o in outcomes if np.isfinite(o["killed_s"])),
            "missiles": int(c2.get("missiles_expended", 0)),
            "fire_units_dry": len(c2.get("fire_units_dry", []))}


def _scaled_row(args: tuple[Scenario, float, int, Any]) -> dict[str, Any]:
    """The worker: one scale's replication and its row."""
    scenario, scale, replication, terrain = args
    sized = scale_raids(scenario, scale)
    return saturation_row(sized, scale, run_replication(sized, replication=replication, terrain=terrain))


class SaturationRuns:
    """The saturation curve's replications, started at once in worker processes (largest raid
    first) so that they run while the caller runs the scenario's own replication; ``finish`` takes
    that replication as the row of scale 1 and collects the rest.

    Args:
        scenario: the scenario (its raids are scaled; flights and orbits stay).
        scales: raid-size multipliers (> 0).
        replication: the replication of every pass (the same random streams at every size).
        terrain: the sensing passes' terrain (``DEFAULT_TERRAIN``, a Terrain or None), picklable
            when ``jobs`` > 1 (``DEFAULT_TERRAIN`` or None).
        main_follows: the caller will give the scenario's own replication to ``finish``: scale 1 is
            not started.
        jobs: worker processes over scales (1: run in ``finish``, in this process); the result does
            not depend on it.
    """

    def __init__(self, scenario: Scenario, scales: Sequence[float], *, replication: int = 0,
                 terrain: Any = DEFAULT_TERRAIN, main_follows: bool = False, jobs: int = 1) -> None:
        if any(not (s > 0 and np.isfinite(s)) for s in scales):
            raise ValueError(f"saturation scales must be positive, got {list(scales)}")
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.scenario, self.scales, self.replication = scenario, list(scales), replication
        self.from_main = [i for i, s in enumerate(self.scales) if main_follows and s == 1]
        todo = [i for i in range(len(self.scales)) if i not in self.from_main]
        todo.sort(key=lambda i: -self.scales[i])  # the largest raids take longest: first
        self._tasks = {i: (scenario, float(self.scales[i]), replication, terrain) for i in todo}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future[dict[str, Any]], int] = {}
        workers = min(jobs, len(todo))
        if workers > 1:
            self._pool = process_pool(workers)
            self._futures = {self._pool.submit(_scaled_row, self._tasks[i]): i for i in todo}

    def finish(self, main: RunResult | None = None,
               progress: Callable[[int, int], None] | None = None) -> pa.Table:
        """The curve, one row per scale (``SATURATION_SCHEMA``).

        Args:
            main: the scenario's own replication: the row of scale 1 when it is of this scenario
                and replication (the same result, one pass saved); else scale 1 runs here.
            progress: called with (sizes done, sizes in all).
        """
        rows: dict[int, dict[str, Any]] = {}
        total = len(self.scales)

        def tick() -> None:
            if progress is not None:
                progress(len(rows), total)

        usable = (main is not None and main.replication == self.replication
                  and main.scenario_hash == scenario_hash(self.scenario))
        for i in self.from_main:
            rows[i] = (saturation_row(scale_raids(self.scenario, 1.0), 1.0, main) if usable and main
                       else _scaled_row(self._tasks.get(i) or (self.scenario, 1.0, self.replication,
                                                                DEFAULT_TERRAIN)))
        tick()
        try:
            if self._pool is None:
                for i, task in self._tasks.items():
                    rows[i] = _scaled_row(task)
                    tick()
            else:
                for future in cf.as_completed(self._futures):
                    rows[self._futures[future]] = future.result()
                    tick()
        finally:
            self.close()
        return pa.Table.from_pylist([rows[i] for i in range(total)], schema=SATURATION_SCHEMA)

    def close(self) -> None:
        """Stop the workers (a run that fails or is interrupted does not leave them running)."""
        if self._pool is not None:
            stop_workers(self._pool)
            self._pool = None


def saturation_curve(scenario: Scenario, scales: Sequence[float], *, replication: int = 0,
                     terrain: Any = DEFAULT_TERRAIN, main: RunResult | None = None, jobs: int = 1,
                     progress: Callable[[int, int], None] | None = None) -> pa.Table:
    """Leakers against raid size: one replication (sensing and C2 pass) per scale, started and
    finished at once (``SaturationRuns``, whose arguments these are; ``main``: the scenario's own
    replication, if already run, is the row of scale 1).

    Returns:
        One row per scale (``SATURATION_SCHEMA``): raid objects flown, objects that entered a
        defended airspace, leakers among them, destroyed, missiles expended, fire units run dry.
    """
    usable = (main is not None and main.replication == replication
              and main.scenario_hash == scenario_hash(scenario))
    runs = SaturationRuns(scenario, scales, replication=replication, terrain=terrain, main_follows=usable,
                          jobs=jobs)
    return runs.finish(main, progress)
