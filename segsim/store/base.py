"""The store's connection: opening a DuckDB database, its schema version, its contact id type.

:class:`StoreBase` is what the read side (:mod:`segsim.store.read`) and the ingest side
(:mod:`segsim.store.ingest`) share: the connection, which segsim tables exist, the metadata
row, and the conversion of contact ids between Python and DuckDB. Nothing here reads or writes
histories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segsim import schema
from segsim.errors import SegsimError

__all__ = ["StoreBase", "first_row"]


class StoreBase:
    """A DuckDB connection holding (or about to hold) a segsim store."""

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

    def _has_events(self) -> bool:
        """Whether the event tables exist (a store written before events has none)."""
        return schema.EVENTS in self._table_names()

    def _meta(self, key: str) -> str | None:
        if not self._has_tables():
            return None
        row = first_row(self.con.execute(f"SELECT value FROM {schema.META} WHERE key = ?", [key]))
        return None if row is None else row[0]

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


def first_row(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, or None; fetches it all (duckdb 2 keeps partly read results open)."""
    rows = result.fetchall()
    return rows[0] if rows else None
