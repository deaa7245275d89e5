"""WaitFor (docs/design.md §4.11), hand-computed: ``assert log == [...]``.

Days are numbers: ``day(2)`` is 2026-01-03 00:00 UTC; the window is days [0, 30). The flow
enters on ``plan == "pro"``, then waits for ``tier == "gold"`` for at most 3 days.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

import segsim as ss
from segsim import attr, in_list
from tests.engine_helpers import (
    actions_log,
    day,
    days,
    make_store,
    reachable,
    runs_log,
    scenario,
)

PRO = ss.Segment("Pro", attr("plan") == "pro")
GOLD = attr("tier") == "gold"


def history(*rows, contact=1, enter=2):
    return [
        *reachable(contact),
        (contact, -10, "plan", "free"),
        (contact, -10, "tier", "none"),
        (contact, enter, "plan", "pro"),
        *rows,
    ]


def waiting_flow(until=GOLD, timeout="3d", **settings):
    return ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="hello"),
            ss.WaitFor(
                "wf",
                until=until,
                timeout=timeout,
                then=[ss.SendEmail("thanks", template="thanks")],
                timed_out=[ss.SendEmail("nudge", template="nudge")],
            ),
            ss.SendEmail("after", template="after"),
        ],
        settings=ss.ActivationSettings(**settings),
    )


def steps_log(result):
    return [(days(r.time), r.step_id, r.outcome) for r in result.steps.itertuples()]


def run(rows, flows=None, **kwargs):
    store = make_store(rows)
    return ss.simulate(scenario(store, [PRO], flows or [waiting_flow()], **kwargs), progress=False)


# -- the model ----------------------------------------------------------------------------------


def test_waitfor_round_trips_and_walks_its_two_paths():
    step = waiting_flow().steps[1]
    assert ss.WaitFor.model_validate(step.model_dump()) == step
    assert step.model_dump()["timeout"] == "3d"
    flow = waiting_flow()
    assert ss.Flow.model_validate_json(flow.model_dump_json()) == flow
    assert [(p.step.id, p.next) for p in ss.flows.walk_steps(flow)] == [
        ("e1", "wf"),
        ("wf", "after"),
        ("thanks", "after"),
        ("nudge", "after"),
        ("after", None),
    ]
    assert list(flow.conditions()) == [(("steps", 1, "until"), GOLD)]
    assert flow.attributes_used() == {"tier"}


@pytest.mark.parametrize("timeout", ["0s", "-1d", dt.timedelta(0)])
def test_waitfor_timeout_must_be_positive(timeout):
    with pytest.raises(ValidationError, match="wait_for step 'wf': the timeout must be positive"):
        ss.WaitFor("wf", until=GOLD, timeout=timeout)


def test_waitfor_step_ids_are_unique_across_its_paths():
    with pytest.raises(ValidationError, match="step id 'x' is used twice"):
        ss.Flow(
            "F",
            steps=[
                ss.WaitFor(
                    "wf",
                    until=GOLD,
                    timeout="1d",
                    then=[ss.Wait("x", "1d")],
                    timed_out=[ss.Wait("x", "2d")],
                )
            ],
        )


# -- the rules ---------------------------------------------------------------------------------


def test_condition_already_true_at_entry_leaves_at_once_by_then():
    result = run(history((1, 1, "tier", "gold")))
    assert steps_log(result) == [
        (2, "e1", "sent"),
        (2, "wf", "then"),
        (2, "thanks", "sent"),
        (2, "after", "sent"),
    ]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 2, "completed")]


def test_condition_turning_true_while_waiting_leaves_by_then_at_that_instant():
    result = run(history((1, 3.5, "tier", "gold")))
    assert steps_log(result) == [
        (2, "e1", "sent"),
        (3.5, "wf", "then"),
        (3.5, "thanks", "sent"),
        (3.5, "after", "sent"),
    ]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 3.5, "completed")]


def test_timeout_leaves_by_timed_out_then_goes_on_after_the_waitfor():
    result = run(history((1, 6, "tier", "gold")))  # day 6 is after the timeout (day 5)
    assert steps_log(result) == [
        (2, "e1", "sent"),
        (5, "wf", "timed_out"),
        (5, "nudge", "sent"),
        (5, "after", "sent"),
    ]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 5, "completed")]


def test_a_change_at_exactly_the_timeout_instant_leaves_by_then():
    result = run(history((1, 5, "tier", "gold")))
    assert [row for row in steps_log(result) if row[1] == "wf"] == [(5, "wf", "then")]
    assert actions_log(result)[1:] == [
        (5, "Upgrade", 1, "thanks", "sent", None),
        (5, "Upgrade", 1, "after", "sent", None),
    ]


def test_a_condition_that_turns_true_and_false_again_before_entry_is_read_as_it_is_then():
    # gold at day 1, gone at day 1.5: false at entry (day 2); gold again at day 4 -> then
    rows = history((1, 1, "tier", "gold"), (1, 1.5, "tier", "none"), (1, 4, "tier", "gold"))
    assert [row for row in steps_log(run(rows)) if row[1] == "wf"] == [(4, "wf", "then")]


def test_time_relative_condition_turning_while_waiting_leaves_by_then():
    # signed_up_at + 3d = day 3.25: older_than("3d") turns true then, with no data change
    rows = history((1, 0.25, "signed_up_at", day(0.25).to_pydatetime()))
    flow = waiting_flow(until=attr("signed_up_at").older_than("3d"))
    assert [row for row in steps_log(run(rows, [flow])) if row[1] == "wf"] == [(3.25, "wf", "then")]


def test_list_change_while_waiting_leaves_by_then():
    store = make_store(history(), lists=[(1, 4, "customers", True)])
    flow = waiting_flow(until=in_list("customers"))
    result = ss.simulate(scenario(store, [PRO], [flow]), progress=False)
    assert [row for row in steps_log(result) if row[1] == "wf"] == [(4, "wf", "then")]


def test_exit_condition_while_waiting_ends_the_run_and_voids_the_timeout():
    rows = history((1, 3, "plan", "free"))
    flow = waiting_flow(exit_conditions=[ss.ExitsSegment("Pro")])
    result = run(rows, [flow])
    assert steps_log(result) == [(2, "e1", "sent")]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 3, "exit_condition")]


def test_exit_condition_and_waitfor_condition_at_one_instant_the_exit_wins():
    rows = history((1, 3, "plan", "free"), (1, 3, "tier", "gold"))
    flow = waiting_flow(exit_conditions=[ss.ExitsSegment("Pro")])
    result = run(rows, [flow])
    assert steps_log(result) == [(2, "e1", "sent")]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 3, "exit_condition")]


def test_a_run_still_waiting_at_the_end_ends_by_horizon_without_a_waitfor_row():
    result = run(history(), [waiting_flow(timeout="60d")])
    assert steps_log(result) == [(2, "e1", "sent")]
    assert runs_log(result) == [("Upgrade", 1, 2, "first", 30, "horizon")]


def test_an_update_contact_of_another_flow_releases_the_waiting_run_in_a_cascade():
    gold_giver = ss.Flow(
        "Giver",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("g0", "1d"), ss.UpdateContact("g1", set={"tier": "gold"})],
    )
    result = run(history(), [waiting_flow(), gold_giver])
    # the frame's canonical order is time, then run (Upgrade is run 1)
    assert [(days(r.time), r.flow, r.step_id, r.outcome) for r in result.steps.itertuples()] == [
        (2, "Upgrade", "e1", "sent"),
        (2, "Giver", "g0", "waiting"),
        (3, "Upgrade", "wf", "then"),
        (3, "Upgrade", "thanks", "sent"),
        (3, "Upgrade", "after", "sent"),
        (3, "Giver", "g1", "applied"),
    ]


def test_empty_paths_go_straight_to_the_step_after_the_waitfor():
    flow = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.WaitFor("wf", until=GOLD, timeout="1d"), ss.SendEmail("after", template="a")],
    )
    result = run(history(), [flow])
    assert steps_log(result) == [(3, "wf", "timed_out"), (3, "after", "sent")]


def test_waitfor_keeps_waiting_through_a_pause_and_holds_at_the_next_action():
    schedule = [ss.Pause("Upgrade", at=day(3)), ss.Resume("Upgrade", at=day(8))]
    result = run(history((1, 4, "tier", "gold")), schedule=schedule)
    assert steps_log(result) == [
        (2, "e1", "sent"),
        (4, "wf", "then"),
        (8, "thanks", "sent"),
        (8, "after", "sent"),
    ]


def test_restart_condition_while_waiting_starts_over_and_checks_again_at_entry():
    rows = history((1, 3, "vip", True), (1, 3, "tier", "gold"))
    flow = waiting_flow(restart_conditions=[ss.AttributeMatches(attr("vip") == True)])
    result = run(rows, [flow])
    assert runs_log(result) == [
        ("Upgrade", 1, 2, "first", 3, "restarted"),
        ("Upgrade", 1, 3, "restart", 3, "completed"),
    ]
    assert steps_log(result) == [
        (2, "e1", "sent"),
        (3, "e1", "sent"),
        (3, "wf", "then"),
        (3, "thanks", "sent"),
        (3, "after", "sent"),
    ]


def test_an_edit_keeps_the_waiting_run_and_its_timeout_and_takes_the_new_paths():
    new = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="hello"),
            ss.WaitFor(
                "wf",
                until=GOLD,
                timeout="10d",
                timed_out=[ss.SendSMS("sms", template="nudge")],
            ),
        ],
    )
    schedule = [ss.Edit("Upgrade", at=day(3), flow=new)]
    result = run(history(), schedule=schedule)
    assert [(days(r.time), r.step_id, r.outcome, r.version) for r in result.steps.itertuples()] == [
        (2, "e1", "sent", 1),
        (5, "wf", "timed_out", 2),
        (5, "sms", "sent", 2),
    ]


# -- event conditions ----------------------------------------------------------------------------


def purchase_run(purchase_days, until=None):
    """Contact 1 enters at day 2 and waits up to 3d for a purchase (within the last day)."""
    store = make_store(history())
    store.load_events(
        pd.DataFrame(
            {
                "contact_id": [1] * len(purchase_days),
                "ts": [day(d) for d in purchase_days],
                "event": ["purchase"] * len(purchase_days),
            }
        )
    )
    if until is None:
        until = ss.event("purchase").exists(within="1d")
    flow = waiting_flow(until=until)
    return ss.simulate(scenario(store, [PRO], [flow]), progress=False)


def test_an_event_occurrence_while_waiting_leaves_by_then():
    assert [r for r in steps_log(purchase_run([3.5])) if r[1] == "wf"] == [(3.5, "wf", "then")]


def test_an_occurrence_at_exactly_the_timeout_instant_leaves_by_then():
    assert [r for r in steps_log(purchase_run([5])) if r[1] == "wf"] == [(5, "wf", "then")]


def test_an_occurrence_after_the_timeout_is_too_late():
    assert [r for r in steps_log(purchase_run([5.5])) if r[1] == "wf"] == [(5, "wf", "timed_out")]


def test_an_occurrence_still_in_the_window_at_entry_leaves_at_once():
    # the purchase at day 1.5 is within the last day at day 2: already true
    assert [r for r in steps_log(purchase_run([1.5])) if r[1] == "wf"] == [(2, "wf", "then")]


def test_a_count_reaching_its_threshold_while_waiting_leaves_by_then():
    until = ss.event("purchase").count(within="10d") >= 2
    log = steps_log(purchase_run([1, 2.5, 4], until=until))
    assert [r for r in log if r[1] == "wf"] == [(2.5, "wf", "then")]


def test_a_contact_touched_by_an_action_is_released_by_a_later_occurrence():
    # the update makes the contact live (tier is read by the WaitFor); the purchase at day 3.5
    # then reaches it through the live path
    store = make_store(history())
    store.load_events(pd.DataFrame({"contact_id": [1], "ts": [day(3.5)], "event": ["purchase"]}))
    flow = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.UpdateContact("u", set={"tier": "silver"}),
            ss.WaitFor(
                "wf",
                until=(attr("tier") == "silver") & ss.event("purchase").exists(within="1d"),
                timeout="3d",
            ),
        ],
    )
    result = ss.simulate(scenario(store, [PRO], [flow]), progress=False)
    assert steps_log(result) == [(2, "u", "applied"), (3.5, "wf", "then")]


# -- variants of a flow with a WaitFor (the apply_variant rule) ------------------------------------


def test_a_variant_merges_into_an_edited_version_inside_the_waitfor_paths():
    from segsim._internal.variants import merged_flow

    base = waiting_flow()
    edit = base.model_dump()
    edit["version"] = 2
    edit["steps"][1]["then"][0]["template"] = "thanks-v2"  # the edit changes a then step
    edited = ss.Flow.model_validate(edit)
    change = base.model_dump()
    change["steps"][1]["timeout"] = "5d"  # the variant lengthens the timeout ...
    sms = {"kind": "send_sms", "id": "sms", "template": "n"}
    change["steps"][1]["timed_out"] = [*change["steps"][1]["timed_out"], sms]
    variant = ss.Flow.model_validate(change)  # ... and adds an SMS to the timed_out path
    merged = merged_flow(base, variant, edited)
    wf = merged.steps[1]
    assert (wf.kind, wf.timeout, merged.version) == ("wait_for", dt.timedelta(days=5), 2)
    assert [(s.id, s.template) for s in wf.then] == [("thanks", "thanks-v2")]
    assert [s.id for s in wf.timed_out] == ["nudge", "sms"]
    assert merged_flow(base, base, edited) == edited


def test_the_outline_lists_both_paths_of_a_waitfor():
    html = waiting_flow().outline_html()
    assert "<li>then<ul><li><code>thanks</code>" in html
    assert "<li>timed out<ul><li><code>nudge</code>" in html


def test_the_explorer_edits_waits_inside_waitfor_paths():
    from segsim.widgets import _set_step_fields

    data = waiting_flow().model_dump()
    data["steps"][1]["timed_out"] = [{"kind": "wait", "id": "w_in", "duration": "1d"}]
    flow = ss.Flow.model_validate(data)
    _set_step_fields(data, flow, {"w_in": {"duration": "4d"}})
    assert ss.Flow.model_validate(data).steps[1].timed_out[0].duration == dt.timedelta(days=4)
