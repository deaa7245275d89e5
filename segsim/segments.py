"""Segments: named conditions, and their entry/exit transitions computed in DuckDB in bulk.

A segment's membership is a function of a contact's state (attributes and lists) and of
time (``older_than``/``within_last``). :func:`segment_events` computes every transition
of every contact in one DuckDB query:

1. the changes of the attributes and lists the segments use are grouped by
   ``(contact, instant)`` and pivoted into one column each (``a_<i>``, ``l_<i>``);
2. each column is filled forward with ``last_value(... IGNORE NULLS)`` over a struct, so
   an attribute that became unset stays unset (the struct is present, its field NULL);
3. for every time-relative leaf, the instants where it can flip between two changes
   (``value + d``, and ``value`` itself for ``within_last``) are added as rows carrying
   the state before them — the condition is constant between these instants;
4. every segment's condition, compiled to SQL by :mod:`segsim.conditions`, is evaluated on
   every row, and ``lag`` finds the rows where membership changes.

Event conditions (:mod:`segsim.event_conditions`) add rows of their own to step 1: the
occurrences of the events they read (one increment column per measure: a count, a sum or the
latest instant) and the instants ``ts + d`` where an occurrence leaves a window; step 2
computes each measure with a window frame ``RANGE BETWEEN d - 1 PRECEDING AND CURRENT ROW``
over the contact's instants, and an occurrence of a read event at an instant makes its
transitions ``history`` rather than ``time``.

The history before ``start`` only builds state (and counts toward ``nth``); only
transitions inside ``[start, end)`` are returned.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from segsim import schema
from segsim._internal.frames import SEGMENT_EVENTS
from segsim._internal.models import FrozenModel
from segsim._internal.sql import quote_literal
from segsim._time import parse_instant, to_timestamp, to_us
from segsim.conditions import (
    Condition,
    attributes_used,
    evaluate,
    lists_used,
    segments_used,
    time_relative_leaves,
    to_sql,
    unknown_lists,
    validate_condition,
)
from segsim.errors import SegmentError, SegsimWarning
from segsim.event_conditions import (
    EventCatalog,
    EventSum,
    event_leaves,
    measure_key,
    where_sql,
    window_us,
)

__all__ = [
    "Segment",
    "members",
    "segment_events",
    "segment_sizes",
    "validate_segments",
]


class Segment(FrozenModel):
    """A named condition on a contact's state; contacts enter when it turns true.

    Parameters
    ----------
    name : str
        Unique within a scenario.
    where : Condition
        For example ``all_of(attr("plan") == "pro", attr("ltv") >= 100)``.

    Examples
    --------
    >>> from segsim import attr
    >>> Segment("Lapsed", attr("last_purchase_at").older_than("90d"))
    Segment('Lapsed', last_purchase_at older_than 90d)
    """

    name: str = Field(min_length=1)
    where: Condition

    def __init__(self, name: str | None = None, /, where: Any = None, **data: Any) -> None:
        if name is not None:
            data["name"] = name
        if where is not None:
            data["where"] = where
        super().__init__(**data)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a segment name must not be blank")
        return value

    def __repr__(self) -> str:
        return f"Segment({self.name!r}, {self.where})"


# -- validation --------------------------------------------------------------------------------


def validate_segments(
    segments: Iterable[Segment],
    attribute_types: Mapping[str, str],
    *,
    events: EventCatalog | None = None,
) -> dict[str, Condition]:
    """Check segments against each other and the store; return ``{name: normalised condition}``.

    Raises :class:`~segsim.errors.SegmentError` for duplicate names and reference cycles,
    and :class:`~segsim.errors.ConditionError` for unknown attributes or segments and
    comparisons across types; event conditions are checked against ``events`` (see
    :func:`segsim.conditions.validate_condition`).
    """
    segments = list(segments)
    for segment in segments:
        if not isinstance(segment, Segment):
            raise TypeError(f"expected Segment objects, got {type(segment).__name__}: {segment!r}")
    by_name: dict[str, Segment] = {}
    for segment in segments:
        if segment.name in by_name:
            raise SegmentError(
                f"two segments are named {segment.name!r}; segment names must be unique"
            )
        by_name[segment.name] = segment
    conditions = {
        name: validate_condition(
            segment.where,
            attribute_types,
            segment_names=by_name,
            where=f"segment {name!r}",
            events=events,
        )
        for name, segment in by_name.items()
    }
    _check_cycles(conditions)
    return conditions


def _check_cycles(conditions: Mapping[str, Condition]) -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise SegmentError(
                "segments refer to each other in a cycle: " + " -> ".join(repr(n) for n in cycle)
            )
        state[name] = 1
        for ref in sorted(segments_used(conditions[name])):
            visit(ref, [*path, name])
        state[name] = 2

    for name in conditions:
        visit(name, [])


# -- the transitions query ---------------------------------------------------------------------


@dataclass(frozen=True)
class TransitionQuery:
    """The SQL computing every transition of some segments, with what it needs to run."""

    sql: str
    params: list[Any]
    segments: list[str]


def transition_query(
    store: Any,
    segments: Sequence[Segment],
    end: Any,
    *,
    contacts_sql: str | None = None,
    types: Mapping[str, str] | None = None,
    events: EventCatalog | None = None,
) -> TransitionQuery:
    """Build the query of all transitions before ``end`` over the whole history.

    ``end`` is timestamp-like, or an ``int`` of epoch microseconds.

    Its rows are ``t`` (epoch µs), ``contact_id``, ``segment`` (index into ``segments``),
    ``enter`` (bool), ``nth`` and ``from_time`` (the instant came from a time boundary),
    unordered. ``contacts_sql``, a SQL boolean over ``contact_id``, restricts the contacts
    (used to shard a run by contact). ``types`` overrides the store's attribute types (the
    engine adds attributes that only flow actions set); ``events`` the store's event catalog
    (the engine adds the response events a response model simulates).
    """
    types = dict(store.attribute_types if types is None else types)
    catalog = EventCatalog.of(store) if events is None else events
    conditions = validate_segments(segments, types, events=catalog)
    names = [s.name for s in segments]
    attributes: set[str] = set()
    lists: set[str] = set()
    leaves: set[tuple[str, int, str]] = set()
    measures: dict[tuple[Any, ...], Any] = {}  # what event leaves measure -> a leaf of it
    for name in names:
        attributes |= attributes_used(conditions[name], conditions)
        lists |= lists_used(conditions[name], conditions)
        leaves |= {
            leaf
            for leaf in time_relative_leaves(conditions[name], conditions)
            if leaf[2] != "event"  # event windows: rows at ts + d, below
        }
        for leaf in event_leaves(conditions[name], conditions):
            measures.setdefault(measure_key(leaf), leaf)
    e_col = {key: f"e_{i}" for i, key in enumerate(measures)}
    attribute_list = sorted(attributes)
    list_list = sorted(lists)
    a_col = {name: f"a_{i}" for i, name in enumerate(attribute_list)}
    l_col = {name: f"l_{i}" for i, name in enumerate(list_list)}
    end_us = end if isinstance(end, int) else to_us(end)  # an int is already epoch µs
    params: list[Any] = []

    # 1. the used changes, grouped by (contact, instant), one column per attribute/list
    sources = []
    if attribute_list:
        sources.append(
            f"""SELECT contact_id, epoch_us(ts) AS t, attribute AS name, FALSE AS is_list,
                       v_string, v_number, v_boolean, epoch_us(v_timestamp) AS v_time
                FROM {schema.CHANGES}
                WHERE ts < make_timestamp(?) AND attribute IN (SELECT unnest(?::VARCHAR[]))"""
        )
        params += [end_us, attribute_list]
    if list_list:
        sources.append(
            f"""SELECT contact_id, epoch_us(ts) AS t, list AS name, TRUE AS is_list,
                       NULL::VARCHAR AS v_string, NULL::DOUBLE AS v_number, member AS v_boolean,
                       NULL::BIGINT AS v_time
                FROM {schema.LIST_CHANGES}
                WHERE ts < make_timestamp(?) AND list IN (SELECT unnest(?::VARCHAR[]))"""
        )
        params += [end_us, list_list]
    birth = any(
        evaluate(conditions[n], {}, (), 0, types=types, segments=conditions, events=catalog)
        for n in names
    )
    if birth:
        # A segment that holds on an empty state (is_not_set, not_ ...) holds from the
        # contact's first recorded change of anything (events included): add that instant.
        event_times = (
            f" UNION ALL SELECT contact_id, epoch_us(ts) FROM {schema.EVENTS}"
            if catalog.names
            else ""
        )
        sources.append(
            f"""SELECT contact_id, min(t) AS t, '' AS name, FALSE AS is_list, NULL::VARCHAR AS v_string,
                       NULL::DOUBLE AS v_number, NULL::BOOLEAN AS v_boolean, NULL::BIGINT AS v_time
                FROM (SELECT contact_id, epoch_us(ts) AS t FROM {schema.CHANGES}
                      UNION ALL SELECT contact_id, epoch_us(ts) FROM {schema.LIST_CHANGES}{event_times})
                WHERE t < ? GROUP BY contact_id"""
        )
        params.append(end_us)
    # event occurrences (one increment column per measure) and the instants ts + d where
    # an occurrence leaves a window; both are rows with no attribute or list change
    increments = [
        f"NULL::{'DOUBLE' if key[0] == 'sum' else 'INTEGER'} AS inc_{e_col[key][2:]}"
        for key in measures
    ]
    sources = [f"SELECT *, {', '.join(increments)} FROM ({s})" if measures else s for s in sources]
    if measures:
        every_leaf = [e for n in names for e in event_leaves(conditions[n], conditions)]
        sources += _event_sources(measures, e_col, catalog, end_us, every_leaf)
    if not sources:
        return TransitionQuery(sql=_NO_TRANSITIONS, params=[], segments=names)
    raw = " UNION ALL ".join(f"({s})" for s in sources)
    if contacts_sql:
        raw = f"SELECT * FROM ({raw}) WHERE {contacts_sql}"

    pivots = []
    fills = []
    for name in attribute_list:
        col = a_col[name]
        value = schema.VALUE_COLUMN[types[name]] if types[name] != "timestamp" else "v_time"
        match = f"NOT is_list AND name = {quote_literal(name)}"
        pivots.append(
            f"coalesce(bool_or({match}), FALSE) AS ch_{col}, "
            f"any_value({value}) FILTER (WHERE {match}) AS v_{col}"
        )
        fills.append(
            f"last_value(CASE WHEN ch_{col} THEN {{'v': v_{col}}} END IGNORE NULLS) OVER w AS s_{col}"
        )
    for name in list_list:
        col = l_col[name]
        match = f"is_list AND name = {quote_literal(name)}"
        pivots.append(
            f"coalesce(bool_or({match}), FALSE) AS ch_{col}, "
            f"any_value(v_boolean) FILTER (WHERE {match}) AS v_{col}"
        )
        fills.append(
            f"last_value(CASE WHEN ch_{col} THEN {{'v': v_{col}}} END IGNORE NULLS) OVER w AS s_{col}"
        )
    # ch_birth: the contact's first recorded change of anything (see above)
    pivots.append(
        "coalesce(bool_or(name = '' AND NOT is_list), FALSE) AS ch_birth"
        if birth
        else "FALSE AS ch_birth"
    )
    # an event measure: its increments at the instant (c_), whether a matching occurrence
    # happened then (ch_), and its value at the instant over its window (e_)
    event_fills = []
    for key, col in e_col.items():
        i = col[2:]
        pivots.append(f"{'fsum' if key[0] == 'sum' else 'sum'}(inc_{i}) AS c_{i}")
        window = key[4]
        frame = (
            "OVER w"
            if window is None
            else f"OVER (PARTITION BY contact_id ORDER BY t RANGE BETWEEN {int(window) - 1} "
            "PRECEDING AND CURRENT ROW)"
        )
        if key[0] == "last":
            event_fills.append(f"max(CASE WHEN c_{i} > 0 THEN t END) OVER w AS {col}")
        else:
            event_fills.append(f"{'fsum' if key[0] == 'sum' else 'sum'}(c_{i}) {frame} AS {col}")
    # an occurrence of an event (matching or not) at the instant: a history change of the
    # segments reading the event (occurrence rows have is_list NULL and the event as name)
    ev_col = {name: f"ev_{i}" for i, name in enumerate(sorted({k[1] for k in measures}))}
    for name, col in ev_col.items():
        pivots.append(
            f"coalesce(bool_or(is_list IS NULL AND name = {quote_literal(name)}), FALSE) AS ch_{col}"
        )
    columns = [*a_col.values(), *l_col.values()]
    flags = [*(f"ch_{c}" for c in columns), *(f"ch_{c}" for c in ev_col.values()), "ch_birth"]
    pivot_sql = ", ".join(pivots)
    fill_sql = ", ".join(fills + event_fills + flags)
    # a flag says the input *changed* at the instant: a row re-setting an attribute to its
    # current value (or a list membership the contact has) is no change (not "history")
    changes = [
        f"ch_{c} AND {_state(c, c in l_col.values())} IS DISTINCT FROM "
        f"lag({_state(c, c in l_col.values())}) OVER (PARTITION BY contact_id ORDER BY t) AS ch_{c}"
        for c in columns
    ]
    state_cols = ", ".join(
        [
            *(f"s_{c}.v AS {c}" for c in columns),
            *changes,
            *e_col.values(),
            *(f"ch_{c}" for c in ev_col.values()),
            "ch_birth",
        ]
    )
    carry = "".join(f", {c}" for c in [*columns, *e_col.values()])
    unchanged = "".join(f", FALSE AS {f}" for f in flags)
    changed = "".join(f", {f}" for f in flags)

    # 3. time boundaries strictly between two changes of the contact
    boundaries = []
    for attribute, duration_us, kind in sorted(leaves):
        col = a_col[attribute]
        instants = [f"{col} + {int(duration_us)}"]
        if kind == "within_last":
            instants.append(col)
        for instant in instants:
            boundaries.append(
                f"""SELECT contact_id, {instant} AS t{carry}{unchanged} FROM state
                    WHERE {instant} > t AND {instant} < coalesce(t_next, {end_us})"""
            )
    timed = f"SELECT contact_id, t{carry}{changed} FROM state"
    if boundaries:
        timed += " UNION ALL SELECT DISTINCT * FROM (" + " UNION ALL ".join(boundaries) + ")"

    # 4. evaluate every segment at every instant
    def column(name: str) -> str:
        return a_col[name]

    def list_column(name: str) -> str:
        return l_col[name]

    def inputs_changed(name: str) -> str:
        """Did one of this segment's own inputs change at the row (else time made it turn)?"""
        read = [f"ch_{a_col[a]}" for a in sorted(attributes_used(conditions[name], conditions))]
        read += [f"ch_{l_col[n]}" for n in sorted(lists_used(conditions[name], conditions))]
        read += sorted(
            {f"ch_{ev_col[e.event]}" for e in event_leaves(conditions[name], conditions)}
        )
        return " OR ".join([*read, "ch_birth"])

    def event_column(leaf: Any) -> str:
        return e_col[measure_key(leaf)]

    evaluations = ", ".join(
        f"({to_sql(conditions[name], column=column, list_column=list_column, now='t', segments=conditions, types=types, event_column=event_column, events=catalog)}) AS m_{i}, "
        f"({inputs_changed(name)}) AS h_{i}"
        for i, name in enumerate(names)
    )
    lags = ", ".join(
        f"m_{i}, h_{i}, lag(m_{i}, 1, FALSE) OVER w AS p_{i}" for i in range(len(names))
    )
    unpivot = " UNION ALL ".join(
        f"SELECT contact_id, t, NOT h_{i} AS from_time, {i} AS segment, m_{i} AS enter FROM lagged WHERE m_{i} <> p_{i}"
        for i in range(len(names))
    )
    sql = f"""
        WITH raw AS ({raw}),
        instants AS (SELECT contact_id, t, {pivot_sql} FROM raw GROUP BY contact_id, t),
        filled AS (
            SELECT contact_id, t, lead(t) OVER w AS t_next{", " + fill_sql if fill_sql else ""}
            FROM instants
            WINDOW w AS (PARTITION BY contact_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        state AS (SELECT contact_id, t, t_next{", " + state_cols if state_cols else ""} FROM filled),
        timed AS ({timed}),
        evaluated AS (SELECT contact_id, t, {evaluations} FROM timed),
        lagged AS (
            SELECT contact_id, t, {lags} FROM evaluated
            WINDOW w AS (PARTITION BY contact_id ORDER BY t)
        ),
        transitions AS ({unpivot})
        SELECT t, contact_id, segment, enter,
               sum(enter::INTEGER) OVER (PARTITION BY contact_id, segment ORDER BY t
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nth,
               from_time
        FROM transitions"""
    return TransitionQuery(sql=sql, params=params, segments=names)


