"""The flow engine: :func:`simulate` turns a scenario into a :class:`SimulationResult`.

Modules, upstream first: :mod:`.plan` validates and compiles a scenario (one compile rule
per step kind), :mod:`.draws` gives deterministic random draws, :mod:`.delivery` decides
every message, :mod:`.live` evaluates contacts touched by actions, :mod:`.core` is the event
loop (one handler per step kind), :mod:`.output` assembles the frames (in memory or as
Parquet), :mod:`.shards` splits a run by contact.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from segsim.engine.output import (
    MemorySink,
    ParquetSink,
    frames_from_replications,
    write_frames,
)
from segsim.engine.plan import build_plan
from segsim.engine.shard_run import run_shard
from segsim.errors import SegsimWarning
from segsim.result import SimulationResult, open_result

__all__ = ["simulate"]


class _Progress:
    """A tqdm bar over simulated time, shown only for runs longer than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.started = time.perf_counter()

    def update_to(self, fraction: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < 1.0:
                return  # quick runs show no bar
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=1000,
                desc="simulating",
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
            )
        self.bar.n = int(min(max(fraction, 0.0), 1.0) * 1000)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def simulate(
    scenario: Any,
    *,
    progress: bool = True,
    shards: int | str = 1,
    executor: Any = None,
    out: str | Path | None = None,
    replications: int = 1,
) -> SimulationResult:
    """Replay the scenario's history through its flows; nothing is sent.

    Parameters
    ----------
    scenario : Scenario
        Data (a store), segments, flows, window, schedule, channels and seed.
    progress : bool
        Show a progress bar (notebooks and terminals) when the run takes over a second.
    shards : int or "auto"
        Split the contacts into this many independent parts (by a hash of the contact id,
        computed in DuckDB). The frames are identical whatever the number of shards. A
        scenario whose policy has a rate limit (a capacity all contacts share) runs as one
        shard, with a warning. ``"auto"`` picks the number where going parallel pays: 1
        with ``executor=None``, with a rate limit or with under 500,000 rows of history
        (attribute, list and event changes); otherwise one per worker of the executor
        (CPU, for ``"processes"``), at most one per 250,000 rows. The number run is
        ``result.meta["shards"]``.
    executor : None, "processes", a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``
        Where shards run: ``None`` in this process, one after the other; ``"processes"`` in
        local processes (one per shard, at most one per CPU); an executor or a Dask client
        you provide. Outside this process, shards read the store's DuckDB file read-only, so
        the scenario's store must be a file (``ss.Store("file.duckdb")``) visible to the
        workers; an in-memory store is first written to a temporary DuckDB file. Local
        processes import the script they were started from: in a script, call
        ``simulate`` under ``if __name__ == "__main__":`` (a worker that dies raises a
        :class:`SegsimError` saying so).
    out : path, optional
        Stream the frames to Parquet files in this folder instead of holding them in
        memory; the result then reads them lazily (DuckDB over Parquet). Memory is then
        bounded by one shard's engine state (raise ``shards`` for a larger population) and
        the final sort of the parts, which spills to disk beyond 4 GB. The folder is
        complete or absent: an interrupted run leaves no half-written result.
    replications : int
        Simulate the scenario this many times, replication ``r`` drawing its random
        choices (splits, holdouts) with ``replication=r`` (docs/design.md §9). The segment
        transitions are computed once and shared. With R > 1 every frame starts with a
        ``replication`` column (0 to R - 1; ``run_id`` numbers each replication's runs
        from 1), :attr:`SimulationResult.replications` has one row per replication and
        ``summary()`` the mean and 95% interval of each metric; replication 0 alone is
        exactly the result of ``replications=1``. Not combined with ``out=``.

    Returns
    -------
    SimulationResult
        ``segment_events``, ``runs``, ``steps``, ``actions``, ``suppressed`` and helpers.

    Raises
    ------
    FlowNotReady
        A flow without a trigger is active from the start or activated later.
    ConditionError, SegmentError, ScenarioError
        The scenario does not fit its data (unknown attribute, bad types, ...).
    CascadeLoopError
        Flows feed each other at one instant without making progress in time.

    Warns
    -----
    SegsimWarning
        For what the figures depend on and is probably unintended, e.g. a channel's consent
        attribute missing from the data that only a flow step sets.
    """
    if shards != "auto" and (not isinstance(shards, int) or isinstance(shards, bool) or shards < 1):
        raise ValueError(f"shards must be a positive integer or 'auto', got {shards!r}")
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ValueError(f"replications must be a positive integer, got {replications!r}")
    if replications > 1 and out is not None:
        raise ValueError(
            "simulate(..., out=DIR) streams one replication; with replications > 1 the "
            "frames are held in memory (leave out= unset, then result.to_parquet(DIR))"
        )
    plan = build_plan(scenario)
    for message in plan.warnings:
        warnings.warn(message, SegsimWarning, stacklevel=2)
    if isinstance(shards, str):  # "auto"
        from segsim.engine.pool import auto_shards, history_rows

        shards = auto_shards(executor, history_rows(scenario.store), plan.rate_limited)
        if shards == 1:
            executor = None  # one shard runs here: no worker to start, no store to copy
    if shards > 1 and plan.rate_limited:
        # a rate limit is a capacity every contact shares: contacts split into shards would
        # each get the whole capacity, so the run is one shard (the frames are what shards=1 gives)
        warnings.warn(
            f"the delivery policy has a rate limit, which all contacts share: the scenario runs "
            f"unsharded (shards=1, not {shards})",
            SegsimWarning,
            stacklevel=2,
        )
        shards = 1
    store = scenario.store
    id_dtype = "int64" if store.id_type == "integer" else "object"
    meta = {
        "flows": list(plan.flow_order),
        "seed": scenario.seed,
        "shards": shards,
        "replications": replications,
    }
    out_path = None if out is None else Path(out)
    work = Path(tempfile.mkdtemp(prefix="segsim-parts-")) if out_path is not None else None
    try:
        if executor is None:
            per_replication = _run_in_process(
                scenario, plan, shards, progress, work, id_dtype, replications
            )
        else:
            from segsim.engine.shards import run_distributed

            per_replication = run_distributed(scenario, shards, executor, work, replications)
        if out_path is not None:
            assert work is not None
            write_frames(sorted(p for p in work.iterdir() if p.is_dir()), out_path, plan.flow_order)
            return open_result(out_path, scenario=scenario, meta=meta)
        frames = frames_from_replications(per_replication, plan.flow_order, id_dtype)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return SimulationResult(frames, scenario=scenario, meta=meta)


