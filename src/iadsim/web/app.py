"""The FastAPI app of ``iadsim serve``: the viewer page, runs, their layers, frames and tracks, the
basemap, scenario checks and background runs.

Run data is read-only. Scenario validation parses uploaded YAML with the safe loader and never
evaluates or unpickles anything; background jobs run only scenarios that are bundled or already in
the served folder, in a child process. See docs/security.md and docs/viewer.md.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import anyio
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from iadsim.data import TOWN_ATTRIBUTION, borders_geojson, load_towns
from iadsim.io import run_folder as rf
from iadsim.io.run_folder import is_run_folder
from iadsim.pipeline.checks import check_scenario
from iadsim.scenario import Location, ScenarioError, ScenarioErrors, bundled_scenarios, load_scenario
from iadsim.scenario.loader import bundled_data_sets
from iadsim.scenario.schema import Arrangement
from iadsim.scenario.yamlio import read_yaml_file, read_yaml_text
from iadsim.version import __version__
from iadsim.web.frames import EVENT_WINDOW_S, RunFrames
from iadsim.web.jobs import JobConflict, JobManager
from iadsim.web.validation import (
    PoolBusy,
    UploadTimeout,
    ValidationPool,
)

__all__ = [
    "DEFAULT_LIMIT",
    "LAYERS",
    "LOOPBACK_HOSTS",
    "MAX_EVENTS",
    "MAX_LIMIT",
    "MAX_UPLOAD_BYTES",
    "RUN_NAME",
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "STREAM_BATCH_ROWS",
    "TABLE_CACHE_BYTES",
    "create_app",
    "is_loopback",
]

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")
"""A run folder name: letters, digits, ``_``, ``-`` and single inner dots; no ``..``, no slashes."""

MAX_NAME_LENGTH = 128
NODE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SCENARIO_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.ya?ml$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

LAYERS: dict[str, str] = {
    "units": rf.OOB_GEOJSON,
    "truth": rf.TRUTH,
    "picture": rf.PICTURE,
    "engagements": rf.ENGAGEMENTS,
    "events": rf.C2_EVENTS,
    "outcomes": rf.OUTCOMES,
}
"""The layers of a run and the file each comes from."""

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 200_000
MAX_UPLOAD_BYTES = 1024 * 1024
"""Largest scenario upload accepted by POST /api/scenarios/validate (1 MiB)."""

MAX_EVENTS = 5_000
"""Most C2 events the timeline returns (the page lists them; the full table is a layer)."""

STATIC_DIR = Path(__file__).parent / "static"
"""The built viewer page (index.html, viewer.js, viewer.css), shipped in the package."""

SECURITY_HEADERS = {
    # the page loads only its own script and styles and talks only to this server; Leaflet sets
    # element styles from script, hence 'unsafe-inline' for styles (never for scripts)
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Headers on every response: the page cannot be framed, load foreign code, or leak its URL."""

_FRAME_TABLES = (rf.TRUTH, rf.PICTURE, rf.INTERCEPTORS, rf.ENGAGEMENTS,
                 rf.C2_EVENTS)  # in the order RunFrames takes them
_FRAME_FILES = (*_FRAME_TABLES, rf.OOB_GEOJSON)
_FRAME_CACHE = 4
TABLE_CACHE_BYTES = 512 * 2**20
"""Arrow tables kept in memory between requests, at most (the picture of a long raid is ~50 MB)."""
_ROUNDED = ("lat_deg", "lon_deg")
_UPLOAD_NAME = "upload.yaml"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""The host names a loopback server answers to."""


def _host_name(header: str) -> str:
    """The host of a Host header, without its port, lower case (IPv6 kept in brackets)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.split(":", 1)[0]


def _text(value: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from JSON or YAML escapes) become escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _jsonable(value: Any) -> Any:
    """A JSON-safe value: NaN and infinities become null, dates ISO text, bytes hex, text UTF-8."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_text(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _plain(kind: pa.DataType) -> bool:
    """Whether Arrow values of this type are JSON-safe as Python gives them (Arrow text is UTF-8)."""
    return bool(pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind)
                or pa.types.is_large_string(kind) or pa.types.is_null(kind))


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Table rows as JSON-safe dicts, latitude and longitude rounded to 5 decimals (about 1 m).

    NaN and infinities are made null column by column in Arrow; the rows are then JSON-safe as
    they come unless a column is of another type (dates, bytes, lists of numbers, ...), which
    takes the value-by-value way (``_jsonable``): twice as fast for the usual layers."""
    plain = True
    for idx, column in enumerate(table.schema):
        if pa.types.is_floating(column.type):
            values = table.column(idx)
            if column.name in _ROUNDED:
                values = pc.round(values, 5)
            values = pc.if_else(pc.is_finite(values), values, pa.scalar(None, column.type))
            table = table.set_column(idx, column.name, values)
        elif not (_plain(column.type) or (pa.types.is_list(column.type) and _plain(column.type.value_type))):
            plain = False
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows if plain else [_jsonable(row) for row in rows]


