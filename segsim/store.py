"""The DuckDB-backed store of contact attribute histories.

A :class:`Store` holds, for every contact, the history of its attribute values and list
memberships, in long format (one row per change). It is the only source of data for
segments and simulations, and the schema is described in :mod:`segsim.schema`.

Loading is all-or-nothing: every row is read, typed and checked in Python first; only a load
that passed every check is written, inside one transaction.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from segsim import schema
from segsim._internal.naming import did_you_mean
from segsim._internal.sql import quote_identifier
from segsim._time import parse_instant, to_timestamp
from segsim.errors import DataLoadError, ReadOnlyStoreError, SegsimError

__all__ = ["Store"]

OnConflict = Literal["error", "last"]

_ATTRIBUTE_COLUMNS = ("contact_id", "ts", "attribute", "value")
_LIST_COLUMNS = ("contact_id", "ts", "list", "member")
_INT_ID = re.compile(r"^-?(0|[1-9][0-9]*)$")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_INFERRED_BOOL = frozenset({"true", "false"})
# Text inferred as a number: plain decimals only, so phone numbers ("+33612345678") and codes
# with leading zeros ("01234") stay strings unless declared numbers.
_INFERRED_NUMBER = re.compile(
    r"^-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
)


class _Source:
    """Where rows came from, to name them in error messages."""

    def __init__(self, frame: pd.DataFrame, label: str, kind: str) -> None:
        self.frame = frame
        self.label = label
        self.kind = kind  # "dataframe" | "csv" | "parquet"

    def row(self, position: int) -> str:
        """Name the row at ``position`` (0-based) the way its user would look for it."""
        if self.kind == "csv":
            return f"row {position + 1} (line {position + 2})"
        if self.kind == "parquet":
            return f"row {position + 1}"
        return f"row with index {self.frame.index[position]!r}"

    def fail(
        self, message: str, position: int | None = None, column: str | None = None
    ) -> DataLoadError:
        where = [self.label]
        if column is not None:
            where.append(f"column {column!r}")
        if position is not None:
            where.append(self.row(position))
        return DataLoadError(f"{', '.join(where)}: {message}")


class Store:
    """Contact attribute histories in DuckDB.

    Parameters
    ----------
    path : str or Path, optional
        A DuckDB database file. Omitted: an in-memory store. A file that does not exist is
        created, unless ``read_only``.
    read_only : bool
        Open the file read-only: nothing is ever written to it, and loads raise
        :class:`~segsim.errors.ReadOnlyStoreError`.

    Examples
    --------
    >>> import pandas as pd, segsim as ss
    >>> store = ss.Store()
    >>> store.load_attributes(pd.DataFrame({
    ...     "contact_id": [1, 1], "ts": ["2026-01-01", "2026-02-01"],
    ...     "attribute": ["plan", "plan"], "value": ["free", "pro"]}))
    2
    >>> store.state_at("2026-01-15")["plan"].tolist()
    ['free']
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = None if path is None else Path(path)
        self.read_only = read_only
        if self.path is None:
            if read_only:
                raise ValueError("an in-memory store cannot be read-only; give a path")
            self.con = duckdb.connect(":memory:")
        else:
            if read_only and not self.path.exists():
                raise SegsimError(f"DuckDB file {str(self.path)!r} does not exist")
            if self.path.is_dir():
                raise SegsimError(f"{str(self.path)!r} is a folder, not a DuckDB file")
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                raise SegsimError(f"cannot open DuckDB file {str(self.path)!r}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        if self._has_tables():
            version = self._meta("schema_version")
            if version != schema.SCHEMA_VERSION:
                raise SegsimError(
                    f"{self._where()} has segsim schema version {version!r}; this segsim "
                    f"reads version {schema.SCHEMA_VERSION!r}"
                )
        elif self.path is not None and self._table_names():
            raise SegsimError(f"{self._where()} is a DuckDB file but not a segsim store")

    # -- connection helpers -------------------------------------------------------------

    def _where(self) -> str:
        return "in-memory store" if self.path is None else f"store {str(self.path)!r}"

    def _table_names(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
        return {r[0] for r in rows}

    def _has_tables(self) -> bool:
        return schema.META in self._table_names()

    def _meta(self, key: str) -> str | None:
        if not self._has_tables():
            return None
        row = _first(self.con.execute(f"SELECT value FROM {schema.META} WHERE key = ?", [key]))
        return None if row is None else row[0]

    @property
    def id_type(self) -> str | None:
        """``"integer"`` or ``"string"``: the type of contact ids, fixed by the first load."""
        return self._meta("id_type")

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self._has_tables():
            return f"<segsim.Store {self._where()}, empty>"
        n_rows, n_contacts = _first(
            self.con.execute(f"SELECT count(*), count(DISTINCT contact_id) FROM {schema.CHANGES}")
        )
        n_attrs = _first(self.con.execute(f"SELECT count(*) FROM {schema.ATTRIBUTES}"))[0]
        mode = ", read-only" if self.read_only else ""
        return (
            f"<segsim.Store {self._where()}{mode}: {n_contacts:,} contacts, "
            f"{n_attrs} attributes, {n_rows:,} changes>"
        )

    # -- catalog --------------------------------------------------------------------------

    @property
    def attribute_types(self) -> dict[str, str]:
        """Every known attribute and its type."""
        if not self._has_tables():
            return {}
        return dict(self.con.execute(f"SELECT attribute, type FROM {schema.ATTRIBUTES}").fetchall())

    @property
    def list_names(self) -> list[str]:
        """Every list that appears in the loaded list history, sorted."""
        if not self._has_tables():
            return []
        rows = self.con.execute(
            f"SELECT DISTINCT list FROM {schema.LIST_CHANGES} ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def attributes(self) -> pd.DataFrame:
        """The attribute catalog: ``name, type, rows, contacts, first_ts, last_ts``."""
        columns = ["name", "type", "rows", "contacts", "first_ts", "last_ts"]
        if not self._has_tables():
            return _empty(columns, {"rows": "int64", "contacts": "int64"})
        frame = self.con.execute(
            f"""SELECT a.attribute AS name, a.type, count(c.ts) AS rows,
                       count(DISTINCT c.contact_id) AS contacts,
                       min(c.ts) AS first_ts, max(c.ts) AS last_ts
                FROM {schema.ATTRIBUTES} a LEFT JOIN {schema.CHANGES} c USING (attribute)
                GROUP BY a.attribute, a.type ORDER BY a.attribute"""
        ).df()
        frame["rows"] = frame["rows"].astype("int64")
        frame["contacts"] = frame["contacts"].astype("int64")
        for col in ("first_ts", "last_ts"):
            frame[col] = _utc(frame[col])
        return frame

    @property
    def contacts(self) -> pd.DataFrame:
        """Every contact: ``contact_id, first_ts, last_ts, changes`` (attribute and list rows)."""
        columns = ["contact_id", "first_ts", "last_ts", "changes"]
        if not self._has_tables():
            return _empty(columns, {"changes": "int64"})
        frame = self.con.execute(
            f"""SELECT contact_id, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS changes
                FROM (SELECT contact_id, ts FROM {schema.CHANGES}
                      UNION ALL SELECT contact_id, ts FROM {schema.LIST_CHANGES})
                GROUP BY contact_id ORDER BY contact_id"""
        ).df()
        frame["changes"] = frame["changes"].astype("int64")
        for col in ("first_ts", "last_ts"):
            frame[col] = _utc(frame[col])
        frame["contact_id"] = self._ids_out(frame["contact_id"])
        return frame

    def _ids_out(self, ids: pd.Series) -> pd.Series:
        if self.id_type == "integer":
            return ids.astype("int64")
        return ids.astype(object)

    def _id_param(self, contact_id: Any) -> Any:
        if self.id_type == "integer":
            if isinstance(contact_id, bool) or not isinstance(contact_id, (int, np.integer)):
                raise TypeError(
                    f"contact ids in this store are integers; got {contact_id!r} "
                    f"({type(contact_id).__name__})"
                )
            return int(contact_id)
        if not isinstance(contact_id, str):
            raise TypeError(
                f"contact ids in this store are strings; got {contact_id!r} ({type(contact_id).__name__})"
            )
        return contact_id

    def history(self, contact_id: Any) -> pd.DataFrame:
        """One contact's changes in time order: ``ts, attribute, value, type``.

        List membership changes appear with ``type="list"``, the list name in ``attribute``
        and ``value`` True (added) or False (removed). An unset attribute has value ``None``.
        """
        columns = ["ts", "attribute", "value", "type"]
        if not self._has_tables():
            return _empty(columns, {})
        cid = self._id_param(contact_id)
        rows = self.con.execute(
            f"""SELECT c.ts, c.attribute, a.type, c.v_string, c.v_number, c.v_boolean, c.v_timestamp
                FROM {schema.CHANGES} c JOIN {schema.ATTRIBUTES} a USING (attribute)
                WHERE c.contact_id = ?
                UNION ALL
                SELECT ts, list, 'list', NULL, NULL, member, NULL
                FROM {schema.LIST_CHANGES} WHERE contact_id = ?
                ORDER BY 1, 2""",
            [cid, cid],
        ).fetchall()
        records = []
        for ts, attribute, kind, v_string, v_number, v_boolean, v_timestamp in rows:
            value: Any = {
                "string": v_string,
                "number": v_number,
                "boolean": v_boolean,
                "list": v_boolean,
                "timestamp": None if v_timestamp is None else to_timestamp(v_timestamp),
            }[kind]
            records.append((to_timestamp(ts), attribute, value, kind))
        frame = pd.DataFrame.from_records(records, columns=columns)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
        frame["value"] = frame["value"].astype(object)
        return frame

    def state_at(self, ts: Any, attributes: Iterable[str] | None = None) -> pd.DataFrame:
        """Every contact's attribute values as of ``ts`` (changes at ``ts`` included).

        Returns one row per contact seen at or before ``ts`` (a ``contact_id`` column, then
        one column per attribute: strings as ``object``, numbers ``float64``, booleans
        ``boolean``, timestamps ``datetime64[us, UTC]``); an unset attribute is missing.
        """
        types = self.attribute_types
        names = sorted(types) if attributes is None else list(attributes)
        for name in names:
            if name not in types:
                raise SegsimError(f"unknown attribute {name!r}{did_you_mean(name, types)}")
        at = parse_instant(ts).tz_localize(None)
        if not self._has_tables():
            return _empty(["contact_id", *names], {})
        pivot = ",\n".join(
            f"max(CASE WHEN attribute = ? THEN {schema.VALUE_COLUMN[types[n]]} END) AS {quote_identifier(n)}"
            for n in names
        )
        select = f", {pivot}" if names else ""
        sql = f"""
            WITH latest AS (
                SELECT * FROM {schema.CHANGES}
                WHERE ts <= ? {"AND attribute IN (SELECT unnest(?))" if names else "AND FALSE"}
                QUALIFY row_number() OVER (PARTITION BY contact_id, attribute ORDER BY ts DESC) = 1
            ),
            seen AS (
                SELECT DISTINCT contact_id FROM {schema.CHANGES} WHERE ts <= ?
                UNION SELECT DISTINCT contact_id FROM {schema.LIST_CHANGES} WHERE ts <= ?
            )
            SELECT seen.contact_id{select}
            FROM seen LEFT JOIN latest USING (contact_id)
            GROUP BY seen.contact_id ORDER BY seen.contact_id"""
        params: list[Any] = [at]
        if names:
            params.append(names)
        params += [at, at, *names]
        frame = self.con.execute(sql, params).df()
        frame["contact_id"] = self._ids_out(frame["contact_id"])
        for name in names:
            frame[name] = _typed_column(frame[name], types[name])
        return frame.reset_index(drop=True)

    # -- loading ---------------------------------------------------------------------------

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
            A missing ``value`` (None/NaN/empty CSV cell) means the attribute became unset.
        types : mapping, optional
            ``{attribute: "string" | "number" | "boolean" | "timestamp"}``; attributes not
            named are inferred from their values (strings that all read as ``true``/``false``
            are booleans, as plain decimal numbers are numbers (so ``+33612345678`` and
            ``007`` stay strings), as ISO 8601 instants are timestamps).
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
        self._check_writable()
        source = _read_source(data)
        frame = _map_columns(source, _ATTRIBUTE_COLUMNS, columns)
        ids, id_type = self._contact_ids(source, frame["contact_id"])
        ts = _timestamps(source, frame["ts"])
        names = _names(source, frame["attribute"], "attribute")
        known = self.attribute_types
        declared = _declared_types(types, known)
        typed, new_types = _typed_values(source, names, frame["value"], {**known, **declared})
        rows = pd.DataFrame({"contact_id": ids, "ts": ts, "attribute": names, **typed})
        rows["_row"] = np.arange(len(rows))
        rows = _deduplicate(source, rows, ["contact_id", "ts", "attribute"], on_conflict)
        catalog = {**{k: v for k, v in declared.items() if k not in known}, **new_types}
        return self._write(
            rows,
            schema.CHANGES,
            ["contact_id", "ts", "attribute"],
            on_conflict,
            source,
            id_type,
            catalog,
        )

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
        self._check_writable()
        source = _read_source(data)
        frame = _map_columns(source, _LIST_COLUMNS, columns)
        ids, id_type = self._contact_ids(source, frame["contact_id"])
        ts = _timestamps(source, frame["ts"])
        names = _names(source, frame["list"], "list")
        member = _membership(source, frame["member"])
        rows = pd.DataFrame({"contact_id": ids, "ts": ts, "list": names, "member": member})
        rows["_row"] = np.arange(len(rows))
        rows = _deduplicate(source, rows, ["contact_id", "ts", "list"], on_conflict)
        return self._write(
            rows,
            schema.LIST_CHANGES,
            ["contact_id", "ts", "list"],
            on_conflict,
            source,
            id_type,
            {},
        )

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self._where()} was opened read-only; nothing can be loaded into it"
            )

    def _contact_ids(self, source: _Source, raw: pd.Series) -> tuple[pd.Series, str]:
        ids, id_type = _contact_ids(source, raw)
        current = self.id_type
        if current is not None and len(ids) and id_type != current:
            # A CSV cell has no type: "42" read as an integer is the string "42" in a
            # string-id store. Native integers are not: they would come back as strings.
            if current == "string" and source.kind == "csv":
                ids, id_type = ids.astype(str).astype(object), "string"
            else:
                raise source.fail(
                    f"contact ids in the {self._where()} are {current}s, but this data has "
                    f"{id_type} ids such as {_plain(ids.iloc[0])!r}",
                    column="contact_id",
                )
        return ids, id_type

    def _write(
        self,
        rows: pd.DataFrame,
        table: str,
        key: list[str],
        on_conflict: OnConflict,
        source: _Source,
        id_type: str,
        catalog: Mapping[str, str],
    ) -> int:
        # an empty first load cannot tell the type of contact ids, so it creates nothing
        if rows.empty and (not catalog or not self._has_tables()):
            return 0
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if not self._has_tables():
                for statement in schema.create_statements(id_type):
                    con.execute(statement)
                con.execute(
                    f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', ?)",
                    [schema.SCHEMA_VERSION, id_type],
                )
            for name, kind in catalog.items():
                con.execute(f"INSERT INTO {schema.ATTRIBUTES} VALUES (?, ?)", [name, kind])
            con.register("segsim_incoming", rows)
            stored = [c for c in rows.columns if c != "_row"]
            value_columns = [c for c in stored if c not in key]
            on_key = " AND ".join(f"t.{c} = i.{c}" for c in key)
            same_value = " AND ".join(f"t.{c} IS NOT DISTINCT FROM i.{c}" for c in value_columns)
            clash = _first(
                con.execute(
                    f"""SELECT i._row, {", ".join(f"t.{c}" for c in stored)}, {", ".join(f"i.{c}" for c in value_columns)}
                    FROM segsim_incoming i JOIN {table} t ON {on_key}
                    WHERE NOT ({same_value}) ORDER BY i._row LIMIT 1"""
                )
            )
            if clash is not None and on_conflict == "error":
                position, cid, ts, name = clash[0], clash[1], clash[2], clash[3]
                width = len(value_columns)
                old_value = _value_of(clash[4 : 4 + width], 0)
                new_value = _value_of(clash[4 + width :], 0)
                raise source.fail(
                    f"contact {cid!r} at {to_timestamp(ts)} already has {key[2]} {name!r} = "
                    f"{old_value!r} in the store, and this row says {new_value!r}; "
                    "pass on_conflict='last' to keep this row",
                    int(position),
                )
            if clash is not None:
                # only the rows this load replaces: identical ones stay and are not counted
                con.execute(
                    f"DELETE FROM {table} t USING segsim_incoming i WHERE {on_key} AND NOT ({same_value})"
                )
            before = _first(con.execute(f"SELECT count(*) FROM {table}"))[0]
            columns = ", ".join(stored)
            con.execute(
                f"""INSERT INTO {table} ({columns}) SELECT {", ".join(f"i.{c}" for c in stored)}
                    FROM segsim_incoming i
                    WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on_key})"""
            )
            after = _first(con.execute(f"SELECT count(*) FROM {table}"))[0]
            con.unregister("segsim_incoming")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            with contextlib.suppress(duckdb.Error):
                con.unregister("segsim_incoming")
            raise
        return int(after - before)


# -- reading and checking input ---------------------------------------------------------------


def _read_source(data: Any) -> _Source:
    if isinstance(data, pd.DataFrame):
        return _Source(data, "DataFrame", "dataframe")
    if not isinstance(data, (str, Path)):
        raise TypeError(
            f"data must be a DataFrame or a path to a CSV or Parquet file, got {type(data).__name__}"
        )
    path = Path(data)
    label = f"file {str(path)!r}"
    if not path.exists():
        raise DataLoadError(f"{label} does not exist")
    if path.is_dir():
        raise DataLoadError(f"{label} is a folder; give a CSV or Parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
            return _Source(frame, label, "csv")
        if suffix in (".parquet", ".pq"):
            return _Source(pd.read_parquet(path), label, "parquet")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataLoadError(f"{label} cannot be read: {exc}") from None
    raise DataLoadError(
        f"{label}: unknown file type {suffix!r}; segsim reads .csv and .parquet files"
    )


def _map_columns(
    source: _Source, required: tuple[str, ...], columns: Mapping[str, str] | None
) -> pd.DataFrame:
    mapping = {name: name for name in required}
    for field, column in (columns or {}).items():
        if field not in required:
            raise ValueError(f"columns maps {field!r}, which is not one of {', '.join(required)}")
        mapping[field] = column
    available = [str(c) for c in source.frame.columns]
    missing = [f for f, c in mapping.items() if c not in source.frame.columns]
    if missing:
        parts = []
        for field in missing:
            column = mapping[field]
            hint = difflib.get_close_matches(column, available, n=1)
            suggestion = (
                f" (did you mean {hint[0]!r}? map it with columns={{{field!r}: {hint[0]!r}}})"
                if hint
                else ""
            )
            parts.append(f"{column!r}{suggestion}")
        raise DataLoadError(
            f"{source.label}: missing column{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
            f"the columns are {available}"
        )
    return pd.DataFrame(
        {field: source.frame[column].to_numpy() for field, column in mapping.items()}
    )


def _first_null(series: pd.Series) -> int | None:
    nulls = np.flatnonzero(pd.isna(series).to_numpy())
    return int(nulls[0]) if len(nulls) else None


def _contact_ids(source: _Source, raw: pd.Series) -> tuple[pd.Series, str]:
    position = _first_null(raw)
    if position is not None:
        raise source.fail("contact id is missing", position, "contact_id")
    if pd.api.types.is_bool_dtype(raw):
        raise source.fail("contact ids must be integers or strings, not booleans", 0, "contact_id")
    if pd.api.types.is_integer_dtype(raw):
        return raw.astype("int64"), "integer"
    if pd.api.types.is_float_dtype(raw):
        values = raw.to_numpy()
        bad = np.flatnonzero(values != np.floor(values))
        if len(bad):
            raise source.fail(
                f"contact id {values[bad[0]]!r} is not a whole number", int(bad[0]), "contact_id"
            )
        return _int64_ids(source, [int(v) for v in values]), "integer"
    values = raw.tolist()
    kinds = [_id_kind(v) for v in values]
    for position, kind in enumerate(kinds):
        if kind is None:
            raise source.fail(
                f"contact id {values[position]!r} is a {type(values[position]).__name__}; "
                "ids are integers or strings",
                position,
                "contact_id",
            )
    if source.kind == "csv":
        if all(_INT_ID.match(v) for v in values):
            return _int64_ids(source, [int(v) for v in values]), "integer"
        return pd.Series(values, dtype=object), "string"
    if "int" in kinds and "str" in kinds:
        position = kinds.index("str" if kinds.count("str") < kinds.count("int") else "int")
        raise source.fail(
            f"contact ids mix integers and strings (this one is {values[position]!r}); use one type",
            position,
            "contact_id",
        )
    if kinds and kinds[0] == "int":
        return _int64_ids(source, [int(v) for v in values]), "integer"
    for position, value in enumerate(values):
        if value == "":
            raise source.fail("contact id is an empty string", position, "contact_id")
    return pd.Series(values, dtype=object), "string"


def _int64_ids(source: _Source, values: list[int]) -> pd.Series:
    """Integer ids as int64; one outside its range is named (DuckDB stores them as BIGINT)."""
    for position, value in enumerate(values):
        if not -(2**63) <= value < 2**63:
            raise source.fail(
                f"contact id {value!r} is outside the 64-bit integer range; give such ids as strings",
                position,
                "contact_id",
            )
    return pd.Series(values, dtype="int64")


def _id_kind(value: Any) -> str | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, str):
        return "str"
    return None


def _timestamps(source: _Source, raw: pd.Series) -> pd.Series:
    position = _first_null(raw)
    if position is not None:
        raise source.fail("timestamp is missing", position, "ts")
    if not len(raw):
        return pd.Series([], dtype="datetime64[us]")
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, utc=True)
    elif pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        raise source.fail(
            f"timestamps must be datetimes or ISO 8601 strings, not numbers like {raw.iloc[0]!r}",
            0,
            "ts",
        )
    else:
        parsed = _parse_instants(raw)
        bad = np.flatnonzero(pd.isna(parsed).to_numpy())
        if len(bad):
            raise source.fail(f"cannot read {raw.iloc[bad[0]]!r} as a timestamp", int(bad[0]), "ts")
    return (
        parsed.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[us]")
        .reset_index(drop=True)
    )


