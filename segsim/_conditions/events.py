"""Property conditions, the event leaves and their builders (docs/design.md §3.4).

The public names are in :mod:`segsim.event_conditions`, which says what they mean.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
)

from segsim._conditions.base import (
    AllOfText,
    AnyOfText,
    CompareText,
    Comparisons,
    ConditionBase,
    ContainsText,
    IsInText,
    IsNotSetText,
    IsSetText,
    Node,
    NotText,
)
from segsim._conditions.values import Value, name_text, value_text
from segsim._internal.naming import Name, PositiveDuration
from segsim._time import duration_us, format_duration


def _number(value: Any) -> Any:
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a count or a sum compares with a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"a count or a sum compares with a finite number, got {value!r}")
    return value


#: What a count or a sum is compared with: a finite int or float (ints stay ints).
Number = Annotated[
    StrictInt | StrictFloat, Field(union_mode="left_to_right"), BeforeValidator(_number)
]

Op = Literal["==", "!=", "<", "<=", ">", ">="]


# -- property conditions ---------------------------------------------------------------------------


class PropBase(Node):
    """Property conditions: they test one occurrence (``&``, ``|``, ``~`` combine them)."""

    _truth_hint: ClassVar[str] = (
        "{self} is a property condition, not a truth value: combine property conditions "
        "with &, | and ~ (not and/or/not)"
    )
    _subject: ClassVar[str] = "property"


class PropCompare(CompareText, PropBase):
    """``property <op> value`` on one occurrence; false when it does not have the property."""

    kind: Literal["prop_compare"] = "prop_compare"
    property: Name
    op: Op
    value: Value


class PropIsIn(IsInText, PropBase):
    """The occurrence's property is one of ``values`` (never true for an empty tuple)."""

    kind: Literal["prop_isin"] = "prop_isin"
    property: Name
    values: tuple[Value, ...]


class PropContains(ContainsText, PropBase):
    """The occurrence's string property contains ``value`` (case-sensitive substring)."""

    kind: Literal["prop_contains"] = "prop_contains"
    property: Name
    value: StrictStr


class PropIsSet(IsSetText, PropBase):
    """The occurrence has the property."""

    kind: Literal["prop_is_set"] = "prop_is_set"
    property: Name


class PropIsNotSet(IsNotSetText, PropBase):
    """The occurrence does not have the property."""

    kind: Literal["prop_is_not_set"] = "prop_is_not_set"
    property: Name


class PropAllOf(AllOfText, PropBase):
    """Every property condition holds (AND)."""

    kind: Literal["prop_all_of"] = "prop_all_of"
    conditions: tuple[PropCondition, ...]


class PropAnyOf(AnyOfText, PropBase):
    """At least one property condition holds (OR)."""

    kind: Literal["prop_any_of"] = "prop_any_of"
    conditions: tuple[PropCondition, ...]


class PropNot(NotText, PropBase):
    """The property condition does not hold."""

    kind: Literal["prop_not"] = "prop_not"
    condition: PropCondition


PropBase._family = PropBase
PropBase._group_needs = "at least one property condition"
PropBase._groups = (PropAllOf, PropAnyOf, PropNot)

PropCondition = Annotated[
    PropCompare
    | PropIsIn
    | PropContains
    | PropIsSet
    | PropIsNotSet
    | PropAllOf
    | PropAnyOf
    | PropNot,
    Field(discriminator="kind"),
]
for _model in (PropAllOf, PropAnyOf, PropNot):
    _model.model_rebuild()

_prop_adapter: TypeAdapter[PropCondition] = TypeAdapter(PropCondition)

#: The property leaves, in the order of their attribute twins (:data:`.models.ATTRIBUTE_LEAVES`).
PROP_LEAVES = (PropCompare, PropIsIn, PropContains, PropIsSet, PropIsNotSet)


def parse_prop_condition(obj: Any) -> PropCondition:
    """A property condition from a model, a dict (``model_dump()`` form) or a JSON string."""
    if isinstance(obj, PropBase):
        return obj  # type: ignore[return-value]
    if isinstance(obj, Prop):
        raise TypeError(f"{obj!r} alone is not a condition: compare it, e.g. {obj!r} == 'x'")
    if isinstance(obj, (str, bytes)):
        return _prop_adapter.validate_json(obj)
    if isinstance(obj, Mapping):
        return _prop_adapter.validate_python(dict(obj))
    raise TypeError(
        f"expected a property condition (prop('x') == ...), a dict or a JSON string, "
        f"got {type(obj).__name__}: {obj!r}"
    )


