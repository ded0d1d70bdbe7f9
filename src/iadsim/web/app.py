"""The FastAPI app of ``iadsim serve``: runs, their layers and tracks, the basemap, scenario checks.

Everything is read-only except scenario validation, which parses uploaded YAML with the safe
loader and never evaluates or unpickles anything. See docs/security.md.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from iadsim import __version__
from iadsim.data import borders_path
from iadsim.scenario import ScenarioError, bundled_scenarios, validate_file
from iadsim.scenario.loader import bundled_data_sets
from iadsim.scenario.yamlio import read_yaml_text

__all__ = [
    "DEFAULT_LIMIT",
    "LAYERS",
    "MAX_LIMIT",
    "MAX_UPLOAD_BYTES",
    "RUN_NAME",
    "create_app",
    "is_loopback",
]

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")
"""A run folder name: letters, digits, ``_``, ``-`` and single inner dots; no ``..``, no slashes."""

MAX_NAME_LENGTH = 128
NODE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

LAYERS: dict[str, str] = {
    "units": "oob.geojson",
    "truth": "truth.parquet",
    "picture": "picture.parquet",
    "engagements": "engagements.parquet",
    "events": "c2_events.parquet",
    "outcomes": "outcomes.parquet",
}
"""The layers of a run and the file each comes from."""

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 200_000
MAX_UPLOAD_BYTES = 1024 * 1024
"""Largest scenario upload accepted by POST /api/scenarios/validate (1 MiB)."""

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


def _text(value: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from JSON or YAML escapes) become escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _jsonable(value: Any) -> Any:
    """A JSON-safe value: NaN and infinities become null, dates ISO text, bytes hex, text UTF-8."""
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


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Table rows as JSON-safe dicts, latitude and longitude rounded to 5 decimals (about 1 m)."""
    for name in _ROUNDED:
        idx = table.schema.get_field_index(name)
        if idx >= 0 and pa.types.is_floating(table.schema.field(idx).type):
            table = table.set_column(idx, name, pc.round(table.column(idx), 5))
    return [_jsonable(row) for row in table.to_pylist()]


class _Runs:
    """Finds run folders inside one root and reads their files, refusing paths that leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def folder(self, run: str) -> Path:
        """The folder of run ``run``; 404 if the name is not a run name or no such run exists."""
        if len(run) > MAX_NAME_LENGTH or not RUN_NAME.fullmatch(run):
            raise HTTPException(404, f"no run named {run[:80]!r}: run names are letters, digits, "
                                     "'-', '_' and inner dots")
        path = (self.root / run).resolve()
        if path.parent != self.root or not path.is_dir():
            raise HTTPException(404, f"no run named {run!r} in the served folder")
        return path

    def names(self) -> list[str]:
        """Names of the folders in the root that look like runs, sorted."""
        out = []
        for child in sorted(self.root.iterdir()):
            if (RUN_NAME.fullmatch(child.name) and len(child.name) <= MAX_NAME_LENGTH and child.is_dir()
                    and child.resolve().parent == self.root
                    and any((child / f).exists() for f in ("summary.json", *LAYERS.values()))):
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
        """A Parquet file of a run; 422 if it is corrupt or half-written."""
        path = self.file(run, name)
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise HTTPException(422, f"run {run!r}: {name} is corrupt or half-written "
                                     f"({type(exc).__name__})") from None

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


def validate_upload(text: str) -> dict[str, Any]:
    """Validate scenario YAML text with the same loader and schema as ``iadsim validate``."""
    early = _upload_errors(text)
    if early is not None:
        return {"ok": False, "errors": [_error_json(e, _UPLOAD_NAME) for e in early]}
    with tempfile.TemporaryDirectory(prefix="iadsim-upload-") as tmp:
        path = Path(tmp) / _UPLOAD_NAME
        path.write_text(text, encoding="utf-8")
        errors = validate_file(path)
    return {"ok": not errors, "errors": [_error_json(e, _UPLOAD_NAME) for e in errors]}


def _limited(table: pa.Table, limit: int) -> dict[str, Any]:
    """Rows of a table capped at ``limit``, saying how many there were and whether it was cut."""
    total = table.num_rows
    shown = table.slice(0, limit)
    return {"total": total, "returned": shown.num_rows, "limit": limit, "truncated": total > limit,
            "columns": table.column_names, "rows": _rows(shown)}


def create_app(root: Path, token: str | None = None) -> FastAPI:
    """The API over the run folders in ``root``; with ``token``, every /api call needs it as a Bearer."""
    runs = _Runs(root)
    app = FastAPI(title="iadsim", version=__version__,
                  description="Read-only API over iadsim run folders (defender's view).")

    @app.middleware("http")
    async def require_token(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse /api calls without the server's token, when it has one."""
        if token is not None and request.url.path.startswith("/api"):
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip().encode(),
                                                                        token.encode()):
                return JSONResponse({"detail": "missing or wrong token: send 'Authorization: Bearer "
                                               "<token>' (printed when the server started)"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

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

    @app.get("/api/runs/{run}/summary")
    def run_summary(run: str) -> dict[str, Any]:
        """The run's summary.json."""
        return runs.summary(run)

    @app.get("/api/runs/{run}/layers/{layer}")
    def run_layer(run: str, layer: str,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                  node: Annotated[str | None, Query(max_length=128)] = None) -> dict[str, Any]:
        """One layer of a run: the units as GeoJSON, or a Parquet table as capped JSON rows."""
        if layer not in LAYERS:
            raise HTTPException(404, f"no layer {layer[:40]!r}; layers: {', '.join(LAYERS)}")
        runs.folder(run)
        if layer == "units":
            return {"layer": layer, "geojson": runs.geojson(run, LAYERS[layer])}
        table = runs.table(run, LAYERS[layer])
        if node is not None:
            if layer != "picture":
                raise HTTPException(400, "?node= filters the picture layer only")
            if "node" not in table.column_names:
                raise HTTPException(422, f"run {run!r}: picture.parquet has no node column")
            table = table.filter(pc.equal(pc.cast(table.column("node"), pa.string()), node))
        return {"layer": layer, **_limited(table, limit)}

    @app.get("/api/runs/{run}/tracks/{node}/{track_id}")
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
        rows = table.filter(mask).sort_by("time_s")
        if rows.num_rows == 0:
            raise HTTPException(404, f"run {run!r} has no track {track_id!r} at node {node!r}")
        return {"node": node, "track_id": track_id, "points": rows.num_rows, "rows": _rows(rows)}

    @app.get("/api/basemap")
    def basemap() -> Response:
        """The bundled borders GeoJSON (Natural Earth, lon/lat WGS84)."""
        return Response(borders_path().read_bytes(), media_type="application/geo+json")

    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, str]]:
        """The bundled scenarios: id, name and description."""
        return [{"id": s.id, "name": s.name, "description": s.description} for s in bundled_scenarios()]

    @app.post("/api/scenarios/validate", openapi_extra={"requestBody": {
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
        return await run_in_threadpool(validate_upload, text)

    return app
