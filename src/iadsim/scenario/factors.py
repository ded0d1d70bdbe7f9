"""The factors of a sensitivity study: a scenario's ranges and variants, each as one assumption.

A factor is either a range (one field's ``ranges`` entry, or every field of one ``group``, which
then move together) or a variant (its options). A study places each factor at a quantile
``u`` in [0, 1]: a range member takes the value of its own distribution at that quantile (inverse
transform, so a uniform design samples the stated distribution); a variant with k options takes
option ``floor(u·k)``. ``None`` leaves a factor at the scenario's own value or chosen option.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from iadsim.scenario.errors import ScenarioError, format_path
from iadsim.scenario.locations import locate, scenario_locations, scenario_removed
from iadsim.scenario.overrides import OverrideError, apply_variant, change_scenario
from iadsim.scenario.references import check_references
from iadsim.scenario.schema import AssumedRange, RangeDistribution, Scenario

__all__ = ["Factor", "FactorError", "RangeMember", "apply_factors", "check_factors", "collect_factors",
           "quantile_value", "reachable_factors", "select_factors"]


class FactorError(Exception):
    """A factor name that the scenario does not define (the message lists those it does)."""


@dataclass(frozen=True)
class RangeMember:
    """One field of a range factor.

    Attributes:
        path: dotted path into the scenario (``catalog.radars.p18.antenna_height_m``).
        value: the scenario's value. low, high: the range in the field's unit.
        distribution: how the range is sampled. integer: the field holds whole numbers.
    """

    path: str
    value: float
    low: float
    high: float
    distribution: RangeDistribution
    integer: bool = False

    def at(self, u: float) -> float | int:
        """The value at quantile ``u`` of the member's distribution (u in [0, 1])."""
        u = min(1.0, max(0.0, float(u)))
        return self._rounded(quantile_value(self.distribution, self.low, self.high, self.value, u))

    def _rounded(self, x: float) -> float | int:
        return round(x) if self.integer else float(x)


def quantile_value(distribution: RangeDistribution, low: float, high: float, mode: float,
                   u: float) -> float:
    """The ``u`` quantile of a range's distribution (the inverse of its CDF).

    Args:
        distribution: uniform, triangular (its mode at ``mode``, the field's value) or loguniform.
        low, high: the range; mode: the value (used by the triangular distribution only).
        u: the quantile, 0 … 1.
    """
    if not high > low:  # an empty range (check_factors refuses one): its one value
        return float(low)
    if distribution is RangeDistribution.loguniform:
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    if distribution is RangeDistribution.triangular:
        width = high - low
        p = (mode - low) / width
        if u < p:
            return float(low + math.sqrt(u * width * (mode - low)))
        return float(high - math.sqrt((1.0 - u) * width * (high - mode)))
    return float(low + u * (high - low))


@dataclass(frozen=True)
class Factor:
    """One assumption a sensitivity study varies.

    Attributes:
        name: the range's group, the dotted path of a lone field, or the variant's name.
        kind: ``range`` or ``variant``.
        reason: the range's reason, or the variant's description.
        members: the fields of a range factor.
        options: a variant's options in the order defined; chosen: the scenario's choice.
    """

    name: str
    kind: Literal["range", "variant"]
    reason: str
    members: tuple[RangeMember, ...] = ()
    options: tuple[str, ...] = ()
    chosen: str = ""

    def overrides(self, u: float) -> dict[str, Any]:
        """The dotted paths and values of a range factor at quantile ``u``."""
        return {m.path: m.at(u) for m in self.members}

    def option(self, u: float) -> str:
        """The option of a variant at ``u``: option ``floor(u·k)`` of its k options."""
        k = len(self.options)
        return self.options[min(k - 1, max(0, math.floor(float(u) * k)))]

    def quantile_of_option(self, option: str) -> float:
        """A ``u`` that selects ``option`` (the middle of its interval)."""
        return (self.options.index(option) + 0.5) / len(self.options)

    def describe(self) -> str:
        """What the factor spans: '0.7–1.23 × value (3 fields)' or the options."""
        if self.kind == "variant":
            return " | ".join(f"{o}{' (chosen)' if o == self.chosen else ''}" for o in self.options)
        first = self.members[0]
        span = f"{first.low:.4g} – {first.high:.4g} ({first.distribution.value})"
        more = f" and {len(self.members) - 1} more field{'s' if len(self.members) > 2 else ''}" \
            if len(self.members) > 1 else ""
        return f"{first.path}: {span}{more}"

    def label(self, u: float | None) -> str:
        """A short label of the factor at ``u`` (None: the scenario's value)."""
        if u is None:
            return self.chosen if self.kind == "variant" else "as in the scenario"
        if self.kind == "variant":
            return self.option(u)
        first = self.members[0]
        if len(self.members) > 1:  # a group: its members' values differ, its quantile does not
            return {0.0: "low end", 1.0: "high end"}.get(float(u), f"quantile {u:.2f}")
        return f"{first.at(u):.4g}"


