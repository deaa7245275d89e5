"""Synthetic benchmark data written straight into a segsim store with DuckDB SQL.

Loading through ``Store.load_attributes`` is measured on its own (``bench_load.py``); for the
benchmarks about transitions and the engine the rows are generated inside DuckDB, straight in
the store's own schema (``segsim.schema``).
"""

from __future__ import annotations

import time
from pathlib import Path

import segsim as ss
from segsim import schema

START = "2026-01-01"
END = "2026-07-01"


def build_store(
    contacts: int, changes_per_contact: int = 10, path: str | Path | None = None, seed: int = 1
) -> ss.Store:
    """``contacts`` contacts with about ``changes_per_contact`` changes each, over ~8 months.

    Attributes: ``plan`` (string), ``ltv`` (number), ``email_subscribed`` (boolean),
    ``last_purchase_at`` (timestamp), ``country`` (string), ``email`` (string).
    """
    store = ss.Store(path)
    con = store.con
    con.execute("BEGIN")
    for statement in schema.create_statements("integer"):
        con.execute(statement)
    con.execute(
        f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', 'integer')",
        [schema.SCHEMA_VERSION],
    )
    con.execute(
        f"""INSERT INTO {schema.ATTRIBUTES} VALUES ('plan', 'string'), ('ltv', 'number'),
            ('email_subscribed', 'boolean'), ('last_purchase_at', 'timestamp'),
            ('country', 'string'), ('email', 'string')"""
    )
    con.execute(f"SELECT setseed({1 / (seed + 1)})").fetchall()
    per = changes_per_contact
    # every contact: a sign-up row of plan/country/email/email_subscribed, then random changes
    con.execute(
        f"""INSERT INTO {schema.CHANGES}
        WITH c AS (
            SELECT range AS contact_id,
                   TIMESTAMP '2025-11-01' + to_microseconds(CAST(random() * 240 * 86400e6 AS BIGINT)) AS signup
            FROM range(1, {contacts + 1})
        )
        SELECT contact_id, signup, 'plan', 'free', NULL, NULL, NULL FROM c
        UNION ALL SELECT contact_id, signup, 'country', ['FR','DE','ES','IT','GB','US'][1 + CAST(floor(random() * 6) AS INTEGER)], NULL, NULL, NULL FROM c
        UNION ALL SELECT contact_id, signup, 'email', 'c' || contact_id || '@example.com', NULL, NULL, NULL FROM c
        UNION ALL SELECT contact_id, signup, 'email_subscribed', NULL, NULL, TRUE, NULL FROM c"""
    )
    con.execute(
        f"""INSERT INTO {schema.CHANGES}
        SELECT contact_id, ts, attribute,
               CASE attribute WHEN 'plan' THEN ['free','pro','churned'][1 + CAST(floor(random() * 3) AS INTEGER)] END,
               CASE attribute WHEN 'ltv' THEN round(random() * 500, 2) END,
               CASE attribute WHEN 'email_subscribed' THEN random() < 0.8 END,
               CASE attribute WHEN 'last_purchase_at' THEN ts END
        FROM (
            SELECT contact_id, ts, ['plan','ltv','email_subscribed','last_purchase_at'][1 + CAST(floor(random() * 4) AS INTEGER)] AS attribute
            FROM (
                SELECT c.range AS contact_id,
                       TIMESTAMP '2025-11-01' + to_microseconds(CAST(random() * 240 * 86400e6 AS BIGINT)) AS ts
                FROM range(1, {contacts + 1}) c, range({max(per - 4, 1)}) k
            )
        )
        QUALIFY row_number() OVER (PARTITION BY contact_id, ts, attribute) = 1"""
    )
    con.execute("COMMIT")
    return store


def timed(fn, *args, **kwargs):
    """Run ``fn`` and return (seconds, result)."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
