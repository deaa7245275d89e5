"""Local worker processes for sharded runs, and the number of shards ``shards="auto"`` picks.

Going parallel has a fixed cost (docs/performance.md, "Going parallel"): the workers must
import segsim and its libraries (pandas, DuckDB, Arrow: seconds on a loaded machine), an
in-memory store is first copied to a DuckDB file, and the parts come back pickled. Two
things keep it small:

* where the platform has it (Linux, macOS), workers start with the ``forkserver`` method,
  whose server process imports the engine once (:data:`PRELOAD`) and then forks each worker
  already warm; the server lives as long as this Python process, so the second parallel run
  of a session pays no import at all. Elsewhere workers are spawned.
* :func:`start_workers` starts that server before the store is copied, so its imports run
  while the copy does.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["PRELOAD", "SHARD_ROWS", "auto_shards", "cpu_count", "history_rows", "start_workers"]

#: What a worker needs to run a shard, imported once by the fork server.
PRELOAD = [
    "segsim.engine.shards",
    "segsim.engine.shard_run",
    "segsim.engine.plan",
    "segsim.engine.output",
    "segsim.scenario",
    "segsim.store",
]

#: ``shards="auto"`` gives each shard at least this many rows of history (attribute, list
#: and event changes): below it a second process costs more than it saves
#: (docs/performance.md, "Going parallel").
SHARD_ROWS = 250_000


def cpu_count() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def start_workers(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` local processes; with the fork server, its imports start now."""
    context: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # effective only when the (process-wide) server is not running yet
        context.set_forkserver_preload(PRELOAD)
        from multiprocessing import forkserver

        forkserver.ensure_running()  # returns at once; the server imports PRELOAD meanwhile
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def auto_shards(executor: Any, rows: int, rate_limited: bool) -> int:
    """The number of shards ``shards="auto"`` runs (docs/semantics.md, "Identity and
    determinism").

    One when the shards would run one after the other (``executor=None``), when the policy
    has a rate limit (all contacts share it), or when the history has fewer than
    2 × :data:`SHARD_ROWS` rows; otherwise as many as the executor has workers, but no more
    than ``rows // SHARD_ROWS``.
    """
    if executor is None or rate_limited:
        return 1
    return max(1, min(_workers(executor), rows // SHARD_ROWS))


def _workers(executor: Any) -> int:
    """How many shards ``executor`` runs at once."""
    if executor == "processes":
        return cpu_count()
    nthreads = getattr(executor, "nthreads", None)  # a dask.distributed.Client
    if callable(nthreads):
        return max(1, sum(nthreads().values()))
    return max(1, int(getattr(executor, "_max_workers", None) or cpu_count()))


def history_rows(store: Any) -> int:
    """The store's rows of history: attribute, list and event changes."""
    from segsim import schema

    present = {
        r[0]
        for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
    }
    tables = [t for t in (schema.CHANGES, schema.LIST_CHANGES, schema.EVENTS) if t in present]
    if not tables:
        return 0
    counts = " + ".join(f"(SELECT count(*) FROM {t})" for t in tables)
    return int(store.con.execute(f"SELECT {counts}").fetchone()[0])
