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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from segsim._internal.sql import quote_literal
from segsim.errors import DataLoadError
from segsim.store.sources import PARTS, Source

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "Check",
    "Layout",
    "first_failure",
    "guard",
    "infer_types",
    "typed_value",
]

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
_INFERRED_BOOL = ("true", "false")
#: ISO 8601, year first, as DuckDB's TIMESTAMPTZ reads it (the shape is checked first so that
#: forms DuckDB would also take, like ``2026-1-1`` or a zone name, are refused).
ISO_INSTANT = (
    r"\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*"
)
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


def present_text(prefix: str) -> str:
    """SQL: the value is non-empty text."""
    return f"({part(prefix, 'text')} IS NOT NULL AND {part(prefix, 'text')} <> '')"


def all_missing(prefix: str, empty_text: bool = True) -> str:
    """SQL: the value is missing (every part NULL; empty text too when ``empty_text``)."""
    text = present_text(prefix) if empty_text else f"{part(prefix, 'text')} IS NOT NULL"
    others = " OR ".join(f"{part(prefix, p)} IS NOT NULL" for p in PARTS if p != "text")
    return f"NOT ({text} OR {others})"


def text_number(prefix: str) -> str:
    """SQL: the text read as a number (NULL where it does not read as one)."""
    t = part(prefix, "text")
    return (
        f"(CASE WHEN NOT contains({t}, '_') AND NOT isnan(TRY_CAST(trim({t}) AS DOUBLE)) "
        f"THEN TRY_CAST(trim({t}) AS DOUBLE) END)"
    )


def text_boolean(prefix: str) -> str:
    t = f"lower(trim({part(prefix, 'text')}))"
    return (
        f"(CASE WHEN {t} IN ({sql_list(TRUE_WORDS)}) THEN TRUE "
        f"WHEN {t} IN ({sql_list(FALSE_WORDS)}) THEN FALSE END)"
    )


def text_timestamp(prefix: str) -> str:
    t = part(prefix, "text")
    return (
        f"(CASE WHEN regexp_full_match({t}, {quote_literal(ISO_INSTANT)}) "
        f"THEN CAST(TRY_CAST(trim({t}) AS TIMESTAMPTZ) AS TIMESTAMP) END)"
    )


def describe(value: Any, kind: str) -> str:
    """``string 'x'`` or ``number 1``: a value and what it is, for messages."""
    return f"string {value!r}" if kind == "text" else f"{kind} {value!r}"


# -- checks ------------------------------------------------------------------------------------


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
    wide: tuple[Any, ...] = ()
    wide_field: str = "value"

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


def guard(expression: str, checks: Sequence[Check]) -> str:
    """``expression``, raising inside DuckDB where any check's condition holds."""
    if not checks:
        return expression
    whens = " ".join(f"WHEN {c.condition} THEN error('segsim check failed')" for c in checks)
    return f"(CASE {whens} ELSE {expression} END)"


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
    firsts = con.execute(f"SELECT {select} FROM {layout.view}").fetchall()[0]
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
                    f"SELECT {', '.join(check.extras)} FROM {layout.view} WHERE _pos = ?",
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
    noun: str,
    name_sql: str,
    context: str = "TRUE",
    field: str = "value",
) -> tuple[str, list[Check], list[Check]]:
    """The SQL value of ``kind`` read from the parts under ``prefix``, and its checks.

    Returns ``(expression, conversion_checks, finiteness_checks)``; ``context`` restricts the
    checks to the rows the expression is used for (e.g. the attributes of that type), and
    ``name_sql`` names the attribute or property in messages.
    """

    def wrong(value: Any, extras: tuple, native: str) -> str:
        return f"{noun} {extras[0]!r} is {kind}, but this value is {describe(value, native)}"

    def unreadable(value: Any, extras: tuple) -> str:
        return f"{noun} {extras[0]!r} is {kind}, but value {value!r} does not read as {kind}"

    def wrong_kind(native: str) -> Callable[[Any, tuple], str]:
        return lambda value, extras: wrong(value, extras, native)

    natives = {p: k for p, k in KIND_OF_PART.items() if k != kind}
    checks = [
        Check(
            field,
            f"({context}) AND {part(prefix, p)} IS NOT NULL",
            wrong_kind(native),
            (name_sql,),
        )
        for p, native in natives.items()
    ]
    text = part(prefix, "text")
    finite: list[Check] = []
    if kind == "string":
        expression = f"nullif({text}, '')"
    elif kind == "number":
        parsed = text_number(prefix)
        checks.append(
            Check(
                field,
                f"({context}) AND {present_text(prefix)} AND {parsed} IS NULL",
                unreadable,
                (name_sql,),
            )
        )
        expression = (
            f"coalesce(CAST({part(prefix, 'int')} AS DOUBLE), {part(prefix, 'float')}, "
            f"{part(prefix, 'big')}, CASE WHEN {present_text(prefix)} THEN {parsed} END)"
        )
        finite.append(
            Check(
                field,
                f"({context}) AND isinf({expression})",
                lambda v, e: f"{noun} {e[0]!r}: value {v!r} is not finite",
                (name_sql,),
            )
        )
    elif kind == "boolean":
        parsed = text_boolean(prefix)
        checks.append(
            Check(
                field,
                f"({context}) AND {present_text(prefix)} AND {parsed} IS NULL",
                unreadable,
                (name_sql,),
            )
        )
        expression = (
            f"coalesce({part(prefix, 'bool')}, CASE WHEN {present_text(prefix)} THEN {parsed} END)"
        )
    else:
        parsed = text_timestamp(prefix)
        checks.append(
            Check(
                field,
                f"({context}) AND {present_text(prefix)} AND {parsed} IS NULL",
                unreadable,
                (name_sql,),
            )
        )
        expression = (
            f"coalesce({part(prefix, 'ts')}, CASE WHEN {present_text(prefix)} THEN {parsed} END)"
        )
    return expression, checks, finite


