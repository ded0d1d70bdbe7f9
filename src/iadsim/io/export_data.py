"""What the exports (CZML, KML, GeoPackage) take from a finished run folder: the units of the order
of battle, the coverage contours, truth and the nodes' tracks, with a time base and the colours of
one symbology. Read through the run-folder contract; each format's writer is its own module
(``export_czml``, ``export_kml``, ``export_gpkg``) and ``iadsim export`` dispatches on ``--format``.

Time: simulated time 0 is 00:00 UTC of the run's date (a run has no time of day); every time stamp
written is that epoch plus the simulated seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from iadsim.io.parquet import decoded
from iadsim.io.run_folder import RunFolder, read_run_folder
from iadsim.oob import order_of_battle
from iadsim.scenario.schema import Scenario
from iadsim.symbology import AFFILIATION_RGB, affiliation_of, unit_sidc

__all__ = ["AFFILIATION_RGB", "ExportData", "ExportUnit", "groups", "read_export_data", "track_affiliation"]


@dataclass(frozen=True)
class ExportUnit:
    """A unit in service at the run's date, at its place."""

    unit_id: str
    name: str
    nation: str
    affiliation: str
    sidc: str
    kind: str
    place: str
    lat_deg: float
    lon_deg: float
    equipment: str
    in_service_from: str
    sources: str
    assumptions: str


@dataclass(frozen=True)
class ExportData:
    """A run's exportable content.

    Attributes:
        name: the scenario's name. as_of: the run's date. epoch: simulated time 0 (UTC).
        duration_s: the run's duration. units: units with a public place.
        coverage: the coverage contours (GeoJSON features, lon/lat) or none.
        truth: time_s, object_id, type, nation, lat_deg, lon_deg, alt_m, sorted by object and time.
        objects: object_id → its affiliation from the defender's view (``neutral`` for civil traffic
            with a flight plan, ``hostile`` for an opposing nation's, else ``unknown``; own side
            ``friend``).
        tracks: the nodes' recorded pictures: time_s, node, track_id, lat_deg, lon_deg, alt_m (null
            for a track of 2-D radars), identity, object_id, sorted by node, track and time; None
            without a C2 pass.
    """

    name: str
    as_of: dt.date
    epoch: dt.datetime
    duration_s: float
    units: tuple[ExportUnit, ...]
    coverage: tuple[dict[str, Any], ...]
    truth: pa.Table | None
    objects: dict[str, str]
    tracks: pa.Table | None

    def when(self, time_s: float) -> dt.datetime:
        """The UTC time of a simulated time."""
        return self.epoch + dt.timedelta(seconds=float(time_s))


def _object_affiliations(scenario: Scenario, objects: pa.Table) -> dict[str, str]:
    out = {}
    for row in objects.to_pylist():
        side = affiliation_of(scenario, row["nation"])
        # civil traffic on a flight plan is neutral (civil), whatever its nation's side
        out[row["object_id"]] = "neutral" if row.get("flight_plan") and side != "friend" else side
    return out


def track_affiliation(identity: str, object_affiliation: str | None) -> str:
    """A track's drawn identity: the node's identity, except that a friend declared for civil traffic
    on a flight plan is drawn neutral (civil), not friend."""
    if identity == "friend" and object_affiliation == "neutral":
        return "neutral"
    return identity if identity in AFFILIATION_RGB else "unknown"


def _coverage_features(rf: RunFolder, as_of: dt.date) -> tuple[dict[str, Any], ...]:
    rel = f"coverage/{as_of.isoformat()}/contours.geojson"
    if not rf.has(rel):
        return ()
    return tuple(json.loads(rf.file(rel).read_text(encoding="utf-8"))["features"])


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return decoded(table).sort_by([(k, "ascending") for k in keys])


def read_export_data(run_dir: Path | RunFolder) -> ExportData:
    """The exportable content of a finished run folder.

    Raises:
        RunFolderError: not a finished run folder.
    """
    rf = run_dir if isinstance(run_dir, RunFolder) else read_run_folder(run_dir)
    scenario = rf.scenario()
    summary = rf.summary
    as_of = dt.date.fromisoformat(summary["as_of"])
    oob = order_of_battle(scenario, as_of, allow_outside_data=True)
    units = tuple(
        ExportUnit(e.unit_id, e.name, e.nation, affiliation_of(scenario, e.nation),
                   unit_sidc(e.kind, affiliation_of(scenario, e.nation)), e.kind,
                   e.place_name or "", float(e.lat_deg), float(e.lon_deg),
                   ", ".join(f"{n} × {oob.type_name(t)}" for t, n in e.totals.items()),
                   e.in_service_from.isoformat() if e.in_service_from else "",
                   ", ".join(e.sources), "; ".join(f"{k}: {v}" for k, v in e.assumed.items()))
        for e in oob if e.lat_deg is not None and e.lon_deg is not None)
    truth = tracks = None
    objects: dict[str, str] = {}
    if rf.has("truth"):
        truth = _sorted(rf.table("truth").select(["time_s", "object_id", "type", "nation", "lat_deg",
                                                  "lon_deg", "alt_m"]), ["object_id", "time_s"])
        truth = truth.filter(pc.is_finite(truth["lat_deg"]))
        objects = _object_affiliations(scenario, rf.table("objects"))
    if rf.has("picture"):
        tracks = _sorted(rf.table("picture").select(["time_s", "node", "track_id", "lat_deg", "lon_deg",
                                                     "alt_m", "identity", "object_id"]),
                         ["node", "track_id", "time_s"])
        tracks = tracks.filter(pc.is_finite(tracks["lat_deg"]))
    epoch = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC)
    return ExportData(summary["scenario"], as_of, epoch, float(scenario.duration_s), units,
                      _coverage_features(rf, as_of), truth, objects, tracks)


def groups(table: pa.Table, keys: list[str]) -> list[tuple[tuple[Any, ...], dict[str, list[Any]]]]:
    """Consecutive runs of equal ``keys`` in a table sorted by them: (key values, columns as lists)."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    n = table.num_rows
    out = []
    start = 0
    for i in range(1, n + 1):
        if i == n or any(cols[k][i] != cols[k][start] for k in keys):
            out.append((tuple(cols[k][start] for k in keys),
                        {name: values[start:i] for name, values in cols.items()}))
            start = i
    return out
