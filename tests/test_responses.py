"""Responses, goals and attribution (docs/design.md §10): hand-computed, statistical, invariants."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import segsim as ss
from segsim import attr
from segsim.engine.draws import Draws
from segsim.engine.goals import last_touch
from segsim.engine.responses import Responder
from segsim.scenario import load_scenario, scenario_to_yaml
from tests.engine_helpers import actions_log, day, days, events_log, make_store, reachable

VIP = ss.Segment("VIP", attr("plan") == "pro")


def _store(contacts=(1,), extra=(), events=None):
    rows = [row for c in contacts for row in reachable(c)]
    rows += [(c, 1, "plan", "pro") for c in contacts]
    store = make_store(rows + list(extra))
    if events:
        store.load_events(
            pd.DataFrame(
                [(c, day(d), name, amount) for c, d, name, amount in events],
                columns=["contact_id", "ts", "event", "amount"],
            )
        )
    return store


def _simulate(store, steps, responses=None, goal=None, segments=(VIP,), end=10, **scenario):
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=steps, goal=goal)
    return ss.simulate(
        ss.Scenario(
            store,
            segments=list(segments),
            flows=[flow],
            start=day(0),
            end=day(end),
            seed=3,
            responses=responses,
            **scenario,
        ),
        progress=False,
    )


def responses_log(result):
    return [
        (days(r.time), r.contact_id, r.step_id, r.channel, r.response)
        for r in result.responses.itertuples()
    ]


def conversions_log(result):
    return [
        (days(r.time), r.contact_id, r.step_id, r.channel, r.value, r.source)
        for r in result.conversions.itertuples()
    ]


# -- models ------------------------------------------------------------------------------------


def test_funnel_probabilities_are_in_zero_one():
    for bad in (-0.1, 1.5, math.nan, math.inf):
        with pytest.raises(ValidationError, match=r"in \[0, 1\]"):
            ss.Funnel(clicked=bad)
    assert ss.Funnel().rate("delivered") == 1.0
    assert ss.Funnel().rate("opened") == 0.0


def test_a_channel_refuses_the_funnel_fields_it_does_not_have():
    with pytest.raises(ValidationError, match="sms funnel has no 'opened'"):
        ss.ResponseModel(sms=ss.Funnel(opened=0.5))
    with pytest.raises(ValidationError, match="whatsapp funnel has no 'machine_open'"):
        ss.ResponseModel(whatsapp=ss.Funnel(machine_open=0.5))
    with pytest.raises(ValidationError, match="unknown funnel field 'opened'"):
        ss.ResponseModel(sms=ss.Funnel(), by_template={"t": {"sms": {"opened": 0.1}}})
    with pytest.raises(ValidationError, match="overrides email, which has no funnel"):
        ss.ResponseModel(sms=ss.Funnel(), by_template={"t": {"email": {"clicked": 0.1}}})
    with pytest.raises(ValidationError, match=r"in \[0, 1\]"):
        ss.ResponseModel(email=ss.Funnel(), by_template={"t": {"email": {"clicked": 2.0}}})


def test_template_overrides_replace_only_the_fields_they_name():
    model = ss.ResponseModel(
        email=ss.Funnel(delivered=0.9, opened=0.3, clicked=0.04),
        by_template={"winback": {"email": {"clicked": 0.08}}},
    )
    assert model.funnel("email", "winback") == ss.Funnel(delivered=0.9, opened=0.3, clicked=0.08)
    assert model.funnel("email", "other").clicked == 0.04
    assert model.funnel("sms", "winback") is None


def test_goal_checks_its_fields():
    with pytest.raises(ValidationError, match="positive"):
        ss.Goal(event="purchase", within="0d")
    with pytest.raises(ValidationError, match="conversion rate"):
        ss.Goal(event="purchase", within="1d", conversion_rate=1.2)
    assert ss.Goal(event="purchase", within="1d", value=5).value == 5.0
    assert ss.Goal(event="purchase", within="1d", value="amount").value == "amount"


def test_a_scenario_with_responses_and_a_goal_round_trips_through_yaml_and_has_a_schema(tmp_path):
    store = _store(events=[(1, 2, "purchase", 10.0)])
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[ss.SendEmail("e1", template="hi")],
        goal=ss.Goal(event="purchase", within="5d", value="amount", conversion_rate=0.1),
    )
    model = ss.ResponseModel(
        email=ss.Funnel(delivered=0.98, opened=0.35, clicked=0.04, machine_open=0.25),
        sms=ss.Funnel(delivered=0.97, clicked=0.03, unsubscribed=0.01),
        by_template={"hi": {"email": {"clicked": 0.08}}},
        delays=ss.ResponseDelays(distribution="exponential", opened="2h", clicked="10min"),
    )
    scenario = ss.Scenario(
        store, segments=[VIP], flows=[flow], start=day(0), end=day(10), responses=model
    )
    path = tmp_path / "s.yaml"
    path.write_text(scenario_to_yaml(scenario))
    back = load_scenario(path, data=store)
    assert back.responses == model
    assert back.flows[0].goal == flow.goal
    schema = ss.Scenario.model_json_schema()
    assert {"ResponseModel", "Funnel", "ResponseDelays", "Goal"} <= set(schema["$defs"])


# -- the funnel, hand-computed: rates 0 and 1 ------------------------------------------------


def test_an_undelivered_message_bounces_and_nothing_follows():
    model = ss.ResponseModel(
        email=ss.Funnel(delivered=0, opened=1, clicked=1, unsubscribed=1, machine_open=1)
    )
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model)
    assert responses_log(result) == [(1, 1, "e1", "email", "bounced")]


def test_email_human_open_then_click_and_a_machine_open_apart():
    model = ss.ResponseModel(email=ss.Funnel(delivered=1, opened=1, clicked=1, machine_open=1))
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model)
    assert responses_log(result) == [
        (1, 1, "e1", "email", "delivered"),
        (1, 1, "e1", "email", "opened"),
        (1, 1, "e1", "email", "machine_opened"),
        (1, 1, "e1", "email", "clicked"),
    ]


def test_a_machine_open_is_never_a_human_open_and_never_clicks():
    model = ss.ResponseModel(email=ss.Funnel(delivered=1, opened=0, clicked=1, machine_open=1))
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model)
    assert responses_log(result) == [
        (1, 1, "e1", "email", "delivered"),
        (1, 1, "e1", "email", "machine_opened"),
    ]


def test_sms_clicks_given_delivery_and_whatsapp_is_read_then_clicked():
    model = ss.ResponseModel(
        sms=ss.Funnel(delivered=1, clicked=1), whatsapp=ss.Funnel(opened=1, clicked=0)
    )
    steps = [ss.SendSMS("s1", template="t"), ss.SendWhatsApp("w1", template="u")]
    result = _simulate(_store(), steps, model)
    assert responses_log(result) == [
        (1, 1, "s1", "sms", "delivered"),
        (1, 1, "s1", "sms", "clicked"),
        (1, 1, "w1", "whatsapp", "delivered"),
        (1, 1, "w1", "whatsapp", "opened"),
    ]


def test_fixed_delays_chain_each_response_after_the_one_it_follows():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1, unsubscribed=1, machine_open=1),
        delays=ss.ResponseDelays(
            delivered="6h", opened="12h", machine_open="1h", clicked="6h", unsubscribed="1d"
        ),
    )
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model)
    assert sorted(responses_log(result)) == [
        (1.25, 1, "e1", "email", "delivered"),
        (1.2916666666666667, 1, "e1", "email", "machine_opened"),
        (1.75, 1, "e1", "email", "opened"),  # 12h after delivery
        (2, 1, "e1", "email", "clicked"),  # 6h after the open
        (2.25, 1, "e1", "email", "unsubscribed"),
    ]


def test_responses_at_or_after_the_window_end_are_not_simulated():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1), delays=ss.ResponseDelays(opened="1d")
    )
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model, end=2)
    assert responses_log(result) == [(1, 1, "e1", "email", "delivered")]  # opened at 2 = end


def test_skipped_messages_holdouts_and_operations_have_no_responses():
    model = ss.ResponseModel(email=ss.Funnel(opened=1), sms=ss.Funnel(clicked=1))
    store = _store(contacts=(1, 2), extra=[(2, -20, "sms_subscribed", False)])
    steps = [
        ss.SendSMS("s1", template="t"),
        ss.Webhook("h1", url="https://example.com"),
        ss.AddToList("l1", "x"),
    ]
    result = _simulate(store, steps, model)
    assert responses_log(result) == [
        (1, 1, "s1", "sms", "delivered"),
        (1, 1, "s1", "sms", "clicked"),
    ]
    held = _simulate(
        _store(), [ss.SendEmail("e1", template="t")], model, holdout=ss.Holdout(percent=99.99)
    )
    assert actions_log(held) == [(1, "F", 1, "e1", "skipped", "holdout")]
    assert responses_log(held) == []


# -- unsubscribes feed back ------------------------------------------------------------------------


def test_an_unsubscribe_at_once_skips_the_next_send_at_the_same_instant():
    model = ss.ResponseModel(email=ss.Funnel(unsubscribed=1))
    steps = [ss.SendEmail("e1", template="t"), ss.SendEmail("e2", template="t")]
    result = _simulate(_store(), steps, model)
    assert actions_log(result) == [
        (1, "F", 1, "e1", "sent", None),
        (1, "F", 1, "e2", "skipped", "unsubscribed"),
    ]
    assert responses_log(result) == [
        (1, 1, "e1", "email", "delivered"),
        (1, 1, "e1", "email", "unsubscribed"),
    ]


def test_a_delayed_unsubscribe_changes_consent_when_it_happens_and_segments_follow():
    subscribed = ss.Segment("Subscribed", attr("email_subscribed") == True)
    model = ss.ResponseModel(
        email=ss.Funnel(unsubscribed=1), delays=ss.ResponseDelays(unsubscribed="1d")
    )
    steps = [
        ss.SendEmail("e1", template="t"),
        ss.Wait("w1", "1d"),  # the unsubscribe at day 2 is a state change: before this send
        ss.SendEmail("e2", template="t"),
        ss.SendSMS("s1", template="t"),  # another channel: still consented
    ]
    result = _simulate(_store(), steps, model, segments=(VIP, subscribed))
    assert actions_log(result) == [
        (1, "F", 1, "e1", "sent", None),
        (2, "F", 1, "e2", "skipped", "unsubscribed"),
        (2, "F", 1, "s1", "sent", None),
    ]
    assert [e for e in events_log(result) if e[2] == "Subscribed"] == [
        (2, 1, "Subscribed", "exit", 1, "flow step")
    ]


def test_an_unsubscribe_ends_a_run_whose_exit_condition_reads_consent():
    subscribed = ss.Segment("Subscribed", attr("email_subscribed") == True)
    model = ss.ResponseModel(
        email=ss.Funnel(unsubscribed=1), delays=ss.ResponseDelays(unsubscribed="12h")
    )
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[ss.SendEmail("e1", template="t"), ss.Wait("w1", "2d")],
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Subscribed")]),
    )
    scenario = ss.Scenario(
        _store(),
        segments=[VIP, subscribed],
        flows=[flow],
        start=day(0),
        end=day(10),
        responses=model,
    )
    runs = ss.simulate(scenario, progress=False).runs
    assert [(days(r.ended_at), r.end_reason) for r in runs.itertuples()] == [
        (1.5, "exit_condition")
    ]


# -- responses are events -----------------------------------------------------------------------


def test_a_waitfor_leaves_when_the_contact_clicks():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1), delays=ss.ResponseDelays(clicked="1d")
    )
    steps = [
        ss.SendEmail("e1", template="t"),
        ss.WaitFor(
            "wf",
            until=ss.event("email_clicked").exists(),
            timeout="3d",
            then=[ss.SendSMS("thanks", template="thanks")],
            timed_out=[ss.SendSMS("nudge", template="nudge")],
        ),
    ]
    result = _simulate(_store(), steps, model)
    assert actions_log(result) == [
        (1, "F", 1, "e1", "sent", None),
        (2, "F", 1, "thanks", "sent", None),
    ]
    quiet = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=0))
    assert actions_log(_simulate(_store(), steps, quiet))[-1] == (4, "F", 1, "nudge", "sent", None)


def test_segments_read_response_events_and_age_them_out():
    clicked = ss.Segment("Clicked", ss.event("email_clicked").exists(within="2d"))
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1), delays=ss.ResponseDelays(opened="12h")
    )
    result = _simulate(_store(), [ss.SendEmail("e1", template="t")], model, segments=(VIP, clicked))
    assert [e for e in events_log(result) if e[2] == "Clicked"] == [
        (1.5, 1, "Clicked", "enter", 1, "flow step"),
        (3.5, 1, "Clicked", "exit", 1, "time"),
    ]


def test_a_response_event_name_is_checked_with_a_did_you_mean():
    clicked = ss.Segment("Clicked", ss.event("email_clikced").exists())
    model = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1))
    with pytest.raises(ss.SegsimError, match="did you mean 'email_clicked'"):
        _simulate(_store(), [ss.SendEmail("e1", template="t")], model, segments=(VIP, clicked))


# -- attribution, hand-computed ---------------------------------------------------------------------

TWO_SENDS = [ss.SendEmail("e1", template="t"), ss.Wait("w1", "1d"), ss.SendSMS("s1", template="u")]


@pytest.mark.parametrize(
    ("purchase", "credited"),
    [
        (1, None),  # at the very instant of the first message: not caused by it
        (1.5, ("e1", "email")),
        (2, ("e1", "email")),  # the SMS at day 2 is at the instant: the email is the last touch
        (2.5, ("s1", "sms")),  # the latest message
        (3.999, ("s1", "sms")),
        (4, None),  # exactly p - within = the last message: outside the window
    ],
)
def test_observed_attribution_last_touch_inside_the_open_window(purchase, credited):
    store = _store(events=[(1, purchase, "purchase", 25.0)])
    goal = ss.Goal(event="purchase", within="2d", value="amount")
    result = _simulate(store, TWO_SENDS, goal=goal)
    expected = [] if credited is None else [(purchase, 1, *credited, 25.0, "observed")]
    assert conversions_log(result) == expected


def test_two_messages_at_one_instant_the_one_sent_last_is_credited():
    store = _store(events=[(1, 1.5, "purchase", 5.0), (1, 1.5, "purchase", 7.0)])
    steps = [ss.SendEmail("e1", template="t"), ss.SendSMS("s1", template="u")]
    result = _simulate(store, steps, goal=ss.Goal(event="purchase", within="1d", value="amount"))
    # each occurrence is one conversion, both credited to the later step
    assert conversions_log(result) == [
        (1.5, 1, "s1", "sms", 5.0, "observed"),
        (1.5, 1, "s1", "sms", 7.0, "observed"),
    ]


def test_only_sent_messages_of_the_flow_are_credited():
    store = _store(
        contacts=(1, 2),
        extra=[(2, -20, "email_subscribed", False)],
        events=[(1, 1.5, "purchase", 1.0), (2, 1.5, "purchase", 1.0)],
    )
    goal = ss.Goal(event="purchase", within="1d", value=3)
    result = _simulate(store, [ss.SendEmail("e1", template="t")], goal=goal)
    assert conversions_log(result) == [(1.5, 1, "e1", "email", 3.0, "observed")]


def test_goal_events_after_the_contacts_deletion_are_not_credited():
    store = _store(events=[(1, 1.5, "purchase", 1.0), (1, 2.5, "purchase", 2.0)])
    steps = [ss.SendEmail("e1", template="t"), ss.Wait("w1", "1d"), ss.DeleteContact("d1")]
    result = _simulate(store, steps, goal=ss.Goal(event="purchase", within="3d", value="amount"))
    assert conversions_log(result) == [(1.5, 1, "e1", "email", 1.0, "observed")]


def test_a_deferred_message_responds_from_the_instant_it_goes_out():
    policy = ss.DeliveryPolicy(
        quiet_hours=[ss.QuietHours(start="21:00", end="08:00", channels=["sms"], action="defer")]
    )
    model = ss.ResponseModel(sms=ss.Funnel(clicked=1))
    result = _simulate(_store(), [ss.SendSMS("s1", template="t")], model, policy=policy)
    assert responses_log(result) == [
        (1 + 8 / 24, 1, "s1", "sms", "delivered"),
        (1 + 8 / 24, 1, "s1", "sms", "clicked"),
    ]


def test_a_goal_event_the_data_lacks_is_an_error_unless_conversions_are_simulated():
    store = _store(events=[(1, 2, "purchase", 1.0)])
    with pytest.raises(ss.ScenarioError, match="'purchse' is not in the data; did you mean"):
        _simulate(store, TWO_SENDS, goal=ss.Goal(event="purchse", within="1d"))
    with pytest.raises(ss.ScenarioError, match="goal value 'amout' is no property"):
        _simulate(store, TWO_SENDS, goal=ss.Goal(event="purchase", within="1d", value="amout"))
    simulated_only = ss.Goal(event="signup", within="1d", conversion_rate=1)
    model = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1))
    assert len(_simulate(store, TWO_SENDS, model, goal=simulated_only).conversions) == 1


def test_validate_names_the_goal_problems_by_path():
    from segsim.engine.plan import check_scenario

    store = _store(events=[(1, 2, "purchase", 1.0)])
    flows = [
        ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), goal=ss.Goal(event="purchse", within="1d")),
        ss.Flow(
            "G",
            trigger=ss.SegmentTrigger("VIP"),
            goal=ss.Goal(event="purchase", within="1d", value="amout"),
        ),
    ]
    edited = flows[0].replace(goal=ss.Goal(event="purchase", within="2d"), version=2)
    scenario = ss.Scenario(
        store,
        segments=[VIP],
        flows=flows,
        start=day(0),
        end=day(10),
        schedule=[ss.Edit("F", at=day(3), flow=edited)],
    )
    problems, _ = check_scenario(scenario)
    assert [p.split(":")[0] for p in problems] == [
        "flows[0].goal.event",
        "flows[1].goal.value",
        "schedule[0].flow.goal",
    ]
    assert "did you mean 'purchase'" in problems[0]
    assert "did you mean 'amount'" in problems[1]


def test_simulated_conversions_follow_clicks_and_are_credited_to_the_clicked_message():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1),
        sms=ss.Funnel(clicked=0),
        delays=ss.ResponseDelays(opened="1h", clicked="1h", converted="6h"),
    )
    goal = ss.Goal(event="signup", within="1d", value=40, conversion_rate=1)
    result = _simulate(_store(), TWO_SENDS, model, goal=goal)
    assert conversions_log(result) == [(1 + 8 / 24, 1, "e1", "email", 40.0, "simulated")]
    late = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=1), delays=ss.ResponseDelays(converted="1d")
    )
    assert _simulate(_store(), TWO_SENDS, late, goal=goal).conversions.empty  # at m + within


def test_summary_counts_outcomes_per_flow():
    model = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1, machine_open=1))
    goal = ss.Goal(event="purchase", within="3d", value="amount")
    store = _store(events=[(1, 2, "purchase", 10.0), (1, 2.5, "purchase", 2.5)])
    summary = _simulate(store, [ss.SendEmail("e1", template="t")], model, goal=goal).summary()
    row = summary.iloc[0]
    assert row[["delivered", "bounced", "opened", "machine_opened", "clicked"]].tolist() == [
        1,
        0,
        1,
        1,
        1,
    ]
    assert (row["unsubscribed"], row["converted"], row["revenue"]) == (0, 2, 12.5)
    plain = _simulate(_store(), [ss.SendEmail("e1", template="t")]).summary()
    assert "delivered" not in plain.columns


# -- statistics: fixed seeds, 4 standard errors ---------------------------------------------------


class _Plan:
    def __init__(self, model, goals=None):
        self.responses = model
        self.goals = goals or {}
        self.observed_goals = frozenset()
        self.response_conditions = ()
        self.end = 10**18


class _Logs:
    def __init__(self):
        self.responses, self.conversions = [], []


def _within_4_se(hits, n, p):
    se = math.sqrt(p * (1 - p) / n)
    assert abs(hits / n - p) <= 4 * se, (hits, n, p)


def test_funnel_rates_match_their_probabilities_over_20000_messages():
    model = ss.ResponseModel(
        email=ss.Funnel(delivered=0.9, opened=0.3, clicked=0.2, unsubscribed=0.05, machine_open=0.4)
    )
    goal = ss.Goal(event="signup", within="1d", conversion_rate=0.25)
    responder = Responder(_Plan(model, {"F": goal}), Draws(seed=11))
    logs = _Logs()
    n = 20_000
    for contact in range(n):
        responder.sent(1, "F", "e1", contact, "email", "t", 0, logs)
    kinds = pd.Series([row[-1] for row in logs.responses]).value_counts()
    delivered = int(kinds["delivered"])
    _within_4_se(delivered, n, 0.9)
    assert kinds["delivered"] + kinds["bounced"] == n
    _within_4_se(int(kinds["opened"]), delivered, 0.3)
    _within_4_se(int(kinds["machine_opened"]), delivered, 0.4)
    _within_4_se(int(kinds["unsubscribed"]), delivered, 0.05)
    _within_4_se(int(kinds["clicked"]), int(kinds["opened"]), 0.2)
    _within_4_se(len(logs.conversions), int(kinds["clicked"]), 0.25)
    # a machine open is drawn apart from the human open: independent of it
    by_contact = {}
    for row in logs.responses:
        by_contact.setdefault(row[4], set()).add(row[-1])
    both = sum(1 for r in by_contact.values() if {"opened", "machine_opened"} <= r)
    _within_4_se(both, delivered, 0.3 * 0.4)


def test_exponential_delays_have_their_mean_over_20000_messages():
    model = ss.ResponseModel(
        sms=ss.Funnel(),
        delays=ss.ResponseDelays(distribution="exponential", delivered="1h"),
    )
    responder = Responder(_Plan(model), Draws(seed=5))
    logs = _Logs()
    n = 20_000
    for contact in range(n):
        responder.sent(1, "F", "s1", contact, "sms", None, 0, logs)
    delays = pd.Series([row[0] for row in logs.responses], dtype="float64") / 3.6e9  # hours
    assert abs(delays.mean() - 1.0) <= 4 * 1.0 / math.sqrt(n)  # an exponential's sd = its mean
    assert abs(delays.median() - math.log(2)) < 0.03
    assert (delays >= 0).all()


def test_draws_are_keyed_by_the_message_not_by_order_or_run():
    model = ss.ResponseModel(email=ss.Funnel(opened=0.5, clicked=0.5))
    first, second = _Logs(), _Logs()
    a, b = Responder(_Plan(model), Draws(seed=2)), Responder(_Plan(model), Draws(seed=2))
    contacts = list(range(200))
    for c in contacts:
        a.sent(1, "F", "e1", c, "email", "t", 0, first)
    for c in reversed(contacts):
        b.sent(99, "F", "e1", c, "email", "t", 0, second)  # another order, another run key
    strip = lambda rows: sorted((r[0], r[4], r[-1]) for r in rows)  # noqa: E731
    assert strip(first.responses) == strip(second.responses)
    other = _Logs()
    c_ = Responder(_Plan(model), Draws(seed=2, replication=1))
    for c in contacts:
        c_.sent(1, "F", "e1", c, "email", "t", 0, other)
    assert strip(other.responses) != strip(first.responses)


# -- the last-touch rule against a brute force, on a synthetic purchase log ------------------------


def test_last_touch_matches_a_brute_force_on_random_message_lists():
    rng = random.Random(4)
    for _ in range(500):
        times = sorted(rng.choice(range(0, 30, 3)) for _ in range(rng.randrange(0, 6)))
        messages = [(t, 1, "F", f"s{i}", "email") for i, t in enumerate(times)]
        p, within = rng.randrange(0, 35), rng.choice([1, 3, 6, 10])
        inside = [i for i, t in enumerate(times) if p - within < t < p]
        expected = max(inside, key=lambda i: (times[i], i)) if inside else None
        assert last_touch(messages, times, p, within) == expected


@pytest.fixture(scope="module")
def purchase_log_result():
    rng = random.Random(9)
    contacts = list(range(1, 61))
    extra = [(c, -20, "email_subscribed", False) for c in contacts if c % 7 == 0]
    extra += [(c, 6, "plan", "free") for c in contacts if c % 5 == 0]  # exits the segment
    events = [
        (c, round(rng.uniform(0, 14), 3), "purchase", float(rng.randrange(1, 100)))
        for c in contacts
        for _ in range(rng.randrange(0, 6))
    ]
    store = _store(contacts=contacts, extra=extra, events=events)
    steps = [
        ss.SendEmail("e1", template="t"),
        ss.Wait("w1", "2d"),
        ss.SendSMS("s1", template="u"),
        ss.SendEmail("e2", template="v"),
        ss.Wait("w2", "3d"),
        ss.SendWhatsApp("wa", template="x"),
    ]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=steps,
        goal=ss.Goal(event="purchase", within="2d", value="amount"),
        settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("VIP")]),
    )
    other = ss.Flow("G", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendSMS("g1", template="g")])
    scenario = ss.Scenario(
        store, segments=[VIP], flows=[flow, other], start=day(0), end=day(12), seed=1
    )
    return store, ss.simulate(scenario, progress=False)


def test_observed_attribution_matches_a_brute_force_recomputation(purchase_log_result):
    store, result = purchase_log_result
    sent = result.actions[(result.actions["status"] == "sent") & (result.actions["flow"] == "F")]
    events = store.con.sql(
        'SELECT contact_id, ts, "prop:amount" AS amount FROM segsim_events ORDER BY contact_id, ts, seq'
    ).df()
    start, end, within = day(0), day(12), pd.Timedelta(days=2)
    expected = []
    for e in events.itertuples():
        p = (
            pd.Timestamp(e.ts).tz_convert("UTC")
            if pd.Timestamp(e.ts).tzinfo
            else pd.Timestamp(e.ts, tz="UTC")
        )
        if not start <= p < end:
            continue
        best = None
        for position, m in enumerate(sent.itertuples()):
            inside = m.contact_id == e.contact_id and p - within < m.time < p
            if inside and (best is None or (m.time, position) > best[0]):
                best = ((m.time, position), m)
        if best is not None:
            m = best[1]
            expected.append((p, e.contact_id, m.run_id, m.step_id, m.channel, float(e.amount)))
    got = [
        (r.time, r.contact_id, r.run_id, r.step_id, r.channel, r.value)
        for r in result.conversions.itertuples()
    ]
    assert len(expected) > 20  # the log exercises the rule
    assert sorted(got) == sorted(expected)
    assert set(result.conversions["source"]) == {"observed"}
    assert set(result.conversions["flow"]) == {"F"}


# -- invariants on random funnels ----------------------------------------------------------------

_STORE = None


def _invariant_store():
    global _STORE
    if _STORE is None:
        rng = random.Random(2)
        contacts = list(range(1, 31))
        extra = [(c, rng.uniform(1, 6), "plan", "free") for c in contacts if c % 3 == 0]
        extra += [(c, -20, "sms_subscribed", False) for c in contacts if c % 4 == 0]
        events = [(c, rng.uniform(0, 10), "purchase", 1.0) for c in contacts for _ in range(2)]
        _STORE = _store(contacts=contacts, extra=extra, events=events)
    return _STORE


rate = st.sampled_from([0.0, 0.3, 0.7, 1.0])


cases = st.tuples(
    rate, rate, rate, rate, rate, rate, st.sampled_from(["0s", "3h", "2d"]), st.integers(0, 10)
)


@given(cases)
def test_responses_keep_their_invariants(case):
    check_invariants(*case)


@pytest.mark.slow
@settings(settings.get_profile("long"))
@given(cases)
def test_responses_keep_their_invariants_long(case):
    check_invariants(*case)


def check_invariants(
    delivered, opened, clicked, unsubscribed, machine_open, conversion, delay, seed
):
    """Random funnels, delays and seeds on a fixed population with exits and no-consent
    contacts: every response belongs to a sent message, the funnel's conditioning holds, an
    unsubscribe feeds back, conversions lie inside their window."""
    model = ss.ResponseModel(
        email=ss.Funnel(
            delivered=delivered,
            opened=opened,
            clicked=clicked,
            unsubscribed=unsubscribed,
            machine_open=machine_open,
        ),
        sms=ss.Funnel(delivered=delivered, clicked=clicked, unsubscribed=unsubscribed),
        delays=ss.ResponseDelays(
            distribution="exponential", opened=delay, clicked=delay, unsubscribed=delay
        ),
    )
    goal = ss.Goal(event="purchase", within="2d", conversion_rate=conversion)
    steps = [
        ss.SendEmail("e1", template="t"),
        ss.SendSMS("s1", template="u"),
        ss.Wait("w1", "1d"),
        ss.SendEmail("e2", template="t"),
        ss.SendSMS("s2", template="u"),
    ]
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=steps,
        goal=goal,
        settings=ss.ActivationSettings(allow_reentry=True),
    )
    scenario = ss.Scenario(
        _invariant_store(),
        segments=[VIP],
        flows=[flow],
        start=day(0),
        end=day(8),
        seed=seed,
        responses=model,
    )
    result = ss.simulate(scenario, progress=False)
    sent = result.actions[result.actions["status"] == "sent"]
    sends = {(r.run_id, r.step_id): r for r in sent.itertuples()}
    per_message: dict[tuple, set[str]] = {}
    for r in result.responses.itertuples():
        # every response belongs to a sent message, after it, on its channel
        message = sends[(r.run_id, r.step_id)]
        assert r.time >= message.time and r.channel == message.channel
        assert r.contact_id == message.contact_id and r.template == message.template
        per_message.setdefault((r.run_id, r.step_id), set()).add(r.response)
    for (run_id, step_id), kinds in per_message.items():
        channel = sends[(run_id, step_id)].channel
        assert len(kinds & {"delivered", "bounced"}) == 1
        if "bounced" in kinds:
            assert kinds == {"bounced"}
        if "clicked" in kinds and channel == "email":
            assert "opened" in kinds  # a machine open never clicks
        if channel == "sms":
            assert not kinds & {"opened", "machine_opened"}
    # a skipped message never has responses
    skipped = result.actions[result.actions["status"] == "skipped"]
    assert not set(zip(skipped["run_id"], skipped["step_id"], strict=True)) & set(per_message)
    # every send after a contact's email unsubscribe is skipped on email
    unsubscribed = result.responses[
        (result.responses["response"] == "unsubscribed") & (result.responses["channel"] == "email")
    ]
    first_unsub = unsubscribed.groupby("contact_id")["time"].min().to_dict()
    for r in sent[sent["channel"] == "email"].itertuples():
        assert not (r.contact_id in first_unsub and r.time > first_unsub[r.contact_id])
    # conversions only inside their window, credited to a sent message of the flow
    for c in result.conversions.itertuples():
        message = sends[(c.run_id, c.step_id)]
        assert c.time < message.time + pd.Timedelta(days=2)
        if c.source == "observed":
            assert c.time > message.time
        else:
            assert "clicked" in per_message[(c.run_id, c.step_id)]


def test_responses_are_the_same_sharded_and_over_replications():
    store = _invariant_store()
    model = ss.ResponseModel(
        email=ss.Funnel(opened=0.5, clicked=0.5, unsubscribed=0.2),
        sms=ss.Funnel(clicked=0.4),
        delays=ss.ResponseDelays(distribution="exponential", unsubscribed="6h"),
    )
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.SendEmail("e1", template="t"),
            ss.Wait("w1", "8h"),
            ss.SendEmail("e2", template="t"),
        ],
        goal=ss.Goal(event="purchase", within="2d", value="amount", conversion_rate=0.5),
    )
    scenario = ss.Scenario(
        store, segments=[VIP], flows=[flow], start=day(0), end=day(8), seed=4, responses=model
    )
    one = ss.simulate(scenario, progress=False)
    sharded = ss.simulate(scenario, progress=False, shards=3)
    for name in ("responses", "conversions", "actions"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(sharded, name))
    many = ss.simulate(scenario, progress=False, replications=3)
    assert list(many.responses["replication"].unique()) == [0, 1, 2]
    first = many.replication(0)
    pd.testing.assert_frame_equal(first.responses, one.responses)
    pd.testing.assert_frame_equal(first.conversions, one.conversions)
    summary = many.summary()
    assert {"delivered", "clicked", "converted", "revenue"} <= set(summary["metric"])


def test_streamed_to_parquet_the_outcome_frames_are_the_in_memory_ones(tmp_path):
    model = ss.ResponseModel(email=ss.Funnel(opened=0.6, clicked=0.5, unsubscribed=0.1))
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.SendEmail("e1", template="t"),
            ss.Wait("w1", "1d"),
            ss.SendEmail("e2", template="t"),
        ],
        goal=ss.Goal(event="purchase", within="2d", value="amount", conversion_rate=0.5),
    )
    scenario = ss.Scenario(
        _invariant_store(), segments=[VIP], flows=[flow], start=day(0), end=day(8), responses=model
    )
    memory = ss.simulate(scenario, progress=False)
    streamed = ss.simulate(scenario, progress=False, out=tmp_path / "out")
    assert len(memory.responses) and len(memory.conversions)
    for name in ("responses", "conversions"):
        pd.testing.assert_frame_equal(getattr(streamed, name), getattr(memory, name))


def test_each_replication_draws_the_responses_anew():
    # a contact whose message drew its responses read a draw: the later replications
    # simulate it again rather than reuse the first replication's rows (docs/design.md §9.4)
    store = _store(contacts=range(1, 41))
    model = ss.ResponseModel(email=ss.Funnel(opened=0.5, clicked=0.5))
    scenario = ss.Scenario(
        store,
        segments=[VIP],
        flows=[
            ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendEmail("e1", template="t")])
        ],
        start=day(0),
        end=day(5),
        seed=8,
        responses=model,
    )
    many = ss.simulate(scenario, progress=False, replications=3)
    opened = [
        sorted(many.replication(r).responses.query("response == 'opened'")["contact_id"])
        for r in range(3)
    ]
    assert opened[0] != opened[1] and opened[1] != opened[2]
    pd.testing.assert_frame_equal(
        many.replication(0).responses, ss.simulate(scenario, progress=False).responses
    )


# -- overrides by condition ------------------------------------------------------------------


def test_condition_overrides_rank_first_match_and_templates_apply_on_top():
    gold = ss.attr("tier") == "gold"
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, clicked=0),
        by_condition=[
            (gold, {"email": {"clicked": 1}}),
            ss.ConditionOverride(when=ss.attr("tier").is_set(), channels={"email": {"opened": 0}}),
        ],
        by_template={"plain": {"email": {"clicked": 0}}},
    )
    assert model.funnel("email", "t", 0) == ss.Funnel(opened=1, clicked=1)
    assert model.funnel("email", "plain", 0) == ss.Funnel(opened=1, clicked=0)
    assert model.funnel("email", "t", 1) == ss.Funnel(opened=0, clicked=0)
    # 1 gold (first override: clicks), 2 silver (second: no open), 3 no tier (the base)
    store = _store(contacts=(1, 2, 3), extra=[(1, -5, "tier", "gold"), (2, -5, "tier", "silver")])
    steps = [
        ss.SendEmail("e1", template="t"),
        ss.Wait("w1", "1d"),
        ss.SendEmail("e2", template="plain"),
    ]
    result = _simulate(store, steps, model)
    assert responses_log(result) == [
        (1, 1, "e1", "email", "delivered"),
        (1, 1, "e1", "email", "opened"),
        (1, 1, "e1", "email", "clicked"),
        (1, 2, "e1", "email", "delivered"),
        (1, 3, "e1", "email", "delivered"),
        (1, 3, "e1", "email", "opened"),
        (2, 1, "e2", "email", "delivered"),  # gold, but the template's clicked=0 wins
        (2, 1, "e2", "email", "opened"),
        (2, 2, "e2", "email", "delivered"),
        (2, 3, "e2", "email", "delivered"),
        (2, 3, "e2", "email", "opened"),
    ]


def test_a_condition_override_reads_the_state_at_the_send_instant():
    model = ss.ResponseModel(
        sms=ss.Funnel(clicked=0), by_condition=[(ss.in_list("fans"), {"sms": {"clicked": 1}})]
    )
    rows = [row for row in reachable(1)] + [(1, 1, "plan", "pro")]
    store = make_store(rows, lists=[(1, 1.5, "fans", True)])
    steps = [ss.SendSMS("s1", template="t"), ss.Wait("w1", "1d"), ss.SendSMS("s2", template="t")]
    result = _simulate(store, steps, model)
    # s1 at day 1 (not a fan yet): no click; s2 at day 2 (a fan since 1.5): a click
    assert responses_log(result) == [
        (1, 1, "s1", "sms", "delivered"),
        (2, 1, "s2", "sms", "delivered"),
        (2, 1, "s2", "sms", "clicked"),
    ]
    # an Add to list step changing the state just before the send counts too
    joins = [ss.AddToList("a1", list_name="fans"), ss.SendSMS("s1", template="t")]
    assert responses_log(_simulate(_store(), joins, model))[-1] == (1, 1, "s1", "sms", "clicked")


def test_condition_overrides_are_checked_like_every_condition_and_every_funnel():
    with pytest.raises(ValidationError, match=r"by_condition\[0\]\['sms'\]: unknown funnel field"):
        ss.ResponseModel(
            sms=ss.Funnel(), by_condition=[(ss.attr("a") == 1, {"sms": {"opened": 1}})]
        )
    with pytest.raises(ValidationError, match=r"by_condition\[0\] overrides email"):
        ss.ResponseModel(
            sms=ss.Funnel(), by_condition=[(ss.attr("a") == 1, {"email": {"clicked": 1}})]
        )
    model = ss.ResponseModel(
        email=ss.Funnel(), by_condition=[(ss.attr("tierr") == "gold", {"email": {"clicked": 1}})]
    )
    with pytest.raises(ss.SegsimError, match=r"responses.by_condition\[0\].when"):
        _simulate(
            _store(extra=[(1, -5, "tier", "gold")]), [ss.SendEmail("e1", template="t")], model
        )


def test_a_model_with_condition_overrides_round_trips_through_yaml(tmp_path):
    store = _store(extra=[(1, -5, "tier", "gold")])
    model = ss.ResponseModel(
        email=ss.Funnel(opened=0.5),
        by_condition=[(ss.attr("tier") == "gold", {"email": {"clicked": 0.2}})],
    )
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendEmail("e1", template="t")])
    scenario = ss.Scenario(
        store, segments=[VIP], flows=[flow], start=day(0), end=day(3), responses=model
    )
    path = tmp_path / "s.yaml"
    path.write_text(scenario_to_yaml(scenario))
    assert load_scenario(path, data=store).responses == model
    assert "ConditionOverride" in ss.Scenario.model_json_schema()["$defs"]


def test_a_queued_messages_unsubscribe_happens_when_it_goes_out():
    # a rate limit sends contact 2's email an hour later; its unsubscribe (at once) is a state
    # change of that later instant, so the flow it triggers starts then, not before
    subscribed = ss.Segment("Sub", attr("email_subscribed") == True)
    flows = [
        ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendEmail("e1", template="t")]),
        ss.Flow(
            "G",
            trigger=ss.SegmentTrigger("Sub", on="exit"),
            steps=[ss.SendSMS("s1", template="x")],
        ),
    ]
    policy = ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="email", per="1h", limit=1)])
    result = ss.simulate(
        ss.Scenario(
            _store(contacts=(1, 2)),
            segments=[VIP, subscribed],
            flows=flows,
            start=day(0),
            end=day(5),
            policy=policy,
            responses=ss.ResponseModel(email=ss.Funnel(unsubscribed=1)),
        ),
        progress=False,
    )
    later = 1 + 1 / 24
    assert actions_log(result) == [
        (1, "F", 1, "e1", "sent", None),
        (1, "G", 1, "s1", "sent", None),
        (later, "F", 2, "e1", "sent", None),
        (later, "G", 2, "s1", "sent", None),
    ]