def _event_sources(
    measures: Mapping[tuple[Any, ...], Any],
    e_col: Mapping[tuple[Any, ...], str],
    catalog: EventCatalog,
    end_us: int,
    leaves: Iterable[Any],
) -> list[str]:
    """The event rows of the transitions query: occurrences, and the instants ``ts + d``.

    Only the events the measures read are scanned, and only the property columns their
    ``where`` and ``sum`` read.
    """
    from segsim._internal.sql import quote_identifier

    head = (
        "SELECT contact_id, {t} AS t, {name} AS name, NULL::BOOLEAN AS is_list, "
        "NULL::VARCHAR AS v_string, NULL::DOUBLE AS v_number, NULL::BOOLEAN AS v_boolean, "
        "NULL::BIGINT AS v_time"
    )
    increments = []
    for key, leaf in measures.items():
        i = e_col[key][2:]
        match = f"event = {quote_literal(leaf.event)} AND ({where_sql(leaf, catalog)})"
        if isinstance(leaf, EventSum):
            value = quote_identifier(schema.property_column(leaf.property))
            increments.append(f"CASE WHEN {match} THEN {value} END AS inc_{i}")
        else:
            increments.append(f"CASE WHEN {match} THEN 1 END AS inc_{i}")
    events = sorted({leaf.event for leaf in measures.values()})
    names = ", ".join(quote_literal(e) for e in events)
    out = [
        f"""{head.format(t="epoch_us(ts)", name="event")}, {", ".join(increments)}
            FROM {schema.EVENTS} WHERE ts < make_timestamp({end_us}) AND event IN ({names})"""
    ]
    nulls = ", ".join(
        f"NULL::{'DOUBLE' if key[0] == 'sum' else 'INTEGER'} AS inc_{e_col[key][2:]}"
        for key in measures
    )
    windows = set()
    for leaf in leaves:
        window = window_us(leaf)
        if window is not None:
            windows.add((leaf.event, where_sql(leaf, catalog), int(window)))
    for name, where, window in sorted(windows):
        t = f"epoch_us(ts) + {window}"
        out.append(
            f"""{head.format(t=t, name="NULL::VARCHAR")}, {nulls} FROM {schema.EVENTS}
                WHERE event = {quote_literal(name)} AND ({where}) AND ts < make_timestamp({end_us})
                  AND {t} < {end_us}"""
        )
    return out