def _where(value: Any) -> Any:
    """``where=`` of an event: a property condition (a model, a dict or JSON) or None."""
    if value is None or isinstance(value, PropBase):
        return value
    if isinstance(value, Prop):
        raise ValueError(f"{value!r} alone is not a condition: compare it, e.g. {value!r} == 'x'")
    if hasattr(value, "kind") and not isinstance(value, Mapping):
        raise ValueError(
            f"where= of an event takes a property condition such as prop('amount') >= 50, "
            f"not {value}"
        )
    return value


Where = Annotated[PropCondition | None, BeforeValidator(_where)]


# -- event leaves ----------------------------------------------------------------------------------


class EventLeaf:
    """The text of the occurrences an event leaf reads (a mixin of the four event leaves,
    which are conditions: :class:`.base.ConditionBase` is their base)."""

    _truth_hint: ClassVar[str] = (
        "{self} is a condition, not a truth value: combine conditions with &, | and ~ "
        "(or all_of / any_of / not_), not with and/or/not"
    )

    def _selection(self, of: str | None = None) -> str:
        """``purchase where amount >= 50.0, within 30d`` (the occurrences read)."""
        text = name_text(self.event)  # type: ignore[attr-defined]
        if of is not None:
            text += f".{name_text(of)}"
        where = self.where  # type: ignore[attr-defined]
        if where is not None:
            text += f" where {where}"
        parts = [text]
        within = getattr(self, "within", None)
        if within is not None:
            parts.append(f"within {format_duration(within)}")
        return ", ".join(parts)


class EventCount(EventLeaf, ConditionBase):
    """``count <op> value``: the matching occurrences in ``(now - within, now]`` (0 if none)."""

    kind: Literal["event_count"] = "event_count"
    event: Name
    where: Where = None
    within: PositiveDuration | None = None
    op: Op
    value: Number

    def _text(self) -> str:
        return f"count({self._selection()}) {self.op} {value_text(self.value)}"


class EventExists(EventLeaf, ConditionBase):
    """At least one matching occurrence in ``(now - within, now]`` (``count >= 1``)."""

    kind: Literal["event_exists"] = "event_exists"
    event: Name
    where: Where = None
    within: PositiveDuration | None = None

    def _text(self) -> str:
        return f"exists({self._selection()})"


class EventSum(EventLeaf, ConditionBase):
    """``sum <op> value``: a number property summed over the matching occurrences in the window.

    Occurrences without the property add nothing; the sum of none is 0.
    """

    kind: Literal["event_sum"] = "event_sum"
    event: Name
    where: Where = None
    property: Name
    within: PositiveDuration | None = None
    op: Op
    value: Number

    def _text(self) -> str:
        return f"sum({self._selection(self.property)}) {self.op} {value_text(self.value)}"


class EventLastAt(EventLeaf, ConditionBase):
    """The latest matching occurrence at or before ``now`` is ``older_than`` / ``within_last``
    ``duration`` (false when there is none)."""

    kind: Literal["event_last_at"] = "event_last_at"
    event: Name
    where: Where = None
    test: Literal["older_than", "within_last"]
    duration: PositiveDuration

    def _text(self) -> str:
        return f"last_at({self._selection()}) {self.test} {format_duration(self.duration)}"


#: The event leaves, in the order they are listed everywhere.
EVENT_LEAVES = (EventCount, EventExists, EventSum, EventLastAt)


# -- builders --------------------------------------------------------------------------------------


class Prop(Comparisons):
    """A reference to an event property, to build property conditions: ``prop("amount") >= 50``.

    Not a condition itself; its comparisons return :class:`PropCompare` models.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a property name is a non-empty string, got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"prop({self.name!r})"

    def _compare(self, op: str, value: Any) -> PropCompare:
        if value is None:
            raise TypeError(
                f"{self!r} {op} None: use {self!r}.is_not_set() (or .is_set()) to test for a "
                "missing property"
            )
        return PropCompare(property=self.name, op=op, value=value)

    def isin(self, values: Iterable[Any]) -> PropIsIn:
        """The value is one of ``values``."""
        if isinstance(values, (str, bytes)):
            raise TypeError(f"isin takes a collection of values, not the string {values!r}")
        return PropIsIn(property=self.name, values=tuple(values))

    is_in = isin

    def contains(self, substring: str) -> PropContains:
        """The string value contains ``substring`` (case-sensitive)."""
        return PropContains(property=self.name, value=substring)

    def is_set(self) -> PropIsSet:
        """The occurrence has the property."""
        return PropIsSet(property=self.name)

    def is_not_set(self) -> PropIsNotSet:
        """The occurrence does not have the property."""
        return PropIsNotSet(property=self.name)


def prop(name: str) -> Prop:
    """Refer to an event property: ``event("purchase", where=prop("amount") >= 50)``."""
    return Prop(name)


class _Measure(Comparisons):
    """``event(...).count(...)`` or ``.sum(...)``: compare it to get a condition."""

    __slots__ = ("_fields", "_model")

    def __init__(self, model: type[EventCount] | type[EventSum], fields: dict[str, Any]) -> None:
        self._model = model
        self._fields = fields

    def __repr__(self) -> str:
        return f"{self._model(op='>=', value=0, **self._fields)}".rsplit(" >= ", 1)[0]

    def _compare(self, op: str, value: Any) -> Any:
        return self._model(op=op, value=value, **self._fields)

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} is a number to compare (e.g. {self!r} >= 2), not a condition")


class _LastAt:
    """``event(...).last_at()``: the instant of the latest occurrence; test it with
    :meth:`older_than` or :meth:`within_last`."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __repr__(self) -> str:
        return f"last_at({Event(**self._fields)._selection_text()})"

    def older_than(self, duration: str | dt.timedelta) -> EventLastAt:
        """The latest occurrence is at least ``duration`` ago (false if there is none)."""
        return EventLastAt(test="older_than", duration=duration, **self._fields)

    def within_last(self, duration: str | dt.timedelta) -> EventLastAt:
        """The latest occurrence is in the last ``duration`` (false if there is none)."""
        return EventLastAt(test="within_last", duration=duration, **self._fields)


