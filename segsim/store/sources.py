"""Input sources: a DataFrame, a CSV file or a Parquet file, seen by DuckDB as typed *parts*.

A loader never iterates over rows in Python. Each source column is exposed to DuckDB as up to
seven nullable *parts*, one per kind of value it can hold (a pandas ``object`` column can hold
several kinds at once; a Parquet or CSV column holds one):

========  ===========  =====================================================================
part      SQL type     holds
========  ===========  =====================================================================
``text``  VARCHAR      strings (every CSV cell; an empty CSV cell is NULL)
``int``   BIGINT       integers within the 64-bit range
``big``   DOUBLE       integers outside it (``uint64`` ≥ 2**63, Python ints), as a float
``float`` DOUBLE       floats (NaN is NULL: missing)
``bool``  BOOLEAN      booleans
``ts``    TIMESTAMP    datetimes, as naive UTC (naive input means UTC)
``other`` BOOLEAN      TRUE where the value is of no supported kind (a list, a Decimal, ...)
========  ===========  =====================================================================

A DataFrame is converted column by column to Arrow (the kinds of an ``object`` column are told
apart by factorising the values' types, not by a Python loop) and registered with DuckDB; a CSV
file is read by Arrow's multithreaded reader with every column as text; a Parquet file is read by
DuckDB itself (``read_parquet``), its parts being SQL expressions over its typed columns. Every
source has a ``_row`` column: the 0-based position of each row, which error messages turn into
the row (and CSV line, or DataFrame index) the user would look for.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from segsim._internal.sql import quote_identifier, quote_literal
from segsim.errors import DataLoadError

__all__ = ["PARTS", "PART_SQL_TYPE", "Column", "Source", "open_source"]

#: The parts of a column, in the order they are tried, with their SQL types.
PART_SQL_TYPE = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "big": "DOUBLE",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMP",
    "other": "BOOLEAN",
}
PARTS = tuple(PART_SQL_TYPE)
_INT64_MIN, _INT64_END = -(2**63), 2**63
_names = itertools.count()


class Column:
    """One source column as SQL expressions, one per part it can hold (absent parts are NULL)."""

    def __init__(self, name: Any, parts: Mapping[str, str], dtype: str) -> None:
        self.name = name  # as the user wrote it: a message names this
        self.parts = dict(parts)
        #: what the whole column is: "text", "integer", "float", "boolean", "timestamp",
        #: "null" (all missing), "other" or "mixed" (a pandas object column of several kinds)
        self.dtype = dtype

    def sql(self, part: str) -> str:
        """The SQL expression of ``part`` (a typed NULL if the column cannot hold it)."""
        return self.parts.get(part, f"CAST(NULL AS {PART_SQL_TYPE[part]})")

    def select(self, prefix: str) -> list[str]:
        """The parts it holds as ``<prefix>__<part>``, for a SELECT list."""
        return [f"{sql} AS {prefix}__{p}" for p, sql in self.parts.items()]


class Source:
    """Rows from a DataFrame, CSV or Parquet file, registered in DuckDB as a relation."""

    def __init__(self, con: duckdb.DuckDBPyConnection, label: str, kind: str) -> None:
        self.con = con
        self.label = label
        self.kind = kind  # "dataframe" | "csv" | "parquet"
        self.relation = f"segsim_source_{next(_names)}"
        self.frame: pd.DataFrame | None = None
        self.table: pa.Table | None = None  # CSV text, as read
        self.path: Path | None = None
        self.column_names: list[Any] = []
        self.n_rows = 0
        self._columns: dict[Any, Column] = {}

    # -- naming rows in messages -------------------------------------------------------------

    def row(self, position: int) -> str:
        """Name the row at ``position`` (0-based) the way its user would look for it."""
        if self.kind == "csv":
            return f"row {position + 1} (line {position + 2})"
        if self.kind == "parquet":
            return f"row {position + 1}"
        assert self.frame is not None
        return f"row with index {_plain(self.frame.index[position])!r}"

    def fail(self, message: str, position: int | None = None, column: Any = None) -> DataLoadError:
        """A :class:`DataLoadError` naming this source, the column and the row."""
        where = [self.label]
        if column is not None:
            where.append(f"column {column!r}")
        if position is not None:
            where.append(self.row(position))
        return DataLoadError(f"{', '.join(where)}: {message}")

    def value(self, column: Any, position: int) -> Any:
        """The value at ``position`` of ``column`` as the source holds it (for messages)."""
        if self.frame is not None:
            return _plain(self.frame[column].iloc[position])
        if self.table is not None:
            return self.table.column(str(column))[position].as_py()
        row = self.con.execute(
            f"SELECT {quote_identifier(str(column))} FROM read_parquet({quote_literal(str(self.path))}, "
            "file_row_number = true) WHERE file_row_number = ?",
            [position],
        ).fetchall()
        return _plain(row[0][0])

    # -- columns ------------------------------------------------------------------------------

    def has(self, column: Any) -> bool:
        return column in self.column_names

    def column(self, name: Any) -> Column:
        """The parts of source column ``name`` (one of :attr:`column_names`)."""
        return self._columns[name]

    def register(self, names: list[Any]) -> None:
        """Make the columns ``names`` (and ``_row``) readable in DuckDB as :attr:`relation`."""
        if self.kind == "dataframe":
            self._register_frame(names)
        elif self.kind == "csv":
            self._register_csv(names)
        else:
            self._register_parquet(names)

    def close(self) -> None:
        """Drop what :meth:`register` made."""
        try:
            if self.kind == "parquet":
                self.con.execute(f"DROP VIEW IF EXISTS {self.relation}")
            else:
                self.con.unregister(self.relation)
        except duckdb.Error:
            pass

    def _register_frame(self, names: list[Any]) -> None:
        assert self.frame is not None
        arrays: dict[str, pa.Array] = {"_row": pa.array(np.arange(self.n_rows, dtype=np.int64))}
        for index, name in enumerate(names):
            dtype, parts = frame_parts(self.frame[name])
            sql_parts = {}
            for part, array in parts.items():
                arrow_name = f"c{index}_{part}"
                arrays[arrow_name] = array
                sql_parts[part] = quote_identifier(arrow_name)
            self._columns[name] = Column(name, sql_parts, dtype)
        self.con.register(self.relation, pa.table(arrays))

    def _register_csv(self, names: list[Any]) -> None:
        assert self.table is not None
        arrays: dict[str, pa.Array] = {"_row": pa.array(np.arange(self.n_rows, dtype=np.int64))}
        for index, name in enumerate(names):
            arrow_name = f"c{index}_text"
            arrays[arrow_name] = self.table.column(str(name))
            self._columns[name] = Column(name, {"text": quote_identifier(arrow_name)}, "text")
        self.con.register(self.relation, pa.table(arrays))

    def _register_parquet(self, names: list[Any]) -> None:
        types = {
            row[0]: row[1]
            for row in self.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(self.path))})"
            ).fetchall()
        }
        for name in names:
            self._columns[name] = _parquet_column(name, str(types[name]))
        columns = "".join(f", {quote_identifier(str(n))}" for n in names)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP VIEW {self.relation} AS
                SELECT file_row_number AS _row{columns}
                FROM read_parquet({quote_literal(str(self.path))}, file_row_number = true)"""
        )

    # -- field mapping ------------------------------------------------------------------------

    def map_columns(
        self,
        required: tuple[str, ...],
        columns: Mapping[str, Any] | None,
        optional: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """``{field: source column}`` for every required field (and optional ones present).

        ``columns`` maps field names to the source columns holding them; a missing column is
        a :class:`DataLoadError` with the closest existing name.
        """
        fields = required + optional
        mapping: dict[str, Any] = {name: name for name in required}
        for field, column in (columns or {}).items():
            if field not in fields:
                raise ValueError(f"columns maps {field!r}, which is not one of {', '.join(fields)}")
            mapping[field] = column
        for field in optional:
            if field not in mapping and self.has(field):
                mapping[field] = field
        available = [str(c) for c in self.column_names]
        missing = [f for f in mapping if not self.has(mapping[f])]
        if missing:
            parts = []
            for field in missing:
                column = mapping[field]
                hint = difflib.get_close_matches(str(column), available, n=1)
                suggestion = (
                    f" (did you mean {hint[0]!r}? map it with columns={{{field!r}: {hint[0]!r}}})"
                    if hint
                    else ""
                )
                parts.append(f"{column!r}{suggestion}")
            raise DataLoadError(
                f"{self.label}: missing column{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
                f"the columns are {available}"
            )
        return mapping


def open_source(con: duckdb.DuckDBPyConnection, data: Any) -> Source:
    """A :class:`Source` for a DataFrame or a path to a CSV (``.csv``, ``.tsv``, ``.txt``) or
    Parquet (``.parquet``, ``.pq``) file; nothing is registered in DuckDB yet."""
    if isinstance(data, pd.DataFrame):
        source = Source(con, "DataFrame", "dataframe")
        source.frame = data
        source.column_names = list(data.columns)
        source.n_rows = len(data)
        return source
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
    if suffix in (".csv", ".txt", ".tsv"):
        source = Source(con, label, "csv")
        source.path = path
        source.table = _read_csv(path, "\t" if suffix == ".tsv" else ",", label)
        source.column_names = list(source.table.column_names)
        source.n_rows = source.table.num_rows
        return source
    if suffix in (".parquet", ".pq"):
        source = Source(con, label, "parquet")
        source.path = path
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(path))})"
            ).fetchall()
            source.n_rows = int(
                con.execute(
                    f"SELECT count(*) FROM read_parquet({quote_literal(str(path))})"
                ).fetchall()[0][0]
            )
        except duckdb.Error as exc:
            raise DataLoadError(f"{label} cannot be read: {_first_line(exc)}") from None
        source.column_names = [r[0] for r in described]
        return source
    raise DataLoadError(
        f"{label}: unknown file type {suffix!r}; segsim reads .csv and .parquet files"
    )


