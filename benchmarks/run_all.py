"""The benchmark suite: one command, a table on screen, JSON on disk.

    python benchmarks/run_all.py [--quick] [--json benchmarks/results.json]

Each benchmark runs in its own process (so peak RSS is its own):

* loading 10M attribute changes from Parquet, CSV and a DataFrame vs DuckDB reading the same
  rows into a table;
* segment transitions vs a plain DuckDB query (1M contacts / 10M changes);
* event-segment transitions vs a plain DuckDB window query (1M contacts / 10M events);
* the engine vs bare SimPy callbacks (200k flows), and with a delivery policy vs without;
* replications: a later replication vs the first, and 100 replications on 2 processes
  (the demo scenario at 5,000 contacts);
* end to end at 100k, 300k and 1M contacts (time and memory growth);
* 1 vs 2 shards on local processes, and on a Dask ``LocalCluster`` of 2 workers (1M
  contacts, the same store as the one-process run).

``--quick`` divides every size by 10 (a smoke run). Timings are figures to read, never
pass/fail tests; the targets live in the issues and in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(script: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    subprocess.run(
        [sys.executable, str(HERE / script), *args, "--json", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    figures = json.loads(out.read_text())
    out.unlink()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sizes divided by 10")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rows = []

    load = _run("bench_load.py", "--rows", str(10_000_000 // scale))
    for source in ("parquet", "typed", "csv", "dataframe", "events"):
        if source in load:
            figures = load[source]
            rows.append(
                (
                    f"load {source} / DuckDB read",
                    f"{load['rows']:,} rows",
                    f"{figures['segsim_s']} s vs {figures['reference_s']} s",
                    f"{figures['rows_per_s']:,} rows/s, ratio {figures['ratio']}",
                    "≥ 1M rows/s, ≤ 5" if source in ("parquet", "typed") else "",
                )
            )

    seg = _run("bench_segments.py", "--contacts", str(1_000_000 // scale))
    rows.append(
        (
            "transitions / plain DuckDB",
            f"{seg['contacts']:,} contacts",
            f"{seg['segsim_one_segment_s']} s vs {seg['plain_query_s']} s",
            f"ratio {seg['ratio']}",
            "≤ 1.5",
        )
    )
    rows.append(
        (
            "3 segments incl. time-relative",
            f"{seg['changes']:,} changes",
            f"{seg['segsim_three_segments_s']} s",
            f"{seg['peak_rss_mb']} MB",
            "< 10 s",
        )
    )

    events = _run(
        "bench_event_segments.py",
        "--contacts",
        str(1_000_000 // scale),
        "--events",
        str(10_000_000 // scale),
    )
    rows.append(
        (
            "event segment transitions / plain DuckDB",
            f"{events['contacts']:,} contacts, {events['events']:,} events",
            f"{events['segsim_one_segment_s']} s vs {events['plain_query_s']} s",
            f"ratio {events['ratio']}",
            "≤ 1.5",
        )
    )

    eng = _run("bench_engine.py", "--contacts", str(200_000 // scale))
    rows.append(
        (
            "engine / bare SimPy callbacks",
            f"{eng['flows']:,} flows",
            f"{eng['engine_flows_per_s']:,} vs {eng['bare_simpy_flows_per_s']:,} flows/s",
            f"ratio {eng['ratio_engine_vs_bare']}",
            "≥ 0.5",
        )
    )
    rows.append(
        (
            "engine with a policy / without",
            f"{eng['flows']:,} flows",
            "quiet hours + 2 caps",
            f"ratio {eng['ratio_policy_vs_none']}",
            "≤ 1.3",
        )
    )

    reps = _run("bench_replications.py", "--contacts", "5000", "--replications", str(100 // scale))
    rows.append(
        (
            "later replication / first",
            f"{reps['contacts']:,} contacts",
            f"{reps['later_replication_s']} s vs {reps['first_replication_s']} s",
            f"ratio {reps['later_over_first']}",
            "≤ 0.6",
        )
    )
    rows.append(
        (
            f"{reps['replications']} replications, 2 processes",
            f"{reps['contacts']:,} contacts",
            f"{reps['processes_s']} s",
            "",
            "≤ 60 s (100)",
        )
    )

    ends = []
    with tempfile.TemporaryDirectory() as tmp:
        # the 1M store is built once and shared by the one-process, 2-process and Dask runs,
        # so the speed-ups compare the same rows
        saved = str(Path(tmp) / "store.duckdb")
        for contacts in (100_000, 300_000, 1_000_000):
            store = ["--store", saved] if contacts == 1_000_000 else []
            e2e = _run("bench_end_to_end.py", "--contacts", str(contacts // scale), *store)
            ends.append(e2e)
            rows.append(
                (
                    "end to end, 3 flows",
                    f"{e2e['contacts']:,} contacts",
                    f"{e2e['simulate_s']} s",
                    f"{e2e['peak_rss_mb']} MB",
                    "1M: < 120 s, < 4 GB",
                )
            )
        size = ["--contacts", str(1_000_000 // scale), "--store", saved]
        two = _run("bench_end_to_end.py", *size, "--shards", "2", "--executor", "processes")
        dask = _run("bench_end_to_end.py", *size, "--dask-workers", "2")
    one = ends[-1]
    for label, variant in (("2 shards vs 1 (processes)", two), ("2 Dask workers vs 1", dask)):
        rows.append(
            (
                label,
                f"{variant['contacts']:,} contacts",
                f"{variant['simulate_s']} s vs {one['simulate_s']} s",
                f"speed-up {round(one['simulate_s'] / variant['simulate_s'], 2)}",
                "≥ 1.7",
            )
        )

    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    header = ("benchmark", "size", "time", "figure", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(),
    }
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "load": load,
                "segments": seg,
                "event_segments": events,
                "engine": eng,
                "replications": reps,
                "end_to_end": ends,
                "two_shards": two,
                "dask_two_workers": dask,
            },
            indent=2,
        )
    )
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