def _parse_instants(raw: pd.Series) -> pd.Series:
    """Parse strings and datetime objects to UTC instants; NaT where a value does not parse."""
    values = pd.Series(raw.to_numpy(dtype=object))
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    is_str = values.map(lambda v: isinstance(v, str))
    if is_str.any():
        strings = values[is_str].str.strip()
        parsed = pd.to_datetime(strings, utc=True, errors="coerce", format="ISO8601")
        out[is_str] = parsed.astype("datetime64[us, UTC]")
    others = ~is_str & values.map(
        lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "isoformat")
    )
    if others.any():
        out[others] = _native_instants(values[others].tolist())
    return out


def _native_instants(values: list[Any]) -> pd.DatetimeIndex:
    """Datetime objects as UTC instants: at once, else one by one with NaT for the bad ones.

    Setting them one at a time into a Series costs ~30 µs each, most of a large load.
    """
    try:
        return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
    except (ValueError, TypeError, OverflowError):
        pass
    parsed = []
    for value in values:
        try:
            parsed.append(to_timestamp(value))
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            parsed.append(pd.NaT)
    return pd.DatetimeIndex(parsed, dtype="datetime64[us, UTC]")


def _names(source: _Source, raw: pd.Series, column: str) -> pd.Series:
    position = _first_null(raw)
    if position is not None:
        raise source.fail(f"{column} name is missing", position, column)
    values = raw.tolist()
    for position, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise source.fail(
                f"{column} name must be a non-empty string, got {value!r}", position, column
            )
    return pd.Series(values, dtype=object)


