"""Hand-computed cases for every rule of docs/design.md §4, SimPy style: ``assert log == [...]``.

Days are numbers: ``day(2)`` is 2026-01-03 00:00 UTC; the window is days [0, 30).
"""

from __future__ import annotations

import socket

import pytest

import segsim as ss
from segsim import attr, in_list
from segsim._internal.frames import FRAMES
from tests.engine_helpers import (
    actions_log,
    day,
    events_log,
    make_store,
    reachable,
    runs_log,
    scenario,
    suppressed_log,
)

PRO = ss.Segment("Pro", attr("plan") == "pro")


def pro_history(contact=1, enter=2, exit=None, again=None):
    rows = [*reachable(contact), (contact, -10, "plan", "free"), (contact, enter, "plan", "pro")]
    if exit is not None:
        rows.append((contact, exit, "plan", "free"))
    if again is not None:
        rows.append((contact, again, "plan", "pro"))
    return rows


def welcome(**settings):
    return ss.Flow(
        "Welcome",
        trigger=ss.SegmentTrigger("Pro", on="enter"),
        steps=[
            ss.SendEmail("e1", template="hello"),
            ss.Wait("w1", "2d"),
            ss.SendEmail("e2", template="tips"),
        ],
        settings=ss.ActivationSettings(**settings),
    )


# -- entry ------------------------------------------------------------------------------------


def test_entry_runs_steps_in_order_and_completes():
    result = ss.simulate(scenario(make_store(pro_history()), [PRO], [welcome()]), progress=False)
    assert runs_log(result) == [("Welcome", 1, 2, "first", 4, "completed")]
    assert actions_log(result) == [
        (2, "Welcome", 1, "e1", "sent", None),
        (4, "Welcome", 1, "e2", "sent", None),
    ]
    steps = [(r.step_id, r.kind, r.outcome) for r in result.steps.itertuples()]
    assert steps == [
        ("e1", "send_email", "sent"),
        ("w1", "wait", "waiting"),
        ("e2", "send_email", "sent"),
    ]
    assert events_log(result) == [(2, 1, "Pro", "enter", 1, "history")]
    assert list(result.runs["run_id"]) == [1]


def test_exit_trigger_fires_on_leaving():
    flow = ss.Flow(
        "Bye",
        trigger=ss.SegmentTrigger("Pro", on="exit"),
        steps=[ss.SendEmail("e1", template="bye")],
    )
    result = ss.simulate(scenario(make_store(pro_history(exit=5)), [PRO], [flow]), progress=False)
    assert runs_log(result) == [("Bye", 1, 5, "first", 5, "completed")]


def test_suppression_flow_inactive_before_activation():
    s = scenario(
        make_store(pro_history(enter=2)),
        [PRO],
        [welcome()],
        schedule=[ss.Activate("Welcome", at=day(3))],
    )
    result = ss.simulate(s, progress=False)
    assert suppressed_log(result) == [(2, "Welcome", 1, "flow_inactive")]
    assert runs_log(result) == []


def test_suppression_flow_paused_same_instant_lifecycle_first():
    s = scenario(
        make_store(pro_history(enter=2)),
        [PRO],
        [welcome()],
        schedule=[ss.Pause("Welcome", at=day(2))],
    )
    result = ss.simulate(s, progress=False)
    assert suppressed_log(result) == [(2, "Welcome", 1, "flow_paused")]


def test_suppression_already_in_flow():
    flow = ss.Flow("Long", trigger=ss.SegmentTrigger("Pro"), steps=[ss.Wait("w", "10d")])
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=3, again=4)), [PRO], [flow]), progress=False
    )
    assert suppressed_log(result) == [(4, "Long", 1, "already_in_flow")]
    assert runs_log(result) == [("Long", 1, 2, "first", 12, "completed")]


def test_suppression_no_reentry_by_default():
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=5, again=8)), [PRO], [welcome()]),
        progress=False,
    )
    assert suppressed_log(result) == [(8, "Welcome", 1, "no_reentry")]


