"""Event triggers' occurrences: the rows of ``segsim_events`` that are trigger events.

An :class:`~segsim.flows.EventTrigger` makes each occurrence of its event in the window
whose properties satisfy its ``where`` one trigger event (docs/design.md §1.1, §4.3). The
plan lists every ``(event, where)`` some flow version triggers on
(:attr:`segsim.engine.plan.Plan.event_triggers`); one DuckDB query reads the occurrences
that match any of them, with one boolean per ``(event, where)``, in time order, and the
event loop streams them in batches beside the segment transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from segsim import schema
from segsim._internal.sql import quote_literal

#: rows per Arrow batch read from DuckDB
BATCH_ROWS = 200_000


def occurrences_sql(plan: Any, store: Any, contacts_sql: str | None) -> tuple[str, list[Any]]:
    """The query of the trigger occurrences, in the order the event loop reads them.

    Rows: ``t`` (epoch µs), ``contact_id``, then ``m0, m1, …``: whether the occurrence
    matches ``plan.event_triggers[i]``. Occurrences of one contact at one instant come in
    load order (``seq``).
    """
    matches = []
    for name, where in plan.event_triggers:
        match = f"event = {quote_literal(name)}"
        if where is not None:
            match += f" AND ({where_sql(where, store)})"
        matches.append(f"coalesce({match}, FALSE)")
    columns = ", ".join(f"{match} AS m{i}" for i, match in enumerate(matches))
    contacts = f" AND ({contacts_sql})" if contacts_sql else ""
    sql = f"""
        SELECT epoch_us(ts) AS t, contact_id, {columns}
        FROM {schema.EVENTS}
        WHERE ts >= make_timestamp(?) AND ts < make_timestamp(?)
          AND ({" OR ".join(matches)}){contacts}
        ORDER BY t, contact_id, seq"""
    return sql, [plan.start, plan.end]


def where_sql(where: Any, store: Any) -> str:
    """The SQL of a property condition over one ``segsim_events`` row (its ``prop:`` columns).

    The one SQL face of property conditions lives with them (:mod:`segsim.event_conditions`);
    it compiles the ``where`` of an event leaf, here of the leaf selecting the same occurrences.
    """
    from segsim.event_conditions import EventCatalog, EventExists
    from segsim.event_conditions import where_sql as leaf_where_sql

    selection = EventExists(event="trigger", where=where)
    return leaf_where_sql(selection, EventCatalog(None, store.event_property_types))


def read_occurrences(
    plan: Any,
    store: Any,
    contacts_sql: str | None,
    on_batch: Callable[[list[Any]], None] | None = None,
) -> Iterator[tuple[int, list[tuple[Any, tuple[bool, ...]]]]]:
    """The trigger occurrences grouped by instant: ``(t, [(contact_id, matches), ...])``.

    ``on_batch`` is called with the contact ids of each batch read, before its occurrences
    are yielded (the event loop prefetches histories with it).
    """
    if not plan.event_triggers or store.id_type is None or not store._has_events():
        return
    sql, params = occurrences_sql(plan, store, contacts_sql)
    cursor = store.con.cursor()
    try:
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        n = len(plan.event_triggers)
        current_t: int | None = None
        rows: list[tuple[Any, tuple[bool, ...]]] = []
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            times = batch.column(0).to_pylist()
            contacts = batch.column(1).to_pylist()
            flags = [batch.column(2 + i).to_pylist() for i in range(n)]
            if on_batch is not None:
                on_batch(contacts)
            for k, t in enumerate(times):
                if t != current_t:
                    if rows:
                        yield current_t, rows  # type: ignore[misc]
                    current_t, rows = t, []
                rows.append((contacts[k], tuple(bool(column[k]) for column in flags)))
        if rows:
            yield current_t, rows  # type: ignore[misc]
    finally:
        cursor.close()
