"""A run as CZML for Cesium (czml3): units, coverage areas, truth and the nodes' tracks, with time.

One document: a clock over the run; each unit a labelled point in its affiliation's colour with its
equipment, sources and assumptions in the description; each coverage contour a translucent polygon
at its altitude; each air object and each node's track a sampled position with its path, available
while it exists. Times follow ``export_data`` (simulated 0 s = 00:00 UTC of the run's date).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from iadsim.io.export_data import AFFILIATION_RGB, ExportData, groups, track_affiliation

__all__ = ["write_czml"]


def _rgba(affiliation: str, alpha: int = 255) -> list[int]:
    r, g, b = AFFILIATION_RGB.get(affiliation, AFFILIATION_RGB["unknown"])
    return [r, g, b, alpha]


def _rings(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons of a GeoJSON Polygon or MultiPolygon, each as its rings of [lon, lat]."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"]) if geometry["type"] == "MultiPolygon" else []


def write_czml(data: ExportData, path: Path) -> Path:
    """Write ``data`` as one CZML document to ``path`` (created or replaced); returns the path."""
    from czml3 import (
        Clock,
        Color,
        Document,
        Label,
        Material,
        Packet,
        Point,
        Polygon,
        Position,
        PositionList,
        SolidColorMaterial,
    )
    from czml3.properties import PositionListOfLists
    from czml3.types import TimeInterval

    start, end = data.epoch, data.when(data.duration_s)
    packets = [Packet(id="document", name=data.name, version="1.0",
                      clock=Clock(interval=TimeInterval(start=start, end=end), currentTime=start,
                                  multiplier=10))]
    for u in data.units:
        description = (f"<p>{html.escape(u.kind.replace('_', ' '))} at {html.escape(u.place)} "
                       f"<code>{html.escape(u.sidc)}</code> "
                       f"({html.escape(u.nation)})</p><p>{html.escape(u.equipment)}</p>"
                       f"<p>In service from {html.escape(u.in_service_from or 'not public')}</p>"
                       f"<p>Sources: {html.escape(u.sources)}</p>"
                       + (f"<p>Assumed: {html.escape(u.assumptions)}</p>" if u.assumptions else ""))
        packets.append(Packet(
            id=f"unit/{u.unit_id}", name=u.name, description=description,
            position=Position(cartographicDegrees=[u.lon_deg, u.lat_deg, 0.0]),
            point=Point(pixelSize=9, color=Color(rgba=_rgba(u.affiliation)),
                        outlineColor=Color(rgba=[0, 0, 0, 255]), outlineWidth=1),
            label=Label(text=u.name, scale=0.45, show=True)))
    for i, feature in enumerate(data.coverage):
        props = feature["properties"]
        colour = [43, 131, 186, 60] if props["quantity"] == "detected" else [230, 85, 13, 70]
        for j, rings in enumerate(_rings(feature["geometry"])):
            outer = [v for lon, lat in rings[0] for v in (lon, lat, props["altitude_m"])]
            holes = [[v for lon, lat in ring for v in (lon, lat, props["altitude_m"])] for ring in rings[1:]]
            packets.append(Packet(
                id=f"coverage/{i}/{j}",
                name=f"{props['quantity']} {props['rcs_class']}"
                     + (f" ({props['aspect']})" if props.get("aspect") else "")
                     + f" at {props['altitude_m']:g} m {props['altitude_ref'].upper()}",
                polygon=Polygon(positions=PositionList(cartographicDegrees=outer),
                                holes=PositionListOfLists(cartographicDegrees=holes) if holes else None,
                                height=props["altitude_m"],
                                material=Material(solidColor=SolidColorMaterial(color=Color(rgba=colour))))))
    if data.truth is not None:
        for (oid,), cols in groups(data.truth, ["object_id"]):
            packets.append(_moving(f"truth/{oid}", oid, data, cols, _rgba(data.objects.get(oid, "unknown")),
                                   f"{cols['type'][0]} ({cols['nation'][0]}), true position"))
    if data.tracks is not None:
        for (node, track), cols in groups(data.tracks, ["node", "track_id"]):
            identity = track_affiliation(cols["identity"][-1], data.objects.get(cols["object_id"][-1] or ""))
            packets.append(_moving(f"track/{node}/{track}", f"{node} track {track}", data, cols,
                                   _rgba(identity, 200), f"track of node {node}: {identity}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(Document(packets=packets).dumps(), encoding="utf-8")
    return path


def _moving(packet_id: str, name: str, data: ExportData, cols: dict[str, list[Any]], rgba: list[int],
            description: str) -> Any:
    """A packet with a sampled position (seconds from the run's epoch), available while sampled."""
    from czml3 import Color, Packet, Point, Position
    from czml3 import Path as CzmlPath
    from czml3.types import TimeInterval

    # a track of 2-D radars has no altitude: drawn on the ground (alt 0), as the description says
    samples = [v for t, lon, lat, alt in zip(cols["time_s"], cols["lon_deg"], cols["lat_deg"], cols["alt_m"],
                                             strict=True) for v in (t, lon, lat, 0.0 if alt is None else alt)]
    t0, t1 = cols["time_s"][0], cols["time_s"][-1]
    return Packet(id=packet_id, name=name, description=html.escape(description),
                  availability=TimeInterval(start=data.when(t0), end=data.when(t1)),
                  # epoch is a field of czml3's Position model that its typing does not declare
                  position=Position(epoch=data.epoch, cartographicDegrees=samples),  # type: ignore[call-arg]
                  point=Point(pixelSize=6, color=Color(rgba=rgba)),
                  path=CzmlPath(width=1.5, leadTime=0, trailTime=600, material=None))
