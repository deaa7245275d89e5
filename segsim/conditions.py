"""Conditions: the one language of segments, filters, branches and exit conditions.

A condition is a tree of pydantic models (leaves such as ``attr("plan") == "pro"`` or
``in_list("newsletter")``, groups ``all_of`` / ``any_of`` / ``not_``). It has exactly one
meaning, given here twice, and the two faces are property-tested against each other:

* :func:`to_sql` compiles it to a DuckDB boolean expression, for bulk segment computation;
* :func:`compile_predicate` compiles it to a Python closure, for live decisions in the engine.

Semantics (docs/design.md §3). A leaf on a missing (unset) attribute is false, except ``is_not_set``.
``older_than(d)`` holds when ``value <= now - d``; ``within_last(d)`` when
``now - d < value <= now``. ``contains`` is a case-sensitive substring test on strings.
``isin(())`` is always false. Numbers compare as floats, strings by code point, booleans
only with ``==`` / ``!=``, timestamps as instants (integer epoch microseconds, UTC).
``in_segment(name)`` holds when the named segment's condition holds: it is inlined.

Values in the models: ``bool``, ``int``, ``float``, ``str`` or a tz-aware UTC ``datetime``
(naive means UTC). In JSON/YAML a timestamp travels as an ISO 8601 string *with* an offset
(``"2026-01-01T00:00:00Z"``); such a string is read as a :class:`WrittenInstant`, an instant
that keeps its text, and the attribute decides what it means: compared with a timestamp
attribute it is the instant, compared with a string attribute it is the text as written (so
``attr("code") == "2026-01-01T00:00:00Z"`` on a string attribute is a string comparison).
:func:`validate_condition` checks a condition against the attribute types and returns it
normalised (numbers as ``float``, timestamp strings parsed, written instants on string
attributes back to their text).

Python's ``and``, ``or``, ``not`` and chained comparisons (``1 <= attr("x") <= 5``) cannot
build conditions: a condition refuses ``bool()`` and names ``all_of``/``any_of``/``not_``
(or ``&``, ``|``, ``~``) and :meth:`Attribute.between` instead.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Annotated, Any, Literal, cast

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
    TypeAdapter,
    field_validator,
)

from segsim._internal.models import FrozenModel
from segsim._internal.naming import Name, PositiveDuration, did_you_mean
from segsim._internal.sql import quote_identifier, quote_literal
from segsim._internal.vocab import ATTRIBUTE_TYPES
from segsim._time import duration_us, format_duration, to_timestamp
from segsim.errors import ConditionError
from segsim.event_conditions import (
    EVENT_LEAVES,
    EventCatalog,
    EventCount,
    EventExists,
    EventLastAt,
    EventSum,
    _EventBase,
    event_leaf_sql,
    event_predicate,
    validate_event_leaf,
    window_us,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "Attribute",
    "Compare",
    "Condition",
    "Contains",
    "InList",
    "InSegment",
    "IsIn",
    "IsNotSet",
    "IsSet",
    "Not",
    "OlderThan",
    "Predicate",
    "WithinLast",
    "WrittenInstant",
    "all_of",
    "any_of",
    "attr",
    "attributes_used",
    "compile_predicate",
    "condition_adapter",
    "evaluate",
    "in_list",
    "in_segment",
    "lists_used",
    "not_",
    "parse_condition",
    "quote_identifier",
    "segments_used",
    "time_relative_leaves",
    "to_sql",
    "unknown_lists",
    "validate_condition",
]

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_US = dt.timedelta(microseconds=1)

#: ``pred(attributes, lists, now_us) -> bool``, see :func:`compile_predicate`.
Predicate = Callable[[Mapping[str, Any], Collection[str], int], bool]


# -- values ----------------------------------------------------------------------------------------


# A string of this form (a date, a time and an explicit offset) is how a timestamp value
# travels through JSON/YAML.
_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)


def _utc_datetime(value: dt.datetime) -> dt.datetime:
    if isinstance(value, pd.Timestamp):  # drop sub-microsecond digits
        value = value.floor("us").to_pydatetime()
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


class WrittenInstant(dt.datetime):
    """A timestamp value that was written as an ISO 8601 string, and keeps that text.

    Compared with a timestamp attribute it is this instant; compared with a string attribute
    it is :attr:`text`, exactly as written (:func:`validate_condition` decides, by the
    attribute's type). JSON and YAML dumps write the text back, so files round-trip.
    """

    __slots__ = ("text",)
    text: str

    @classmethod
    def parse(cls, text: str) -> WrittenInstant:
        utc = _utc_datetime(to_timestamp(text))
        instant = cls(*utc.timetuple()[:6], utc.microsecond, tzinfo=_UTC)
        instant.text = text
        return instant

    def __reduce__(self) -> tuple[Any, ...]:  # pickling keeps the text (process shards)
        return (WrittenInstant.parse, (self.text,))

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return self.__reduce__()


def _as_written(value: Any) -> Any:
    return value.text if isinstance(value, WrittenInstant) else value


def _scalar(value: Any) -> Any:
    """Bring one condition value to bool/int/float/str/UTC datetime (before type checks).

    An ISO 8601 string with an offset becomes a :class:`WrittenInstant`, which remembers the
    text: whether ``"2026-01-01T00:00:00Z"`` is an instant or a string depends on the
    attribute it is compared with, which only :func:`validate_condition` knows.
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
        return _utc_datetime(value)
    if isinstance(value, dt.date):  # an unquoted YAML date
        return dt.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    if isinstance(value, str) and _ISO_INSTANT.match(value):
        try:
            return WrittenInstant.parse(value)
        except ValueError:
            return value
    return value


Value = Annotated[
    StrictBool | StrictInt | StrictFloat | Annotated[dt.datetime, Strict()] | StrictStr,
    Field(union_mode="left_to_right"),
    BeforeValidator(_scalar),
    PlainSerializer(_as_written, when_used="json"),
]


def _us(value: dt.datetime) -> int:
    """A UTC datetime as integer epoch microseconds (exact)."""
    return (value - _EPOCH) // _ONE_US


# -- text form -------------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"^[A-Za-z_][\w.:\-]*$")


def _name_text(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else repr(name)


def _value_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return repr(value)


def _child_text(child: _ConditionBase) -> str:
    text = str(child)
    if isinstance(child, (AllOf, AnyOf)) and len(child.conditions) > 1:
        return f"({text})"
    return text


# -- models ----------------------------------------------------------------------------------------


class _ConditionBase(FrozenModel):
    """Operators and the readable text form shared by every condition."""

    def __and__(self, other: Any) -> AllOf:
        if not isinstance(other, _ConditionBase):
            return NotImplemented
        return AllOf(conditions=(*_parts(self, AllOf), *_parts(other, AllOf)))

    def __or__(self, other: Any) -> AnyOf:
        if not isinstance(other, _ConditionBase):
            return NotImplemented
        return AnyOf(conditions=(*_parts(self, AnyOf), *_parts(other, AnyOf)))

    def __invert__(self) -> Not:
        return Not(condition=self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"the condition {self._text()} has no truth value in Python: combine conditions "
            "with all_of/any_of/not_ (or &, |, ~), not and/or/not, and write a range as "
            "attr(name).between(low, high), not low <= attr(name) <= high"
        )

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return self._text()

    def _text(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


def _parts(condition: _ConditionBase, group: type) -> tuple[Any, ...]:
    return condition.conditions if isinstance(condition, group) else (condition,)  # type: ignore[attr-defined]


class Compare(_ConditionBase):
    """``attribute <op> value``; false when the attribute is unset."""

    kind: Literal["compare"] = "compare"
    attribute: Name
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    value: Value

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} {self.op} {_value_text(self.value)}"


class IsIn(_ConditionBase):
    """The attribute's value is one of ``values`` (never true for an empty tuple)."""

    kind: Literal["isin"] = "isin"
    attribute: Name
    values: tuple[Value, ...]

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} isin ({', '.join(map(_value_text, self.values))})"


class Contains(_ConditionBase):
    """The string attribute contains ``value`` (case-sensitive substring)."""

    kind: Literal["contains"] = "contains"
    attribute: Name
    value: StrictStr

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} contains {self.value!r}"