def _state(column: str, is_list: bool) -> str:
    """The state of a pivoted input after an instant (a list: a membership, never unknown)."""
    return f"coalesce(s_{column}.v, FALSE)" if is_list else f"s_{column}.v"


_NO_TRANSITIONS = """SELECT NULL::BIGINT AS t, NULL::BIGINT AS contact_id, NULL::INTEGER AS segment,
    NULL::BOOLEAN AS enter, NULL::BIGINT AS nth, NULL::BOOLEAN AS from_time WHERE FALSE"""


# -- public functions --------------------------------------------------------------------------


def segment_events(
    store: Any,
    segments: Sequence[Segment] | Segment,
    start: Any,
    end: Any,
    *,
    include_existing_members: bool = False,
) -> pd.DataFrame:
    """Every segment entry and exit in ``[start, end)``, computed in DuckDB.

    Parameters
    ----------
    store : Store
    segments : Segment or sequence of Segment
        Segments may refer to each other with ``in_segment``; every referenced segment
        must be in the list.
    start, end : timestamp-like
        The window; naive means UTC. History before ``start`` only builds state.
    include_existing_members : bool
        Contacts already members at ``start`` enter at ``start`` (``cause="history"``,
        ``nth`` of the spell they are in) instead of being silent members.

    Returns
    -------
    DataFrame
        ``time, contact_id, segment, event, nth, cause`` (see docs/design.md §5), in time order
        (then contact, then the order of ``segments``; at one instant a contact's exits
        come before its entries). ``cause`` is ``"history"`` for a data change and
        ``"time"`` for a time-relative condition turning at its exact instant.
    """
    segments = [segments] if isinstance(segments, Segment) else list(segments)
    start_us, _end_us = _window(start, end)
    if not segments or not _has_data(store):
        return _empty_events()
    _warn_unknown_lists(store, segments)
    query = transition_query(store, segments, end)
    sql = f"""
        WITH q AS ({query.sql})
        SELECT t, contact_id, segment, enter, nth, from_time FROM q
        WHERE t >= {start_us}"""
    if include_existing_members:
        # members before start enter at start, unless they leave exactly then (the changes
        # at start apply first: such a contact is no member at start, and its exit stands)
        sql += f"""
        UNION ALL
        SELECT {start_us}, contact_id, segment, TRUE, nth, FALSE FROM (
            SELECT contact_id, segment, arg_max(enter, t) AS member, arg_max(nth, t) AS nth
            FROM q WHERE t < {start_us} GROUP BY contact_id, segment) i
        WHERE member AND NOT EXISTS (
            SELECT 1 FROM q WHERE q.t = {start_us} AND NOT q.enter
                AND q.contact_id = i.contact_id AND q.segment = i.segment)"""
    sql += " ORDER BY t, contact_id, segment, enter"
    frame = store.con.execute(sql, query.params).df()
    return _events_frame(frame, query.segments, store)