def _declared_types(types: Mapping[str, str] | None, known: Mapping[str, str]) -> dict[str, str]:
    if types is not None and not isinstance(types, Mapping):
        raise TypeError(
            f"types maps attribute names to types, e.g. {{'plan': 'string'}}; got {type(types).__name__}"
        )
    declared = dict(types or {})
    for name, kind in declared.items():
        if kind not in schema.ATTRIBUTE_TYPES:
            raise ValueError(
                f"types[{name!r}] = {kind!r}; an attribute type is one of {', '.join(schema.ATTRIBUTE_TYPES)}"
            )
        if name in known and known[name] != kind:
            raise DataLoadError(
                f"attribute {name!r} is already stored as {known[name]}; it cannot be declared {kind}"
            )
    return declared


def _value_kind(value: Any) -> str | None:
    """The attribute type a native value belongs to; "str" for strings, None for missing."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if isinstance(value, (float, np.floating)) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return "timestamp"
    return "other"


def _typed_values(
    source: _Source, names: pd.Series, raw: pd.Series, known: Mapping[str, str]
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Type every value by its attribute: declared/known types, else inferred per attribute."""
    n = len(raw)
    values = raw.to_numpy(dtype=object)
    kinds = np.array([_value_kind(v) for v in values], dtype=object)
    other = np.flatnonzero(kinds == "other")
    if len(other):
        v = values[other[0]]
        raise source.fail(
            f"unsupported value {v!r} of type {type(v).__name__}", int(other[0]), "value"
        )
    out = {
        "v_string": np.full(n, None, dtype=object),
        "v_number": np.full(n, np.nan),
        "v_boolean": np.full(n, None, dtype=object),
        "v_timestamp": np.full(n, np.datetime64("NaT", "us")),
    }
    new_types: dict[str, str] = {}
    name_array = names.to_numpy(dtype=object)
    for name in pd.unique(name_array):
        positions = np.flatnonzero(name_array == name)
        present = positions[kinds[positions] != None]  # noqa: E711 - elementwise on an object array
        kind = known.get(name)
        if kind is None:
            kind = _infer_type(source, name, values, kinds, present)
            new_types[name] = kind
        _convert(source, name, kind, values, kinds, present, out)
    number = out["v_number"]
    bad = np.flatnonzero(np.isinf(number))
    if len(bad):
        raise source.fail(
            f"attribute {name_array[bad[0]]!r}: value {values[bad[0]]!r} is not finite",
            int(bad[0]),
            "value",
        )
    return (
        {
            "v_string": pd.Series(out["v_string"], dtype=object),
            "v_number": pd.Series(number, dtype="float64"),
            "v_boolean": pd.Series(out["v_boolean"], dtype="boolean"),
            "v_timestamp": pd.Series(out["v_timestamp"], dtype="datetime64[us]"),
        },
        new_types,
    )


