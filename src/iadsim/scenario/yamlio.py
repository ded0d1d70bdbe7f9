"""Safe YAML reading that keeps the line of every field, refuses binary, empty and huge files,
and reports duplicate keys (which plain YAML loaders silently overwrite).

Merge keys follow YAML 1.1 (https://yaml.org/type/merge.html): ``<<`` takes a mapping or a list
of mappings; the mapping's own keys override merged ones, and of several merged mappings the
first listed wins. A ``<<`` whose value is anything else is a located message, not PyYAML's
``ConstructorError``. Nodes are counted while the tree is composed, aliases by the size of the
subtree they stand for, so that a file which would expand beyond :data:`MAX_NODES` is refused
before it is built, not after.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from iadsim.scenario.errors import Location, Path, ScenarioError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "Document", "paths_under", "read_yaml_file",
           "read_yaml_text"]

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest scenario file accepted: a scenario of 100,000 records written one per line is about
9 MiB; the whole bundled reference data set is under 0.2 MiB."""

MAX_NODES = 2_000_000
"""Largest number of YAML nodes a file may hold once its aliases are expanded, which bounds alias
("billion laughs") expansion; a scenario of 100,000 records has about a million."""

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


def paths_under(prefix: Path, value: Any) -> list[Path]:
    """``prefix`` and the field path of every mapping value and list item inside ``value``
    (which sits at ``prefix``), in the time linear in its size."""
    out: list[Path] = [prefix]
    todo: list[tuple[Path, Any]] = [(prefix, value)]
    while todo:
        path, node = todo.pop()
        items: Any = node.items() if isinstance(node, dict) else (
            enumerate(node) if isinstance(node, list) else ())
        for key, sub in items:
            child = (*path, key)
            out.append(child)
            if isinstance(sub, (dict, list)):
                todo.append((child, sub))
    return out


_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

class _PyParser(Reader, Scanner, Parser):
    """PyYAML's own event parser, for an installation without libyaml."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


try:  # libyaml's event parser, where PyYAML was built with it (its wheels are): much faster
    _EventParser: Any = importlib.import_module("yaml._yaml").CParser
except ImportError:  # pragma: no cover
    _EventParser = _PyParser


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    def __init__(self, location: Location) -> None:
        super().__init__(location)
        self.location = location


class _Mark:
    """Where a node starts: all the converter needs of PyYAML's ``Mark`` (which also keeps the
    file name, offset and buffer in an instance dict, several times the size, twice per node)."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line, self.column = line, column

    def __str__(self) -> str:
        return f"line {self.line + 1}, column {self.column + 1}"


class _CountingComposer(Composer):
    """PyYAML's composer counting, as it builds, the nodes the tree will expand to: an alias
    counts as the whole subtree of its anchor. It stops at :data:`MAX_NODES` and at
    :data:`MAX_DEPTH` levels, before anything larger is built."""

    def __init__(self) -> None:
        super().__init__()
        self.expanded = 0
        self.depth = 0
        self.sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size

    peek_event: Callable[[], Any]  # the event parser's

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)  # the anchored node (an error if unknown)
            self._spend(self.sizes.get(id(node), 1))
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep(Location("", event.start_mark.line + 1, event.start_mark.column + 1))
        before = self.expanded
        node = super().compose_node(parent, index)
        assert node is not None
        mark = node.start_mark
        node.start_mark, node.end_mark = _Mark(mark.line, mark.column), None
        self.depth -= 1
        self._spend(1)
        if getattr(event, "anchor", None) is not None:
            self.sizes[id(node)] = self.expanded - before
        return node

    def _spend(self, n: int) -> None:
        self.expanded += n
        if self.expanded > MAX_NODES:
            raise _TooLarge


class _Loader(_CountingComposer, _EventParser, Resolver):  # type: ignore[misc]
    """The event parser, the counting composer for the tree, the resolver for plain scalars."""

    def __init__(self, stream: str) -> None:
        _EventParser.__init__(self, stream)
        _CountingComposer.__init__(self)
        Resolver.__init__(self)