def test_reentry_wait_suppresses_then_allows():
    history = [
        *pro_history(enter=2, exit=5, again=8),
        (1, 9, "plan", "free"),
        (1, 13, "plan", "pro"),
    ]
    flow = welcome(allow_reentry=True, reentry_wait="7d", reentry_mode="event")
    result = ss.simulate(scenario(make_store(history), [PRO], [flow]), progress=False)
    # first run ends day 4; events before day 11 are suppressed, the one at day 13 enters
    assert suppressed_log(result) == [(8, "Welcome", 1, "reentry_wait")]
    assert runs_log(result) == [
        ("Welcome", 1, 2, "first", 4, "completed"),
        ("Welcome", 1, 13, "reentry", 15, "completed"),
    ]


def test_suppression_filters():
    history = [*pro_history(), (1, -30, "vip", False)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro", filters=attr("vip") == True),
        steps=[ss.SendEmail("e", template="t")],
    )
    result = ss.simulate(scenario(make_store(history), [PRO], [flow]), progress=False)
    assert suppressed_log(result) == [(2, "F", 1, "filters")]


def test_suppression_reasons_come_in_order():
    # paused AND filters failing: flow_paused wins (first that applies)
    history = [*pro_history(), (1, -30, "vip", False)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro", filters=attr("vip") == True),
        steps=[ss.SendEmail("e", template="t")],
    )
    s = scenario(make_store(history), [PRO], [flow], schedule=[ss.Pause("F", at=day(1))])
    assert suppressed_log(ss.simulate(s, progress=False)) == [(2, "F", 1, "flow_paused")]


# -- re-entry modes ----------------------------------------------------------------------------


def test_recheck_enters_at_end_of_reentry_wait_if_still_member():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="3d"),
    )
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2)), [PRO], [flow], end=10), progress=False
    )
    assert runs_log(result) == [
        ("F", 1, 2, "first", 2, "completed"),
        ("F", 1, 5, "recheck", 5, "completed"),
        ("F", 1, 8, "recheck", 8, "completed"),
    ]


def test_recheck_does_nothing_when_no_longer_member():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="3d"),
    )
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=4)), [PRO], [flow], end=10), progress=False
    )
    assert runs_log(result) == [("F", 1, 2, "first", 2, "completed")]
    assert suppressed_log(result) == []


def test_event_mode_waits_for_a_new_trigger_event():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="3d", reentry_mode="event"),
    )
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=6, again=7)), [PRO], [flow], end=10),
        progress=False,
    )
    assert runs_log(result) == [
        ("F", 1, 2, "first", 2, "completed"),
        ("F", 1, 7, "reentry", 7, "completed"),
    ]


def test_trigger_event_before_recheck_at_same_instant():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="3d"),
    )
    # run ends day 2; out day 3, back in day 5 exactly when the recheck is due
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=3, again=5)), [PRO], [flow], end=7),
        progress=False,
    )
    assert runs_log(result) == [
        ("F", 1, 2, "first", 2, "completed"),
        ("F", 1, 5, "reentry", 5, "completed"),
    ]


def test_zero_length_run_with_zero_wait_is_a_detected_loop():
    flow = ss.Flow(
        "Spin",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="0s"),
    )
    with pytest.raises(ss.CascadeLoopError, match=r"contact 1.*'Spin'"):
        ss.simulate(scenario(make_store(pro_history()), [PRO], [flow]), progress=False)


# -- exit and restart conditions ------------------------------------------------------------------


def test_exit_condition_ends_a_waiting_run_at_once():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="a"),
            ss.Wait("w", "30d"),
            ss.SendEmail("e2", template="b"),
        ],
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Pro")]),
    )
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=4)), [PRO], [flow], end=60), progress=False
    )
    assert runs_log(result) == [("F", 1, 2, "first", 4, "exit_condition")]
    assert [a[3] for a in actions_log(result)] == ["e1"]


