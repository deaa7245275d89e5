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

The models, builders and the Python face live in the private package
:mod:`segsim._conditions` with the rest of the condition language (which includes these
leaves in its ``Condition`` union); this module is where they are imported from, and holds
the SQL of event leaves (below).
"""

from __future__ import annotations

from typing import Any

from segsim._conditions.events import (
    EVENT_LEAVES,
    Event,
    EventCatalog,
    EventCount,
    EventExists,
    EventLastAt,
    EventSum,
    Prop,
    PropAllOf,
    PropAnyOf,
    PropCompare,
    PropCondition,
    PropContains,
    PropIsIn,
    PropIsNotSet,
    PropIsSet,
    PropNot,
    event,
    parse_prop_condition,
    prop,
    window_us,
)
from segsim._conditions.events import Where as Where
from segsim._conditions.events import measure_key as measure_key
from segsim._conditions.props import property_types, to_attribute_condition
from segsim._conditions.python import EVENTS as EVENTS
from segsim._conditions.python import EventLog as EventLog
from segsim._conditions.sql import SQL_OPS, compile_sql, sql_literal
from segsim._conditions.validate import validate_event_leaf as validate_event_leaf
from segsim._conditions.walk import event_leaves as event_leaves
from segsim._conditions.walk import events_used as events_used
from segsim._internal.sql import quote_identifier
from segsim.schema import property_column

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


# -- the instants where an event leaf can turn (the live path reads them) ------------------------


def event_boundaries(log: Any, event: str, window: int, after: int, before: int) -> set[int]:
    """Instants in ``(after, before)`` where a leaf with this window can turn: ``ts + window``."""
    if log is None:
        return set()
    times, _ = log.occurrences(event)
    return {t + window for t in times if after < t + window < before}


# -- the SQL face ----------------------------------------------------------------------------------


def event_leaf_sql(node: Any, column: str, now_sql: str) -> str:
    """The SQL of one validated event leaf, given the column of its measure at the row."""
    if isinstance(node, EventLastAt):
        d = window_us(node)
        if node.test == "older_than":
            return f"COALESCE({column} <= {now_sql} - {d}, FALSE)"
        return f"COALESCE({column} > {now_sql} - {d} AND {column} <= {now_sql}, FALSE)"
    if isinstance(node, EventExists):
        return f"(COALESCE({column}, 0) >= 1)"
    return f"(COALESCE({column}, 0) {SQL_OPS[node.op]} {sql_literal(node.value)})"


def where_sql(node: Any, catalog: EventCatalog | None) -> str:
    """The SQL of a leaf's ``where`` on a ``segsim_events`` row (TRUE without one)."""
    if node.where is None:
        return "TRUE"
    types = property_types(node, catalog)

    def column(name: str) -> str:
        col = quote_identifier(property_column(name))
        return f"epoch_us({col})" if types.get(name) == "timestamp" else col

    return compile_sql(to_attribute_condition(node.where), column=column, types=types)
