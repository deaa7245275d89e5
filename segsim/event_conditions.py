"""Event conditions: conditions on a contact's behavioural events (docs/design.md §3.4).

``event(name, where=None)`` refers to the occurrences of one event, optionally only those
whose properties satisfy a *property condition* built with ``prop(name)``::

    event("purchase").count(within="30d") >= 2             # occurrences in (now - 30d, now]
    event("purchase", where=prop("category") == "jazz").exists(within="14d")
    event("purchase").sum("amount", within="90d") >= 100
    event("email_clicked").last_at().older_than("30d")     # the latest occurrence

The four leaves (:class:`EventCount`, :class:`EventExists`, :class:`EventSum`,
:class:`EventLastAt`) are conditions like every other: they combine with ``attr``,
``in_list`` and ``in_segment`` under ``all_of`` / ``any_of`` / ``not_`` (and ``&``, ``|``,
``~``), and round-trip through :func:`segsim.conditions.parse_condition`, JSON and YAML.

Meaning. A window ``within=d`` at instant ``now`` covers ``(now - d, now]``; without
``within`` it is the whole history up to ``now`` included. A count (or a sum) therefore
rises at an occurrence's instant ``ts`` and falls at exactly ``ts + d``. ``count`` and
``sum`` of no occurrence are ``0`` (so ``count() == 0`` holds for an event never seen);
``sum`` adds the property's values of the matching occurrences in the window, skipping
occurrences without the property. ``last_at()`` is the instant of the latest matching
occurrence at or before ``now``; ``older_than(d)`` holds when ``last <= now - d`` and
``within_last(d)`` when ``now - d < last <= now``; both are false when there is none.

Property conditions (``prop("amount") >= 50``) test one occurrence: a leaf on a property
the occurrence does not have is false, except ``is_not_set``; they combine with ``&``,
``|`` and ``~`` into :class:`PropAllOf` / :class:`PropAnyOf` / :class:`PropNot`.

This module holds the models and builders, and (below) the helpers both faces of
:mod:`segsim.conditions` use; it imports :mod:`segsim.conditions` only lazily, since that
module includes these leaves in its ``Condition`` union.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
from segsim._internal.naming import Name, PositiveDuration
from segsim._time import format_duration

if TYPE_CHECKING:
    from segsim.conditions import AllOf, AnyOf, Not

__all__ = [
    "EVENT_LEAVES",
    "Event",
    "EventCount",
    "EventExists",
    "EventLastAt",
    "EventSum",
    "Prop",
    "PropAllOf",
    "PropAnyOf",
    "PropCompare",
    "PropCondition",
    "PropContains",
    "PropIsIn",
    "PropIsNotSet",
    "PropIsSet",
    "PropNot",
    "event",
    "parse_prop_condition",
    "prop",
]


def _conditions() -> Any:
    import segsim.conditions

    return segsim.conditions


def _scalar(value: Any) -> Any:
    return _conditions()._scalar(value)


def _as_written(value: Any) -> Any:
    return _conditions()._as_written(value)


#: A property value: the same values, read the same way, as an attribute condition's (an
#: ISO 8601 string is a ``WrittenInstant``: an instant or its text, by the property's type).
Value = Annotated[
    StrictBool | StrictInt | StrictFloat | Annotated[dt.datetime, Strict()] | StrictStr,
    Field(union_mode="left_to_right"),
    BeforeValidator(_scalar),
    PlainSerializer(_as_written, when_used="json"),
]


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


def _name_text(name: str) -> str:
    return _conditions()._name_text(name)


def _value_text(value: Any) -> str:
    return _conditions()._value_text(value)


# -- property conditions ---------------------------------------------------------------------------


class _PropBase(FrozenModel):
    """Operators and the text form of property conditions (they test one occurrence)."""

    def __and__(self, other: Any) -> PropAllOf:
        if not isinstance(other, _PropBase):
            return NotImplemented
        return PropAllOf(conditions=(*_prop_parts(self, PropAllOf), *_prop_parts(other, PropAllOf)))

    def __or__(self, other: Any) -> PropAnyOf:
        if not isinstance(other, _PropBase):
            return NotImplemented
        return PropAnyOf(conditions=(*_prop_parts(self, PropAnyOf), *_prop_parts(other, PropAnyOf)))

    def __invert__(self) -> PropNot:
        return PropNot(condition=self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self} is a property condition, not a truth value: combine property conditions "
            "with &, | and ~ (not and/or/not)"
        )

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return self._text()

    def _text(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


def _prop_parts(condition: _PropBase, group: type) -> tuple[Any, ...]:
    return condition.conditions if isinstance(condition, group) else (condition,)  # type: ignore[attr-defined]


def _prop_child_text(child: _PropBase) -> str:
    text = str(child)
    if isinstance(child, (PropAllOf, PropAnyOf)) and len(child.conditions) > 1:
        return f"({text})"
    return text


class PropCompare(_PropBase):
    """``property <op> value`` on one occurrence; false when it does not have the property."""

    kind: Literal["prop_compare"] = "prop_compare"
    property: Name
    op: Op
    value: Value

    def _text(self) -> str:
        return f"{_name_text(self.property)} {self.op} {_value_text(self.value)}"


class PropIsIn(_PropBase):
    """The occurrence's property is one of ``values`` (never true for an empty tuple)."""

    kind: Literal["prop_isin"] = "prop_isin"
    property: Name
    values: tuple[Value, ...]

    def _text(self) -> str:
        return f"{_name_text(self.property)} isin ({', '.join(map(_value_text, self.values))})"