def _infer_type(
    source: _Source, name: str, values: np.ndarray, kinds: np.ndarray, present: np.ndarray
) -> str:
    natives = {k for k in kinds[present] if k != "str"}
    if len(natives) > 1:
        first = {k: next(p for p in present if kinds[p] == k) for k in natives}
        a, b = sorted(first.values())[:2]
        raise source.fail(
            f"attribute {name!r} mixes types: {_describe(values[a], kinds[a])} and, at "
            f"{source.row(b)}, {_describe(values[b], kinds[b])}; declare its type with types={{{name!r}: ...}}",
            int(a),
            "value",
        )
    strings = [values[p] for p in present if kinds[p] == "str"]
    if natives:
        (native,) = natives
        if strings and not _strings_parse(strings, native):
            p_native = next(p for p in present if kinds[p] != "str")
            p_string = next(
                p for p in present if kinds[p] == "str" and not _strings_parse([values[p]], native)
            )
            a, b = sorted((p_native, p_string))
            raise source.fail(
                f"attribute {name!r} mixes types: {_describe(values[a], kinds[a])} and, at "
                f"{source.row(b)}, {_describe(values[b], kinds[b])}; declare its type with types={{{name!r}: ...}}",
                int(a),
                "value",
            )
        return str(native)
    if not strings:
        return "string"
    lowered = {s.strip().lower() for s in strings}
    if lowered <= _INFERRED_BOOL:
        return "boolean"
    if all(_INFERRED_NUMBER.match(s.strip()) for s in strings):
        return "number"
    if _strings_parse(strings, "timestamp"):
        return "timestamp"
    return "string"