# -- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, sep: str, label: str) -> pa.Table:
    """Every column as text; an empty cell is NULL (pandas' ``keep_default_na=False`` rules)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=sep), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataLoadError(f"{label} cannot be read: {exc}") from None
    if not header:
        raise DataLoadError(f"{label} cannot be read: the file is empty (no header line)")

    def read(newlines_in_values: bool) -> pa.Table:
        return pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values=newlines_in_values),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        try:
            return read(newlines_in_values=False)  # faster, in parallel
        except pa.ArrowInvalid:
            return read(newlines_in_values=True)  # a quoted value may hold a line break
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoadError(f"{label} cannot be read: {_csv_problem(path, sep, exc)}") from None


def _csv_problem(path: Path, sep: str, exc: Exception) -> str:
    """The reason a CSV cannot be read, with its line number (pandas says it best)."""
    try:
        pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError, pd.errors.ParserError) as pandas_exc:
        return str(pandas_exc).strip()
    return str(exc).strip()


# -- Parquet -----------------------------------------------------------------------------------

_PARQUET_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT"}
_PARQUET_INTEGERS |= {"UINTEGER"}
_PARQUET_WIDE_INTEGERS = {"UBIGINT", "HUGEINT", "UHUGEINT"}
_PARQUET_FLOATS = {"FLOAT", "DOUBLE", "REAL"}


def _parquet_column(name: Any, sql_type: str) -> Column:
    col = quote_identifier(str(name))
    base = sql_type.split("(")[0].upper()
    if base == "VARCHAR":
        return Column(name, {"text": col}, "text")
    if base == "ENUM" or sql_type.upper().startswith("ENUM"):
        return Column(name, {"text": f"CAST({col} AS VARCHAR)"}, "text")
    if base in _PARQUET_INTEGERS:
        return Column(name, {"int": f"CAST({col} AS BIGINT)"}, "integer")
    if base in _PARQUET_WIDE_INTEGERS:
        in_range = f"{col} BETWEEN {_INT64_MIN} AND {_INT64_END - 1}"
        return Column(
            name,
            {
                "int": f"CASE WHEN {in_range} THEN CAST({col} AS BIGINT) END",
                "big": f"CASE WHEN NOT ({in_range}) THEN CAST({col} AS DOUBLE) END",
            },
            "integer",
        )
    if base in _PARQUET_FLOATS or base == "DECIMAL":
        value = f"CAST({col} AS DOUBLE)"
        return Column(name, {"float": f"CASE WHEN NOT isnan({value}) THEN {value} END"}, "float")
    if base == "BOOLEAN":
        return Column(name, {"bool": col}, "boolean")
    if sql_type.upper() == "TIMESTAMP WITH TIME ZONE":
        # from the UTC microseconds: a cast to TIMESTAMP goes through the time zone library
        return Column(name, {"ts": f"make_timestamp(epoch_us({col}))"}, "timestamp")
    if sql_type.upper() == "TIMESTAMP":
        return Column(name, {"ts": col}, "timestamp")
    if base.startswith("TIMESTAMP") or base == "DATE":
        return Column(name, {"ts": f"CAST({col} AS TIMESTAMP)"}, "timestamp")
    if base == '"NULL"' or base == "NULL":
        return Column(name, {}, "null")
    return Column(name, {"other": f"({col} IS NOT NULL)"}, "other")


# -- DataFrame columns to Arrow parts ----------------------------------------------------------

_NULL_TYPES = (type(None), type(pd.NaT), type(pd.NA))


def _kind_of_type(kind: type) -> str | None:
    """The part a Python value of type ``kind`` goes to (None: a missing value)."""
    if issubclass(kind, _NULL_TYPES):
        return None
    if issubclass(kind, (bool, np.bool_)):
        return "bool"
    if issubclass(kind, (int, np.integer)):
        return "int"
    if issubclass(kind, (float, np.floating)):
        return "float"
    if issubclass(kind, str):
        return "text"
    if issubclass(kind, (dt.datetime, dt.date, np.datetime64)):
        return "ts"
    return "other"


def frame_parts(series: pd.Series) -> tuple[str, dict[str, pa.Array]]:
    """A pandas column as ``(dtype, {part: Arrow array})`` (see the module docstring)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean", {"bool": pa.array(series, type=pa.bool_(), from_pandas=True)}
    if pd.api.types.is_integer_dtype(dtype):
        if pd.api.types.is_unsigned_integer_dtype(dtype) and dtype.itemsize == 8:
            return "integer", _unsigned_parts(series)
        return "integer", {"int": pa.array(series, type=pa.int64(), from_pandas=True)}
    if pd.api.types.is_float_dtype(dtype):
        return "float", {"float": pa.array(series, type=pa.float64(), from_pandas=True)}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp", {"ts": _utc_arrow(series)}
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "text", {"text": pa.array(series, type=pa.string(), from_pandas=True)}
    if not pd.api.types.is_object_dtype(dtype):
        present = series.notna().to_numpy()
        return "other", {"other": pa.array(present, mask=~present)}
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "string":
        return "text", {"text": pa.array(series, type=pa.string(), from_pandas=True)}
    if inferred == "empty":
        return "null", {}
    return "mixed", _mixed_parts(series.to_numpy(dtype=object))