def _events_frame(frame: pd.DataFrame, names: Sequence[str], store: Any) -> pd.DataFrame:
    """The query's rows as the ``segment_events`` frame (vectorised: it can be millions)."""
    enter = frame["enter"].to_numpy(dtype=bool)
    from_time = frame["from_time"].to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "time": pd.to_datetime(frame["t"].astype("int64"), unit="us", utc=True).astype(
                "datetime64[us, UTC]"
            ),
            "contact_id": store._ids_out(frame["contact_id"]),
            "segment": pd.Series(
                np.asarray(names, dtype=object)[frame["segment"].to_numpy(dtype=np.int64)],
                dtype=object,
            ),
            "event": pd.Series(np.where(enter, "enter", "exit").astype(object), dtype=object),
            "nth": frame["nth"].astype("int64"),
            "cause": pd.Series(np.where(from_time, "time", "history").astype(object), dtype=object),
        }
    )
    return out.reset_index(drop=True)


def _empty_events() -> pd.DataFrame:
    return SEGMENT_EVENTS.empty("int64")


def _window(start: Any, end: Any) -> tuple[int, int]:
    start_us, end_us = to_us(parse_instant(start)), to_us(parse_instant(end))
    if start_us >= end_us:
        raise ValueError(
            f"start ({parse_instant(start)}) must be before end ({parse_instant(end)})"
        )
    return start_us, end_us


