"""The command-and-control network of one arrangement at a date: active nodes, the links that carry
tracks and orders, who reports to whom, who decides where, and the timed events that cut links
and take nodes down. Formulas and choices: docs/models/c2.md."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from iadsim.c2.chain import reporting_node, sensor_reporting_nodes
from iadsim.data import load_regions
from iadsim.scenario.errors import ScenarioError, ScenarioErrors
from iadsim.scenario.schema import (
    Arrangement,
    ArrangementRules,
    C2Settings,
    CommandNodeKind,
    EventKind,
    Scenario,
)

__all__ = ["C2Error", "C2Network", "DirectedLink", "airspace", "build_network"]


class C2Error(ScenarioErrors):
    """The scenario's command and control cannot be built for an arrangement (every problem at once);
    reported by the CLI like a scenario error (exit code 2)."""

    def render(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} with the scenario's command and control:"
        return "\n".join([head, *(e.render() for e in self.errors)])


@dataclass(frozen=True)
class DirectedLink:
    """One direction of a link between two active command nodes; seconds and tracks per second."""

    link_id: str
    source: str
    target: str
    latency_s: float
    jitter_s: float
    reliability: float
    jammed_reliability: float
    capacity_tracks_per_s: float  # inf when the link gives none


@dataclass(frozen=True)
class C2Network:
    """The C2 network of one arrangement at the scenario's date.

    Attributes:
        nodes: active command node ids, sorted.
        nation, processing_delay_s, cycle_s, capacity_tracks: per active node.
        links: the directed links that carry tracks (and orders) in this arrangement.
        sensor_node: sensor id → the active node it reports to.
        unit_node: unit id → the active node it reports to (units with no active node are absent).
        authority: airspace (nation id) → the deciding node; may_task as in the rules.
        events: (time_s, kind, target) of link and node events, in time order.
    """

    arrangement: Arrangement
    rules: ArrangementRules
    settings: C2Settings
    nodes: tuple[str, ...]
    nation: dict[str, str]
    processing_delay_s: dict[str, float]
    cycle_s: dict[str, float]
    capacity_tracks: dict[str, int]
    links: tuple[DirectedLink, ...]
    sensor_node: dict[str, str]
    unit_node: dict[str, str]
    authority: dict[str, str]
    may_task: dict[str, tuple[str, ...]]
    events: tuple[tuple[float, EventKind, str], ...] = field(default_factory=tuple)
    _delays: dict[tuple[str, str, frozenset[str], frozenset[str]], float | None] = field(
        default_factory=dict, compare=False, repr=False)
    """Order delays already computed: they change only when a link or node event does."""

    def outgoing(self, node: str) -> list[DirectedLink]:
        """The links leaving ``node``."""
        return [link for link in self.links if link.source == node]

    def order_delay_s(self, source: str, target: str, cut: set[str], down: set[str]) -> float | None:
        """The nominal time (s) for an order from ``source`` to reach ``target`` over the links that
        are not cut, through nodes that are up: link latencies plus the processing delay of every
        node passed through (Dijkstra); None when no path exists."""
        key = (source, target, frozenset(cut), frozenset(down))
        if key not in self._delays:
            self._delays[key] = self._shortest_delay(source, target, cut, down)
        return self._delays[key]

    def report_age_bound_s(self) -> float:
        """How old the sensor data behind a track a node legitimately holds can be, s, at worst over
        the link and node states the scenario's events make.

        The slowest of the fastest report paths between two nodes that are up (each hop: the
        sender's cycle, its processing delay, the link's latency and three standard deviations of
        its jitter), plus the radar's report latency, the receiver's cycle, two of the longest
        cycles for lost messages, and ``max_coast_s`` for the sending tracker coasting the track
        between detections. ``c2.max_report_age_s`` must exceed it; older data can then only be an
        echo of a track every sensor lost. Messages lost for long on a jammed or unreliable link
        are not bounded: such tracks are dropped until fresh data comes through.
        """
        cut: set[str] = set()
        down: set[str] = set()
        states = [(frozenset(cut), frozenset(down))]
        for _, kind, target in self.events:
            if kind == EventKind.link_cut:
                cut.add(target)
            elif kind == EventKind.link_restored:
                cut.discard(target)
            elif kind == EventKind.node_down:
                down.add(target)
            elif kind == EventKind.node_up:
                down.discard(target)
            states.append((frozenset(cut), frozenset(down)))
        slowest = 0.0
        for state_cut, state_down in set(states):
            for source in self.nodes:
                if source in state_down:
                    continue
                reach = self._dijkstra(source, self._report_hop_s, state_cut, state_down)
                slowest = max(slowest, *reach.values())
        cycle = max(self.cycle_s.values(), default=0.0)
        return (slowest + self.settings.sensor_report_latency_s + 3.0 * cycle
                + self.settings.max_coast_s)

    def _report_hop_s(self, link: DirectedLink) -> float:
        return (self.cycle_s[link.source] + self.processing_delay_s[link.source] + link.latency_s
                + 3.0 * link.jitter_s)

    def _order_hop_s(self, link: DirectedLink) -> float:
        return link.latency_s + self.processing_delay_s[link.target]

    def _shortest_delay(self, source: str, target: str, cut: set[str], down: set[str]) -> float | None:
        """Latencies plus the processing delay of every node passed through, not the target's."""
        if source in down or target in down:
            return None
        reach = self._dijkstra(source, self._order_hop_s, cut, down)
        return reach[target] - (self.processing_delay_s[target] if target != source else 0.0) \
            if target in reach else None

    def _dijkstra(self, source: str, hop_s: Callable[[DirectedLink], float], cut: AbstractSet[str],
                  down: AbstractSet[str]) -> dict[str, float]:
        """The least total ``hop_s`` from ``source`` to every node it reaches over links not cut,
        through nodes that are up, seconds."""
        best = {source: 0.0}
        queue = [(0.0, source)]
        while queue:
            cost, node = heapq.heappop(queue)
            if cost > best[node]:
                continue
            for link in self.outgoing(node):
                if link.link_id in cut or link.target in down:
                    continue
                step = cost + hop_s(link)
                if step < best.get(link.target, np.inf):
                    best[link.target] = step
                    heapq.heappush(queue, (step, link.target))
        return best


