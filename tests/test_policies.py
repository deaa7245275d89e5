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


def contact_rows(contact: Any, enter: str, zone: str | None = "UTC") -> list[tuple]:
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
    rows = contact_rows(1, "2026-01-05 12:00", None)
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
    with pytest.raises(ss.ScenarioError, match=r"flow 'F' step 'u1' sets 'timezone'.*'Moon/Base'"):
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


# -- 3. quiet hours ---------------------------------------------------------------------------

NIGHT_SMS = ss.QuietHours(start="21:00", end="08:00", channels=["sms"])


def policy_run(rows, flows, policy, **kwargs):
    return run(rows, flows, policy=policy, **kwargs)


def test_quiet_hours_defer_to_the_local_end_and_log_deferred():
    # Paris, January (UTC+1): entered 22:30 local (21:30 UTC) -> the SMS goes at 08:00 local
    f = flow(ss.SendSMS("s1", template="t"), ss.SendEmail("e1", template="t"))
    result = policy_run(
        contact_rows(1, "2026-01-05 21:30", "Europe/Paris"),
        [f],
        ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS]),
    )
    assert steps(result) == [
        ("2026-01-05 21:30", 1, "s1", "deferred"),
        ("2026-01-06 07:00", 1, "s1", "sent"),
        ("2026-01-06 07:00", 1, "e1", "sent"),
    ]
    assert sends(result) == [
        ("2026-01-06 07:00", "F", 1, "s1", "sent", None),
        ("2026-01-06 07:00", "F", 1, "e1", "sent", None),
    ]


def test_quiet_hours_apply_only_to_their_channels():
    f = flow(ss.SendEmail("e1", template="t"))
    result = policy_run(
        contact_rows(1, "2026-01-05 21:30", "Europe/Paris"),
        [f],
        ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS]),
    )
    assert sends(result) == [("2026-01-05 21:30", "F", 1, "e1", "sent", None)]


def test_quiet_hours_start_is_included_and_end_excluded():
    policy = ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS])
    f = flow(ss.SendSMS("s1", template="t"))
    at_start = policy_run(contact_rows(1, "2026-01-05 20:00", "Europe/Paris"), [f], policy)  # 21:00
    at_end = policy_run(contact_rows(1, "2026-01-06 07:00", "Europe/Paris"), [f], policy)  # 08:00
    assert steps(at_start)[0] == ("2026-01-05 20:00", 1, "s1", "deferred")
    assert steps(at_end) == [("2026-01-06 07:00", 1, "s1", "sent")]


def test_quiet_hours_skip():
    policy = ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS.replace(action="skip")])
    f = flow(ss.SendSMS("s1", template="t"), ss.SendEmail("e1", template="t"))
    result = policy_run(contact_rows(1, "2026-01-05 21:30", "Europe/Paris"), [f], policy)
    assert sends(result) == [
        ("2026-01-05 21:30", "F", 1, "s1", "skipped", "quiet_hours"),
        ("2026-01-05 21:30", "F", 1, "e1", "sent", None),
    ]
    assert result.actions["cost"].tolist() == [0.0, 0.001]


def test_quiet_hours_read_each_contacts_own_zone_across_the_dst_change():
    # 06:30 UTC on Sunday 2026-03-29: London is 07:30 BST (quiet until 08:00 BST = 07:00 UTC);
    # New York is 02:30 EDT (quiet until 08:00 EDT = 12:00 UTC); Tokyo 15:30 (not quiet)
    rows = (
        contact_rows(1, "2026-03-29 06:30", "Europe/London")
        + contact_rows(2, "2026-03-29 06:30", "America/New_York")
        + contact_rows(3, "2026-03-29 06:30", "Asia/Tokyo")
    )
    result = policy_run(
        rows, [flow(ss.SendSMS("s1", template="t"))], ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS])
    )
    assert sends(result) == [
        ("2026-03-29 06:30", "F", 3, "s1", "sent", None),
        ("2026-03-29 07:00", "F", 1, "s1", "sent", None),
        ("2026-03-29 12:00", "F", 2, "s1", "sent", None),
    ]