class IsSet(_ConditionBase):
    """The attribute has a value."""

    kind: Literal["is_set"] = "is_set"
    attribute: Name

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} is_set"


class IsNotSet(_ConditionBase):
    """The attribute has no value (the one leaf that is true on a missing attribute)."""

    kind: Literal["is_not_set"] = "is_not_set"
    attribute: Name

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} is_not_set"


class OlderThan(_ConditionBase):
    """The timestamp attribute is at least ``duration`` in the past: ``value <= now - d``."""

    kind: Literal["older_than"] = "older_than"
    attribute: Name
    duration: PositiveDuration

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} older_than {format_duration(self.duration)}"


class WithinLast(_ConditionBase):
    """The timestamp attribute is in the last ``duration``: ``now - d < value <= now``."""

    kind: Literal["within_last"] = "within_last"
    attribute: Name
    duration: PositiveDuration

    def _text(self) -> str:
        return f"{_name_text(self.attribute)} within_last {format_duration(self.duration)}"


class InList(_ConditionBase):
    """The contact is a member of the list (never, for a list nothing knows: a warning)."""

    kind: Literal["in_list"] = "in_list"
    list: Name

    def _text(self) -> str:
        return f"in_list({self.list!r})"


class InSegment(_ConditionBase):
    """The named segment's condition holds for the contact."""

    kind: Literal["in_segment"] = "in_segment"
    segment: Name

    def _text(self) -> str:
        return f"in_segment({self.segment!r})"


