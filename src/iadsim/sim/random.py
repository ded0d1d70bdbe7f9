"""Random streams: one seed gives one run, and the arms of a comparison share random numbers.

Every draw comes from a ``numpy.random.Generator`` (PCG64) seeded by
``SeedSequence(entropy=seed, spawn_key=(replication, stage))``: the scenario seed, the
replication number and the stage. A stage therefore draws the same numbers whatever other stages
do, so two command arrangements run on the same traffic and the same sensor noise (common random
numbers), and adding a stage does not change the draws of the others.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["Stage", "stream"]


class Stage(enum.IntEnum):
    """The stages that draw random numbers; their values are part of the run's identity."""

    traffic = 1
    scan_phase = 2
    sensing = 3
    false_alarms = 4
    passive = 5
    c2 = 6
    engagement = 7


def stream(seed: int, replication: int, stage: Stage) -> np.random.Generator:
    """The random Generator of one stage in one replication of a scenario."""
    if seed < 0 or replication < 0:
        raise ValueError("seed and replication must be non-negative")
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(replication, int(stage)))
    return np.random.Generator(np.random.PCG64(sequence))
