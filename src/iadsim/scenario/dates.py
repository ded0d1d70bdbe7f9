"""Dates as users write them, and the guard rail of a scenario's data period.

A date is a ``datetime.date``, an ISO string (``2010-01-01``) or a year (``2010`` or ``"2010"``,
meaning 31 December of it, the state at the end of the year). A date outside the period its data
describe (``data_period`` in the scenario; the reference data declare 1996–2021) is refused with the
period in the message, or accepted on request with a warning that the report repeats.
"""

from __future__ import annotations

import datetime as dt
import re

from iadsim.scenario.schema import Scenario

__all__ = ["DateLike", "OutsideDataPeriod", "as_date", "check_data_period"]

DateLike = dt.date | str | int
"""What the API accepts as a date: a ``datetime.date``, an ISO string or a year."""


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class OutsideDataPeriod(ValueError):
    """A date outside the period the scenario's data describe (and not allowed)."""


def as_date(value: DateLike) -> dt.date:
    """A date from a ``datetime.date`` (a ``datetime`` gives its day), an ISO string or a year.

    Args:
        value: ``datetime.date``, ``"YYYY-MM-DD"``, or a year as int or ``"YYYY"`` (= 31 December).

    Raises:
        ValueError: the value is not a date, with what to write instead.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):  # a bool is an int to Python, never a year to a user
        raise ValueError(f"{value!r} is not a date; write YYYY-MM-DD (e.g. 2020-12-31) or a year")
    if isinstance(value, int):
        if not 1 <= value <= 9999:
            raise ValueError(f"{value} is not a year")
        return dt.date(value, 12, 31)
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 4 and text.isdigit():
                return dt.date(int(text), 12, 31)
            # YYYY-MM-DD only: Python 3.11's fromisoformat also takes 20201231 and week dates
            # (2020-W01-1), which the help does not promise and a scenario file refuses
            if _ISO_DAY.fullmatch(text):
                return dt.date.fromisoformat(text)
        except ValueError:
            pass
        raise ValueError(f"'{value}' is not a date; write YYYY-MM-DD (e.g. 2020-12-31) or a year "
                         "(= 31 December)")
    raise ValueError(f"{value!r} ({type(value).__name__}) is not a date; give a datetime.date, "
                     "an ISO string YYYY-MM-DD or a year")


def check_data_period(scenario: Scenario, day: dt.date, *, allow_outside_data: bool = False) -> str | None:
    """Check ``day`` against the period the scenario's data describe.

    Args:
        scenario: a loaded scenario; without a ``data_period`` every date is accepted.
        day: the date asked for.
        allow_outside_data: accept a date outside the period and return the warning instead.

    Returns:
        None inside the period; the warning for a date outside it when allowed.

    Raises:
        OutsideDataPeriod: the date is outside the period and not allowed; the message gives the period.
    """
    period = scenario.data_period
    if period is None or period.contains(day):
        return None
    side = "before" if day < period.start else "after"
    text = (f"{day.isoformat()} is {side} the period the scenario's data describe, "
            f"{period.start.isoformat()} to {period.end.isoformat()} ({period.note})")
    if not allow_outside_data:
        raise OutsideDataPeriod(f"{text}; choose a date in it, or accept the data's state at that date "
                                "with --allow-outside-data (in Python: allow_outside_data=True)")
    return f"{text}; the results show the data's state at that date, not the real system's"