def _walk(obj: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], BaseModel]]:
    if isinstance(obj, BaseModel):
        yield path, obj
        for name, info in type(obj).model_fields.items():
            yield from _walk(getattr(obj, name), (*path, info.alias or name))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk(value, (*path, str(i)))


def collect_factors(scenario: Scenario) -> list[Factor]:
    """Every range (grouped by ``group``) and every variant of the scenario, in file order."""
    groups: dict[str, list[tuple[RangeMember, AssumedRange]]] = {}
    for path, record in _walk(scenario, ()):
        ranges = getattr(record, "ranges", None)
        if not isinstance(ranges, dict) or path[:1] == ("variants",):
            continue
        for field, rng in ranges.items():
            value = getattr(record, field, None)
            if not isinstance(value, int | float):
                continue
            low, high = rng.bounds(float(value))
            integer = isinstance(value, int) and not isinstance(value, bool)
            dotted = ".".join((*path, field))
            member = RangeMember(dotted, float(value), low, high, rng.distribution, integer)
            groups.setdefault(rng.group or dotted, []).append((member, rng))
    factors = [Factor(name, "range", items[0][1].reason, tuple(m for m, _ in items))
               for name, items in groups.items()]
    for name, variant in scenario.variants.items():
        factors.append(Factor(name, "variant", variant.name, (), tuple(variant.options),
                              scenario.chosen(name)))
    return factors


def select_factors(factors: Sequence[Factor], patterns: Sequence[str] | None) -> list[Factor]:
    """The factors whose names match any of ``patterns`` (shell-style, e.g. ``link_*``), in the
    scenario's order; all of them when ``patterns`` is None or empty.

    Raises:
        FactorError: a pattern that matches no factor (naming the nearest and the count there are).
    """
    if not patterns:
        return list(factors)
    names = [f.name for f in factors]
    chosen: set[str] = set()
    for pattern in patterns:
        hits = fnmatch.filter(names, pattern)
        if not hits:
            hint = difflib.get_close_matches(pattern, names, n=3, cutoff=0.4)
            raise FactorError(f"no range or variant of the scenario is named '{pattern}'"
                              + (f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else "")
                              + f" (`iadsim sensitivity SCENARIO --list` shows its {len(names)} factors)")
        chosen.update(hits)
    return [f for f in factors if f.name in chosen]


def apply_factors(scenario: Scenario, factors: Sequence[Factor],
                  quantiles: Mapping[str, float | None]) -> Scenario:
    """The scenario with each factor at its quantile (a factor absent or None keeps its value).

    Raises:
        OverrideError: a value the schema rejects.
    """
    by_name = {f.name: f for f in factors}
    overrides: dict[str, Any] = {}
    choices: dict[str, str] = {}
    for name, u in quantiles.items():
        if u is None:
            continue
        factor = by_name[name]
        if factor.kind == "variant":
            if factor.option(u) != factor.chosen:
                choices[name] = factor.option(u)
        else:
            overrides.update(factor.overrides(u))
    try:
        return change_scenario(scenario, choices, overrides)
    except OverrideError as exc:
        raise OverrideError([f"with {dict(quantiles)}: {p}" for p in exc.problems]) from None


