"""Loaders that turn other export shapes into attribute changes: wide snapshots, change logs.

* :meth:`WideSide.load_snapshot` reads a **wide snapshot** — one row per contact, one column
  per attribute, as CRM and ESP exports look — taken at one instant (or at a per-row instant
  column). Each cell is compared with the contact's state at that instant (changes at the
  instant included, and earlier rows of the same snapshot); only cells that differ become
  attribute changes. An empty cell means *unset*: it unsets an attribute the contact has, and
  is no change where the attribute is already unset or was never set.
* :meth:`WideSide.load_change_log` reads a **change log** — ``contact_id, ts, attribute,
  old_value, new_value`` — and loads ``new_value`` as the attribute's value at ``ts``. The
  ``old_value`` column is optional; when present it is *checked*: where segsim knows the
  value just before ``ts`` (from the store or from an earlier row of the log), ``old_value``
  must equal it (an empty ``old_value`` meaning unset), else the load fails naming the row.
  Where segsim knows no earlier value — the log starts mid-history — ``old_value`` is
  accepted as given. ``check_old_values=False`` ignores the column.

Both go through the same typing, checks, de-duplication and single transaction as
:meth:`~segsim.store.ingest.IngestSide.load_attributes`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from segsim import schema
from segsim._internal.sql import quote_literal
from segsim._time import parse_instant, to_timestamp
from segsim.errors import DataLoadError
from segsim.store.base import loader
from segsim.store.ingest import (
    IngestSide,
    OnConflict,
    _check_on_conflict,
    _declared_types,
    _registered,
)
from segsim.store.sources import PART_SQL_TYPE, Column, Source, open_source
from segsim.store.values import Layout
from segsim.store.write import STAGED

__all__ = ["WideSide"]

_CHANGE_LOG_COLUMNS = ("contact_id", "ts", "attribute", "new_value")
_VALUES = tuple(schema.VALUE_COLUMN.values())
_views = itertools.count()


class WideSide(IngestSide):
    """Snapshot and change-log loaders (mixed into :class:`~segsim.store.Store`)."""

    # -- wide snapshots ----------------------------------------------------------------------

    @loader
    def load_snapshot(
        self,
        data: pd.DataFrame | str | Path,
        ts: Any,
        id_column: str = "contact_id",
        types: Mapping[str, str] | None = None,
        *,
        attributes: Iterable[str] | None = None,
        on_conflict: OnConflict = "error",
    ) -> int:
        """Load a wide snapshot: one row per contact, one column per attribute.

        Parameters
        ----------
        data : DataFrame, or path to a CSV or Parquet file
            A column of contact ids (``id_column``) and one column per attribute, named like
            the attribute.
        ts : timestamp-like or str
            The instant the snapshot was taken, for every row; or the name of a column holding
            each row's instant (e.g. ``"updated_at"``).
        id_column : str
            The column of contact ids.
        types : mapping, optional
            Attribute types, as for :meth:`load_attributes` (the others are stored or
            inferred from the column's values).
        attributes : iterable of str, optional
            The columns to load (default: every column but the id and ``ts`` columns).
        on_conflict : {"error", "last"}
            A changed cell at an instant where the store already has another value of that
            attribute: an error, or (``"last"``) the snapshot's value replaces it.

        Returns
        -------
        int
            The number of attribute changes written: cells that differ from the contact's
            state at ``ts``.

        Notes
        -----
        Each cell is compared with the contact's state at ``ts`` (changes at ``ts`` included),
        so loading the same snapshot twice, or a snapshot that repeats what the history
        already says, writes nothing. An empty cell (None, NaN, ``""``) means unset: it is a
        change only where the attribute is set. Later history is not touched: a snapshot
        older than some stored changes inserts its changes before them.
        """
        _check_on_conflict(on_conflict)
        known = self.attribute_types
        declared = _declared_types(types, known, "types", "attribute")
        source = open_source(self.con, data)
        _require(source, id_column, "id_column")
        ts_column = ts if isinstance(ts, str) and source.has(ts) else None
        if ts_column is None:
            try:
                instant = parse_instant(ts)
            except ValueError as exc:
                raise ValueError(
                    f"ts is the snapshot's instant or the name of one of its columns "
                    f"{[str(c) for c in source.column_names]}; {ts!r} is neither: {exc}"
                ) from None
        wide = _attribute_columns(source, attributes, {id_column, ts_column})
        with _registered(source, [id_column, *([ts_column] if ts_column else []), *wide]):
            id_col = source.column(id_column)
            if ts_column is not None:
                ts_col = source.column(ts_column)
            else:
                stamp = to_timestamp(instant).tz_localize(None).isoformat()
                ts_col = Column(
                    f"ts={stamp}", {"ts": f"TIMESTAMP {quote_literal(stamp)}"}, "timestamp"
                )
            value_col = Column(
                "value", {p: "" for c in wide for p in source.column(c).parts}, "mixed"
            )
            with self._wide_view(source, id_col, ts_col, wide, ts_column) as layout:
                return self._load_attribute_view(
                    layout,
                    {"contact_id": id_col, "ts": ts_col, "value": value_col},
                    known,
                    declared,
                    on_conflict,
                    restage=_keep_changes,
                )

    @contextlib.contextmanager
    def _wide_view(
        self, source: Source, id_col: Column, ts_col: Column, wide: list[Any], ts_column: Any
    ) -> Iterator[Layout]:
        """The snapshot as long rows: position ``row * len(wide) + i`` is cell ``wide[i]``."""
        name = f"segsim_wide_{next(_views)}"
        held = sorted({p for c in wide for p in source.column(c).parts})
        width = len(wide)
        branches = []
        for index, column_name in enumerate(wide):
            column = source.column(column_name)
            cells = [
                f"{column.parts[p]} AS value__{p}"
                if p in column.parts
                else f"CAST(NULL AS {PART_SQL_TYPE[p]}) AS value__{p}"
                for p in held
            ]
            fields = [*id_col.select("id"), *ts_col.select("ts"), *cells]
            branches.append(
                f"SELECT _row * {width} + {index} AS _pos, {', '.join(fields)}, "
                f"{quote_literal(str(column_name))} AS name__text FROM {source.relation}"
            )
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {' UNION ALL '.join(branches)}")
        parts = {
            "id": frozenset(id_col.parts),
            "ts": frozenset(ts_col.parts),
            "value": frozenset(held),
            "name": frozenset({"text"}),
        }
        columns = {"contact_id": id_col.name, "ts": ts_column, "attribute": None, "value": None}
        try:
            yield Layout(source, name, columns, parts, wide=tuple(wide))
        finally:
            with contextlib.suppress(duckdb.Error):
                self.con.execute(f"DROP VIEW IF EXISTS {name}")

    # -- change logs ------------------------------------------------------------------------

    @loader
    def load_change_log(
        self,
        data: pd.DataFrame | str | Path,
        types: Mapping[str, str] | None = None,
        *,
        columns: Mapping[str, str] | None = None,
        on_conflict: OnConflict = "error",
        check_old_values: bool = True,
    ) -> int:
        """Load a change log: ``contact_id, ts, attribute, old_value, new_value``.

        Parameters
        ----------
        data : DataFrame, or path to a CSV or Parquet file
            One row per change. ``new_value`` is the attribute's value from ``ts`` on (empty:
            it became unset); ``old_value`` (optional) the value it had just before.
        types : mapping, optional
            Attribute types, as for :meth:`load_attributes`; old and new values together
            decide an inferred type.
        columns : mapping, optional
            ``{"contact_id": "user_id", "old_value": "from", "new_value": "to", ...}``.
        on_conflict : {"error", "last"}
            As for :meth:`load_attributes`.
        check_old_values : bool
            Check each ``old_value`` against the value just before ``ts``, where segsim knows
            it (see the module documentation); False ignores ``old_value``.

        Returns
        -------
        int
            The number of attribute changes written.
        """
        _check_on_conflict(on_conflict)
        known = self.attribute_types
        declared = _declared_types(types, known, "types", "attribute")
        source = open_source(self.con, data)
        mapping = source.map_columns(_CHANGE_LOG_COLUMNS, columns, optional=("old_value",))
        check = check_old_values and "old_value" in mapping
        names = [mapping[f] for f in _CHANGE_LOG_COLUMNS] + (
            [mapping["old_value"]] if check else []
        )
        with _registered(source, names):
            fields = {
                "contact_id": ("id", source.column(mapping["contact_id"])),
                "ts": ("ts", source.column(mapping["ts"])),
                "attribute": ("name", source.column(mapping["attribute"])),
                "value": ("value", source.column(mapping["new_value"])),
            }
            if check:
                fields["old_value"] = ("old", source.column(mapping["old_value"]))
            with self._view(source, fields) as layout:
                return self._load_attribute_view(
                    layout,
                    {f: c for f, (_, c) in fields.items()},
                    known,
                    declared,
                    on_conflict,
                    restage=(lambda con: _check_old_values(con, layout)) if check else None,
                    extra={"old": "old_value"} if check else None,
                )


# -- helpers -------------------------------------------------------------------------------------


def _require(source: Source, column: Any, argument: str) -> None:
    if not source.has(column):
        source.map_columns(("contact_id",), {"contact_id": column})  # raises, with a suggestion
        raise DataLoadError(f"{source.label}: missing column {column!r} ({argument})")


def _attribute_columns(
    source: Source, attributes: Iterable[str] | None, others: set[Any]
) -> list[Any]:
    if attributes is None:
        wide = [c for c in source.column_names if c not in others]
    else:
        wide = list(attributes)
        for column in wide:
            _require(source, column, "attributes")
    for column in wide:
        if not isinstance(column, str) or not column.strip():
            raise source.fail(
                f"attribute columns need non-empty string names, got {column!r}", column=column
            )
    if not wide:
        raise DataLoadError(f"{source.label}: no attribute columns besides the id and ts columns")
    return wide


def _timeline(extra: tuple[str, ...] = ()) -> str:
    """SQL: stored rows and staged rows of the staged contacts and attributes, in time order,
    each with the values of the row before it (``p_*``; ``prev_src`` 0 stored, 1 staged).

    At one instant stored rows come first: a staged row is compared with the state at its
    instant, changes at that instant included. ``extra`` staged columns are carried along.
    """
    values = ", ".join(_VALUES)
    carried = "".join(f", {c}" for c in extra)
    empty = "".join(f", NULL AS {c}" for c in extra)
    lags = ", ".join(f"lag({v}) OVER w AS p_{v}" for v in _VALUES)
    return f"""
        SELECT _pos, src, contact_id, ts, attribute, {values}{carried},
               lag(src) OVER w AS prev_src, lag(_pos) OVER w AS prev_pos, {lags}
        FROM (
            SELECT NULL::BIGINT AS _pos, 0 AS src, contact_id, ts, attribute, {values}{empty}
            FROM {schema.CHANGES}
            WHERE attribute IN (SELECT DISTINCT attribute FROM {STAGED})
              AND contact_id IN (SELECT DISTINCT contact_id FROM {STAGED})
            UNION ALL
            SELECT _pos, 1, contact_id, ts, attribute, {values}{carried} FROM {STAGED}
        )
        WINDOW w AS (PARTITION BY contact_id, attribute ORDER BY ts, src, _pos)"""


def _same(a: str, b: str) -> str:
    return " AND ".join(f"{a}{v} IS NOT DISTINCT FROM {b}{v}" for v in _VALUES)


def _keep_changes(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the staged snapshot cells that change nothing."""
    unset = " AND ".join(f"{v} IS NULL" for v in _VALUES)
    con.execute(
        f"""DELETE FROM {STAGED} WHERE _pos IN (
                SELECT _pos FROM ({_timeline()})
                WHERE src = 1 AND ((prev_src IS NULL AND {unset})
                                   OR (prev_src IS NOT NULL AND {_same("p_", "")})))"""
    )


