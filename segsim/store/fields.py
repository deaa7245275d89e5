"""The fields every history row has, read in DuckDB SQL: contact ids, timestamps, names.

Also list membership (``member``) and event ids. Each reader returns the SQL of the typed
field and the :class:`~segsim.store.values.Check` rules that name a bad value (see
:mod:`segsim.store.values` for how checks run).

Contact ids are integers or strings and come back exactly as given. A store holds one id type,
fixed by its first load of anything. Integer ids must fit 64 bits: an unsigned 64-bit id of
2**63 or more is refused (never wrapped to a negative number), naming the row and suggesting
string ids. A CSV cell has no type: ids that all read as integers without leading zeros are
integers, except in a store of string ids, where they are the strings as written.
"""

from __future__ import annotations

from typing import Any

import duckdb

from segsim._internal.sql import quote_literal
from segsim.store.sources import Column
from segsim.store.values import (
    FALSE_WORDS,
    INTEGER_ID,
    TRUE_WORDS,
    Check,
    Layout,
    first_failure,
    must,
    parse_timestamp,
    part,
    sql_list,
)

__all__ = ["contact_ids", "event_ids", "membership", "name_checks", "timestamps"]

_INT64_END = 2**63
_SPACES = "' ' || chr(9) || chr(10) || chr(13)"
_RANGE = "outside the 64-bit integer range; give such ids as strings"


def _any(prefix: str, parts: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{part(prefix, p)} IS NOT NULL" for p in parts) + ")"


def contact_ids(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    column: Column,
    store_type: str | None,
    where: str,
) -> tuple[str, str]:
    """``(id_type, SQL)`` of the contact ids under prefix ``id``; raises on a bad id.

    ``store_type`` is the store's id type (None before its first load), ``where`` names the
    store in messages.

    Every check runs up front, in one aggregate query: the id type decides how the rest is
    written.
    """
    p = "id"
    csv = layout.source.kind == "csv"
    text, ints, floats = part(p, "text"), part(p, "int"), part(p, "float")
    missing = f"NOT {_any(p, ('text', 'int', 'big', 'float', 'bool', 'ts', 'other'))}"
    if csv:
        missing = f"({text} IS NULL OR {text} = '')"

    def is_a(v: Any, e: tuple) -> str:
        return f"contact id {v!r} is a {type(v).__name__}; ids are integers or strings"

    structural = [Check("contact_id", missing, lambda v, e: "contact id is missing")]
    if column.dtype == "boolean":
        structural.append(
            Check(
                "contact_id",
                f"{part(p, 'bool')} IS NOT NULL",
                lambda v, e: "contact ids must be integers or strings, not booleans",
            )
        )
    structural.append(Check("contact_id", _any(p, ("bool", "ts", "other")), is_a))
    structural.append(
        Check(
            "contact_id",
            f"{floats} <> floor({floats})",
            lambda v, e: f"contact id {v!r} is not a whole number",
        )
    )
    error = first_failure(con, layout, [structural])
    if error is not None:
        raise error

    integers = f"({ints} IS NOT NULL OR {part(p, 'big')} IS NOT NULL OR {floats} IS NOT NULL)"
    looks_integer = f"regexp_full_match({text}, {quote_literal(INTEGER_ID)})"
    counts = con.execute(
        layout.sql(f"""SELECT count(*) FILTER (WHERE {text} IS NOT NULL), min(_pos) FILTER (WHERE {text} IS NOT NULL),
                   count(*) FILTER (WHERE {integers}), min(_pos) FILTER (WHERE {integers}),
                   {f"bool_and({looks_integer})" if csv and store_type != "string" else "FALSE"}
            FROM {layout.view}""")
    ).fetchall()[0]
    n_text, first_text, n_int, first_int, csv_integers = counts
    if n_text and n_int:
        position = first_text if n_text < n_int else first_int
        raise layout.fail(
            f"contact ids mix integers and strings (this one is "
            f"{layout.value('contact_id', int(position))!r}); use one type",
            "contact_id",
            int(position),
        )
    if csv and csv_integers:
        id_type, sql = "integer", f"TRY_CAST({text} AS BIGINT)"
        too_big = Check(
            "contact_id", f"{sql} IS NULL", lambda v, e: f"contact id {v!r} is {_RANGE}"
        )
    elif n_int:
        id_type = "integer"
        sql = f"coalesce({ints}, CAST({floats} AS BIGINT))"
        too_big = Check(
            "contact_id",
            f"({part(p, 'big')} IS NOT NULL OR NOT ({floats} >= {-float(_INT64_END)} "
            f"AND {floats} < {float(_INT64_END)}))",
            lambda v, e: f"contact id {int(v)!r} is {_RANGE}",
        )
    else:
        id_type, sql = "string", text
        too_big = Check("contact_id", f"{text} = ''", lambda v, e: "contact id is an empty string")
    error = first_failure(con, layout, [[too_big]])
    if error is not None:
        raise error
    if store_type is not None and id_type != store_type:
        if store_type == "string" and csv:
            return "string", text
        raise layout.source.fail(
            f"contact ids in the {where} are {store_type}s, but this data has "
            f"{id_type} ids such as {layout.value('contact_id', 0)!r}",
            column=layout.columns["contact_id"],
        )
    return id_type, sql


