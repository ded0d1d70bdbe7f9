"""The run's work and estimated time, said before a run (iadsim.pipeline.estimate)."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.pipeline.estimate import (
    FIXED_S,
    LONG_RUN_S,
    S_PER_ENTITY_STEP,
    S_PER_STEP,
    estimate_run,
)


def _objects(*spans: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([s for s, _ in spans], float), np.array([e for _, e in spans], float)


def test_the_estimate_counts_radars_at_every_step_and_air_objects_while_in_the_air():
    # one object in the air for the whole hour, one from 30 min to after the end, one before it
    start, end = _objects((-100.0, 4000.0), (1800.0, 9999.0), (-500.0, -10.0))
    est = estimate_run(3600.0, 0.5, 20, start, end)
    assert est.clock_steps == 7200 and est.objects == 3 and est.radars == 20
    assert est.object_steps == 7200 + 3600 and est.entity_steps == 7200 * 20 + 10800
    assert est.seconds == pytest.approx(FIXED_S + S_PER_STEP * 7200 + S_PER_ENTITY_STEP * (144000 + 10800))
    # the engine's own count: floor(duration / tick), a tick that does not divide it included
    none = _objects()
    assert estimate_run(600.0, 0.7, 0, *none).clock_steps == 857
    assert estimate_run(0.3, 0.1, 0, *none).clock_steps == 3  # 0.3 / 0.1 is 2.9999999999999996


def test_the_estimate_against_measured_runs():
    """bench/bench_estimate.py's runs on the development machine (docs/benchmarks.md), the last
    outside the fit: the estimate within 20 % of each measured CPU time (the constants must be
    fitted again when the engine's cost changes)."""
    measured = [(4200, 4428, 4.50), (8400, 8856, 5.37), (84000, 88562, 10.23), (3600, 140308, 4.88),
                (7200, 280615, 6.00), (72000, 2806155, 13.39), (3600, 25895, 5.56),
                (1_440_000, 19125471, 104.3)]
    for steps, object_steps, cpu_s in measured:
        whole, part = divmod(object_steps, steps)  # objects in the air all the run, and one less
        end = np.array([float(steps)] * whole + [float(part)])
        est = estimate_run(float(steps), 1.0, 20, np.zeros(len(end)), end)
        assert est.object_steps == object_steps
        assert 0.8 < est.seconds / cpu_s < 1.2, (steps, est.seconds, cpu_s)


def test_a_long_run_is_warned_with_what_makes_it_long():
    start, end = _objects((0.0, 3600.0), (0.0, 1800.0))
    short = estimate_run(3600.0, 1.0, 20, start, end)
    assert not short.long and short.warning() is None
    assert short.describe().startswith("3,600 clock steps × 20 radars and 2 air objects (in the air 75 %")
    long = estimate_run(30_000.0, 0.01, 20, start, end)
    assert long.long and long.seconds > LONG_RUN_S
    assert "3,000,000 clock steps" in (long.warning() or "") and "tick_s" in (long.warning() or "")
    assert "about" in long.describe() and " min" in long.describe()
