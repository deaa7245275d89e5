"""``Flow(exit_on_goal=True)`` (docs/design.md §10.3): hand-computed, validation, invariants."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

import segsim as ss
from segsim import attr
from segsim.scenario import load_scenario, scenario_to_yaml
from tests.engine_helpers import actions_log, day, days, make_store, reachable, runs_log

VIP = ss.Segment("VIP", attr("plan") == "pro")
GOAL = ss.Goal(event="purchase", within="5d", value="amount")
STEPS = [ss.SendEmail("e1", template="t"), ss.Wait("w1", "2d"), ss.SendSMS("s1", template="u")]


def _store(contacts=(1,), extra=(), events=()):
    rows = [row for c in contacts for row in reachable(c)]
    rows += [(c, 1, "plan", "pro") for c in contacts]
    store = make_store(rows + list(extra))
    frame = pd.DataFrame(
        [(c, day(d), name, amount) for c, d, name, amount in events]
        or [(1, day(-40), "visit", 0.0)],
        columns=["contact_id", "ts", "event", "amount"],
    )
    store.load_events(frame)
    return store


def _scenario(store, steps=STEPS, goal=GOAL, exit_on_goal=True, end=10, **scenario):
    flow_options = {
        k: scenario.pop(k) for k in ("trigger", "settings", "exit_conditions") if k in scenario
    }
    settings = flow_options.pop("settings", ss.ActivationSettings())
    if "exit_conditions" in flow_options:
        settings = settings.replace(exit_conditions=flow_options.pop("exit_conditions"))
    flow = ss.Flow(
        "F",
        trigger=flow_options.pop("trigger", ss.SegmentTrigger("VIP")),
        steps=steps,
        goal=goal,
        exit_on_goal=exit_on_goal,
        settings=settings,
    )
    return ss.Scenario(
        store, segments=[VIP], flows=[flow], start=day(0), end=day(end), seed=5, **scenario
    )


def _simulate(*args, **kwargs):
    return ss.simulate(_scenario(*args, **kwargs), progress=False)


def steps_log(result):
    return [(days(r.time), r.step_id, r.outcome) for r in result.steps.itertuples()]


def conversions_log(result):
    return [
        (days(r.time), r.contact_id, r.step_id, r.source) for r in result.conversions.itertuples()
    ]


# -- observed goal events ----------------------------------------------------------------------


def test_a_goal_event_in_the_data_ends_the_run_at_its_instant():
    result = _simulate(_store(events=[(1, 2, "purchase", 9.0)]))
    assert runs_log(result) == [("F", 1, 1, "first", 2, "goal")]
    assert steps_log(result) == [(1, "e1", "sent"), (1, "w1", "waiting")]
    assert conversions_log(result) == [(2, 1, "e1", "observed")]
    # the same data without exit_on_goal: the run goes on and sends its SMS
    kept = _simulate(_store(events=[(1, 2, "purchase", 9.0)]), exit_on_goal=False)
    assert runs_log(kept) == [("F", 1, 1, "first", 3, "completed")]
    assert actions_log(kept)[-1] == (3, "F", 1, "s1", "sent", None)


def test_a_goal_event_at_the_entry_instant_does_not_end_the_run():
    # the data's occurrence at day 1 is a state change of that instant: it comes before the
    # trigger that enters the run (docs/design.md §4.2), so it is not an occurrence *in* the run
    result = _simulate(_store(events=[(1, 1, "purchase", 9.0), (1, 2.5, "purchase", 4.0)]))
    assert runs_log(result) == [("F", 1, 1, "first", 2.5, "goal")]
    assert conversions_log(result) == [(2.5, 1, "e1", "observed")]


def test_a_goal_event_ends_the_run_whether_or_not_a_message_is_credited():
    # the contact has no email address: e1 is skipped, nothing is credited, the run still ends
    store = _store(
        extra=[(1, -10, "email", None)],
        events=[(1, 2, "purchase", 9.0)],
    )
    result = _simulate(store)
    assert runs_log(result) == [("F", 1, 1, "first", 2, "goal")]
    assert actions_log(result) == [(1, "F", 1, "e1", "skipped", "no_email")]
    assert result.conversions.empty


def test_the_goal_exit_wins_over_an_exit_condition_at_the_same_instant():
    store = _store(extra=[(1, 2, "plan", "free")], events=[(1, 2, "purchase", 9.0)])
    result = _simulate(store, exit_conditions=[ss.ExitsSegment("VIP")])
    assert runs_log(result) == [("F", 1, 1, "first", 2, "goal")]
    without = _simulate(store, exit_on_goal=False, exit_conditions=[ss.ExitsSegment("VIP")])
    assert runs_log(without) == [("F", 1, 1, "first", 2, "exit_condition")]


def test_an_event_triggered_flow_runs_from_one_purchase_to_the_next():
    store = _store(events=[(1, 1, "purchase", 9.0), (1, 2, "purchase", 4.0)])
    steps = [ss.Wait("w0", "1h"), ss.SendEmail("e1", template="t"), ss.Wait("w1", "3d")]
    result = _simulate(store, steps=steps, trigger=ss.EventTrigger("purchase"))
    # the purchase at day 1 enters (it does not end the run it starts); the one at day 2
    # ends it, and is a trigger event too: without allow_reentry it is suppressed
    assert runs_log(result) == [("F", 1, 1, "first", 2, "goal")]
    assert [(days(r.time), r.reason) for r in result.suppressed.itertuples()] == [(2, "no_reentry")]
    again = _simulate(
        store,
        steps=steps,
        trigger=ss.EventTrigger("purchase"),
        settings=ss.ActivationSettings(allow_reentry=True),
    )
    # exits come before triggers at one instant: the run ends, then the purchase re-enters
    assert runs_log(again) == [
        ("F", 1, 1, "first", 2, "goal"),
        ("F", 1, 2, "reentry", 5 + 1 / 24, "completed"),
    ]


def test_holdout_contacts_exit_on_their_goal_too():
    store = _store(contacts=range(1, 21), events=[(c, 2, "purchase", 1.0) for c in range(1, 21)])
    result = _simulate(store, holdout=ss.Holdout(percent=50))
    held = set(result.actions.query("reason == 'holdout'")["contact_id"])
    assert 0 < len(held) < 20
    assert runs_log(result) == [("F", c, 1, "first", 2, "goal") for c in range(1, 21)]
    # only treated contacts' purchases are credited: the held-out got no message
    assert sorted(result.conversions["contact_id"]) == sorted(set(range(1, 21)) - held)


def test_goal_events_after_the_contacts_deletion_end_nothing():
    store = _store(events=[(1, 2, "purchase", 9.0)])
    steps = [ss.Wait("w0", "12h"), ss.DeleteContact("d1"), ss.Wait("w1", "2d")]
    result = _simulate(store, steps=steps)
    assert runs_log(result) == [("F", 1, 1, "first", 1.5, "contact_deleted")]


# -- simulated conversions ---------------------------------------------------------------------


CLICKS = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1), sms=ss.Funnel(clicked=1))
SIMULATED = ss.Goal(event="signup", within="2d", value=30, conversion_rate=1)


def test_a_simulated_conversion_at_the_send_instant_ends_the_run_before_its_next_step():
    steps = [ss.SendEmail("e1", template="t"), ss.SendSMS("s1", template="u")]
    result = _simulate(_store(), steps=steps, goal=SIMULATED, responses=CLICKS)
    assert runs_log(result) == [("F", 1, 1, "first", 1, "goal")]
    assert steps_log(result) == [(1, "e1", "sent")]
    assert conversions_log(result) == [(1, 1, "e1", "simulated")]
    kept = _simulate(_store(), steps=steps, goal=SIMULATED, responses=CLICKS, exit_on_goal=False)
    assert steps_log(kept) == [(1, "e1", "sent"), (1, "s1", "sent")]
    assert conversions_log(kept) == [(1, 1, "e1", "simulated"), (1, 1, "s1", "simulated")]


def test_a_delayed_simulated_conversion_ends_the_run_when_it_happens():
    model = CLICKS.replace(delays=ss.ResponseDelays(opened="2h", clicked="1h", converted="3h"))
    result = _simulate(_store(), goal=SIMULATED, responses=model)
    assert runs_log(result) == [("F", 1, 1, "first", 1.25, "goal")]
    assert steps_log(result) == [(1, "e1", "sent"), (1, "w1", "waiting")]
    assert conversions_log(result) == [(1.25, 1, "e1", "simulated")]


def test_a_goal_with_an_event_the_data_lacks_exits_on_simulated_conversions_only():
    store = _store(events=[(1, 2, "purchase", 9.0)])
    none = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=0), sms=ss.Funnel(clicked=0))
    result = _simulate(store, goal=SIMULATED, responses=none)
    assert runs_log(result) == [("F", 1, 1, "first", 3, "completed")]


# -- validation, files -------------------------------------------------------------------------


def test_exit_on_goal_without_a_goal_is_an_error_naming_the_flow():
    with pytest.raises(ValidationError, match="flow 'F': exit_on_goal=True needs a goal"):
        ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), exit_on_goal=True)
    assert ss.Flow("F", exit_on_goal=False).exit_on_goal is False


def test_exit_on_goal_round_trips_through_yaml_has_a_schema_and_is_validated(tmp_path):
    store = _store(events=[(1, 2, "purchase", 9.0)])
    scenario = _scenario(store)
    path = tmp_path / "s.yaml"
    text = scenario_to_yaml(scenario)
    assert "exit_on_goal: true" in text
    path.write_text(text)
    assert load_scenario(path, data=store).flows[0].exit_on_goal is True
    flow_schema = ss.Scenario.model_json_schema()["$defs"]["Flow"]["properties"]
    assert flow_schema["exit_on_goal"]["type"] == "boolean"
    path.write_text(_without_goal(text))
    with pytest.raises(ss.SegsimError, match="exit_on_goal=True needs a goal"):
        load_scenario(path, data=store)


def _without_goal(text):
    """A scenario file's text with its flow's goal taken out (``exit_on_goal`` kept)."""
    lines = text.splitlines(keepends=True)
    start = lines.index("  goal:\n")
    end = start + 1
    while lines[end].startswith("    "):
        end += 1
    return "".join(lines[:start] + lines[end:])


def test_validate_refuses_exit_on_goal_without_a_goal_from_the_command_line(tmp_path, capsys):
    from segsim.cli import main

    store = _store(events=[(1, 2, "purchase", 9.0)])
    text = _without_goal(scenario_to_yaml(_scenario(store)))
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("data: null", "data: {kind: demo, contacts: 20}", 1))
    assert main(["validate", str(path)]) != 0
    captured = capsys.readouterr()
    assert "flow 'F': exit_on_goal=True needs a goal" in captured.out + captured.err


def test_an_edit_changing_exit_on_goal_is_a_problem_by_path():
    from segsim.engine.plan import check_scenario

    store = _store(events=[(1, 2, "purchase", 9.0)])
    scenario = _scenario(store)
    edited = scenario.flows[0].replace(exit_on_goal=False, version=2)
    problems, _ = check_scenario(scenario.replace(schedule=[ss.Edit("F", at=day(3), flow=edited)]))
    assert [p.split(":")[0] for p in problems] == ["schedule[0].flow.exit_on_goal"]


# -- invariants ----------------------------------------------------------------------------------


def _many():
    contacts = range(1, 41)
    events = [(c, 1 + (c % 7) * 0.4, "purchase", float(c)) for c in contacts if c % 3]
    return _store(contacts=contacts, events=events)


def test_runs_end_once_and_nothing_follows_a_goal_exit_sharded_or_replicated():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=0.5, clicked=0.5),
        sms=ss.Funnel(clicked=0.3),
        delays=ss.ResponseDelays(distribution="exponential", clicked="6h", converted="6h"),
    )
    goal = GOAL.replace(conversion_rate=0.5)
    scenario = _scenario(_many(), goal=goal, responses=model, settings=ss.ActivationSettings())
    one = ss.simulate(scenario, progress=False)
    runs = one.runs
    assert runs["run_id"].is_unique and runs["end_reason"].notna().all()
    assert (runs["end_reason"] == "goal").sum() > 5
    ends = runs.set_index("run_id")["ended_at"]
    assert (one.steps["time"] <= one.steps["run_id"].map(ends)).all()
    goal_runs = runs[runs["end_reason"] == "goal"]
    # every goal exit is at a goal occurrence of the contact: a purchase or a conversion
    purchases = {(c, day(1 + (c % 7) * 0.4)) for c in range(1, 41) if c % 3}
    simulated = set(zip(one.conversions["contact_id"], one.conversions["time"], strict=True))
    for run in goal_runs.itertuples():
        assert (run.contact_id, run.ended_at) in purchases | simulated
    sharded = ss.simulate(scenario, progress=False, shards=3)
    first = ss.simulate(scenario, progress=False, replications=2).replication(0)
    for name in ("runs", "steps", "actions", "responses", "conversions"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(sharded, name))
        pd.testing.assert_frame_equal(getattr(one, name), getattr(first, name))