def test_a_deferred_run_still_exits():
    rows = contact_rows(1, "2026-01-05 21:30", "Europe/Paris")
    rows.append((1, "2026-01-06 03:00", "plan", "free"))
    f = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendSMS("s1", template="t")],
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Pro")]),
    )
    result = policy_run(rows, [f], ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS]))
    assert sends(result) == []
    assert steps(result) == [("2026-01-05 21:30", 1, "s1", "deferred")]
    assert result.runs[["ended_at", "end_reason"]].values.tolist() == [
        [utc("2026-01-06 03:00"), "exit_condition"]
    ]


def test_a_deferred_send_is_decided_again_when_it_goes_out():
    rows = contact_rows(1, "2026-01-05 21:30", "Europe/Paris")
    rows.append((1, "2026-01-06 03:00", "sms_subscribed", False))
    result = policy_run(
        rows, [flow(ss.SendSMS("s1", template="t"))], ss.DeliveryPolicy(quiet_hours=[NIGHT_SMS])
    )
    assert sends(result) == [("2026-01-06 07:00", "F", 1, "s1", "skipped", "unsubscribed")]


def test_quiet_hours_validation():
    with pytest.raises(ValidationError, match="empty"):
        ss.QuietHours(start="08:00", end="08:00")
    with pytest.raises(ValidationError, match="'HH:MM'"):
        ss.QuietHours(start="8", end="09:00")
    with pytest.raises(ValidationError):
        ss.QuietHours(start="21:00", end="08:00", channels=["webhook"])
    with pytest.raises(ValidationError, match="twice"):
        ss.QuietHours(start="21:00", end="08:00", channels=["sms", "sms"])


# -- 4. frequency caps ------------------------------------------------------------------------


def test_rolling_cap_window_is_half_open():
    # at most 1 email per 1d rolling: (t - 1d, t]. Sends at 10:00, +12h (capped), +24h (allowed:
    # the first is exactly 1d back, outside the window)
    f = flow(
        ss.SendEmail("e1", template="t"),
        ss.Wait("w1", "12h"),
        ss.SendEmail("e2", template="t"),
        ss.Wait("w2", "12h"),
        ss.SendEmail("e3", template="t"),
    )
    policy = ss.DeliveryPolicy(frequency_caps=[ss.FrequencyCap(limit=1, per="1d")])
    result = policy_run(contact_rows(1, "2026-01-05 10:00"), [f], policy)
    assert sends(result) == [
        ("2026-01-05 10:00", "F", 1, "e1", "sent", None),
        ("2026-01-05 22:00", "F", 1, "e2", "skipped", "frequency_cap"),
        ("2026-01-06 10:00", "F", 1, "e3", "sent", None),
    ]


def test_a_skipped_send_does_not_count():
    # e2 is capped (skipped), so at e3 only e1 is in the 2d window: limit 2 allows it
    f = flow(
        ss.SendEmail("e1", template="t"),
        ss.SendEmail("e2", template="t"),
        ss.SendEmail("e3", template="t"),
    )
    policy = ss.DeliveryPolicy(
        frequency_caps=[ss.FrequencyCap(limit=1, per="1d", channels=["email"])]
    )
    result = policy_run(contact_rows(1, "2026-01-05 10:00"), [f], policy)
    assert [r[4:] for r in sends(result)] == [
        ("sent", None),
        ("skipped", "frequency_cap"),
        ("skipped", "frequency_cap"),
    ]


def test_calendar_day_cap_resets_at_local_midnight():
    # 1 SMS per local calendar day in New York (UTC-5): 23:00 EST on 01-05 (04:00 UTC 01-06) and
    # 00:30 EST on 01-06 (05:30 UTC) are different local days: both go out; a rolling 1d cap
    # would skip the second
    f = flow(ss.SendSMS("s1", template="t"), ss.Wait("w1", "90min"), ss.SendSMS("s2", template="t"))
    calendar = ss.DeliveryPolicy(
        frequency_caps=[ss.FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True)]
    )
    rolling = ss.DeliveryPolicy(
        frequency_caps=[ss.FrequencyCap(limit=1, per="1d", channels=["sms"])]
    )
    rows = contact_rows(1, "2026-01-06 04:00", "America/New_York")
    assert [r[4] for r in sends(policy_run(rows, [f], calendar))] == ["sent", "sent"]
    assert [r[4:] for r in sends(policy_run(rows, [f], rolling))] == [
        ("sent", None),
        ("skipped", "frequency_cap"),
    ]