def _check_old_values(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """Refuse the first staged change whose old value is not the value before it."""
    extra = tuple(f"old_{v}" for v in _VALUES)
    old = ", ".join(extra)
    row = con.execute(
        f"""SELECT _pos, prev_src, prev_pos, contact_id, ts, attribute, {old},
                   {", ".join(f"p_{v}" for v in _VALUES)}
            FROM ({_timeline(extra)})
            WHERE src = 1 AND prev_src IS NOT NULL AND NOT ({_same("p_", "old_")})
            ORDER BY _pos LIMIT 1"""
    ).fetchall()
    if not row:
        return
    position, prev_src, prev_pos, cid, ts, name = row[0][:6]
    width = len(_VALUES)
    given = _first_value(row[0][6 : 6 + width])
    before = _first_value(row[0][6 + width :])
    where = (
        "in the store" if prev_src == 0 else f"from {layout.source.row(layout.row(int(prev_pos)))}"
    )
    raise layout.fail(
        f"contact {cid!r}, attribute {name!r} at {to_timestamp(ts)}: old value {given!r} is not "
        f"the value before it, {before!r} ({where}); pass check_old_values=False to load the new "
        "values regardless",
        "old_value",
        int(position),
    )


def _first_value(values: tuple) -> Any:
    for value in values:
        if value is not None:
            return value.isoformat() if hasattr(value, "isoformat") else value
    return None
