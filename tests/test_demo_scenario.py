"""The invariants of docs/design.md §5.3, on the demo scenario (every action and rule in use),
and what its delivery policy (docs/design.md §12) and its response model and goals
(docs/design.md §10) do there."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import segsim as ss
from segsim._internal.frames import FRAMES

END_REASONS = {
    "completed",
    "exit_condition",
    "restarted",
    "contact_deleted",
    "step_removed",
    "paused_exit",
    "horizon",
}


CONTACTS = 1_000
MESSAGES = ["send_email", "send_sms", "send_whatsapp"]


@pytest.fixture(scope="module")
def demo():
    scenario = ss.datasets.demo_scenario(contacts=CONTACTS)
    return scenario, ss.simulate(scenario, progress=False)


@pytest.fixture(scope="module")
def zones(demo):
    """Each contact's zone history, ``contact_id, ts, zone``, from the data the scenario read;
    contacts without one get the scenario's ``default_timezone`` from their sign-up."""
    scenario, _ = demo
    attributes, _ = ss.datasets.demo_frames(contacts=CONTACTS, seed=7)
    rows = attributes[attributes["attribute"] == "timezone"]
    signups = attributes[attributes["attribute"] == "signup_at"]
    unknown = signups[~signups["contact_id"].isin(rows["contact_id"])]
    default = unknown.assign(value=scenario.channels.default_timezone)
    frame = pd.concat([rows, default])[["contact_id", "ts", "value"]]
    return frame.rename(columns={"value": "zone"}).sort_values("ts", kind="stable")


def local_times(frame: pd.DataFrame, zones: pd.DataFrame) -> pd.Series:
    """The local wall-clock time (naive) of each row's ``time``, in its contact's zone then."""
    left = frame[["contact_id", "time"]].reset_index().sort_values("time", kind="stable")
    merged = pd.merge_asof(
        left, zones, left_on="time", right_on="ts", by="contact_id", allow_exact_matches=True
    )
    assert merged["zone"].notna().all()  # every message goes to a contact who signed up
    local = [
        t.tz_convert(zone).tz_localize(None)
        for t, zone in zip(merged["time"], merged["zone"], strict=True)
    ]
    return pd.Series(local, index=merged["index"]).sort_index()


def test_every_action_and_rule_is_exercised(demo):
    _, result = demo
    assert set(result.actions["action"]) == {
        "send_email",
        "send_sms",
        "send_whatsapp",
        "add_to_list",
        "remove_from_list",
        "update_contact",
        "delete_contact",
        "webhook",
    }
    assert {"wait", "branch", "wait_for"} <= set(result.steps["kind"])
    assert {"then", "otherwise"} <= set(result.steps["outcome"])
    wait_for = result.steps[result.steps["kind"] == "wait_for"]
    assert set(wait_for["outcome"]) == {"then", "timed_out"}


def test_every_run_has_exactly_one_end(demo):
    _, result = demo
    runs = result.runs
    assert runs["run_id"].is_unique and runs["run_id"].tolist() == list(range(1, len(runs) + 1))
    assert runs["ended_at"].notna().all() and set(runs["end_reason"]) <= END_REASONS
    assert (runs["ended_at"] >= runs["entered_at"]).all()
    end = pd.Timestamp(demo[0].end)
    assert (runs.loc[runs["end_reason"] == "horizon", "ended_at"] == end).all()


def test_every_action_and_step_belongs_to_a_run_and_falls_inside_it(demo):
    _, result = demo
    runs = result.runs.set_index("run_id")
    for frame in (result.steps, result.actions):
        joined = frame.join(
            runs[["entered_at", "ended_at", "contact_id", "flow"]],
            on="run_id",
            suffixes=("", "_run"),
        )
        assert joined["entered_at"].notna().all()
        assert (joined["contact_id"] == joined["contact_id_run"]).all()
        assert (joined["flow"] == joined["flow_run"]).all()
        assert (
            (joined["time"] >= joined["entered_at"]) & (joined["time"] <= joined["ended_at"])
        ).all()


def test_no_action_after_a_contact_is_deleted(demo):
    _, result = demo
    deleted = (
        result.actions[result.actions["action"] == "delete_contact"]
        .groupby("contact_id")["time"]
        .min()
    )
    later = result.actions.join(deleted.rename("deleted_at"), on="contact_id")
    assert not (later["time"] > later["deleted_at"]).any()
    events = result.segment_events.join(deleted.rename("deleted_at"), on="contact_id")
    assert not (events["time"] > events["deleted_at"]).any()