def unsupported_check(prefix: str, field: str = "value") -> Check:
    return Check(
        field,
        f"{part(prefix, 'other')}",
        lambda v, e: f"unsupported value {v!r} of type {type(v).__name__}",
    )


# -- inference --------------------------------------------------------------------------------

_STATS = (
    # (name, aggregate) over the parts under {p}; {t} is trimmed text, {lt} lowered
    ("first", "min(_pos)"),
    ("n_text", "count(*) FILTER (WHERE {present})"),
    ("first_text", "min(_pos) FILTER (WHERE {present})"),
    (
        "n_number",
        "count(*) FILTER (WHERE {p}__int IS NOT NULL OR {p}__big IS NOT NULL OR {p}__float IS NOT NULL)",
    ),
    (
        "first_number",
        "min(_pos) FILTER (WHERE {p}__int IS NOT NULL OR {p}__big IS NOT NULL OR {p}__float IS NOT NULL)",
    ),
    ("n_boolean", "count({p}__bool)"),
    ("first_boolean", "min(_pos) FILTER (WHERE {p}__bool IS NOT NULL)"),
    ("n_timestamp", "count({p}__ts)"),
    ("first_timestamp", "min(_pos) FILTER (WHERE {p}__ts IS NOT NULL)"),
    ("ok_boolean", "count(*) FILTER (WHERE {present} AND {lt} IN ({bools}))"),
    ("bad_boolean", "min(_pos) FILTER (WHERE {present} AND {lt} NOT IN ({bools}))"),
    ("ok_number", "count(*) FILTER (WHERE {present} AND regexp_full_match({t}, {number}))"),
    ("bad_number", "min(_pos) FILTER (WHERE {present} AND NOT regexp_full_match({t}, {number}))"),
    ("ok_timestamp", "count(*) FILTER (WHERE {present} AND {timestamp} IS NOT NULL)"),
    ("bad_timestamp", "min(_pos) FILTER (WHERE {present} AND {timestamp} IS NULL)"),
    # whether text reads as the kind of the native values it is mixed with (conversion rules)
    ("mixed_bad_number", "min(_pos) FILTER (WHERE {present} AND {as_number} IS NULL)"),
    ("mixed_bad_boolean", "min(_pos) FILTER (WHERE {present} AND {as_boolean} IS NULL)"),
)


def stats_select(prefix: str) -> list[tuple[str, str]]:
    """``(name, aggregate)`` pairs measuring how the values under ``prefix`` can be typed."""
    t = f"trim({part(prefix, 'text')})"
    values = {
        "p": prefix,
        "present": present_text(prefix),
        "t": t,
        "lt": f"lower({t})",
        "bools": sql_list(_INFERRED_BOOL),
        "number": quote_literal(INFERRED_NUMBER),
        "timestamp": text_timestamp(prefix),
        "as_number": text_number(prefix),
        "as_boolean": text_boolean(prefix),
    }
    return [(name, sql.format(**values)) for name, sql in _STATS]


def infer_types(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    stats: Mapping[str, Mapping[str, Any]],
    *,
    noun: str,
    declare: str,
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The type of each name from its ``stats`` (see :func:`stats_select`); raises when its
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
        bad = {"number": s["mixed_bad_number"], "boolean": s["mixed_bad_boolean"]}.get(
            kind, s["bad_timestamp"]
        )
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