def _unsigned_parts(series: pd.Series) -> dict[str, pa.Array]:
    values = series.to_numpy()
    big = values >= np.uint64(_INT64_END)
    return {
        "int": pa.array(np.where(big, 0, values).astype(np.int64), mask=big),
        "big": pa.array(values.astype(np.float64), mask=~big),
    }


def _utc_arrow(series: pd.Series) -> pa.Array:
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    values = series.to_numpy(dtype="datetime64[us]")
    return pa.array(values, type=pa.timestamp("us"), mask=np.isnat(values))


def _mixed_parts(values: np.ndarray) -> dict[str, pa.Array]:
    """Split an object array by the kind of each value; the Python work is per *type*."""
    n = len(values)
    codes, kinds = pd.factorize(pd.Series(values, dtype=object).map(type))
    kind_of_code = np.array([_kind_of_type(k) for k in kinds] + [None], dtype=object)
    row_kinds = kind_of_code[codes]  # code -1 (never produced for types) maps to None
    parts: dict[str, pa.Array] = {}
    for part in ("text", "int", "float", "bool", "ts", "other"):
        positions = np.flatnonzero(row_kinds == part)
        if not len(positions):
            continue
        subset = values[positions]
        if part == "text":
            column = np.full(n, None, dtype=object)
            column[positions] = subset
            parts["text"] = pa.array(column, type=pa.string())
        elif part == "int":
            big = (subset >= _INT64_END) | (subset < _INT64_MIN)
            ints = np.zeros(n, dtype=np.int64)
            ints[positions[~big]] = subset[~big].astype(np.int64)
            present = np.zeros(n, dtype=bool)
            present[positions[~big]] = True
            parts["int"] = pa.array(ints, mask=~present)
            if big.any():
                floats = np.zeros(n)
                floats[positions[big]] = subset[big].astype(float)
                is_big = np.zeros(n, dtype=bool)
                is_big[positions[big]] = True
                parts["big"] = pa.array(floats, mask=~is_big)
        elif part == "float":
            floats = np.full(n, np.nan)
            floats[positions] = subset.astype(float)
            parts["float"] = pa.array(floats, mask=np.isnan(floats))
        elif part == "bool":
            flags = np.zeros(n, dtype=bool)
            flags[positions] = subset.astype(bool)
            present = np.zeros(n, dtype=bool)
            present[positions] = True
            parts["bool"] = pa.array(flags, mask=~present)
        elif part == "ts":
            stamps, unreadable = _native_instants(subset)
            column = np.full(n, np.datetime64("NaT", "us"))
            column[positions] = stamps
            parts["ts"] = pa.array(column, type=pa.timestamp("us"), mask=np.isnat(column))
            if unreadable.any():
                other = np.zeros(n, dtype=bool)
                other[positions[unreadable]] = True
                parts["other"] = pa.array(other, mask=~other)
        else:
            flags = np.zeros(n, dtype=bool)
            flags[positions] = True
            previous = parts.get("other")
            if previous is not None:
                flags |= previous.fill_null(False).to_numpy(zero_copy_only=False)
            parts["other"] = pa.array(flags, mask=~flags)
    return parts


def _native_instants(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Datetime objects as naive UTC ``datetime64[us]``, and a mask of those that cannot be.

    At once when possible; value by value (only then) to single out the unreadable ones.
    """
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
        return stamps.tz_localize(None).to_numpy(), np.zeros(len(values), dtype=bool)
    except (ValueError, TypeError, OverflowError):
        pass
    out = np.full(len(values), np.datetime64("NaT", "us"))
    bad = np.zeros(len(values), dtype=bool)
    for position, value in enumerate(values):  # only when the vectorised conversion failed
        try:
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            out[position] = stamp.tz_localize(None).as_unit("us").to_datetime64()
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            bad[position] = True
    return out, bad


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds, so messages read ``1``, not ``np.int64(1)``."""
    return (
        value.item()
        if isinstance(value, np.generic) and not isinstance(value, np.datetime64)
        else value
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
