"""The SQL of :func:`segsim.segments.transition_query`, in named parts (docs/design.md §5).

The query has five stages, each built by one function here:

1. :func:`_change_sources` — the rows: the changes of the attributes and lists the segments
   read, the contact's first recorded instant (``birth``, when a segment holds on an empty
   state), and (:func:`_event_sources`) the occurrences of the events they read and the
   instants ``ts + d`` where an occurrence leaves a window;
2. :func:`_pivot` — the rows grouped by ``(contact, instant)``, one column per input;
3. :func:`_fill` — each input filled forward (a struct, so an attribute that became unset
   stays unset) and each event measure computed over its window frame; whether an input
   really changed at the instant;
4. :func:`_time_boundaries` — the instants where a time-relative attribute leaf can flip
   between two changes, as rows carrying the state before them;
5. :func:`_evaluate` — every segment's condition at every row, ``lag`` for the rows where
   membership changes, unpivoted to one row per transition, and ``nth``.

A segment set that reads only events (no attribute, list or birth row) gets narrow rows:
just ``contact_id, t`` and the event columns, with no attribute/list columns to carry
through the grouping. Whether an event occurred at an instant is a boolean column of its
own (``o_<j>``), and a count's increments are counted, not summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from segsim import schema
from segsim._internal.sql import quote_identifier, quote_literal
from segsim.conditions import (
    attributes_used,
    evaluate,
    lists_used,
    time_relative_leaves,
    to_sql,
)
from segsim.event_conditions import (
    EventCatalog,
    EventSum,
    event_leaves,
    measure_key,
    where_sql,
    window_us,
)

__all__ = ["EMPTY_TRANSITIONS", "transitions_sql"]

#: The query when no segment reads anything (no rows, the columns of a transitions query).
EMPTY_TRANSITIONS = """SELECT NULL::BIGINT AS t, NULL::BIGINT AS contact_id, NULL::INTEGER AS segment,
    NULL::BOOLEAN AS enter, NULL::BIGINT AS nth, NULL::BOOLEAN AS from_time WHERE FALSE"""

_ATTRIBUTE_COLUMNS = ("name", "is_list", "v_string", "v_number", "v_boolean", "v_time")


@dataclass
class _Inputs:
    """What the segments read, and the SQL column of each (``a_``, ``l_``, ``e_``, ``ev_``)."""

    names: list[str]
    conditions: Mapping[str, Any]
    types: Mapping[str, str]
    catalog: EventCatalog
    end_us: int
    attributes: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    leaves: list[tuple[str, int, str]] = field(
        default_factory=list
    )  # time-relative attribute leaves
    measures: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # measure key -> a leaf
    birth: bool = False
    a_col: dict[str, str] = field(default_factory=dict)
    l_col: dict[str, str] = field(default_factory=dict)
    e_col: dict[tuple[Any, ...], str] = field(default_factory=dict)
    ev_col: dict[str, str] = field(default_factory=dict)

    @property
    def wide(self) -> bool:
        """Do the rows carry attribute/list columns (some row is not an event row)?"""
        return bool(self.attributes or self.lists or self.birth)

    @property
    def columns(self) -> list[str]:
        """The filled attribute and list columns."""
        return [*self.a_col.values(), *self.l_col.values()]

    @property
    def flags(self) -> list[str]:
        """The columns saying an input changed at the row."""
        return [*(f"ch_{c}" for c in self.columns), *(f"ch_{c}" for c in self.ev_col.values())]


def _inputs(
    names: Sequence[str],
    conditions: Mapping[str, Any],
    types: Mapping[str, str],
    catalog: EventCatalog,
    end_us: int,
) -> _Inputs:
    """Collect the attributes, lists, time-relative leaves and event measures read."""
    attributes: set[str] = set()
    lists: set[str] = set()
    leaves: set[tuple[str, int, str]] = set()
    inputs = _Inputs(list(names), conditions, types, catalog, end_us)
    for name in names:
        attributes |= attributes_used(conditions[name], conditions)
        lists |= lists_used(conditions[name], conditions)
        leaves |= {
            leaf
            for leaf in time_relative_leaves(conditions[name], conditions)
            if leaf[2] != "event"  # event windows: rows at ts + d (_event_sources)
        }
        for leaf in event_leaves(conditions[name], conditions):
            inputs.measures.setdefault(measure_key(leaf), leaf)
    inputs.attributes, inputs.lists, inputs.leaves = (
        sorted(attributes),
        sorted(lists),
        sorted(leaves),
    )
    inputs.a_col = {name: f"a_{i}" for i, name in enumerate(inputs.attributes)}
    inputs.l_col = {name: f"l_{i}" for i, name in enumerate(inputs.lists)}
    inputs.e_col = {key: f"e_{i}" for i, key in enumerate(inputs.measures)}
    events = sorted({key[1] for key in inputs.measures})
    inputs.ev_col = {name: f"ev_{i}" for i, name in enumerate(events)}
    # A segment that holds on an empty state (is_not_set, not_ ...) holds from the contact's
    # first recorded change of anything (events included): that instant is a row (birth).
    inputs.birth = any(
        evaluate(conditions[n], {}, (), 0, types=types, segments=conditions, events=catalog)
        for n in names
    )
    return inputs


def _increment_type(key: tuple[Any, ...]) -> str:
    return "DOUBLE" if key[0] == "sum" else "INTEGER"


def _event_nulls(q: _Inputs) -> str:
    """The event columns of a row that is no event row (or, for the ``o_`` flags, no occurrence)."""
    incs = [f"NULL::{_increment_type(key)} AS inc_{col[2:]}" for key, col in q.e_col.items()]
    occurred = [f"NULL::BOOLEAN AS o_{col[3:]}" for col in q.ev_col.values()]
    return ", ".join(incs + occurred)


def _change_sources(q: _Inputs) -> tuple[list[str], list[Any]]:
    """Stage 1: the SELECTs whose UNION ALL is every row, and their parameters."""
    sources, params = [], []
    if q.attributes:
        sources.append(
            f"""SELECT contact_id, epoch_us(ts) AS t, attribute AS name, FALSE AS is_list,
                       v_string, v_number, v_boolean, epoch_us(v_timestamp) AS v_time
                FROM {schema.CHANGES}
                WHERE ts < make_timestamp(?) AND attribute IN (SELECT unnest(?::VARCHAR[]))"""
        )
        params += [q.end_us, q.attributes]
    if q.lists:
        sources.append(
            f"""SELECT contact_id, epoch_us(ts) AS t, list AS name, TRUE AS is_list,
                       NULL::VARCHAR AS v_string, NULL::DOUBLE AS v_number, member AS v_boolean,
                       NULL::BIGINT AS v_time
                FROM {schema.LIST_CHANGES}
                WHERE ts < make_timestamp(?) AND list IN (SELECT unnest(?::VARCHAR[]))"""
        )
        params += [q.end_us, q.lists]
    if q.birth:
        event_times = (
            f" UNION ALL SELECT contact_id, epoch_us(ts) FROM {schema.EVENTS}"
            if q.catalog.names
            else ""
        )
        sources.append(
            f"""SELECT contact_id, min(t) AS t, '' AS name, FALSE AS is_list, NULL::VARCHAR AS v_string,
                       NULL::DOUBLE AS v_number, NULL::BOOLEAN AS v_boolean, NULL::BIGINT AS v_time
                FROM (SELECT contact_id, epoch_us(ts) AS t FROM {schema.CHANGES}
                      UNION ALL SELECT contact_id, epoch_us(ts) FROM {schema.LIST_CHANGES}{event_times})
                WHERE t < ? GROUP BY contact_id"""
        )
        params.append(q.end_us)
    if q.measures:
        # event rows carry no attribute or list change; the other rows no event columns
        sources = [f"SELECT *, {_event_nulls(q)} FROM ({s})" for s in sources]
        every_leaf = [e for n in q.names for e in event_leaves(q.conditions[n], q.conditions)]
        sources += _event_sources(q, every_leaf)
    return sources, params


def _event_sources(q: _Inputs, leaves: Iterable[Any]) -> list[str]:
    """The event rows: occurrences, and the instants ``ts + d`` where one leaves a window.

    Only the events the measures read are scanned, and only the property columns their
    ``where`` and ``sum`` read. An occurrence row has ``o_<j>`` true for its event; a
    ``ts + d`` row has every ``o_`` false and no increment.
    """
    attribute_nulls = (
        "NULL::VARCHAR AS name, NULL::BOOLEAN AS is_list, NULL::VARCHAR AS v_string, "
        "NULL::DOUBLE AS v_number, NULL::BOOLEAN AS v_boolean, NULL::BIGINT AS v_time, "
        if q.wide
        else ""
    )
    increments = []
    for key, leaf in q.measures.items():
        i = q.e_col[key][2:]
        match = f"event = {quote_literal(leaf.event)} AND ({where_sql(leaf, q.catalog)})"
        if isinstance(leaf, EventSum):
            value = quote_identifier(schema.property_column(leaf.property))
            increments.append(f"CASE WHEN {match} THEN {value} END AS inc_{i}")
        else:
            increments.append(f"CASE WHEN {match} THEN 1 END AS inc_{i}")
    occurred = [f"event = {quote_literal(e)} AS o_{c[3:]}" for e, c in q.ev_col.items()]
    names = ", ".join(quote_literal(e) for e in q.ev_col)
    out = [
        f"""SELECT contact_id, epoch_us(ts) AS t, {attribute_nulls}{", ".join(increments + occurred)}
            FROM {schema.EVENTS} WHERE ts < make_timestamp({q.end_us}) AND event IN ({names})"""
    ]
    nothing = ", ".join(
        [f"NULL::{_increment_type(key)} AS inc_{col[2:]}" for key, col in q.e_col.items()]
        + [f"FALSE AS o_{col[3:]}" for col in q.ev_col.values()]
    )
    windows = set()
    for leaf in leaves:
        window = window_us(leaf)
        if window is not None:
            windows.add((leaf.event, where_sql(leaf, q.catalog), int(window)))
    for name, where, window in sorted(windows):
        t = f"epoch_us(ts) + {window}"
        out.append(
            f"""SELECT contact_id, {t} AS t, {attribute_nulls}{nothing} FROM {schema.EVENTS}
                WHERE event = {quote_literal(name)} AND ({where}) AND ts < make_timestamp({q.end_us})
                  AND {t} < {q.end_us}"""
        )
    return out


def _pivot(q: _Inputs) -> str:
    """Stage 2: the aggregates of one ``(contact, instant)`` group.

    Per attribute or list: whether it changed (``ch_``) and its value (``v_``); ``ch_birth``;
    per event measure its increments (``c_``); per event read whether it occurred (``ch_ev_``).
    """
    pivots = []
    for name in q.attributes:
        col = q.a_col[name]
        value = schema.VALUE_COLUMN[q.types[name]] if q.types[name] != "timestamp" else "v_time"
        pivots.append(_pivot_input(col, f"NOT is_list AND name = {quote_literal(name)}", value))
    for name in q.lists:
        col = q.l_col[name]
        pivots.append(_pivot_input(col, f"is_list AND name = {quote_literal(name)}", "v_boolean"))
    pivots.append(
        "coalesce(bool_or(name = '' AND NOT is_list), FALSE) AS ch_birth"
        if q.birth
        else "FALSE AS ch_birth"
    )
    for key, col in q.e_col.items():
        i = col[2:]
        # a count's increments are 1 or NULL: counting them is the sum, without a HUGEINT
        total = f"fsum(inc_{i})" if key[0] == "sum" else f"count(inc_{i})::INTEGER"
        pivots.append(f"{total} AS c_{i}")
    for col in q.ev_col.values():
        pivots.append(f"coalesce(bool_or(o_{col[3:]}), FALSE) AS ch_{col}")
    return ", ".join(pivots)


def _pivot_input(col: str, match: str, value: str) -> str:
    return (
        f"coalesce(bool_or({match}), FALSE) AS ch_{col}, "
        f"any_value({value}) FILTER (WHERE {match}) AS v_{col}"
    )


def _fill(q: _Inputs) -> tuple[str, str]:
    """Stage 3: the filled columns (over the window ``w``) and the state read from them.

    Returns the ``filled`` projection (structs ``s_``, event measures ``e_``, the change
    flags) and the ``state`` projection (values, whether each input really changed).
    """
    fills = [
        f"last_value(CASE WHEN ch_{c} THEN {{'v': v_{c}}} END IGNORE NULLS) OVER w AS s_{c}"
        for c in q.columns
    ]
    for key, col in q.e_col.items():
        i = col[2:]
        window = key[4]
        frame = (
            "OVER w"
            if window is None
            else f"OVER (PARTITION BY contact_id ORDER BY t RANGE BETWEEN {int(window) - 1} "
            "PRECEDING AND CURRENT ROW)"
        )
        if key[0] == "last":
            fills.append(f"max(CASE WHEN c_{i} > 0 THEN t END) OVER w AS {col}")
        else:
            fills.append(f"{'fsum' if key[0] == 'sum' else 'sum'}(c_{i}) {frame} AS {col}")
    # a flag says the input *changed* at the instant: a row re-setting an attribute to its
    # current value (or a list membership the contact has) is no change (not "history").
    # The value before the instant is the same fill over the rows before it (``p_``): in the
    # one sort of ``w``, where a ``lag`` of the filled value would need a second one
    # (15% of the query at 1M contacts).
    fills += [
        f"last_value(CASE WHEN ch_{c} THEN {{'v': v_{c}}} END IGNORE NULLS) OVER (PARTITION BY "
        f"contact_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS p_{c}"
        for c in q.columns
    ]
    lists = set(q.l_col.values())
    if lists:
        fills.append("lag(t) OVER w IS NULL AS first_row")
    fill_sql = ", ".join(fills + q.flags + ["ch_birth"])
    changes = []
    for c in q.columns:
        if c in lists:
            # an unset membership is "not a member"; at a contact's first instant there is
            # no value before, so a list row is a change there whatever it says
            before = f"CASE WHEN NOT first_row THEN coalesce(p_{c}.v, FALSE) END"
            state = f"coalesce(s_{c}.v, FALSE)"
        else:
            before, state = f"p_{c}.v", f"s_{c}.v"
        changes.append(f"ch_{c} AND {state} IS DISTINCT FROM {before} AS ch_{c}")
    state_sql = ", ".join(
        [
            *(f"s_{c}.v AS {c}" for c in q.columns),
            *changes,
            *q.e_col.values(),
            *(f"ch_{c}" for c in q.ev_col.values()),
            "ch_birth",
        ]
    )
    return fill_sql, state_sql


def _time_boundaries(q: _Inputs) -> str:
    """Stage 4: the ``state`` rows, and a row at every instant strictly between two changes
    where a time-relative attribute leaf can flip (``value + d``; ``value`` for within_last)."""
    carry = "".join(f", {c}" for c in [*q.columns, *q.e_col.values()])
    flags = [*q.flags, "ch_birth"]
    unchanged = "".join(f", FALSE AS {f}" for f in flags)
    boundaries = []
    for attribute, duration_us, kind in q.leaves:
        col = q.a_col[attribute]
        instants = [f"{col} + {int(duration_us)}"]
        if kind == "within_last":
            instants.append(col)
        for instant in instants:
            boundaries.append(
                f"""SELECT contact_id, {instant} AS t{carry}{unchanged} FROM state
                    WHERE {instant} > t AND {instant} < coalesce(t_next, {q.end_us})"""
            )
    timed = f"SELECT contact_id, t{carry}{''.join(f', {f}' for f in flags)} FROM state"
    if boundaries:
        timed += " UNION ALL SELECT DISTINCT * FROM (" + " UNION ALL ".join(boundaries) + ")"
    return timed


def _evaluate(q: _Inputs) -> tuple[str, str, str]:
    """Stage 5: each segment's membership (``m_``) and whether its own inputs changed
    (``h_``), the previous membership (``p_``), and one row per membership change."""

    def inputs_changed(name: str) -> str:
        """Did one of this segment's own inputs change at the row (else time made it turn)?"""
        condition = q.conditions[name]
        read = [f"ch_{q.a_col[a]}" for a in sorted(attributes_used(condition, q.conditions))]
        read += [f"ch_{q.l_col[n]}" for n in sorted(lists_used(condition, q.conditions))]
        read += sorted({f"ch_{q.ev_col[e.event]}" for e in event_leaves(condition, q.conditions)})
        return " OR ".join([*read, "ch_birth"])

    def condition_sql(name: str) -> str:
        return to_sql(
            q.conditions[name],
            column=q.a_col.__getitem__,
            list_column=q.l_col.__getitem__,
            now="t",
            segments=q.conditions,
            types=q.types,
            event_column=lambda leaf: q.e_col[measure_key(leaf)],
            events=q.catalog,
        )

    evaluations = ", ".join(
        f"({condition_sql(name)}) AS m_{i}, ({inputs_changed(name)}) AS h_{i}"
        for i, name in enumerate(q.names)
    )
    lags = ", ".join(
        f"m_{i}, h_{i}, lag(m_{i}, 1, FALSE) OVER w AS p_{i}" for i in range(len(q.names))
    )
    unpivot = " UNION ALL ".join(
        f"SELECT contact_id, t, NOT h_{i} AS from_time, {i} AS segment, m_{i} AS enter "
        f"FROM lagged WHERE m_{i} <> p_{i}"
        for i in range(len(q.names))
    )
    return evaluations, lags, unpivot


