"""The compiled plan (segsim.engine.plan): compile rules, compiled steps, lifecycle, checks."""

from __future__ import annotations

import pytest

import segsim as ss
from segsim import attr, in_list
from segsim._internal.vocab import STEP_KINDS
from segsim.engine.compiled import STEP_RULES, ActionStep, BranchStep, ChannelRule, WaitStep
from segsim.engine.core import Simulation
from segsim.engine.delivery import Delivery
from segsim.engine.plan import LifecycleStep, build_plan, check_scenario
from tests.engine_helpers import day, make_store, reachable, scenario

PRO = ss.Segment("Pro", attr("plan") == "pro")


def store():
    return make_store([*reachable(1), (1, -10, "plan", "free"), (1, 2, "plan", "pro")])


def test_every_step_kind_has_a_compile_rule_and_a_handler():
    assert set(STEP_RULES) == set(STEP_KINDS)
    s = scenario(store(), [PRO], [])
    assert set(Simulation(build_plan(s), s.store)._handlers) == set(STEP_KINDS)


def test_steps_compile_to_records_that_know_their_next_step():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="a"),
            ss.Branch(
                "b1",
                when=in_list("news"),
                then=[ss.Wait("w1", "1d"), ss.AddToList("l1", "news")],
            ),
            ss.Webhook("h1", url="https://example.test/"),
        ],
    )
    cf = build_plan(scenario(store(), [PRO], [flow])).flows["F"]
    assert cf.first == "e1"
    assert cf.steps["e1"] == ActionStep("e1", "send_email", "b1", "email", "a", None, ())
    branch = cf.steps["b1"]
    assert isinstance(branch, BranchStep)
    assert (branch.next, branch.then_first, branch.otherwise_first) == ("h1", "w1", "h1")
    assert cf.steps["w1"] == WaitStep("w1", "wait", "l1", 86_400_000_000)
    assert cf.steps["l1"] == ActionStep(
        "l1", "add_to_list", "h1", "", None, "news", ((True, "news", True),)
    )
    assert cf.steps["h1"].next is None
    assert cf.trigger_condition == 0 and cf.rank == 0


def test_a_draft_flow_has_no_trigger_condition():
    draft = ss.Flow("Draft", steps=[ss.SendEmail("e", template="t")])
    s = scenario(store(), [PRO], [draft], schedule=[])
    with pytest.raises(ss.FlowNotReady):
        build_plan(s)
    later = scenario(
        store(),
        [PRO],
        [draft],
        schedule=[
            ss.Edit("Draft", at=day(3), flow=draft.replace(trigger=ss.SegmentTrigger("Pro"))),
            ss.Activate("Draft", at=day(4)),
        ],
    )
    plan = build_plan(later)
    assert plan.flows["Draft"].trigger_condition is None
    assert plan.initial_states == {"Draft": "draft"}
    assert [(step.order, step.event.kind, step.flow_name) for step in plan.lifecycle] == [
        (0, "edit", "Draft"),
        (1, "activate", "Draft"),
    ]
    edit = plan.lifecycle[0]
    assert isinstance(edit, LifecycleStep) and edit.version is plan.versions[("Draft", 2)]
    assert edit.version.trigger_condition == 0


def test_an_edit_removing_the_trigger_of_a_paused_flow_is_not_ready():
    # a resume would make it active without a trigger
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendEmail("e", template="t")])
    s = scenario(
        store(),
        [PRO],
        [flow],
        schedule=[
            ss.Pause("F", at=day(2)),
            ss.Edit("F", at=day(3), flow=flow.replace(trigger=None)),
            ss.Resume("F", at=day(4)),
        ],
    )
    with pytest.raises(ss.FlowNotReady, match="removes its trigger while it is paused"):
        build_plan(s)


def test_delivery_decides_address_then_consent():
    rules = {"email": ChannelRule("email", address=0, consent=1, cost=0.25)}
    delivery = Delivery(rules)
    send = ActionStep("e", "send_email", None, "email", "t", None, ())
    # the contact's tracked conditions as the engine holds them: bit i set, condition i holds
    assert delivery.decide(None, send, 0b11, 0) == ("sent", None, 0.25)
    assert delivery.decide(None, send, 0b01, 0) == ("skipped", "unsubscribed", 0.0)
    assert delivery.decide(None, send, 0b10, 0) == ("skipped", "no_email", 0.0)
    never = Delivery({"email": ChannelRule("email", address=None, consent=None, cost=0.25)})
    assert never.decide(None, send, 0b11, 0) == ("skipped", "no_email", 0.0)


def test_check_scenario_lists_problems_and_warnings():
    welcome = ss.Flow(
        "Welcome", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendSMS("s", template="t")]
    )
    opt_in = ss.Flow(
        "OptIn",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.UpdateContact("u", set={"whatsapp_ok": True}),
            ss.SendWhatsApp("w", template="t"),
        ],
    )
    data = make_store(
        [(1, -10, "plan", "free"), (1, -10, "phone", "+1"), (1, -10, "sms_opt_in", True)]
    )
    s = scenario(
        data, [PRO], [welcome, opt_in], channels=ss.Channels(whatsapp_consent="whatsapp_ok")
    )
    problems, warnings = check_scenario(s)
    assert problems == [
        "channels.sms_consent: channel sms: the consent attribute 'sms_subscribed' is not in "
        "the data, so every sms message (e.g. flow 'Welcome' step 's') would be skipped "
        "(unsubscribed); did you mean 'sms_opt_in'?; name the data's attribute with "
        "ss.Channels(sms_consent=...)"
    ]
    assert warnings == [
        "channel whatsapp: the consent attribute 'whatsapp_ok' is not in the data; until an "
        "Update contact step sets it (flow 'OptIn' step 'u'), every whatsapp message is "
        "skipped (unsubscribed)"
    ]


def test_an_update_contact_value_of_the_wrong_type_is_refused_naming_flow_step_and_attribute():
    def flow(**values):
        return ss.Flow(
            "F",
            trigger=ss.SegmentTrigger("Pro"),
            steps=[ss.UpdateContact("u1", set=values)],
        )

    s = scenario(store(), [PRO], [flow(plan=3)])
    with pytest.raises(ss.ScenarioError) as error:
        build_plan(s)
    assert str(error.value) == (
        "flow 'F' step 'u1' sets attribute 'plan' to 3 (number), but 'plan' is a string attribute"
    )
    # unsetting says nothing of the type; a new attribute takes the type of its value
    plan = build_plan(scenario(store(), [PRO], [flow(plan=None, tier=2.5)]))
    assert plan.types["tier"] == "number" and plan.types["plan"] == "string"
