"""EventTrigger (docs/design.md §1.1, §4.3), hand-computed: ``assert log == [...]``.

Days are numbers: ``day(2)`` is 2026-01-03 00:00 UTC; the window is days [0, 30). Contact 1
is reachable; its ``purchase`` events are loaded per test.
"""

from __future__ import annotations

import pandas as pd
import pytest

import segsim as ss
from segsim import attr, prop
from segsim.engine.plan import check_scenario
from tests.engine_helpers import (
    actions_log,
    day,
    make_store,
    reachable,
    runs_log,
    scenario,
    suppressed_log,
)

PRO = ss.Segment("Pro", attr("plan") == "pro")


def store_with(events, rows=()):
    """A store with contact 1 (and 2) reachable, and ``(contact, day, event, amount)`` rows."""
    store = make_store([*reachable(1), *reachable(2), (1, -10, "plan", "free"), *rows])
    frame = pd.DataFrame(
        [(c, day(d), name, amount) for c, d, name, amount in events],
        columns=["contact_id", "ts", "event", "amount"],
    )
    store.load_events(frame, properties={"amount": "number"})
    return store


def buyer(**settings):
    return ss.Flow(
        "Thanks",
        trigger=ss.EventTrigger("purchase", filters=settings.pop("filters", None)),
        steps=[ss.SendEmail("e1", template="thanks"), ss.Wait("w1", "1d")],
        settings=ss.ActivationSettings(**settings),
    )


def run(store, flows, **kwargs):
    return ss.simulate(scenario(store, [PRO], flows, **kwargs), progress=False)


def test_each_occurrence_in_the_window_is_a_trigger_event():
    store = store_with([(1, 2, "purchase", 10), (1, 5, "purchase", 20), (1, 7, "page_view", 0)])
    result = run(store, [buyer(allow_reentry=True)])
    assert runs_log(result) == [
        ("Thanks", 1, 2, "first", 3, "completed"),
        ("Thanks", 1, 5, "reentry", 6, "completed"),
    ]
    assert actions_log(result) == [
        (2, "Thanks", 1, "e1", "sent", None),
        (5, "Thanks", 1, "e1", "sent", None),
    ]
    assert suppressed_log(result) == []


def test_occurrences_outside_the_window_trigger_nothing_and_the_start_is_inside():
    store = store_with([(1, -1, "purchase", 1), (1, 0, "purchase", 1), (1, 30, "purchase", 1)])
    result = run(store, [buyer(allow_reentry=True)])
    assert runs_log(result) == [("Thanks", 1, 0, "first", 1, "completed")]


def test_an_occurrence_during_a_run_is_suppressed_already_in_flow():
    store = store_with([(1, 2, "purchase", 10), (1, 2.5, "purchase", 10)])
    result = run(store, [buyer(allow_reentry=True)])
    assert runs_log(result) == [("Thanks", 1, 2, "first", 3, "completed")]
    assert suppressed_log(result) == [(2.5, "Thanks", 1, "already_in_flow")]


def test_two_occurrences_at_one_instant_are_two_trigger_events():
    store = store_with([(1, 2, "purchase", 10), (1, 2, "purchase", 10)])
    result = run(store, [buyer(allow_reentry=True)])
    assert runs_log(result) == [("Thanks", 1, 2, "first", 3, "completed")]
    assert suppressed_log(result) == [(2, "Thanks", 1, "already_in_flow")]


def test_without_reentry_a_later_occurrence_is_suppressed_no_reentry():
    store = store_with([(1, 2, "purchase", 10), (1, 9, "purchase", 10)])
    result = run(store, [buyer()])
    assert runs_log(result) == [("Thanks", 1, 2, "first", 3, "completed")]
    assert suppressed_log(result) == [(9, "Thanks", 1, "no_reentry")]