def _has_data(store: Any) -> bool:
    return store.id_type is not None


def _warn_unknown_lists(store: Any, segments: Sequence[Segment]) -> None:
    placed = [(f"segment {s.name!r}", s.where) for s in segments]
    for message in unknown_lists(placed, store.list_names):
        warnings.warn(message, SegsimWarning, stacklevel=3)


def _with_references(segments: Sequence[Segment], wanted: Segment) -> list[Segment]:
    if any(s.name == wanted.name for s in segments):
        return list(segments)
    return [*segments, wanted]


def members(
    store: Any, segment: Segment, at: Any, *, segments: Sequence[Segment] = ()
) -> pd.DataFrame:
    """The contacts in ``segment`` at instant ``at`` (transitions at ``at`` included).

    ``segments`` supplies the segments that ``segment`` refers to with ``in_segment``.
    Returns a frame with one column, ``contact_id``, sorted.
    """
    all_segments = _with_references(segments, segment)
    index = [s.name for s in all_segments].index(segment.name)
    if not _has_data(store):
        return pd.DataFrame({"contact_id": pd.Series(dtype=object)})
    _warn_unknown_lists(store, all_segments)
    query = transition_query(store, all_segments, parse_instant(at) + pd.Timedelta(1, "us"))
    frame = store.con.execute(
        f"""WITH q AS ({query.sql})
            SELECT contact_id FROM q WHERE segment = {index}
            GROUP BY contact_id HAVING arg_max(enter, t) ORDER BY contact_id""",
        query.params,
    ).df()
    return pd.DataFrame({"contact_id": store._ids_out(frame["contact_id"])})


