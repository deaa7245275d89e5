"""The invariants of docs/design.md §5.3, on the demo scenario (every action and rule in use)."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def demo():
    scenario = ss.datasets.demo_scenario(contacts=1_000)
    return scenario, ss.simulate(scenario, progress=False)


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