def _non_empty(kind: str, conditions: tuple[Any, ...]) -> tuple[Any, ...]:
    if not conditions:
        raise ValueError(
            f"{kind} needs at least one condition; an empty group has no agreed meaning"
        )
    return conditions


class AllOf(_ConditionBase):
    """Every condition holds (AND)."""

    kind: Literal["all_of"] = "all_of"
    conditions: tuple[Condition, ...]

    @field_validator("conditions")
    @classmethod
    def _check_not_empty(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return _non_empty("all_of", value)

    def _text(self) -> str:
        return " AND ".join(_child_text(c) for c in self.conditions)


class AnyOf(_ConditionBase):
    """At least one condition holds (OR)."""

    kind: Literal["any_of"] = "any_of"
    conditions: tuple[Condition, ...]

    @field_validator("conditions")
    @classmethod
    def _check_not_empty(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return _non_empty("any_of", value)

    def _text(self) -> str:
        return " OR ".join(_child_text(c) for c in self.conditions)


class Not(_ConditionBase):
    """The condition does not hold."""

    kind: Literal["not"] = "not"
    condition: Condition

    def _text(self) -> str:
        return f"NOT {_child_text(self.condition)}"


Condition = Annotated[
    Compare
    | IsIn
    | Contains
    | IsSet
    | IsNotSet
    | OlderThan
    | WithinLast
    | InList
    | InSegment
    | EventCount
    | EventExists
    | EventSum
    | EventLastAt
    | AllOf
    | AnyOf
    | Not,
    Field(discriminator="kind"),
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()

condition_adapter: TypeAdapter[Condition] = TypeAdapter(Condition)

_LEAF_ON_ATTRIBUTE = (Compare, IsIn, Contains, IsSet, IsNotSet, OlderThan, WithinLast)


def parse_condition(obj: Any) -> Condition:
    """A condition from a model, a dict (``model_dump()`` form) or a JSON string.

    >>> parse_condition({"kind": "in_list", "list": "newsletter"})
    in_list('newsletter')
    """
    if isinstance(obj, (_ConditionBase, _EventBase)):
        return obj  # type: ignore[return-value]
    if isinstance(obj, Attribute):
        raise TypeError(f"{obj!r} alone is not a condition: compare it, e.g. {obj!r} == 'x'")
    if isinstance(obj, (str, bytes)):
        return condition_adapter.validate_json(obj)
    if isinstance(obj, Mapping):
        return condition_adapter.validate_python(dict(obj))
    raise TypeError(f"expected a condition, a dict or a JSON string, got {type(obj).__name__}")


# -- builders --------------------------------------------------------------------------------------


class Attribute:
    """A reference to an attribute, to build conditions with: ``attr("ltv") >= 100``.

    Not a condition itself; its comparison operators return :class:`Compare` models.
    """

    __slots__ = ("name",)
    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so not hashable

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an attribute name is a non-empty string, got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"attr({self.name!r})"

    def __bool__(self) -> bool:
        raise TypeError(
            f"attr({self.name!r}) alone has no truth value: compare it "
            f"(attr({self.name!r}) == value) or test it (attr({self.name!r}).is_set())"
        )

    def _compare(self, op: str, value: Any) -> Compare:
        if value is None:
            test = "is_not_set" if op == "==" else "is_set" if op == "!=" else None
            hint = f"use attr({self.name!r}).{test}()" if test else "an unset value has no order"
            raise ValueError(f"attr({self.name!r}) {op} None is not a condition: {hint}")
        return Compare(attribute=self.name, op=op, value=value)

    def __eq__(self, value: Any) -> Compare:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: Any) -> Compare:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> Compare:
        return self._compare("<", value)

    def __le__(self, value: Any) -> Compare:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> Compare:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> Compare:
        return self._compare(">=", value)

    def between(self, low: Any, high: Any) -> AllOf:
        """``low <= value <= high``, both ends included: ``attr("age").between(18, 65)``."""
        return AllOf(conditions=(self._compare(">=", low), self._compare("<=", high)))

    def isin(self, values: Iterable[Any]) -> IsIn:
        """The value is one of ``values``."""
        if isinstance(values, (str, bytes)):
            raise TypeError(f"isin takes a collection of values, not the string {values!r}")
        return IsIn(attribute=self.name, values=tuple(values))

    def contains(self, substring: str) -> Contains:
        """The string value contains ``substring`` (case-sensitive)."""
        return Contains(attribute=self.name, value=substring)

    def is_set(self) -> IsSet:
        """The attribute has a value."""
        return IsSet(attribute=self.name)

    def is_not_set(self) -> IsNotSet:
        """The attribute has no value."""
        return IsNotSet(attribute=self.name)

    def older_than(self, duration: str | dt.timedelta) -> OlderThan:
        """The timestamp is at least ``duration`` ago (``"90d"``, ``"36h"``, a timedelta)."""
        return OlderThan(attribute=self.name, duration=duration)

    def within_last(self, duration: str | dt.timedelta) -> WithinLast:
        """The timestamp is in the last ``duration`` and not in the future."""
        return WithinLast(attribute=self.name, duration=duration)


def attr(name: str) -> Attribute:
    """Refer to an attribute: ``attr("plan") == "pro"``, ``attr("seen").older_than("90d")``."""
    return Attribute(name)


def in_list(name: str) -> InList:
    """The contact is a member of the list ``name``."""
    return InList(list=name)


def in_segment(name: str) -> InSegment:
    """The contact is in the segment ``name`` (its condition holds)."""
    return InSegment(segment=name)


def _group_items(conditions: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(conditions) == 1 and isinstance(conditions[0], (list, tuple)):
        return tuple(conditions[0])
    return conditions


def all_of(*conditions: Any) -> AllOf:
    """Every condition holds: ``all_of(a, b, c)`` or ``all_of([a, b, c])``."""
    return AllOf(conditions=_group_items(conditions))


def any_of(*conditions: Any) -> AnyOf:
    """At least one condition holds: ``any_of(a, b)`` or ``any_of([a, b])``."""
    return AnyOf(conditions=_group_items(conditions))


def not_(condition: Any) -> Not:
    """The condition does not hold."""
    return Not(condition=condition)


# -- walking the tree ------------------------------------------------------------------------------


def _walk(
    condition: Any, segments: Mapping[str, Any], follow: bool, seen: set[str] | None = None
) -> Iterable[Any]:
    """Every node of the tree, depth first; with ``follow``, through known in_segment refs."""
    seen = set() if seen is None else seen
    stack = [condition]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (AllOf, AnyOf)):
            stack.extend(reversed(node.conditions))
        elif isinstance(node, Not):
            stack.append(node.condition)
        elif follow and isinstance(node, InSegment) and node.segment not in seen:
            seen.add(node.segment)
            if node.segment in segments:
                stack.append(parse_condition(segments[node.segment]))


def attributes_used(condition: Condition, segments: Mapping[str, Condition] = {}) -> set[str]:
    """The attributes a condition reads, through the segments it refers to."""
    return {
        n.attribute for n in _walk(condition, segments, True) if isinstance(n, _LEAF_ON_ATTRIBUTE)
    }


def lists_used(condition: Condition, segments: Mapping[str, Condition] = {}) -> set[str]:
    """The lists a condition reads, through the segments it refers to."""
    return {n.list for n in _walk(condition, segments, True) if isinstance(n, InList)}


def unknown_lists(conditions: Iterable[tuple[str, Condition]], known: Collection[str]) -> list[str]:
    """A warning for each ``in_list`` of a list that neither the data nor a flow knows.

    ``conditions`` pairs each condition with where it is (``"segment 'VIP'"``); ``known`` are
    the lists of the list history and those flow steps add to or remove from. Such a list is
    empty (the condition is never true): most often a typo, so the warning says what is known.

    >>> unknown_lists([("segment 'N'", in_list("newsleter"))], ["newsletter"])
    ["in_list('newsleter') in segment 'N': no list history has it and no flow step changes it, so it is never true; did you mean 'newsletter'?"]
    """
    warnings = []
    for where, condition in conditions:
        for name in sorted(lists_used(condition) - set(known)):
            warnings.append(
                f"in_list({name!r}) in {where}: no list history has it and no flow step "
                f"changes it, so it is never true{did_you_mean(name, known)}"
            )
    return warnings


def segments_used(condition: Condition) -> set[str]:
    """The segments a condition refers to directly (not following them)."""
    return {n.segment for n in _walk(condition, {}, False) if isinstance(n, InSegment)}


def time_relative_leaves(
    condition: Condition,
    segments: Mapping[str, Condition] = {},
) -> list[tuple[str, int, str]]:
    """``(attribute, duration_us, kind)`` of every older_than/within_last leaf, deduplicated.

    These are the leaves whose truth changes as time passes, with no new data: at
    ``value + duration`` (both kinds) and at ``value`` (``within_last``). An event leaf
    with a window (``within=``, or ``last_at()`` tests) is ``(event, duration_us, "event")``:
    it can turn at ``ts + duration`` of every occurrence ``ts`` of the event.
    """
    leaves: dict[tuple[str, int, str], None] = {}
    for node in _walk(condition, segments, True):
        if isinstance(node, (OlderThan, WithinLast)):
            leaves[(node.attribute, duration_us(node.duration), node.kind)] = None
        elif isinstance(node, EVENT_LEAVES) and (window := window_us(node)) is not None:
            leaves[(node.event, window, "event")] = None
    return list(leaves)


# -- validation ------------------------------------------------------------------------------------


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dt.datetime):
        return "timestamp"
    return "string"


def validate_condition(
    condition: Any,
    attribute_types: Mapping[str, str],
    segment_names: Collection[str] = (),
    where: str = "",
    *,
    events: EventCatalog | None = None,
) -> Condition:
    """Check a condition against attribute types and segment names; return it normalised.

    Raises :class:`~segsim.errors.ConditionError` naming the culprit (and ``where``, e.g.
    ``"segment 'VIP'"``) for an unknown attribute or segment, a value whose type does not
    match the attribute's, ``contains`` on a non-string, ``older_than``/``within_last`` on a
    non-timestamp and ordering on booleans. Lists need no declaration (a list may be empty
    in the data); :func:`unknown_lists` finds the ones nothing knows.

    Normalised: number values are floats, string values for timestamp attributes are parsed
    to UTC datetimes. Strings ``"true"``/``"false"`` are *not* booleans.

    Event leaves are checked against ``events`` (their names and property types; see
    :class:`~segsim.event_conditions.EventCatalog`); ``None`` checks no event name and
    types properties from the values they are compared with.

    >>> validate_condition(attr("ltv") >= 100, {"ltv": "number"})
    ltv >= 100.0
    """
    condition = parse_condition(condition)
    context = f" in {where}" if where else ""

    def fail(message: str) -> ConditionError:
        return ConditionError(f"{message}{context}")

    def type_of(name: str) -> str:
        if name not in attribute_types:
            raise fail(f"unknown attribute {name!r}{did_you_mean(name, attribute_types)}")
        kind = attribute_types[name]
        if kind not in ATTRIBUTE_TYPES:
            raise fail(f"attribute {name!r} has type {kind!r}, not one of {ATTRIBUTE_TYPES}")
        return kind

    def value_for(node: Any, name: str, kind: str, value: Any) -> Any:
        if kind == "string" and isinstance(value, WrittenInstant):
            return value.text  # the attribute is a string: the value is the text as written
        if kind == "timestamp" and isinstance(value, WrittenInstant):
            return dt.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=_UTC)
        if kind == "timestamp" and isinstance(value, str):
            try:
                return _utc_datetime(to_timestamp(value))
            except ValueError:
                raise fail(
                    f"{node}: cannot read {value!r} as a timestamp for timestamp attribute {name!r}"
                ) from None
        got = _value_kind(value)
        if got != kind:
            raise fail(
                f"{node}: {kind} attribute {name!r} cannot be compared with the {got} value "
                f"{_value_text(value)}"
            )
        return float(value) if kind == "number" else value

    def check(node: Any) -> Any:
        if isinstance(node, (AllOf, AnyOf)):
            return node.model_copy(update={"conditions": tuple(check(c) for c in node.conditions)})
        if isinstance(node, Not):
            return node.model_copy(update={"condition": check(node.condition)})
        if isinstance(node, InSegment):
            if node.segment not in segment_names:
                raise fail(
                    f"unknown segment {node.segment!r}{did_you_mean(node.segment, segment_names)}"
                )
            return node
        if isinstance(node, InList):
            return node
        if isinstance(node, EVENT_LEAVES):
            return validate_event_leaf(node, events, fail)
        kind = type_of(node.attribute)
        if isinstance(node, Compare):
            if kind == "boolean" and node.op not in ("==", "!="):
                raise fail(
                    f"{node}: {node.op!r} is not defined on boolean attribute {node.attribute!r}; "
                    "use == or !="
                )
            return node.model_copy(
                update={"value": value_for(node, node.attribute, kind, node.value)}
            )
        if isinstance(node, IsIn):
            values = tuple(value_for(node, node.attribute, kind, v) for v in node.values)
            return node.model_copy(update={"values": values})
        if isinstance(node, Contains) and kind != "string":
            raise fail(f"{node}: contains needs a string attribute, {node.attribute!r} is {kind}")
        if isinstance(node, (OlderThan, WithinLast)) and kind != "timestamp":
            raise fail(
                f"{node}: {node.kind} needs a timestamp attribute, {node.attribute!r} is {kind}"
            )
        return node

    return check(condition)


