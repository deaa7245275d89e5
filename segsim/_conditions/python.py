"""The Python face: a condition compiled, once, to nested closures
``pred(attributes, lists, now_us) -> bool`` (see :func:`segsim.conditions.compile_predicate`).

Each node kind has one rule in :data:`PREDICATE`, run when the condition is compiled; the
closures it returns do no dispatch over node types in the engine's hot loop.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

from segsim._conditions.base import Face
from segsim._conditions.events import (
    EventCatalog,
    EventCount,
    EventExists,
    EventLastAt,
    EventSum,
    window_us,
)
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
)
from segsim._conditions.props import property_types, to_attribute_condition
from segsim._conditions.validate import Inliner
from segsim._conditions.values import instant_us
from segsim._time import duration_us

#: ``pred(attributes, lists, now_us) -> bool``, see :func:`segsim.conditions.compile_predicate`.
Predicate = Callable[[Mapping[str, Any], Collection[str], int], bool]

PY_OPS = {
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
    holds the names of the lists the contact is in. Same meaning as
    :func:`segsim.conditions.to_sql`.

    The tree is turned into nested closures once, here, so the engine's hot loop does no
    dispatch over node types. Event leaves read the contact's
    :class:`~segsim.event_conditions.EventLog` at ``attributes[EVENTS]`` (none: no events).

    >>> from segsim.conditions import attr
    >>> pred = compile_predicate(attr("ltv") >= 100, types={"ltv": "number"})
    >>> pred({"ltv": 120.0}, set(), 0), pred({}, set(), 0)
    (True, False)
    """
    inliner = Inliner(types, segments, events)
    return _Builder(inliner).build(inliner.validate(condition))


class _Builder:
    """What the rules of :data:`PREDICATE` read: the inliner and the segments built so far."""

    def __init__(self, inliner: Inliner) -> None:
        self.inliner = inliner
        self.types = inliner.types
        self.events = inliner.events
        self.segments: dict[str, Predicate] = {}

    def build(self, node: Any) -> Predicate:
        return cast(Predicate, PREDICATE(node, self))


#: The Python face: ``PREDICATE(node, builder)`` is the node's closure.
PREDICATE = Face("compile_predicate")


@PREDICATE.of(AllOf)
def _all_of(node: AllOf, b: _Builder) -> Predicate:
    parts = tuple(b.build(c) for c in node.conditions)
    if len(parts) == 1:
        return parts[0]
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


@PREDICATE.of(AnyOf)
def _any_of(node: AnyOf, b: _Builder) -> Predicate:
    parts = tuple(b.build(c) for c in node.conditions)
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda a, lists, now: first(a, lists, now) or second(a, lists, now)

    def some(a: Mapping[str, Any], lists: Collection[str], now: int) -> bool:
        for part in parts:  # noqa: SIM110 - faster than any() over a generator
            if part(a, lists, now):
                return True
        return False

    return some


@PREDICATE.of(Not)
def _not(node: Not, b: _Builder) -> Predicate:
    inner = b.build(node.condition)
    return lambda a, lists, now: not inner(a, lists, now)


@PREDICATE.of(InList)
def _in_list(node: InList, b: _Builder) -> Predicate:
    list_name = node.list
    return lambda a, lists, now: list_name in lists


@PREDICATE.of(InSegment)
def _in_segment(node: InSegment, b: _Builder) -> Predicate:
    name = node.segment
    if name not in b.segments:  # not yet built: enter() detects cycles
        b.segments[name] = b.build(b.inliner.enter(name))
        b.inliner.leave()
    return b.segments[name]


# -- attribute leaves (``node`` is validated; the kind is its attribute's type) -------------------


@PREDICATE.of(Compare)
def _compare(node: Compare, b: _Builder) -> Predicate:
    name, kind = node.attribute, b.types[node.attribute]
    op, literal = PY_OPS[node.op], cast(Any, node.value)
    if kind == "number":
        return lambda a, lists, now: (v := a.get(name)) is not None and op(float(v), literal)
    if kind == "timestamp":
        literal = instant_us(literal)
    return lambda a, lists, now: (v := a.get(name)) is not None and op(v, literal)


@PREDICATE.of(IsIn)
def _isin(node: IsIn, b: _Builder) -> Predicate:
    name, kind = node.attribute, b.types[node.attribute]
    if kind == "timestamp":
        members: frozenset[Any] = frozenset(instant_us(cast(dt.datetime, v)) for v in node.values)
    else:
        members = frozenset(node.values)
    if not members:
        return lambda a, lists, now: False
    if kind == "number":
        return lambda a, lists, now: (v := a.get(name)) is not None and float(v) in members
    return lambda a, lists, now: (v := a.get(name)) is not None and v in members