def _compose(text: str) -> tuple[Node | None, set[int]]:
    """The node tree and the ids of its anchored nodes."""
    loader = _Loader(text)
    try:
        node: Node | None = loader.get_single_node()
        return node, set(loader.sizes)
    finally:
        loader.dispose()


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit


class _NodeConverter:
    """Turns a composed YAML node tree into Python objects, recording locations."""

    def __init__(self, file: str, errors: list[ScenarioError], anchored: set[int] | None = None) -> None:
        self.file = file
        # nodes an alias may still refer to; every other node is dropped once converted, so that
        # the node tree and the objects built from it are not both in memory at their full size
        self.anchored = anchored or set()
        self.inside_anchor = 0  # converting an anchored node's subtree: keep all of it
        self.errors = errors
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self.locations: dict[Path, Location] = {}
        self.budget = _Budget(MAX_NODES)
        self.merge_depth = 0

    def mark(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: Path) -> Any:
        if id(node) in self.anchored:
            self.inside_anchor += 1
            try:
                return self._convert(node, path)
            finally:
                self.inside_anchor -= 1
        return self._convert(node, path)

    def _done_with(self, node: Node) -> bool:
        """Whether ``node``'s children may be dropped once converted (no alias can reach them)."""
        return not self.inside_anchor and id(node) not in self.anchored

    def _convert(self, node: Node, path: Path) -> Any:
        self.budget.left -= 1
        if self.budget.left < 0:
            raise _TooLarge
        if len(path) > MAX_DEPTH:
            raise _TooDeep(self.mark(node))
        if isinstance(node, ScalarNode):
            if node.tag == _STR_TAG:  # most scalars: no constructor needed
                return node.value
            try:
                construct = self.constructor.yaml_constructors.get(node.tag)
                if construct is None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"could not determine a constructor for the tag '{node.tag}'",
                        node.start_mark)
                # called directly: construct_object would also keep every node in a cache
                return construct(self.constructor, node)
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
            items = node.value
            if self._done_with(node):
                node.value = []
            for i, item in enumerate(items):
                self.locations.setdefault((*path, i), self.mark(item))
                out_list.append(self.convert(item, (*path, i)))
            return out_list
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        raise TypeError(f"unexpected YAML node {node!r}")  # a bug, not a user error

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        """A mapping with its merge keys resolved as YAML 1.1 says: merged mappings first (of
        several, the first listed wins), then the mapping's own keys, which override them."""
        own: list[tuple[Node, Node] | None] = []
        merged: list[MappingNode] = []  # in precedence order, highest first
        pairs = node.value
        if self._done_with(node):
            node.value = []
        for key_node, value_node in pairs:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
                continue
            if isinstance(value_node, MappingNode):
                merged.append(value_node)
            elif isinstance(value_node, SequenceNode) and all(
                    isinstance(item, MappingNode) for item in value_node.value):
                merged.extend(value_node.value)
            else:
                what = "a list with something other than a mapping in it" if isinstance(
                    value_node, SequenceNode) else "a single value"
                self.errors.append(ScenarioError(
                    f"the merge key '<<' takes a mapping or a list of mappings (an anchored "
                    f"mapping `&name` referred to as `*name`), not {what}", path,
                    self.mark(key_node)))
        out: dict[str, Any] = {}
        # lowest precedence first, so that each later one overrides the keys and locations
        for source in reversed(merged):
            self.merge_depth += 1
            self.budget.left -= 1
            if self.budget.left < 0:
                raise _TooLarge
            if self.merge_depth > MAX_DEPTH:  # a mapping merged into itself: `&a {<<: *a}`
                raise _TooDeep(self.mark(source))
            if source.tag != _MAP_TAG:
                self.errors.append(ScenarioError(
                    f"could not determine a constructor for the tag '{source.tag}'; scenario "
                    "files use plain YAML only", path, self.mark(source)))
                self.merge_depth -= 1
                continue
            keep = id(source) in self.anchored
            self.inside_anchor += keep
            try:
                resolved = self._mapping(source, path)
            finally:
                self.inside_anchor -= keep
            self.merge_depth -= 1
            for key, value in resolved.items():
                self._forget(path, key, out)
                out[key] = value
        del pairs
        seen: dict[str, Location] = {}
        for index, pair in enumerate(own):
            assert pair is not None
            own[index] = None  # converted: its nodes may go
            key_node, value_node = pair
            if not isinstance(key_node, ScalarNode):
                self.errors.append(
                    ScenarioError("a mapping key must be a plain name, not a list or mapping",
                                  path, self.mark(key_node))
                )
                continue
            # Keys stay strings: YAML 1.1 would turn `NO:` (Norway) or `on:` into booleans.
            key = str(key_node.value)
            if key in seen:
                self.errors.append(ScenarioError(
                    f"duplicate key '{key}' (first at line {seen[key].line}); each key may "
                    "appear once", (*path, key), self.mark(key_node)))
                continue
            seen[key] = self.mark(key_node)
            self._forget(path, key, out)  # a merged key this mapping overrides
            self.locations[(*path, key)] = seen[key]
            out[key] = self.convert(value_node, (*path, key))
        return out

    def _forget(self, path: Path, key: str, out: dict[str, Any]) -> None:
        """Drops the locations under a key about to be replaced in ``out``."""
        if key in out:
            for p in paths_under((*path, key), out.pop(key)):
                self.locations.pop(p, None)


