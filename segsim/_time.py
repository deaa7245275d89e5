"""Durations and timestamps: the one place that turns user input into UTC instants.

Internally every instant is an ``int`` of microseconds since the Unix epoch (UTC) and every
duration an ``int`` of microseconds; DuckDB stores naive ``TIMESTAMP`` values meaning UTC.
Naive input means UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

__all__ = [
    "US_PER_SECOND",
    "Duration",
    "Instant",
    "format_duration",
    "from_us",
    "parse_duration",
    "parse_instant",
    "to_timestamp",
    "to_us",
]

US_PER_SECOND = 1_000_000

_UNITS_US = {
    "us": 1,
    "ms": 1_000,
    "s": US_PER_SECOND,
    "min": 60 * US_PER_SECOND,
    "h": 3_600 * US_PER_SECOND,
    "d": 86_400 * US_PER_SECOND,
    "w": 7 * 86_400 * US_PER_SECOND,
}
#: Spellings accepted for each unit (``"2 days"``, ``"36 hours"``, ``"90 mins"`` ...).
_UNIT_SPELLINGS = {
    "us": ("us", "µs", "microsecond", "microseconds"),
    "ms": ("ms", "millisecond", "milliseconds"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "min": ("min", "mins", "m", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
}
_UNIT_OF = {spelling: unit for unit, spellings in _UNIT_SPELLINGS.items() for spelling in spellings}
_CALENDAR_UNITS = ("mo", "mon", "month", "months", "y", "yr", "year", "years")
_DURATION_RE = re.compile(r"^\s*([-+]?)(\d+)(?:\.(\d+))?\s*([a-zµ]+)\s*$")
_ACCEPTED = (
    "a number and a unit: us, ms, s, min, h, d, w (or their long forms: seconds, minutes, "
    "hours, days, weeks), e.g. '90min', '36h', '2d', '2 days', '1w'"
)

Duration = dt.timedelta
Instant = pd.Timestamp


def parse_duration(value: Any) -> dt.timedelta:
    """Parse ``"90min"``, ``"36h"``, ``"2d"``, ``"2 days"``, ``"1w"`` (also ``s``, ``ms``) or a timedelta.

    The number is read exactly (``"1.5h"`` is 90 minutes; a fraction of a microsecond is
    rounded to the nearest one), never through a float. Raises ``ValueError`` saying what is
    accepted for anything else, including negative durations and months or years (which have
    no fixed length). Zero is allowed here; callers that need a positive duration check it.

    >>> parse_duration("2 days"), parse_duration("90min")
    (datetime.timedelta(days=2), datetime.timedelta(seconds=5400))
    """
    if isinstance(value, pd.Timedelta):
        value = value.to_pytimedelta()
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            raise ValueError(f"a duration must not be negative, got {value}")
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"a duration is {_ACCEPTED}, or a timedelta; got {value!r} ({type(value).__name__})"
        )
    match = _DURATION_RE.match(value.lower())
    if match is None:
        raise ValueError(f"cannot read {value!r} as a duration: use {_ACCEPTED}")
    sign, whole, fraction, unit = match.groups()
    if unit in _CALENDAR_UNITS:
        raise ValueError(
            f"cannot read {value!r} as a duration: months and years have no fixed length; "
            "give days or weeks instead, e.g. '30d' or '52w'"
        )
    if unit not in _UNIT_OF:
        raise ValueError(
            f"cannot read {value!r} as a duration: unknown unit {unit!r}; use {_ACCEPTED}"
        )
    size = _UNITS_US[_UNIT_OF[unit]]
    micros = int(whole) * size
    if fraction:
        scale = 10 ** len(fraction)
        micros += (2 * int(fraction) * size + scale) // (2 * scale)  # round half up, exactly
    if sign == "-" and micros:
        raise ValueError(f"a duration must not be negative, got {value!r}")
    try:
        return dt.timedelta(microseconds=micros)
    except OverflowError:
        raise ValueError(
            f"the duration {value!r} is too long: at most {dt.timedelta.max.days:,} days"
        ) from None


def format_duration(value: dt.timedelta) -> str:
    """The shortest exact string form of a duration (``2d``, ``36h``, ``90min``)."""
    micros = duration_us(value)
    for unit in ("w", "d", "h", "min", "s", "ms"):
        size = _UNITS_US[unit]
        if micros % size == 0 and micros >= size:
            return f"{micros // size}{unit}"
    return f"{micros}us" if micros else "0s"


def duration_us(value: dt.timedelta) -> int:
    """A timedelta as integer microseconds (exact)."""
    return (value.days * 86_400 + value.seconds) * US_PER_SECOND + value.microseconds


def to_timestamp(value: Any) -> pd.Timestamp:
    """Any timestamp-like input as a tz-aware UTC ``pd.Timestamp`` (naive means UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read {value!r} as a timestamp: {exc}") from None
    if ts is pd.NaT:
        raise ValueError(f"a timestamp is required, got {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


_ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def parse_instant(value: Any) -> pd.Timestamp:
    """A user-given instant (a window bound, a schedule time) as a tz-aware UTC timestamp.

    Strings must be ISO 8601 (``"2026-02-01"``, ``"2026-02-01T09:30"``,
    ``"2026-02-01T09:30:00+01:00"``, ``Z`` for UTC), as for data timestamps: forms such as
    ``"02/03/2026"`` are refused because their day and month are ambiguous. Datetimes, dates
    and pandas/NumPy timestamps are accepted; naive means UTC.

    >>> parse_instant("2026-02-01T09:30+01:00")
    Timestamp('2026-02-01 08:30:00+0000', tz='UTC')
    """
    if isinstance(value, (bool, int, float)):
        raise ValueError(
            "a timestamp is an ISO 8601 string like '2026-02-01' or '2026-02-01T09:30Z', or a "
            f"datetime; got the number {value!r}"
        )
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_8601.match(text):
            raise ValueError(
                f"cannot read {value!r} as a timestamp: write it in ISO 8601, year first, e.g. "
                "'2026-02-03' or '2026-02-03T09:30Z' (forms like '02/03/2026' are ambiguous)"
            )
        try:
            return to_timestamp(pd.to_datetime(text, format="ISO8601"))
        except (ValueError, OverflowError):
            raise ValueError(
                f"cannot read {value!r} as a timestamp: it has the ISO 8601 shape but is not a "
                "valid date and time"
            ) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return to_timestamp(value)


def to_us(value: Any) -> int:
    """Any timestamp-like input as integer microseconds since the epoch (UTC)."""
    ts = to_timestamp(value)
    return int(ts.as_unit("us").asm8.view("int64"))


def from_us(micros: int) -> pd.Timestamp:
    """Integer epoch microseconds back to a tz-aware UTC ``pd.Timestamp``."""
    return pd.Timestamp(micros, unit="us", tz="UTC")
