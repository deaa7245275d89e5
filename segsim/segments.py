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

The SQL is built stage by stage in :mod:`segsim._transitions` (one named function per step).

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

from segsim._internal.frames import SEGMENT_EVENTS
from segsim._internal.models import FrozenModel
from segsim._time import parse_instant, to_timestamp, to_us
from segsim._transitions import transitions_sql
from segsim.conditions import (
    Condition,
    segments_used,
    unknown_lists,
    validate_condition,
)
from segsim.errors import SegmentError, SegsimWarning
from segsim.event_conditions import EventCatalog

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

    The SQL is built in named stages by :mod:`segsim._transitions`.
    """
    types = dict(store.attribute_types if types is None else types)
    catalog = EventCatalog.of(store) if events is None else events
    conditions = validate_segments(segments, types, events=catalog)
    names = [s.name for s in segments]
    end_us = end if isinstance(end, int) else to_us(end)  # an int is already epoch µs
    sql, params = transitions_sql(names, conditions, types, catalog, end_us, contacts_sql)
    return TransitionQuery(sql=sql, params=params, segments=names)


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


# labels taken by index (a take from an object array, not np.where on strings: ~15x faster)
_EXIT_ENTER = np.array(["exit", "enter"], dtype=object)
_HISTORY_TIME = np.array(["history", "time"], dtype=object)


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
            "event": pd.Series(_EXIT_ENTER[enter.astype(np.intp)], dtype=object),
            "nth": frame["nth"].astype("int64"),
            "cause": pd.Series(_HISTORY_TIME[from_time.astype(np.intp)], dtype=object),
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
