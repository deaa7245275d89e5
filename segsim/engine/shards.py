"""Sharded runs outside this process: local processes, any executor, or a Dask cluster.

Contacts are independent, so a scenario splits by contact (a hash of the id, computed in
DuckDB). Each shard opens the store's DuckDB file **read-only**, reads only its contacts and
runs the ordinary engine; the parts come back (or are written as Parquet parts when the run
streams to ``out=``) and are assembled into canonical frames by :mod:`segsim.engine.output`.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from segsim import schema
from segsim._internal.sql import quote_literal
from segsim.engine.pool import cpu_count, start_workers
from segsim.errors import SegsimError

__all__ = ["run_distributed"]


def run_distributed(
    scenario: Any, shards: int, executor: Any, work: Path | None, replications: int = 1
) -> list[dict[str, list[Any]]]:
    """Run every shard on ``executor``; returns the in-memory parts of each replication
    (empty with ``work``). A shard runs all its replications, sharing its transitions."""
    if executor != "processes" and not hasattr(executor, "submit"):
        raise ValueError(
            f"executor must be None, 'processes', a concurrent.futures.Executor or a "
            f"dask.distributed.Client; got {executor!r}"
        )
    store = scenario.store
    fields = {
        name: getattr(scenario, name) for name in type(scenario).model_fields if name != "data"
    }
    owned = None
    if executor == "processes":
        # started first: the workers' imports run while the store is copied
        owned = executor = start_workers(min(shards, cpu_count()))
    copy_dir = None
    try:
        if store.path is not None and store.read_only:
            path = store.path
        else:
            # A read-write DuckDB connection locks its file against other processes, and an
            # in-memory store has no file: hand the workers a read-only copy.
            copy_dir = Path(tempfile.mkdtemp(prefix="segsim-shards-"))
            path = copy_dir / "store.duckdb"
            _copy_store(store, path)
        futures = [
            executor.submit(
                simulate_shard,
                fields,
                str(path),
                shard,
                shards,
                None if work is None else str(work / f"shard-{shard:04d}"),
                replications,
            )
            for shard in range(shards)
        ]
        try:
            results = [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise SegsimError(
                "a worker process stopped before it finished its shard. "
                "In a script, put the code that simulates under "
                '`if __name__ == "__main__":` — each worker imports the script it was '
                "started from, and would otherwise start the simulation again (Python's "
                "multiprocessing rule); a worker can also be stopped by the system when "
                "memory runs out (try fewer shards at a time, or out=)"
            ) from error
    finally:
        if owned is not None:
            owned.shutdown()
        if copy_dir is not None:
            shutil.rmtree(copy_dir, ignore_errors=True)
    per_replication: list[dict[str, list[Any]]] = [{} for _ in range(replications)]
    for result in results:
        for parts, shard_part in zip(per_replication, result or [{}] * replications, strict=True):
            for name, frames in shard_part.items():
                parts.setdefault(name, []).extend(frames)
    return per_replication


def simulate_shard(
    fields: dict[str, Any],
    store_path: str,
    shard: int,
    shards: int,
    part_dir: str | None,
    replications: int = 1,
) -> list[dict[str, list[Any]]] | None:
    """One shard, in a worker: open the store read-only, run every replication, return
    the parts of each (or write them, with ``part_dir``)."""
    from segsim.engine.output import MemorySink, ParquetSink
    from segsim.engine.plan import build_plan
    from segsim.engine.shard_run import run_shard
    from segsim.scenario import Scenario
    from segsim.store import Store

    store = Store(store_path, read_only=True)
    try:
        scenario = Scenario(store, **fields)
        plan = build_plan(scenario)
        id_dtype = "int64" if store.id_type == "integer" else "object"

        def sink_for(_r: int) -> Any:
            if part_dir is None:
                return MemorySink(id_dtype)
            return ParquetSink(id_dtype, Path(part_dir))

        parts = run_shard(scenario, plan, shard, shards, replications, sink_for)
    finally:
        store.close()
    return None if part_dir is not None else parts


def _copy_store(store: Any, path: Path) -> None:
    """Copy the store's tables into a new DuckDB file."""
    if store.id_type is None:
        raise SegsimError("the store is empty: load data before simulating")
    con = store.con.cursor()
    try:
        con.execute(f"ATTACH {quote_literal(str(path))} AS segsim_copy")
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_catalog = current_database()"
            ).fetchall()
        }
        # the event tables are absent from stores written before events
        tables = [schema.META, schema.ATTRIBUTES, schema.CHANGES, schema.LIST_CHANGES]
        tables += [schema.EVENTS, schema.EVENT_PROPERTIES]
        for table in (t for t in tables if t in present):
            con.execute(f"CREATE TABLE segsim_copy.{table} AS SELECT * FROM {table}")
        con.execute("DETACH segsim_copy")
    finally:
        con.close()