def _path(dotted: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def _range_path(member: RangeMember) -> tuple[str | int, ...]:
    """Where a range member's ``ranges`` entry is written: beside its field."""
    *record, field = _path(member.path)
    return (*record, "ranges", field)


def check_factors(scenario: Scenario, factors: Sequence[Factor] | None = None) -> list[ScenarioError]:
    """Every range end and variant option the scenario refuses, and every factor name given twice,
    each located at its range, option or variant (``validate`` and a study check them first).

    A range passes when the scenario validates with its fields at both ends; a variant when it
    validates with each option. A variant the scenario itself sets to another option than its
    default is not checked: the data of the others are not at hand (``reachable_factors``).

    Args:
        scenario: a loaded scenario. factors: those to check (default: all the scenario's).
    """
    every = collect_factors(scenario)
    factors = every if factors is None else factors
    locations = scenario_locations(scenario)
    problems: list[ScenarioError] = []

    def add(message: str, path: tuple[str | int, ...]) -> None:
        problems.append(ScenarioError(message, path, locate(locations, path)))

    seen: dict[str, Factor] = {}
    for f in every:
        first = seen.setdefault(f.name, f)
        if first is not f:
            either_range = first if first.kind == "range" else f
            add(f"the name '{f.name}' is given to two factors, a {first.kind} and a {f.kind}; a study "
                "could not tell them apart: rename the range's group or the variant",
                _range_path(either_range.members[0]) if either_range.kind == "range"
                else ("variants", f.name))
    for f in factors:
        if f.kind == "range":
            empty = [m for m in f.members if not m.low < m.high or (
                m.distribution is RangeDistribution.loguniform and m.low <= 0)]
            for m in empty:
                add(f"the range of {m.path} is {m.low:g} – {m.high:g} around its value {m.value:g}, which "
                    + ("a loguniform distribution cannot take (it needs low > 0)" if m.low < m.high
                       else "leaves nothing to vary (bounds given as factors of a value of 0 are both "
                            "0): give low and high"), _range_path(m))
            if empty:
                continue
            for u, end in ((0.0, "low"), (1.0, "high")):
                try:
                    change_scenario(scenario, overrides=f.overrides(u))
                except OverrideError as exc:
                    values = ", ".join(f"{m.at(u):g}" for m in f.members)
                    add(f"the {end} end of the range ({values}) is refused: " + "; ".join(exc.problems),
                        _range_path(f.members[0]))
        elif f.chosen == scenario.variants[f.name].default:
            for option in f.options:
                if option == f.chosen:
                    continue
                where = ("variants", f.name, "options", option)
                try:
                    change_scenario(scenario, choices={f.name: option})
                except OverrideError as exc:
                    add(f"option '{option}' is refused: " + "; ".join(exc.problems), where)
                    continue
                # the schema passes a reference to a record no one defines: the loader's check
                data = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
                apply_variant(data, f.name, option, scenario_removed(scenario))
                for path, message, _ in check_references(data):
                    add(f"option '{option}' is refused: {format_path(path)}: {message}", where)
    return sorted(problems, key=ScenarioError.sort_key)


def reachable_factors(scenario: Scenario, factors: Sequence[Factor]) -> tuple[list[Factor], list[str]]:
    """The factors a study of ``scenario`` can vary, and a note on each it cannot: a variant the
    scenario sets to another option than its default, whose other options' data are not at hand
    (the loader merged the chosen option's changes over them)."""
    kept, notes = [], []
    for f in factors:
        if f.kind == "variant" and f.chosen != scenario.variants[f.name].default:
            notes.append(f"variant '{f.name}' is not varied: the scenario chooses '{f.chosen}', so the "
                         "data of its other options are not at hand; to study it, remove that choose: "
                         "from the scenario file")
        else:
            kept.append(f)
    return kept, notes
