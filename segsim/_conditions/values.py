"""The values a condition compares with, and the text form of names and values.

Values in the models: ``bool``, ``int``, ``float``, ``str`` or a tz-aware UTC ``datetime``
(naive means UTC). In JSON/YAML a timestamp travels as an ISO 8601 string *with* an offset,
read as a :class:`WrittenInstant` (see :mod:`segsim.conditions`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

import pandas as pd
from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

from segsim._time import to_timestamp

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = dt.timedelta(microseconds=1)


# A string of this form (a date, a time and an explicit offset) is how a timestamp value
# travels through JSON/YAML.
_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)


def utc_datetime(value: dt.datetime) -> dt.datetime:
    if isinstance(value, pd.Timestamp):  # drop sub-microsecond digits
        value = value.floor("us").to_pydatetime()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class WrittenInstant(dt.datetime):
    """A timestamp value that was written as an ISO 8601 string, and keeps that text.

    Compared with a timestamp attribute it is this instant; compared with a string attribute
    it is :attr:`text`, exactly as written (:func:`segsim.conditions.validate_condition` decides, by the
    attribute's type). JSON and YAML dumps write the text back, so files round-trip.
    """

    __slots__ = ("text",)
    text: str

    @classmethod
    def parse(cls, text: str) -> WrittenInstant:
        utc = utc_datetime(to_timestamp(text))
        instant = cls(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
        instant.text = text
        return instant

    def __reduce__(self) -> tuple[Any, ...]:  # pickling keeps the text (process shards)
        return (WrittenInstant.parse, (self.text,))

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return self.__reduce__()


def as_written(value: Any) -> Any:
    return value.text if isinstance(value, WrittenInstant) else value


def scalar(value: Any) -> Any:
    """Bring one condition value to bool/int/float/str/UTC datetime (before type checks).

    An ISO 8601 string with an offset becomes a :class:`WrittenInstant`, which remembers the
    text: whether ``"2026-01-01T00:00:00Z"`` is an instant or a string depends on the
    attribute it is compared with, which only :func:`segsim.conditions.validate_condition` knows.
    """
    if isinstance(value, WrittenInstant):
        return value
    if value is None:
        raise ValueError(
            "None is not a value a condition can compare with: use attr(name).is_not_set() "
            "for == None, attr(name).is_set() for != None"
        )
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()  # numpy scalars as Python ones
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("NaN is not a value a condition can compare with (use is_not_set)")
    if isinstance(value, float) and math.isinf(value):
        # the store refuses non-finite numbers, and JSON/YAML cannot carry them
        raise ValueError(
            f"{value!r} is not a finite number (a number beyond ±1.8e308 reads as inf)"
        )
    if isinstance(value, dt.datetime):
        return utc_datetime(value)
    if isinstance(value, dt.date):  # an unquoted YAML date
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and _ISO_INSTANT.match(value):
        try:
            return WrittenInstant.parse(value)
        except ValueError:
            return value
    return value


Value = Annotated[
    StrictBool | StrictInt | StrictFloat | Annotated[dt.datetime, Strict()] | StrictStr,
    Field(union_mode="left_to_right"),
    BeforeValidator(scalar),
    PlainSerializer(as_written, when_used="json"),
]


def instant_us(value: dt.datetime) -> int:
    """A UTC datetime as integer epoch microseconds (exact)."""
    return (value - _EPOCH) // _ONE_US


# -- text form -------------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"^[A-Za-z_][\w.:\-]*$")


def name_text(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else repr(name)


def value_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return repr(value)


def value_kind(value: Any) -> str:
    """The attribute type a value is: ``"boolean"``, ``"number"``, ``"timestamp"`` or
    ``"string"``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dt.datetime):
        return "timestamp"
    return "string"
