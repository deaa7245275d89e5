"""One shard's run, every replication: the function local runs and workers share.

:func:`segsim.engine.simulate` calls :func:`run_shard` for each shard in this process, and
:mod:`segsim.engine.shards` calls it in workers; it lives apart from both so that neither
imports the other.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from segsim.engine.core import Simulation
from segsim.engine.stream import by_instant

__all__ = ["grouped_transitions", "run_shard", "shard_condition"]


def shard_condition(shard: int, shards: int) -> str | None:
    """The SQL restricting a query to one shard's contacts (None when unsharded)."""
    if shards == 1:
        return None
    return f"hash(contact_id) % {shards} = {shard}"


def grouped_transitions(table: Any) -> list[tuple[int, list[tuple]]]:
    """A transitions table (:func:`segsim.engine.stream.transitions_table`) as the event loop
    reads it: ``(t, rows)`` per instant, in order, each row a tuple of the table's columns."""
    if not table.num_columns or not table.num_rows:
        return []
    times, rows, starts = by_instant(table)
    return [(times[a], rows[a:b]) for a, b in pairwise(starts)]


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
    * the histories of contacts that go live (read from DuckDB when an action changes
      them) are read once and kept for every replication;
    * the first replication records the contacts whose story read a draw (a split path, a
      holdout, a response to a sent message). A contact that read none took no random
      decision, so every replication gives it the same story (contacts are independent);
      later replications simulate only the contacts that read a draw and reuse everyone
      else's rows of the first: the same part objects in every replication, which
      :func:`~segsim.engine.output.frames_from_replications` holds once and assembles
      exactly as shards are (identical to simulating every contact).
    * Under a rate limit contacts are not independent (they share a channel's capacity):
      every replication simulates every contact.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from segsim.engine.stream import transitions_table

    contacts_sql = shard_condition(shard, shards)
    if replications == 1:
        return [_run(scenario, plan, contacts_sql, sink_for(0), progress, shard, 0, None, None)]
    shared = transitions_table(plan, scenario.store, contacts_sql)
    histories: dict[Any, Any] = {}
    first = _run(scenario, plan, contacts_sql, sink_for(0), progress, shard, 0, shared, histories)
    parts, drawn = first
    out = [parts]
    if plan.rate_limited:
        kept: dict[str, list[Any]] = {}
        table = grouped_transitions(shared)
    else:
        drawn_list = list(drawn)
        kept = {
            name: [f[~f["contact_id"].isin(drawn_list)] for f in frames]
            for name, frames in parts.items()
        }
        subset = shared
        if shared.num_columns:
            wanted = pa.array(drawn_list, type=shared.schema.field("contact_id").type)
            subset = shared.filter(pc.is_in(shared["contact_id"], value_set=wanted))
        table = grouped_transitions(subset)
    for r in range(1, replications):
        fresh, _ = _run(
            scenario, plan, contacts_sql, sink_for(r), progress, shard, r, table, histories
        )
        out.append({name: kept.get(name, []) + frames for name, frames in fresh.items()})
    return out


def _run(
    scenario: Any,
    plan: Any,
    contacts_sql: str | None,
    sink: Any,
    progress: Any,
    shard: int,
    r: int,
    transitions: Any,
    histories: dict[Any, Any] | None,
) -> Any:
    """Simulate replication ``r`` of one shard; its parts (and, for R > 1, its drawn contacts)."""
    simulation = Simulation(
        plan,
        scenario.store,
        include_existing_members=scenario.include_existing_members,
        contacts_sql=contacts_sql,
        progress=None if progress is None else progress(r),
        sink=sink,
        # later replications number their runs apart from the reused ones
        key_offset=(shard << 40) + (0 if r == 0 else 1 << 39),
        transitions=transitions,
        replication=r,
        histories=histories,
    )
    simulation.run()
    if histories is None:
        return sink.parts
    return sink.parts, simulation.drawn
