"""A run as time-stamped KML for Google Earth (simplekml): units, truth and the nodes' tracks.

Folders: units (placemarks in their affiliation's colour, with a time span from entering service,
equipment, sources and assumptions), truth (one ``gx:Track`` per air object, a time stamp per
sample) and tracks (one ``gx:Track`` per node and track). Google Earth's time slider plays them.
Coverage contours are in the run folder's ``coverage/<date>/contours.kml`` already. Times follow
``export_data`` (simulated 0 s = 00:00 UTC of the run's date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iadsim.io.export_data import AFFILIATION_RGB, ExportData, groups, track_affiliation

__all__ = ["write_kml"]


def _kml_colour(affiliation: str, alpha: int = 255) -> str:
    """KML's aabbggrr hex colour of an affiliation."""
    r, g, b = AFFILIATION_RGB.get(affiliation, AFFILIATION_RGB["unknown"])
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"


def _iso(when: Any) -> str:
    return str(when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def write_kml(data: ExportData, path: Path) -> Path:
    """Write ``data`` as one KML document to ``path`` (created or replaced); returns the path."""
    import simplekml

    kml = simplekml.Kml(name=f"{data.name} ({data.as_of.isoformat()})")
    units = kml.newfolder(name="Units in service")
    for u in data.units:
        point = units.newpoint(name=u.name, coords=[(u.lon_deg, u.lat_deg)])
        assumed = f" Assumed: {u.assumptions}." if u.assumptions else ""
        point.description = (f"{u.kind.replace('_', ' ')} at {u.place} ({u.nation}). {u.equipment}. "
                             f"Sources: {u.sources}.{assumed}")
        if u.in_service_from:
            point.timespan.begin = u.in_service_from
        point.style.iconstyle.color = _kml_colour(u.affiliation)
        point.style.iconstyle.icon.href = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"
        point.style.labelstyle.scale = 0.6
        point.extendeddata.newdata("unit_id", u.unit_id)
        point.extendeddata.newdata("affiliation", u.affiliation)
        point.extendeddata.newdata("sidc", u.sidc)
    if data.truth is not None:
        folder = kml.newfolder(name="Truth: air objects")
        for (oid,), cols in groups(data.truth, ["object_id"]):
            _track(folder, oid, data, cols, data.objects.get(oid, "unknown"),
                   f"{cols['type'][0]} ({cols['nation'][0]}), true position")
    if data.tracks is not None:
        folder = kml.newfolder(name="Tracks: the nodes' pictures")
        for (node, track), cols in groups(data.tracks, ["node", "track_id"]):
            identity = track_affiliation(cols["identity"][-1], data.objects.get(cols["object_id"][-1] or ""))
            _track(folder, f"{node} track {track}", data, cols, identity, f"track of node {node}: {identity}")
    path.parent.mkdir(parents=True, exist_ok=True)
    kml.save(str(path))
    return path


def _track(folder: Any, name: str, data: ExportData, cols: dict[str, list[Any]], affiliation: str,
           description: str) -> None:
    """One gx:Track: a time stamp and a position per sample (absolute altitude; 2-D tracks clamped
    to the ground)."""
    import simplekml

    track = folder.newgxtrack(name=name, description=description)
    track.newwhen([_iso(data.when(t)) for t in cols["time_s"]])
    track.newgxcoord([(lon, lat, 0.0 if alt is None else alt)
                      for lon, lat, alt in zip(cols["lon_deg"], cols["lat_deg"], cols["alt_m"], strict=True)])
    has_alt = any(a is not None for a in cols["alt_m"])
    track.altitudemode = simplekml.AltitudeMode.absolute if has_alt else simplekml.AltitudeMode.clamptoground
    track.style.linestyle.color = _kml_colour(affiliation)
    track.style.linestyle.width = 2
    track.style.iconstyle.color = _kml_colour(affiliation)
    track.style.iconstyle.scale = 0.6
