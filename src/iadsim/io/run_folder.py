"""The run folder contract: its file names, schema version and manifest; the writer and the reader.

A run folder is complete when its ``manifest.json`` exists: the writer builds the folder as a hidden
sibling (``.NAME.partial-<pid>-<random>``), writes the manifest last and only then renames the
folder into place. A run never writes into an existing run folder: it takes a fresh name
(``NAME-2``, ``NAME-3``, …) or, with ``force``, replaces the old folder atomically. The reader
refuses a folder without a manifest, with an unknown schema version, or whose files do not match
the manifest. docs/run-folder.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from iadsim.io.parquet import read_table, write_table
from iadsim.scenario.schema import Scenario
from iadsim.version import __version__

__all__ = ["BEARINGS", "C2_EVENTS", "COVERAGE_DIR", "DETECTIONS", "ENGAGEMENTS", "EVENTS", "EW_EFFECTS",
           "FIRST_DETECTIONS", "FORMAT", "INTERCEPTORS", "MANIFEST", "OBJECTS", "OOB_CSV", "OOB_GEOJSON",
           "OUTCOMES", "PICTURE", "REPORT", "RUN_SCHEMA_VERSION", "SATURATION", "SCENARIO", "SUMMARY",
           "TABLES", "TRUTH", "MissingRunFile", "RunFolder", "RunFolderError", "RunFolderWriter",
           "check_replaceable",
           "is_run_folder", "pid_alive",
           "read_run_folder", "remove_stale_partials", "tracks_file", "write_manifest"]

FORMAT = "iadsim-run"
"""The ``format`` of every manifest."""

RUN_SCHEMA_VERSION = 2
"""The version of this contract (file names, manifest, Parquet metadata); the reader knows only it."""

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
SCENARIO = "scenario.json"
OOB_CSV = "oob.csv"
OOB_GEOJSON = "oob.geojson"
COVERAGE_DIR = "coverage"
SATURATION = "saturation.parquet"
REPORT = "report.html"
"""The report and its figures are renderings of the folder (``iadsim report`` writes them again);
they are not in the manifest."""

TRUTH = "truth.parquet"
DETECTIONS = "detections.parquet"
BEARINGS = "bearings.parquet"
EVENTS = "events.parquet"
OBJECTS = "objects.parquet"
EW_EFFECTS = "ew_effects.parquet"
FIRST_DETECTIONS = "first_detections.parquet"
PICTURE = "picture.parquet"
C2_EVENTS = "c2_events.parquet"
INTERCEPTORS = "interceptors.parquet"
OUTCOMES = "outcomes.parquet"
ENGAGEMENTS = "engagements.parquet"

TABLES = {"truth": TRUTH, "detections": DETECTIONS, "bearings": BEARINGS, "events": EVENTS,
          "objects": OBJECTS, "ew_effects": EW_EFFECTS, "first_detections": FIRST_DETECTIONS,
          "picture": PICTURE, "c2_events": C2_EVENTS, "interceptors": INTERCEPTORS,
          "outcomes": OUTCOMES, "engagements": ENGAGEMENTS, "saturation": SATURATION}
"""Table name → file of every fixed-name table (each node's tracks: ``tracks_file``)."""

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)-[0-9a-f]+$")
_CHUNK = 1 << 20


class RunFolderError(Exception):
    """A folder that is not a readable run; the message says which folder and why."""


class MissingRunFile(RunFolderError, KeyError):
    """A file the run does not have (also a KeyError, what ``RunFolder.file`` raised before)."""

    def __str__(self) -> str:  # a KeyError's str is the repr of its argument
        return str(self.args[0]) if self.args else ""


def tracks_file(node: str) -> str:
    """The file of a command node's tracks (``tracks_<node>.parquet``, ``:`` as ``_``)."""
    return f"tracks_{node.replace(':', '_')}.parquet"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_partials(parent: Path) -> list[Path]:
    """Remove hidden partial (and set-aside) run folders in ``parent`` whose writer is dead.

    Returns the folders removed.
    """
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for child in sorted(parent.iterdir()):
        m = _TEMP.match(child.name)
        if m and child.is_dir() and not pid_alive(int(m["pid"])):
            home = parent / m["name"]
            if ".old-" in child.name and not os.path.lexists(home):
                # killed between setting the old run aside and renaming the new one into place
                # (--force): the old run is put back, not lost
                os.rename(child, home)
                continue
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def check_replaceable(target: Path) -> None:
    """Raise RunFolderError unless ``target`` is absent or a run folder iadsim wrote: ``--force``
    replaces a run, never a folder of something else (a user's files)."""
    if not os.path.lexists(target):
        return
    try:
        _manifest(target)
    except RunFolderError as exc:
        raise RunFolderError(f"{target}: --force replaces only a run folder iadsim wrote, and this is "
                             f"not one ({exc}); nothing was changed: move it or choose another "
                             "--out") from None


