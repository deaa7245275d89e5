"""The store's ingest side: loading attribute changes, list changes and event occurrences.

Each loader reads its source (:mod:`segsim.store.sources`), builds one DuckDB view of the
fields it needs, checks and types them there (:mod:`segsim.store.fields`,
:mod:`segsim.store.values`) and writes the typed rows in one transaction
(:mod:`segsim.store.write`). No loader iterates over rows in Python. Loads are
all-or-nothing: a load that raises leaves the store exactly as it was, and its error names the
file (or DataFrame), the column, the row and the value.

Wide snapshots and change logs, which become attribute changes, are in
:mod:`segsim.store.wide`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from segsim import schema
from segsim._internal.sql import quote_identifier, quote_literal
from segsim.errors import DataLoadError
from segsim.store.base import loader
from segsim.store.fields import contact_ids, event_ids, membership, name_checks, timestamps
from segsim.store.read import ReadSide
from segsim.store.sources import Column, Source, open_source
from segsim.store.values import (
    Check,
    Layout,
    finite,
    first_failure,
    infer_types,
    measure_all,
    merge_stats,
    sql_list,
    typed_value,
    unsupported_check,
)
from segsim.store.write import Plan, write

__all__ = ["IngestSide", "OnConflict"]

OnConflict = Literal["error", "last"]

_ATTRIBUTE_COLUMNS = ("contact_id", "ts", "attribute", "value")
_LIST_COLUMNS = ("contact_id", "ts", "list", "member")
_EVENT_COLUMNS = ("contact_id", "ts", "event")
_EVENT_FIELDS = ("contact_id", "ts", "event", "event_id", "seq")
_views = itertools.count()


class IngestSide(ReadSide):
    """The loaders (mixed into :class:`~segsim.store.Store`)."""

    @contextlib.contextmanager
    def _view(
        self, source: Source, fields: Mapping[str, tuple[str, Column]], **layout: Any
    ) -> Iterator[Layout]:
        """A view of ``source`` with each field's parts as ``<prefix>__<part>``.

        ``fields`` maps a field name (as messages call it) to ``(prefix, column)``.
        """
        name = f"segsim_load_{next(_views)}"
        select = "".join(
            f", {part}" for prefix, column in fields.values() for part in column.select(prefix)
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT _row AS _pos{select} FROM {source.relation}"
        )
        parts = {prefix: frozenset(column.parts) for prefix, column in fields.values()}
        try:
            yield Layout(source, name, {f: c.name for f, (_, c) in fields.items()}, parts, **layout)
        finally:
            with contextlib.suppress(duckdb.Error):
                self.con.execute(f"DROP VIEW IF EXISTS {name}")

    # -- attributes ------------------------------------------------------------------------

    @loader
    def load_attributes(
        self,
        data: pd.DataFrame | str | Path,
        types: Mapping[str, str] | None = None,
        *,
        columns: Mapping[str, str] | None = None,
        on_conflict: OnConflict = "error",
    ) -> int:
        """Append attribute changes in long format; all or nothing.

        Parameters
        ----------
        data : DataFrame, or path to a CSV or Parquet file
            Columns ``contact_id, ts, attribute, value`` (see ``columns`` to map other names).
            A missing ``value`` (None, NaN, an empty string or CSV cell) means the attribute
            became unset.
        types : mapping, optional
            ``{attribute: "string" | "number" | "boolean" | "timestamp"}``; attributes not
            named (nor already stored) are inferred from their values: text that all reads as
            ``true``/``false`` is boolean, as plain decimal numbers a number (so
            ``+33612345678`` and ``007`` stay strings), as ISO 8601 instants a timestamp;
            other text is a string, unless at least 95% of it reads as one of those types,
            which is an error naming the first value that does not (declare the type, or
            ``"string"`` to load such an attribute as text on purpose).
        columns : mapping, optional
            ``{"contact_id": "user_id", "ts": "time", ...}``: the column holding each field.
        on_conflict : {"error", "last"}
            The same ``(contact_id, ts, attribute)`` with two different values is an error
            by default; ``"last"`` keeps the later row (the one loaded last).

        Returns
        -------
        int
            The number of new rows written (identical rows already stored are kept once).
        """
        _check_on_conflict(on_conflict)
        known = self.attribute_types
        declared = _declared_types(types, known, "types", "attribute")
        source = open_source(self.con, data)
        mapping = source.map_columns(_ATTRIBUTE_COLUMNS, columns)
        with _registered(source, list(mapping.values())):
            fields = {
                "contact_id": ("id", source.column(mapping["contact_id"])),
                "ts": ("ts", source.column(mapping["ts"])),
                "attribute": ("name", source.column(mapping["attribute"])),
                "value": ("value", source.column(mapping["value"])),
            }
            with self._view(source, fields) as layout:
                columns_of = {f: c for f, (_, c) in fields.items()}
                return self._load_attribute_view(layout, columns_of, known, declared, on_conflict)

    def _load_attribute_view(
        self,
        layout: Layout,
        columns: Mapping[str, Column],
        known: Mapping[str, str],
        declared: Mapping[str, str],
        on_conflict: OnConflict,
        *,
        restage: Any = None,
        declare: str = "types",
        extra: Mapping[str, str] | None = None,
    ) -> int:
        """Check, type and write the attribute rows of a view with prefixes id, ts, name, value.

        ``columns`` gives the source column of each field (``contact_id``, ``ts``, ``value``
        and those of ``extra``). ``extra`` maps more value prefixes (a change log's old values)
        to their field: they are typed like ``value`` and staged as ``<prefix>_v_*``.
        """
        con, source = self.con, layout.source
        catalog = {k: v for k, v in declared.items() if k not in known}
        if source.n_rows == 0:
            return self._write_catalog_only(catalog)
        id_type, id_sql = contact_ids(
            con, layout, columns["contact_id"], self.id_type, self._where()
        )
        ts_sql, ts_upfront, ts_embedded = timestamps(columns["ts"])
        prefixes = {"value": "value", **(extra or {})}
        parts = {p: set(columns[f].parts) for p, f in prefixes.items()}
        upfront = [
            ts_upfront,
            name_checks("attribute", "attribute"),
            [unsupported_check(p, f) for p, f in prefixes.items() if "other" in parts[p]],
        ]
        _raise_first(con, layout, upfront)
        typed = {**known, **declared}
        inferred = self._infer_attributes(layout, typed, prefixes, parts, declare)
        catalog.update(inferred)
        types = {**typed, **inferred}
        by_type = {
            kind: sorted(n for n, k in types.items() if k == kind) for kind in schema.VALUE_COLUMN
        }
        conversion: list[Check] = []
        finite_checks: list[Check] = []
        inner, outer = [], []
        for prefix, field in prefixes.items():
            stored = "" if prefix == "value" else f"{prefix}_"
            for kind, column in schema.VALUE_COLUMN.items():
                name = f"{stored}{column}"
                if not by_type[kind]:
                    inner.append(f"CAST(NULL AS {schema.SQL_TYPE[kind]}) AS {name}")
                    outer.append(name)
                    continue
                context = f"name__text IN ({sql_list(by_type[kind])})"
                sql, checks, finite_check = typed_value(
                    prefix,
                    kind,
                    parts=parts[prefix],
                    noun="attribute",
                    name_sql="name__text",
                    context=context,
                    field=field,
                )
                conversion += checks
                inner.append(f"CASE WHEN {context} THEN {sql} END AS {name}")
                if finite_check is not None:
                    finite_checks.append(finite_check)
                    outer.append(f"{finite(name)} AS {name}")
                else:
                    outer.append(name)
        value_columns = list(schema.VALUE_COLUMN.values())
        select = (
            f"SELECT _pos, contact_id, ts, attribute, {', '.join(outer)} FROM ("
            f"SELECT _pos, {id_sql} AS contact_id, {ts_sql} AS ts, "
            f"name__text AS attribute, {', '.join(inner)} FROM {layout.view})"
        )
        select = layout.sql(select)

        def prepare(con: duckdb.DuckDBPyConnection) -> None:
            for name, kind in catalog.items():
                con.execute(f"INSERT INTO {schema.ATTRIBUTES} VALUES (?, ?)", [name, kind])

        plan = Plan(
            table=schema.CHANGES,
            columns=["contact_id", "ts", "attribute", *value_columns],
            select=select,
            checks=[ts_embedded, conversion, finite_checks],
            id_type=id_type,
            prepare=prepare,
            key=["contact_id", "ts", "attribute"],
            values=value_columns,
            noun="attribute",
            on_conflict=on_conflict,
            restage=restage,
        )
        return write(con, layout, plan, self._table_names())

    def _infer_attributes(
        self,
        layout: Layout,
        typed: Mapping[str, str],
        prefixes: Mapping[str, str],
        parts: Mapping[str, set[str]],
        declare: str,
    ) -> dict[str, str]:
        """The types of the attributes of this load that are neither stored nor declared."""
        untyped = f"name__text NOT IN ({sql_list(sorted(typed))})" if typed else "TRUE"
        found: dict[str, dict[str, Any]] = {}
        # a change log's old and new values together say what an attribute is
        for prefix in prefixes:
            stats = measure_all(
                self.con, layout, prefix, parts[prefix], group="name__text", where=untyped
            )
            for name, s in stats.items():
                found[name] = merge_stats(found[name], s) if name in found else s
        return infer_types(layout, found, noun="attribute", declare=declare)

    def _write_catalog_only(self, catalog: Mapping[str, str]) -> int:
        # an empty first load cannot tell the type of contact ids, so it creates nothing
        if not catalog or not self._has_tables():
            return 0
        self.con.execute("BEGIN TRANSACTION")
        try:
            for name, kind in catalog.items():
                self.con.execute(f"INSERT INTO {schema.ATTRIBUTES} VALUES (?, ?)", [name, kind])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return 0

    # -- lists --------------------------------------------------------------------------------

    @loader
    def load_lists(
        self,
        data: pd.DataFrame | str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        on_conflict: OnConflict = "error",
    ) -> int:
        """Append list membership changes: columns ``contact_id, ts, list, member``.

        ``member`` is a boolean (or ``true``/``false``, ``add``/``remove``): true adds the
        contact to the list at ``ts``, false removes it. Loading is all-or-nothing, with
        the same checks and ``on_conflict`` rule as :meth:`load_attributes`.
        """
        _check_on_conflict(on_conflict)
        source = open_source(self.con, data)
        mapping = source.map_columns(_LIST_COLUMNS, columns)
        with _registered(source, list(mapping.values())):
            fields = {
                "contact_id": ("id", source.column(mapping["contact_id"])),
                "ts": ("ts", source.column(mapping["ts"])),
                "list": ("name", source.column(mapping["list"])),
                "member": ("member", source.column(mapping["member"])),
            }
            with self._view(source, fields) as layout:
                if source.n_rows == 0:
                    return 0
                con = self.con
                id_type, id_sql = contact_ids(
                    con, layout, fields["contact_id"][1], self.id_type, self._where()
                )
                ts_sql, ts_upfront, ts_embedded = timestamps(fields["ts"][1])
                _raise_first(con, layout, [ts_upfront, name_checks("list", "list")])
                member_sql, member_checks = membership()
                select = (
                    f"SELECT _pos, {id_sql} AS contact_id, {ts_sql} AS ts, "
                    f"name__text AS list, {member_sql} AS member "
                    f"FROM {layout.view}"
                )
                select = layout.sql(select)
                plan = Plan(
                    table=schema.LIST_CHANGES,
                    columns=["contact_id", "ts", "list", "member"],
                    select=select,
                    checks=[ts_embedded, member_checks],
                    id_type=id_type,
                    prepare=lambda con: None,
                    key=["contact_id", "ts", "list"],
                    values=["member"],
                    noun="list",
                    on_conflict=on_conflict,
                )
                return write(con, layout, plan, self._table_names())

    # -- events -------------------------------------------------------------------------------

    @loader
    def load_events(
        self,
        data: pd.DataFrame | str | Path,
        properties: Mapping[str, str] | None = None,
        *,
        columns: Mapping[str, str] | None = None,
    ) -> int:
        """Append behavioural event occurrences; all or nothing.

        Parameters
        ----------
        data : DataFrame, or path to a CSV or Parquet file
            Columns ``contact_id, ts, event``, optionally ``event_id``, and any number of
            *property* columns: every other column is a property of the occurrence, named
            like its column (an empty cell: the occurrence does not have it).
        properties : mapping, optional
            ``{property: "string" | "number" | "boolean" | "timestamp"}``; properties not named
            (nor already stored) are inferred from their values as attributes are. A property
            has one type across all events.
        columns : mapping, optional
            ``{"contact_id": "user_id", "ts": "time", "event": "name", "event_id": "id"}``.

        Returns
        -------
        int
            The number of occurrences written.

        Notes
        -----
        Every row is one occurrence: two identical rows are two purchases. With an
        ``event_id`` column, loads are idempotent: a row whose event id is already stored,
        or that repeats an event id earlier in the same load, is the same occurrence and is
        skipped; an event id given for a *different* occurrence (another contact, time, event
        or property value) is an error naming it. Event ids are stored as text (an integer id
        as its digits); a row without one is always a new occurrence.
        """
        known = self.event_property_types
        declared = _declared_types(properties, known, "properties", "property")
        source = open_source(self.con, data)
        mapping = source.map_columns(_EVENT_COLUMNS, columns, optional=("event_id",))
        used = set(mapping.values())
        props = [c for c in source.column_names if c not in used]
        for column in props:
            _check_property_name(source, column, known)
        with _registered(source, [*mapping.values(), *props]):
            fields: dict[str, tuple[str, Column]] = {
                "contact_id": ("id", source.column(mapping["contact_id"])),
                "ts": ("ts", source.column(mapping["ts"])),
                "event": ("name", source.column(mapping["event"])),
            }
            if "event_id" in mapping:
                fields["event_id"] = ("eid", source.column(mapping["event_id"]))
            prefix_of = {str(c): f"p{i}" for i, c in enumerate(props)}
            for column in props:
                fields[schema.property_column(str(column))] = (
                    prefix_of[str(column)],
                    source.column(column),
                )
            with self._view(source, fields) as layout:
                return self._load_event_view(layout, fields, prefix_of, known, declared)

    def _load_event_view(
        self,
        layout: Layout,
        fields: Mapping[str, tuple[str, Column]],
        prefix_of: Mapping[str, str],
        known: Mapping[str, str],
        declared: Mapping[str, str],
    ) -> int:
        con, source = self.con, layout.source
        catalog = {k: v for k, v in declared.items() if k not in known}
        if source.n_rows == 0:
            return 0
        id_type, id_sql = contact_ids(
            con, layout, fields["contact_id"][1], self.id_type, self._where()
        )
        ts_sql, ts_upfront, ts_embedded = timestamps(fields["ts"][1])
        field_of = {name: schema.property_column(name) for name in prefix_of}
        upfront = [ts_upfront, name_checks("event", "event")]
        eid_sql = "CAST(NULL AS VARCHAR)"
        if "event_id" in fields:
            eid_sql, eid_checks = event_ids()
            upfront.append(eid_checks)
        parts = {n: set(fields[field_of[n]][1].parts) for n in prefix_of}
        upfront.append(
            [unsupported_check(prefix_of[n], field_of[n]) for n in prefix_of if "other" in parts[n]]
        )
        _raise_first(con, layout, upfront)
        found: dict[str, dict[str, Any]] = {}
        for n in prefix_of:
            if n not in known and n not in declared:
                (found[n],) = measure_all(con, layout, prefix_of[n], parts[n]).values()
                found[n]["first"] = len(found)  # inferred in column order
        inferred = infer_types(
            layout, found, noun="property", declare="properties", fields=field_of
        )
        catalog.update(inferred)
        types = {**known, **declared, **inferred}
        conversion: list[Check] = []
        finite_checks: list[Check] = []
        inner, outer = [], []
        for name, prefix in prefix_of.items():
            sql, checks, finite_check = typed_value(
                prefix,
                types[name],
                parts=parts[name],
                noun="property",
                name_sql=quote_literal(name),
                field=field_of[name],
            )
            conversion += checks
            column = quote_identifier(field_of[name])
            inner.append(f"{sql} AS {column}")
            if finite_check is not None:
                finite_checks.append(finite_check)
                outer.append(f"{finite(column)} AS {column}")
            else:
                outer.append(column)
        base = self._next_seq()
        select = (
            f"SELECT _pos, contact_id, ts, event, seq, event_id{''.join(', ' + c for c in outer)} "
            f"FROM (SELECT _pos, {id_sql} AS contact_id, {ts_sql} AS ts, name__text AS event, "
            f"{base} + _pos AS seq, {eid_sql} AS event_id{''.join(', ' + c for c in inner)} "
            f"FROM {layout.view})"
        )
        select = layout.sql(select)
        has_events = self._has_events()

        def prepare(con: duckdb.DuckDBPyConnection) -> None:
            if not has_events:
                for statement in schema.event_statements(id_type):
                    con.execute(statement)
            for name, kind in catalog.items():
                con.execute(f"INSERT INTO {schema.EVENT_PROPERTIES} VALUES (?, ?)", [name, kind])
                con.execute(
                    f"ALTER TABLE {schema.EVENTS} ADD COLUMN "
                    f"{quote_identifier(schema.property_column(name))} {schema.SQL_TYPE[kind]}"
                )

        stored_props = [field_of[n] for n in prefix_of]
        plan = Plan(
            table=schema.EVENTS,
            columns=["contact_id", "ts", "event", "seq", "event_id", *stored_props],
            select=select,
            checks=[ts_embedded, conversion, finite_checks],
            id_type=id_type,
            prepare=prepare,
            event_ids="event_id" in fields,
            compared=["contact_id", "ts", "event", *stored_props],
        )
        return write(con, layout, plan, self._table_names())

    def _next_seq(self) -> int:
        if not self._has_events():
            return 0
        return int(
            self.con.execute(f"SELECT coalesce(max(seq) + 1, 0) FROM {schema.EVENTS}").fetchall()[
                0
            ][0]
        )


@contextlib.contextmanager
def _registered(source: Source, names: list[Any]) -> Iterator[Source]:
    source.register(names)
    try:
        yield source
    finally:
        source.close()


def _raise_first(con: duckdb.DuckDBPyConnection, layout: Layout, groups: list[list[Check]]) -> None:
    error = first_failure(con, layout, groups)
    if error is not None:
        raise error


def _check_on_conflict(on_conflict: Any) -> None:
    if on_conflict not in ("error", "last"):
        raise ValueError(f"on_conflict must be 'error' or 'last', got {on_conflict!r}")


def _declared_types(
    types: Mapping[str, str] | None, known: Mapping[str, str], argument: str, noun: str
) -> dict[str, str]:
    if types is not None and not isinstance(types, Mapping):
        raise TypeError(
            f"{argument} maps {noun} names to types, e.g. {{'plan': 'string'}}; got {type(types).__name__}"
        )
    declared = dict(types or {})
    for name, kind in declared.items():
        if kind not in schema.ATTRIBUTE_TYPES:
            raise ValueError(
                f"{argument}[{name!r}] = {kind!r}; an {noun} type is one of {', '.join(schema.ATTRIBUTE_TYPES)}"
            )
        if name in known and known[name] != kind:
            raise DataLoadError(
                f"{noun} {name!r} is already stored as {known[name]}; it cannot be declared {kind}"
            )
    return declared


def _check_property_name(source: Source, column: Any, known: Mapping[str, str]) -> None:
    if not isinstance(column, str) or not column.strip():
        raise source.fail(
            f"property columns need non-empty string names, got {column!r}", column=column
        )
    if column in _EVENT_FIELDS:
        raise source.fail(
            f"a property cannot be named {column!r} like an event field; rename or drop the column",
            column=column,
        )
    same = [k for k in known if k.lower() == column.lower() and k != column]
    same += [
        c
        for c in source.column_names
        if isinstance(c, str) and c != column and c.lower() == column.lower()
    ]
    if same:
        raise source.fail(
            f"property {column!r} differs from property {same[0]!r} only by case; property names "
            "are case-insensitive in the store",
            column=column,
        )
