"""Invariants of delivery policies on random contacts, zones and flows (Hypothesis).

For every generated scenario: no contact is ever sent more than a cap allows (checked on the
send times, rolling and per local calendar period); no message on a quiet channel goes out
in the contact's local quiet hours; every run has exactly one end; a sharded run gives the
same frames; and a rate limit never lets more than ``limit`` sends of its channel out in any
window of ``per``, in arrival order. Example counts come from the Hypothesis profile
(tests/README.md); the ``slow`` twins run the ``long`` profile.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segsim as ss
from segsim import attr
from segsim._internal.localtime import calendar_period, in_quiet_hours, time_zone

PRO = ss.Segment("Pro", attr("plan") == "pro")
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
START = pd.Timestamp("2026-03-01", tz="UTC")  # the window holds the March DST changes
END = pd.Timestamp("2026-04-15", tz="UTC")


@st.composite
def steps(draw: st.DrawFn, prefix: str) -> list:
    out = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["email", "sms", "whatsapp", "wait", "until", "hook"]))
        sid = f"{prefix}{i}"
        if kind == "email":
            out.append(ss.SendEmail(sid, template="t"))
        elif kind == "sms":
            out.append(ss.SendSMS(sid, template="t"))
        elif kind == "whatsapp":
            out.append(ss.SendWhatsApp(sid, template="t"))
        elif kind == "hook":
            out.append(ss.Webhook(sid, url="https://example.com/h"))
        elif kind == "wait":
            out.append(ss.Wait(sid, f"{draw(st.integers(1, 36))}h"))
        else:
            out.append(
                ss.Wait(
                    sid,
                    f"{draw(st.integers(0, 2))}d",
                    until=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
                )
            )
    return out


@st.composite
def policies(draw: st.DrawFn) -> ss.DeliveryPolicy:
    quiet = []
    for _ in range(draw(st.integers(0, 2))):
        start, end = draw(st.integers(0, 23)), draw(st.integers(0, 23))
        if start == end:
            continue
        channels = draw(
            st.lists(st.sampled_from(["email", "sms", "whatsapp"]), min_size=1, unique=True)
        )
        quiet.append(
            ss.QuietHours(
                start=f"{start:02d}:00",
                end=f"{end:02d}:30",
                channels=channels,
                action=draw(st.sampled_from(["defer", "skip"])),
            )
        )
    caps = []
    for _ in range(draw(st.integers(0, 3))):
        calendar = draw(st.booleans())
        per = draw(st.sampled_from(["1d", "7d"])) if calendar else f"{draw(st.integers(1, 72))}h"
        channels = draw(
            st.none()
            | st.lists(st.sampled_from(["email", "sms", "whatsapp"]), min_size=1, unique=True)
        )
        caps.append(
            ss.FrequencyCap(
                limit=draw(st.integers(1, 3)), per=per, channels=channels, calendar=calendar
            )
        )
    return ss.DeliveryPolicy(quiet_hours=quiet, frequency_caps=caps)


@st.composite
def cases(draw: st.DrawFn) -> tuple[ss.Scenario, dict]:
    rows = []
    zones = {}
    for contact in range(1, draw(st.integers(1, 6)) + 1):
        zone = draw(st.sampled_from(ZONES))
        zones[contact] = zone
        rows += [
            (contact, "2025-01-01", "email", f"c{contact}@example.com"),
            (contact, "2025-01-01", "phone", "+3360000"),
            (contact, "2025-01-01", "email_subscribed", True),
            (contact, "2025-01-01", "sms_subscribed", True),
            (contact, "2025-01-01", "whatsapp_subscribed", True),
            (contact, "2025-01-01", "timezone", zone),
            (contact, "2025-01-01", "plan", "free"),
        ]
        t = START
        for _ in range(draw(st.integers(1, 3))):
            t = t + pd.Timedelta(minutes=draw(st.integers(1, 20 * 24 * 60)))
            rows.append((contact, t, "plan", "pro"))
            t = t + pd.Timedelta(minutes=draw(st.integers(1, 5 * 24 * 60)))
            rows.append((contact, t, "plan", "free"))
    frame = pd.DataFrame(
        [
            (c, pd.Timestamp(t, tz="UTC") if not isinstance(t, pd.Timestamp) else t, a, v)
            for c, t, a, v in rows
        ],
        columns=["contact_id", "ts", "attribute", "value"],
    )
    frame["value"] = frame["value"].astype(object)
    store = ss.Store()
    store.load_attributes(frame)
    flows = [
        ss.Flow(
            name,
            trigger=ss.SegmentTrigger("Pro"),
            steps=draw(steps(name.lower())),
            priority=draw(st.integers(0, 2)),
            settings=ss.ActivationSettings(
                allow_reentry=True,
                reentry_wait="1h",  # a run ending at once must not re-enter at once (a loop)
                exit_conditions=[ss.ExitsSegment("Pro")] if draw(st.booleans()) else [],
            ),
        )
        for name in ("A", "B")
    ]
    scenario = ss.Scenario(
        store,
        segments=[PRO],
        flows=flows,
        start=START,
        end=END,
        channels=ss.Channels(timezone_attribute="timezone"),
        policy=draw(policies()),
    )
    return scenario, zones


def check_invariants(scenario: ss.Scenario, zones: dict) -> None:
    result = ss.simulate(scenario, progress=False)
    policy = scenario.policy
    actions = result.actions
    sent = actions[
        (actions["status"] == "sent") & actions["channel"].isin(["email", "sms", "whatsapp"])
    ]
    us = (sent["time"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    sent = sent.assign(t=us.astype("int64"))
    # caps: no contact is sent more than a cap allows, in any window
    for cap in policy.frequency_caps:
        per_us = cap.per // dt.timedelta(microseconds=1)
        for contact, mine in sent[sent["channel"].isin(cap.capped_channels)].groupby("contact_id"):
            times = sorted(mine["t"])
            if cap.calendar:
                zone = time_zone(zones[contact])
                periods = pd.Series([calendar_period(t, zone, cap.unit)[0] for t in times])
                assert periods.value_counts().max() <= cap.limit, (cap, contact, times)
            else:
                for i, t in enumerate(times):
                    in_window = sum(1 for u in times[: i + 1] if u > t - per_us)
                    assert in_window <= cap.limit, (cap, contact, times)
    # quiet hours: nothing goes out on a quiet channel in the contact's local quiet period
    for rule in policy.quiet_hours:
        for r in sent[sent["channel"].isin(rule.channels)].itertuples():
            zone = time_zone(zones[r.contact_id])
            assert not in_quiet_hours(r.t, zone, rule.start_minutes, rule.end_minutes), (rule, r)
    # skips by policy reasons are free, and only messages have them
    policy_skips = actions[actions["reason"].isin(["quiet_hours", "frequency_cap"])]
    assert (policy_skips["cost"] == 0).all()
    assert policy_skips["action"].isin(["send_email", "send_sms", "send_whatsapp"]).all()
    # every run has exactly one end, and every deferred send belongs to a run
    runs = result.runs
    assert runs["run_id"].is_unique
    assert runs["ended_at"].notna().all() and runs["end_reason"].notna().all()
    assert (runs["ended_at"] >= runs["entered_at"]).all()
    assert set(result.steps["run_id"]) <= set(runs["run_id"])
    # sharded = unsharded
    split = ss.simulate(scenario, shards=2, progress=False)
    for name, frame in result.frames.items():
        pd.testing.assert_frame_equal(frame, split.frames[name], obj=name)


@given(cases())
def test_policies_keep_their_invariants(case):
    check_invariants(*case)


@pytest.mark.slow
@settings(settings.get_profile("long"))
@given(cases())
def test_policies_keep_their_invariants_long(case):
    check_invariants(*case)


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[int], int, int]:
    times = sorted(draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=60)))
    return times, draw(st.integers(1, 5)), draw(st.integers(1, 500))


def check_queue(times: list[int], limit: int, per: int) -> None:
    from segsim.engine.policy import ChannelQueue

    queue = ChannelQueue(limit, per)
    out = [queue.send_time(t) for t in times]
    assert all(o >= t for o, t in zip(out, times, strict=True))
    assert out == sorted(out)  # first in, first out
    for i, o in enumerate(out):  # at most ``limit`` sends in any window [o, o + per)
        assert sum(1 for u in out[i:] if u < o + per) <= limit
    for i, (o, t) in enumerate(zip(out, times, strict=True)):
        # it waits only for a slot to free: one taken by a send exactly ``per`` earlier
        if o > t:
            assert any(u + per == o for u in out[:i])


@given(arrivals())
def test_rate_limit_queue_keeps_capacity_and_order(case):
    check_queue(*case)


@pytest.mark.slow
@settings(settings.get_profile("long"))
@given(arrivals())
def test_rate_limit_queue_keeps_capacity_and_order_long(case):
    check_queue(*case)


def check_shortcut(scenario: ss.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    from segsim.engine.policy import Policies

    quick = ss.simulate(scenario, progress=False)
    with monkeypatch.context() as patch:
        patch.setattr(Policies, "shortcut", False)
        rounds = ss.simulate(scenario, progress=False)
    for name, frame in quick.frames.items():
        pd.testing.assert_frame_equal(frame, rounds.frames[name], obj=name)


@pytest.mark.slow
@settings(settings.get_profile("long"))
@given(cases())
def test_the_single_run_shortcut_decides_as_rounds_do_long(case):
    with pytest.MonkeyPatch.context() as monkeypatch:
        check_shortcut(case[0], monkeypatch)