class PropContains(_PropBase):
    """The occurrence's string property contains ``value`` (case-sensitive substring)."""

    kind: Literal["prop_contains"] = "prop_contains"
    property: Name
    value: StrictStr

    def _text(self) -> str:
        return f"{_name_text(self.property)} contains {self.value!r}"


class PropIsSet(_PropBase):
    """The occurrence has the property."""

    kind: Literal["prop_is_set"] = "prop_is_set"
    property: Name

    def _text(self) -> str:
        return f"{_name_text(self.property)} is_set"


class PropIsNotSet(_PropBase):
    """The occurrence does not have the property."""

    kind: Literal["prop_is_not_set"] = "prop_is_not_set"
    property: Name

    def _text(self) -> str:
        return f"{_name_text(self.property)} is_not_set"


def _non_empty(kind: str, conditions: tuple[Any, ...]) -> tuple[Any, ...]:
    if not conditions:
        raise ValueError(f"{kind} needs at least one property condition")
    return conditions


class PropAllOf(_PropBase):
    """Every property condition holds (AND)."""

    kind: Literal["prop_all_of"] = "prop_all_of"
    conditions: tuple[PropCondition, ...]

    @field_validator("conditions")
    @classmethod
    def _check_not_empty(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return _non_empty("prop_all_of", value)

    def _text(self) -> str:
        return " AND ".join(_prop_child_text(c) for c in self.conditions)


class PropAnyOf(_PropBase):
    """At least one property condition holds (OR)."""

    kind: Literal["prop_any_of"] = "prop_any_of"
    conditions: tuple[PropCondition, ...]

    @field_validator("conditions")
    @classmethod
    def _check_not_empty(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return _non_empty("prop_any_of", value)

    def _text(self) -> str:
        return " OR ".join(_prop_child_text(c) for c in self.conditions)


class PropNot(_PropBase):
    """The property condition does not hold."""

    kind: Literal["prop_not"] = "prop_not"
    condition: PropCondition

    def _text(self) -> str:
        return f"NOT {_prop_child_text(self.condition)}"


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

_PROP_LEAVES = (PropCompare, PropIsIn, PropContains, PropIsSet, PropIsNotSet)


def parse_prop_condition(obj: Any) -> PropCondition:
    """A property condition from a model, a dict (``model_dump()`` form) or a JSON string."""
    if isinstance(obj, _PropBase):
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
    if value is None or isinstance(value, _PropBase):
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


class _EventBase(FrozenModel):
    """Operators and the text form of event leaves, as :class:`segsim.conditions` leaves have."""

    def __and__(self, other: Any) -> AllOf:
        c = _conditions()
        if not isinstance(other, (c._ConditionBase, _EventBase)):
            return NotImplemented
        return c.AllOf(conditions=(*c._parts(self, c.AllOf), *c._parts(other, c.AllOf)))

    def __rand__(self, other: Any) -> AllOf:
        c = _conditions()
        if not isinstance(other, c._ConditionBase):
            return NotImplemented
        return c.AllOf(conditions=(*c._parts(other, c.AllOf), *c._parts(self, c.AllOf)))

    def __or__(self, other: Any) -> AnyOf:
        c = _conditions()
        if not isinstance(other, (c._ConditionBase, _EventBase)):
            return NotImplemented
        return c.AnyOf(conditions=(*c._parts(self, c.AnyOf), *c._parts(other, c.AnyOf)))

    def __ror__(self, other: Any) -> AnyOf:
        c = _conditions()
        if not isinstance(other, c._ConditionBase):
            return NotImplemented
        return c.AnyOf(conditions=(*c._parts(other, c.AnyOf), *c._parts(self, c.AnyOf)))

    def __invert__(self) -> Not:
        return _conditions().Not(condition=self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self} is a condition, not a truth value: combine conditions with &, | and ~ "
            "(or all_of / any_of / not_), not with and/or/not"
        )

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return self._text()

    def _text(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _selection(self, of: str | None = None) -> str:
        """``purchase where amount >= 50.0, within 30d`` (the occurrences read)."""
        text = _name_text(self.event)  # type: ignore[attr-defined]
        if of is not None:
            text += f".{_name_text(of)}"
        where = self.where  # type: ignore[attr-defined]
        if where is not None:
            text += f" where {where}"
        parts = [text]
        within = getattr(self, "within", None)
        if within is not None:
            parts.append(f"within {format_duration(within)}")
        return ", ".join(parts)


class EventCount(_EventBase):
    """``count <op> value``: the matching occurrences in ``(now - within, now]`` (0 if none)."""

    kind: Literal["event_count"] = "event_count"
    event: Name
    where: Where = None
    within: PositiveDuration | None = None
    op: Op
    value: Number

    def _text(self) -> str:
        return f"count({self._selection()}) {self.op} {_value_text(self.value)}"


class EventExists(_EventBase):
    """At least one matching occurrence in ``(now - within, now]`` (``count >= 1``)."""

    kind: Literal["event_exists"] = "event_exists"
    event: Name
    where: Where = None
    within: PositiveDuration | None = None

    def _text(self) -> str:
        return f"exists({self._selection()})"


class EventSum(_EventBase):
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
        return f"sum({self._selection(self.property)}) {self.op} {_value_text(self.value)}"


class EventLastAt(_EventBase):
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


class Prop:
    """A reference to an event property, to build property conditions: ``prop("amount") >= 50``.

    Not a condition itself; its comparisons return :class:`PropCompare` models.
    """

    __slots__ = ("name",)
    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so not hashable

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

    def __eq__(self, value: Any) -> PropCompare:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: Any) -> PropCompare:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> PropCompare:
        return self._compare("<", value)

    def __le__(self, value: Any) -> PropCompare:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> PropCompare:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> PropCompare:
        return self._compare(">=", value)

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


class _Measure:
    """``event(...).count(...)`` or ``.sum(...)``: compare it to get a condition."""

    __slots__ = ("_fields", "_model")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, model: type[EventCount] | type[EventSum], fields: dict[str, Any]) -> None:
        self._model = model
        self._fields = fields

    def __repr__(self) -> str:
        return f"{self._model(op='>=', value=0, **self._fields)}".rsplit(" >= ", 1)[0]

    def _compare(self, op: str, value: Any) -> Any:
        return self._model(op=op, value=value, **self._fields)

    def __eq__(self, value: Any) -> Any:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: Any) -> Any:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> Any:
        return self._compare("<", value)

    def __le__(self, value: Any) -> Any:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> Any:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> Any:
        return self._compare(">=", value)

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


