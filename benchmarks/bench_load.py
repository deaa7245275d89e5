"""Loading: ``Store.load_attributes`` (and ``load_events``) vs DuckDB reading the same rows.

    python benchmarks/bench_load.py [--rows 10000000] [--sources parquet,typed,csv,dataframe,events]

Generates ``--rows`` attribute changes (about ten per contact; six attributes: strings, a number,
a boolean and a timestamp, every value as text, as long-format exports hold them) into a
Parquet file and a CSV file in a temporary folder, then measures, in this one process:

* the reference: DuckDB's own read of the same file into a table
  (``CREATE TABLE t AS SELECT * FROM read_parquet(...)``; ``read_csv`` for the CSV; the
  DataFrame scanned by DuckDB for the DataFrame);
* segsim loading it into a new in-memory store: from Parquet with every type inferred
  (``parquet``) and with ``types=`` declared (``typed``), from the CSV, from a DataFrame, and
  ``load_events`` of as many purchase occurrences (``contact_id, ts, event, amount,
  category``) from Parquet (``events``).

Prints rows/s and the ratio to the reference (targets from Parquet: ≥ 1M rows/s, ratio ≤ 5).
Each timing is the best of ``--repeat`` runs. Not a test: timings never decide pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import peak_rss_mb

import segsim as ss

TYPES = {
    "plan": "string",
    "ltv": "number",
    "email_subscribed": "boolean",
    "last_purchase_at": "timestamp",
    "country": "string",
    "email": "string",
}

_ROWS = """
SELECT (i % {contacts}) + 1 AS contact_id,
       TIMESTAMPTZ '2025-01-01' + to_microseconds(CAST(hash(i) % CAST(365 * 86400e6 AS UBIGINT) AS BIGINT)) AS ts,
       ['plan', 'ltv', 'email_subscribed', 'last_purchase_at', 'country', 'email'][1 + i % 6] AS attribute,
       CASE i % 6
           WHEN 0 THEN ['free', 'pro', 'churned'][1 + CAST(hash(i * 7) % 3 AS BIGINT)]
           WHEN 1 THEN CAST(round((hash(i * 3) % 100000) / 100.0, 2) AS VARCHAR)
           WHEN 2 THEN CASE WHEN hash(i * 5) % 2 = 0 THEN 'true' ELSE 'false' END
           WHEN 3 THEN strftime(TIMESTAMP '2025-01-01' + to_microseconds(CAST(hash(i * 11) % CAST(365 * 86400e6 AS UBIGINT) AS BIGINT)), '%Y-%m-%dT%H:%M:%SZ')
           WHEN 4 THEN ['FR', 'DE', 'ES', 'IT', 'GB', 'US'][1 + CAST(hash(i * 13) % 6 AS BIGINT)]
           ELSE 'c' || i || '@example.com'
       END AS value
FROM range({rows}) t(i)
"""

_EVENTS = """
SELECT (i % {contacts}) + 1 AS contact_id,
       TIMESTAMPTZ '2025-01-01' + to_microseconds(CAST(hash(i) % CAST(365 * 86400e6 AS UBIGINT) AS BIGINT)) AS ts,
       CASE WHEN i % 4 = 0 THEN 'purchase' ELSE 'page_view' END AS event,
       CASE WHEN i % 4 = 0 THEN round((hash(i * 3) % 20000) / 100.0, 2) END AS amount,
       ['jazz', 'rock', 'classical', 'books'][1 + CAST(hash(i * 7) % 4 AS BIGINT)] AS category
FROM range({rows}) t(i)
"""


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """The benchmark rows as Parquet and CSV files (and purchase events as Parquet)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    contacts = max(rows // 10, 1)
    paths = {
        "parquet": folder / "changes.parquet",
        "csv": folder / "changes.csv",
        "events": folder / "events.parquet",
    }
    query = _ROWS.format(rows=rows, contacts=contacts)
    con.execute(f"COPY ({query}) TO '{paths['parquet']}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT contact_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, attribute, value "
        f"FROM read_parquet('{paths['parquet']}')) TO '{paths['csv']}' (HEADER, DELIMITER ',')"
    )
    events = _EVENTS.format(rows=rows, contacts=contacts)
    con.execute(f"COPY ({events}) TO '{paths['events']}' (FORMAT parquet)")
    con.close()
    return paths


def best(repeat: int, action: Callable[[], Any]) -> float:
    """The best wall time of ``repeat`` runs of ``action`` (a fresh store or connection each)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def duckdb_read(source: str, frame: Any = None) -> Callable[[], None]:
    def run() -> None:
        con = duckdb.connect()
        if frame is not None:
            con.register("frame", frame)
        con.execute(f"CREATE TABLE t AS SELECT * FROM {source}")
        con.close()

    return run


def segsim_load(method: str, data: Any, **kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        store = ss.Store()
        getattr(store, method)(data, **kwargs)
        store.close()

    return run


def run(rows: int, sources: list[str], repeat: int) -> dict:
    figures: dict[str, Any] = {"rows": rows}
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp), rows)
        parquet = f"read_parquet('{paths['parquet']}')"
        csv = f"read_csv('{paths['csv']}', header = true)"
        cases: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
            "parquet": (duckdb_read(parquet), segsim_load("load_attributes", paths["parquet"])),
            "typed": (
                duckdb_read(parquet),
                segsim_load("load_attributes", paths["parquet"], types=TYPES),
            ),
            "csv": (duckdb_read(csv), segsim_load("load_attributes", paths["csv"])),
        }
        if "events" in sources and hasattr(ss.Store, "load_events"):
            cases["events"] = (
                duckdb_read(f"read_parquet('{paths['events']}')"),
                segsim_load("load_events", paths["events"]),
            )
        frame = None
        if "dataframe" in sources:
            frame = duckdb.connect().execute(f"SELECT * FROM {parquet}").df()
            cases["dataframe"] = (
                duckdb_read("frame", frame),
                segsim_load("load_attributes", frame),
            )
        for name in sources:
            if name not in cases:
                continue
            reference, load = cases[name]
            reference_s = best(repeat, reference)
            segsim_s = best(repeat, load)
            figures[name] = {
                "reference_s": round(reference_s, 3),
                "segsim_s": round(segsim_s, 3),
                "rows_per_s": round(rows / segsim_s),
                "ratio": round(segsim_s / reference_s, 2),
            }
        del frame
    figures["peak_rss_mb"] = round(peak_rss_mb())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--sources",
        default="parquet,typed,csv,dataframe,events",
        help="comma-separated: parquet, typed, csv, dataframe, events",
    )
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = run(args.rows, args.sources.split(","), args.repeat)
    print(f"{figures['rows']:,} rows")
    print(f"{'source':>10} | {'segsim s':>9} | {'DuckDB s':>9} | {'rows/s':>11} | ratio")
    for name, f in figures.items():
        if isinstance(f, dict):
            print(
                f"{name:>10} | {f['segsim_s']:>9} | {f['reference_s']:>9} | "
                f"{f['rows_per_s']:>11,} | {f['ratio']}"
            )
    print(f"peak RSS {figures['peak_rss_mb']} MB; targets from Parquet: >= 1M rows/s, ratio <= 5")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