def airspace(scenario: Scenario, nation: str) -> BaseGeometry:
    """A nation's airspace: the union of its bundled region polygons (e.g. RUS and RUS-KGD)."""
    regions = load_regions()
    code = scenario.nations[nation].region or nation
    parts = [r.geometry for rid, r in regions.items() if rid == code or rid.startswith(code + "-")]
    geom = shapely.union_all(parts) if parts else shapely.Polygon()
    shapely.prepare(geom)
    return geom


def _active_node(scenario: Scenario, node: str | None, active: set[str]) -> str | None:
    """The first active node up the superior chain from ``node`` (itself if active)."""
    seen: set[str] = set()
    while node is not None and node not in seen:
        if node in active:
            return node
        seen.add(node)
        command = scenario.command_nodes.get(node)
        node = command.superior if command is not None else None
    return None


def build_network(scenario: Scenario, arrangement: Arrangement, sensor_ids: NDArray[np.str_],
                  sensor_units: NDArray[np.str_], sensor_nations: NDArray[np.str_],
                  sensor_aircraft: NDArray[np.str_]) -> C2Network:
    """The C2 network of ``arrangement`` at ``scenario.as_of``.

    Args:
        scenario: the scenario (with ``c2`` settings and the arrangement's rules).
        arrangement: which of the four arrangements.
        sensor_ids, sensor_units, sensor_nations, sensor_aircraft: arrays of S, the engine's radars
            (unit id for ground radars, aircraft type for airborne ones, else empty strings).

    Raises:
        C2Error: no c2 settings or rules for the arrangement, a deciding node not in service, or a
            unit or sensor with no commander in this arrangement — every problem at once.
    """
    problems: list[ScenarioError] = []
    if scenario.c2 is None:
        problems.append(ScenarioError("the scenario has no c2 settings (include: [reference] brings "
                                      "them)", ("c2",)))
    rules = scenario.arrangements.get(arrangement)
    if rules is None:
        problems.append(ScenarioError(f"the scenario defines no rules for the arrangement "
                                      f"'{arrangement}'", ("arrangements",), given=arrangement,
                                      has_given=True, allowed=", ".join(scenario.arrangements)
                                      or "(none)"))
    if problems:
        raise C2Error(problems)
    assert rules is not None and scenario.c2 is not None
    settings = scenario.c2
    day = scenario.as_of
    active = {nid for nid, n in scenario.command_nodes.items()
              if n.in_service.contains(day)
              and (rules.joint_command_active or n.kind != CommandNodeKind.joint_command)}
    for airspace_id, node in rules.authority.items():
        if node not in active:
            problems.append(ScenarioError(
                f"the deciding node '{node}' of the {airspace_id} airspace is not in service on "
                f"{day.isoformat()} in the '{arrangement}' arrangement", ("arrangements", arrangement,
                                                                          "authority", airspace_id)))
    nodes = tuple(sorted(active))
    links = []
    for lid, link in sorted(scenario.links.items()):
        if not link.in_service.contains(day) or link.a not in active or link.b not in active:
            continue
        a_nation, b_nation = scenario.command_nodes[link.a].nation, scenario.command_nodes[link.b].nation
        if a_nation != b_nation and not rules.cross_border_sharing:
            continue
        params = dict(latency_s=link.latency_s or 0.0, jitter_s=link.jitter_s or 0.0,
                      reliability=1.0 if link.reliability is None else link.reliability,
                      jammed_reliability=link.jammed_reliability or 0.0,
                      capacity_tracks_per_s=link.capacity_tracks_per_s or np.inf)
        links.append(DirectedLink(lid, link.a, link.b, **params))
        if link.bidirectional:
            links.append(DirectedLink(lid, link.b, link.a, **params))

    unit_node: dict[str, str] = {}
    for uid, unit in sorted(scenario.units.items()):
        if not unit.in_service.contains(day):
            continue
        commander = _active_node(scenario, reporting_node(scenario, uid), active)
        if commander is not None:
            unit_node[uid] = commander
    raw = sensor_reporting_nodes(scenario, sensor_units, sensor_nations, sensor_aircraft)
    sensor_node: dict[str, str] = {}
    orphans: set[str] = set()  # a unit with several radars is one problem, not one per radar
    for sid, unit, node in zip(sensor_ids.tolist(), sensor_units.tolist(), raw.tolist(), strict=True):
        resolved = _active_node(scenario, node, active)
        if resolved is None:
            if unit in orphans:
                continue
            orphans.add(unit or sid)
            who = f"unit '{unit}'" if unit else f"sensor '{sid}'"
            problems.append(ScenarioError(
                f"{who} has no commander in the '{arrangement}' arrangement on {day.isoformat()}: "
                f"its chain ends at '{node}', which is not an active command node",
                ("units", unit, "parent") if unit else ()))
            continue
        sensor_node[sid] = resolved
    if problems:
        raise C2Error(problems)

    events = tuple(sorted((e.at_s, e.kind, e.target) for e in scenario.events.values()
                          if e.kind in (EventKind.link_cut, EventKind.link_restored,
                                        EventKind.link_jammed, EventKind.link_unjammed,
                                        EventKind.node_down, EventKind.node_up,
                                        EventKind.unit_down, EventKind.unit_up)))
    cmd = scenario.command_nodes
    net = C2Network(
        arrangement=arrangement, rules=rules, settings=settings, nodes=nodes,
        nation={n: cmd[n].nation for n in nodes},
        processing_delay_s={n: cmd[n].processing_delay_s or 0.0 for n in nodes},
        cycle_s={n: cmd[n].cycle_s or settings.node_cycle_s for n in nodes},
        capacity_tracks={n: cmd[n].capacity_tracks or 1_000_000 for n in nodes},
        links=tuple(links), sensor_node=sensor_node, unit_node=unit_node,
        authority=dict(rules.authority),
        may_task={k: tuple(v) for k, v in rules.may_task.items()}, events=events)
    bound = net.report_age_bound_s()
    if bound >= settings.max_report_age_s:
        raise C2Error([ScenarioError(
            f"{settings.max_report_age_s:g} s is not longer than the oldest data a "
            f"node of the '{arrangement}' arrangement can legitimately hold ({bound:.0f} s: its slowest "
            "report path, report latency, cycles and c2.max_coast_s): tracks relayed over it would be "
            "dropped as stale; raise it above that", ("c2", "max_report_age_s"))])
    return net