# -- shared by both faces --------------------------------------------------------------------------


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


def _to_attribute_condition(node: Any) -> Any:
    """A property condition as the attribute condition it mirrors (properties as attributes).

    A property condition tests one occurrence exactly as an attribute condition tests a
    contact's state, so both faces compile it with :mod:`segsim.conditions` itself.
    """
    c = _conditions()
    if isinstance(node, PropAllOf):
        return c.AllOf(conditions=tuple(map(_to_attribute_condition, node.conditions)))
    if isinstance(node, PropAnyOf):
        return c.AnyOf(conditions=tuple(map(_to_attribute_condition, node.conditions)))
    if isinstance(node, PropNot):
        return c.Not(condition=_to_attribute_condition(node.condition))
    if isinstance(node, PropCompare):
        return c.Compare(attribute=node.property, op=node.op, value=node.value)
    if isinstance(node, PropIsIn):
        return c.IsIn(attribute=node.property, values=node.values)
    if isinstance(node, PropContains):
        return c.Contains(attribute=node.property, value=node.value)
    if isinstance(node, PropIsSet):
        return c.IsSet(attribute=node.property)
    if isinstance(node, PropIsNotSet):
        return c.IsNotSet(attribute=node.property)
    raise TypeError(f"not a property condition: {node!r}")  # pragma: no cover