class RunFolderWriter:
    """Builds one run folder as a hidden partial sibling and publishes it when complete.

    Use as a context manager: an exception inside removes the partial folder.

    Args:
        parent: the folder of run folders (created if missing).
        name: the run folder's name (a fresh ``NAME-2``, … if taken, unless ``force``).
        identity: the run's scenario_hash, seed, replication and arrangement (into the manifest);
            ``scenario_hash`` and the package version also go into every Parquet file's metadata.
        force: replace an existing folder ``name`` (atomically) instead of taking a fresh name.
    """

    def __init__(self, parent: Path, name: str, identity: Mapping[str, Any], *, force: bool = False) -> None:
        if not name or name.startswith(".") or "/" in name or name in ("..",):
            raise ValueError(f"not a run folder name: {name!r}")
        self.parent, self.name, self.force = parent, name, force
        self.version = __version__
        self.identity = {"scenario_hash": str(identity["scenario_hash"]), "seed": int(identity["seed"]),
                         "replication": int(identity["replication"]),
                         "arrangement": str(identity["arrangement"])}
        if force:
            check_replaceable(parent / name)
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(parent)
        self.path = parent / f".{name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
        self.path.mkdir()
        self.final: Path | None = None

    @property
    def metadata(self) -> dict[str, str]:
        """The schema metadata of every Parquet file of the run."""
        return {"iadsim_run_schema_version": str(RUN_SCHEMA_VERSION),
                "iadsim_scenario_hash": str(self.identity["scenario_hash"]),
                "iadsim_version": str(self.version)}

    def table(self, name: str, table: pa.Table) -> Path:
        """Write a Parquet file (``TABLES`` name or file name) with the run's metadata."""
        return write_table(table, self.path / TABLES.get(name, name), self.metadata)

    def text(self, name: str, text: str) -> Path:
        """Write a UTF-8 text file."""
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def json(self, name: str, data: Any) -> Path:
        """Write a JSON file (indented, UTF-8)."""
        return self.text(name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def finish(self, before_publish: Callable[[Path], object] | None = None) -> Path:
        """Write the manifest (last) and rename the folder into place; returns the run folder.

        ``before_publish`` is called with the finished but unpublished folder (its manifest
        written) to add renderings that are not in the manifest, such as the report: a kill
        (or Ctrl-C) while it works leaves no run, not a run without its report. If it fails with
        an error, the run is published all the same (it is whole; ``iadsim report`` renders it
        again) and the error passed on.
        """
        write_manifest(self.path, self.identity)
        if before_publish is not None:
            try:
                before_publish(self.path)
            except Exception:
                self.final = self._publish()
                raise
        self.final = self._publish()
        return self.final

    def _publish(self) -> Path:
        target = self.parent / self.name
        if self.force and target.exists():
            check_replaceable(target)
            aside = self.parent / f".{self.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(target, aside)
            os.rename(self.path, target)
            shutil.rmtree(aside, ignore_errors=True)
            return target
        n = 2
        while True:
            try:
                # a directory renamed onto an existing empty one replaces it: take only free names
                if not target.exists() and not target.is_symlink():
                    os.rename(self.path, target)
                    return target
            except OSError:  # taken between the check and the rename
                pass
            target, n = self.parent / f"{self.name}-{n}", n + 1

    def abort(self) -> None:
        """Remove the partial folder."""
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> RunFolderWriter:
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is not None and self.final is None:
            self.abort()


def write_manifest(folder: Path, identity: Mapping[str, Any]) -> Path:
    """List every file of ``folder`` with its size and SHA-256 in ``manifest.json``, written last
    (through a temporary file, synced, renamed). ``RunFolderWriter.finish`` calls it on its partial
    folder; use it directly only for a folder no run is writing (a test's or an import's).

    Args:
        folder: the folder, complete.
        identity: scenario_hash, seed, replication and arrangement.
    """
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {"format": FORMAT, "schema_version": RUN_SCHEMA_VERSION, "iadsim_version": __version__,
                "scenario_hash": str(identity["scenario_hash"]), "seed": int(identity["seed"]),
                "replication": int(identity["replication"]), "arrangement": str(identity["arrangement"]),
                "files": files}
    tmp = folder / f".{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, folder / MANIFEST)
    return folder / MANIFEST


@dataclass(frozen=True)
class RunFolder:
    """A finished run folder, checked against its manifest.

    Attributes:
        path: the folder.
        manifest: the manifest (format, schema_version, iadsim_version, scenario_hash, seed,
            replication, arrangement, files).
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def files(self) -> tuple[str, ...]:
        """Every file of the run (relative POSIX paths), as the manifest lists them."""
        return tuple(self.manifest["files"])

    def has(self, name: str) -> bool:
        """Whether the run has this file (a ``TABLES`` name or a relative path)."""
        return TABLES.get(name, name) in self.manifest["files"]

    def file(self, name: str) -> Path:
        """The path of a file of the run (a ``TABLES`` name or a relative path).

        Raises:
            MissingRunFile: the run has no such file (a run made without simulating has no tables
                of one); a RunFolderError and a KeyError.
        """
        rel = TABLES.get(name, name)
        if rel not in self.manifest["files"]:
            simulated = "truth.parquet" in self.manifest["files"]
            raise MissingRunFile(f"{self.path}: the run has no {rel}" + (
                "" if simulated else " (it was made without simulating, --no-sim; run it again "
                                     "without --no-sim to have its tables)"))
        return self.path / rel

    def table(self, name: str) -> pa.Table:
        """A Parquet table by name (``truth``, …, or a file name such as ``tracks_<node>.parquet``).

        Raises:
            RunFolderError: the run has no such table, or its file cannot be read (damaged).
        """
        path = self.file(name)
        try:
            return read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise RunFolderError(f"{path}: a table of the run that cannot be read ({exc}); run the "
                                 "scenario again") from None

    def tables(self, prefix: str = "") -> Iterator[tuple[str, Path]]:
        """(file, path) of the run's top-level Parquet files starting with ``prefix``, sorted."""
        for rel in sorted(self.manifest["files"]):
            if "/" not in rel and rel.startswith(prefix) and rel.endswith(".parquet"):
                yield rel, self.path / rel

    def json(self, name: str) -> Any:
        """A JSON file of the run (``summary.json``, ``scenario.json``, …)."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``."""
        data = self.json(SUMMARY)
        if not isinstance(data, dict):
            raise RunFolderError(f"{self.path}: {SUMMARY} is not a JSON object")
        return data

    def scenario(self) -> Scenario:
        """The resolved scenario as run (``scenario.json``)."""
        return Scenario.model_validate_json(self.file(SCENARIO).read_text(encoding="utf-8"))


def _manifest(path: Path) -> dict[str, Any]:
    """The folder's manifest, checked for format and schema version (not the files)."""
    if not path.is_dir():
        raise RunFolderError(f"{path}: not a folder")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise RunFolderError(f"{path}: not a finished run folder (no {MANIFEST}: the run was "
                             "interrupted, or was written by iadsim before 0.2; run it again)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunFolderError(f"{mpath}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise RunFolderError(f"{mpath}: not an iadsim run manifest")
    version = manifest.get("schema_version")
    if version != RUN_SCHEMA_VERSION:
        raise RunFolderError(f"{mpath}: run folder schema version {version!r}, this iadsim reads version "
                             f"{RUN_SCHEMA_VERSION} only")
    return manifest


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a finished run folder of a known schema (its manifest only; no hashing)."""
    with contextlib.suppress(RunFolderError, OSError):
        _manifest(path)
        return True
    return False


def read_run_folder(path: Path, *, verify: bool = True) -> RunFolder:
    """Open a finished run folder.

    Args:
        path: the run folder.
        verify: check every file's size and SHA-256 against the manifest.

    Raises:
        RunFolderError: no manifest (interrupted or pre-0.2 run), an unknown schema version, or a file
            missing or not matching the manifest; the message names the folder and the first problem.
    """
    path = Path(path)
    manifest = _manifest(path)
    for rel, entry in manifest["files"].items():
        f = path / rel
        if not f.is_file():
            raise RunFolderError(f"{path}: {rel} is listed in the manifest but missing")
        if not isinstance(entry, dict):
            raise RunFolderError(f"{path / MANIFEST}: bad entry for {rel}")
        if f.stat().st_size != entry.get("size"):
            raise RunFolderError(f"{path}: {rel} has {f.stat().st_size} bytes, the manifest says "
                                 f"{entry.get('size')} (changed after the run)")
        if verify and _sha256(f) != entry.get("sha256"):
            raise RunFolderError(f"{path}: {rel} does not match its SHA-256 in the manifest "
                                 "(changed after the run)")
    return RunFolder(path, manifest)
