"""One replication of a scenario: the sensing pass, then the C2 pass, engagements and outcomes.

This is the one place the stages are wired (docs/architecture.md). ``iadsim run``, ``compare``,
``sweep`` and the saturation curve all call ``run_replication``; comparisons share one
``sensing_pass`` across arrangements by passing it as ``sensing=``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa

from iadsim.analysis.detections import first_detections
from iadsim.analysis.outcomes import OUTCOME_SCHEMA, outcome_table
from iadsim.c2 import C2Error, TrackerCache, build_network, run_c2, sensor_reporting_nodes
from iadsim.c2.engagements import ENGAGEMENT_SCHEMA
from iadsim.c2.operations import C2_EVENT_SCHEMA, INTERCEPTOR_SCHEMA, PICTURE_SCHEMA
from iadsim.scenario.errors import ScenarioError
from iadsim.scenario.schema import Arrangement, Scenario, default_tracking_settings
from iadsim.sensors.radar import RadarSet
from iadsim.sim.engine import Engine, SensingResult
from iadsim.tracking.nodes import track_by_node
from iadsim.tracking.tracker import TrackerConfig
from iadsim.version import __version__
from iadsim.world import World, scenario_hash

__all__ = ["DEFAULT_TERRAIN", "RunResult", "SensingPass", "arrangement_problems", "run_replication",
           "sensing_pass"]

DEFAULT_TERRAIN: Final = "default"
"""The terrain argument meaning the bundled ETOPO5 (``iadsim.geo.terrain.default_terrain()``), the
terrain ``iadsim run`` uses; ``None`` means a smooth earth."""

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total)."""


@dataclass(frozen=True)
class SensingPass:
    """A finished sensing pass and what the C2 pass needs of the prepared engine.

    Attributes:
        scenario: the scenario as sensed (its seed replaced if a seed was given).
        replication: the replication (seeds the engine's random streams).
        scenario_hash: SHA-256 of ``scenario``'s canonical JSON.
        radars: the engine's scanning radars (``Engine.radars``).
        world: the scenario compiled at its date.
        terrain: the terrain the radars saw (None: smooth earth).
        result: the engine's tables (truth, detections, bearings, events, objects, ew_effects).
        tracker_cache: what the C2 passes over this sensing pass share (each node's scans and
            tracker record, ``iadsim.c2.TrackerCache``): the arrangements of a comparison run
            the node trackers once where their reports are the same. Results do not depend on it.
    """

    scenario: Scenario
    replication: int
    scenario_hash: str
    radars: RadarSet
    world: World
    terrain: Any
    result: SensingResult
    tracker_cache: TrackerCache = field(default_factory=TrackerCache, repr=False, compare=False)

    @property
    def seed(self) -> int:
        """The seed of the pass."""
        return int(self.scenario.seed)


@dataclass(frozen=True)
class RunResult:
    """One replication's results as Arrow tables in memory.

    Attributes:
        truth, detections, bearings, events, objects, ew_effects: the sensing pass's tables.
        first_detections: per air object, its first detection (``analysis.first_detections``).
        picture, c2_events, interceptors, outcomes, engagements: the C2 pass's tables (empty with
            their schemas when the C2 pass did not run).
        tracks: node → its TRACKS table (the C2 pass's picture per node with ``confirmed``; or,
            without a C2 pass, each node's tracker over its radars' detections).
        stats: the sensing pass's counts under ``sensing``, the C2 pass's under ``c2``.
        arrangement: the arrangement of the C2 pass (the scenario's when it did not run).
        c2: whether the C2 pass ran (else ``tracks`` came from the per-node trackers).
        seed, replication, scenario_hash, version: the identity of the run.
        world: the scenario compiled at its date.
        terrain: the terrain of the sensing pass (None: smooth earth).
    """

    truth: pa.Table
    detections: pa.Table
    bearings: pa.Table
    events: pa.Table
    objects: pa.Table
    ew_effects: pa.Table
    first_detections: pa.Table
    picture: pa.Table
    c2_events: pa.Table
    interceptors: pa.Table
    outcomes: pa.Table
    engagements: pa.Table
    tracks: dict[str, pa.Table]
    stats: dict[str, Any]
    arrangement: str
    c2: bool
    seed: int
    replication: int
    scenario_hash: str
    version: str
    world: World | None = field(default=None, repr=False, compare=False)
    terrain: Any = field(default=None, repr=False, compare=False)


def _terrain(terrain: Any) -> Any:
    if isinstance(terrain, str):
        if terrain != DEFAULT_TERRAIN:
            raise ValueError(f"terrain must be a Terrain, None or {DEFAULT_TERRAIN!r}, got {terrain!r}")
        from iadsim.geo.terrain import default_terrain

        return default_terrain()
    return terrain


def _seeded(scenario: Scenario, seed: int | None) -> Scenario:
    return scenario if seed is None or seed == scenario.seed else scenario.with_changes(seed=seed)


def sensing_pass(scenario: Scenario, *, seed: int | None = None, replication: int = 0,
                 terrain: Any = DEFAULT_TERRAIN, progress: Progress | None = None) -> SensingPass:
    """Prepare the engine at the scenario's date and run its sensing pass.

    Args:
        scenario: the scenario.
        seed: replaces the scenario's seed (None: the scenario's).
        replication: the replication (seeds the engine's random streams).
        terrain: a ``Terrain``, ``DEFAULT_TERRAIN`` (the bundled ETOPO5) or None (smooth earth).
        progress: called with ("simulation", ticks done, ticks in all).

    Raises:
        TrafficError: the scenario's traffic cannot be flown.
    """
    sc = _seeded(scenario, seed)
    engine = Engine(sc, replication=replication, terrain=_terrain(terrain))

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress("simulation", done, total)

    result = engine.run(step)
    return SensingPass(sc, replication, scenario_hash(sc), engine.radars, engine.world,
                       engine.terrain, result)


