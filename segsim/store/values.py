"""Typing and checking input values in DuckDB SQL: ids, timestamps, names, typed values.

Every rule a loader applies to a value is written here once, as SQL over the *parts* of a
source column (see :mod:`segsim.store.sources`) in the view a loader builds (``_pos`` gives each
value its place in the source). A rule is a :class:`Check`: a condition that is true where a
value is bad, and the message that names it. Checks are used two ways:

* **up front**, for what decides how the rest is read (missing ids, mixed id kinds, names): one
  aggregate query finds the first bad position of every check (:func:`first_failure`);
* **embedded** in the query that writes the rows (:func:`guard`): a bad value makes DuckDB raise
  at once, the write is rolled back, and :func:`first_failure` then finds and names the first
  bad value. Good data is parsed once, in the write itself.

Text is read the same way from every source (a CSV cell, a string in a DataFrame or Parquet
file): ``""`` means missing (an unset attribute, a property the occurrence lacks); numbers as
DuckDB's ``DOUBLE`` reads them (no ``_`` separators, NaN refused); booleans ``true/false``,
``t/f``, ``yes/no``, ``y/n``, ``1/0`` (any case, surrounding spaces ignored); timestamps in ISO
8601, year first (``2026-01-31``, ``2026-01-31 09:30``, ``2026-01-31T09:30:00.5Z``,
``2026-01-31T09:30+02:00``), naive meaning UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from segsim._internal.sql import quote_literal
from segsim.errors import DataLoadError
from segsim.store.sources import PART_SQL_TYPE, PARTS, Source

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "Check",
    "Layout",
    "finite",
    "first_failure",
    "infer_types",
    "measure",
    "must",
    "typed_value",
]

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
_INFERRED_BOOL = ("true", "false")
#: Text inferred as a number: plain decimals only, so phone numbers (``+33612345678``) and codes
#: with leading zeros (``01234``) stay strings unless declared numbers.
INFERRED_NUMBER = r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
#: CSV text read as an integer contact id.
INTEGER_ID = r"-?(?:0|[1-9][0-9]*)"
#: The share of an untyped attribute's text values reading as one type above which a value
#: that does not is an error rather than a silent fall back to ``string``.
MOSTLY = 0.95

KIND_OF_PART = {
    "int": "number",
    "big": "number",
    "float": "number",
    "bool": "boolean",
    "ts": "timestamp",
}


def sql_list(words: Sequence[str]) -> str:
    return ", ".join(quote_literal(w) for w in words)


def part(prefix: str, name: str) -> str:
    return f"{prefix}__{name}"


_SPACES = "' ' || chr(9) || chr(10) || chr(13)"


def _trimmed(x: str) -> str:
    return f"trim({x}, {_SPACES})"


def parse_number(x: str) -> str:
    """SQL: text ``x`` read as a number, NULL where it does not read as one.

    DuckDB's DOUBLE cast (it ignores surrounding white space), without ``_`` separators, NaN
    refused.
    """
    return f"(CASE WHEN NOT contains({x}, '_') THEN nullif(TRY_CAST({x} AS DOUBLE), 'NaN'::DOUBLE) END)"


def parse_boolean(x: str) -> str:
    """SQL: text ``x`` read as a boolean (:data:`TRUE_WORDS`, :data:`FALSE_WORDS`, any case)."""
    words = sql_list((*TRUE_WORDS, *FALSE_WORDS))
    flags = ", ".join(["TRUE"] * len(TRUE_WORDS) + ["FALSE"] * len(FALSE_WORDS))

    def lookup(text: str) -> str:
        return f"[{flags}][list_position([{words}], lower({text}))]"

    # surrounding white space costs a trim only where the plain lookup fails
    return f"coalesce({lookup(x)}, {lookup(_trimmed(x))})"


def parse_timestamp(x: str) -> str:
    """SQL: text ``x`` read as a UTC instant (naive TIMESTAMP), NULL where it does not read.

    ISO 8601 dates first (``YYYY-MM-DD``), then what DuckDB's TIMESTAMPTZ reads: a time after
    ``T`` or a space, fractions of a second, an offset (``Z``, ``+02:00``) or a zone name.
    """

    def read(text: str) -> str:
        return (
            f"CASE WHEN {text} LIKE '____-__-__%' "
            f"THEN make_timestamp(epoch_us(TRY_CAST({text} AS TIMESTAMPTZ))) END"
        )

    return f"coalesce({read(x)}, {read(_trimmed(x))})"


def must(sql: str) -> str:
    """``sql``, raising inside DuckDB where it is NULL (coalesce evaluates the error lazily)."""
    return f"coalesce({sql}, error('segsim check failed'))"


def finite(sql: str) -> str:
    """``sql`` (a DOUBLE column), raising inside DuckDB where it is infinite."""
    return f"(CASE WHEN isinf({sql}) THEN error('segsim check failed') ELSE {sql} END)"


def describe(value: Any, kind: str) -> str:
    """``string 'x'`` or ``number 1``: a value and what it is, for messages."""
    return f"string {value!r}" if kind == "text" else f"{kind} {value!r}"


# -- checks ------------------------------------------------------------------------------------


# a part reference, or a quoted literal or identifier (skipped: it may hold any user text)
_PART_REFERENCE = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\b([a-z][a-z0-9]*)__(" + "|".join(PARTS) + r")\b"
)


@dataclass(frozen=True)
class Layout:
    """How positions in a loader's view map back to the source: its rows and columns.

    ``columns`` maps a field (``"contact_id"``, ``"value"``, ...) to its source column; in a
    wide source (a snapshot) the value of position ``p`` is in ``wide[p % len(wide)]`` of row
    ``p // len(wide)``.
    """

    source: Source
    view: str
    columns: Mapping[str, Any]
    parts: Mapping[str, frozenset[str]]  # prefix -> the parts the view holds
    wide: tuple[Any, ...] = ()
    wide_field: str = "value"

    def sql(self, text: str) -> str:
        """``text`` with every part the view does not hold written as a typed NULL literal.

        A column of constant NULLs in a view still costs a vector per row; a literal lets
        DuckDB fold the expressions on it away.
        """

        def resolve(match: re.Match[str]) -> str:
            prefix, name = match.group(1), match.group(2)
            if prefix is not None and prefix in self.parts and name not in self.parts[prefix]:
                return f"CAST(NULL AS {PART_SQL_TYPE[name]})"
            return match.group(0)

        return _PART_REFERENCE.sub(resolve, text)

    def row(self, position: int) -> int:
        return position // len(self.wide) if self.wide else position

    def column(self, name: str, position: int) -> Any:
        if self.wide and name == self.wide_field:
            return self.wide[position % len(self.wide)]
        return self.columns[name]

    def value(self, name: str, position: int) -> Any:
        return self.source.value(self.column(name, position), self.row(position))

    def fail(self, message: str, name: str | None, position: int | None) -> DataLoadError:
        column = None if name is None or position is None else self.column(name, position)
        if name is not None and position is None:
            column = self.columns.get(name)
        row = None if position is None else self.row(position)
        return self.source.fail(message, row, column)


@dataclass(frozen=True)
class Check:
    """A rule: ``condition`` (SQL over the view) is true where the value of ``field`` is bad.

    ``message(value, extras)`` says what is wrong, given the bad value as the source holds it
    and the values of ``extras`` (SQL expressions) at that position.
    """

    field: str
    condition: str
    message: Callable[[Any, tuple], str]
    extras: tuple[str, ...] = ()


def first_failure(
    con: duckdb.DuckDBPyConnection, layout: Layout, groups: Sequence[Sequence[Check]]
) -> DataLoadError | None:
    """The error of the first failing check: groups in order, the earliest position within one.

    One aggregate query over the view finds the first bad position of every check.
    """
    checks = [c for g in groups for c in g]
    if not checks:
        return None
    select = ", ".join(f"min(_pos) FILTER (WHERE {c.condition})" for c in checks)
    firsts = con.execute(layout.sql(f"SELECT {select} FROM {layout.view}")).fetchall()[0]
    index = 0
    for group in groups:
        hits = [
            (firsts[index + i], c) for i, c in enumerate(group) if firsts[index + i] is not None
        ]
        index += len(group)
        if hits:
            position, check = min(hits, key=lambda hit: hit[0])
            position = int(position)
            extras: tuple = ()
            if check.extras:
                extras = con.execute(
                    layout.sql(
                        f"SELECT {', '.join(check.extras)} FROM {layout.view} WHERE _pos = ?"
                    ),
                    [position],
                ).fetchall()[0]
            value = layout.value(check.field, position)
            return layout.fail(check.message(value, extras), check.field, position)
    return None


# -- typed values -----------------------------------------------------------------------------


def typed_value(
    prefix: str,
    kind: str,
    *,
    parts: set[str],
    noun: str,
    name_sql: str,
    context: str = "TRUE",
    field: str = "value",
) -> tuple[str, list[Check], Check | None]:
    """The SQL value of ``kind`` read from the parts under ``prefix``, and its checks.

    ``parts`` are those the source column can hold. Returns ``(expression, conversion_checks,
    finite_check)``: the expression raises inside DuckDB on a value of another kind or text that
    does not read as ``kind``; a number is to be wrapped in :func:`finite` where it is stored
    (``finite_check`` names an infinite one). ``context`` restricts the checks to the rows the
    expression is used for (e.g. the attributes of that type); ``name_sql`` names the attribute
    or property in messages.
    """

    def wrong(native: str) -> Callable[[Any, tuple], str]:
        return lambda value, extras: (
            f"{noun} {extras[0]!r} is {kind}, but this value is {describe(value, native)}"
        )

    def unreadable(value: Any, extras: tuple) -> str:
        return f"{noun} {extras[0]!r} is {kind}, but value {value!r} does not read as {kind}"

    wrong_parts = [p for p, k in KIND_OF_PART.items() if k != kind and p in parts]
    checks = [
        Check(
            field,
            f"({context}) AND {part(prefix, p)} IS NOT NULL",
            wrong(KIND_OF_PART[p]),
            (name_sql,),
        )
        for p in wrong_parts
    ]
    text = part(prefix, "text")
    natives = {
        "number": [
            f"CAST({part(prefix, 'int')} AS DOUBLE)",
            part(prefix, "float"),
            part(prefix, "big"),
        ],
        "boolean": [part(prefix, "bool")],
        "timestamp": [part(prefix, "ts")],
    }
    parse = {"number": parse_number, "boolean": parse_boolean, "timestamp": parse_timestamp}
    safe = None  # the value without raising: what the finiteness check reads
    if kind == "string":
        expression = f"nullif({text}, '')" if "text" in parts else "CAST(NULL AS VARCHAR)"
    else:
        own = [sql for sql, p in zip(natives[kind], _NATIVE_PARTS[kind], strict=True) if p in parts]
        read = list(own)
        if "text" in parts:
            parsed = parse[kind](text)
            checks.append(
                Check(
                    field,
                    f"({context}) AND {text} <> '' AND {parsed} IS NULL",
                    unreadable,
                    (name_sql,),
                )
            )
            own.append(f"CASE WHEN {text} <> '' THEN {must(parsed)} END")
            read.append(f"CASE WHEN {text} <> '' THEN {parsed} END")
        expression = f"coalesce({', '.join(own)})" if own else f"CAST(NULL AS {_SQL[kind]})"
        safe = f"coalesce({', '.join(read)})" if read else "NULL"
    if wrong_parts:
        bad = " OR ".join(f"{part(prefix, p)} IS NOT NULL" for p in wrong_parts)
        expression = f"(CASE WHEN {bad} THEN error('segsim check failed') ELSE {expression} END)"
    finite_check = None
    if kind == "number":
        finite_check = Check(
            field,
            f"({context}) AND isinf({safe})",
            lambda v, e: f"{noun} {e[0]!r}: value {v!r} is not finite",
            (name_sql,),
        )
    return expression, checks, finite_check


_NATIVE_PARTS = {"number": ("int", "float", "big"), "boolean": ("bool",), "timestamp": ("ts",)}
_SQL = {"number": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def unsupported_check(prefix: str, field: str = "value") -> Check:
    return Check(
        field,
        f"{part(prefix, 'other')}",
        lambda v, e: f"unsupported value {v!r} of type {type(v).__name__}",
    )


# -- inference --------------------------------------------------------------------------------


def text_class(x: str) -> str:
    """SQL: what text ``x`` reads as, to infer a type: ``'b'`` (``true``/``false``), ``'n'`` (a
    plain decimal number), ``'t'`` (a timestamp), ``'s'`` (other text), ``'w'`` (text with
    surrounding white space that may read as one of those: to classify again trimmed); NULL
    where missing.

    Nested CASEs, not ANDs: DuckDB evaluates both sides of an AND on every row, but a CASE
    branch only on the rows that reach it. Only text starting with ``-``, ``.`` or a digit can
    be a number or a timestamp, and only
    text starting with ``t`` or ``f`` a boolean, so most text (names, emails) is classified by
    a few comparisons.
    """
    bools = sql_list(_INFERRED_BOOL)
    return (
        f"(CASE WHEN {x} IS NULL OR {x} = '' THEN NULL "
        f"WHEN {x} < '!' THEN 'w' "
        f"WHEN {x} >= '-' AND {x} < ':' THEN (CASE "
        f"WHEN regexp_full_match({x}, {quote_literal(INFERRED_NUMBER)}) THEN 'n' "
        f"WHEN (CASE WHEN {x} LIKE '____-__-__%' THEN TRY_CAST({x} AS TIMESTAMPTZ) IS NOT NULL "
        "ELSE FALSE END) THEN 't' "
        f"WHEN regexp_matches({x}, '\\s$') THEN 'w' ELSE 's' END) "
        f"WHEN ({x} >= 'F' AND {x} < 'G') OR ({x} >= 'T' AND {x} < 'U') "
        f"OR ({x} >= 'f' AND {x} < 'g') OR ({x} >= 't' AND {x} < 'u') THEN (CASE "
        f"WHEN lower({x}) IN ({bools}) THEN 'b' "
        f"WHEN lower({x}) LIKE 'true%' OR lower({x}) LIKE 'false%' THEN 'w' ELSE 's' END) "
        "ELSE 's' END)"
    )


_CLASS_OF = {"boolean": "b", "number": "n", "timestamp": "t"}


def measure(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    prefix: str,
    parts: set[str],
    *,
    group: str | None = None,
    where: str = "TRUE",
    trimmed: bool = False,
) -> dict[Any, dict[str, Any]]:
    """How the values under ``prefix`` can be typed, per value of ``group`` (one SQL query).

    For each group: ``first`` (position of its first row), ``n_text``/``first_text`` (non-empty
    text), per kind ``ok_<kind>`` and ``bad_<kind>`` (texts that read as it, first one that does
    not), ``padded`` (texts to classify again trimmed) and, for the native values a DataFrame
    column can hold, ``n_<kind>``/``first_<kind>`` and ``mixed_bad_<kind>`` (the first text that
    does not read as that kind by the conversion rules).
    """
    text = part(prefix, "text")
    x = _trimmed(text) if trimmed else text
    inner = ["_pos", f"{text_class(x)} AS c"]
    stats = [
        "min(_pos) AS first",
        "count(c) AS n_text",
        "min(_pos) FILTER (WHERE c IS NOT NULL) AS first_text",
    ]
    for kind, code in _CLASS_OF.items():
        stats.append(f"count(*) FILTER (WHERE c = '{code}') AS ok_{kind}")
        stats.append(f"min(_pos) FILTER (WHERE c <> '{code}') AS bad_{kind}")
    stats.append("count(*) FILTER (WHERE c = 'w') AS padded")
    parse = {"number": parse_number, "boolean": parse_boolean, "timestamp": parse_timestamp}
    for kind, native_parts in _NATIVE_PARTS.items():
        held = [p for p in native_parts if p in parts]
        if held:
            present = " OR ".join(f"{part(prefix, p)} IS NOT NULL" for p in held)
            inner.append(f"({present}) AS is_{kind}")
            inner.append(f"({text} <> '' AND {parse[kind](text)} IS NULL) AS unread_{kind}")
            stats.append(f"count(*) FILTER (WHERE is_{kind}) AS n_{kind}")
            stats.append(f"min(_pos) FILTER (WHERE is_{kind}) AS first_{kind}")
            stats.append(f"min(_pos) FILTER (WHERE unread_{kind}) AS mixed_bad_{kind}")
        else:
            stats += [f"0 AS n_{kind}", f"NULL AS first_{kind}", f"NULL AS mixed_bad_{kind}"]
    key = group if group is not None else "NULL"
    inner.append(f"{key} AS g")
    sql = (
        f"SELECT g, {', '.join(stats)} FROM (SELECT {', '.join(inner)} FROM {layout.view} "
        f"WHERE {where}) GROUP BY g"
    )
    cursor = con.execute(layout.sql(sql))
    names = [d[0] for d in cursor.description][1:]
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor.fetchall()}


def measure_all(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    prefix: str,
    parts: set[str],
    *,
    group: str | None = None,
    where: str = "TRUE",
) -> dict[Any, dict[str, Any]]:
    """:func:`measure`, then again trimmed for the groups with padded text (rare)."""
    stats = measure(con, layout, prefix, parts, group=group, where=where)
    padded = [g for g, s in stats.items() if s["padded"]]
    if padded:
        again = where if group is None else f"({where}) AND {group} IN ({sql_list(padded)})"
        stats.update(measure(con, layout, prefix, parts, group=group, where=again, trimmed=True))
    return stats


def infer_types(
    layout: Layout,
    stats: Mapping[str, Mapping[str, Any]],
    *,
    noun: str,
    declare: str,
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The type of each name from its ``stats`` (see :func:`measure`); raises when its
    values mix types, or when most read as one type but some do not.

    ``fields`` gives the field holding each name's values (default ``"value"``).
    """
    types = {}
    for name, s in sorted(stats.items(), key=lambda item: item[1]["first"]):
        field = "value" if fields is None else fields[name]
        types[name] = _infer_one(layout, name, s, noun=noun, declare=declare, field=field)
    return types


