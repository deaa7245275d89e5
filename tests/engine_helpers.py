"""Small builders for hand-computed engine tests: days as numbers, logs as tuples."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import segsim as ss

T0 = pd.Timestamp("2026-01-01", tz="UTC")

#: For property tests over random histories: a history may have no row of a list a random
#: condition reads, and the warning a user then gets (tests/test_bad_input.py checks it) is
#: expected there, not a failure.
RANDOM_LISTS_MAY_BE_UNKNOWN = pytest.mark.filterwarnings(
    "ignore:in_list.*no list history has it:segsim.errors.SegsimWarning"
)


def day(n: float) -> pd.Timestamp:
    """``T0 + n`` days."""
    return T0 + pd.Timedelta(days=n)


def days(ts: pd.Timestamp) -> float:
    """Back from a timestamp to days since ``T0`` (for readable asserts)."""
    value = (ts - T0) / pd.Timedelta(days=1)
    return int(value) if value == int(value) else value


def make_store(
    rows: list[tuple[Any, float, str, Any]],
    lists: list[tuple[Any, float, str, bool]] = (),
    types=None,
) -> ss.Store:
    """A store from ``(contact, day, attribute, value)`` and ``(contact, day, list, member)``."""
    store = ss.Store()
    frame = pd.DataFrame(
        [(c, day(d), a, v) for c, d, a, v in rows],
        columns=["contact_id", "ts", "attribute", "value"],
    )
    frame["value"] = frame["value"].astype(object)
    store.load_attributes(frame, types=types)
    if lists:
        store.load_lists(
            pd.DataFrame(
                [(c, day(d), name, m) for c, d, name, m in lists],
                columns=["contact_id", "ts", "list", "member"],
            )
        )
    return store


def reachable(contact: Any, at: float = -30) -> list[tuple[Any, float, str, Any]]:
    """Rows giving a contact an email, a phone and every consent (from day ``at``)."""
    return [
        (contact, at, "email", f"c{contact}@example.com"),
        (contact, at, "phone", f"+3360000{contact}"),
        (contact, at, "email_subscribed", True),
        (contact, at, "sms_subscribed", True),
        (contact, at, "whatsapp_subscribed", True),
    ]


def runs_log(result: ss.SimulationResult) -> list[tuple]:
    return [
        (r.flow, r.contact_id, days(r.entered_at), r.entry, days(r.ended_at), r.end_reason)
        for r in result.runs.itertuples()
    ]


def actions_log(result: ss.SimulationResult) -> list[tuple]:
    return [
        (days(r.time), r.flow, r.contact_id, r.step_id, r.status, r.reason)
        for r in result.actions.itertuples()
    ]


def suppressed_log(result: ss.SimulationResult) -> list[tuple]:
    return [(days(r.time), r.flow, r.contact_id, r.reason) for r in result.suppressed.itertuples()]


def events_log(result_or_frame: Any) -> list[tuple]:
    frame = getattr(result_or_frame, "segment_events", result_or_frame)
    return [
        (days(r.time), r.contact_id, r.segment, r.event, r.nth, r.cause) for r in frame.itertuples()
    ]


def scenario(store: ss.Store, segments, flows, *, end: float = 30, **kwargs: Any) -> ss.Scenario:
    return ss.Scenario(store, segments=segments, flows=flows, start=day(0), end=day(end), **kwargs)