def test_reentry_wait_counts_from_the_end_of_the_last_run():
    # the run ends at day 3; with a 2d wait, day 4.5 is too early and day 5 (exactly 3 + 2d) enters
    store = store_with([(1, 2, "purchase", 1), (1, 4.5, "purchase", 1), (1, 5, "purchase", 1)])
    result = run(store, [buyer(allow_reentry=True, reentry_wait="2d")])
    assert runs_log(result) == [
        ("Thanks", 1, 2, "first", 3, "completed"),
        ("Thanks", 1, 5, "reentry", 6, "completed"),
    ]
    assert suppressed_log(result) == [(4.5, "Thanks", 1, "reentry_wait")]


def test_recheck_mode_enters_nobody_at_the_end_of_the_reentry_wait():
    # an event is an instant, not a state: there is nothing to recheck at day 3 + 2d
    store = store_with([(1, 2, "purchase", 1)])
    result = run(store, [buyer(allow_reentry=True, reentry_wait="2d", reentry_mode="recheck")])
    assert runs_log(result) == [("Thanks", 1, 2, "first", 3, "completed")]


def test_filters_read_the_state_after_the_changes_of_the_same_instant():
    # plan becomes pro at day 2, the instant of the first purchase: the filter passes then;
    # at day 9 the plan is free again and the purchase is suppressed by the filters
    rows = [(1, 2, "plan", "pro"), (1, 8, "plan", "free")]
    store = store_with([(1, 2, "purchase", 1), (1, 9, "purchase", 1)], rows)
    flow = buyer(allow_reentry=True, filters=attr("plan") == "pro")
    result = run(store, [flow])
    assert runs_log(result) == [("Thanks", 1, 2, "first", 3, "completed")]
    assert suppressed_log(result) == [(9, "Thanks", 1, "filters")]


def test_lifecycle_suppressions_apply_to_event_triggers():
    store = store_with([(1, 2, "purchase", 1), (1, 6, "purchase", 1), (1, 12, "purchase", 1)])
    schedule = [
        ss.Activate("Thanks", at=day(5)),
        ss.Pause("Thanks", at=day(10)),
    ]
    result = run(store, [buyer(allow_reentry=True)], schedule=schedule)
    assert runs_log(result) == [("Thanks", 1, 6, "first", 7, "completed")]
    assert suppressed_log(result) == [
        (2, "Thanks", 1, "flow_inactive"),
        (12, "Thanks", 1, "flow_paused"),
    ]


def test_a_deleted_contacts_later_occurrences_trigger_nothing():
    deleter = ss.Flow("Delete", trigger=ss.SegmentTrigger("Pro"), steps=[ss.DeleteContact("d")])
    store = store_with([(1, 4, "purchase", 1)], [(1, 2, "plan", "pro")])
    result = run(store, [buyer(), deleter])
    assert runs_log(result) == [("Delete", 1, 2, "first", 2, "contact_deleted")]
    assert suppressed_log(result) == []


def test_a_contact_with_only_events_can_enter():
    store = store_with([(7, 3, "purchase", 1)])
    flow = ss.Flow(
        "Thanks", trigger=ss.EventTrigger("purchase"), steps=[ss.Webhook("h", url="https://x.io")]
    )
    result = run(store, [flow])
    assert runs_log(result) == [("Thanks", 7, 3, "first", 3, "completed")]


def test_an_exit_condition_ends_an_event_triggered_run():
    store = store_with([(1, 2, "purchase", 1)], [(1, 1, "plan", "pro"), (1, 2.5, "plan", "free")])
    flow = ss.Flow(
        "Thanks",
        trigger=ss.EventTrigger("purchase"),
        steps=[ss.Wait("w", "3d"), ss.SendEmail("e", template="t")],
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Pro")]),
    )
    assert runs_log(run(store, [flow])) == [("Thanks", 1, 2, "first", 2.5, "exit_condition")]


