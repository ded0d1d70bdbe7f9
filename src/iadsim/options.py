"""Parsers of command-line option values: each value finite and inside a stated range, each
problem one message naming the option (the CLI turns ``OptionError`` into exit code 2)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

__all__ = ["ALTITUDE_RANGE_M", "MAX_RESOLUTION_KM", "OptionError", "check_altitudes", "parse_altitudes",
           "parse_area", "parse_number"]

ALTITUDE_RANGE_M = (-500.0, 100_000.0)
"""A coverage altitude layer's range, m: from below the lowest land to the Kármán line."""

MAX_RESOLUTION_KM = 1000.0
"""The coarsest coverage grid cell, km (``--resolution-km`` of ``coverage`` and ``sensitivity``)."""


class OptionError(ValueError):
    """A command-line option's value that cannot be used; the message names the option."""


def parse_number(option: str, value: float | str, low: float, high: float, *,
                 low_open: bool = False, unit: str = "") -> float:
    """``value`` as a finite float within [low, high] (``(low, high]`` with ``low_open``).

    Args:
        option: the option's name, e.g. ``--k``.
        value: what was given.
        low, high: the range, in ``unit``.
        low_open: whether ``low`` itself is refused.
        unit: the unit for the message (e.g. ``km``).
    """
    try:
        number = float(str(value).strip().replace("_", ""))
    except ValueError:
        raise OptionError(f"{option} must be a number, got '{value}'") from None
    inside = (number > low if low_open else number >= low) and number <= high
    if not math.isfinite(number) or not inside:
        bracket = "(" if low_open else "["
        u = f" {unit}" if unit else ""
        raise OptionError(f"{option} must be a finite number in {bracket}{low:g}, {high:g}]{u}, "
                          f"got {value}")
    return number


def parse_area(text: str, option: str = "--area") -> tuple[float, float, float, float]:
    """``lon_min,lon_max,lat_min,lat_max`` in degrees: four finite numbers, longitudes in
    [-180, 180], latitudes in [-90, 90], each minimum below its maximum."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise OptionError(f"{option} needs four numbers lon_min,lon_max,lat_min,lat_max (degrees), "
                          f"got '{text}'")
    lon_min, lon_max = (parse_number(f"{option} {n}", p, -180, 180, unit="degrees")
                        for n, p in zip(("lon_min", "lon_max"), parts[:2], strict=True))
    lat_min, lat_max = (parse_number(f"{option} {n}", p, -90, 90, unit="degrees")
                        for n, p in zip(("lat_min", "lat_max"), parts[2:], strict=True))
    if not lon_min < lon_max:
        raise OptionError(f"{option}: lon_min ({lon_min:g}) must be below lon_max ({lon_max:g}); "
                          "the order is lon_min,lon_max,lat_min,lat_max")
    if not lat_min < lat_max:
        raise OptionError(f"{option}: lat_min ({lat_min:g}) must be below lat_max ({lat_max:g}); "
                          "the order is lon_min,lon_max,lat_min,lat_max")
    return lon_min, lon_max, lat_min, lat_max


def parse_altitudes(text: str, option: str = "--alt") -> tuple[float, ...]:
    """Altitudes in metres from ``30,100,1000`` (a trailing ``m`` is allowed): each finite, in
    [-500, 100,000] m and given once; at least one, at most 64 (``check_altitudes``)."""
    values = []
    for part in text.split(","):
        part = part.strip().lower().removesuffix("m").strip()
        if not part:
            continue
        try:
            values.append(float(part.replace("_", "")))
        except ValueError:
            raise OptionError(f"{option}: '{part}' is not an altitude in metres "
                              f"(e.g. {option} 100,1000)") from None
    if not values:
        raise OptionError(f"{option}: give at least one altitude in metres (e.g. {option} 100,1000)")
    return check_altitudes(values, option)


def check_altitudes(values: object, option: str = "altitudes_m") -> tuple[float, ...]:
    """Altitude layers in metres given as numbers (the Python API's ``altitudes_m``): a list or
    tuple of finite numbers in [-500, 100,000] m, each once; at least one, at most 64.

    Args:
        values: what was given. option: its name in messages.
    """
    # any sequence of numbers (a list, a tuple, a range, a numpy array); not a string, a mapping or
    # a single number (a 0-d array is one)
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable) \
            or getattr(values, "ndim", 1) == 0:
        raise OptionError(f"{option} takes a list of altitudes in metres (e.g. [100, 1000]), "
                          f"got {values!r}")
    out: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise OptionError(f"{option}: {value!r} is not an altitude in metres")
        number = parse_number(option, float(value), *ALTITUDE_RANGE_M, unit="m")
        if number in out:
            raise OptionError(f"{option}: {number:g} m is given twice")
        out.append(number)
    if not out:
        raise OptionError(f"{option}: give at least one altitude in metres (e.g. [100, 1000])")
    if len(out) > 64:
        raise OptionError(f"{option}: at most 64 altitudes, got {len(out)}")
    return tuple(out)
