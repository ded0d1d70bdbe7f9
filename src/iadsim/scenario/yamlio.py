"""Safe YAML reading that keeps the line of every field, refuses binary, empty and huge files,
and reports duplicate keys (which plain YAML loaders silently overwrite).

Merge keys follow YAML 1.1 (https://yaml.org/type/merge.html): ``<<`` takes a mapping or a list
of mappings; the mapping's own keys override merged ones, and of several merged mappings the
first listed wins. A ``<<`` whose value is anything else is a located message, not PyYAML's
``ConstructorError``. Objects are built straight from the parser's events (libyaml's, where
PyYAML has it), with no node tree in between; nodes are counted as they arrive, aliases by the
size of the subtree they stand for, so that a file which would expand beyond :data:`MAX_NODES` is
refused before it is built, not after.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from iadsim.scenario.collector import collector_paused
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
_FLOAT_TAG = "tag:yaml.org,2002:float"
# tags whose constructors build a collection (a generator, given a scalar)
_COLLECTION_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("map", "omap", "pairs", "seq", "set"))


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


_NO_KEY: Any = object()   # a mapping waiting for its next key
_MERGE: Any = object()    # the pending key is `<<`
_DISCARD: Any = object()  # the pending value belongs to a refused key: read, then dropped

_MAP, _SEQ = 0, 1
_VALUE, _KEY, _MERGED, _REFUSED = 0, 1, 2, 3  # what a node is to the mapping or list it is in

# Locations relative to a node: a location, or an anchor whose locations go under that path
_Entries = list[tuple[Path, "Location | _Anchor"]]
_Recorder = tuple[int, _Entries]  # (length of the path it is relative to, entries)


class _Anchor:
    """What an alias stands for: the value (copied at each use), the locations inside it
    relative to it, and what the node limits need (its expanded size and its height)."""

    __slots__ = ("height", "location", "raw", "relative", "size", "value")

    def __init__(self, value: Any, location: Location, size: int, height: int,
                 relative: _Entries, raw: str | None) -> None:
        self.value, self.location, self.size, self.height = value, location, size, height
        self.relative = relative
        self.raw = raw  # a scalar's text, which may serve as a mapping key


_UNFINISHED = _Anchor(None, Location("", 1), 0, 0, [], None)  # an alias inside its own anchor


class _Frame:
    """A list or mapping being built, and the reader's state to restore when it ends."""

    __slots__ = ("anchor", "anchor_start", "height", "key", "key_at", "keys", "kind", "location",
                 "merges", "path", "refused", "saved", "value")

    def __init__(self, kind: int, value: Any, path: Path, location: Location) -> None:
        self.kind, self.value, self.path, self.location = kind, value, path, location
        self.height = 1
        self.key: Any = _NO_KEY
        self.key_at: Location | None = None
        self.keys: dict[str, Location] = {}
        self.merges: list[tuple[Any, _Entries, Location]] = []
        self.anchor: str | None = None
        self.anchor_start = 0
        self.saved: tuple[list[_Recorder], bool, bool] | None = None
        self.refused = False  # a tag scenario files do not use: read, then given as None