def test_sharded_runs_give_identical_frames():
    events = [(c, d, "purchase", 1) for c in (1, 2) for d in (1, 3.5, 8)]
    s = scenario(store_with(events), [PRO], [buyer(allow_reentry=True, reentry_wait="1d")])
    one = ss.simulate(s, progress=False)
    three = ss.simulate(s, progress=False, shards=3)
    assert len(one.runs) == 6
    for name, frame in one.frames.items():
        assert frame.equals(three.frames[name]), name


def test_an_unknown_event_name_is_a_scenario_error_with_a_suggestion():
    store = store_with([(1, 2, "purchase", 1)])
    flow = ss.Flow("Thanks", trigger=ss.EventTrigger("purchse"), steps=[ss.Wait("w", "1d")])
    s = scenario(store, [PRO], [flow])
    with pytest.raises(ss.ScenarioError, match=r"event 'purchse'.*did you mean 'purchase'\?"):
        ss.simulate(s, progress=False)
    problems, _ = check_scenario(s)
    assert len(problems) == 1 and problems[0].startswith("flows[0].trigger.event: flow 'Thanks'")


def test_event_trigger_round_trips_and_a_segment_trigger_dump_is_unchanged():
    flow = buyer(filters=attr("plan") == "pro")
    assert ss.Flow.model_validate(flow.model_dump()) == flow
    assert ss.Flow.model_validate_json(flow.model_dump_json()) == flow
    assert flow.model_dump()["trigger"]["kind"] == "event"
    segment_flow = ss.Flow("F", trigger=ss.SegmentTrigger("Pro"))
    assert "kind" not in segment_flow.model_dump()["trigger"]
    assert repr(flow) == "Flow('Thanks', v1, trigger=event 'purchase', 2 steps)"
    assert flow.segments_used() == set()


# -- where: a property condition on the occurrence ----------------------------------------------


def test_an_occurrence_failing_where_is_no_trigger_event_and_is_not_suppressed():
    # amounts 80 (enters), 20 (fails where), none (no amount: fails where), 60 during the run
    store = store_with(
        [
            (1, 2, "purchase", 80),
            (1, 4, "purchase", 20),
            (1, 5, "purchase", None),
            (1, 6, "purchase", 60),
            (1, 6.5, "purchase", 10),
        ]
    )
    flow = ss.Flow(
        "Big",
        trigger=ss.EventTrigger("purchase", where=prop("amount") >= 50),
        steps=[ss.Wait("w", "5d")],
        settings=ss.ActivationSettings(allow_reentry=True),
    )
    result = run(store, [flow])
    assert runs_log(result) == [("Big", 1, 2, "first", 7, "completed")]
    assert suppressed_log(result) == [(6, "Big", 1, "already_in_flow")]


def test_flows_on_one_event_with_different_where_each_read_their_own_occurrences():
    store = store_with([(1, 2, "purchase", 80), (1, 4, "purchase", 20)])

    def flow(name, where):
        return ss.Flow(name, trigger=ss.EventTrigger("purchase", where=where), steps=[])

    result = run(
        store,
        [
            flow("Big", prop("amount") >= 50),
            flow("Small", prop("amount") < 50),
            flow("Any", None),
            flow("Either", (prop("amount") > 70) | (prop("amount") == 20)),
        ],
    )
    assert sorted((r.flow, r.entered_at) for r in result.runs.itertuples()) == [
        ("Any", day(2)),
        ("Big", day(2)),
        ("Either", day(2)),
        ("Small", day(4)),
    ]
    assert sorted(suppressed_log(result)) == [
        (4, "Any", 1, "no_reentry"),
        (4, "Either", 1, "no_reentry"),
    ]


