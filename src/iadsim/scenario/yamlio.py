"""Safe YAML reading that keeps the line of every field, refuses binary, empty and huge files,
and reports duplicate keys (which plain YAML loaders silently overwrite)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from iadsim.scenario.errors import Location, Path, ScenarioError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "Document", "read_yaml_file", "read_yaml_text"]

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Largest scenario file accepted; the whole bundled reference data set is well under 1 MiB."""

MAX_NODES = 1_000_000
"""Largest number of YAML nodes walked, which bounds alias ("billion laughs") expansion."""

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted (scenarios nest five or six levels); it also
stops an alias that refers to itself (``a: &a [*a]``), which would nest for ever."""


@dataclass
class Document:
    """Parsed YAML with the location of every mapping key and list item, by field path."""

    data: Any
    locations: dict[Path, Location] = field(default_factory=dict)
    file: str = "<string>"

    def location_of(self, path: Path) -> Location | None:
        """The location of ``path`` or of its nearest ancestor that has one."""
        for n in range(len(path), -1, -1):
            loc = self.locations.get(tuple(path[:n]))
            if loc is not None:
                return loc
        return None


_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit


class _NodeConverter:
    """Turns a composed YAML node tree into Python objects, recording locations."""

    def __init__(self, file: str, errors: list[ScenarioError]) -> None:
        self.file = file
        self.errors = errors
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self.locations: dict[Path, Location] = {}
        self.budget = _Budget(MAX_NODES)

    def mark(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: Path) -> Any:
        self.budget.left -= 1
        if self.budget.left < 0:
            raise _TooLarge
        if len(path) > MAX_DEPTH:
            raise _TooDeep(self.mark(node))
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except (ValueError, OverflowError, yaml.constructor.ConstructorError) as exc:
                # e.g. a date such as 2020-13-45, or an unsafe tag like !!python/object
                problem = getattr(exc, "problem", None) or str(exc)
                self.errors.append(ScenarioError(f"unreadable value: {problem}", path,
                                                 self.mark(node), node.value, True))
                return node.value
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            self.errors.append(ScenarioError(
                f"could not determine a constructor for the tag '{node.tag}'; scenario files "
                "use plain YAML only", path, self.mark(node)))
            return None
        if isinstance(node, SequenceNode):
            out_list = []
            for i, item in enumerate(node.value):
                self.locations.setdefault((*path, i), self.mark(item))
                out_list.append(self.convert(item, (*path, i)))
            return out_list
        if isinstance(node, MappingNode):
            self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self.errors.append(
                        ScenarioError("a mapping key must be a plain name, not a list or mapping",
                                      path, self.mark(key_node))
                    )
                    continue
                # Keys stay strings: YAML 1.1 would turn `NO:` (Norway) or `on:` into booleans.
                key = str(key_node.value)
                if key in out:
                    first = self.locations.get((*path, key))
                    where = f" (first at line {first.line})" if first else ""
                    self.errors.append(
                        ScenarioError(f"duplicate key '{key}'{where}; each key may appear once",
                                      (*path, key), self.mark(key_node))
                    )
                    continue
                self.locations[(*path, key)] = self.mark(key_node)
                out[key] = self.convert(value_node, (*path, key))
            return out
        raise TypeError(f"unexpected YAML node {node!r}")  # a bug, not a user error


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    def __init__(self, location: Location) -> None:
        super().__init__(location)
        self.location = location


def _too_deep(location: Location) -> ScenarioError:
    return ScenarioError(f"lists and mappings nest more than {MAX_DEPTH} levels deep (or an alias "
                         "refers to itself); scenario files nest a few levels", (), location)


def read_yaml_text(text: str, file: str = "<string>") -> tuple[Document | None, list[ScenarioError]]:
    """Parse YAML text into a Document; returns (None, errors) if it cannot be read at all."""
    errors: list[ScenarioError] = []
    empty = ScenarioError("the file is empty (nothing but blanks or comments); a scenario needs at "
                          "least `name` and `as_of`", (), Location(file, 1))
    if not text.strip():
        return None, [empty]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = exc.problem or exc.context or "malformed YAML"
        return None, [ScenarioError(f"malformed YAML: {problem}", (), Location(file, line, col))]
    except yaml.YAMLError as exc:  # e.g. a multi-document stream
        return None, [ScenarioError(f"malformed YAML: {exc}", (), Location(file, 1))]
    except RecursionError:  # PyYAML's parser recurses once per level: [[[[... thousands deep
        return None, [_too_deep(Location(file, 1))]
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")
                        and node.value in ("", "~", "null")):
        return None, [empty]
    converter = _NodeConverter(file, errors)
    converter.locations[()] = Location(file, node.start_mark.line + 1, node.start_mark.column + 1)
    try:
        data = converter.convert(node, ())
    except _TooLarge:
        return None, [ScenarioError(
            f"the file expands to more than {MAX_NODES:,} YAML nodes (aliases?); refusing to read it",
            (), Location(file, 1))]
    except _TooDeep as exc:
        return None, [_too_deep(exc.location)]
    return Document(data, converter.locations, file), errors


def read_yaml_file(path: FsPath, shown_as: str | None = None) -> tuple[Document | None, list[ScenarioError]]:
    """Read and parse a YAML file, refusing missing, binary, non-UTF-8, empty and huge files."""
    name = shown_as or str(path)
    loc = Location(name, 1)
    if not path.exists():
        return None, [ScenarioError("no such file", (), loc)]
    if not path.is_file():
        return None, [ScenarioError("not a file (a folder?)", (), loc)]
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return None, [ScenarioError(
            f"the file is {size / 2**20:.1f} MiB; scenario files may be at most "
            f"{MAX_FILE_BYTES // 2**20} MiB", (), loc)]
    raw = path.read_bytes()
    if b"\x00" in raw:
        return None, [ScenarioError("this is a binary file, not a YAML scenario", (), loc)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [ScenarioError(
            f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8", (),
            Location(name, line))]
    return read_yaml_text(text, name)
