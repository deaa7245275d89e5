"""Segment transitions with event conditions: segsim vs a plain DuckDB window query.

    python benchmarks/bench_event_segments.py [--contacts 1000000] [--events 10000000]

The store holds ``contacts`` contacts (the attribute rows of ``data.build_store`` with 4
changes each) and ``events`` occurrences of ``purchase`` (property ``amount``) and
``page_view``, spread over the ~8 months before the window's end. The segment is "Repeat
buyers": ``event("purchase").count(within="90d") >= 2``.

Prints segsim's time (best of three, interleaved with the plain query's) for that segment,
the time of a plain hand-written DuckDB query computing the same counts (the purchases and
the instants ``ts + 90d`` as rows, a ``RANGE`` window frame, ``lag``), their ratio (target
<= 1.5), the time for three event segments (count, sum with ``where``, ``last_at``) and the
peak RSS. Not a test: timings never
decide pass/fail.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import END, START, build_store, peak_rss_mb, timed

import segsim as ss
from segsim import event, prop, schema

D90 = 90 * 86_400_000_000

PLAIN = """
WITH ev AS (
    SELECT contact_id, epoch_us(ts) AS t FROM segsim_events
    WHERE event = 'purchase' AND ts < TIMESTAMP '{end}'
),
rows AS (
    SELECT contact_id, t, 1 AS inc FROM ev
    UNION ALL
    SELECT contact_id, t + {d} AS t, 0 AS inc FROM ev WHERE t + {d} < epoch_us(TIMESTAMP '{end}')
),
instants AS (SELECT contact_id, t, sum(inc) AS inc FROM rows GROUP BY contact_id, t),
counted AS (
    SELECT contact_id, t,
           sum(inc) OVER (PARTITION BY contact_id ORDER BY t
                          RANGE BETWEEN {d} - 1 PRECEDING AND CURRENT ROW) >= 2 AS member
    FROM instants
),
lagged AS (
    SELECT contact_id, t, member,
           lag(member, 1, FALSE) OVER (PARTITION BY contact_id ORDER BY t) AS previous
    FROM counted
)
SELECT t, contact_id, member AS enter FROM lagged
WHERE member <> previous AND t >= epoch_us(TIMESTAMP '{start}')
ORDER BY t, contact_id
"""


def add_events(store: ss.Store, contacts: int, events: int, seed: int = 2) -> None:
    """``events`` occurrences over the contacts: 60% page views, 40% purchases with an amount."""
    con = store.con
    con.execute("BEGIN")
    for statement in schema.event_statements("integer"):
        con.execute(statement)
    con.execute(f'ALTER TABLE {schema.EVENTS} ADD COLUMN "prop:amount" DOUBLE')
    con.execute(f"INSERT INTO {schema.EVENT_PROPERTIES} VALUES ('amount', 'number')")
    con.execute(f"SELECT setseed({1 / (seed + 1)})").fetchall()
    con.execute(
        f"""INSERT INTO {schema.EVENTS}
        SELECT 1 + CAST(floor(random() * {contacts}) AS BIGINT) AS contact_id,
               TIMESTAMP '2025-11-01' + to_microseconds(CAST(random() * 240 * 86400e6 AS BIGINT)),
               CASE WHEN random() < 0.4 THEN 'purchase' ELSE 'page_view' END AS event,
               range AS seq, NULL,
               round(5 + random() * 120, 2)
        FROM range({events})"""
    )
    con.execute(f"UPDATE {schema.EVENTS} SET \"prop:amount\" = NULL WHERE event <> 'purchase'")
    con.execute("COMMIT")


def run(contacts: int, events: int) -> dict:
    build_s, store = timed(build_store, contacts, 4)
    events_s, _ = timed(add_events, store, contacts, events)
    n_events = store.con.execute("SELECT count(*) FROM segsim_events").fetchall()[0][0]
    repeat = ss.Segment("Repeat buyers", event("purchase").count(within="90d") >= 2)
    big = ss.Segment(
        "Big spenders",
        event("purchase", where=prop("amount") >= 50).sum("amount", within="30d") >= 200,
    )
    quiet = ss.Segment("Quiet", event("page_view").last_at().older_than("30d"))

    plain_sql = PLAIN.format(start=START, end=END, d=D90)
    store.con.execute(plain_sql).df()  # warm up; then best of three each, interleaved (on a
    # shared machine the load changes between runs: alternating exposes both sides to it)
    plains, ones = [], []
    for _ in range(3):
        plains.append(timed(lambda: store.con.execute(plain_sql).df()))
        ones.append(timed(ss.segment_events, store, [repeat], START, END))
    plain_s, plain = min(plains, key=lambda item: item[0])
    one_s, one = min(ones, key=lambda item: item[0])
    assert len(one) == len(plain), (len(one), len(plain))
    assert (one["event"] == "enter").tolist() == plain["enter"].tolist()
    three_s, three = timed(ss.segment_events, store, [repeat, big, quiet], START, END)
    return {
        "contacts": contacts,
        "events": int(n_events),
        "build_s": round(build_s + events_s, 2),
        "plain_query_s": round(plain_s, 3),
        "segsim_one_segment_s": round(one_s, 3),
        "ratio": round(one_s / plain_s, 2),
        "transitions_one": len(one),
        "segsim_three_segments_s": round(three_s, 3),
        "transitions_three": len(three),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = run(args.contacts, args.events)
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(f"\nratio segsim / plain DuckDB = {figures['ratio']} (target <= 1.5)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
