"""The transitions the event loop reads: the precomputed segment transitions of a plan as one
DuckDB query (:func:`transitions_table`), streamed in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from segsim.engine.plan import Plan
from segsim.engine.responses import events_stand_in
from segsim.segments import transition_query


def transitions_sql(plan: Plan, store: Any, contacts_sql: str | None) -> tuple[str, list[Any]]:
    """The query of the transitions the event loop reads, in its order (with parameters).

    Rows: ``t, contact_id, segment, enter, nth, from_time, initial``; memberships held just
    before ``start`` come first, at ``start``, with ``initial`` true — except those that end
    exactly at ``start`` (the changes of ``start`` apply first: no member then).
    """
    segments = [*plan.segments, *plan.hidden]
    query = transition_query(
        store, segments, plan.end, contacts_sql=contacts_sql, types=plan.types, events=plan.events
    )
    sql = f"""
        WITH {events_stand_in(plan, store)} q AS ({query.sql}),
        initial AS (
            SELECT contact_id, segment, arg_max(enter, t) AS member, arg_max(nth, t) AS nth
            FROM q WHERE t < {plan.start} GROUP BY contact_id, segment)
        SELECT {plan.start}::BIGINT AS t, contact_id, segment, TRUE AS enter, nth,
               FALSE AS from_time, TRUE AS initial
        FROM initial i WHERE member AND NOT EXISTS (
            SELECT 1 FROM q WHERE q.t = {plan.start} AND NOT q.enter
                AND q.contact_id = i.contact_id AND q.segment = i.segment)
        UNION ALL
        SELECT t, contact_id, segment, enter, nth, from_time, FALSE FROM q WHERE t >= {plan.start}
        ORDER BY t, initial DESC, contact_id, segment"""
    return sql, list(query.params)


def transitions_table(plan: Plan, store: Any, contacts_sql: str | None = None) -> pa.Table:
    """Every precomputed transition of a plan, as the event loop reads them (an Arrow table).

    Pass it (or a row filter of it, which keeps the order) as ``Simulation(...,
    transitions=...)`` to run the same plan again without querying DuckDB. It depends only
    on the plan's tracked conditions, attribute types and window, not on steps or settings.
    """
    if store.id_type is None:
        return pa.table({})
    sql, params = transitions_sql(plan, store, contacts_sql)
    cursor = store.con.cursor()
    try:
        return cursor.sql(sql, params=params).to_arrow_table()
    finally:
        cursor.close()


def batches(reader: Any) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def by_instant(columns: Any) -> tuple[list[Any], list[tuple], list[int]]:
    """Rows of transitions (a batch or table, ordered by time) as the event loop reads them:
    their times, their rows (tuples of the seven columns) and where each instant starts in
    them (with the end last), found with numpy instead of comparing row by row."""
    values = [columns.column(i).to_pylist() for i in range(7)]
    rows = list(zip(*values, strict=True))
    times = columns.column(0).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(times[1:] != times[:-1]) + 1).tolist(), len(rows)]
    return values[0], rows, starts
