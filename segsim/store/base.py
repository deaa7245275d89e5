"""The store's connection: opening a DuckDB database, its schema version, its contact id type.

:class:`StoreBase` is what the read side (:mod:`segsim.store.read`) and the ingest side
(:mod:`segsim.store.ingest`) share: the connection, which segsim tables exist, the metadata
row, and the conversion of contact ids between Python and DuckDB. Nothing here reads or writes
histories.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from segsim import schema
from segsim.errors import ReadOnlyStoreError, SegsimError

__all__ = ["StoreBase", "first_row", "loader"]

_SEGSIM_TABLES = {
    schema.META,
    schema.ATTRIBUTES,
    schema.CHANGES,
    schema.LIST_CHANGES,
    schema.EVENTS,
    schema.EVENT_PROPERTIES,
}


class StoreBase:
    """A DuckDB connection holding (or about to hold) a segsim store."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = None if path is None else Path(path)
        self.read_only = read_only
        # segsim tables seen to exist and metadata seen set: neither ever goes away (a load
        # that creates them and fails rolls back before anything looks), so both are cached
        self._present: set[str] = set()
        self._meta_seen: dict[str, str] = {}
        self._frozen: set[str] | None = None  # the tables during a load (see ``_one_load``)
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
        names = {r[0] for r in rows}
        self._present |= names & _SEGSIM_TABLES
        return names

    def _has(self, table: str) -> bool:
        if table in self._present:
            return True
        if self._frozen is not None:
            return table in self._frozen
        return table in self._table_names()

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self._where()} was opened read-only; nothing can be loaded into it"
            )

    @contextlib.contextmanager
    def _one_load(self) -> Iterator[None]:
        """Look the tables up once for a whole load (its many catalog reads ask again and
        again); what the load creates is seen after it."""
        self._frozen = self._table_names()
        try:
            yield
        finally:
            self._frozen = None

    def _has_tables(self) -> bool:
        return self._has(schema.META)

    def _has_events(self) -> bool:
        """Whether the event tables exist (a store written before events has none)."""
        return self._has(schema.EVENTS)

    def _meta(self, key: str) -> str | None:
        if key in self._meta_seen:
            return self._meta_seen[key]
        if not self._has_tables():
            return None
        row = first_row(self.con.execute(f"SELECT value FROM {schema.META} WHERE key = ?", [key]))
        if row is None:
            return None
        self._meta_seen[key] = row[0]
        return row[0]

    @property
    def id_type(self) -> str | None:
        """``"integer"`` or ``"string"``: the type of contact ids, fixed by the first load."""
        return self._meta("id_type")

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contact ids between Python and DuckDB ----------------------------------------------

    def _ids_out(self, ids: pd.Series) -> pd.Series:
        """Contact ids read from DuckDB, typed as they were loaded."""
        if self.id_type == "integer":
            return ids.astype("int64")
        return ids.astype(object)

    def _id_param(self, contact_id: Any) -> Any:
        """A contact id given by the user, checked against the store's id type."""
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


R = TypeVar("R")


def loader(method: Callable[..., R]) -> Callable[..., R]:
    """A load method: refused on a read-only store, its table lookups done once."""

    @functools.wraps(method)
    def load(self: Any, *args: Any, **kwargs: Any) -> R:
        self._check_writable()
        with self._one_load():
            return method(self, *args, **kwargs)

    return load


def first_row(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, or None; fetches it all (duckdb 2 keeps partly read results open)."""
    rows = result.fetchall()
    return rows[0] if rows else None
