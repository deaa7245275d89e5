"""One shard's run, every replication: the function local runs and workers share.

:func:`segsim.engine.simulate` calls :func:`run_shard` for each shard in this process, and
:mod:`segsim.engine.shards` calls it in workers; it lives apart from both so that neither
imports the other.
"""

from __future__ import annotations

from typing import Any

from segsim.engine.core import Simulation

__all__ = ["run_shard", "shard_condition"]


def shard_condition(shard: int, shards: int) -> str | None:
    """The SQL restricting a query to one shard's contacts (None when unsharded)."""
    if shards == 1:
        return None
    return f"hash(contact_id) % {shards} = {shard}"


def run_shard(
    scenario: Any,
    plan: Any,
    shard: int,
    shards: int,
    replications: int,
    sink_for: Any,
    progress: Any = None,
) -> list[dict[str, list[Any]]]:
    """One shard's contacts, every replication: the parts of each, in replication order.

    Replication ``r`` re-runs only what its draws can change (docs/design.md §9):

    * the shard's segment transitions are read from DuckDB once, and replayed;
    * the first replication records the contacts whose story read a draw (a split path, a
      holdout). A contact that read none took no random decision, so every replication
      gives it the same story (contacts are independent); later replications simulate
      only the contacts that read a draw and reuse everyone else's rows of the first
      (assembled by :func:`~segsim.engine.output.frames_from_parts` exactly as shards are:
      identical to simulating every contact).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from segsim.engine.core import transitions_table

    contacts_sql = shard_condition(shard, shards)
    shared = transitions_table(plan, scenario.store, contacts_sql) if replications > 1 else None
    out: list[dict[str, list[Any]]] = []
    kept: dict[str, list[Any]] = {}
    table = shared
    for r in range(replications):
        sink = sink_for(r)
        simulation = Simulation(
            plan,
            scenario.store,
            include_existing_members=scenario.include_existing_members,
            contacts_sql=contacts_sql,
            progress=None if progress is None else progress(r),
            sink=sink,
            # later replications number their runs apart from the reused ones
            key_offset=(shard << 40) + (0 if r == 0 else 1 << 39),
            transitions=table,
            replication=r,
        )
        simulation.run()
        parts = sink.parts
        if r == 0 and replications > 1:
            assert shared is not None
            drawn = list(simulation.drawn)
            kept = {
                name: [f[~f["contact_id"].isin(drawn)] for f in frames]
                for name, frames in parts.items()
            }
            if shared.num_columns:
                wanted = pa.array(drawn, type=shared.schema.field("contact_id").type)
                table = shared.filter(pc.is_in(shared["contact_id"], value_set=wanted))
        elif r > 0:
            parts = {name: kept.get(name, []) + frames for name, frames in parts.items()}
        out.append(parts)
    return out
