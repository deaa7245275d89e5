"""Writing typed rows into the store: one transaction, all or nothing.

A loader hands a :class:`Plan`: the SQL producing the typed rows (with the value checks
embedded, see :mod:`segsim.store.values`), the table they go to and how rows meet rows already
there. :func:`write` runs it inside one DuckDB transaction; any error rolls it back, so a
failed load leaves the store exactly as it was.

Two ways to write, chosen per load:

* **direct** — the table is empty and nothing needs comparing with stored rows: the rows are
  inserted straight from the source. Repeated keys within the load are then looked for with a
  64-bit hash of each key, sorted in NumPy; if any hash repeats (a repeated key, or a rare
  collision) the transaction is rolled back and the load redone the staged way, which is exact.
* **staged** — the typed rows go to a temporary table first; repeated keys, conflicts with
  stored rows (``on_conflict``) and event ids already stored are resolved there by joins.

Either way the rows' values are parsed once, by the query that writes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from segsim import schema
from segsim._internal.sql import quote_identifier
from segsim._time import to_timestamp
from segsim.errors import DataLoadError
from segsim.store.values import Check, Layout, first_failure

__all__ = ["Plan", "write"]

STAGED = "segsim_staged"


@dataclass
class Plan:
    """What to write and how it meets what is stored."""

    table: str
    columns: list[str]  # the stored columns the select produces, after ``_pos``
    select: str  # SELECT _pos, <columns> FROM <view>, value checks embedded
    checks: Sequence[Sequence[Check]]  # the embedded checks, in the order errors are reported
    id_type: str
    prepare: Callable[[duckdb.DuckDBPyConnection], None]  # catalog rows and DDL, in the transaction
    key: list[str] = field(default_factory=list)  # unique key (attributes, lists)
    values: list[str] = field(default_factory=list)  # compared where keys meet
    noun: str = "attribute"  # what the key's third column names, in messages
    on_conflict: str = "error"
    event_ids: bool = False  # events with an event_id column: skip or refuse known ids
    compared: list[str] = field(default_factory=list)  # event fields that make an occurrence
    restage: Callable[[duckdb.DuckDBPyConnection], None] | None = None  # staged rows -> changes


class _Repeated(Exception):
    """A direct write found a repeated key hash: redo it the staged way."""


def write(con: duckdb.DuckDBPyConnection, layout: Layout, plan: Plan, tables: set[str]) -> int:
    """Run ``plan`` in one transaction; the number of rows written."""
    empty = (
        plan.table not in tables
        or not con.execute(f"SELECT count(*) FROM {plan.table}").fetchall()[0][0]
    )
    direct = empty and plan.restage is None
    try:
        return _attempt(con, layout, plan, tables, direct)
    except _Repeated:
        return _attempt(con, layout, plan, tables, False)


def _attempt(
    con: duckdb.DuckDBPyConnection, layout: Layout, plan: Plan, tables: set[str], direct: bool
) -> int:
    con.execute("BEGIN TRANSACTION")
    try:
        if schema.META not in tables:
            for statement in schema.create_statements(plan.id_type):
                con.execute(statement)
            con.execute(
                f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', ?)",
                [schema.SCHEMA_VERSION, plan.id_type],
            )
        plan.prepare(con)
        columns = ", ".join(quote_identifier(c) for c in plan.columns)
        if direct:
            written = _guarded(
                con,
                f"INSERT INTO {plan.table} ({columns}) SELECT {columns} FROM ({plan.select})",
            )
            if _repeats(con, plan):
                raise _Repeated
        else:
            _guarded(con, f"CREATE OR REPLACE TEMP TABLE {STAGED} AS {plan.select}")
            if plan.key:
                _resolve_repeats(con, layout, plan)  # before restaging: it compares rows
            if plan.restage is not None:
                plan.restage(con)
            if plan.key:
                written = _merge_keyed(con, layout, plan, columns)
            else:
                written = _merge_events(con, layout, plan, columns)
        con.execute(f"DROP TABLE IF EXISTS {STAGED}")
        con.execute("COMMIT")
    except _CheckFailed as failed:
        con.execute("ROLLBACK")
        error = first_failure(con, layout, plan.checks)
        if error is None:
            error = DataLoadError(f"{layout.source.label} cannot be loaded: {failed.reason}")
        raise error from None
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return written


class _CheckFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _guarded(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Run a statement whose values are checked inside it; the rows it affected."""
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise _CheckFailed(str(exc).strip().splitlines()[0]) from None
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def _repeats(con: duckdb.DuckDBPyConnection, plan: Plan) -> bool:
    """Whether any key (or event id) of the freshly filled table may repeat: equal hashes."""
    if plan.key:
        sql = f"SELECT hash({', '.join(plan.key)}) AS h FROM {plan.table}"
    elif plan.event_ids:
        sql = f"SELECT hash(event_id) AS h FROM {plan.table} WHERE event_id IS NOT NULL"
    else:
        return False
    hashes = con.sql(sql).fetchnumpy()["h"]
    if len(hashes) < 2:
        return False
    hashes.sort()
    return bool(np.any(hashes[1:] == hashes[:-1]))