class _Runs:
    """Finds run folders inside one root and reads their files, refusing paths that leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tables: OrderedDict[Path, tuple[tuple[Any, ...], pa.Table]] = OrderedDict()
        self._loading: dict[Path, threading.Lock] = {}
        self._lock = threading.Lock()

    def folder(self, run: str) -> Path:
        """The folder of run ``run``; 404 if the name is not a run name or no such run exists."""
        if len(run) > MAX_NAME_LENGTH or not RUN_NAME.fullmatch(run):
            raise HTTPException(404, f"no run named {run[:80]!r}: run names are letters, digits, "
                                     "'-', '_' and inner dots")
        path = (self.root / run).resolve()
        if path.parent != self.root or not path.is_dir():
            raise HTTPException(404, f"no run named {run!r} in the served folder")
        if not is_run_folder(path):  # the contract: no manifest, no run (interrupted or pre-0.2)
            raise HTTPException(404, f"{run!r} in the served folder is not a finished run (no manifest)")
        return path

    def names(self) -> list[str]:
        """Names of the finished run folders in the root (a manifest of a known schema), sorted."""
        out = []
        for child in sorted(self.root.iterdir()):
            if (RUN_NAME.fullmatch(child.name) and len(child.name) <= MAX_NAME_LENGTH and child.is_dir()
                    and child.resolve().parent == self.root and is_run_folder(child)):
                out.append(child.name)
        return out

    def file(self, run: str, name: str) -> Path:
        """A file of a run; 404 naming the file if the run lacks it."""
        path = self.folder(run) / name
        if not path.is_file():
            raise HTTPException(404, f"run {run!r} has no {name}")
        return path

    def summary(self, run: str) -> dict[str, Any]:
        """The run's summary.json; 422 if it cannot be read as a JSON object."""
        path = self.file(run, "summary.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(422, f"run {run!r}: summary.json is unreadable or half-written "
                                     f"({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise HTTPException(422, f"run {run!r}: summary.json is not a JSON object")
        return _jsonable(data)  # type: ignore[no-any-return]

    def table(self, run: str, name: str) -> pa.Table:
        """A Parquet file of a run; 422 if it is corrupt or half-written. The last tables read are
        kept (``TABLE_CACHE_BYTES``) and shared: Arrow tables are immutable, so that concurrent
        requests for one layer hold it once, not once each."""
        path = self.file(run, name)
        stamp = _stamp(path)
        with self._lock:
            loading = self._loading.setdefault(path, threading.Lock())
        with loading:  # concurrent first requests for one file wait for a single read
            with self._lock:
                hit = self._tables.get(path)
                if hit is not None and hit[0] == stamp:
                    self._tables.move_to_end(path)
                    return hit[1]
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowException, ValueError) as exc:
                raise HTTPException(422, f"run {run!r}: {name} is corrupt or half-written "
                                         f"({type(exc).__name__})") from None
            with self._lock:
                self._tables.pop(path, None)
                if table.nbytes <= TABLE_CACHE_BYTES:
                    self._tables[path] = (stamp, table)
                while sum(t.nbytes for _, t in self._tables.values()) > TABLE_CACHE_BYTES:
                    self._tables.popitem(last=False)
                self._loading.pop(path, None)
            return table

    def geojson(self, run: str, name: str) -> dict[str, Any]:
        """A GeoJSON file of a run; 422 if it is not a readable GeoJSON object."""
        path = self.file(run, name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(422, f"run {run!r}: {name} is corrupt or half-written "
                                     f"({type(exc).__name__})") from None
        if not isinstance(data, dict) or "type" not in data:
            raise HTTPException(422, f"run {run!r}: {name} is not a GeoJSON object")
        return _jsonable(data)  # type: ignore[no-any-return]


def _stamp(path: Path) -> tuple[str, int, int] | tuple[str]:
    """A file's name, modification time and size, to tell a rewritten file; the name alone if
    it is absent (or vanishes while we look)."""
    try:
        st = path.stat()
    except OSError:
        return (path.name,)
    return (path.name, st.st_mtime_ns, st.st_size)


class _FrameCache:
    """RunFrames of the last few runs asked for, rebuilt when a run's files change."""

    def __init__(self, runs: _Runs) -> None:
        self.runs = runs
        self._cache: OrderedDict[str, tuple[tuple[Any, ...], RunFrames]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def get(self, run: str) -> RunFrames:
        """The frames of a run; 422 if one of its files is corrupt."""
        folder = self.runs.folder(run)
        with self._lock:
            building = self._building.setdefault(run, threading.Lock())
        with building:  # concurrent first requests for one run wait for a single build
            stamp = tuple(_stamp(folder / f) for f in _FRAME_FILES)
            with self._lock:
                hit = self._cache.get(run)
                if hit is not None and hit[0] == stamp:
                    self._cache.move_to_end(run)
                    return hit[1]
            frames = self._build(run, folder)
            with self._lock:
                self._cache[run] = (stamp, frames)
                self._cache.move_to_end(run)
                while len(self._cache) > _FRAME_CACHE:
                    self._cache.popitem(last=False)
            return frames

    def _build(self, run: str, folder: Path) -> RunFrames:
        # A corrupt file is left out and named in the timeline's problems; the other layers still play.
        problems: list[str] = []

        def table(name: str) -> pa.Table | None:
            if not (folder / name).is_file():
                return None
            try:
                return self.runs.table(run, name)
            except HTTPException as exc:
                problems.append(f"{name} is left out: {exc.detail}")
                return None

        positions: dict[str, tuple[float, float]] = {}
        features: Any = []
        if (folder / "oob.geojson").is_file():
            try:
                features = self.runs.geojson(run, "oob.geojson").get("features") or []
            except HTTPException as exc:
                problems.append(f"oob.geojson is left out (engagements drawn without their fire units): "
                                f"{exc.detail}")
            for feature in features if isinstance(features, list) else []:
                try:
                    lon, lat = feature["geometry"]["coordinates"][:2]
                    positions[str(feature["properties"]["unit_id"])] = (float(lat), float(lon))
                except (KeyError, TypeError, ValueError, IndexError):
                    continue  # a unit without a public location has no point
        civil: frozenset[str] = frozenset()
        objects = table(rf.OBJECTS)
        if objects is not None and {"object_id", "flight_plan", "iff"} <= set(objects.column_names):
            rows = objects.select(["object_id", "flight_plan", "iff"]).to_pylist()
            civil = frozenset(str(r["object_id"]) for r in rows if r["flight_plan"] and not r["iff"])
        try:
            truth, picture, interceptors, engagements, events = (table(name) for name in _FRAME_TABLES)
            return RunFrames(truth, picture, interceptors, engagements, events, positions, problems,
                             civil_objects=civil)
        except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
            raise HTTPException(422, f"run {run!r}: its tables cannot be played back "
                                     f"({type(exc).__name__}: {str(exc)[:200]})") from None


def _coverage(runs: _Runs, run: str, as_of: str | None) -> dict[str, Any]:
    """The coverage contours of a run at one date (default: its last), with the dates and altitudes."""
    folder = runs.folder(run)
    meta_path = folder / "coverage" / "coverage.json"
    if not meta_path.is_file():
        raise HTTPException(404, f"run {run!r} has no coverage (it was run with --no-coverage)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta["dates"], list) or not isinstance(meta["layers_m"], list):
            raise TypeError("dates and layers_m must be lists")
        dates = [str(d) for d in meta["dates"]]
        layers_m = [float(a) for a in meta["layers_m"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise HTTPException(422, f"run {run!r}: coverage/coverage.json is unreadable "
                                 f"({type(exc).__name__})") from None
    if as_of is None:
        if not dates:
            raise HTTPException(422, f"run {run!r}: coverage/coverage.json lists no dates")
        as_of = dates[-1]
    if not DATE.fullmatch(as_of) or as_of not in dates:
        raise HTTPException(404, f"run {run!r} has no coverage at {as_of[:20]!r}; dates: {', '.join(dates)}")
    contours = folder / "coverage" / as_of / "contours.geojson"
    if not contours.is_file():
        raise HTTPException(404, f"run {run!r} has no coverage contours at {as_of}")
    try:
        geojson = json.loads(contours.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(422, f"run {run!r}: coverage contours at {as_of} are corrupt "
                                 f"({type(exc).__name__})") from None
    if not isinstance(geojson, dict) or geojson.get("type") != "FeatureCollection":
        raise HTTPException(422, f"run {run!r}: coverage contours at {as_of} are not a FeatureCollection")
    return {"as_of": as_of, "dates": dates, "layers_m": layers_m, "geojson": _jsonable(geojson)}


def _folder_scenarios(root: Path) -> dict[str, Path]:
    """Scenario files directly in the served folder, by file name."""
    out = {}
    for path in sorted(root.iterdir()):
        if SCENARIO_FILE.fullmatch(path.name) and path.is_file() and path.resolve().parent == root:
            out[path.name] = path
    return out


class Message(BaseModel):
    """An error: what went wrong, in one sentence for a person."""

    detail: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route answers with (the body is a Message).

    422 is also FastAPI's own answer to bad parameters, whose ``detail`` is a list of problems.
    """
    what = {400: "A malformed request", 401: "No token or a wrong one", 403: "Not allowed on this server",
            404: "No such run, file, layer, node, track, object, date, scenario or job",
            409: "A run is already in progress", 413: "The upload is too large",
            422: "A file of the run is corrupt or half-written, or a parameter is invalid",
            503: "The server is busy with other heavy responses; try again (Retry-After)"}
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 422:
            out[code] = {"description": what[code], "content": {"application/json": {"schema": {"anyOf": [
                {"$ref": "#/components/schemas/Message"},
                {"$ref": "#/components/schemas/HTTPValidationError"}]}}}}
        else:
            out[code] = {"description": what[code], "model": Message}
    return out


_RUN_ERRORS = _errors(404, 422)


class JobRequest(BaseModel):
    """A background run asked for from the viewer."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(min_length=1, max_length=128, description="a bundled scenario id or a "
                          "scenario file name in the served folder (as listed by /api/scenarios)")
    arrangement: Arrangement | None = Field(default=None, description="command arrangement "
                                            "(default: the scenario's)")
    coverage: bool = Field(default=False, description="also compute coverage maps (slow)")


def _upload_errors(text: str) -> list[ScenarioError] | None:
    """Errors for includes an upload may not use (only bundled names); None if all are allowed."""
    doc, errors = read_yaml_text(text, _UPLOAD_NAME)
    if doc is None:
        return errors
    if not isinstance(doc.data, dict):
        return None  # the loader reports this itself
    includes = doc.data.get("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list):
        return None
    allowed = [*bundled_data_sets(), *(s.id for s in bundled_scenarios())]
    bad = [ScenarioError("an uploaded scenario may include only bundled data sets and scenarios",
                         ("include", i), doc.location_of(("include", i)), name, True,
                         allowed=", ".join(allowed))
           for i, name in enumerate(includes) if not isinstance(name, str) or name not in allowed]
    return bad or None


def _error_json(err: ScenarioError, temp_name: str) -> dict[str, Any]:
    """One scenario error as JSON, with the temporary file's path shown as ``upload.yaml``."""
    loc = err.location
    file = loc.file if loc is not None else None
    if file is not None and file.endswith(temp_name):
        file = _UPLOAD_NAME
    out: dict[str, Any] = {
        "message": err.message,
        "path": [p if isinstance(p, int) else str(p) for p in err.path],
        "file": file,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
        "allowed": err.allowed,
    }
    if err.has_given:
        out["given"] = err.given if isinstance(err.given, str | int | float | bool) else repr(err.given)[:200]
    return _jsonable(out)  # type: ignore[no-any-return]


def scenario_problems(path: Path) -> list[ScenarioError]:
    """Every problem ``iadsim validate`` finds in a scenario file: the schema and references, then
    what a run would refuse before simulating (``check_scenario``); the file is read once."""
    try:
        return check_scenario(load_scenario(path))
    except ScenarioErrors as exc:
        return exc.errors


def validate_upload(text: str) -> dict[str, Any]:
    """Validate scenario YAML text with the same checks as ``iadsim validate``."""
    early = _upload_errors(text)
    if early is not None:
        return {"ok": False, "errors": [_error_json(e, _UPLOAD_NAME) for e in early]}
    with tempfile.TemporaryDirectory(prefix="iadsim-upload-") as tmp:
        path = Path(tmp) / _UPLOAD_NAME
        path.write_text(text, encoding="utf-8")
        errors = scenario_problems(path)
    return {"ok": not errors, "errors": [_error_json(e, _UPLOAD_NAME) for e in errors]}


class _FolderChecks:
    """The problems of the served folder's scenario files, recomputed only when a file of the
    folder changes (a scenario may include its neighbours)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.stamp: tuple[object, ...] = ()
        self.found: dict[str, str | None] = {}

    def error(self, name: str, path: Path) -> str | None:
        """The file's problems, one rendered problem a line (None if it has none)."""
        stamp = tuple(_stamp(p) for p in sorted(self.root.iterdir()) if SCENARIO_FILE.fullmatch(p.name))
        with self.lock:
            if stamp != self.stamp:
                self.stamp, self.found = stamp, {}
            if name not in self.found:
                problems = [self._shown(e) for e in scenario_problems(path)]
                self.found[name] = "\n".join(e.render() for e in problems) or None
            return self.found[name]

    def _shown(self, err: ScenarioError) -> ScenarioError:
        """The error with a folder file's location as its name only (not the server's path)."""
        loc = err.location
        if loc is None or not loc.file.startswith(str(self.root) + "/"):
            return err
        shown = Location(loc.file[len(str(self.root)) + 1:], loc.line, loc.column)
        return ScenarioError(err.message, err.path, shown, err.given, err.has_given, err.allowed)


STREAM_BATCH_ROWS = 2_000
"""Rows turned into JSON at a time when a layer is streamed: a batch is about 0.5 MB of text."""

def _dumps(value: Any) -> bytes:
    """JSON as FastAPI's JSONResponse writes it (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _batch_json(table: pa.Table, first: bool) -> bytes:
    """A batch of rows as JSON list items (a comma before them unless ``first``)."""
    text = _dumps(_rows(table))[1:-1]
    return text if first or not text else b"," + text


class _Lease:
    """One of the ``HEAVY_AT_ONCE`` slots, held by a streamed response until it ends, or for
    ``STREAM_LEASE_S`` at most: a client that stops reading holds no slot for longer (its stream
    then holds one batch at most, the connection's buffer being full)."""

    def __init__(self) -> None:
        if not _heavy_slots.acquire(timeout=HEAVY_WAIT_S):
            raise HTTPException(503, "the server is busy building other responses; try again",
                                headers={"Retry-After": "5"})
        self._lock = threading.Lock()
        self._held = True
        self._timer = threading.Timer(STREAM_LEASE_S, self.release)
        self._timer.daemon = True
        self._timer.start()

    def release(self) -> None:
        """Give the slot back (once; later calls do nothing)."""
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._timer.cancel()
        _heavy_slots.release()


def _limited(head: dict[str, Any], table: pa.Table, limit: int, lease: _Lease) -> StreamingResponse:
    """``head`` and the rows of a table capped at ``limit``, saying how many there were and whether
    it was cut, as one JSON object streamed in batches of ``STREAM_BATCH_ROWS`` rows.

    However large the response, the server holds one batch of it at a time (plus what the
    connection buffers: the next batch is built when the client has read the last), and at most
    ``HEAVY_AT_ONCE`` batches are built at once, in worker threads of their own, so that the
    threads of other requests stay free. The table is shared, not copied (``_Runs.table``). The
    stream gives ``lease`` back when it ends, however it ends.
    """
    total = table.num_rows
    shown = table.slice(0, limit)
    start = _dumps({**head, "total": total, "returned": shown.num_rows, "limit": limit,
                    "truncated": total > limit, "columns": table.column_names})[:-1] + b',"rows":['

    async def body() -> AsyncIterator[bytes]:
        try:
            yield start
            for offset in range(0, shown.num_rows, STREAM_BATCH_ROWS):
                yield await anyio.to_thread.run_sync(_batch_json, shown.slice(offset, STREAM_BATCH_ROWS),
                                                     offset == 0, limiter=_batches_at_once)
            yield b"]}"
        finally:  # also when the client goes away (the stream is cancelled)
            lease.release()

    return StreamingResponse(body(), media_type="application/json")


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

HEAVY_AT_ONCE = 4
"""Layer, frame, track, object and timeline responses built at once; more wait their turn, so that
memory stays bounded however many are asked for together (200 concurrent
``layers/picture?limit=200000`` took the server to 3.8 GB when each was built at once)."""

HEAVY_WAIT_S = 30.0
"""Longest wait for a turn before the request is answered 503 (try again)."""

STREAM_LEASE_S = 60.0
"""Longest a streamed layer holds its turn (a client reading slowly keeps its stream, not its turn)."""

_heavy_slots = threading.BoundedSemaphore(HEAVY_AT_ONCE)
_batches_at_once = anyio.CapacityLimiter(HEAVY_AT_ONCE)  # (binds to the server's event loop on use)

F = TypeVar("F", bound=Callable[..., Any])


def _heavy(func: F) -> F:
    """Build the response only when one of ``HEAVY_AT_ONCE`` slots is free."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _heavy_slots.acquire(timeout=HEAVY_WAIT_S):
            raise HTTPException(503, "the server is busy building other responses; try again",
                                headers={"Retry-After": "5"})
        try:
            return func(*args, **kwargs)
        finally:
            _heavy_slots.release()

    return wrapper  # type: ignore[return-value]


def _cross_site(request: Request) -> str | None:
    """Why a writing request (POST, DELETE, ...) comes from another site, or None.

    A browser names the requesting page's site in ``Sec-Fetch-Site`` and its origin in ``Origin``:
    a page elsewhere (or on another port) must not start runs or upload scenarios through the
    user's browser, even to a loopback server with no token. Clients that send neither (curl,
    scripts) are not browsers acting for a foreign page, and are let through.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site[:40]}): use the viewer page itself"
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        if origin.lower() == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return (f"cross-site request refused (Origin {origin[:80]} is not this server, "
                    f"{host[:80]}): use the viewer page itself")
    return None


def create_app(root: Path, token: str | None = None, jobs: bool = True,
               allowed_hosts: list[str] | None = None) -> FastAPI:
    """The viewer and its API over the run folders in ``root``.

    Args:
        root: the served folder of runs; background runs are written into it.
        token: if given, every /api call needs it as ``Authorization: Bearer <token>``.
        jobs: whether the page may start background runs (POST /api/jobs).
        allowed_hosts: the host names the server answers to (the Host header without its port;
            IPv6 in brackets); None: any. ``iadsim serve`` on loopback allows only loopback names,
            so a web page cannot reach the server through a rebound DNS name.
    """
    hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
    runs = _Runs(root)
    folder_checks = _FolderChecks(runs.root)
    frames = _FrameCache(runs)
    manager = JobManager(runs.root)
    uploads = ValidationPool()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        uploads.start()
        yield
        uploads.close()
        manager.shutdown()

    # no /docs or /redoc: they load their scripts from a CDN, which is neither offline nor allowed
    # by the page's content security policy; the schema stays at /openapi.json
    app = FastAPI(title="iadsim", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The viewer's API over iadsim run folders (defender's view).")
    app.state.jobs = manager
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        """The viewer page."""
        index = STATIC_DIR / "index.html"
        if not index.is_file():
            return JSONResponse({"detail": "the viewer page is not built into this installation; "
                                           "the API is at /api (see docs/viewer.md)"}, status_code=404)
        return FileResponse(index, media_type="text/html")

    @app.middleware("http")
    async def require_token(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse requests for another host name (DNS rebinding), and /api calls without the
        server's token when it has one."""
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            return JSONResponse({"detail": "this server answers only to "
                                           f"{', '.join(sorted(hosts))}: wrong Host header"},
                                status_code=400, headers=SECURITY_HEADERS)
        path = request.scope.get("path", "")
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]  # behind a proxy's prefix the API is still /api
        if token is not None and path.startswith("/api"):
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip().encode(),
                                                                        token.encode()):
                return JSONResponse({"detail": "missing or wrong token: send 'Authorization: Bearer "
                                               "<token>' (printed when the server started)"},
                                    status_code=401,
                                    headers={"WWW-Authenticate": "Bearer", **SECURITY_HEADERS})
        if request.method not in _SAFE_METHODS:
            refusal = _cross_site(request)
            if refusal is not None:
                return JSONResponse({"detail": refusal}, status_code=403, headers=SECURITY_HEADERS)
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        """The server: iadsim's version, whether the page may start runs, whether a token is needed."""
        return {"version": __version__, "jobs": jobs, "token": token is not None}

    @app.get("/api/runs")
    def list_runs() -> list[dict[str, Any]]:
        """The run folders in the served folder, with an error field for unreadable ones."""
        out = []
        for name in runs.names():
            entry: dict[str, Any] = {"name": name}
            try:
                summary = runs.summary(name)
            except HTTPException as exc:
                entry["error"] = exc.detail
            else:
                entry.update({k: summary.get(k) for k in ("scenario", "as_of", "arrangement")})
            entry["layers"] = [k for k, f in LAYERS.items() if (runs.root / name / f).is_file()]
            out.append(entry)
        return out

    worlds: OrderedDict[Path, tuple[float, Any, Any]] = OrderedDict()

    @app.get("/api/runs/{run}/units/{unit_id}/rings", responses=_RUN_ERRORS)
    def unit_rings_at(run: str,
                      unit_id: Annotated[str, FastApiPath(max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")],
                      alt_m: Annotated[float, Query(ge=0, le=40_000, allow_inf_nan=False,
                                                    description="target height above ground (m)")] = 1000.0,
                      ) -> dict[str, Any]:
        """A unit's detection and engagement rings (and its subunits') for a target at ``alt_m``
        of the run's coverage RCS (else the catalog's ``fighter``), smooth earth, k = 4/3."""
        from iadsim.coverage.rings import unit_rings
        from iadsim.scenario.schema import Scenario as _Scenario
        from iadsim.world import compile_world

        folder = runs.folder(run)
        stamp = (folder / rf.SCENARIO).stat().st_mtime if (folder / rf.SCENARIO).is_file() else 0.0
        cached = worlds.get(folder)
        if cached is None or cached[0] != stamp:
            try:
                scenario = _Scenario.model_validate_json(runs.file(run, rf.SCENARIO).read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise HTTPException(422, f"run {run!r}: scenario.json is unreadable "
                                         f"({type(exc).__name__})") from None
            world = compile_world(scenario, scenario.as_of)
            worlds[folder] = cached = (stamp, scenario, world)
            while len(worlds) > 4:
                worlds.popitem(last=False)
        _, scenario, world = cached
        if unit_id not in scenario.units:
            raise HTTPException(404, f"run {run!r} has no unit {unit_id!r}")
        cov = runs.summary(run).get("coverage_study") or {}
        rcs_name = cov.get("rcs_name") or "fighter"
        rcs_class = scenario.catalog.rcs_classes.get(rcs_name)
        rcs_m2 = float(cov.get("rcs_m2") or (rcs_class.rcs_m2 if rcs_class else 1.0))
        pd = float(cov.get("pd_threshold") or 0.5)
        parents = {uid: u.parent for uid, u in scenario.units.items()}
        rings = unit_rings(world, unit_id, alt_m, rcs_m2, parents=parents, pd=pd)
        return {"unit_id": unit_id, "alt_m": alt_m, "rcs_class": rcs_name, "rcs_m2": rcs_m2, "pd": pd,
                "rings": [{"quantity": r.quantity, "label": r.label, "lat_deg": r.lat_deg,
                           "lon_deg": r.lon_deg, "radius_m": round(r.radius_m, 1), "count": r.count}
                          for r in rings]}

    @app.get("/api/runs/{run}/summary", responses=_RUN_ERRORS)
    def run_summary(run: str) -> dict[str, Any]:
        """The run's summary.json."""
        return runs.summary(run)

    @app.get("/api/runs/{run}/layers/{layer}", responses=_errors(400, 404, 422, 503))
    def run_layer(run: str, layer: str,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                  node: Annotated[str | None, Query(max_length=128)] = None) -> Response:
        """One layer of a run: the units as GeoJSON, or a Parquet table as capped JSON rows
        (streamed: ``{"layer", "total", "returned", "limit", "truncated", "columns", "rows"}``)."""
        if layer not in LAYERS:
            raise HTTPException(404, f"no layer {layer[:40]!r}; layers: {', '.join(LAYERS)}")
        lease = _Lease()  # a turn (503 if none comes within HEAVY_WAIT_S), until the stream ends
        streamed = False
        try:
            runs.folder(run)
            if layer == "units":
                return JSONResponse({"layer": layer, "geojson": runs.geojson(run, LAYERS[layer])})
            response = _limited({"layer": layer}, _layer_table(run, layer, node), limit, lease)
            streamed = True
            return response
        finally:
            if not streamed:
                lease.release()

    def _layer_table(run: str, layer: str, node: str | None) -> pa.Table:
        """The rows of a Parquet layer (of one node's picture); 4xx if there are none to give."""
        table = runs.table(run, LAYERS[layer])
        if node is not None:
            if layer != "picture":
                raise HTTPException(400, "?node= filters the picture layer only")
            if "node" not in table.column_names:
                raise HTTPException(422, f"run {run!r}: picture.parquet has no node column")
            nodes = pc.cast(table.column("node"), pa.string())
            kept = table.filter(pc.equal(nodes, node))
            if kept.num_rows == 0:  # as /frame answers for a node without a picture
                known = sorted(str(n) for n in pc.unique(nodes).to_pylist() if n is not None)
                raise HTTPException(404, f"run {run!r} has no picture at node {node[:80]!r}; "
                                         f"nodes: {', '.join(known) or '(none)'}")
            table = kept
        return table

    @app.get("/api/runs/{run}/tracks/{node}/{track_id}", responses=_RUN_ERRORS)
    @_heavy
    def track(run: str, node: str, track_id: str) -> dict[str, Any]:
        """One track's history at one node, in time order, from the run's picture."""
        if not NODE_NAME.fullmatch(node) or not NODE_NAME.fullmatch(track_id):
            raise HTTPException(404, "no such node or track")
        table = runs.table(run, LAYERS["picture"])
        missing = [c for c in ("node", "track_id", "time_s") if c not in table.column_names]
        if missing:
            raise HTTPException(422, f"run {run!r}: picture.parquet lacks {', '.join(missing)}")
        try:
            mask = pc.and_(pc.equal(pc.cast(table.column("node"), pa.string()), node),
                           pc.equal(pc.cast(table.column("track_id"), pa.string()), track_id))
        except pa.ArrowException as exc:
            raise HTTPException(422, f"run {run!r}: picture.parquet has unusable node or track_id "
                                     f"columns ({type(exc).__name__})") from None
        rows = table.filter(mask)
        try:  # sorted as numbers: a time column stored as text would sort "100" before "20"
            times = pc.cast(rows.column("time_s"), pa.float64())
        except pa.ArrowException as exc:
            raise HTTPException(422, f"run {run!r}: picture.parquet's time_s is not a number "
                                     f"({type(exc).__name__})") from None
        rows = rows.set_column(rows.column_names.index("time_s"), "time_s", times).sort_by("time_s")
        if rows.num_rows == 0:
            raise HTTPException(404, f"run {run!r} has no track {track_id!r} at node {node!r}")
        return {"node": node, "track_id": track_id, "points": rows.num_rows, "rows": _rows(rows)}

    @app.get("/api/runs/{run}/timeline", responses=_RUN_ERRORS)
    @_heavy
    def run_timeline(run: str) -> dict[str, Any]:
        """Playback span, step, command nodes with a picture, layers present and the C2 events."""
        folder = runs.folder(run)
        f = frames.get(run)
        start, end, step = f.span_s
        events, cut = f.event_rows(-math.inf, math.inf, MAX_EVENTS)
        layers = {"truth": f.truth is not None, "picture": bool(f.pictures),
                  "engagements": f.engagements is not None, "interceptors": f.interceptors is not None,
                  "coverage": (folder / "coverage" / "coverage.json").is_file(),
                  "units": (folder / "oob.geojson").is_file()}
        timeline = {"run": run, "start_s": start, "end_s": end, "step_s": step, "nodes": sorted(f.pictures),
                    "node_names": _node_names(folder), "layers": layers, "events": events,
                    "events_truncated": cut, "problems": f.problems}
        return _jsonable(timeline)  # type: ignore[no-any-return]

    @app.get("/api/runs/{run}/frame", responses=_RUN_ERRORS)
    @_heavy
    def run_frame(run: str, t: Annotated[float, Query(ge=-1e9, le=1e9, allow_inf_nan=False,
                                                      description="time from the scenario start (s)")],
                  node: Annotated[list[str] | None, Query(max_length=64, description="command nodes "
                                                          "whose picture to include")] = None,
                  ) -> dict[str, Any]:
        """The state at time ``t``: truth, the named nodes' pictures, fighters, engagements, events."""
        f = frames.get(run)
        nodes = node or []
        bad = [n for n in nodes if n not in f.pictures]
        if bad:
            raise HTTPException(404, f"run {run!r} has no picture at node {bad[0][:80]!r}; "
                                     f"nodes: {', '.join(sorted(f.pictures)) or '(none)'}")
        events, _ = f.event_rows(t - EVENT_WINDOW_S, t, MAX_EVENTS)
        frame = {"t": t, "truth": f.truth_at(t), "picture": {n: f.picture_at(n, t) for n in nodes},
                 "interceptors": f.interceptors_at(t), "engagements": f.engagements_at(t), "events": events}
        return _jsonable(frame)  # type: ignore[no-any-return]

    @app.get("/api/runs/{run}/objects/{object_id}", responses=_RUN_ERRORS)
    @_heavy
    def object_history(run: str, object_id: str) -> dict[str, Any]:
        """One object's ground-truth path in time order."""
        if not NODE_NAME.fullmatch(object_id):
            raise HTTPException(404, "no such object")
        rows = frames.get(run).object_history(object_id)
        if rows is None:
            raise HTTPException(404, f"run {run!r} has no object {object_id!r} in its truth")
        return {"object_id": object_id, "points": len(rows), "rows": _jsonable(rows)}

    @app.get("/api/runs/{run}/coverage", responses=_RUN_ERRORS)
    def run_coverage(run: str, as_of: Annotated[str | None, Query(max_length=10)] = None) -> dict[str, Any]:
        """Coverage contours (detected and engageable, per altitude) of the run at one date."""
        return _coverage(runs, run, as_of)

    @app.get("/api/terrain")
    def terrain() -> dict[str, Any]:
        """Terrain shading of the bundled DEM for the map: a PNG data URL in Web Mercator and its
        corners (lon_min, lon_max, lat_min, lat_max), rendered here, offline (web/relief.py)."""
        from iadsim.web.relief import relief_image

        return relief_image()

    @app.get("/api/towns")
    def towns() -> dict[str, Any]:
        """The bundled GeoNames towns (population 15,000 or more), largest first, for the map's labels."""
        return {"attribution": TOWN_ATTRIBUTION,
                "towns": [{"name": t.name, "country": t.country_code, "lat_deg": t.lat_deg,
                           "lon_deg": t.lon_deg, "population": t.population} for t in load_towns()]}

    @app.get("/api/basemap", response_class=Response, responses={200: {
        "description": "GeoJSON FeatureCollection", "content": {"application/geo+json": {}}}})
    def basemap() -> Response:
        """The borders GeoJSON in use (Natural Earth and those of ``IADSIM_BORDERS``, lon/lat WGS84)."""
        return Response(borders_geojson().encode("utf-8"), media_type="application/geo+json")

    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, str]]:
        """The scenarios a run can be started from: the bundled ones and the files in the served folder."""
        out = [{"id": s.id, "name": s.name, "description": s.description, "source": "bundled"}
               for s in bundled_scenarios()]
        for name, path in _folder_scenarios(runs.root).items():
            doc, errors = read_yaml_file(path, shown_as=name)
            data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
            entry = {"id": name, "name": _text(str(data.get("name", name))),
                     "description": _text(str(data.get("description", "")).strip()), "source": "folder"}
            if doc is None or not isinstance(doc.data, dict):  # a run of it would fail at once: say why
                entry["error"] = _text(errors[0].render() if errors else "not a YAML mapping of fields")
            else:  # what validate says: a run of it would be refused
                problems = folder_checks.error(name, path)
                if problems is not None:
                    entry["error"] = _text(problems)
            out.append(entry)
        return out

    @app.get("/api/jobs")
    def list_jobs() -> list[dict[str, Any]]:
        """Background runs, newest first."""
        return [j.to_json() for j in manager.all()]

    @app.post("/api/jobs", status_code=202, responses=_errors(400, 403, 404, 409, 422))
    def start_job(request: JobRequest) -> dict[str, Any]:
        """Start a run of a listed scenario in the background; its folder appears among the runs."""
        if not jobs:
            raise HTTPException(403, "this server was started with --no-jobs: runs cannot be started "
                                     "from the page")
        bundled = {s.id for s in bundled_scenarios()}
        folder = _folder_scenarios(runs.root)
        if request.scenario in bundled:
            target = request.scenario
        elif request.scenario in folder:
            target = str(folder[request.scenario])
        else:
            raise HTTPException(404, f"no scenario {request.scenario[:80]!r}: start a bundled scenario "
                                     "or a scenario file in the served folder (see /api/scenarios)")
        try:
            job = manager.start(target, None if request.arrangement is None else request.arrangement.value,
                                request.coverage)
        except JobConflict as exc:
            raise HTTPException(409, str(exc)) from None
        job.scenario = request.scenario
        return job.to_json()

    @app.get("/api/jobs/{job_id}", responses=_errors(404))
    def get_job(job_id: str) -> dict[str, Any]:
        """One background run: state, phase, progress, and the run folder when done."""
        job = manager.get(job_id[:20])
        if job is None:
            raise HTTPException(404, f"no job {job_id[:20]!r}")
        return job.to_json()

    @app.delete("/api/jobs/{job_id}", responses=_errors(404))
    def cancel_job(job_id: str) -> dict[str, Any]:
        """Cancel a running background run (a finished one is left as it is)."""
        job = manager.cancel(job_id[:20])
        if job is None:
            raise HTTPException(404, f"no job {job_id[:20]!r}")
        return job.to_json()

    @app.post("/api/scenarios/validate", responses=_errors(400, 413, 422), openapi_extra={"requestBody": {
        "required": True, "content": {"text/plain": {"schema": {"type": "string"}},
                                      "application/yaml": {"schema": {"type": "string"}}}}})
    async def validate(request: Request) -> dict[str, Any]:
        """Validate uploaded scenario YAML (at most 1 MiB) with the scenario loader and schema."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"uploads may be at most {MAX_UPLOAD_BYTES // 1024} KiB")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"uploads may be at most {MAX_UPLOAD_BYTES // 1024} KiB")
        if b"\x00" in body:
            raise HTTPException(400, "this is binary data, not YAML text")
        try:
            text = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"the upload is not UTF-8 text (byte {exc.start})") from None
        try:
            return await uploads.validate(text, request.is_disconnected)
        except PoolBusy:
            raise HTTPException(503, f"{uploads.size} uploads are being validated; try again in a "
                                "few seconds", headers={"Retry-After": "2"}) from None
        except UploadTimeout:
            raise HTTPException(422, f"validating the upload took more than "
                                f"{uploads.time_limit_s:g} s; the scenario is too large to check "
                                "here: run `iadsim validate` on it") from None
        except ConnectionError:
            raise HTTPException(499, "the client went away") from None

    return app


def _node_names(folder: Path) -> dict[str, str]:
    """The command nodes' names by id, from the run's resolved scenario (empty if it has none)."""
    path = folder / rf.SCENARIO
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("command_nodes") or {}
    except (OSError, ValueError):
        return {}
    return {str(k): str(v.get("name") or k) for k, v in nodes.items() if isinstance(v, dict)}
