"""End to end: data in DuckDB → three flows simulated → frames, with time and peak memory.

    python benchmarks/bench_end_to_end.py --contacts 1000000 [--shards 2 --executor processes]
    python benchmarks/bench_end_to_end.py --contacts 300000 --dask-workers 2

``--store FILE`` reuses one generated store (built there first if missing), so variants
compare on the same rows. ``--dask-workers N`` runs ``max(N, --shards)`` shards on a Dask
``LocalCluster`` of N single-threaded worker processes (started before the timing, as a
cluster would be), and also prints each worker's peak RSS (a worker holds one shard at a
time). ``--shards K`` without an executor runs K shards one after the other in this process:
with ``out=`` only one shard's engine state is in memory at a time (the 10M-contact run).

The store (``data.build_store``: ~10 changes per contact) is built first and not timed. The
timed part is ``ss.simulate(scenario, out=tmp)``: segment transitions in DuckDB, the engine,
and the frames streamed to Parquet (bounded memory). Targets: 1M contacts / 10M changes /
3 flows in < 2 min and < 4 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import END, START, build_store, peak_rss_mb, timed

import segsim as ss
from segsim import all_of, attr


def scenario(store: ss.Store) -> ss.Scenario:
    segments = [
        ss.Segment("Pro", attr("plan") == "pro"),
        ss.Segment("VIP", all_of(attr("plan") == "pro", attr("ltv") >= 100)),
        ss.Segment("Lapsed", attr("last_purchase_at").older_than("90d")),
    ]
    flows = [
        ss.Flow(
            "Welcome",
            trigger=ss.SegmentTrigger("Pro", filters=attr("email_subscribed") == True),  # noqa: E712
            steps=[
                ss.SendEmail("e1", template="welcome"),
                ss.Wait("w1", "2d"),
                ss.Branch(
                    "b1",
                    when=attr("ltv") >= 50,
                    then=[ss.SendEmail("e2", template="tips")],
                    otherwise=[ss.SendSMS("s1", template="nudge")],
                ),
            ],
            settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Pro")]),
        ),
        ss.Flow(
            "VIP",
            trigger=ss.SegmentTrigger("VIP"),
            steps=[
                ss.Webhook("h1", url="https://crm.example.com/vip"),
                ss.Wait("w1", "1d"),
                ss.SendEmail("e1", template="vip"),
            ],
            settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="30d"),
        ),
        ss.Flow(
            "Win-back",
            trigger=ss.SegmentTrigger("Lapsed"),
            steps=[
                ss.SendEmail("e1", template="miss-you"),
                ss.Wait("w1", "7d"),
                ss.AddToList("l1", "winback"),
            ],
            settings=ss.ActivationSettings(
                exit_conditions=[ss.AttributeMatches(attr("last_purchase_at").within_last("1d"))]
            ),
        ),
    ]
    # the benchmark data has no phone numbers or SMS consent: the always-set ``country`` and
    # the email consent stand in, so the SMS are decided (and sent) as in a real history
    channels = ss.Channels(sms_address="country", sms_consent="email_subscribed")
    return ss.Scenario(
        store, segments=segments, flows=flows, start=START, end=END, channels=channels
    )


def run(
    contacts: int,
    shards: int = 1,
    executor: str | None = None,
    dask_workers: int = 0,
    store: Path | None = None,
) -> dict:
    client = None
    if dask_workers:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=dask_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        # a running cluster has its workers' libraries imported: not part of the timing
        client.run(_import_engine)
        # at least one shard per worker; more (--shards) bound each worker's memory
        shards, executor = max(shards, dask_workers), client
    try:
        return _run(contacts, shards, executor, client, store)
    finally:
        if client is not None:
            client.close()
            cluster.close()


def _import_engine() -> None:
    """Import what a shard runs (defined here, so it travels to the workers by value)."""
    import segsim.engine.shard_run
    import segsim.engine.shards  # noqa: F401


def _worker_peak_rss_mb() -> float:
    """A Dask worker's peak RSS (defined here, so it travels to the workers by value)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(contacts: int, shards: int, executor: object, client: object, saved: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        # the generated data differs slightly from one build to the next (DuckDB's random()
        # on several threads): --store keeps one build to compare variants on
        path = saved if saved is not None else Path(tmp) / "store.duckdb"
        if path.exists():
            build_s, store = 0.0, ss.Store(path, read_only=True)
        else:
            build_s, store = timed(build_store, contacts, 10, path)
        changes = store.con.execute("SELECT count(*) FROM segsim_changes").fetchall()[0][0]
        store.close()
        store = ss.Store(path, read_only=True)
        s = scenario(store)
        seconds, result = timed(
            ss.simulate, s, progress=False, shards=shards, executor=executor, out=Path(tmp) / "out"
        )
        counts = result.sql(
            "SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM steps) AS steps, "
            "(SELECT count(*) FROM actions) AS actions"
        )
        figures = {
            "contacts": contacts,
            "changes": int(changes),
            "shards": shards,
            "executor": (
                "in-process"
                if executor is None
                else executor
                if isinstance(executor, str)
                else f"dask ({len(client.scheduler_info()['workers'])} workers)"  # type: ignore[attr-defined]
            ),
            "build_s": round(build_s, 1),
            "simulate_s": round(seconds, 1),
            "runs": int(counts["runs"][0]),
            "steps": int(counts["steps"][0]),
            "actions": int(counts["actions"][0]),
            "peak_rss_mb": round(peak_rss_mb()),
        }
        if client is not None:
            peaks = client.run(_worker_peak_rss_mb)  # type: ignore[attr-defined]
            figures["worker_peak_rss_mb"] = sorted(round(v) for v in peaks.values())
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--executor", choices=["processes"], default=None)
    parser.add_argument("--dask-workers", type=int, default=0)
    parser.add_argument(
        "--store", type=Path, help="a store file to reuse (built there first if missing)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.contacts, args.shards, args.executor, args.dask_workers, args.store)
    for key, value in figures.items():
        print(f"{key:>12}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