# -- attribute and list rows: unique keys ---------------------------------------------------------


def _resolve_repeats(con: duckdb.DuckDBPyConnection, layout: Layout, plan: Plan) -> None:
    """Keys repeated within the load: identical rows are kept once; different values are an
    error, or (``on_conflict="last"``) the later row is kept."""
    key, values = plan.key, plan.values
    keys = ", ".join(key)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE segsim_repeats AS
            SELECT {keys}, min(_pos) AS first_pos, max(_pos) AS last_pos
            FROM {STAGED} GROUP BY {keys} HAVING count(*) > 1"""
    )
    try:
        if not con.execute("SELECT count(*) FROM segsim_repeats").fetchall()[0][0]:
            return
        if plan.on_conflict == "error":
            clash = _first(
                con,
                f"""SELECT r.first_pos, s._pos, {_cols("s", key)}, {_cols("f", values)}, {_cols("s", values)}
                    FROM segsim_repeats r JOIN {STAGED} f ON f._pos = r.first_pos
                    JOIN {STAGED} s ON {_on("s", "r", key)}
                    WHERE {_differ("s", "f", values)} ORDER BY r.first_pos, s._pos LIMIT 1""",
            )
            if clash is not None:
                a, b, cid, ts, name = clash[:5]
                width = len(values)
                first, other = _value_of(clash[5 : 5 + width]), _value_of(clash[5 + width :])
                raise layout.fail(
                    f"contact {cid!r} has two different values of {plan.noun} {name!r} at "
                    f"{to_timestamp(ts)}: {first!r} here and {other!r} at "
                    f"{layout.source.row(layout.row(int(b)))}; pass on_conflict='last' to keep "
                    "the later row",
                    None,
                    int(a),
                )
        con.execute(
            f"""DELETE FROM {STAGED} s USING segsim_repeats r
                WHERE {_on("s", "r", key)} AND s._pos <> r.last_pos"""
        )
    finally:
        con.execute("DROP TABLE IF EXISTS segsim_repeats")


def _merge_keyed(con: duckdb.DuckDBPyConnection, layout: Layout, plan: Plan, columns: str) -> int:
    """Staged rows (keys now unique) against stored ones: identical rows are not written
    again; a stored row with another value is an error, or (``"last"``) replaced."""
    key, values, table = plan.key, plan.values, plan.table
    clash = _first(
        con,
        f"""SELECT i._pos, {_cols("t", key)}, {_cols("t", values)}, {_cols("i", values)}
            FROM {STAGED} i JOIN {table} t ON {_on("t", "i", key)}
            WHERE {_differ("t", "i", values)} ORDER BY i._pos LIMIT 1""",
    )
    if clash is not None:
        if plan.on_conflict == "error":
            position, cid, ts, name = clash[:4]
            width = len(values)
            stored, new = _value_of(clash[4 : 4 + width]), _value_of(clash[4 + width :])
            raise layout.fail(
                f"contact {cid!r} at {to_timestamp(ts)} already has {plan.noun} {name!r} = "
                f"{stored!r} in the store, and this row says {new!r}; "
                "pass on_conflict='last' to keep this row",
                None,
                int(position),
            )
        # only the rows this load replaces: identical ones stay and are not counted
        con.execute(
            f"""DELETE FROM {table} t USING {STAGED} i
                WHERE {_on("t", "i", key)} AND {_differ("t", "i", values)}"""
        )
    return int(
        con.execute(
            f"""INSERT INTO {table} ({columns}) SELECT {_cols("i", plan.columns)} FROM {STAGED} i
                WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {_on("t", "i", key)})"""
        ).fetchall()[0][0]
    )


# -- event occurrences: event ids ----------------------------------------------------------------


def _merge_events(con: duckdb.DuckDBPyConnection, layout: Layout, plan: Plan, columns: str) -> int:
    if plan.event_ids:
        compared = plan.compared
        # a later row repeating an event id of this load: the same occurrence is kept once
        clash = _first(
            con,
            f"""WITH firsts AS (
                    SELECT event_id, min(_pos) AS first_pos FROM {STAGED}
                    WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1)
                SELECT f._pos, s._pos, s.event_id, {_cols("f", compared)}, {_cols("s", compared)}
                FROM firsts r JOIN {STAGED} f ON f._pos = r.first_pos
                JOIN {STAGED} s ON s.event_id = r.event_id AND s._pos <> f._pos
                WHERE {_differ("s", "f", compared)} ORDER BY f._pos, s._pos LIMIT 1""",
        )
        if clash is not None:
            a, b, event_id = clash[:3]
            what = _difference(compared, clash[3 : 3 + len(compared)], clash[3 + len(compared) :])
            raise layout.fail(
                f"event id {event_id!r} names two different occurrences: {what[0]} here and "
                f"{what[1]} at {layout.source.row(layout.row(int(b)))}; an event id names one "
                "occurrence",
                "event_id",
                int(a),
            )
        con.execute(
            f"""DELETE FROM {STAGED} s USING (
                    SELECT event_id, min(_pos) AS first_pos FROM {STAGED}
                    WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1) r
                WHERE s.event_id = r.event_id AND s._pos <> r.first_pos"""
        )
        clash = _first(
            con,
            f"""SELECT i._pos, i.event_id, {_cols("t", compared)}, {_cols("i", compared)}
                FROM {STAGED} i JOIN {plan.table} t ON t.event_id = i.event_id
                WHERE {_differ("t", "i", compared)} ORDER BY i._pos LIMIT 1""",
        )
        if clash is not None:
            position, event_id = clash[:2]
            what = _difference(compared, clash[2 : 2 + len(compared)], clash[2 + len(compared) :])
            raise layout.fail(
                f"event id {event_id!r} is already stored for a different occurrence: "
                f"{what[0]} in the store, {what[1]} in this row; an event id names one occurrence",
                "event_id",
                int(position),
            )
        con.execute(
            f"""DELETE FROM {STAGED} i USING {plan.table} t WHERE t.event_id = i.event_id"""
        )
    return int(
        con.execute(
            f"INSERT INTO {plan.table} ({columns}) SELECT {_cols('i', plan.columns)} FROM {STAGED} i"
        ).fetchall()[0][0]
    )


# -- SQL and message helpers ----------------------------------------------------------------------


def _cols(alias: str, names: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{quote_identifier(n)}" for n in names)


def _on(a: str, b: str, names: Sequence[str]) -> str:
    return " AND ".join(f"{a}.{quote_identifier(n)} = {b}.{quote_identifier(n)}" for n in names)


def _differ(a: str, b: str, names: Sequence[str]) -> str:
    if not names:
        return "FALSE"
    return (
        "("
        + " OR ".join(
            f"{a}.{quote_identifier(n)} IS DISTINCT FROM {b}.{quote_identifier(n)}" for n in names
        )
        + ")"
    )


def _first(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def _value_of(values: Sequence[Any]) -> Any:
    """The value a row holds in its typed columns (None for an unset attribute)."""
    for value in values:
        if value is not None:
            return value.isoformat() if hasattr(value, "isoformat") else value
    return None


def _difference(
    names: Sequence[str], first: Sequence[Any], second: Sequence[Any]
) -> tuple[str, str]:
    """How two occurrences differ, as two phrases: the first field that differs."""
    for name, a, b in zip(names, first, second, strict=True):
        if a != b:
            label = name.removeprefix("prop:")
            return f"{label} {_shown(a)}", f"{label} {_shown(b)}"
    return "", ""


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if hasattr(value, "isoformat"):
        with contextlib.suppress(ValueError, TypeError):
            return str(to_timestamp(value))
    return repr(value)