def _from_attribute_condition(node: Any) -> Any:
    """Back from a validated attribute condition (values as validation left them: built with
    ``model_construct``, since validating again would re-read an ISO-looking string value)."""
    c = _conditions()
    if isinstance(node, c.AllOf):
        return PropAllOf.model_construct(
            conditions=tuple(map(_from_attribute_condition, node.conditions))
        )
    if isinstance(node, c.AnyOf):
        return PropAnyOf.model_construct(
            conditions=tuple(map(_from_attribute_condition, node.conditions))
        )
    if isinstance(node, c.Not):
        return PropNot.model_construct(condition=_from_attribute_condition(node.condition))
    if isinstance(node, c.Compare):
        return PropCompare.model_construct(property=node.attribute, op=node.op, value=node.value)
    if isinstance(node, c.IsIn):
        return PropIsIn.model_construct(property=node.attribute, values=node.values)
    if isinstance(node, c.Contains):
        return PropContains.model_construct(property=node.attribute, value=node.value)
    if isinstance(node, c.IsSet):
        return PropIsSet.model_construct(property=node.attribute)
    return PropIsNotSet.model_construct(property=node.attribute)


def _prop_leaves(node: Any) -> Iterable[Any]:
    if isinstance(node, (PropAllOf, PropAnyOf)):
        for child in node.conditions:
            yield from _prop_leaves(child)
    elif isinstance(node, PropNot):
        yield from _prop_leaves(node.condition)
    else:
        yield node


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dt.datetime):
        return "timestamp"
    return "string"


def _inferred_types(where: Any) -> dict[str, str]:
    """Property types read off the values a property condition compares with."""
    out: dict[str, str] = {}
    for leaf in _prop_leaves(where):
        if isinstance(leaf, PropCompare):
            out.setdefault(leaf.property, _value_type(leaf.value))
        elif isinstance(leaf, PropIsIn) and leaf.values:
            out.setdefault(leaf.property, _value_type(leaf.values[0]))
        elif isinstance(leaf, PropContains):
            out.setdefault(leaf.property, "string")
    for leaf in _prop_leaves(where):
        out.setdefault(leaf.property, "string")  # is_set / is_not_set read no value
    return out