class Event:
    """The occurrences of one event (those matching ``where``), to build event conditions.

    >>> event("purchase").count(within="30d") >= 2
    count(purchase, within 30d) >= 2
    >>> event("purchase", where=prop("category") == "jazz").exists()
    exists(purchase where category == 'jazz')
    """

    __slots__ = ("event", "where")

    def __init__(self, event: str, where: Any = None) -> None:
        if not isinstance(event, str) or not event.strip():
            raise ValueError(f"an event name is a non-empty string, got {event!r}")
        self.event = event
        self.where = None if where is None else parse_prop_condition(_where(where))

    def _fields(self) -> dict[str, Any]:
        return {"event": self.event, "where": self.where}

    def _selection_text(self) -> str:
        return EventExists(**self._fields())._selection()

    def __repr__(self) -> str:
        where = "" if self.where is None else f", where={self.where}"
        return f"event({self.event!r}{where})"

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self!r} is not a condition: use .exists(), .count() >= n, .sum(...) or .last_at()"
        )

    def count(self, within: str | dt.timedelta | None = None) -> _Measure:
        """The number of matching occurrences in ``(now - within, now]`` (all history if None)."""
        return _Measure(EventCount, {**self._fields(), "within": within})

    def exists(self, within: str | dt.timedelta | None = None) -> EventExists:
        """At least one matching occurrence in ``(now - within, now]`` (ever, if None)."""
        return EventExists(**self._fields(), within=within)

    def sum(self, prop: str | Prop, within: str | dt.timedelta | None = None) -> _Measure:
        """The sum of number property ``prop`` over the matching occurrences in the window."""
        name = prop.name if isinstance(prop, Prop) else prop
        return _Measure(EventSum, {**self._fields(), "property": name, "within": within})

    def last_at(self) -> _LastAt:
        """The instant of the latest matching occurrence (test it with older_than / within_last)."""
        return _LastAt(self._fields())


def event(name: str, where: Any = None) -> Event:
    """Refer to the occurrences of event ``name`` (those matching property condition ``where``)."""
    return Event(name, where)


# -- what event leaves are checked against, and what they measure ---------------------------------


@dataclass(frozen=True)
class EventCatalog:
    """What event conditions are checked against: the known event names and property types.

    ``names=None`` leaves event names unchecked (an unknown event is one never seen);
    ``properties=None`` types each property from the values it is compared with.
    :meth:`of` reads both from a store.
    """

    names: frozenset[str] | None = None
    properties: Mapping[str, str] | None = None

    @classmethod
    def of(cls, store: Any) -> EventCatalog:
        """The catalog of a store: its event names and property types."""
        return cls(frozenset(store.event_names), dict(store.event_property_types))


def window_us(node: Any) -> int | None:
    """The duration after an occurrence at which the leaf can turn by time (None: never)."""
    if isinstance(node, EventLastAt):
        return duration_us(node.duration)
    return None if node.within is None else duration_us(node.within)


def measure_key(node: Any) -> tuple[Any, ...]:
    """What a leaf measures, without the comparison: leaves with one key share one column.

    ``("count" | "sum" | "last", event, where-as-JSON, property, window µs)``.
    """
    where = None if node.where is None else node.where.model_dump_json()
    if isinstance(node, EventLastAt):
        return ("last", node.event, where, None, None)
    if isinstance(node, EventSum):
        return ("sum", node.event, where, node.property, window_us(node))
    return ("count", node.event, where, None, window_us(node))
