"""Step labels (segsim.engine.labels): a steps or actions row holds the number of its step's
label; the frames give the label's fields. Hand-computed cases of the two kinds of label."""

from __future__ import annotations

import dataclasses

import segsim as ss
from segsim import attr
from segsim.engine.labels import LABEL_FIELDS, Labels
from segsim.engine.plan import build_plan
from tests.engine_helpers import day, days, make_store, reachable, scenario

PRO = ss.Segment("Pro", attr("plan") == "pro")


def flow(*steps, name="Upgrade"):
    return ss.Flow(name, trigger=ss.SegmentTrigger("Pro"), steps=list(steps))


def test_every_step_of_every_version_has_its_label_numbered_with_the_plan():
    v1 = flow(ss.SendEmail("e1", template="hello"), ss.Wait("w", "1d"))
    v2 = flow(ss.SendEmail("e1", template="welcome"), ss.Wait("w", "2d"))
    store = make_store([*reachable(1), (1, 2, "plan", "pro")])
    plan = build_plan(
        scenario(store, [PRO], [v1], schedule=[ss.Edit("Upgrade", at=day(3), flow=v2)])
    )
    table = [dict(zip(LABEL_FIELDS, label, strict=True)) for label in plan.labels]
    assert [(r["step_id"], r["kind"], r["version"], r["template"]) for r in table] == [
        ("e1", "send_email", 1, "hello"),
        ("w", "wait", 1, None),
        ("e1", "send_email", 2, "welcome"),
        ("w", "wait", 2, None),
    ]
    for cf in plan.versions.values():
        for step_id, number in cf.labels.items():
            assert plan.labels[number][:4] == (
                "Upgrade",
                step_id,
                cf.steps[step_id].kind,
                cf.version,
            )


def test_a_row_not_of_its_versions_step_gets_a_label_of_its_own_once():
    store = make_store([*reachable(1), (1, 2, "plan", "pro")])
    plan = build_plan(scenario(store, [PRO], [flow(ss.SendEmail("e1", template="hello"))]))
    cf = plan.flows["Upgrade"]
    labels = Labels(plan.labels)
    own = cf.steps["e1"]
    assert labels.of(cf, own) == cf.labels["e1"] == 0
    # the same id and fields, but not this version's step object (a policy held it over an
    # edit): a label made now, with the fields of the step it logs
    other = dataclasses.replace(own, template="welcome")
    assert labels.of(cf, other) == 1
    assert labels.of(cf, other) == 1  # made once
    assert labels.of(cf, own, "wait_for") == 2  # logged as another kind
    columns = labels.columns()
    assert list(columns["template"]) == ["hello", "welcome", "hello"]
    assert list(columns["kind"]) == ["send_email", "send_email", "wait_for"]
    assert columns["version"].dtype == "int64" and list(columns["version"]) == [1, 1, 1]


def test_a_waitfor_an_edit_made_a_wait_is_logged_as_a_waitfor_of_the_new_version():
    old = flow(
        ss.SendEmail("e1", template="hello"),
        ss.WaitFor("wf", until=attr("tier") == "gold", timeout="3d"),
        ss.SendEmail("after", template="after"),
    )
    new = flow(
        ss.SendEmail("e1", template="hello"),
        ss.Wait("wf", "1d"),
        ss.SendEmail("after", template="after"),
    )
    rows = [
        *reachable(1),
        (1, -10, "plan", "free"),
        (1, -10, "tier", "none"),
        (1, 2, "plan", "pro"),
    ]
    result = ss.simulate(
        scenario(
            make_store(rows), [PRO], [old], schedule=[ss.Edit("Upgrade", at=day(3), flow=new)]
        ),
        progress=False,
    )
    assert [
        (days(r.time), r.step_id, r.kind, r.outcome, r.version) for r in result.steps.itertuples()
    ] == [
        (2, "e1", "send_email", "sent", 1),
        (5, "wf", "wait_for", "timed_out", 2),  # the old WaitFor's timeout, under version 2
        (5, "after", "send_email", "sent", 2),
    ]
    assert [
        (days(r.time), r.step_id, r.action, r.template, r.version)
        for r in result.actions.itertuples()
    ] == [
        (2, "e1", "send_email", "hello", 1),
        (5, "after", "send_email", "after", 2),
    ]
