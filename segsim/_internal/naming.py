"""Field types shared by the models, and the one "did you mean" helper.

* :data:`Name` — a non-blank string (flow, segment, step id, attribute, list, template);
* :data:`Duration` / :data:`PositiveDuration` — ``"90min"``, ``"36h"``, ``"2d"``, ``"2 days"``,
  ``"1w"`` or a ``timedelta``, written back in the shortest exact form (``"2d"``);
* :data:`UTCDateTime` — an ISO 8601 string or a datetime, as a tz-aware UTC ``datetime``;
* :func:`did_you_mean` — the suffix of every "unknown name" message.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictStr,
    WithJsonSchema,
)

from segsim._time import format_duration, parse_duration, parse_instant

__all__ = ["Duration", "Name", "PositiveDuration", "UTCDateTime", "did_you_mean"]


def did_you_mean(name: str, known: Iterable[str], *, shown: int = 10) -> str:
    """The end of an "unknown name" message: a close match, else what is known.

    >>> did_you_mean("VPI", ["VIP", "Lapsed"])
    "; did you mean 'VIP'?"
    >>> did_you_mean("x", [])
    '; there are none'
    """
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not names:
        return "; there are none"
    listed = ", ".join(map(repr, names[:shown])) + (", ..." if len(names) > shown else "")
    return f"; known: {listed}"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


#: A non-blank string.
Name = Annotated[StrictStr, Field(min_length=1), AfterValidator(_not_blank)]

_DURATION_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "description": "a number and a unit: us, ms, s, min, h, d, w (or seconds, minutes, hours, days, weeks)",
        "examples": ["90min", "36h", "2d", "1w"],
    }
)


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError(f"the duration must be positive, got {format_duration(value)}")
    return value


#: A duration of zero or more.
Duration = Annotated[
    dt.timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    _DURATION_SCHEMA,
]
#: A duration of more than zero.
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


def _utc_datetime(value: Any) -> dt.datetime:
    return parse_instant(value).floor("us").to_pydatetime()


#: A tz-aware UTC ``datetime`` from an ISO 8601 string or a datetime (naive means UTC).
UTCDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_utc_datetime),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-02-01", "2026-02-01T09:30Z"]}
    ),
]
