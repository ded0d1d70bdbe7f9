"""Reference facts shipped with the package: the reference order of battle (YAML, every fact with
its source), region borders (Natural Earth) and towns (GeoNames)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "BORDERS_ENV",
    "BordersError",
    "Region",
    "Town",
    "borders_extent",
    "borders_geojson",
    "borders_path",
    "data_dir",
    "load_regions",
    "load_towns",
    "reference_path",
]

BORDER_ATTRIBUTION = "Borders: Natural Earth 1:10m admin-0 v5.1.1 (public domain)"
TOWN_ATTRIBUTION = "Towns: GeoNames (CC BY 4.0)"

BORDERS_ENV = "IADSIM_BORDERS"
"""Environment variable naming extra borders GeoJSON files (separated by the path separator, ``:`` on
Linux) for a region outside the bundled one; their features add to the bundled regions, a feature
with the id of a bundled region replaces it (docs/regions.md)."""


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


class BordersError(ValueError):
    """A borders file named in ``IADSIM_BORDERS`` that cannot be read as region polygons."""


def _extra_border_files() -> list[Path]:
    value = os.environ.get(BORDERS_ENV, "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def _border_features(path: Path) -> list[dict[str, object]]:
    """The features of a borders GeoJSON file, each with string ``id`` and ``name`` properties."""
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BordersError(f"{BORDERS_ENV}: {path}: not a readable GeoJSON file ({exc})") from None
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise BordersError(f"{BORDERS_ENV}: {path}: not a GeoJSON FeatureCollection")
    out: list[dict[str, object]] = []
    for i, feature in enumerate(features):
        props = feature.get("properties") or {} if isinstance(feature, dict) else {}
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise BordersError(f"{BORDERS_ENV}: {path}: feature {i} is not a Polygon or MultiPolygon")
        if not props.get("id"):
            raise BordersError(f"{BORDERS_ENV}: {path}: feature {i} has no 'id' property "
                               "(e.g. the ISO 3166 alpha-3 code)")
        out.append({"type": "Feature", "geometry": geometry,
                    "properties": {"id": str(props["id"]), "name": str(props.get("name") or props["id"])}})
    return out


@cache
def borders_geojson() -> str:
    """The borders in use as one GeoJSON FeatureCollection: the bundled ones and those of the files
    named in ``IADSIM_BORDERS`` (a feature replaces a bundled one of the same id).

    Raises:
        BordersError: a file in ``IADSIM_BORDERS`` is not a borders GeoJSON file.
    """
    with borders_path().open(encoding="utf-8") as fh:
        features = {f["properties"]["id"]: f for f in json.load(fh)["features"]}
    for path in _extra_border_files():
        for feature in _border_features(path):
            features[feature["properties"]["id"]] = feature  # type: ignore[index]
    return json.dumps({"type": "FeatureCollection", "features": list(features.values())})


@cache
def load_regions() -> dict[str, Region]:
    """The region polygons by id: the bundled ones (ISO 3166 alpha-3, plus ``RUS-KGD``) and those of
    ``IADSIM_BORDERS``."""
    out = {}
    for feature in json.loads(borders_geojson())["features"]:
        props = feature["properties"]
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        out[props["id"]] = Region(props["id"], props["name"], geom)
    return out


@cache
def borders_extent() -> tuple[float, float, float, float]:
    """The extent of the borders in use: (lon_min, lon_max, lat_min, lat_max) in degrees."""
    lon_min, lat_min, lon_max, lat_max = shapely.union_all(
        [r.geometry for r in load_regions().values()]).bounds
    return (lon_min, lon_max, lat_min, lat_max)


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