def test_attribute_matches_exit_condition():
    history = [*pro_history(), (1, 3, "customer", True)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "10d"), ss.SendEmail("e", template="b")],
        settings=ss.ActivationSettings(
            exit_conditions=[ss.AttributeMatches(attr("customer") == True)]
        ),
    )
    result = ss.simulate(scenario(make_store(history), [PRO], [flow]), progress=False)
    assert runs_log(result) == [("F", 1, 2, "first", 3, "exit_condition")]


def test_restart_condition_starts_over_from_first_step():
    clicked = ss.Segment("Clicked", attr("clicked") == True)
    history = [*pro_history(), (1, 4, "clicked", True)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="a"),
            ss.Wait("w", "5d"),
            ss.SendEmail("e2", template="b"),
        ],
        settings=ss.ActivationSettings(restart_conditions=[ss.EntersSegment("Clicked")]),
    )
    result = ss.simulate(scenario(make_store(history), [PRO, clicked], [flow]), progress=False)
    assert runs_log(result) == [
        ("F", 1, 2, "first", 4, "restarted"),
        ("F", 1, 4, "restart", 9, "completed"),
    ]
    assert [(a[0], a[3]) for a in actions_log(result)] == [(2, "e1"), (4, "e1"), (9, "e2")]


# -- channels --------------------------------------------------------------------------------------


def test_channel_eligibility_and_skip_reasons():
    rows = [
        (1, -10, "plan", "free"),
        (1, 2, "plan", "pro"),  # no email, no phone
        (2, -10, "plan", "free"),
        (2, 2, "plan", "pro"),
        (2, -10, "email", "x@y.z"),
        (2, -10, "email_subscribed", False),
        (2, -10, "phone", "+1"),
        (2, -10, "sms_subscribed", True),
        (2, -10, "whatsapp_subscribed", False),
    ]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e", template="t"),
            ss.SendSMS("s", template="t"),
            ss.SendWhatsApp("w", template="t"),
        ],
    )
    result = ss.simulate(scenario(make_store(rows), [PRO], [flow]), progress=False)
    assert [(a[2], a[3], a[4], a[5]) for a in actions_log(result)] == [
        (1, "e", "skipped", "no_email"),
        (1, "s", "skipped", "no_phone"),
        (1, "w", "skipped", "no_phone"),
        (2, "e", "skipped", "unsubscribed"),
        (2, "s", "sent", None),
        (2, "w", "skipped", "unsubscribed"),
    ]
    channels = ss.Channels()
    sent = result.actions[result.actions["status"] == "sent"]
    assert list(sent["channel"]) == ["sms"] and list(sent["cost"]) == [channels.cost_sms]
    assert result.actions[result.actions["status"] == "skipped"]["cost"].sum() == 0


def test_list_contact_and_webhook_actions_always_apply():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.AddToList("l", "vip"),
            ss.RemoveFromList("r", "trial"),
            ss.UpdateContact("u", set={"tier": "gold"}),
            ss.Webhook("h", url="https://example.invalid/hook", body={"x": 1}),
        ],
    )
    result = ss.simulate(scenario(make_store(pro_history()), [PRO], [flow]), progress=False)
    assert [(r.action, r.channel, r.status) for r in result.actions.itertuples()] == [
        ("add_to_list", "", "applied"),
        ("remove_from_list", "", "applied"),
        ("update_contact", "", "applied"),
        ("webhook", "webhook", "sent"),
    ]


def test_webhooks_never_touch_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("segsim opened a socket")

    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Webhook("h", url="https://example.com/hook")],
    )
    s = scenario(make_store(pro_history()), [PRO], [flow])
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    result = ss.simulate(s, progress=False)
    assert list(result.actions["status"]) == ["sent"]


# -- cascades -----------------------------------------------------------------------------------------


