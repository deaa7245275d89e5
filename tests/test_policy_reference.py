"""The delivery policy's fast paths give the frames of a brute-force reference, exactly.

:class:`segsim.engine.policy.Policies` answers its questions from remembered state (a zone's
local day and its quiet periods as instants, each cap's latest sends per contact, each
contact's latest zone). The reference below answers each from scratch instead: the zone by
scanning the contact's whole zone history, quiet hours with ``zoneinfo`` at every message
(:func:`~segsim._internal.localtime.in_quiet_hours`, :func:`quiet_hours_end`), caps by
counting every earlier send against a calendar period computed afresh. The event loop, the
rounds and the deferrals are shared; every frame must be equal. The random scenarios are
those of the property tests (``slow``: the fixed scenario is the default run's twin).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given

import segsim as ss
from segsim import attr, schema
from segsim._internal.localtime import calendar_period, in_quiet_hours, quiet_hours_end, time_zone
from segsim.engine import core
from segsim.engine.policy import Policies, TimeZones
from tests.test_policies_properties import cases


class BruteZones(TimeZones):
    """Each answer scans the contact's whole zone history."""

    def __init__(self, store, attribute, default):
        super().__init__(store, attribute, default)
        self.history: dict = {}  # contact -> [(instant, order, zone)] in the order learnt
        if attribute is None or attribute not in store.attribute_types:
            return
        rows = store.con.execute(
            f"SELECT contact_id, epoch_us(ts), v_string FROM {schema.CHANGES} "
            "WHERE attribute = ? ORDER BY contact_id, ts",
            [attribute],
        ).fetchall()
        for contact, t, value in rows:
            zone = self.default if value is None else time_zone(value)
            self.history.setdefault(contact, []).append((t, 0, zone))

    def at(self, contact_id, t):
        best, zone = None, self.default
        for when, order, candidate in self.history.get(contact_id, []):
            if when <= t and (best is None or (when, order) >= best):
                best, zone = (when, order), candidate
        return zone

    def apply(self, contact_id, t, changes):
        for is_list, name, value in changes:
            if not is_list and name == self.attribute:
                zone = self.default if value is None else time_zone(value)
                self.history.setdefault(contact_id, []).append((t, 1, zone))


class BrutePolicies(Policies):
    """Quiet hours read with zoneinfo each time; caps count every send ever made."""

    def __init__(self, *args):
        super().__init__(*args)
        self.every: dict = {}  # (cap index, contact) -> every send counted by the cap

    def _quiet(self, channel, rules, contact_id, t):
        zone = self.zones.at(contact_id, t)
        for start, end, action in rules:
            if in_quiet_hours(t, zone, start, end):
                return action, quiet_hours_end(t, zone, start, end)
        return None

    def _over_cap(self, contact_id, caps, t):
        zone = self.zones.at(contact_id, t)
        for cap in caps:
            sent = self.every.get((self.caps.index(cap), contact_id), [])
            if cap.calendar:
                first = calendar_period(t, zone, cap.unit)[0]
                count = sum(1 for u in sent if first <= u <= t)
            else:
                count = sum(1 for u in sent if t - cap.per_us < u <= t)
            if count >= cap.limit:
                return True
        return False

    def _record(self, contact_id, caps, t):
        for cap in caps:
            self.every.setdefault((self.caps.index(cap), contact_id), []).append(t)


def assert_same_frames_as_reference(scenario: ss.Scenario) -> None:
    fast = ss.simulate(scenario, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "Policies", BrutePolicies)
        patch.setattr(core, "TimeZones", BruteZones)
        slow = ss.simulate(scenario, progress=False)
    assert set(fast.frames) == set(slow.frames)
    for name, frame in fast.frames.items():
        pd.testing.assert_frame_equal(frame, slow.frames[name], obj=name)


ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]


