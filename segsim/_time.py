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
    "to_timestamp",
    "to_us",
]

US_PER_SECOND = 1_000_000

_UNITS_US = {
    "us": 1,
    "ms": 1_000,
    "s": US_PER_SECOND,
    "sec": US_PER_SECOND,
    "min": 60 * US_PER_SECOND,
    "m": 60 * US_PER_SECOND,
    "h": 3_600 * US_PER_SECOND,
    "d": 86_400 * US_PER_SECOND,
    "w": 7 * 86_400 * US_PER_SECOND,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")

Duration = dt.timedelta
Instant = pd.Timestamp


def parse_duration(value: Any) -> dt.timedelta:
    """Parse ``"90min"``, ``"36h"``, ``"2d"``, ``"1w"`` (also ``s``, ``ms``) or a timedelta.

    Raises ``ValueError`` with the accepted forms for anything else, including negative
    durations. Zero is allowed here; callers that need a positive duration check it.
    """
    if isinstance(value, pd.Timedelta):
        value = value.to_pytimedelta()
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            raise ValueError(f"duration must not be negative, got {value}")
        return value
    if isinstance(value, str):
        match = _DURATION_RE.match(value.lower())
        if match and match.group(2) in _UNITS_US:
            micros = round(float(match.group(1)) * _UNITS_US[match.group(2)])
            try:
                return dt.timedelta(microseconds=micros)
            except OverflowError:
                raise ValueError(
                    f"the duration {value!r} is too long: at most {dt.timedelta.max.days:,} days"
                ) from None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"a duration is a string like '90min', '36h', '2d', '1w' or a timedelta, "
            f"got {value!r} ({type(value).__name__})"
        )
    raise ValueError(
        f"cannot read {value!r} as a duration: use a number and a unit "
        f"(us, ms, s, min, h, d, w), e.g. '90min', '36h', '2d', '1w'"
    )


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


def to_us(value: Any) -> int:
    """Any timestamp-like input as integer microseconds since the epoch (UTC)."""
    ts = to_timestamp(value)
    return int(ts.as_unit("us").asm8.view("int64"))


def from_us(micros: int) -> pd.Timestamp:
    """Integer epoch microseconds back to a tz-aware UTC ``pd.Timestamp``."""
    return pd.Timestamp(micros, unit="us", tz="UTC")
