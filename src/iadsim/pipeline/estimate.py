"""How much work a run is, said before it starts: clock steps × entities and a run time estimated
from the engine's measured cost per step (``bench/bench_estimate.py``, docs/benchmarks.md).

The sensing pass steps the clock from 0 to ``duration_s`` every ``tick_s``; each step costs a fixed
part (the traffic's state, the radars due, the logs: numpy calls whatever the scene) and a part
that grows with the entities: every radar at every step, and every air object at the steps it is
in the air. Preparing the engine, tracking and the C2 pass add a few seconds. Fitted to one
replication of the bundled scenarios with traffic at their own tick, at half of it and at a
twentieth (3,600 to 84,000 clock steps, 2 to 73 air objects, 20 radars), CPU time on the 2-core
development machine (``bench/bench_estimate.py``, docs/benchmarks.md):

    run time ≈ 4.8 s + 0.034 ms × clock steps + 1.45 µs × entity-steps
    entity-steps = clock steps × radars + air-object steps (the steps each object is in the air)

A run of 1,440,000 steps outside the fit took 104 s of CPU against 124 s estimated. An estimate,
not a promise: it scales with the machine, and the detections' tracking and the C2 pass grow with
the traffic in ways the steps do not show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["FIXED_S", "LONG_RUN_S", "S_PER_ENTITY_STEP", "S_PER_STEP", "RunEstimate", "estimate_run"]

FIXED_S = 4.8
"""Preparing the engine, the tracking and the C2 pass of a small scenario (seconds)."""

S_PER_STEP = 0.034e-3
"""The fixed part of a clock step of the sensing pass (seconds)."""

S_PER_ENTITY_STEP = 1.45e-6
"""The part of a clock step per radar, or per air object in the air (seconds)."""

LONG_RUN_S = 120.0
"""Above this estimated run time the user is warned before the run (2 minutes: the bundled
scenarios take 5 to 15 s)."""


@dataclass(frozen=True)
class RunEstimate:
    """The work of a run and its estimated time.

    Attributes:
        clock_steps: ``duration_s / tick_s``.
        objects: air objects of the traffic (replication 0's draws).
        radars: radars of the engine (ground and airborne).
        object_steps: the clock steps at which each air object is in the air, summed.
        seconds: the estimated run time of one replication (s).
    """

    clock_steps: int
    objects: int
    radars: int
    object_steps: int
    seconds: float

    @property
    def entity_steps(self) -> int:
        """Radars at every clock step and air objects at the steps they are in the air."""
        return self.clock_steps * self.radars + self.object_steps

    @property
    def long(self) -> bool:
        """Whether the run is estimated to take longer than ``LONG_RUN_S``."""
        return self.seconds > LONG_RUN_S

    def describe(self) -> str:
        """One line for the user: the work and the estimated time."""
        possible = self.clock_steps * self.objects
        airborne = self.object_steps / possible if possible else 0.0
        return (f"{_count(self.clock_steps, 'clock step')} × {_count(self.radars, 'radar')} and "
                f"{_count(self.objects, 'air object')} (in the air {100 * airborne:.0f} % of the run on "
                f"average) = {_count(self.entity_steps, 'entity-step')}; estimated run time "
                f"{_duration(self.seconds)} on a machine like the development one (docs/benchmarks.md)")

    def warning(self) -> str | None:
        """A warning for a long run, with what makes it long, or None."""
        if not self.long:
            return None
        return (f"warning: this run is estimated to take {_duration(self.seconds)} "
                f"({self.clock_steps:,} clock steps); a larger tick_s or a shorter duration_s "
                "shortens it")


def estimate_run(duration_s: float, tick_s: float, radars: int, start_s: NDArray[np.float64],
                 end_s: NDArray[np.float64]) -> RunEstimate:
    """The estimate of a run of ``duration_s`` at ``tick_s`` (seconds) with ``radars`` radars and
    air objects in the air from ``start_s`` to ``end_s`` ((N,) seconds from the start; the
    engine's clock: ``floor(duration_s / tick_s)`` steps)."""
    steps = math.floor(duration_s / tick_s + 1e-9)
    airborne_s = np.clip(np.minimum(end_s, duration_s) - np.maximum(start_s, 0.0), 0.0, None)
    object_steps = round(float(airborne_s.sum()) / tick_s)
    seconds = FIXED_S + S_PER_STEP * steps + S_PER_ENTITY_STEP * (steps * radars + object_steps)
    return RunEstimate(steps, len(start_s), radars, object_steps, seconds)


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"