def test_runs_of_one_contact_in_one_flow_never_overlap(demo):
    _, result = demo
    for _, runs in result.runs.sort_values(["entered_at", "run_id"]).groupby(
        ["flow", "contact_id"]
    ):
        assert (
            runs["entered_at"].iloc[1:].to_numpy() >= runs["ended_at"].iloc[:-1].to_numpy()
        ).all()


def test_counts_reconcile_with_summary_and_report(demo):
    _, result = demo
    summary = result.summary().set_index("flow")
    sent = result.actions[result.actions["status"] == "sent"]
    for flow, row in summary.iterrows():
        assert row["runs"] == (result.runs["flow"] == flow).sum()
        assert row["email_sent"] == ((sent["flow"] == flow) & (sent["channel"] == "email")).sum()
        assert row["suppressed"] == (result.suppressed["flow"] == flow).sum()
        assert row["cost"] == pytest.approx(
            result.actions.loc[result.actions["flow"] == flow, "cost"].sum()
        )
    numbers = result.report().numbers()
    assert numbers["email_sent"] == (sent["channel"] == "email").sum()
    assert numbers["cost"] == pytest.approx(result.actions["cost"].sum())
    # messages are email, SMS and WhatsApp: the demo's CRM webhooks are operations
    hooks = (sent["action"] == "webhook").sum()
    assert hooks > 0
    assert numbers["webhooks_called"] == hooks
    assert numbers["messages_sent"] == len(sent) - hooks
    assert numbers["messages_sent"] == summary["messages_sent"].sum()
    assert f"{numbers['messages_sent']:,} messages sent" in repr(result)


def test_untouched_contacts_follow_the_precomputed_segment_events(demo):
    scenario, result = demo
    touched = set(
        result.actions.loc[
            result.actions["action"].isin(
                ["add_to_list", "remove_from_list", "update_contact", "delete_contact"]
            ),
            "contact_id",
        ]
    )
    direct = ss.segment_events(
        scenario.store, list(scenario.segments), scenario.start, scenario.end
    )
    mine = result.segment_events[~result.segment_events["contact_id"].isin(touched)].reset_index(
        drop=True
    )
    theirs = direct[~direct["contact_id"].isin(touched)].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)


def test_same_scenario_and_seed_give_identical_frames(demo):
    scenario, result = demo
    again = ss.simulate(scenario, progress=False)
    for name in FRAMES:
        assert getattr(result, name).equals(getattr(again, name)), name


def test_explain_tells_one_contacts_story_in_time_order(demo):
    _, result = demo
    contact = result.actions["contact_id"].iloc[0]
    story = result.explain(contact)
    assert story["time"].is_monotonic_increasing
    assert {"run entered", "run ended"} <= set(story["what"])
    assert len(story) >= (result.steps["contact_id"] == contact).sum()


# -- the delivery policy: quiet hours, caps, priorities (docs/design.md §12) ----------------------


def test_the_demo_reads_each_contacts_zone_and_has_a_policy(demo, zones):
    scenario, _ = demo
    assert scenario.channels.timezone_attribute == "timezone"
    assert scenario.channels.default_timezone == "Europe/Paris"
    assert scenario.store.attribute_types["timezone"] == "string"
    assert zones.groupby("contact_id")["zone"].last().nunique() >= 3
    policy = scenario.policy
    assert [(q.start, q.end, q.channels, q.action) for q in policy.quiet_hours] == [
        ("21:00", "08:00", ("sms", "whatsapp"), "defer")
    ]
    assert [(c.limit, c.unit, c.capped_channels) for c in policy.frequency_caps] == [
        (1, "day", ("sms",)),
        (3, None, ("email", "sms", "whatsapp")),
    ]
    priorities = {flow.name: flow.priority for flow in scenario.flows}
    assert priorities == {"Win-back": 20, "Welcome Pro": 10, "Repeat thanks": 5, "Churn cleanup": 0}


def test_no_sms_or_whatsapp_goes_out_in_local_quiet_hours(demo, zones):
    _, result = demo
    actions = result.actions
    night = actions[actions["channel"].isin(["sms", "whatsapp"]) & (actions["status"] == "sent")]
    hours = local_times(night, zones).dt.hour
    assert len(hours) > 100
    assert not ((hours >= 21) | (hours < 8)).any()