def test_calendar_week_cap_is_monday_to_sunday_local():
    # Sunday 2026-01-11 23:00 Tokyo (14:00 UTC) and Monday 01-12 00:30 Tokyo: two local weeks
    f = flow(
        ss.SendEmail("e1", template="t"),
        ss.Wait("w1", "90min"),
        ss.SendEmail("e2", template="t"),
        ss.Wait("w2", "1h"),
        ss.SendEmail("e3", template="t"),
    )
    policy = ss.DeliveryPolicy(frequency_caps=[ss.FrequencyCap(limit=1, per="7d", calendar=True)])
    result = policy_run(contact_rows(1, "2026-01-11 14:00", "Asia/Tokyo"), [f], policy)
    assert [r[4:] for r in sends(result)] == [
        ("sent", None),
        ("sent", None),
        ("skipped", "frequency_cap"),
    ]


def test_caps_count_across_flows_and_only_their_channels():
    a = flow(ss.SendSMS("s1", template="t"), name="A")
    b = flow(ss.SendSMS("s2", template="t"), ss.SendEmail("e2", template="t"), name="B")
    policy = ss.DeliveryPolicy(
        frequency_caps=[ss.FrequencyCap(limit=1, per="7d", channels=["sms"])]
    )
    result = policy_run(contact_rows(1, "2026-01-05 10:00"), [a, b], policy)
    assert sends(result) == [
        ("2026-01-05 10:00", "A", 1, "s1", "sent", None),
        ("2026-01-05 10:00", "B", 1, "s2", "skipped", "frequency_cap"),
        ("2026-01-05 10:00", "B", 1, "e2", "sent", None),
    ]


def test_priority_then_flow_name_decides_at_one_instant():
    # both flows send at once; without priority "A" (name order) wins, with Z priority 10, Z wins
    a = flow(ss.SendEmail("e1", template="t"), name="A")
    z = flow(ss.SendEmail("e2", template="t"), name="Z")
    policy = ss.DeliveryPolicy(frequency_caps=[ss.FrequencyCap(limit=1, per="1d")])
    rows = contact_rows(1, "2026-01-05 10:00")
    # (rows come by run: Z's run is first, the scenario lists Z first)
    assert sorted(r[1:5] for r in sends(policy_run(rows, [z, a], policy))) == [
        ("A", 1, "e1", "sent"),
        ("Z", 1, "e2", "skipped"),
    ]
    ranked = [z.replace(priority=10), a]
    assert sorted(r[1:5] for r in sends(policy_run(rows, ranked, policy))) == [
        ("A", 1, "e1", "skipped"),
        ("Z", 1, "e2", "sent"),
    ]


def test_caps_never_count_webhooks_or_operations():
    f = flow(
        ss.Webhook("h1", url="https://example.com/hook"),
        ss.AddToList("l1", list_name="seen"),
        ss.SendEmail("e1", template="t"),
    )
    policy = ss.DeliveryPolicy(frequency_caps=[ss.FrequencyCap(limit=1, per="1d")])
    result = policy_run(contact_rows(1, "2026-01-05 10:00"), [f], policy)
    assert [r[3:5] for r in sends(result)] == [("h1", "sent"), ("l1", "applied"), ("e1", "sent")]


def test_frequency_cap_validation():
    with pytest.raises(ValidationError, match="calendar day"):
        ss.FrequencyCap(limit=1, per="2d", calendar=True)
    with pytest.raises(ValidationError):
        ss.FrequencyCap(limit=0, per="1d")
    with pytest.raises(ValidationError):
        ss.FrequencyCap(limit=1, per="0s")


def test_a_second_send_at_one_instant_is_decided_in_the_next_round():
    # limit 2 per day. Round 1: A's e1 (priority 10) and B's e3 both go out; A's e2, reached
    # after e1 at the same instant, is decided in round 2, when the cap is full
    a = flow(
        ss.SendEmail("e1", template="t"), ss.SendEmail("e2", template="t"), name="A", priority=10
    )
    b = flow(ss.SendEmail("e3", template="t"), name="B")
    policy = ss.DeliveryPolicy(frequency_caps=[ss.FrequencyCap(limit=2, per="1d")])
    result = policy_run(contact_rows(1, "2026-01-05 10:00"), [a, b], policy)
    assert sorted(r[1:6] for r in sends(result)) == [
        ("A", 1, "e1", "sent", None),
        ("A", 1, "e2", "skipped", "frequency_cap"),
        ("B", 1, "e3", "sent", None),
    ]