def segment_sizes(
    store: Any, segments: Sequence[Segment] | Segment, start: Any, end: Any, freq: str = "D"
) -> pd.DataFrame:
    """Segment sizes over the window ``[start, end)``, per calendar period.

    Periods are calendar periods in UTC (``"h"``, ``"D"``, ``"W"`` = Monday to Sunday,
    ``"M"``, ``"Q"``, ``"Y"``) clipped to the window, as every period table of segsim
    (``docs/semantics.md``, Periods): the first starts at ``start``, the last ends at
    ``end``, and a clipped one is ``partial``.

    Returns ``period``, ``period_end``, ``partial``, ``segment``, ``entries`` and ``exits``
    (transitions in ``[period, period_end)``) and ``members`` (contacts in the segment at the
    period's end: the members before ``start`` plus entries minus exits so far), one row per
    period and segment — the frame :func:`segsim.analysis.segment_sizes_from_events` gives
    too, and :func:`segsim.plots.plot_segment_sizes` draws.
    """
    from segsim._internal.periods import as_window, period_freq, period_grid

    segments = [segments] if isinstance(segments, Segment) else list(segments)
    start_us, end_us = _window(start, end)
    key = period_freq(freq)
    grid = period_grid(key, as_window((to_timestamp(start), to_timestamp(end))))
    names = [s.name for s in segments]
    out = grid.merge(pd.DataFrame({"segment": pd.Series(names, dtype=object)}), how="cross")
    out["entries"] = 0
    out["exits"] = 0
    if not segments or not _has_data(store):
        out["members"] = 0
        return out.astype({"entries": "int64", "exits": "int64", "members": "int64"})
    _warn_unknown_lists(store, segments)
    query = transition_query(store, segments, end)
    unit = {"h": "hour", "D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}[key]
    frame = store.con.execute(
        f"""WITH q AS ({query.sql}),
            before AS (
                SELECT segment, count(*) AS n FROM (
                    SELECT contact_id, segment, arg_max(enter, t) AS member FROM q
                    WHERE t < {start_us} GROUP BY contact_id, segment) WHERE member GROUP BY segment)
            SELECT 'initial' AS what, segment, NULL::BIGINT AS period, n AS entries, 0 AS exits FROM before
            UNION ALL
            SELECT 'period', segment,
                   greatest(epoch_us(date_trunc('{unit}', make_timestamp(t))), {start_us}),
                   count(*) FILTER (WHERE enter), count(*) FILTER (WHERE NOT enter)
            FROM q WHERE t >= {start_us} AND t < {end_us} GROUP BY ALL""",
        query.params,
    ).df()
    initial = {
        names[int(r.segment)]: int(r.entries) for r in frame.itertuples() if r.what == "initial"
    }
    counts = {
        (int(r.period), names[int(r.segment)]): (int(r.entries), int(r.exits))
        for r in frame[frame["what"] == "period"].itertuples()
    }
    period_us = out["period"].to_numpy(dtype="datetime64[us]").astype("int64").tolist()
    keys = list(zip(period_us, out["segment"], strict=True))
    out["entries"] = [counts.get(k, (0, 0))[0] for k in keys]
    out["exits"] = [counts.get(k, (0, 0))[1] for k in keys]
    net = (out["entries"] - out["exits"]).groupby(out["segment"]).cumsum()
    out["members"] = out["segment"].map(lambda name: initial.get(name, 0)) + net
    return out.astype({"entries": "int64", "exits": "int64", "members": "int64"})
