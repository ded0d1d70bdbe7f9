"""Output paths that never destroy what they should not: checked before any work, written to a
temporary file in the target folder and renamed only onto a regular file or a new name.

An output must not be an input (``iadsim track x.parquet --out x.parquet`` would destroy its
input), a device (``/dev/null``, ``/dev/full``: renaming onto one would replace the device node
when run as root), a folder, or anything under ``/proc``, ``/sys`` or ``/dev``; its folder must
be writable.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

__all__ = ["OutputPathError", "check_output_file", "check_output_folder", "check_reusable_folder",
           "replace_atomically", "temp_path"]

_SPECIAL_ROOTS = ("/proc", "/sys", "/dev")


class OutputPathError(ValueError):
    """An output path that cannot be written without destroying something; one clear message."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


def _special(path: Path) -> bool:
    text = str(path)
    return any(text == root or text.startswith(root + "/") for root in _SPECIAL_ROOTS)


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path("/")


def _check_folder_writable(folder: Path, shown: str, what: str) -> None:
    existing = _existing_ancestor(folder)
    if not existing.is_dir():
        raise OutputPathError(f"{what} {shown}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what} {shown}: the folder {existing} is not writable")


def check_output_file(path: str | Path, *, inputs: Iterable[str | Path] = (),
                      what: str = "--out", force: bool = False) -> Path:
    """``path`` if a file may be written there, else OutputPathError: an existing file only with
    ``force`` (nothing a user wrote is replaced silently), never one of the inputs, a folder, a
    special file or a place under /proc, /sys or /dev.

    Args:
        path: the output file.
        inputs: the command's input files, none of which it may be.
        what: how the output is named in the message (the option).
        force: the user asked to replace an existing file (``--force``).
    """
    path = Path(path)
    shown = str(path)
    resolved = path.resolve()
    if _special(resolved):
        raise OutputPathError(f"{what} {shown}: outputs are not written under /proc, /sys or /dev")
    for source in inputs:
        source = Path(source)
        same = source.resolve() == resolved
        if not same and source.exists() and path.exists():
            try:
                same = os.path.samefile(source, path)
            except OSError:
                same = False
        if same:
            raise OutputPathError(f"{what} {shown} is the input {source}; writing it would "
                                  "destroy the input: give another file name")
    if os.path.lexists(path):
        mode = os.stat(path).st_mode if path.exists() else os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise OutputPathError(f"{what} {shown} is {_kind(mode)}; give a file name")
        if not force:
            raise OutputPathError(f"{what} {shown} exists; add --force to replace it or choose another "
                                  "name")
    _check_folder_writable(resolved.parent, shown, what)
    return path


def check_output_folder(path: str | Path, *, what: str = "--out") -> Path:
    """``path`` if outputs may be written into it as a folder (it exists as one or can be made),
    else OutputPathError."""
    path = Path(path)
    shown = str(path)
    resolved = path.resolve()
    if _special(resolved):
        raise OutputPathError(f"{what} {shown}: outputs are not written under /proc, /sys or /dev")
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{what} {shown} is {_kind(os.stat(path).st_mode)}, not a folder; "
                              "give a folder name")
    _check_folder_writable(resolved, shown, what)
    return path


def check_reusable_folder(folder: Path, marker: str, is_ours: Callable[[Any], bool], *, owner: str,
                          unmarked: str, only: Collection[str] | None = None) -> None:
    """Raise OutputPathError unless ``folder`` is absent, empty or an earlier output of the same
    command: its JSON ``marker`` file reads as one (``is_ours``) and, with ``only``, it holds no other
    names. A command replaces its own earlier output there, never a user's or another command's files.

    Args:
        folder: the output folder. marker: the file that marks the command's output.
        is_ours: whether the marker's parsed JSON is the command's.
        owner: whose files they would be, in the message ("a comparison"). unmarked: what the folder
            lacks when the marker is missing or not the command's, in the message.
        only: the names the command writes, when it writes no others.
    """
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in only) if only is not None else []
    try:
        ours = is_ours(json.loads((folder / marker).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        ours = False
    if foreign or not ours:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        holds = f"files that are not {owner}'s ({shown})" if foreign else f"files, but not {unmarked}"
        raise OutputPathError(f"--out {folder} holds {holds}; nothing was written: choose a new or "
                              f"empty folder, or one that holds an earlier output of {owner}")


def free_path(path: Path) -> Path:
    """``path``, or the first of ``STEM-2.SUFFIX``, ``STEM-3.SUFFIX``, … that nothing holds (a default
    output name taken by an earlier output, as run folders are named)."""
    candidate, n = path, 2
    while candidate.exists() or candidate.is_symlink():
        candidate, n = path.with_name(f"{path.stem}-{n}{path.suffix}"), n + 1
    return candidate


def temp_path(path: Path) -> Path:
    """A fresh hidden name beside ``path`` to write to before :func:`replace_atomically`."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def replace_atomically(tmp: Path, path: Path) -> Path:
    """Rename ``tmp`` onto ``path`` if ``path`` is absent or a regular file (checked again now,
    not only when the command started); else remove ``tmp`` and raise OutputPathError."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or (stat.S_ISLNK(mode) and path.is_file())):
        tmp.unlink(missing_ok=True)
        raise OutputPathError(f"{path} is {_kind(mode)}; it is not replaced by an output")
    os.replace(tmp, path)
    return path