# -- 5. rate limits ---------------------------------------------------------------------------


def test_rate_limit_queues_fifo_and_the_run_waits_for_its_send():
    # 2 SMS per minute; 5 contacts arrive at 10:00:00 (in contact order): 2 go at once, 2 at
    # 10:01, 1 at 10:02; each run's next step (an email) follows its own SMS
    rows = [row for c in range(1, 6) for row in contact_rows(c, "2026-01-05 10:00")]
    f = flow(ss.SendSMS("s1", template="t"), ss.SendEmail("e1", template="t"))
    policy = ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="sms", per="1min", limit=2)])
    result = policy_run(rows, [f], policy)
    sms = result.actions[result.actions["channel"] == "sms"]
    assert [
        (str(t)[11:19], c, q)
        for t, c, q in zip(sms["time"], sms["contact_id"], sms["queued"], strict=True)
    ] == [
        ("10:00:00", 1, 0.0),
        ("10:00:00", 2, 0.0),
        ("10:01:00", 3, 60.0),
        ("10:01:00", 4, 60.0),
        ("10:02:00", 5, 120.0),
    ]
    email = result.actions[result.actions["channel"] == "email"]
    assert [
        (str(t)[11:19], c) for t, c in zip(email["time"], email["contact_id"], strict=True)
    ] == [
        ("10:00:00", 1),
        ("10:00:00", 2),
        ("10:01:00", 3),
        ("10:01:00", 4),
        ("10:02:00", 5),
    ]
    assert (email["queued"] == 0.0).all()


def test_rate_limit_capacity_frees_per_window_from_each_send():
    # 1 per hour: sends arriving at 10:00 and 10:30 go at 10:00 and 11:00; one arriving at 12:30
    # finds the slot free (11:00 + 1h = 12:00) and goes at once
    rows = (
        contact_rows(1, "2026-01-05 10:00")
        + contact_rows(2, "2026-01-05 10:30")
        + contact_rows(3, "2026-01-05 12:30")
    )
    f = flow(ss.SendSMS("s1", template="t"))
    policy = ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="sms", per="1h", limit=1)])
    result = policy_run(rows, [f], policy)
    assert [
        (str(t)[11:16], q)
        for t, q in zip(result.actions["time"], result.actions["queued"], strict=True)
    ] == [
        ("10:00", 0.0),
        ("11:00", 1800.0),
        ("12:30", 0.0),
    ]


def test_a_queued_send_goes_out_even_if_the_run_exits_while_it_waits():
    rows = contact_rows(1, "2026-01-05 10:00") + contact_rows(2, "2026-01-05 10:00")
    rows.append((2, "2026-01-05 10:30", "plan", "free"))
    f = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendSMS("s1", template="t"), ss.SendEmail("e1", template="t")],
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Pro")]),
    )
    policy = ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="sms", per="1h", limit=1)])
    result = policy_run(rows, [f], policy)
    assert sends(result) == [
        ("2026-01-05 10:00", "F", 1, "s1", "sent", None),
        ("2026-01-05 10:00", "F", 1, "e1", "sent", None),
        ("2026-01-05 11:00", "F", 2, "s1", "sent", None),
    ]
    assert result.runs["end_reason"].tolist() == ["completed", "exit_condition"]


def test_one_rate_limit_per_channel():
    with pytest.raises(ValidationError, match="two rate limits for channel 'sms'"):
        ss.DeliveryPolicy(
            rate_limits=[
                ss.RateLimit(channel="sms", per="1s", limit=1),
                ss.RateLimit(channel="sms", per="1min", limit=10),
            ]
        )


# -- sharding ---------------------------------------------------------------------------------


def many_contacts() -> list[tuple]:
    zones = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Paris"]
    rows = []
    for c in range(1, 25):
        rows += contact_rows(c, f"2026-01-{5 + c % 3:02d} {c % 24:02d}:15", zones[c % 4])
    return rows


