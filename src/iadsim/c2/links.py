"""The links stage of the C2 pass: scenario events on links, nodes and units, units going
autonomous, and track messages between nodes (loss, jitter, latency, capacity). docs/models/c2.md."""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

from iadsim.c2.pictures import stop_sharing
from iadsim.c2.state import C2State, NodeState
from iadsim.scenario.schema import EventKind
from iadsim.tracking.fusion import FusedPicture, TrackSet
from iadsim.tracking.tracker import Tracker

__all__ = ["apply_event", "deliver", "go_autonomous", "send"]


def apply_event(state: C2State, time_s: float, kind: EventKind, target: str) -> None:
    """A scenario event: a link cut, restored, jammed or unjammed; a unit or node down or up."""
    state.event(time_s, str(kind), target if kind.startswith("node") else "", target)
    if kind == EventKind.link_cut:
        state.cut.add(target)
    elif kind == EventKind.link_restored:
        state.cut.discard(target)
    elif kind == EventKind.link_jammed:
        state.jammed.add(target)
    elif kind == EventKind.link_unjammed:
        state.jammed.discard(target)
    elif kind == EventKind.unit_down:
        state.units_down.add(target)
    elif kind == EventKind.unit_up:
        state.units_down.discard(target)
    elif kind == EventKind.node_down and target in state.nodes:
        state.down.add(target)
        state.pending_autonomy.append((time_s + state.settings.autonomy_delay_s, target))
    elif kind == EventKind.node_up and target in state.nodes:
        state.down.discard(target)
        node = state.nodes[target]
        # a command post that comes back starts from an empty picture
        stop_sharing(node)
        node.tracker = Tracker(node.tracker.config, *state.origin)
        node.picture = FusedPicture(target, state.fusion)
        node.latest.clear()
        node.current = None
        back = sorted(u for u, n in state.net.unit_node.items() if n == target and u in state.autonomous)
        for unit in back:
            state.autonomous.discard(unit)
            state.event(time_s, "rejoined", target, unit)


def go_autonomous(state: C2State, t: float) -> None:
    """The units of a node that has been down for ``autonomy_delay_s`` act on their own radar."""
    due = [(at, node) for at, node in state.pending_autonomy if at <= t]
    state.pending_autonomy = [(at, node) for at, node in state.pending_autonomy if at > t]
    for at, node in due:
        if node not in state.down:
            continue
        for unit in sorted(u for u, n in state.net.unit_node.items() if n == node):
            if unit not in state.autonomous:
                state.autonomous.add(unit)
                state.event(at, "autonomous", node, unit, detail="own radar only; lost its command post")


def deliver(state: C2State, node: NodeState, t: float) -> None:
    """The messages that have reached the node by ``t`` replace their source's previous set."""
    while node.inbox and node.inbox[0][0] <= t:
        _, _, source, received = heapq.heappop(node.inbox)
        node.latest[source] = received


def send(state: C2State, node: NodeState, picture: TrackSet, identity: NDArray[np.int64], t: float) -> None:
    """The node sends its picture over each outgoing link that is up: lost with the link's
    unreliability (jammed or not), cut to the link's capacity (threats first), delayed by processing,
    latency and jitter."""
    if not len(picture):
        return
    net, stats = state.net, state.stats
    for link in net.outgoing(node.name):
        if link.link_id in state.cut or link.target in state.down:
            continue
        stats["messages_sent"] += 1
        counts = state.link_messages.setdefault(link.link_id, {"sent": 0, "lost": 0})
        counts["sent"] += 1
        reliability = link.jammed_reliability if link.link_id in state.jammed else link.reliability
        if state.rng_links.random() >= reliability:
            stats["messages_lost"] += 1
            counts["lost"] += 1
            continue
        limit = link.capacity_tracks_per_s * node.cycle_s
        sent = picture
        if len(picture) > limit:
            # threats first, then by track number
            keep = np.lexsort((picture.track_id, -identity))[: int(limit)]
            stats["tracks_over_link_capacity"] += len(picture) - len(keep)
            sent = picture.select(np.sort(keep))
        delay = (net.processing_delay_s[node.name] + link.latency_s
                 + link.jitter_s * abs(float(state.rng_links.standard_normal())))
        assert sent.data_time_s is not None
        message = TrackSet.trusted(node.name, sent.track_id, np.full(len(sent), t), sent.state,
                                   sent.covariance, sent.confirmed, sent.data_time_s)
        state.message_seq += 1
        heapq.heappush(state.nodes[link.target].inbox, (t + delay, state.message_seq, node.name, message))
