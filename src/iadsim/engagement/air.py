"""Air-to-air engagements by interceptor pairs under wartime rules: once a pair's own radar holds a
hostile target within its missile's launch range, it fires one missile at a time (shoot–look–shoot),
the kill drawn at the predicted intercept. docs/models/engagement.md."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iadsim.engagement.missile import MissileProfile, kill_probability, predicted_intercept

__all__ = ["AirShot", "AirToAir"]

Array = NDArray[np.float64]


@dataclass
class AirShot:
    """One air-to-air missile: pair ``pair`` at truth object ``target``."""

    pair: int
    target: int
    track_id: int
    node: str
    missile: str
    launch_s: float
    intercept_s: float
    pk: float
    range_m: float
    killed: bool | None = None


@dataclass
class AirToAir:
    """The air-to-air state of a run: missiles left per pair and the shots fired.

    Args:
        missiles_per_pair: missiles a pair carries (the engagement settings).
        launch_fraction: a pair fires within this fraction of its missile's maximum range.
    """

    missiles_per_pair: int
    launch_fraction: float
    left: dict[int, int] = field(default_factory=dict)
    shots: list[AirShot] = field(default_factory=list)

    def in_flight(self, pair: int) -> bool:
        """Whether the pair has a missile in the air (it looks before it shoots again)."""
        return any(s.pair == pair and s.killed is None for s in self.shots)

    def fire(self, t: float, pairs: NDArray[np.int64], position_m: Array, target: NDArray[np.int64],
             target_m: Array, target_vel: Array, track_id: NDArray[np.int64], node: list[str],
             missile: list[str], profile: MissileProfile, nominal_pk: Array) -> list[int]:
        """Fire one missile from each of the given pairs that can: missiles left, none in flight,
        the target within ``launch_fraction`` of the maximum range and inside the envelope at the
        predicted intercept.

        Args:
            t: seconds. pairs: ``(P,)`` pair indices. position_m, target_m, target_vel: ``(P, 3)``
            (local ENU m, m/s). target, track_id: ``(P,)``. node, missile: P names.
            profile: ``(P,)`` the missiles' profiles. nominal_pk: ``(P,)``.

        Returns:
            Indices (into ``shots``) of the shots fired.
        """
        if not len(pairs):
            return []
        hit = predicted_intercept(position_m, target_m, target_vel, profile, earth_radius_m=None)
        rng_m = np.linalg.norm(hit.point_m - position_m, axis=1)
        reach = np.linalg.norm(target_m - position_m, axis=1) <= self.launch_fraction * profile.max_range_m
        frac = np.where(hit.feasible, rng_m / profile.max_range_m, np.nan)
        pk = kill_probability(nominal_pk, frac, hit.feasible, 1.0)
        fired = []
        for i, j in enumerate(pairs.tolist()):
            left = self.left.setdefault(j, self.missiles_per_pair)
            if left <= 0 or self.in_flight(j) or not (reach[i] and hit.feasible[i] and pk[i] > 0):
                continue
            self.left[j] = left - 1
            self.shots.append(AirShot(j, int(target[i]), int(track_id[i]), node[i], missile[i], t,
                                      t + float(hit.time_of_flight_s[i]), float(pk[i]), float(rng_m[i])))
            fired.append(len(self.shots) - 1)
        return fired

    def resolve(self, t: float, rng: np.random.Generator, destroyed_at: Array | None = None) -> list[int]:
        """Draw the kill of every shot whose intercept time has come (in firing order); returns them.

        Args:
            destroyed_at: ``(O,)`` when each truth object was destroyed (inf: not); a shot arriving
                at a target already destroyed does not kill it again.
        """
        done = []
        for i, s in enumerate(self.shots):
            if s.killed is None and s.intercept_s <= t:
                gone = destroyed_at is not None and destroyed_at[s.target] <= s.intercept_s
                s.killed = False if gone else bool(rng.random() < s.pk)
                done.append(i)
        return done