# -- compilation (shared) --------------------------------------------------------------------------


class _Inliner:
    """Validates a condition and resolves in_segment references, detecting cycles."""

    def __init__(
        self,
        types: Mapping[str, str],
        segments: Mapping[str, Any],
        events: EventCatalog | None = None,
    ) -> None:
        self.types = types
        self.segments = segments
        self.events = events
        self.stack: list[str] = []

    def validate(self, condition: Any, where: str = "") -> Condition:
        return validate_condition(
            condition, self.types, self.segments.keys(), where, events=self.events
        )

    def enter(self, name: str) -> Condition:
        if name in self.stack:
            cycle = " -> ".join(map(repr, [*self.stack[self.stack.index(name) :], name]))
            raise ConditionError(f"segments refer to each other in a cycle: {cycle}")
        self.stack.append(name)
        return self.validate(self.segments[name], where=f"segment {name!r}")

    def leave(self) -> None:
        self.stack.pop()


# -- the SQL face ----------------------------------------------------------------------------------

_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return str(_us(value))
    if isinstance(value, (int, float)):
        # Through a string: repr is the shortest exact form, and DuckDB parses it exactly
        # (a bare 0.1 would be a DECIMAL first).
        return f"CAST('{float(value)!r}' AS DOUBLE)"
    return quote_literal(value)