def test_update_contact_cascades_into_another_flows_trigger_at_once():
    gold = ss.Segment("Gold", attr("tier") == "gold")
    upgrade = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.UpdateContact("u", set={"tier": "gold"})],
    )
    gold_welcome = ss.Flow(
        "GoldWelcome", trigger=ss.SegmentTrigger("Gold"), steps=[ss.SendEmail("e", template="gold")]
    )
    result = ss.simulate(
        scenario(make_store(pro_history()), [PRO, gold], [upgrade, gold_welcome]), progress=False
    )
    assert runs_log(result) == [
        ("Upgrade", 1, 2, "first", 2, "completed"),
        ("GoldWelcome", 1, 2, "first", 2, "completed"),
    ]
    assert events_log(result) == [
        (2, 1, "Pro", "enter", 1, "history"),
        (2, 1, "Gold", "enter", 1, "flow step"),
    ]


def test_list_action_fires_exit_condition_of_own_run():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.AddToList("l", "customers"), ss.SendEmail("e", template="never")],
        settings=ss.ActivationSettings(exit_conditions=[ss.AttributeMatches(in_list("customers"))]),
    )
    result = ss.simulate(scenario(make_store(pro_history()), [PRO], [flow]), progress=False)
    assert runs_log(result) == [("F", 1, 2, "first", 2, "exit_condition")]
    assert [a[3] for a in actions_log(result)] == ["l"]


def test_touched_contact_keeps_following_its_history():
    # after the action touches contact 1, its later history (exit at day 6) is evaluated live
    tag = ss.Flow("Tag", trigger=ss.SegmentTrigger("Pro"), steps=[ss.AddToList("l", "tagged")])
    bye = ss.Flow(
        "Bye",
        trigger=ss.SegmentTrigger("Pro", on="exit"),
        steps=[ss.SendEmail("e", template="bye")],
    )
    result = ss.simulate(
        scenario(make_store(pro_history(enter=2, exit=6)), [PRO], [tag, bye]), progress=False
    )
    assert events_log(result) == [
        (2, 1, "Pro", "enter", 1, "history"),
        (6, 1, "Pro", "exit", 1, "history"),
    ]
    assert runs_log(result) == [
        ("Tag", 1, 2, "first", 2, "completed"),
        ("Bye", 1, 6, "first", 6, "completed"),
    ]


def test_self_feeding_cascade_is_detected():
    in_a = ss.Segment("InA", in_list("a"))
    settings = ss.ActivationSettings(allow_reentry=True, reentry_wait="0s", reentry_mode="event")
    remove = ss.Flow(
        "Remove",
        trigger=ss.SegmentTrigger("InA"),
        steps=[ss.RemoveFromList("r", "a")],
        settings=settings,
    )
    add = ss.Flow(
        "Add",
        trigger=ss.SegmentTrigger("InA", on="exit"),
        steps=[ss.AddToList("x", "a")],
        settings=settings,
    )
    store = make_store([(1, -5, "plan", "free")], lists=[(1, 2, "a", True)])
    with pytest.raises(ss.CascadeLoopError, match="contact 1"):
        ss.simulate(scenario(store, [in_a], [remove, add]), progress=False)


def test_delete_contact_ends_every_run_and_ignores_later_history():
    long = ss.Flow(
        "Long",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "20d"), ss.SendEmail("e", template="x")],
    )
    delete = ss.Flow(
        "Delete",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "1d"), ss.DeleteContact("d")],
    )
    bye = ss.Flow(
        "Bye",
        trigger=ss.SegmentTrigger("Pro", on="exit"),
        steps=[ss.SendEmail("e", template="bye")],
    )
    history = pro_history(enter=2, exit=6, again=8)
    result = ss.simulate(scenario(make_store(history), [PRO], [long, delete, bye]), progress=False)
    assert runs_log(result) == [
        ("Long", 1, 2, "first", 3, "contact_deleted"),
        ("Delete", 1, 2, "first", 3, "contact_deleted"),
    ]
    assert events_log(result) == [
        (2, 1, "Pro", "enter", 1, "history"),
        (3, 1, "Pro", "exit", 1, "flow step"),
    ]
    assert suppressed_log(result) == [(3, "Bye", 1, "deleted")]