def _copy(value: Any) -> Any:
    """A copy of an aliased value, so that each use of an anchor is an object of its own."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _split(relative: _Entries, n: int) -> list[_Entries]:
    """Locations relative to a list, as ``n`` lists relative to its items."""
    out: list[_Entries] = [[] for _ in range(n)]
    for rel, loc in relative:
        if rel and isinstance(rel[0], int) and 0 <= rel[0] < n and (len(rel) > 1 or isinstance(loc, _Anchor)):
            out[rel[0]].append((rel[1:], loc))  # (an item that is an alias: its anchor's, at ())
    return out


def _opened(relative: _Entries) -> _Entries:
    """The same locations with an alias at the top (an anchor at ``()``) replaced by its own."""
    if not any(not rel for rel, _ in relative):
        return relative
    out: _Entries = []
    for rel, at in relative:
        if not rel and isinstance(at, _Anchor):
            out.extend(_opened(at.relative))
        elif rel:
            out.append((rel, at))
    return out


_Cached = int | float | bool | None | dt.date


class _Builder:
    """Builds Python objects straight from the parser's events, with no node tree in between,
    recording the location of every mapping key and list item by field path.

    Nodes are counted as they arrive, an alias by the size of its anchor's subtree, so that a file
    expanding beyond :data:`MAX_NODES` is refused before it is built; nesting is limited to
    :data:`MAX_DEPTH`, aliases included. An anchor's value is kept with its locations relative to
    it and copied at each alias. Merge keys are resolved when their mapping ends: the values of
    ``<<`` are read with their locations kept aside (relative to the mapping), and only the keys
    the mapping takes from them are placed.
    """

    def __init__(self, file: str, errors: list[ScenarioError]) -> None:
        self.file = file
        self.errors = errors
        self.locations: dict[Path, Location] = {}
        self.anchors: dict[str, _Anchor] = {}
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self.resolver = Resolver()
        self.implicit = Resolver.yaml_implicit_resolvers
        self.resolved: dict[str, str] = {}  # plain scalar -> tag
        self.constructed: dict[tuple[str, str], _Cached] = {}
        # Where locations go: into ``locations`` unless muted (inside a merge value or a refused
        # value), and into every active recorder (anchors being read, merge values).
        self.recorders: list[_Recorder] = []
        self.muted = False
        self.links: list[tuple[Path, _Anchor]] = []  # an alias's path and its anchor
        self.discarding = False  # inside a refused value: its problems are not reported either

    def mark(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def record(self, path: Path, location: Location | _Anchor) -> None:
        """Records the location of ``path``; given an anchor (an alias at ``path``), those of the
        paths under it, which are placed only once the file is complete (``place_links``), so
        that a file whose aliases expand beyond the node limit is refused before they are."""
        if not self.muted:
            if isinstance(location, _Anchor):
                self.links.append((path, location))
            else:
                self.locations[path] = location
        for start, entries in self.recorders:
            entries.append((path[start:], location))

    def place_links(self) -> None:
        """Places the locations inside every alias (of the aliases inside them, and so on)."""
        todo = self.links[::-1]
        self.links = []
        while todo:
            path, anchor = todo.pop()
            for rel, at in anchor.relative:
                if isinstance(at, _Anchor):
                    todo.append(((*path, *rel), at))
                else:
                    self.locations.setdefault((*path, *rel), at)

    def error(self, error: ScenarioError) -> None:
        if not self.discarding:
            self.errors.append(error)

    def enter(self, *, merge: bool = False, discard: bool = False,
              path: Path = ()) -> tuple[list[_Recorder], bool, bool]:
        """Starts reading a merge value (its locations kept aside, relative to ``path``) or a
        refused value (its locations and problems dropped); returns the state to restore."""
        saved = (self.recorders, self.muted, self.discarding)
        self.recorders = [(len(path), [])] if merge else []
        self.muted = True
        self.discarding = self.discarding or discard
        return saved

    def restore(self, saved: tuple[list[_Recorder], bool, bool]) -> _Entries:
        """Ends a merge or refused value; returns the locations kept aside for a merge value."""
        kept = self.recorders[0][1] if self.recorders else []
        self.recorders, self.muted, self.discarding = saved
        return kept

    def scalar(self, event: Any, path: Path) -> Any:
        """The value of a scalar event, resolved and constructed as PyYAML's safe loader does."""
        tag = event.tag
        value = event.value
        if tag is None and not event.implicit[0]:
            return value  # quoted, untagged: a string
        if tag is None or tag == "!":
            if event.implicit[0] and tag is None:
                tag = self.resolved.get(value)
                if tag is None:
                    tag = _STR_TAG
                    for candidate, regexp in self.implicit.get(value[:1], ()):
                        if regexp.match(value):
                            tag = candidate
                            break
                    if len(self.resolved) < 65_536:
                        self.resolved[value] = tag
            else:
                tag = self.resolver.resolve(ScalarNode, value, event.implicit)  # type: ignore[no-untyped-call]
        if tag == _STR_TAG:  # most scalars: no constructor needed
            return value
        key = (tag, value)
        if key in self.constructed:
            return self.constructed[key]
        node = ScalarNode(tag, value, event.start_mark, None)
        try:
            construct = self.constructor.yaml_constructors.get(tag)
            if construct is None or tag in _COLLECTION_TAGS:
                raise yaml.constructor.ConstructorError(
                    None, None, f"could not determine a constructor for the tag '{tag}'",
                    event.start_mark)
            out = construct(self.constructor, node)
        except (ValueError, OverflowError, yaml.constructor.ConstructorError) as exc:
            # e.g. a date such as 2020-13-45, or an unsafe tag like !!python/object
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(ScenarioError(f"unreadable value: {problem}", path,
                                     self.mark(event.start_mark), value, True))
            return value
        # immutable results may be shared (a file repeats its numbers and dates)
        if (isinstance(out, (int, float, dt.date)) or out is None) and len(self.constructed) < 65_536:
            self.constructed[key] = out
        return out

    def build(self, parser: Any) -> tuple[Any, Location | None]:
        """The document's value and the location of its top node (None for an empty stream)."""
        get_event = parser.get_event
        get_event()  # the stream's start
        event = get_event()
        if isinstance(event, StreamEndEvent):
            return None, None
        first_document = event
        stack: list[_Frame] = []
        nodes = 0
        limit = MAX_NODES
        result: Any = None
        root: Location | None = None
        path: Path
        file, locations, resolved, constructed = self.file, self.locations, self.resolved, self.constructed
        while True:
            event = get_event()
            cls = type(event)
            frame = stack[-1] if stack else None
            if cls is ScalarEvent and frame is not None and event.anchor is None and event.tag is None \
                    and len(stack) < MAX_DEPTH:
                # The common case, kept short: an untagged scalar without an anchor, a mapping's
                # key or value or a list's item (anything else takes the general way below).
                key = frame.key
                text = event.value
                if frame.kind == _MAP and key is _NO_KEY and text != "<<" and text not in frame.keys:
                    mark = event.start_mark
                    at = Location(file, mark.line + 1, mark.column + 1)
                    frame.keys[text] = at
                    frame.key = text
                    path = (*frame.path, text)
                    if not self.muted:
                        locations[path] = at
                    for start, entries in self.recorders:
                        entries.append((path[start:], at))
                    nodes += 1
                    if nodes > limit:
                        raise _TooLarge
                    continue
                if frame.kind == _SEQ or (key is not _NO_KEY and key is not _MERGE and key is not _DISCARD):
                    if not event.implicit[0]:
                        value = text  # quoted: a string
                    elif resolved.get(text) == _STR_TAG:
                        value = text
                    elif (_FLOAT_TAG, text) in constructed:  # (the commonest other kind)
                        value = constructed[_FLOAT_TAG, text]
                    else:
                        value = self.scalar(event, (*frame.path, key if frame.kind == _MAP else
                                                    len(frame.value)))
                    if frame.kind == _MAP:
                        frame.value[key] = value
                        frame.key = _NO_KEY
                    else:
                        path = (*frame.path, len(frame.value))
                        mark = event.start_mark
                        self.item(path, Location(file, mark.line + 1, mark.column + 1))
                        frame.value.append(value)
                    nodes += 1
                    if nodes > limit:
                        raise _TooLarge
                    continue
            if cls is MappingEndEvent or cls is SequenceEndEvent:
                assert frame is not None
                stack.pop()
                value, height, raw, location = self.finish(frame), frame.height, None, frame.location
                if frame.anchor is not None:
                    relative = self.recorders.pop()[1]
                    self.anchors[frame.anchor] = _Anchor(value, frame.location, nodes - frame.anchor_start,
                                                         height, relative, None)
                kept = self.restore(frame.saved) if frame.saved is not None else []
                frame = stack[-1] if stack else None
            elif cls is DocumentEndEvent:
                break
            else:
                # where the node goes: its path, and whether it is a key, a merge or refused value
                role = _VALUE
                if frame is None:
                    path = ()
                elif frame.kind == _SEQ:
                    path = (*frame.path, len(frame.value))
                elif frame.key is _NO_KEY:
                    path, role = frame.path, _KEY
                elif frame.key is _MERGE:
                    path, role = frame.path, _MERGED
                elif frame.key is _DISCARD:
                    path, role = frame.path, _REFUSED
                else:
                    path = (*frame.path, frame.key)
                location = self.mark(event.start_mark)
                if cls is AliasEvent:
                    value, height, size, raw, kept, location = self.alias(
                        event, path, role, len(stack) + 1, limit - nodes)
                    nodes += size
                else:
                    nodes += 1
                    if nodes > limit:
                        raise _TooLarge
                    if len(stack) >= MAX_DEPTH:
                        raise _TooDeep(location)
                    anchor = event.anchor
                    if anchor is not None:
                        if anchor in self.anchors:
                            first = self.anchors[anchor].location
                            raise yaml.composer.ComposerError(
                                None, None, f"found duplicate anchor {anchor!r} (first at line "
                                f"{first.line})", event.start_mark)
                        self.anchors[anchor] = _UNFINISHED
                    if cls is not ScalarEvent:
                        stack.append(self.start(event, path, role, location, nodes - 1))
                        if frame is None:
                            root = location
                        elif frame.kind == _SEQ:
                            self.item(path, location)
                        continue
                    height, raw, kept = 0, None, []
                    if role == _KEY:
                        value, raw = None, event.value
                    elif role == _VALUE:
                        value = self.scalar(event, path)
                    else:  # a merge value (refused: not a mapping) or a refused value
                        value = event.value
                    if anchor is not None:
                        held = self.key_value(event, path) if role == _KEY else value
                        self.anchors[anchor] = _Anchor(held, location, 1, 0, [], event.value)
                if frame is None:
                    root = location
                elif frame.kind == _SEQ:
                    self.item(path, location)
            # the node is complete: ``value`` (``raw`` for a key), its ``height`` and, for a merge
            # value, the locations ``kept`` aside
            if frame is None:
                result = value
                continue
            if height >= frame.height:
                frame.height = height + 1
            if frame.kind == _SEQ:
                frame.value.append(value)
            elif frame.key is _NO_KEY:
                self.key(frame, raw, event, location)
            else:
                if frame.key is _MERGE:
                    assert frame.key_at is not None
                    frame.merges.append((value, kept, frame.key_at))
                elif frame.key is not _DISCARD:
                    frame.value[frame.key] = value
                frame.key = _NO_KEY
        following = get_event()
        if not isinstance(following, StreamEndEvent):
            raise yaml.composer.ComposerError("expected a single document in the stream",
                                              first_document.start_mark, "but found another document",
                                              following.start_mark)
        return result, root

    def key_value(self, event: Any, path: Path) -> Any:
        """An anchored key's value as an alias elsewhere would give it (its problems, if it has
        any, are not the key's)."""
        discarding, self.discarding = self.discarding, True
        try:
            return self.scalar(event, path)
        finally:
            self.discarding = discarding

    def item(self, path: Path, location: Location) -> None:
        """Records a list item's place (for an alias, where its anchor starts)."""
        if not self.muted:
            self.locations.setdefault(path, location)
        for start, entries in self.recorders:
            entries.append((path[start:], location))

    def alias(self, event: Any, path: Path, role: int, depth: int, room: int
              ) -> tuple[Any, int, int, str | None, _Entries, Location]:
        """An alias's value (a copy of its anchor's), and its anchor's height, size, text,
        locations relative to it, and place; ``room``: how many more nodes the file may have."""
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        if anchor is _UNFINISHED or depth + anchor.height > MAX_DEPTH:
            raise _TooDeep(self.mark(event.start_mark))
        if anchor.size > room:  # before anything is copied
            raise _TooLarge
        # a key counts by its text alone; a refused value is seen by nobody (unless an anchor)
        skip = role == _KEY or (role == _REFUSED and not self.recorders)
        value = None if skip else _copy(anchor.value)
        if role == _VALUE:  # the locations inside: placed when the document is complete
            self.record(path, anchor)
        return value, anchor.height, anchor.size, anchor.raw, anchor.relative, anchor.location

    def start(self, event: Any, path: Path, role: int, location: Location, count: int) -> _Frame:
        """A frame for a list or mapping that starts here."""
        frame = _Frame(_MAP if type(event) is MappingStartEvent else _SEQ,
                       {} if type(event) is MappingStartEvent else [], path, location)
        if role == _KEY:
            self.error(ScenarioError("a mapping key must be a plain name, not a list or mapping",
                                     path, location))
            frame.saved = self.enter(discard=True)
        elif role in (_MERGED, _REFUSED):
            frame.saved = self.enter(merge=role == _MERGED, discard=role == _REFUSED, path=path)
        tag = event.tag
        if tag is not None and tag != "!" and tag not in (_SEQ_TAG, _MAP_TAG):
            self.error(ScenarioError(f"could not determine a constructor for the tag '{tag}'; "
                                     "scenario files use plain YAML only", path, location))
            frame.refused = True
            if frame.saved is None:
                frame.saved = self.enter(discard=True)
        if event.anchor is not None:
            frame.anchor, frame.anchor_start = event.anchor, count
            if frame.saved is None:
                frame.saved = (self.recorders, self.muted, self.discarding)
            self.recorders = [*self.recorders, (len(path), [])]
            self.discarding = False  # an anchor inside a refused value may still be used
        return frame

    def key(self, frame: _Frame, raw: str | None, event: Any, location: Location) -> None:
        """Takes a mapping key: a name (once only), or ``<<``."""
        if raw is None:  # a list or mapping as a key: refused, with its value
            frame.key = _DISCARD
            return
        if type(event) is ScalarEvent and (
                event.tag == _MERGE_TAG or (event.tag is None and event.implicit[0] and raw == "<<")):
            frame.key, frame.key_at = _MERGE, location
            return
        # Keys stay strings: YAML 1.1 would turn `NO:` (Norway) or `on:` into booleans.
        key = str(raw)
        first = frame.keys.get(key)
        if first is not None:
            self.error(ScenarioError(f"duplicate key '{key}' (first at line {first.line}); each key "
                                     "may appear once", (*frame.path, key), location))
            frame.key = _DISCARD
            return
        frame.keys[key] = location
        self.record((*frame.path, key), location)
        frame.key = key

    def finish(self, frame: _Frame) -> Any:
        """The value of a list or mapping that ends: a mapping with its merge keys resolved as
        YAML 1.1 says (the mapping's own keys override merged ones; of several merged mappings
        the first listed wins)."""
        if frame.refused:
            return None
        if not frame.merges:
            return frame.value
        own: dict[str, Any] = frame.value
        sources: list[tuple[dict[str, Any], _Entries]] = []
        for value, kept, at in frame.merges:
            if isinstance(value, dict):
                sources.append((value, kept))
            elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
                sources.extend(zip(value, _split(kept, len(value)), strict=True))
            else:
                what = "a list with something other than a mapping in it" if isinstance(
                    value, list) else "a single value"
                self.error(ScenarioError(
                    f"the merge key '<<' takes a mapping or a list of mappings (an anchored "
                    f"mapping `&name` referred to as `*name`), not {what}", frame.path, at))
        merged: dict[str, Any] = {}
        for value, kept in sources:
            taken = set()
            for key, item in value.items():
                if key not in own and key not in merged:
                    merged[key] = item
                    taken.add(key)
            for rel, loc in _opened(kept):
                if rel[0] in taken:
                    self.record((*frame.path, *rel), loc)
        merged.update(own)
        return merged


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
    builder = _Builder(file, errors)
    parser = _EventParser(text)
    try:
        with collector_paused():  # the objects built hold no cycles
            data, root = builder.build(parser)
    except _TooLarge:
        return None, [_too_large(file)]
    except _TooDeep as exc:
        return None, [_too_deep(exc.location)]
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
    finally:
        parser.dispose()
    if root is None or (data is None and not errors):  # e.g. `---` alone, or `~`
        return None, [empty]
    builder.locations[()] = root
    builder.place_links()
    return Document(data, builder.locations, file), errors


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