def to_sql(
    condition: Any,
    *,
    column: Callable[[str], str] | None = None,
    list_column: Callable[[str], str] | None = None,
    now: str = "now_us",
    segments: Mapping[str, Condition] = {},
    types: Mapping[str, str],
    event_column: Callable[[Any], str] | None = None,
    events: EventCatalog | None = None,
) -> str:
    """Compile a condition to a DuckDB boolean SQL expression that is never NULL.

    The row it is evaluated on holds one column per attribute (``column(name)``, default
    the quoted attribute name) typed string → VARCHAR, number → DOUBLE, boolean → BOOLEAN,
    timestamp → BIGINT epoch microseconds UTC, NULL meaning unset; and one BOOLEAN column per
    list (``list_column(name)``, default the quoted ``"list:<name>"``), NULL or FALSE meaning
    not a member. ``now`` is a SQL expression of the current instant in epoch microseconds.
    Literals are inlined, safely quoted. The condition is validated against ``types`` first.
    An event leaf reads the column ``event_column(leaf)``: the value of what it measures at
    the row (count, sum or latest instant, see :mod:`segsim.event_conditions`).

    >>> to_sql(attr("plan") == "pro", types={"plan": "string"})
    'COALESCE("plan" = \\'pro\\', FALSE)'
    """
    column = column or quote_identifier
    list_column = list_column or (lambda name: quote_identifier(f"list:{name}"))
    now_sql = f"({now})"
    inliner = _Inliner(types, segments, events)

    def sql(node: Any) -> str:
        if isinstance(node, AllOf):
            return "(" + " AND ".join(map(sql, node.conditions)) + ")"
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(map(sql, node.conditions)) + ")"
        if isinstance(node, Not):
            return f"(NOT {sql(node.condition)})"
        if isinstance(node, InList):
            return f"COALESCE({list_column(node.list)}, FALSE)"
        if isinstance(node, InSegment):
            inlined = sql(inliner.enter(node.segment))
            inliner.leave()
            return inlined
        if isinstance(node, EVENT_LEAVES):
            if event_column is None:
                raise ConditionError(
                    f"{node}: an event condition compiles to SQL only in the transitions "
                    "query (segsim.segments), which computes what it measures"
                )
            return event_leaf_sql(node, event_column(node), now_sql)
        col = column(node.attribute)
        if isinstance(node, Compare):
            return f"COALESCE({col} {_SQL_OPS[node.op]} {_sql_literal(node.value)}, FALSE)"
        if isinstance(node, IsIn):
            if not node.values:
                return "FALSE"
            values = ", ".join(map(_sql_literal, node.values))
            return f"COALESCE({col} IN ({values}), FALSE)"
        if isinstance(node, Contains):
            return f"COALESCE(contains({col}, {_sql_literal(node.value)}), FALSE)"
        if isinstance(node, IsSet):
            return f"({col} IS NOT NULL)"
        if isinstance(node, IsNotSet):
            return f"({col} IS NULL)"
        d = duration_us(node.duration)
        if isinstance(node, OlderThan):
            return f"COALESCE({col} <= {now_sql} - {d}, FALSE)"
        if isinstance(node, WithinLast):
            return f"COALESCE({col} > {now_sql} - {d} AND {col} <= {now_sql}, FALSE)"
        raise TypeError(f"not a condition: {node!r}")  # pragma: no cover

    return sql(inliner.validate(condition))


