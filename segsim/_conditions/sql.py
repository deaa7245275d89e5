"""The SQL face: a condition compiled to a DuckDB boolean expression that is never NULL.

:func:`segsim.conditions.to_sql` documents the row the expression reads; event leaves
compile in :mod:`segsim.event_conditions` (``event_leaf_sql``), which the caller passes in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from segsim._conditions.base import Face
from segsim._conditions.events import EVENT_LEAVES, EventCatalog
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
from segsim._conditions.validate import Inliner
from segsim._conditions.values import instant_us
from segsim._internal.sql import quote_identifier, quote_literal
from segsim._time import duration_us
from segsim.errors import ConditionError

SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

#: ``event_sql(leaf, now_sql)``: the SQL of one validated event leaf
EventSql = Callable[[Any, str], str]


def sql_literal(value: Any) -> str:
    """A condition value as a SQL literal (timestamps as epoch microseconds)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return str(instant_us(value))
    if isinstance(value, (int, float)):
        # Through a string: repr is the shortest exact form, and DuckDB parses it exactly
        # (a bare 0.1 would be a DECIMAL first).
        return f"CAST('{float(value)!r}' AS DOUBLE)"
    return quote_literal(value)


def compile_sql(
    condition: Any,
    *,
    column: Callable[[str], str] | None = None,
    list_column: Callable[[str], str] | None = None,
    now: str = "now_us",
    segments: Mapping[str, Condition] = {},
    types: Mapping[str, str],
    event_sql: EventSql | None = None,
    events: EventCatalog | None = None,
) -> str:
    """The SQL of a condition (see :func:`segsim.conditions.to_sql`); ``event_sql`` compiles
    its event leaves (without one, an event leaf is refused)."""
    inliner = Inliner(types, segments, events)
    context = _Sql(
        column or quote_identifier,
        list_column or (lambda name: quote_identifier(f"list:{name}")),
        f"({now})",
        inliner,
        event_sql,
    )
    return context.sql(inliner.validate(condition))


class _Sql:
    """What the rules of :data:`SQL` read."""

    def __init__(
        self,
        column: Callable[[str], str],
        list_column: Callable[[str], str],
        now_sql: str,
        inliner: Inliner,
        event_sql: EventSql | None,
    ) -> None:
        self.column = column
        self.list_column = list_column
        self.now_sql = now_sql
        self.inliner = inliner
        self.event_sql = event_sql

    def sql(self, node: Any) -> str:
        return SQL(node, self)


#: The SQL face: ``SQL(node, context)`` is the node's boolean expression.
SQL = Face("to_sql")


@SQL.of(AllOf)
def _all_of(node: AllOf, s: _Sql) -> str:
    return "(" + " AND ".join(map(s.sql, node.conditions)) + ")"


@SQL.of(AnyOf)
def _any_of(node: AnyOf, s: _Sql) -> str:
    return "(" + " OR ".join(map(s.sql, node.conditions)) + ")"


@SQL.of(Not)
def _not(node: Not, s: _Sql) -> str:
    return f"(NOT {s.sql(node.condition)})"


@SQL.of(InList)
def _in_list(node: InList, s: _Sql) -> str:
    return f"COALESCE({s.list_column(node.list)}, FALSE)"


@SQL.of(InSegment)
def _in_segment(node: InSegment, s: _Sql) -> str:
    inlined = s.sql(s.inliner.enter(node.segment))
    s.inliner.leave()
    return inlined


@SQL.of(*EVENT_LEAVES)
def _event_leaf(node: Any, s: _Sql) -> str:
    if s.event_sql is None:
        raise ConditionError(
            f"{node}: an event condition compiles to SQL only in the transitions "
            "query (segsim.segments), which computes what it measures"
        )
    return s.event_sql(node, s.now_sql)


@SQL.of(Compare)
def _compare(node: Compare, s: _Sql) -> str:
    col = s.column(node.attribute)
    return f"COALESCE({col} {SQL_OPS[node.op]} {sql_literal(node.value)}, FALSE)"


@SQL.of(IsIn)
def _isin(node: IsIn, s: _Sql) -> str:
    col = s.column(node.attribute)
    if not node.values:
        return "FALSE"
    values = ", ".join(map(sql_literal, node.values))
    return f"COALESCE({col} IN ({values}), FALSE)"


@SQL.of(Contains)
def _contains(node: Contains, s: _Sql) -> str:
    return f"COALESCE(contains({s.column(node.attribute)}, {sql_literal(node.value)}), FALSE)"


@SQL.of(IsSet)
def _is_set(node: IsSet, s: _Sql) -> str:
    return f"({s.column(node.attribute)} IS NOT NULL)"


@SQL.of(IsNotSet)
def _is_not_set(node: IsNotSet, s: _Sql) -> str:
    return f"({s.column(node.attribute)} IS NULL)"


@SQL.of(OlderThan)
def _older_than(node: OlderThan, s: _Sql) -> str:
    col, d = s.column(node.attribute), duration_us(node.duration)
    return f"COALESCE({col} <= {s.now_sql} - {d}, FALSE)"


@SQL.of(WithinLast)
def _within_last(node: WithinLast, s: _Sql) -> str:
    col, d, now = s.column(node.attribute), duration_us(node.duration), s.now_sql
    return f"COALESCE({col} > {now} - {d} AND {col} <= {now}, FALSE)"