def _run_in_process(
    scenario: Any,
    plan: Any,
    shards: int,
    progress: bool,
    work: Path | None,
    id_dtype: str,
    replications: int = 1,
) -> list[dict[str, list[Any]]]:
    bar = _Progress(progress)
    per_replication: list[dict[str, list[Any]]] = [{} for _ in range(replications)]
    try:
        for shard in range(shards):

            def sink_for(r: int, shard: int = shard) -> Any:
                if work is None:
                    return MemorySink(id_dtype)
                return ParquetSink(id_dtype, work / f"shard-{shard:04d}")

            def progress_of(r: int, shard: int = shard) -> Any:
                return _ShardProgress(bar, shard * replications + r, shards * replications)

            shard_parts = run_shard(
                scenario, plan, shard, shards, replications, sink_for, progress_of
            )
            for parts, shard_part in zip(per_replication, shard_parts, strict=True):
                for name, frames in shard_part.items():
                    parts.setdefault(name, []).extend(frames)
    finally:
        bar.close()
    return per_replication


class _ShardProgress:
    """Progress of shard ``k`` of ``n`` on one bar."""

    def __init__(self, bar: _Progress, shard: int, shards: int) -> None:
        self.bar, self.shard, self.shards = bar, shard, shards

    def update_to(self, fraction: float) -> None:
        self.bar.update_to((self.shard + fraction) / self.shards)