def sharded_flows() -> list[ss.Flow]:
    return [
        flow(
            ss.SendSMS("s1", template="t"),
            ss.Wait("w1", "1d", until="09:00"),
            ss.SendSMS("s2", template="t"),
            name="A",
        ),
        flow(
            ss.SendEmail("e1", template="t"), ss.SendSMS("s3", template="t"), name="B", priority=5
        ),
    ]


def test_caps_and_quiet_hours_shard_exactly():
    policy = ss.DeliveryPolicy(
        quiet_hours=[NIGHT_SMS],
        frequency_caps=[
            ss.FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True),
            ss.FrequencyCap(limit=2, per="7d"),
        ],
    )
    whole = policy_run(many_contacts(), sharded_flows(), policy)
    split = policy_run(many_contacts(), sharded_flows(), policy, simulate={"shards": 3})
    assert (whole.actions["reason"] == "frequency_cap").any()
    assert (whole.steps["outcome"] == "deferred").any()
    for name, frame in whole.frames.items():
        pd.testing.assert_frame_equal(frame, split.frames[name], obj=name)


def test_a_rate_limited_scenario_runs_unsharded_and_says_so():
    policy = ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="sms", per="1h", limit=3)])
    whole = policy_run(many_contacts(), sharded_flows(), policy)
    with pytest.warns(ss.SegsimWarning, match="rate limit.*runs unsharded"):
        split = policy_run(many_contacts(), sharded_flows(), policy, simulate={"shards": 3})
    assert (whole.actions["queued"] > 0).any()
    for name, frame in whole.frames.items():
        pd.testing.assert_frame_equal(frame, split.frames[name], obj=name)


# -- 6. scenario files ------------------------------------------------------------------------

POLICY_YAML = """
data: {kind: demo, contacts: 50}
start: 2026-01-01
end: 2026-02-01
channels: {timezone_attribute: null, default_timezone: Europe/Paris}
segments:
  - name: VIP
    where: {kind: compare, attribute: plan, op: "==", value: pro}
flows:
  - name: Welcome
    priority: 3
    trigger: {segment: VIP}
    steps:
      - {kind: send_sms, id: s1, template: hi}
      - {kind: wait, id: w1, duration: 1d, until: "09:00", weekdays: [mon, fri]}
policy:
  quiet_hours:
    - {start: "21:00", end: "08:00", channels: [sms, whatsapp], action: defer}
  frequency_caps:
    - {limit: 1, per: 1d, channels: [sms], calendar: true}
    - {limit: 3, per: 7d}
  rate_limits:
    - {channel: sms, per: 1s, limit: 20}
"""