def _describe(value: Any, kind: str) -> str:
    return f"string {value!r}" if kind == "str" else f"{kind} {value!r}"


def _strings_parse(strings: list[str], kind: str) -> bool:
    series = pd.Series(strings, dtype=object).str.strip()
    if kind == "number":
        return bool(pd.to_numeric(series, errors="coerce").notna().all())
    if kind == "timestamp":
        if not series.str.match(r"^\d{4}-\d{2}-\d{2}").all():
            return False
        return bool(
            pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601").notna().all()
        )
    if kind == "boolean":
        return bool(series.str.lower().isin(_TRUE | _FALSE).all())
    return True


def _convert(
    source: _Source,
    name: str,
    kind: str,
    values: np.ndarray,
    kinds: np.ndarray,
    present: np.ndarray,
    out: dict[str, np.ndarray],
) -> None:
    """Write the attribute's present values into the typed column of ``kind``."""
    if not len(present):
        return
    wrong = present[(kinds[present] != kind) & (kinds[present] != "str")]
    if len(wrong):
        p = int(wrong[0])
        raise source.fail(
            f"attribute {name!r} is {kind}, but this value is {_describe(values[p], kinds[p])}",
            p,
            "value",
        )
    strings = present[kinds[present] == "str"]
    natives = present[kinds[present] != "str"]
    if kind == "string":
        out["v_string"][present] = values[present]
    elif kind == "number":
        out["v_number"][natives] = values[natives].astype(float)
        if len(strings):
            parsed = pd.to_numeric(
                pd.Series(values[strings]).str.strip(), errors="coerce"
            ).to_numpy(dtype=float)
            _reject(source, name, kind, values, strings, np.isnan(parsed))
            out["v_number"][strings] = parsed
    elif kind == "boolean":
        out["v_boolean"][natives] = [bool(v) for v in values[natives]]
        if len(strings):
            lowered = pd.Series(values[strings]).str.strip().str.lower()
            is_true, is_false = lowered.isin(_TRUE).to_numpy(), lowered.isin(_FALSE).to_numpy()
            _reject(source, name, kind, values, strings, ~(is_true | is_false))
            out["v_boolean"][strings] = is_true.tolist()
    else:
        parsed = _parse_instants(pd.Series(values[present], dtype=object))
        _reject(source, name, kind, values, present, pd.isna(parsed).to_numpy())
        out["v_timestamp"][present] = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _reject(
    source: _Source,
    name: str,
    kind: str,
    values: np.ndarray,
    positions: np.ndarray,
    bad: np.ndarray,
) -> None:
    failing = positions[bad]
    if len(failing):
        p = int(failing[0])
        raise source.fail(
            f"attribute {name!r} is {kind}, but value {values[p]!r} does not read as {kind}",
            p,
            "value",
        )


