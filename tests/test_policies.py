"""Delivery policies, hand-computed with literal UTC times: ``assert log == [...]``.

Time zones (``Channels(timezone_attribute=...)``), ``Wait(until=..., weekdays=...)``, quiet
hours, frequency caps with flow priority, rate limits, and sharding. DST days used:
Europe/London goes forward on Sunday 2026-03-29 (01:00 GMT -> 02:00 BST) and back on Sunday
2026-10-25; America/New_York goes forward on Sunday 2026-03-08 (02:00 EST -> 03:00 EDT).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

import segsim as ss
from segsim import attr

PRO = ss.Segment("Pro", attr("plan") == "pro")
TZ = ss.Channels(timezone_attribute="timezone")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def contact_rows(contact: Any, enter: str, zone: str | None = None) -> list[tuple]:
    """A reachable contact entering Pro at ``enter`` (UTC), in ``zone`` from the start."""
    rows = [
        (contact, "2025-01-01", "email", f"c{contact}@example.com"),
        (contact, "2025-01-01", "phone", f"+3360000{contact}"),
        (contact, "2025-01-01", "email_subscribed", True),
        (contact, "2025-01-01", "sms_subscribed", True),
        (contact, "2025-01-01", "whatsapp_subscribed", True),
        (contact, "2025-01-01", "plan", "free"),
        (contact, enter, "plan", "pro"),
    ]
    if zone is not None:
        rows.append((contact, "2025-01-01", "timezone", zone))
    return rows


def store_of(rows: list[tuple]) -> ss.Store:
    frame = pd.DataFrame(
        [(c, utc(t), a, v) for c, t, a, v in rows],
        columns=["contact_id", "ts", "attribute", "value"],
    )
    frame["value"] = frame["value"].astype(object)
    store = ss.Store()
    store.load_attributes(frame)
    return store


def run(rows, flows, *, start="2026-01-01", end="2026-12-31", **kwargs) -> ss.SimulationResult:
    options = kwargs.pop("simulate", {})
    scenario = ss.Scenario(
        store_of(rows),
        segments=[PRO],
        flows=flows,
        start=start,
        end=end,
        channels=kwargs.pop("channels", TZ),
        **kwargs,
    )
    return ss.simulate(scenario, **options, progress=False)


def flow(*steps, name="F", **kwargs) -> ss.Flow:
    return ss.Flow(name, trigger=ss.SegmentTrigger("Pro"), steps=list(steps), **kwargs)


def sends(result: ss.SimulationResult) -> list[tuple]:
    """``(time UTC, flow, contact, step, status, reason)`` of every action."""
    return [
        (str(r.time)[:16], r.flow, r.contact_id, r.step_id, r.status, r.reason)
        for r in result.actions.itertuples()
    ]


def steps(result: ss.SimulationResult) -> list[tuple]:
    return [
        (str(r.time)[:16], r.contact_id, r.step_id, r.outcome) for r in result.steps.itertuples()
    ]


# -- 1. time zones ----------------------------------------------------------------------------


def test_default_timezone_is_validated_at_construction():
    with pytest.raises(ValidationError, match="'Mars/Base' is not an IANA time zone"):
        ss.Channels(default_timezone="Mars/Base")


def test_unknown_zone_in_history_names_the_contact_and_row():
    rows = contact_rows(1, "2026-01-05 10:00", "Europe/Paris") + contact_rows(2, "2026-01-05 10:00")
    rows.append((2, "2026-02-01 08:30", "timezone", "Europe/Pariss"))
    with pytest.raises(ss.ScenarioError) as info:
        run(rows, [flow(ss.SendEmail("e1", template="t"))])
    message = str(info.value)
    assert "contact 2" in message
    assert "2026-02-01 08:30:00+00:00" in message
    assert "'Europe/Pariss'" in message and "'timezone'" in message


def test_missing_timezone_attribute_is_refused_with_a_suggestion():
    rows = contact_rows(1, "2026-01-05 10:00", "Europe/Paris")
    channels = ss.Channels(timezone_attribute="time_zone")
    with pytest.raises(
        ss.ScenarioError, match="'time_zone' is not in the data; did you mean 'timezone'"
    ):
        run(rows, [flow(ss.SendEmail("e1", template="t"))], channels=channels)


def test_validate_reports_an_unknown_zone():
    rows = contact_rows(1, "2026-01-05 10:00", "Nowhere/City")
    scenario = ss.Scenario(
        store_of(rows),
        segments=[PRO],
        flows=[flow(ss.SendEmail("e1", template="t"))],
        start="2026-01-01",
        end="2026-02-01",
        channels=TZ,
    )
    from segsim.engine.plan import scenario_problems

    problems = scenario_problems(scenario)
    assert len(problems) == 1 and "contact 1" in problems[0] and "'Nowhere/City'" in problems[0]


def test_a_move_changes_the_zone_from_then_on():
    # 09:00 local: New York (UTC-5 in January) until the move at 2026-01-06 13:00 UTC, then Tokyo
    rows = contact_rows(1, "2026-01-05 12:00", "America/New_York")
    rows.append((1, "2026-01-06 13:00", "timezone", "Asia/Tokyo"))
    f = flow(
        ss.Wait("w1", "1d", until="09:00"),
        ss.SendEmail("e1", template="t"),
        ss.Wait("w2", "1d", until="09:00"),
        ss.SendEmail("e2", template="t"),
    )
    # entered 2026-01-05 07:00 EST; the next day's 09:00 EST = 2026-01-06 14:00 UTC (the end of
    # a wait is fixed when it begins). w2 begins then, in Tokyo (23:00 JST): the next day's
    # 09:00 JST = 2026-01-07 00:00 UTC
    assert sends(run(rows, [f])) == [
        ("2026-01-06 14:00", "F", 1, "e1", "sent", None),
        ("2026-01-07 00:00", "F", 1, "e2", "sent", None),
    ]


def test_a_move_before_the_wait_begins_is_read():
    rows = contact_rows(1, "2026-01-05 12:00", "America/New_York")
    rows.append((1, "2026-01-05 11:00", "timezone", "Asia/Tokyo"))
    result = run(rows, [flow(ss.Wait("w1", "1d", until="09:00"), ss.SendEmail("e1", template="t"))])
    # entered 2026-01-05 21:00 Tokyo; the next day 09:00 JST = 2026-01-06 00:00 UTC
    assert sends(result) == [("2026-01-06 00:00", "F", 1, "e1", "sent", None)]


def test_no_timezone_attribute_means_the_default_zone():
    rows = contact_rows(1, "2026-01-05 12:00")
    channels = ss.Channels(default_timezone="Asia/Kolkata")  # UTC+05:30
    result = run(
        rows,
        [flow(ss.Wait("w1", "0d", until="20:00"), ss.SendEmail("e1", template="t"))],
        channels=channels,
    )
    assert sends(result) == [("2026-01-05 14:30", "F", 1, "e1", "sent", None)]


def test_update_contact_setting_the_zone_moves_the_contact():
    rows = contact_rows(1, "2026-01-05 12:00", "Europe/London")
    f = flow(
        ss.UpdateContact("u1", set={"timezone": "Asia/Tokyo"}),
        ss.Wait("w1", "1d", until="09:00"),
        ss.SendEmail("e1", template="t"),
    )
    result = run(rows, [f])
    assert sends(result)[1:] == [("2026-01-06 00:00", "F", 1, "e1", "sent", None)]


def test_update_contact_with_an_unknown_zone_is_refused():
    rows = contact_rows(1, "2026-01-05 12:00", "Europe/London")
    f = flow(ss.UpdateContact("u1", set={"timezone": "Moon/Base"}))
    with pytest.raises(ss.ScenarioError, match="flow 'F' step 'u1' sets 'timezone'.*'Moon/Base'"):
        run(rows, [f])


# -- 2. Wait(until=...) -----------------------------------------------------------------------


def wait_then_send(wait: ss.Wait, zone: str, enter: str) -> list[tuple]:
    result = run(contact_rows(1, enter, zone), [flow(wait, ss.SendEmail("e1", template="t"))])
    return [row[0] for row in sends(result)]


def test_wait_until_counts_calendar_days_then_the_clock_time():
    # entered Monday 2026-03-02 16:00 Paris (15:00 UTC); 2 days -> Wed 15:00 CET = 14:00 UTC
    assert wait_then_send(
        ss.Wait("w1", "2d", until="15:00"), "Europe/Paris", "2026-03-02 15:00"
    ) == ["2026-03-04 14:00"]


def test_wait_zero_days_is_today_if_still_ahead_else_tomorrow():
    zero = ss.Wait("w1", "0d", until="15:00")
    assert wait_then_send(zero, "Europe/Paris", "2026-03-02 08:00") == ["2026-03-02 14:00"]
    assert wait_then_send(zero, "Europe/Paris", "2026-03-02 14:00") == [
        "2026-03-03 14:00"
    ]  # 15:00 now
    assert wait_then_send(zero, "Europe/Paris", "2026-03-02 15:00") == ["2026-03-03 14:00"]


def test_wait_until_on_allowed_weekdays():
    # entered Friday 2026-03-06 10:00 New York (15:00 UTC); 1 day -> Saturday, not allowed:
    # Monday 2026-03-09 09:00 EDT (New York moved to EDT on Sunday 03-08) = 13:00 UTC
    weekdays = ss.Wait("w1", "1d", until="09:00", weekdays=["mon", "tue", "wed", "thu", "fri"])
    assert wait_then_send(weekdays, "America/New_York", "2026-03-06 15:00") == ["2026-03-09 13:00"]


def test_wait_until_across_the_new_york_spring_forward():
    # entered Saturday 2026-03-07 09:00 EST (14:00 UTC); 1 day -> Sunday 03-08 09:00 EDT = 13:00 UTC
    # (23 hours later: the day is 23 hours long)
    assert wait_then_send(
        ss.Wait("w1", "1d", until="09:00"), "America/New_York", "2026-03-07 14:00"
    ) == ["2026-03-08 13:00"]


def test_wait_until_on_london_dst_days():
    # spring forward Sunday 2026-03-29: 01:30 local does not exist (01:00 -> 02:00); it is read
    # with the offset before the change, GMT: 01:30 UTC = 02:30 BST
    assert wait_then_send(
        ss.Wait("w1", "1d", until="01:30"), "Europe/London", "2026-03-28 12:00"
    ) == ["2026-03-29 01:30"]
    # 09:00 on that day is BST: 08:00 UTC
    assert wait_then_send(
        ss.Wait("w1", "1d", until="09:00"), "Europe/London", "2026-03-28 12:00"
    ) == ["2026-03-29 08:00"]
    # fall back Sunday 2026-10-25: 01:30 happens twice (BST then GMT); the first: 00:30 UTC
    assert wait_then_send(
        ss.Wait("w1", "1d", until="01:30"), "Europe/London", "2026-10-24 12:00"
    ) == ["2026-10-25 00:30"]
    # 09:00 on that day is GMT: 09:00 UTC
    assert wait_then_send(
        ss.Wait("w1", "1d", until="09:00"), "Europe/London", "2026-10-24 12:00"
    ) == ["2026-10-25 09:00"]


def test_wait_without_until_is_exact_elapsed_time_even_across_dst():
    # 1d is 24 hours, whatever the clocks do: London 2026-03-28 12:00 UTC + 24 h
    assert wait_then_send(ss.Wait("w1", "1d"), "Europe/London", "2026-03-28 12:00") == [
        "2026-03-29 12:00"
    ]


def test_wait_until_validation():
    ss.Wait("w1", "0d", until="15:00")  # valid
    with pytest.raises(ValidationError, match="must be positive"):
        ss.Wait("w1", "0d")
    with pytest.raises(ValidationError, match="counts calendar days"):
        ss.Wait("w1", "36h", until="09:00")
    with pytest.raises(ValidationError, match="weekdays need until"):
        ss.Wait("w1", "1d", weekdays=["mon"])
    with pytest.raises(ValidationError, match="'HH:MM'"):
        ss.Wait("w1", "1d", until="9am")
    with pytest.raises(ValidationError):
        ss.Wait("w1", "1d", until="09:00", weekdays=["monday"])
    assert ss.Wait("w1", "1d", until="09:00", weekdays=["fri", "mon", "mon"]).weekdays == (
        "mon",
        "fri",
    )
    assert (
        repr(ss.Wait("w1", "2d"))
        == "Wait(id='w1', kind='wait', duration=datetime.timedelta(days=2))"
    )