# -- the Python face -------------------------------------------------------------------------------

_PY_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_predicate(
    condition: Any,
    *,
    types: Mapping[str, str],
    segments: Mapping[str, Condition] = {},
    events: EventCatalog | None = None,
) -> Predicate:
    """Compile a condition to a closure ``pred(attributes, lists, now_us) -> bool``.

    ``attributes`` maps attribute names to Python values (``str``, ``float``, ``bool``, and
    ``int`` epoch microseconds for timestamps); a missing key or None means unset. ``lists``
    holds the names of the lists the contact is in. Same meaning as :func:`to_sql`.

    The tree is turned into nested closures once, here, so the engine's hot loop does no
    dispatch over node types. Event leaves read the contact's
    :class:`~segsim.event_conditions.EventLog` at ``attributes[EVENTS]`` (none: no events).

    >>> pred = compile_predicate(attr("ltv") >= 100, types={"ltv": "number"})
    >>> pred({"ltv": 120.0}, set(), 0), pred({}, set(), 0)
    (True, False)
    """
    inliner = _Inliner(types, segments, events)
    compiled_segments: dict[str, Predicate] = {}

    def build(node: Any) -> Predicate:
        if isinstance(node, (AllOf, AnyOf)):
            parts = tuple(build(c) for c in node.conditions)
            if len(parts) == 1:
                return parts[0]
            if isinstance(node, AllOf):
                if len(parts) == 2:
                    first, second = parts
                    return lambda a, lists, now: first(a, lists, now) and second(a, lists, now)

                def every(a: Mapping[str, Any], lists: Collection[str], now: int) -> bool:
                    # a plain loop: all() over a generator costs more in the hot loop
                    for part in parts:  # noqa: SIM110
                        if not part(a, lists, now):
                            return False
                    return True

                return every
            if len(parts) == 2:
                first, second = parts
                return lambda a, lists, now: first(a, lists, now) or second(a, lists, now)

            def some(a: Mapping[str, Any], lists: Collection[str], now: int) -> bool:
                for part in parts:  # noqa: SIM110 - faster than any() over a generator
                    if part(a, lists, now):
                        return True
                return False

            return some
        if isinstance(node, Not):
            inner = build(node.condition)
            return lambda a, lists, now: not inner(a, lists, now)
        if isinstance(node, InList):
            list_name = node.list
            return lambda a, lists, now: list_name in lists
        if isinstance(node, InSegment):
            name = node.segment
            if name not in compiled_segments:  # not yet built: enter() detects cycles
                compiled_segments[name] = build(inliner.enter(name))
                inliner.leave()
            return compiled_segments[name]
        if isinstance(node, EVENT_LEAVES):
            return cast(Predicate, event_predicate(node, events))
        return _leaf(node, types[node.attribute])

    return build(inliner.validate(condition))