# -- lifecycle ----------------------------------------------------------------------------------------


def paused_flow(on_pause):
    return ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "2d"), ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(on_pause=on_pause),
    )


@pytest.mark.parametrize(
    ("on_pause", "runs", "sends"),
    [
        ("hold", [("F", 1, 1, "first", 5, "completed")], [5]),
        ("drain", [("F", 1, 1, "first", 3, "completed")], [3]),
        ("exit", [("F", 1, 1, "first", 2, "paused_exit")], []),
    ],
)
def test_on_pause_policies(on_pause, runs, sends):
    s = scenario(
        make_store(pro_history(enter=1)),
        [PRO],
        [paused_flow(on_pause)],
        schedule=[ss.Pause("F", at=day(2)), ss.Resume("F", at=day(5))],
    )
    result = ss.simulate(s, progress=False)
    assert runs_log(result) == runs
    assert [a[0] for a in actions_log(result)] == sends


def test_edit_moves_running_runs_by_step_id():
    v1 = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "5d"), ss.SendEmail("old", template="a")],
    )
    v2 = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "5d"), ss.SendEmail("new", template="b")],
    )
    s = scenario(
        make_store(pro_history(enter=1)), [PRO], [v1], schedule=[ss.Edit("F", at=day(3), flow=v2)]
    )
    result = ss.simulate(s, progress=False)
    assert [a[3] for a in actions_log(result)] == ["new"]
    assert list(result.runs["version"]) == [1]
    assert list(result.actions["version"]) == [2]


def test_edit_ends_runs_whose_step_is_gone():
    v1 = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w", "5d"), ss.SendEmail("e", template="a")],
    )
    v2 = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("w2", "1d"), ss.SendEmail("e", template="a")],
    )
    s = scenario(
        make_store(pro_history(enter=1)), [PRO], [v1], schedule=[ss.Edit("F", at=day(3), flow=v2)]
    )
    assert runs_log(ss.simulate(s, progress=False)) == [("F", 1, 1, "first", 3, "step_removed")]


def test_activating_a_flow_without_trigger_raises():
    draft = ss.Flow("Draft", steps=[ss.SendEmail("e", template="a")])
    with pytest.raises(ss.FlowNotReady, match="Draft"):
        ss.simulate(scenario(make_store(pro_history()), [PRO], [draft]), progress=False)


def test_horizon_ends_runs_still_open_at_end():
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("Pro"), steps=[ss.Wait("w", "60d")])
    result = ss.simulate(scenario(make_store(pro_history()), [PRO], [flow]), progress=False)
    assert runs_log(result) == [("F", 1, 2, "first", 30, "horizon")]


# -- time ---------------------------------------------------------------------------------------------


def test_existing_members_are_not_entrants_unless_asked():
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendEmail("e", template="a")])
    store = make_store(pro_history(enter=-3))
    assert runs_log(ss.simulate(scenario(store, [PRO], [flow]), progress=False)) == []
    result = ss.simulate(
        scenario(store, [PRO], [flow], include_existing_members=True), progress=False
    )
    assert runs_log(result) == [("F", 1, 0, "first", 0, "completed")]
    assert events_log(result) == [(0, 1, "Pro", "enter", 1, "history")]


def test_time_relative_segment_enters_at_exact_instant():
    lapsed = ss.Segment("Lapsed", attr("last_purchase_at").older_than("10d"))
    rows = [
        *reachable(1),
        (1, -5, "last_purchase_at", day(-5)),
        (1, 12, "last_purchase_at", day(12)),
    ]
    flow = ss.Flow(
        "WinBack",
        trigger=ss.SegmentTrigger("Lapsed"),
        steps=[ss.SendEmail("e", template="miss-you")],
    )
    result = ss.simulate(scenario(make_store(rows), [lapsed], [flow]), progress=False)
    assert events_log(result) == [
        (5, 1, "Lapsed", "enter", 1, "time"),
        (12, 1, "Lapsed", "exit", 1, "history"),
        (22, 1, "Lapsed", "enter", 2, "time"),
    ]
    assert [r[2] for r in runs_log(result)] == [5]