def test_deferred_messages_go_out_at_eight_local(demo, zones):
    _, result = demo
    deferred = result.steps[result.steps["outcome"] == "deferred"]
    assert len(deferred) >= 10  # 30 of the ~180 SMS and WhatsApp that pass consent (1,000 contacts)
    assert set(deferred["kind"]) <= {"send_sms", "send_whatsapp"}
    deferred_at = local_times(deferred, zones).dt.hour
    assert ((deferred_at >= 21) | (deferred_at < 8)).all()
    # the message is decided again at the end of the quiet period: 08:00 local, at most
    # 11 hours later (12 across a DST change), sent or skipped then
    later = deferred.reset_index(drop=True).merge(
        result.actions, on=["run_id", "step_id"], suffixes=("_deferred", "")
    )
    assert (local_times(later, zones).dt.time == dt.time(8, 0)).all()
    waited = later["time"] - later["time_deferred"]
    assert ((waited > pd.Timedelta(0)) & (waited <= pd.Timedelta(hours=12))).all()
    # a deferral without a decision: its run ended while it waited
    undecided = deferred[
        ~deferred.set_index(["run_id", "step_id"]).index.isin(
            later.set_index(["run_id", "step_id"]).index
        )
    ]
    ends = result.runs.set_index("run_id").loc[undecided["run_id"]]
    assert (ends["end_reason"] != "completed").all()
    assert (
        ends["ended_at"].to_numpy() - undecided["time"].to_numpy() <= pd.Timedelta(hours=12)
    ).all()


def test_no_contact_exceeds_a_cap_and_every_capped_send_was_over_one(demo, zones):
    _, result = demo
    actions = result.actions
    sent = actions[actions["action"].isin(MESSAGES) & (actions["status"] == "sent")].copy()
    sent["local_day"] = local_times(sent, zones).dt.date
    week = 7 * 86_400 * 1_000_000  # µs
    sent["us"] = sent["time"].astype("int64")
    by_contact = {c: np.sort(rows["us"].to_numpy()) for c, rows in sent.groupby("contact_id")}
    for times in by_contact.values():  # at most 3 messages in any (t - 7d, t]
        starts = np.searchsorted(times, times - week, side="right")
        assert (np.arange(len(times)) - starts + 1).max() <= 3
    sms = sent[sent["channel"] == "sms"]
    assert sms.groupby(["contact_id", "local_day"]).size().max() == 1
    capped = actions[actions["reason"] == "frequency_cap"]
    assert len(capped) >= 3
    capped_day = local_times(capped, zones).dt.date
    for index, row in capped.iterrows():
        times = by_contact.get(row["contact_id"], np.array([], dtype=np.int64))
        t = row["time"].value // 1_000  # ns -> µs
        in_week = ((times > t - week) & (times <= t)).sum()
        same_day_sms = (
            (sms["contact_id"] == row["contact_id"]) & (sms["local_day"] == capped_day[index])
        ).sum()
        assert in_week == 3 or (row["channel"] == "sms" and same_day_sms == 1), row.to_dict()


# -- responses and goals (docs/design.md §10) -----------------------------------------------------


def test_every_response_belongs_to_a_sent_message_and_follows_it(demo):
    _, result = demo
    sent = result.actions[
        result.actions["action"].isin(MESSAGES) & (result.actions["status"] == "sent")
    ]
    assert not sent.duplicated(["run_id", "step_id"]).any()  # a step sends once per run
    joined = result.responses.merge(
        sent[["run_id", "step_id", "time", "channel", "template"]],
        on=["run_id", "step_id"],
        suffixes=("", "_sent"),
        validate="many_to_one",
    )
    assert len(joined) == len(result.responses)
    assert (joined["channel"] == joined["channel_sent"]).all()
    assert (joined["template"] == joined["template_sent"]).all()
    assert (joined["time"] >= joined["time_sent"]).all()  # exponential delays, never negative
    per_message = result.responses.groupby(["run_id", "step_id"])["response"]
    assert per_message.apply(lambda r: r.is_unique).all()
    delivered = per_message.apply(lambda r: "delivered" in set(r))
    bounced = per_message.apply(lambda r: "bounced" in set(r))
    assert (delivered ^ bounced).all()  # exactly one of the two; a bounce has nothing after it
    assert per_message.apply(lambda r: "bounced" not in set(r) or len(r) == 1).all()