def test_a_where_on_a_string_property_selects_its_occurrences():
    store = store_with([])
    store.load_events(
        pd.DataFrame(
            {
                "contact_id": [1, 1],
                "ts": [day(2), day(3)],
                "event": ["purchase", "purchase"],
                "category": ["rock", "jazz"],
            }
        )
    )
    flow = ss.Flow(
        "Jazz", trigger=ss.EventTrigger("purchase", where=prop("category") == "jazz"), steps=[]
    )
    assert runs_log(run(store, [flow])) == [("Jazz", 1, 3, "first", 3, "completed")]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (prop("amont") >= 50, r"unknown property 'amont'.*did you mean 'amount'\?"),
        (prop("amount") == "big", r"amount"),
    ],
)
def test_a_where_that_does_not_fit_the_stored_properties_is_a_scenario_error(where, message):
    store = store_with([(1, 2, "purchase", 80)])
    flow = ss.Flow("Big", trigger=ss.EventTrigger("purchase", where=where), steps=[])
    s = scenario(store, [PRO], [flow])
    with pytest.raises(ss.ScenarioError, match=r"flow 'Big' trigger \(event 'purchase' where"):
        ss.simulate(s, progress=False)
    with pytest.raises(ss.ScenarioError, match=message):
        ss.simulate(s, progress=False)
    problems, _ = check_scenario(s)
    assert len(problems) == 1 and problems[0].startswith("flows[0].trigger.where: flow 'Big'")


def test_the_explorer_simulates_variants_in_full_while_a_flow_is_event_triggered():
    from segsim.incremental import IncrementalSimulation
    from tests.test_widgets import assert_same_frames

    # contact 3 never enters Pro (the explored flow's trigger) but buys: it must not be kept
    # from the first run and simulated again
    rows = [(1, 2, "plan", "pro"), (2, -10, "plan", "free"), (2, 3, "plan", "pro")]
    rows += [(3, -10, "plan", "free")]
    events = [(1, 2, "purchase", 1), (2, 5, "purchase", 1), (1, 9, "purchase", 1)]
    store = store_with([*events, (3, 4, "purchase", 1)], rows)
    welcome = ss.Flow(
        "Welcome", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendEmail("w", template="hi")]
    )
    s = scenario(store, [PRO], [welcome, buyer(allow_reentry=True)])
    simulation = IncrementalSimulation(s, "Welcome")
    assert_same_frames(simulation.baseline, ss.simulate(s, progress=False))
    for flow_name in ("Welcome", "Thanks"):
        variant = s.with_settings(flow_name, allow_reentry=False)
        assert_same_frames(simulation.simulate(variant), ss.simulate(variant, progress=False))
        assert simulation.last_contacts is None


def test_filters_on_events_count_the_triggering_occurrence_itself():
    # the occurrence is part of its instant's state change, which precedes the trigger: the
    # second purchase passes count() >= 2 at its own instant
    store = store_with([(1, 2, "purchase", 1), (1, 4, "purchase", 1), (1, 6, "purchase", 1)])
    flow = buyer(allow_reentry=True, filters=ss.event("purchase").count() >= 2)
    result = run(store, [flow])
    assert runs_log(result) == [
        ("Thanks", 1, 4, "first", 5, "completed"),
        ("Thanks", 1, 6, "reentry", 7, "completed"),
    ]
    assert suppressed_log(result) == [(2, "Thanks", 1, "filters")]


def test_an_event_triggered_flow_that_changes_the_contact_takes_it_live():
    # the update makes tier gold at day 2 (the branch reads it); plan's change at day 5 still
    # applies on top: the contact enters Pro then (prefetched histories, then the live path)
    store = store_with([(1, 2, "purchase", 1)], [(1, -10, "tier", "none"), (1, 5, "plan", "pro")])
    flow = ss.Flow(
        "Thanks",
        trigger=ss.EventTrigger("purchase"),
        steps=[
            ss.UpdateContact("u", set={"tier": "gold"}),
            ss.Branch("b", when=attr("tier") == "gold", then=[ss.SendEmail("e", template="t")]),
        ],
    )
    result = run(store, [flow])
    assert [(r.step_id, r.outcome) for r in result.steps.itertuples()] == [
        ("u", "applied"),
        ("b", "then"),
        ("e", "sent"),
    ]
    assert [(r.segment, r.event, r.cause) for r in result.segment_events.itertuples()] == [
        ("Pro", "enter", "history")
    ]