def property_types(node: Any, catalog: EventCatalog | None) -> dict[str, str]:
    """The types of the properties an event leaf reads (from the catalog, else inferred)."""
    if catalog is not None and catalog.properties is not None:
        return dict(catalog.properties)
    types = _inferred_types(node.where) if node.where is not None else {}
    if isinstance(node, EventSum):
        types[node.property] = "number"
    return types


def validate_event_leaf(node: Any, catalog: EventCatalog | None, fail: Any) -> Any:
    """Check an event leaf against the catalog; return it normalised (as validate_condition).

    ``fail(message)`` builds the error to raise (it adds where the condition is).
    """
    from segsim._internal.naming import did_you_mean
    from segsim.errors import ConditionError

    names = None if catalog is None else catalog.names
    if names is not None and node.event not in names:
        hint = did_you_mean(node.event, names) if names else "; the store has no events"
        raise fail(f"{node}: unknown event {node.event!r}{hint}")
    types = property_types(node, catalog)
    update: dict[str, Any] = {}
    if node.where is not None:
        try:
            checked = _conditions().validate_condition(_to_attribute_condition(node.where), types)
        except ConditionError as exc:
            message = str(exc).replace("attribute", "property")
            raise fail(f"{node}: in where= of event {node.event!r}: {message}") from None
        update["where"] = _from_attribute_condition(checked)
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


def event_leaves(condition: Any, segments: Mapping[str, Any] = {}) -> list[Any]:
    """Every event leaf of a condition, through the segments it refers to, deduplicated."""
    found: dict[Any, None] = {}
    for node in _conditions()._walk(condition, segments, True):
        if isinstance(node, EVENT_LEAVES):
            found[node] = None
    return list(found)


def events_used(condition: Any, segments: Mapping[str, Any] = {}) -> set[str]:
    """The events a condition reads, through the segments it refers to."""
    return {leaf.event for leaf in event_leaves(condition, segments)}


def window_us(node: Any) -> int | None:
    """The duration after an occurrence at which the leaf can turn by time (None: never)."""
    from segsim._time import duration_us

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


# -- the Python face -------------------------------------------------------------------------------


class _EventsKey:
    """The key of a contact's :class:`EventLog` in the attributes mapping predicates read."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EVENTS"


#: ``attributes[EVENTS]`` is the contact's :class:`EventLog` (no attribute name is this key).
EVENTS: Any = _EventsKey()

_NO_OCCURRENCES: tuple[list[int], list[Mapping[str, Any]]] = ([], [])


class EventLog:
    """One contact's occurrences: per event, the instants (µs, sorted) and property dicts.

    Property values are Python values as attributes are given to predicates (``str``,
    ``float``, ``bool``, ``int`` epoch µs for timestamps); a missing key means unset.
    """

    __slots__ = ("by_event",)

    def __init__(self) -> None:
        self.by_event: dict[str, tuple[list[int], list[Mapping[str, Any]]]] = {}

    def add(self, event: str, t: int, properties: Mapping[str, Any] | None = None) -> None:
        """Record one occurrence (occurrences at one instant keep the order they are added)."""
        times, props = self.by_event.setdefault(event, ([], []))
        at = bisect.bisect_right(times, t)
        times.insert(at, t)
        props.insert(at, dict(properties or {}))

    def occurrences(self, event: str) -> tuple[list[int], list[Mapping[str, Any]]]:
        """The instants and property dicts of one event's occurrences."""
        return self.by_event.get(event, _NO_OCCURRENCES)

    def size(self, event: str) -> int:
        """How many occurrences of ``event`` are recorded."""
        return len(self.occurrences(event)[0])

    def __repr__(self) -> str:
        return f"EventLog({ {e: len(t) for e, (t, _) in self.by_event.items()} })"