@PREDICATE.of(Contains)
def _contains(node: Contains, b: _Builder) -> Predicate:
    name, substring = node.attribute, node.value
    return lambda a, lists, now: (v := a.get(name)) is not None and substring in v


@PREDICATE.of(IsSet)
def _is_set(node: IsSet, b: _Builder) -> Predicate:
    name = node.attribute
    return lambda a, lists, now: a.get(name) is not None


@PREDICATE.of(IsNotSet)
def _is_not_set(node: IsNotSet, b: _Builder) -> Predicate:
    name = node.attribute
    return lambda a, lists, now: a.get(name) is None


@PREDICATE.of(OlderThan)
def _older_than(node: OlderThan, b: _Builder) -> Predicate:
    name, d = node.attribute, duration_us(node.duration)
    return lambda a, lists, now: (v := a.get(name)) is not None and v <= now - d


@PREDICATE.of(WithinLast)
def _within_last(node: WithinLast, b: _Builder) -> Predicate:
    name, d = node.attribute, duration_us(node.duration)
    return lambda a, lists, now: (v := a.get(name)) is not None and now - d < v <= now


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

    >>> from segsim.conditions import attr, in_list
    >>> evaluate(in_list("news") & (attr("plan") == "pro"), {"plan": "pro"}, {"news"}, 0,
    ...          types={"plan": "string"})
    True
    """
    predicate = compile_predicate(condition, types=types, segments=segments, events=events)
    return predicate(attributes, lists, now_us)


# -- event leaves ----------------------------------------------------------------------------------


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


def _occurrences(node: Any, b: _Builder) -> Callable[[Mapping[str, Any], int], Any]:
    """``selected(attributes, now)``: the times and properties of the leaf's event, and the
    index range ``lo:hi`` of those in its window at ``now`` (for last_at: all up to ``now``)."""
    name = node.event
    window = None if isinstance(node, EventLastAt) else window_us(node)

    def selected(
        a: Mapping[str, Any], now: int
    ) -> tuple[list[int], list[Mapping[str, Any]], int, int]:
        log = a.get(EVENTS)
        times, props = _NO_OCCURRENCES if log is None else log.occurrences(name)
        hi = bisect.bisect_right(times, now)
        lo = 0 if window is None else bisect.bisect_right(times, now - window)
        return times, props, lo, hi

    return selected


def _matches(node: Any, b: _Builder) -> Callable[[Mapping[str, Any]], bool] | None:
    """Whether one occurrence's properties satisfy the leaf's ``where`` (None: no where)."""
    if node.where is None:
        return None
    types = property_types(node, b.events)
    inner = compile_predicate(to_attribute_condition(node.where), types=types)

    def matches(props: Mapping[str, Any]) -> bool:
        return inner(props, (), 0)

    return matches


@PREDICATE.of(EventLastAt)
def _last_at(node: EventLastAt, b: _Builder) -> Predicate:
    matches, selected = _matches(node, b), _occurrences(node, b)
    d = duration_us(node.duration)
    older = node.test == "older_than"

    def last_at(a: Mapping[str, Any], lists: Any, now: int) -> bool:
        times, props, _, hi = selected(a, now)
        for i in range(hi - 1, -1, -1):
            if matches is None or matches(props[i]):
                last = times[i]
                return last <= now - d if older else now - d < last <= now
        return False

    return last_at


@PREDICATE.of(EventSum)
def _sum(node: EventSum, b: _Builder) -> Predicate:
    matches, selected = _matches(node, b), _occurrences(node, b)
    op, literal = PY_OPS[node.op], float(node.value)
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


@PREDICATE.of(EventCount, EventExists)
def _count(node: Any, b: _Builder) -> Predicate:
    matches, selected = _matches(node, b), _occurrences(node, b)
    if isinstance(node, EventCount):
        op, literal = PY_OPS[node.op], float(node.value)
    else:  # exists: count >= 1
        op, literal = None, 1.0

    def count(a: Mapping[str, Any], lists: Any, now: int) -> bool:
        _times, props, lo, hi = selected(a, now)
        n = hi - lo if matches is None else sum(1 for i in range(lo, hi) if matches(props[i]))
        return n >= 1 if op is None else op(float(n), literal)

    return count
