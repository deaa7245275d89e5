"""A scratch DuckDB connection for segsim's own queries over in-memory frames.

Opening an in-memory DuckDB costs about 25 ms, more than assembling the frames of a small
simulation; a cursor of an open database costs about 10 µs. The frames' assembly
(:mod:`segsim.engine.output`) therefore takes a cursor of one in-memory database per process,
opened on first use. A cursor is a connection of its own: the frames it registers and its
``TEMP`` views are visible to it alone and go when it is closed, so concurrent assemblies (the
threads of an executor) never see each other's names. Only segsim's own SQL runs there (never
a user's query: :meth:`segsim.SimulationResult.sql` opens its own connection).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

__all__ = ["scratch"]

_LOCK = threading.Lock()
_DATABASE: tuple[int, duckdb.DuckDBPyConnection] | None = None


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor of the process's scratch database, closed on leaving the block."""
    global _DATABASE
    with _LOCK:
        # a forked child must not use its parent's database (its threads did not fork)
        if _DATABASE is None or _DATABASE[0] != os.getpid():
            _DATABASE = (os.getpid(), duckdb.connect(":memory:"))
        cursor = _DATABASE[1].cursor()
    try:
        yield cursor
    finally:
        cursor.close()