def event_predicate(node: Any, catalog: EventCatalog | None) -> Any:
    """The closure ``pred(attributes, lists, now)`` of one validated event leaf."""
    c = _conditions()
    name = node.event
    matches = None
    if node.where is not None:
        types = property_types(node, catalog)
        inner = c.compile_predicate(_to_attribute_condition(node.where), types=types)

        def matches(props: Mapping[str, Any]) -> bool:
            return inner(props, (), 0)

    window = window_us(node)

    def selected(
        a: Mapping[str, Any], now: int
    ) -> tuple[list[int], list[Mapping[str, Any]], int, int]:
        log = a.get(EVENTS)
        times, props = _NO_OCCURRENCES if log is None else log.occurrences(name)
        hi = bisect.bisect_right(times, now)
        lo = (
            0
            if window is None or isinstance(node, EventLastAt)
            else bisect.bisect_right(times, now - window)
        )
        return times, props, lo, hi

    if isinstance(node, EventLastAt):
        d = window
        older = node.test == "older_than"

        def last_at(a: Mapping[str, Any], lists: Any, now: int) -> bool:
            times, props, _, hi = selected(a, now)
            for i in range(hi - 1, -1, -1):
                if matches is None or matches(props[i]):
                    last = times[i]
                    return last <= now - d if older else now - d < last <= now
            return False

        return last_at

    if isinstance(node, (EventCount, EventSum)):
        op, literal = c._PY_OPS[node.op], float(node.value)
    else:  # exists: count >= 1
        op, literal = None, 1.0

    if isinstance(node, EventSum):
        prop_name = node.property

        def total(a: Mapping[str, Any], lists: Any, now: int) -> bool:
            _times, props, lo, hi = selected(a, now)
            values = []
            for i in range(lo, hi):
                v = props[i].get(prop_name)
                if v is not None and (matches is None or matches(props[i])):
                    values.append(float(v))
            return op(math.fsum(values), literal)

        return total

    def count(a: Mapping[str, Any], lists: Any, now: int) -> bool:
        _times, props, lo, hi = selected(a, now)
        n = hi - lo if matches is None else sum(1 for i in range(lo, hi) if matches(props[i]))
        return n >= 1 if op is None else op(float(n), literal)

    return count


def event_boundaries(log: Any, event: str, window: int, after: int, before: int) -> set[int]:
    """Instants in ``(after, before)`` where a leaf with this window can turn: ``ts + window``."""
    if log is None:
        return set()
    times, _ = log.occurrences(event)
    return {t + window for t in times if after < t + window < before}


# -- the SQL face ----------------------------------------------------------------------------------


def event_leaf_sql(node: Any, column: str, now_sql: str) -> str:
    """The SQL of one validated event leaf, given the column of its measure at the row."""
    c = _conditions()
    if isinstance(node, EventLastAt):
        d = window_us(node)
        if node.test == "older_than":
            return f"COALESCE({column} <= {now_sql} - {d}, FALSE)"
        return f"COALESCE({column} > {now_sql} - {d} AND {column} <= {now_sql}, FALSE)"
    if isinstance(node, EventExists):
        return f"(COALESCE({column}, 0) >= 1)"
    return f"(COALESCE({column}, 0) {c._SQL_OPS[node.op]} {c._sql_literal(node.value)})"


def where_sql(node: Any, catalog: EventCatalog | None) -> str:
    """The SQL of a leaf's ``where`` on a ``segsim_events`` row (TRUE without one)."""
    from segsim._internal.sql import quote_identifier
    from segsim.schema import property_column

    if node.where is None:
        return "TRUE"
    types = property_types(node, catalog)

    def column(name: str) -> str:
        col = quote_identifier(property_column(name))
        return f"epoch_us({col})" if types.get(name) == "timestamp" else col

    return _conditions().to_sql(_to_attribute_condition(node.where), column=column, types=types)