def test_same_scenario_and_seed_give_identical_frames():
    flow = welcome(allow_reentry=True, reentry_wait="1d")
    s = scenario(make_store(pro_history(enter=2, exit=6, again=8)), [PRO], [flow], seed=3)
    a, b = ss.simulate(s, progress=False), ss.simulate(s, progress=False)
    for name in ("segment_events", "runs", "steps", "actions", "suppressed"):
        assert getattr(a, name).equals(getattr(b, name)), name


# -- decisions of docs/semantics.md (each hand-computed) ----------------------------------------


@pytest.mark.parametrize(
    ("on_pause", "runs", "sends"),
    [
        # the restart at day 4 ends the run and starts it over; the new run reaches its first
        # action while the flow is paused and is held there until the resume at day 6
        (
            "hold",
            [("F", 1, 2, "first", 4, "restarted"), ("F", 1, 4, "restart", 11, "completed")],
            [(2, "e1"), (6, "e1"), (11, "e2")],
        ),
        # runs in flight go on as if active: the restarted run sends at once
        (
            "drain",
            [("F", 1, 2, "first", 4, "restarted"), ("F", 1, 4, "restart", 9, "completed")],
            [(2, "e1"), (4, "e1"), (9, "e2")],
        ),
        # the run ended at the pause: no run is open at day 4, nothing restarts
        ("exit", [("F", 1, 2, "first", 3, "paused_exit")], [(2, "e1")]),
    ],
)
def test_restart_condition_while_paused_follows_on_pause(on_pause, runs, sends):
    clicked = ss.Segment("Clicked", attr("clicked") == True)
    history = [*pro_history(enter=2), (1, 4, "clicked", True)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="a"),
            ss.Wait("w", "5d"),
            ss.SendEmail("e2", template="b"),
        ],
        settings=ss.ActivationSettings(
            restart_conditions=[ss.EntersSegment("Clicked")], on_pause=on_pause
        ),
    )
    s = scenario(
        make_store(history),
        [PRO, clicked],
        [flow],
        schedule=[ss.Pause("F", at=day(3)), ss.Resume("F", at=day(6))],
    )
    result = ss.simulate(s, progress=False)
    assert runs_log(result) == runs
    assert [(a[0], a[3]) for a in actions_log(result)] == sends
    assert suppressed_log(result) == []  # a restart is no entry: never flow_paused


def test_cascade_started_run_takes_its_first_steps_before_the_other_due_steps():
    # Contact 1 enters Pro at day 2: Tagger and Waiter both wait 1d (Tagger's wait was
    # scheduled first). At day 3 Tagger adds the contact to "vip", which starts Gold (a
    # cascade); Gold's first step sets tier=gold right after Tagger stops, before Waiter's
    # wait ends, so Waiter's branch sees tier == gold.
    vip = ss.Segment("Vip", in_list("vip"))
    tagger = ss.Flow(
        "Tagger",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.Wait("t1", "1d"), ss.AddToList("l1", "vip")],
    )
    waiter = ss.Flow(
        "Waiter",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.Wait("w1", "1d"),
            ss.Branch(
                "b1",
                when=attr("tier") == "gold",
                then=[ss.SendEmail("e1", template="gold")],
                otherwise=[ss.SendEmail("e2", template="plain")],
            ),
        ],
    )
    gold = ss.Flow(
        "Gold",
        trigger=ss.SegmentTrigger("Vip"),
        steps=[ss.UpdateContact("u1", set={"tier": "gold"})],
    )
    s = scenario(make_store(pro_history(enter=2)), [PRO, vip], [tagger, waiter, gold])
    result = ss.simulate(s, progress=False)
    assert runs_log(result) == [
        ("Tagger", 1, 2, "first", 3, "completed"),
        ("Waiter", 1, 2, "first", 3, "completed"),
        ("Gold", 1, 3, "first", 3, "completed"),
    ]
    assert actions_log(result) == [
        (3, "Tagger", 1, "l1", "applied", None),
        (3, "Waiter", 1, "e1", "sent", None),
        (3, "Gold", 1, "u1", "applied", None),
    ]
    # the order they were executed in (the frame orders rows by run, not by execution)
    assert list(result.steps.sort_values("time", kind="stable")["outcome"]) == [
        "waiting",
        "waiting",
        "applied",  # Tagger l1
        "then",  # Waiter b1: after Gold's u1
        "sent",
        "applied",
    ]