def _too_deep(location: Location) -> ScenarioError:
    return ScenarioError(f"lists and mappings nest more than {MAX_DEPTH} levels deep (or an alias "
                         "refers to itself); scenario files nest a few levels", (), location)


def _too_large(file: str) -> ScenarioError:
    return ScenarioError(f"the file expands to more than {MAX_NODES:,} YAML nodes (aliases?); "
                         "refusing to read it", (), Location(file, 1))


def read_yaml_text(text: str, file: str = "<string>") -> tuple[Document | None, list[ScenarioError]]:
    """Parse YAML text into a Document; returns (None, errors) if it cannot be read at all."""
    errors: list[ScenarioError] = []
    empty = ScenarioError("the file is empty (nothing but blanks or comments); a scenario needs at "
                          "least `name` and `as_of`", (), Location(file, 1))
    if not text.strip():
        return None, [empty]
    try:
        node, anchored = _compose(text)
    except _TooLarge:
        return None, [_too_large(file)]
    except _TooDeep as exc:
        return None, [_too_deep(Location(file, exc.location.line, exc.location.column))]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        last = text.count("\n") + (0 if text.endswith("\n") else 1)
        if line > last:  # libyaml places an error at the end of the stream past the last line
            line, col = max(last, 1), 1
        problem = exc.problem or exc.context or "malformed YAML"
        if "nesting depth" in problem:  # libyaml's own limit (1,000 levels), before ours
            return None, [_too_deep(Location(file, line, col))]
        return None, [ScenarioError(f"malformed YAML: {problem}", (), Location(file, line, col))]
    except yaml.YAMLError as exc:  # e.g. a multi-document stream
        return None, [ScenarioError(f"malformed YAML: {exc}", (), Location(file, 1))]
    except RecursionError:  # PyYAML's parser recurses once per level: [[[[... thousands deep
        return None, [_too_deep(Location(file, 1))]
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")
                        and node.value in ("", "~", "null")):
        return None, [empty]
    converter = _NodeConverter(file, errors, anchored)
    converter.locations[()] = Location(file, node.start_mark.line + 1, node.start_mark.column + 1)
    try:
        data = converter.convert(node, ())
    except _TooLarge:
        return None, [_too_large(file)]
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
