"""Validation: a condition checked against the attribute types, segments and events it
names, and returned normalised; and the inlining of ``in_segment`` that every face shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from typing import Any

from segsim._conditions.base import Face
from segsim._conditions.events import EVENT_LEAVES, EventCatalog, EventCount, EventSum
from segsim._conditions.models import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Contains,
    InList,
    InSegment,
    IsIn,
    IsNotSet,
    IsSet,
    Not,
    OlderThan,
    WithinLast,
    parse_condition,
)
from segsim._conditions.props import (
    from_attribute_condition,
    property_types,
    to_attribute_condition,
)
from segsim._conditions.values import UTC, WrittenInstant, utc_datetime, value_kind, value_text
from segsim._internal.naming import did_you_mean
from segsim._internal.vocab import ATTRIBUTE_TYPES
from segsim._time import to_timestamp
from segsim.errors import ConditionError


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
    in the data); :func:`~segsim.conditions.unknown_lists` finds the ones nothing knows.

    Normalised: number values are floats, string values for timestamp attributes are parsed
    to UTC datetimes. Strings ``"true"``/``"false"`` are *not* booleans.

    Event leaves are checked against ``events`` (their names and property types; see
    :class:`~segsim.event_conditions.EventCatalog`); ``None`` checks no event name and
    types properties from the values they are compared with.

    >>> from segsim.conditions import attr
    >>> validate_condition(attr("ltv") >= 100, {"ltv": "number"})
    ltv >= 100.0
    """
    context = f" in {where}" if where else ""
    checker = _Checker(attribute_types, segment_names, events, context)
    return checker.check(parse_condition(condition))


class _Checker:
    """What the rules of :data:`VALIDATE` read: the types, names and where the condition is."""

    def __init__(
        self,
        types: Mapping[str, str],
        segment_names: Collection[str],
        events: EventCatalog | None,
        context: str,
    ) -> None:
        self.types = types
        self.segment_names = segment_names
        self.events = events
        self.context = context

    def check(self, node: Any) -> Any:
        return VALIDATE(node, self)

    def fail(self, message: str) -> ConditionError:
        return ConditionError(f"{message}{self.context}")

    def type_of(self, name: str) -> str:
        if name not in self.types:
            raise self.fail(f"unknown attribute {name!r}{did_you_mean(name, self.types)}")
        kind = self.types[name]
        if kind not in ATTRIBUTE_TYPES:
            raise self.fail(f"attribute {name!r} has type {kind!r}, not one of {ATTRIBUTE_TYPES}")
        return kind

    def value_for(self, node: Any, name: str, kind: str, value: Any) -> Any:
        if kind == "string" and isinstance(value, WrittenInstant):
            return value.text  # the attribute is a string: the value is the text as written
        if kind == "timestamp" and isinstance(value, WrittenInstant):
            return dt.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=UTC)
        if kind == "timestamp" and isinstance(value, str):
            try:
                return utc_datetime(to_timestamp(value))
            except ValueError:
                raise self.fail(
                    f"{node}: cannot read {value!r} as a timestamp for timestamp attribute {name!r}"
                ) from None
        got = value_kind(value)
        if got != kind:
            raise self.fail(
                f"{node}: {kind} attribute {name!r} cannot be compared with the {got} value "
                f"{value_text(value)}"
            )
        return float(value) if kind == "number" else value


#: The validation face: ``VALIDATE(node, checker)`` is the node checked and normalised.
VALIDATE = Face("validate_condition")


@VALIDATE.of(AllOf, AnyOf)
def _group(node: Any, c: _Checker) -> Any:
    return node.model_copy(update={"conditions": tuple(c.check(n) for n in node.conditions)})


@VALIDATE.of(Not)
def _not(node: Not, c: _Checker) -> Any:
    return node.model_copy(update={"condition": c.check(node.condition)})


@VALIDATE.of(InSegment)
def _in_segment(node: InSegment, c: _Checker) -> Any:
    if node.segment not in c.segment_names:
        hint = did_you_mean(node.segment, c.segment_names)
        raise c.fail(f"unknown segment {node.segment!r}{hint}")
    return node


@VALIDATE.of(InList)
def _in_list(node: InList, c: _Checker) -> Any:
    return node


@VALIDATE.of(*EVENT_LEAVES)
def _event_leaf(node: Any, c: _Checker) -> Any:
    return validate_event_leaf(node, c.events, c.fail)


@VALIDATE.of(Compare)
def _compare(node: Compare, c: _Checker) -> Any:
    kind = c.type_of(node.attribute)
    if kind == "boolean" and node.op not in ("==", "!="):
        raise c.fail(
            f"{node}: {node.op!r} is not defined on boolean attribute {node.attribute!r}; "
            "use == or !="
        )
    return node.model_copy(update={"value": c.value_for(node, node.attribute, kind, node.value)})


@VALIDATE.of(IsIn)
def _isin(node: IsIn, c: _Checker) -> Any:
    kind = c.type_of(node.attribute)
    values = tuple(c.value_for(node, node.attribute, kind, v) for v in node.values)
    return node.model_copy(update={"values": values})


@VALIDATE.of(Contains)
def _contains(node: Contains, c: _Checker) -> Any:
    kind = c.type_of(node.attribute)
    if kind != "string":
        raise c.fail(f"{node}: contains needs a string attribute, {node.attribute!r} is {kind}")
    return node


@VALIDATE.of(OlderThan, WithinLast)
def _time_relative(node: Any, c: _Checker) -> Any:
    kind = c.type_of(node.attribute)
    if kind != "timestamp":
        raise c.fail(
            f"{node}: {node.kind} needs a timestamp attribute, {node.attribute!r} is {kind}"
        )
    return node


@VALIDATE.of(IsSet, IsNotSet)
def _is_set(node: Any, c: _Checker) -> Any:
    c.type_of(node.attribute)
    return node


def validate_event_leaf(
    node: Any, catalog: EventCatalog | None, fail: Callable[[str], Exception]
) -> Any:
    """Check an event leaf against the catalog; return it normalised (as validate_condition).

    ``fail(message)`` builds the error to raise (it adds where the condition is).
    """
    names = None if catalog is None else catalog.names
    if names is not None and node.event not in names:
        hint = did_you_mean(node.event, names) if names else "; the store has no events"
        raise fail(f"{node}: unknown event {node.event!r}{hint}")
    types = property_types(node, catalog)
    update: dict[str, Any] = {}
    if node.where is not None:
        try:
            checked = validate_condition(to_attribute_condition(node.where), types)
        except ConditionError as exc:
            message = str(exc).replace("attribute", "property")
            raise fail(f"{node}: in where= of event {node.event!r}: {message}") from None
        update["where"] = from_attribute_condition(checked)
    if isinstance(node, EventSum):
        if node.property not in types:
            raise fail(
                f"{node}: unknown property {node.property!r}{did_you_mean(node.property, types)}"
            )
        if types[node.property] != "number":
            raise fail(
                f"{node}: sum needs a number property, {node.property!r} is {types[node.property]}"
            )
    if isinstance(node, (EventCount, EventSum)):
        update["value"] = float(node.value)
    return node.model_copy(update=update) if update else node


class Inliner:
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