def test_existing_member_leaving_exactly_at_start_does_not_enter():
    # member since day -3, leaves at day 0 = start: the changes at start apply first, so it
    # is no member at start; with include_existing_members it does not enter, and its exit
    # at start is logged (and triggers) exactly as without the option
    history = pro_history(enter=-3, exit=0)
    welcome_flow = ss.Flow(
        "Welcome", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendEmail("e", template="hi")]
    )
    bye = ss.Flow(
        "Bye",
        trigger=ss.SegmentTrigger("Pro", on="exit"),
        steps=[ss.SendEmail("e", template="bye")],
    )
    for include in (False, True):
        s = scenario(
            make_store(history), [PRO], [welcome_flow, bye], include_existing_members=include
        )
        result = ss.simulate(s, progress=False)
        assert runs_log(result) == [("Bye", 1, 0, "first", 0, "completed")], include
        assert events_log(result) == [(0, 1, "Pro", "exit", 1, "history")], include
        direct = ss.segment_events(
            s.store, [PRO], day(0), day(30), include_existing_members=include
        )
        assert events_log(direct) == [(0, 1, "Pro", "exit", 1, "history")], include


def test_runs_entering_at_one_instant_start_by_flow_order_then_contact():
    # Contacts 1 and 2 enter "Flagged" and "Pro" at day 2 (one change each). Upgrade (first
    # in the scenario, triggered by the *second* segment) takes its first step before Check
    # (triggered by the first segment), for both contacts: Check's branch sees tier == gold.
    flagged = ss.Segment("Flagged", attr("flag") == True)
    upgrade = ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Flagged"),
        steps=[ss.UpdateContact("u", set={"tier": "gold"})],
    )
    check = ss.Flow(
        "Check",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.Branch(
                "b", when=attr("tier") == "gold", then=[ss.Webhook("h", url="https://x.test/")]
            )
        ],
    )
    history = [*pro_history(1), *pro_history(2)]
    history += [(c, -10, "flag", False) for c in (1, 2)] + [(c, 2, "flag", True) for c in (1, 2)]
    s = scenario(make_store(history), [PRO, flagged], [upgrade, check])
    result = ss.simulate(s, progress=False)
    assert [(r.flow, r.contact_id, r.step_id, r.outcome) for r in result.steps.itertuples()] == [
        ("Upgrade", 1, "u", "applied"),
        ("Check", 1, "b", "then"),
        ("Check", 1, "h", "sent"),
        ("Upgrade", 2, "u", "applied"),
        ("Check", 2, "b", "then"),
        ("Check", 2, "h", "sent"),
    ]