def timestamps(
    column: Column, field: str = "ts", prefix: str = "ts"
) -> tuple[str, list[Check], list[Check]]:
    """``(SQL, up-front checks, embedded checks)`` of a timestamp field (the SQL raises
    inside DuckDB on text that does not read as a timestamp)."""
    p = prefix
    numbers = ("int", "big", "float")

    def cannot(v: Any, e: tuple) -> str:
        return f"cannot read {v!r} as a timestamp"

    upfront = [
        Check(
            field,
            f"NOT {_any(p, ('text', 'int', 'big', 'float', 'bool', 'ts', 'other'))}",
            lambda v, e: "timestamp is missing",
        )
    ]
    if column.dtype in ("integer", "float"):
        upfront.append(
            Check(
                field,
                _any(p, numbers),
                lambda v, e: (
                    f"timestamps must be datetimes or ISO 8601 strings, not numbers like {v!r}"
                ),
            )
        )
    upfront.append(Check(field, _any(p, (*numbers, "bool", "other")), cannot))
    text = part(p, "text")
    parsed = parse_timestamp(text)
    embedded = [Check(field, f"{text} IS NOT NULL AND {parsed} IS NULL", cannot)]
    sql = f"CASE WHEN {text} IS NOT NULL THEN {must(parsed)} END"
    if "ts" in column.parts:
        sql = f"coalesce({part(p, 'ts')}, {sql})" if "text" in column.parts else part(p, "ts")
    return sql, upfront, embedded


def name_checks(field: str, noun: str, prefix: str = "name") -> list[Check]:
    """Up-front checks of a name field (an attribute, list or event name)."""
    text = part(prefix, "text")
    others = _any(prefix, ("int", "big", "float", "bool", "ts", "other"))
    return [
        Check(field, f"{text} IS NULL AND NOT {others}", lambda v, e: f"{noun} name is missing"),
        Check(
            field,
            # CASE, not AND: DuckDB evaluates both sides of an AND; the trim is for few rows
            f"{others} OR {text} = '' OR CASE WHEN {text} < '!' THEN trim({text}, {_SPACES}) = '' "
            "ELSE FALSE END",
            lambda v, e: f"{noun} name must be a non-empty string, got {v!r}",
        ),
    ]


def membership(prefix: str = "member") -> tuple[str, list[Check]]:
    """``(SQL, embedded checks)`` of list membership: a boolean, true/false or add/remove.

    The SQL raises inside DuckDB on anything else.
    """
    word = f"lower(trim({part(prefix, 'text')}))"
    read = (
        f"coalesce({part(prefix, 'bool')}, CASE WHEN {word} IN ({sql_list((*TRUE_WORDS, 'add'))}) "
        f"THEN TRUE WHEN {word} IN ({sql_list((*FALSE_WORDS, 'remove'))}) THEN FALSE END)"
    )
    check = Check(
        "member",
        f"{read} IS NULL",
        lambda v, e: f"member must be true/false (or add/remove), got {v!r}",
    )
    return must(read), [check]


def event_ids(prefix: str = "eid") -> tuple[str, list[Check]]:
    """``(SQL, up-front checks)`` of event ids, stored as text (an integer id as its digits)."""
    text, ints, floats = part(prefix, "text"), part(prefix, "int"), part(prefix, "float")
    sql = (
        f"coalesce(nullif({text}, ''), CAST({ints} AS VARCHAR), "
        f"CAST(CAST({floats} AS BIGINT) AS VARCHAR))"
    )
    checks = [
        Check(
            "event_id",
            f"{_any(prefix, ('bool', 'ts', 'other'))} OR {floats} <> floor({floats}) "
            f"OR NOT ({floats} >= {-float(_INT64_END)} AND {floats} < {float(_INT64_END)})",
            lambda v, e: (
                f"event id {v!r} is a {type(v).__name__}; event ids are strings or integers"
            ),
        ),
        Check(
            "event_id",
            f"{part(prefix, 'big')} IS NOT NULL",
            lambda v, e: f"event id {v!r} is {_RANGE.replace('ids', 'event ids')}",
        ),
    ]
    return sql, checks