def test_policy_in_a_scenario_file_round_trips(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(POLICY_YAML)
    scenario = ss.load_scenario(path)
    policy = scenario.policy
    assert policy.quiet_hours[0].channels == ("sms", "whatsapp")
    assert [cap.describe() for cap in policy.frequency_caps] == [
        "at most 1 sms message per calendar day",
        "at most 3 messages per 1w (rolling)",
    ]
    assert policy.rate_limits[0].limit == 20
    assert scenario.flows[0].priority == 3
    assert scenario.flows[0].steps[1].until == "09:00"
    assert scenario.channels.default_timezone == "Europe/Paris"
    from segsim.scenario import scenario_to_yaml

    again = tmp_path / "again.yaml"
    again.write_text(
        scenario_to_yaml(scenario).replace("data: null", "data: {kind: demo, contacts: 50}")
    )
    assert ss.load_scenario(again).model_dump() == scenario.model_dump()


def test_a_bad_policy_in_a_file_names_its_place_and_line(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(POLICY_YAML.replace('start: "21:00"', 'start: "9pm"'))
    with pytest.raises(
        ss.ScenarioError, match=r"policy\.quiet_hours\[0\]\.start: .*'HH:MM'.*\(line 18\)"
    ):
        ss.load_scenario(path)


def test_the_json_schema_describes_the_policy():
    from segsim.scenario import scenario_json_schema

    schema = scenario_json_schema()
    assert "policy" in schema["properties"]
    for name in ("DeliveryPolicy", "QuietHours", "FrequencyCap", "RateLimit"):
        assert name in schema["$defs"]
    wait = schema["$defs"]["Wait"]["properties"]
    assert {"until", "weekdays"} <= set(wait)
    assert "priority" in schema["$defs"]["Flow"]["properties"]


# -- 7. reporting -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reported():
    """One contact per effect: deferred then sent (1), quiet-hours skip via WhatsApp (1),
    capped (1, its second SMS), queued (2, behind 1 at the rate limit)."""
    rows = contact_rows(1, "2026-01-05 21:30", "Europe/Paris") + contact_rows(
        2, "2026-01-06 07:00", "Europe/Paris"
    )
    f = flow(
        ss.SendSMS("s1", template="t"),
        ss.SendWhatsApp("w1", template="t"),
        ss.SendSMS("s2", template="t"),
    )
    policy = ss.DeliveryPolicy(
        quiet_hours=[
            NIGHT_SMS,
            ss.QuietHours(start="07:00", end="09:00", channels=["whatsapp"], action="skip"),
        ],
        frequency_caps=[ss.FrequencyCap(limit=1, per="1d", channels=["sms"])],
        rate_limits=[ss.RateLimit(channel="sms", per="1min", limit=1)],
    )
    return policy_run(rows, [f], policy), policy


def test_the_reported_scenario_is_what_the_comments_say(reported):
    result, _ = reported
    assert sends(result) == [
        ("2026-01-06 07:00", "F", 1, "s1", "sent", None),
        ("2026-01-06 07:00", "F", 1, "w1", "skipped", "quiet_hours"),
        ("2026-01-06 07:00", "F", 1, "s2", "skipped", "frequency_cap"),
        ("2026-01-06 07:01", "F", 2, "s1", "sent", None),
        ("2026-01-06 07:01", "F", 2, "w1", "skipped", "quiet_hours"),
        ("2026-01-06 07:01", "F", 2, "s2", "skipped", "frequency_cap"),
    ]


def test_policy_effects_per_flow_and_channel(reported):
    from segsim.analysis import policy_effects

    result, _ = reported
    effects = policy_effects(result.actions, result.steps)
    assert effects.drop(columns="queue_delay").values.tolist() == [
        ["F", "sms", 4, 2, 1, 0, 2, 1],
        ["F", "whatsapp", 2, 0, 0, 2, 0, 0],
    ]
    assert effects["queue_delay"].tolist() == [pd.Timedelta(minutes=1), pd.Timedelta(0)]
    empty = policy_effects(result.actions.iloc[:0], result.steps.iloc[:0])
    assert empty.empty and list(empty.columns) == list(effects.columns)


def test_summary_counts_what_the_policy_did(reported):
    result, _ = reported
    row = result.summary().set_index("flow").loc["F"]
    assert (
        row["deferred"],
        row["quiet_hours_skipped"],
        row["frequency_capped"],
        row["queued"],
    ) == (
        1,
        2,
        2,
        1,
    )
    assert row["skipped"] == 4


def test_report_has_a_delivery_policy_section(reported):
    result, _ = reported
    section = ss.build_report(result)["delivery_policy"]
    assert "deferred 1 sends" in section.text and "2 over a frequency cap" in section.text
    assert section.table["frequency_capped"].sum() == 2


def test_compare_picks_up_the_policy(reported):
    result, _ = reported
    scenario = result.scenario
    variants = {"no policy": scenario.replace(policy=ss.DeliveryPolicy()), "policy": scenario}
    summary = ss.compare(scenario, variants).summary()
    assert summary.loc["frequency_capped"].tolist()[:3] == [0, 2, 2]
    assert summary.loc["deferred"].tolist()[:3] == [0, 1, 1]
    assert summary.loc["messages_sent"].tolist()[:3] == [6, 2, -4]


def test_explain_shows_deferrals_cap_skips_and_queues(reported):
    result, _ = reported
    story = result.explain(1)
    details = story["detail"].tolist()
    assert "deferred: quiet hours, until 2026-01-06T07:00:00Z" in details
    assert any("skipped: frequency_cap (over a frequency cap)" in d for d in details if d)
    queued = result.explain(2)["detail"].tolist()
    assert any(d and d.startswith("sent · after 1min in the rate-limit queue") for d in queued)


# -- the local send-time heat map -------------------------------------------------------------


def test_sends_by_local_hour_reads_each_contacts_zone_and_moves():
    from segsim.analysis import sends_by_local_hour

    # contact 1: Tokyo; contact 2: New York until it moves to London on 2026-01-07
    rows = contact_rows(1, "2026-01-05 10:00", "Asia/Tokyo") + contact_rows(
        2, "2026-01-05 10:00", "America/New_York"
    )
    rows.append((2, "2026-01-07 00:00", "timezone", "Europe/London"))
    f = flow(
        ss.SendEmail("e1", template="t"), ss.Wait("w1", "3d"), ss.SendEmail("e2", template="t")
    )
    result = run(rows, [f])
    # sends at Monday 2026-01-05 10:00 UTC and Thursday 2026-01-08 10:00 UTC
    history = pd.DataFrame(
        {
            "contact_id": [1, 2, 2],
            "ts": [utc("2025-01-01"), utc("2025-01-01"), utc("2026-01-07")],
            "zone": ["Asia/Tokyo", "America/New_York", "Europe/London"],
        }
    )
    table = sends_by_local_hour(result.actions, history)
    cells = table[table["messages"] > 0].values.tolist()
    assert cells == [
        [0, 5, 1],  # New York, Monday 05:00 EST
        [0, 19, 1],  # Tokyo, Monday 19:00 JST
        [3, 10, 1],  # London (moved), Thursday 10:00 GMT
        [3, 19, 1],  # Tokyo, Thursday 19:00 JST
    ]
    assert len(table) == 168 and table["messages"].sum() == 4
    one_zone = sends_by_local_hour(result.actions, "UTC")
    assert one_zone[one_zone["messages"] > 0].values.tolist() == [[0, 10, 2], [3, 10, 2]]
    mapping = sends_by_local_hour(result.actions, {1: "Asia/Tokyo"})  # 2 -> UTC
    assert mapping[mapping["messages"] > 0].values.tolist() == [
        [0, 10, 1],
        [0, 19, 1],
        [3, 10, 1],
        [3, 19, 1],
    ]


def test_plot_send_heatmap_draws_the_counts():
    import matplotlib.pyplot as plt

    from segsim.plots import plot_send_heatmap

    data = pd.DataFrame({"weekday": [0, 6], "hour": [9, 23], "messages": [3, 1]})
    fig, ax = plt.subplots()
    assert plot_send_heatmap(data, ax=ax) is ax
    grid = ax.images[0].get_array()
    assert grid.shape == (7, 24) and grid[0, 9] == 3 and grid[6, 23] == 1 and grid.sum() == 4
    plt.close(fig)


# -- the explorer -----------------------------------------------------------------------------


def test_explorer_controls_quiet_hours_and_a_daily_cap():
    pytest.importorskip("ipywidgets")
    rows = contact_rows(1, "2026-01-05 21:30", "Europe/Paris") + contact_rows(
        2, "2026-01-05 10:00", "Europe/Paris"
    )
    f = flow(ss.SendSMS("s1", template="t"), ss.SendEmail("e1", template="t"))
    scenario = ss.Scenario(
        store_of(rows), segments=[PRO], flows=[f], start="2026-01-01", end="2026-02-01", channels=TZ
    )
    explorer = ss.Explorer(scenario, "F")
    assert (
        explorer.controls["quiet_hours"].value == "" and explorer.controls["daily_cap"].value == 0
    )
    assert (explorer.result.steps["outcome"] == "deferred").sum() == 0
    explorer.controls["quiet_hours"].value = "21:00-08:00"
    assert explorer.error is None
    assert explorer.policy().quiet_hours[0].channels == ("sms", "whatsapp")
    assert (explorer.result.steps["outcome"] == "deferred").sum() == 1  # contact 1's SMS
    explorer.controls["daily_cap"].value = 1
    capped = explorer.result.actions[explorer.result.actions["reason"] == "frequency_cap"]
    assert sorted(capped["contact_id"]) == [1, 2]  # each contact's email, after its SMS
    explorer.controls["quiet_hours"].value = "9pm-8am"
    assert "'HH:MM'" in explorer.error
    explorer.controls["quiet_hours"].value = ""
    explorer.controls["daily_cap"].value = 0
    assert explorer.error is None and explorer.policy() == scenario.policy
    assert explorer.result is explorer.simulation.baseline
