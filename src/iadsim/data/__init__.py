"""Reference facts shipped with the package: the reference order of battle (YAML, every fact with
its source), region borders (Natural Earth) and towns (GeoNames)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "Region",
    "Town",
    "borders_path",
    "data_dir",
    "load_regions",
    "load_towns",
    "reference_path",
]

BORDER_ATTRIBUTION = "Borders: Natural Earth 1:10m admin-0 v5.1.1 (public domain)"
TOWN_ATTRIBUTION = "Towns: GeoNames (CC BY 4.0)"


def data_dir() -> Path:
    """The package's data folder."""
    return Path(str(resources.files("iadsim").joinpath("data")))


def reference_path() -> Path:
    """The entry file of the bundled reference data set (``include: [reference]``)."""
    return data_dir() / "reference" / "reference.yaml"


def borders_path() -> Path:
    """The bundled borders GeoJSON (lon/lat, WGS84)."""
    return data_dir() / "geo" / "borders.geojson"


@dataclass(frozen=True)
class Region:
    """A named region polygon in longitude/latitude (WGS84), the one region type of the package.

    The bundled regions are countries (ISO 3166 alpha-3 ids) and the Kaliningrad oblast
    (``RUS-KGD``); coverage metrics also read regions from users' GeoJSON files.

    Args:
        id: unique id (``LTU``, ``RUS-KGD``, or ``file-stem:name`` for a user's polygon).
        name: the name shown in reports.
        geometry: a shapely Polygon or MultiPolygon in lon/lat degrees.
    """

    id: str
    name: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Town:
    """A GeoNames town (population 15,000 or more) in the map area."""

    geonameid: int
    name: str
    country_code: str
    lat_deg: float
    lon_deg: float
    population: int


@cache
def load_regions() -> dict[str, Region]:
    """The bundled region polygons by id (ISO 3166 alpha-3, plus ``RUS-KGD``)."""
    with borders_path().open(encoding="utf-8") as fh:
        collection = json.load(fh)
    out = {}
    for feature in collection["features"]:
        props = feature["properties"]
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        out[props["id"]] = Region(props["id"], props["name"], geom)
    return out


@cache
def load_towns() -> tuple[Town, ...]:
    """The bundled GeoNames towns, largest first."""
    path = data_dir() / "geo" / "towns.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [
            Town(int(r["geonameid"]), r["name"], r["country_code"], float(r["lat_deg"]),
                 float(r["lon_deg"]), int(r["population"]))
            for r in csv.DictReader(fh)
        ]
    return tuple(sorted(rows, key=lambda t: -t.population))