def _membership(source: _Source, raw: pd.Series) -> pd.Series:
    out = []
    for position, value in enumerate(raw.tolist()):
        if isinstance(value, (bool, np.bool_)):
            out.append(bool(value))
            continue
        text = str(value).strip().lower() if isinstance(value, str) else None
        if text in _TRUE or text == "add":
            out.append(True)
        elif text in _FALSE or text == "remove":
            out.append(False)
        else:
            raise source.fail(
                f"member must be true/false (or add/remove), got {value!r}", position, "member"
            )
    return pd.Series(out, dtype=bool)


def _deduplicate(
    source: _Source, rows: pd.DataFrame, key: list[str], on_conflict: OnConflict
) -> pd.DataFrame:
    """Drop repeated identical rows; a key with two different values is a conflict.

    ``rows`` carries ``_row``, the position of each row in the source, to name it in errors.
    """
    if on_conflict not in ("error", "last"):
        raise ValueError(f"on_conflict must be 'error' or 'last', got {on_conflict!r}")
    content = [c for c in rows.columns if c != "_row"]
    rows = rows.drop_duplicates(subset=content, keep="last")
    clashes = rows.duplicated(subset=key, keep=False).to_numpy()
    if clashes.any():
        if on_conflict == "error":
            clashing = rows[clashes]
            first = clashing.iloc[0]
            mates = clashing[(clashing[key] == first[key]).all(axis=1)].sort_values("_row")
            a, b = mates.iloc[0], mates.iloc[1]
            value_columns = [c for c in content if c not in key]
            raise source.fail(
                f"contact {_plain(first['contact_id'])!r} has two different values of {key[2]} "
                f"{_plain(first[key[2]])!r} at {to_timestamp(first['ts'])}: "
                f"{_value_of(a[value_columns], 0)!r} here and {_value_of(b[value_columns], 0)!r} at "
                f"{source.row(int(b['_row']))}; pass on_conflict='last' to keep the later row",
                int(a["_row"]),
            )
        rows = rows.drop_duplicates(subset=key, keep="last")
    return rows.sort_values("_row").reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds, so messages read ``1``, not ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _value_of(row: Any, n_key: int) -> Any:
    """The first non-null value among a row's value columns (None for an unset)."""
    for value in tuple(row)[n_key:]:
        if (
            value is not None
            and not (isinstance(value, float) and math.isnan(value))
            and value is not pd.NA
            and value is not pd.NaT
        ):
            return value.isoformat() if hasattr(value, "isoformat") else _plain(value)
    return None


def _first(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, or None; fetches it all (duckdb 2 keeps partly read results open)."""
    rows = result.fetchall()
    return rows[0] if rows else None


# -- output helpers --------------------------------------------------------------------------


def _utc(series: pd.Series) -> pd.Series:
    if series.dt.tz is None:
        return series.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _typed_column(series: pd.Series, kind: str) -> pd.Series:
    if kind == "number":
        return series.astype("float64")
    if kind == "boolean":
        return series.astype("boolean")
    if kind == "timestamp":
        return _utc(pd.to_datetime(series))
    return series.astype(object).where(series.notna(), None)


def _empty(columns: list[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, object)) for c in columns})