def arrangement_problems(scenario: Scenario, arrangements: Iterable[Arrangement | str],
                         ) -> dict[str, list[ScenarioError]]:
    """Which arrangements cannot be built at the scenario's date, with their problems, before any
    pass runs (the engine is prepared, not run: its radars decide the networks).

    Args:
        scenario: the scenario (at its ``as_of``).
        arrangements: the arrangements to check.
    """
    engine = Engine(scenario)
    s = engine.radars
    failed: dict[str, list[ScenarioError]] = {}
    for arr in arrangements:
        try:
            build_network(scenario, Arrangement(arr), s.sensor_id, s.unit, s.nation, s.aircraft)
        except C2Error as exc:
            failed[str(Arrangement(arr).value)] = list(exc.errors)
    return failed


def run_replication(scenario: Scenario, *, arrangement: Arrangement | str | None = None,
                    seed: int | None = None, replication: int = 0, sensing: SensingPass | None = None,
                    terrain: Any = DEFAULT_TERRAIN, tracker_config: TrackerConfig | None = None,
                    progress: Progress | None = None) -> RunResult:
    """Run one replication: the sensing pass (or ``sensing``), the C2 pass, engagements, outcomes.

    The C2 pass runs when an arrangement is given, or when the scenario has ``c2`` settings and rules
    for its own arrangement; otherwise each command node tracks its radars' detections (the peacetime
    chain of command) and the C2 tables are empty.

    Args:
        scenario: the scenario (at its ``as_of``).
        arrangement: the arrangement of the C2 pass (None: the scenario's).
        seed: replaces the scenario's seed (None: the scenario's).
        replication: the replication.
        sensing: a sensing pass of this scenario, seed and replication to reuse (arrangements of a
            comparison share one).
        terrain: the sensing pass's terrain when it runs here (see ``sensing_pass``).
        tracker_config: the node trackers' settings.
        progress: called with (phase, done, total).

    Raises:
        ValueError: ``sensing`` comes from another scenario, seed or replication.
        C2Error: the arrangement cannot be built at the scenario's date.
    """
    sc = _seeded(scenario, seed)
    shared = sensing is not None  # only a pass another C2 pass may read again keeps tracker records
    if sensing is None:
        sensing = sensing_pass(sc, replication=replication, terrain=terrain, progress=progress)
    elif sensing.replication != replication or sensing.seed != sc.seed \
            or sensing.scenario_hash != scenario_hash(sc):
        raise ValueError(f"the sensing pass given is of another run (replication {sensing.replication}, "
                         f"seed {sensing.seed}, scenario {sensing.scenario_hash[:12]}) than asked "
                         f"(replication {replication}, seed {sc.seed}, "
                         f"scenario {scenario_hash(sc)[:12]})")
    res = sensing.result
    first = first_detections(res.detections, res.objects)
    stats: dict[str, Any] = {"sensing": dict(res.stats)}
    run_c2_pass = arrangement is not None or (sc.c2 is not None and sc.arrangement in sc.arrangements)
    arr = Arrangement(arrangement or sc.arrangement)
    if run_c2_pass:
        def step(done: int, total: int) -> None:
            if progress is not None:
                progress("command and control", done, total)

        c2 = run_c2(sc, res.detections, res.truth, res.objects, sensing.radars, arr,
                    replication=replication, terrain=sensing.terrain, tracker_config=tracker_config,
                    world=sensing.world,
                    progress=step, tracker_cache=sensing.tracker_cache if shared else None)
        picture, c2_events, interceptors = c2.picture, c2.events, c2.interceptors
        outcomes = outcome_table(sc, c2, res.detections, res.objects, first)
        engagements = c2.engagements
        stats["c2"] = dict(c2.stats)
        tracks = _picture_tracks(picture)
    else:
        picture, c2_events = PICTURE_SCHEMA.empty_table(), C2_EVENT_SCHEMA.empty_table()
        interceptors, outcomes = INTERCEPTOR_SCHEMA.empty_table(), OUTCOME_SCHEMA.empty_table()
        engagements = ENGAGEMENT_SCHEMA.empty_table()
        s = sensing.radars
        nodes = sensor_reporting_nodes(sc, s.unit, s.nation, s.aircraft)
        mapping = dict(zip(s.sensor_id.tolist(), nodes.tolist(), strict=True))
        config = tracker_config or TrackerConfig.from_settings(sc.tracking or default_tracking_settings())
        tracks = track_by_node(res.detections, mapping, config)
        stats["sensor_nodes"] = mapping
    return RunResult(res.truth, res.detections, res.bearings, res.events, res.objects, res.ew_effects,
                     first, picture, c2_events, interceptors,
                     outcomes, engagements, tracks, stats, arr.value, run_c2_pass, sensing.seed,
                     replication, sensing.scenario_hash, str(__version__), sensing.world, sensing.terrain)


def _picture_tracks(picture: pa.Table) -> dict[str, pa.Table]:
    """Each node's picture as a TRACKS table (every track the C2 pass publishes is confirmed)."""
    import pyarrow.compute as pc

    nodes = sorted(set(picture["node"].to_pylist())) if picture.num_rows else []
    out = {}
    for node in nodes:
        pic = picture.filter(pc.equal(picture["node"], node))
        out[node] = pic.append_column("confirmed", pa.array(np.ones(pic.num_rows, dtype=bool)))
    return out
