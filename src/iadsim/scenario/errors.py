"""User-facing scenario errors: where (file, line, field path), what was given, what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Location", "ScenarioError", "ScenarioErrors", "format_path"]

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(slots=True, unsafe_hash=True)
class Location:
    """A place in a YAML file; line and column count from 1. Treat as immutable (not frozen only
    because a frozen dataclass is five times slower to make, and the reader makes one per field)."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def format_path(path: Sequence[PathPart]) -> str:
    """Render a field path the way a user writes it: ``units.blr_1_aamr.equipment[0].count``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class ScenarioError:
    """One problem in a scenario, with its place and, where known, what was given and allowed."""

    message: str
    path: Path = ()
    location: Location | None = None
    given: object = None
    has_given: bool = False
    allowed: str | None = None

    def render(self) -> str:
        """One readable line (plus a hint line) for the terminal."""
        where = str(self.location) if self.location else "<scenario>"
        text = f"{where}: {format_path(self.path)}: {self.message}"
        extra = []
        if self.has_given:
            extra.append(f"given: {_short(self.given)}")
        if self.allowed:
            extra.append(f"allowed: {self.allowed}")
        if extra:
            text += "\n    " + "; ".join(extra)
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file if loc else "", loc.line if loc else 0, loc.column if loc else 0, self.message)


class ScenarioErrors(Exception):
    """Raised when a scenario cannot be loaded; holds every problem found, in file order."""

    def __init__(self, errors: Iterable[ScenarioError]):
        self.errors: list[ScenarioError] = sorted(errors, key=ScenarioError.sort_key)
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[ScenarioErrors], tuple[list[ScenarioError]]]:
        # rebuilt from its errors, so that it crosses from a worker process to the parent
        return type(self), (self.errors,)

    def render(self) -> str:
        n = len(self.errors)
        head = f"{n} error{'s' if n != 1 else ''} in the scenario:"
        return "\n".join([head, *(e.render() for e in self.errors)])