def _leaf(node: Any, kind: str) -> Predicate:
    """The closure of one attribute leaf (``node`` is validated, ``kind`` its type)."""
    name = node.attribute
    if isinstance(node, Compare):
        op, literal = _PY_OPS[node.op], cast(Any, node.value)
        if kind == "number":
            return lambda a, lists, now: (v := a.get(name)) is not None and op(float(v), literal)
        if kind == "timestamp":
            literal = _us(literal)
        return lambda a, lists, now: (v := a.get(name)) is not None and op(v, literal)
    if isinstance(node, IsIn):
        if kind == "timestamp":
            members: frozenset[Any] = frozenset(_us(cast(dt.datetime, v)) for v in node.values)
        else:
            members = frozenset(node.values)
        if not members:
            return lambda a, lists, now: False
        if kind == "number":
            return lambda a, lists, now: (v := a.get(name)) is not None and float(v) in members
        return lambda a, lists, now: (v := a.get(name)) is not None and v in members
    if isinstance(node, Contains):
        substring = node.value
        return lambda a, lists, now: (v := a.get(name)) is not None and substring in v
    if isinstance(node, IsSet):
        return lambda a, lists, now: a.get(name) is not None
    if isinstance(node, IsNotSet):
        return lambda a, lists, now: a.get(name) is None
    d = duration_us(node.duration)
    if isinstance(node, OlderThan):
        return lambda a, lists, now: (v := a.get(name)) is not None and v <= now - d
    if isinstance(node, WithinLast):
        return lambda a, lists, now: (v := a.get(name)) is not None and now - d < v <= now
    raise TypeError(f"not a condition: {node!r}")  # pragma: no cover


def evaluate(
    condition: Any,
    attributes: Mapping[str, Any],
    lists: Collection[str],
    now_us: int,
    *,
    types: Mapping[str, str],
    segments: Mapping[str, Condition] = {},
    events: EventCatalog | None = None,
) -> bool:
    """Evaluate a condition once (compiles it; use :func:`compile_predicate` in loops).

    >>> evaluate(in_list("news") & (attr("plan") == "pro"), {"plan": "pro"}, {"news"}, 0,
    ...          types={"plan": "string"})
    True
    """
    predicate = compile_predicate(condition, types=types, segments=segments, events=events)
    return predicate(attributes, lists, now_us)