def transitions_sql(
    names: Sequence[str],
    conditions: Mapping[str, Any],
    types: Mapping[str, str],
    catalog: EventCatalog,
    end_us: int,
    contacts_sql: str | None = None,
) -> tuple[str, list[Any]]:
    """The SQL of every transition of validated segments before ``end_us``, and its parameters.

    Rows: ``t, contact_id, segment, enter, nth, from_time`` (see
    :func:`segsim.segments.transition_query`).
    """
    q = _inputs(names, conditions, types, catalog, end_us)
    sources, params = _change_sources(q)
    if not sources:
        return EMPTY_TRANSITIONS, []
    raw = " UNION ALL ".join(f"({s})" for s in sources)
    if contacts_sql:
        raw = f"SELECT * FROM ({raw}) WHERE {contacts_sql}"
    fill_sql, state_sql = _fill(q)
    evaluations, lags, unpivot = _evaluate(q)
    sql = f"""
        WITH raw AS ({raw}),
        instants AS (SELECT contact_id, t, {_pivot(q)} FROM raw GROUP BY contact_id, t),
        filled AS (
            SELECT contact_id, t, lead(t) OVER w AS t_next, {fill_sql}
            FROM instants
            WINDOW w AS (PARTITION BY contact_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        state AS (SELECT contact_id, t, t_next, {state_sql} FROM filled),
        timed AS ({_time_boundaries(q)}),
        evaluated AS (SELECT contact_id, t, {evaluations} FROM timed),
        lagged AS (
            SELECT contact_id, t, {lags} FROM evaluated
            WINDOW w AS (PARTITION BY contact_id ORDER BY t)
        ),
        transitions AS ({unpivot})
        SELECT t, contact_id, segment, enter,
               (sum(enter::INTEGER) OVER (PARTITION BY contact_id, segment ORDER BY t
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::BIGINT AS nth,
               from_time
        FROM transitions"""
    return sql, params