def scenario_across_dst_and_moves() -> ss.Scenario:
    """60 contacts over five zones, a fifth of them moving, messages on DST days among
    them (Paris 2026-03-29, Sydney 2026-04-05); two flows sharing every channel, so quiet
    hours defer and skip and caps (rolling, local day and local week) skip, in rounds too."""
    rows = []
    for c in range(1, 61):
        zone = ZONES[c % 5]
        rows += [
            (c, "2026-01-01", "email", f"c{c}@example.com"),
            (c, "2026-01-01", "phone", "+33600"),
            (c, "2026-01-01", "email_subscribed", True),
            (c, "2026-01-01", "sms_subscribed", True),
            (c, "2026-01-01", "timezone", zone),
            (c, "2026-01-01", "plan", "free"),
        ]
        if c % 5 == 1:  # a move, between two of its entries
            rows.append((c, f"2026-03-{10 + c % 17:02d} 07:{c % 60:02d}", "timezone", "Asia/Tokyo"))
        for k in range(4):
            day = pd.Timestamp("2026-03-20") + pd.Timedelta(hours=c * 13 + k * 41 * 24)
            rows.append((c, day, "plan", "pro"))
            rows.append((c, day + pd.Timedelta(hours=9 + c % 30), "plan", "free"))
    frame = pd.DataFrame(
        [(c, pd.Timestamp(t, tz="UTC"), a, v) for c, t, a, v in rows],
        columns=["contact_id", "ts", "attribute", "value"],
    )
    frame["value"] = frame["value"].astype(object)
    store = ss.Store()
    store.load_attributes(frame)
    settings_ = ss.ActivationSettings(allow_reentry=True, reentry_wait="1h")
    first = ss.Flow(
        "First",
        trigger=ss.SegmentTrigger("Pro"),
        settings=settings_,
        steps=[
            ss.SendSMS("s1", template="t"),
            ss.SendEmail("e1", template="t"),
            ss.Wait("w1", "1d", until="22:30"),
            ss.SendSMS("s2", template="t"),
            ss.Wait("w2", "5h"),
            ss.SendEmail("e2", template="t"),
            ss.SendSMS("s3", template="t"),
        ],
    )
    second = ss.Flow(
        "Second",
        trigger=ss.SegmentTrigger("Pro"),
        priority=1,
        settings=settings_,
        steps=[
            ss.Wait("v1", "3h"),
            ss.SendEmail("f1", template="t"),
            ss.SendSMS("f2", template="t"),
        ],
    )
    policy = ss.DeliveryPolicy(
        quiet_hours=[
            ss.QuietHours(start="21:00", end="08:00", channels=["sms"], action="defer"),
            ss.QuietHours(start="12:00", end="13:30", channels=["email", "sms"], action="skip"),
            ss.QuietHours(start="02:00", end="03:30", channels=["email"], action="defer"),
        ],
        frequency_caps=[
            ss.FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True),
            ss.FrequencyCap(limit=3, per="7d", calendar=True),
            ss.FrequencyCap(limit=2, per="30h", channels=["email"]),
        ],
    )
    return ss.Scenario(
        store,
        segments=[ss.Segment("Pro", attr("plan") == "pro")],
        flows=[first, second],
        start="2026-03-01",
        end="2026-11-15",
        channels=ss.Channels(timezone_attribute="timezone"),
        policy=policy,
    )


def test_the_fast_paths_give_the_reference_frames_across_dst_and_moves():
    scenario = scenario_across_dst_and_moves()
    result = ss.simulate(scenario, progress=False)
    reasons = set(result.actions["reason"].dropna())
    assert {"quiet_hours", "frequency_cap"} <= reasons  # the policy does skip ...
    assert (result.steps["outcome"] == "deferred").any()  # ... and defer, here
    assert_same_frames_as_reference(scenario)


@pytest.mark.slow  # ~1 s an example; its fast twin is the fixed scenario above
@given(cases())
def test_random_policies_give_the_reference_frames(case):
    assert_same_frames_as_reference(case[0])
