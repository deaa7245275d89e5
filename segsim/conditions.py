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

The parts live in the private package :mod:`segsim._conditions` (models, the SQL face, the
Python face, validation, walks); this module is where they are imported from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# also importable from here (not in __all__): the event leaves and the tuples of node kinds
from segsim._conditions.events import EVENT_LEAVES as EVENT_LEAVES
from segsim._conditions.events import EventCatalog
from segsim._conditions.events import EventCount as EventCount
from segsim._conditions.events import EventExists as EventExists
from segsim._conditions.events import EventLastAt as EventLastAt
from segsim._conditions.events import EventSum as EventSum
from segsim._conditions.models import ATTRIBUTE_LEAVES as ATTRIBUTE_LEAVES
from segsim._conditions.models import CONDITION_NODES as CONDITION_NODES
from segsim._conditions.models import (
    AllOf,
    AnyOf,
    Attribute,
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
    all_of,
    any_of,
    attr,
    condition_adapter,
    in_list,
    in_segment,
    not_,
    parse_condition,
)
from segsim._conditions.python import Predicate, compile_predicate, evaluate
from segsim._conditions.sql import compile_sql
from segsim._conditions.validate import validate_condition
from segsim._conditions.values import Value as Value
from segsim._conditions.values import WrittenInstant
from segsim._conditions.walk import (
    attributes_used,
    lists_used,
    segments_used,
    time_relative_leaves,
    unknown_lists,
)
from segsim._internal.sql import quote_identifier
from segsim.event_conditions import event_leaf_sql

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

    def event_sql(leaf: Any, now_sql: str) -> str:
        assert event_column is not None
        return event_leaf_sql(leaf, event_column(leaf), now_sql)

    return compile_sql(
        condition,
        column=column,
        list_column=list_column,
        now=now,
        segments=segments,
        types=types,
        event_sql=None if event_column is None else event_sql,
        events=events,
    )