def test_resetting_an_attribute_to_its_current_value_is_no_change():
    # last_seen is day -5 for both contacts: Lapsed (older than 10d) turns true at day 5, by
    # time. At day 5 a row sets last_seen to day -5 again: no change, so the cause stays
    # "time". Contact 2 is evaluated live (a flow touched it at day 1): same answer.
    lapsed = ss.Segment("Lapsed", attr("last_seen").older_than("10d"))
    listed = ss.Segment("Listed", in_list("tagged"))
    tag = ss.Flow("Tag", trigger=ss.SegmentTrigger("Pro"), steps=[ss.AddToList("l", "tagged")])
    history = [(c, t, "last_seen", day(-5)) for c in (1, 2) for t in (-5, 5)]
    history += [(2, -10, "plan", "free"), (2, 1, "plan", "pro"), (1, -10, "plan", "free")]
    s = scenario(make_store(history), [lapsed, listed, PRO], [tag])
    result = ss.simulate(s, progress=False)
    assert actions_log(result) == [(1, "Tag", 2, "l", "applied", None)]  # contact 2 is live
    assert events_log(result) == [
        (1, 2, "Pro", "enter", 1, "history"),
        (1, 2, "Listed", "enter", 1, "flow step"),
        (5, 1, "Lapsed", "enter", 1, "time"),
        (5, 2, "Lapsed", "enter", 1, "time"),
    ]
    sql = ss.segment_events(s.store, [lapsed], day(0), day(30))
    assert events_log(sql) == [
        (5, 1, "Lapsed", "enter", 1, "time"),
        (5, 2, "Lapsed", "enter", 1, "time"),
    ]
    # a real change at that instant (to day -6: lapsed either way) makes it "history"
    moved = [r for r in history if r[:2] != (1, 5)] + [(1, 5, "last_seen", day(-6))]
    sql = ss.segment_events(make_store(moved), [lapsed], day(0), day(30))
    assert events_log(sql)[0] == (5, 1, "Lapsed", "enter", 1, "history")


# -- segment-only scenarios and internal names ----------------------------------------------------


def test_a_scenario_without_flows_simulates_its_segments():
    s = scenario(make_store(pro_history(enter=2, exit=5)), [PRO], [])
    result = ss.simulate(s, progress=False)
    assert events_log(result) == [
        (2, 1, "Pro", "enter", 1, "history"),
        (5, 1, "Pro", "exit", 1, "history"),
    ]
    for name in ("runs", "steps", "actions", "suppressed"):
        assert getattr(result, name).empty, name
        assert list(getattr(result, name).columns) == FRAMES[name].names, name
    assert result.summary().empty
    assert "Projected sends" in result.report().to_markdown()
    sharded = ss.simulate(s, progress=False, shards=2)
    for name, frame in result.frames.items():
        assert frame.equals(sharded.frames[name]), name


@pytest.mark.parametrize("name", ["#1", "#2", "#3", "##2"])
def test_a_segment_named_like_an_internal_condition_does_not_collide(name):
    # trigger filters are tracked as hidden conditions after the user segments; a user
    # segment may have any name, including the ones those used to get ("#<index>")
    odd = ss.Segment(name, attr("plan") == "free")
    history = [*pro_history(1), (1, -30, "vip", True), *pro_history(2), (2, -30, "vip", False)]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro", filters=attr("vip") == True),
        steps=[ss.SendEmail("e", template="t")],
    )
    result = ss.simulate(scenario(make_store(history), [PRO, odd], [flow]), progress=False)
    assert runs_log(result) == [("F", 1, 2, "first", 2, "completed")]
    assert suppressed_log(result) == [(2, "F", 2, "filters")]
    assert events_log(result) == [
        (2, 1, "Pro", "enter", 1, "history"),
        (2, 1, name, "exit", 1, "history"),
        (2, 2, "Pro", "enter", 1, "history"),
        (2, 2, name, "exit", 1, "history"),
    ]


def test_recheck_while_paused_is_dropped():
    # the run ends at day 2; the recheck due at day 5 falls in the pause [4, 6): nothing, and
    # no retry at the resume, although the contact is still a member
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_wait="3d"),
    )
    s = scenario(
        make_store(pro_history(enter=2)),
        [PRO],
        [flow],
        end=10,
        schedule=[ss.Pause("F", at=day(4)), ss.Resume("F", at=day(6))],
    )
    result = ss.simulate(s, progress=False)
    assert runs_log(result) == [("F", 1, 2, "first", 2, "completed")]
    assert suppressed_log(result) == []