def _infer_one(
    layout: Layout, name: str, s: Mapping[str, Any], *, noun: str, declare: str, field: str
) -> str:
    how = f"declare its type with {declare}={{{name!r}: ...}}"

    def mixes(a: int, a_kind: str, b: int, b_kind: str) -> DataLoadError:
        (a, a_kind), (b, b_kind) = sorted([(a, a_kind), (b, b_kind)])
        return layout.fail(
            f"{noun} {name!r} mixes types: {describe(layout.value(field, a), a_kind)} and, at "
            f"{layout.source.row(layout.row(b))}, {describe(layout.value(field, b), b_kind)}; {how}",
            field,
            a,
        )

    natives = sorted(
        (int(s[f"first_{k}"]), k) for k in ("number", "boolean", "timestamp") if s[f"n_{k}"]
    )
    if len(natives) > 1:
        (a, a_kind), (b, b_kind) = natives[:2]
        raise mixes(a, a_kind, b, b_kind)
    if natives:
        first, kind = natives[0]
        bad = s[f"mixed_bad_{kind}"]
        if s["n_text"] and bad is not None:
            raise mixes(first, kind, int(bad), "text")
        return kind
    n = s["n_text"]
    if not n:
        return "string"
    for kind in ("boolean", "number", "timestamp"):
        if s[f"bad_{kind}"] is None:
            return kind
    share, kind = max((s[f"ok_{k}"] / n, k) for k in ("boolean", "number", "timestamp"))
    if share >= MOSTLY:
        position = int(s[f"bad_{kind}"])
        value = layout.value(field, position)
        raise layout.fail(
            f"{noun} {name!r} reads as {kind} in {s[f'ok_{kind}']:,} of its {n:,} values, but "
            f"{value!r} here does not; if it is a {kind}, declare "
            f"{declare}={{{name!r}: {kind!r}}} and correct or empty this value; to load it as "
            f"text on purpose, declare {declare}={{{name!r}: 'string'}}",
            field,
            position,
        )
    return "string"


def merge_stats(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The stats of two sets of values of one name (see :func:`measure`), as one."""
    merged = {}
    for key, x in a.items():
        y = b[key]
        if key.startswith(("n_", "ok_")) or key == "padded":
            merged[key] = (x or 0) + (y or 0)
        else:
            merged[key] = y if x is None else x if y is None else min(x, y)
    return merged