def test_response_rates_match_the_demo_funnels(demo):
    """Each response's count is within 4 standard errors of its expected count: the sum, over
    the messages that could have it, of the funnel's probability (template overrides
    applied), with the binomial variance sum p(1 - p)."""
    scenario, result = demo
    model = scenario.responses
    sent = result.actions[
        result.actions["action"].isin(MESSAGES) & (result.actions["status"] == "sent")
    ]
    have = result.responses.groupby(["run_id", "step_id"])["response"].agg(set)
    messages = sent.join(have.rename("got"), on=["run_id", "step_id"])
    assert messages["got"].notna().all()  # every sent message was delivered or bounced
    given = {"delivered": None, "opened": "delivered", "machine_opened": "delivered",
             "unsubscribed": "delivered"}  # fmt: skip
    checked = 0
    for (channel, template), rows in messages.groupby(["channel", "template"]):
        funnel = model.funnel(channel, template)
        fields = {"delivered": "delivered", "unsubscribed": "unsubscribed"}
        if funnel.opened is not None:
            fields["opened"] = "opened"
        if funnel.machine_open is not None:
            fields["machine_opened"] = "machine_open"
        clicked_given = "opened" if funnel.opened is not None else "delivered"
        for response, field in [*fields.items(), ("clicked", "clicked")]:
            condition = clicked_given if response == "clicked" else given[response]
            eligible = (
                rows if condition is None else rows[rows["got"].map(lambda g, c=condition: c in g)]
            )
            p = funnel.rate(field)
            n = len(eligible)
            observed = eligible["got"].map(lambda g, r=response: r in g).sum()
            if n == 0 or p in (0.0, 1.0):
                assert observed == round(n * p), (channel, template, response)
                continue
            se = math.sqrt(n * p * (1 - p))
            assert abs(observed - n * p) <= 4 * se, (channel, template, response, observed, n, p)
            checked += 1
    assert checked >= 20


def test_unsubscribes_turn_the_channel_consent_off(demo):
    _, result = demo
    unsubscribes = result.responses[result.responses["response"] == "unsubscribed"]
    assert len(unsubscribes) >= 1
    for _, row in unsubscribes.iterrows():
        later = result.actions[
            (result.actions["contact_id"] == row["contact_id"])
            & (result.actions["channel"] == row["channel"])
            & (result.actions["time"] > row["time"])
        ]
        assert (later["status"] == "skipped").all(), row.to_dict()


def test_purchases_are_credited_to_the_last_message_of_a_goal_flow_within_seven_days(demo):
    """A brute-force recomputation of the observed conversions: each purchase in the window
    goes to the latest message the flow sent the contact in (p - 7d, p), at one instant to
    the one sent last; its value is the purchase's ``amount``."""
    scenario, result = demo
    goals = {flow.name: flow.goal for flow in scenario.flows if flow.goal is not None}
    assert sorted(goals) == ["Repeat thanks", "Win-back"]
    assert {(g.event, g.within, g.value) for g in goals.values()} == {
        ("purchase", pd.Timedelta(days=7), "amount")
    }
    events = ss.datasets.demo_events(contacts=CONTACTS, seed=7)
    purchases = events[
        (events["event"] == "purchase")
        & (events["ts"] >= pd.Timestamp(scenario.start))
        & (events["ts"] < pd.Timestamp(scenario.end))
    ]
    deleted = (
        result.actions[result.actions["action"] == "delete_contact"]
        .groupby("contact_id")["time"]
        .min()
    )
    alive = purchases.join(deleted.rename("deleted_at"), on="contact_id")
    purchases = alive[~(alive["ts"] > alive["deleted_at"])].reset_index(drop=True)
    sent = result.actions[
        result.actions["action"].isin(MESSAGES)
        & (result.actions["status"] == "sent")
        & result.actions["flow"].isin(goals)
    ].reset_index(drop=True)
    pairs = purchases.reset_index(names="purchase").merge(
        sent.reset_index(names="sent_order"), on="contact_id"
    )
    pairs = pairs[
        (pairs["time"] > pairs["ts"] - pd.Timedelta(days=7)) & (pairs["time"] < pairs["ts"])
    ]
    # the last touch: the latest message, at one instant the one sent last (actions order)
    last = pairs.sort_values(["time", "sent_order"]).groupby(["purchase", "flow"]).tail(1)
    order = {flow.name: i for i, flow in enumerate(scenario.flows)}
    last = last.assign(flow_order=last["flow"].map(order)).sort_values(
        ["ts", "contact_id", "flow_order"]
    )
    expected = list(
        last[["ts", "contact_id", "flow", "step_id", "amount"]].itertuples(index=False, name=None)
    )
    columns = ["time", "contact_id", "flow", "step_id", "value"]
    got = list(result.conversions[columns].itertuples(index=False, name=None))
    assert len(expected) >= 20
    assert got == expected
    assert set(result.conversions["source"]) == {"observed"}
    summary = result.summary().set_index("flow")
    for flow in ("Welcome Pro", "Churn cleanup"):
        assert summary.loc[flow, "converted"] == 0
    for flow in goals:
        mine = result.conversions[result.conversions["flow"] == flow]
        assert summary.loc[flow, "converted"] == len(mine)
        assert summary.loc[flow, "revenue"] == pytest.approx(mine["value"].sum())
