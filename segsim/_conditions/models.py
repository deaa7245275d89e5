"""The attribute leaves, the groups, the ``Condition`` union and the builders of conditions.

The public names are in :mod:`segsim.conditions`, which says what they mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StrictStr, TypeAdapter

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
    NotText,
)
from segsim._conditions.events import (
    EVENT_LEAVES,
    EventCount,
    EventExists,
    EventLastAt,
    EventSum,
)
from segsim._conditions.values import Value, name_text
from segsim._internal.naming import Name, PositiveDuration
from segsim._time import format_duration

# -- leaves ----------------------------------------------------------------------------------------


class Compare(CompareText, ConditionBase):
    """``attribute <op> value``; false when the attribute is unset."""

    kind: Literal["compare"] = "compare"
    attribute: Name
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    value: Value


class IsIn(IsInText, ConditionBase):
    """The attribute's value is one of ``values`` (never true for an empty tuple)."""

    kind: Literal["isin"] = "isin"
    attribute: Name
    values: tuple[Value, ...]


class Contains(ContainsText, ConditionBase):
    """The string attribute contains ``value`` (case-sensitive substring)."""

    kind: Literal["contains"] = "contains"
    attribute: Name
    value: StrictStr


class IsSet(IsSetText, ConditionBase):
    """The attribute has a value."""

    kind: Literal["is_set"] = "is_set"
    attribute: Name


class IsNotSet(IsNotSetText, ConditionBase):
    """The attribute has no value (the one leaf that is true on a missing attribute)."""

    kind: Literal["is_not_set"] = "is_not_set"
    attribute: Name


class OlderThan(ConditionBase):
    """The timestamp attribute is at least ``duration`` in the past: ``value <= now - d``."""

    kind: Literal["older_than"] = "older_than"
    attribute: Name
    duration: PositiveDuration

    def _text(self) -> str:
        return f"{name_text(self.attribute)} older_than {format_duration(self.duration)}"


class WithinLast(ConditionBase):
    """The timestamp attribute is in the last ``duration``: ``now - d < value <= now``."""

    kind: Literal["within_last"] = "within_last"
    attribute: Name
    duration: PositiveDuration

    def _text(self) -> str:
        return f"{name_text(self.attribute)} within_last {format_duration(self.duration)}"


class InList(ConditionBase):
    """The contact is a member of the list (never, for a list nothing knows: a warning)."""

    kind: Literal["in_list"] = "in_list"
    list: Name

    def _text(self) -> str:
        return f"in_list({self.list!r})"


class InSegment(ConditionBase):
    """The named segment's condition holds for the contact."""

    kind: Literal["in_segment"] = "in_segment"
    segment: Name

    def _text(self) -> str:
        return f"in_segment({self.segment!r})"


class AllOf(AllOfText, ConditionBase):
    """Every condition holds (AND)."""

    kind: Literal["all_of"] = "all_of"
    conditions: tuple[Condition, ...]


class AnyOf(AnyOfText, ConditionBase):
    """At least one condition holds (OR)."""

    kind: Literal["any_of"] = "any_of"
    conditions: tuple[Condition, ...]


class Not(NotText, ConditionBase):
    """The condition does not hold."""

    kind: Literal["not"] = "not"
    condition: Condition


ConditionBase._family = ConditionBase
ConditionBase._group_needs = "at least one condition; an empty group has no agreed meaning"
ConditionBase._groups = (AllOf, AnyOf, Not)

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

#: The leaves on an attribute, in the order they are listed everywhere.
ATTRIBUTE_LEAVES = (Compare, IsIn, Contains, IsSet, IsNotSet, OlderThan, WithinLast)

#: Every kind of node of a condition tree.
CONDITION_NODES = (*ATTRIBUTE_LEAVES, InList, InSegment, *EVENT_LEAVES, AllOf, AnyOf, Not)


def parse_condition(obj: Any) -> Condition:
    """A condition from a model, a dict (``model_dump()`` form) or a JSON string.

    >>> parse_condition({"kind": "in_list", "list": "newsletter"})
    in_list('newsletter')
    """
    if isinstance(obj, ConditionBase):
        return obj  # type: ignore[return-value]
    if isinstance(obj, Attribute):
        raise TypeError(f"{obj!r} alone is not a condition: compare it, e.g. {obj!r} == 'x'")
    if isinstance(obj, (str, bytes)):
        return condition_adapter.validate_json(obj)
    if isinstance(obj, Mapping):
        return condition_adapter.validate_python(dict(obj))
    raise TypeError(f"expected a condition, a dict or a JSON string, got {type(obj).__name__}")


# -- builders --------------------------------------------------------------------------------------


class Attribute(Comparisons):
    """A reference to an attribute, to build conditions with: ``attr("ltv") >= 100``.

    Not a condition itself; its comparison operators return :class:`Compare` models.
    """

    __slots__ = ("name",)

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
