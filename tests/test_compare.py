"""Comparisons: side-by-side totals, contact differences, reports; hand-made results first."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import segsim
from segsim._internal.frames import FRAMES
from segsim.compare import Comparison, ScheduledEditWarning, apply_variant, compare
from segsim.conditions import attr
from segsim.flows import (
    ActivationSettings,
    Branch,
    Edit,
    Flow,
    SegmentTrigger,
    SendEmail,
    SendSMS,
    Wait,
)
from segsim.report import Report
from segsim.result import SimulationResult
from segsim.scenario import Scenario
from segsim.segments import Segment
from segsim.store import Store

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def us(n: float) -> int:
    return day(n).value // 1000


def result_of(runs, steps, suppressed=()):
    """A result from runs ``(run_id, contact, entered, ended)`` of flow Welcome and steps
    ``(day, run_id, step_id, outcome)``: ``e*`` are email sends (cost 0.01), ``w*`` waits."""
    contact_of = {run_id: contact for run_id, contact, _, _ in runs}
    step_rows, action_rows = [], []
    for d, run_id, step_id, outcome in steps:
        contact = contact_of[run_id]
        kind = "send_email" if step_id.startswith("e") else "wait"
        step_rows.append((us(d), run_id, "Welcome", contact, step_id, kind, outcome, 1))
        if kind == "send_email":
            cost = 0.01 if outcome == "sent" else 0.0
            reason = None if outcome == "sent" else "unsubscribed"
            action_rows.append(
                (
                    us(d),
                    run_id,
                    "Welcome",
                    step_id,
                    contact,
                    kind,
                    "email",
                    "t",
                    outcome,
                    reason,
                    cost,
                    None,
                    1,
                )
            )
    frames = {
        "runs": FRAMES["runs"].from_rows(
            [(r, "Welcome", 1, c, us(a), "first", us(b), "completed") for r, c, a, b in runs],
            "int64",
        ),
        "steps": FRAMES["steps"].from_rows(step_rows, "int64"),
        "actions": FRAMES["actions"].from_rows([(*r, 0.0) for r in action_rows], "int64"),
        "suppressed": FRAMES["suppressed"].from_rows(
            [(us(d), "Welcome", c, reason) for d, c, reason in suppressed], "int64"
        ),
        "segment_events": FRAMES["segment_events"].from_rows([], "int64"),
    }
    return SimulationResult(frames, scenario=None, meta={"flows": ["Welcome"], "seed": 0})


@pytest.fixture
def comparison():
    # Contact 1: the same story in both, only later in B (not a difference).
    # Contact 2: one more message in B (a second run).
    # Contact 3: skipped in A, sent in B.
    a = result_of(
        runs=[(1, 1, 0, 2), (2, 2, 0, 2), (3, 3, 1, 1)],
        steps=[
            (0, 1, "e1", "sent"),
            (0, 1, "w1", "waiting"),
            (2, 1, "e2", "sent"),
            (0, 2, "e1", "sent"),
            (0, 2, "w1", "waiting"),
            (2, 2, "e2", "sent"),
            (1, 3, "e1", "skipped"),
        ],
        suppressed=[(5, 2, "reentry_wait")],
    )
    b = result_of(
        runs=[(1, 1, 1, 3), (2, 2, 0, 2), (3, 3, 1, 1), (4, 2, 9, 11)],
        steps=[
            (1, 1, "e1", "sent"),
            (1, 1, "w1", "waiting"),
            (3, 1, "e2", "sent"),
            (0, 2, "e1", "sent"),
            (0, 2, "w1", "waiting"),
            (2, 2, "e2", "sent"),
            (1, 3, "e1", "sent"),
            (9, 4, "e1", "sent"),
            (9, 4, "w1", "waiting"),
            (11, 4, "e2", "sent"),
        ],
    )
    return Comparison({"A": a, "B": b})


def test_summary_side_by_side_with_deltas(comparison):
    summary = comparison.summary()
    assert list(summary.columns) == ["A", "B", "B_delta", "B_change"]
    assert list(summary.index) == [
        "runs",
        "contacts_entered",
        "contacts_reached",
        "email_sent",
        "sms_sent",
        "whatsapp_sent",
        "messages_sent",
        "skipped",
        "suppressed",
        "webhooks_called",
        "list_adds",
        "list_removes",
        "contact_updates",
        "contact_deletes",
        "operations",
        "message_cost",
        "operation_cost",
        "cost",
    ]
    assert summary.loc["runs"].tolist()[:3] == [3, 4, 1]
    assert summary.loc["runs", "B_change"] == pytest.approx(1 / 3)
    assert summary.loc["email_sent"].tolist() == [4, 7, 3, 0.75]
    assert summary.loc["messages_sent"].tolist() == [4, 7, 3, 0.75]
    assert summary.loc["contacts_reached"].tolist()[:2] == [2, 3]
    assert summary.loc["skipped"].tolist() == [1, 0, -1, -1.0]
    assert summary.loc["suppressed"].tolist() == [1, 0, -1, -1.0]
    assert summary.loc["cost", "A"] == pytest.approx(0.04)
    assert summary.loc["cost", "B_delta"] == pytest.approx(0.03)
    assert math.isnan(summary.loc["sms_sent", "B_change"])  # nothing to compare against
    # the totals are each result's own summary, summed over flows
    for name, result in comparison.results.items():
        per_flow = result.summary()
        assert summary.loc["runs", name] == per_flow["runs"].sum()
        assert summary.loc["cost", name] == pytest.approx(per_flow["cost"].sum())


def test_summary_counts_are_integers_and_changes_are_shown_as_percents(comparison):
    summary = comparison.summary()
    assert type(summary.loc["runs", "A"]) is int and type(summary.loc["runs", "B_delta"]) is int
    assert type(summary.loc["cost", "A"]) is float
    assert summary["B_change"].dtype == "float64"
    counts = summary.drop(index=["message_cost", "operation_cost", "cost"])
    assert "." not in counts[["A", "B", "B_delta"]].to_string()  # 4, never 4.000
    shown = comparison.formatted_summary().set_index("metric")
    assert shown.loc["runs"].tolist() == ["3", "4", "1", "+33.3%"]
    assert shown.loc["cost"].tolist() == ["0.04 EUR", "0.07 EUR", "0.03 EUR", "+75.0%"]
    assert shown.loc["sms_sent", "B_change"] == ""


def test_contact_differences_only_contacts_whose_story_changed(comparison):
    diff = comparison.contact_differences()
    assert list(diff.columns) == [
        "contact_id",
        "variant",
        "baseline_messages",
        "messages",
        "delta",
        "diverges_at",
        "diverges_flow",
        "diverges_step",
        "baseline_step",
        "variant_step",
    ]
    rows = [tuple(r) for r in diff.itertuples(index=False)]
    assert rows == [
        (2, "B", 2, 4, 2, day(9), "Welcome", "e1", None, "Welcome/e1: sent"),
        (3, "B", 0, 1, 1, day(1), "Welcome", "e1", "Welcome/e1: skipped", "Welcome/e1: sent"),
    ]
    assert str(diff["contact_id"].dtype) == "int64"
    assert str(diff["diverges_at"].dtype) == "datetime64[us, UTC]"


def test_three_variants_each_against_the_baseline(comparison):
    a, b = comparison.results["A"], comparison.results["B"]
    three = Comparison({"A": a, "B": b, "A again": a})
    summary = three.summary()
    assert list(summary.columns) == [
        "A",
        "B",
        "A again",
        "B_delta",
        "B_change",
        "A again_delta",
        "A again_change",
    ]
    assert (summary["A again_delta"] == 0).all()
    assert set(three.contact_differences()["variant"]) == {"B"}


def test_identical_variants_have_no_differences(comparison):
    a = comparison.results["A"]
    same = Comparison({"A": a, "copy": a})
    assert same.contact_differences().empty
    assert list(same.contact_differences().columns)[:2] == ["contact_id", "variant"]


def test_plot_uses_grouped_bars(comparison):
    ax = comparison.plot()
    assert [p.get_height() for p in ax.patches] == [4, 7]  # email: A, B
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]


def test_report_and_display(comparison, tmp_path):
    plt.close("all")
    report = comparison.report()
    assert isinstance(report, Report)
    keys = [s.key for s in report.sections]
    assert keys == [
        "scenario",
        "summary",
        "sends",
        "sends_per_period",
        "operations",
        "per_flow",
        "contact_differences",
    ]
    markdown = report.to_markdown()
    assert "Scenario not recorded" in markdown
    assert "| email_sent | 4 | 7 | 3 | +75.0% |" in markdown
    assert "| cost | 0.04 EUR | 0.07 EUR | 0.03 EUR | +75.0% |" in markdown
    assert report.numbers()["B.email_sent"] == 7 and report.numbers()["A.runs"] == 3
    text = report.to_html(tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 2
    assert plt.get_fignums() == []
    assert repr(comparison) == "<Comparison 'A' (baseline) 4 messages, 'B' 7 (+75.0%)>"
    html = comparison._repr_html_()
    assert "email_sent" in html and "+75.0%" in html and "0.04 EUR" in html


def test_contact_ids_in_the_comparison_report_have_no_thousands_separator():
    a = result_of(runs=[(1, 1001, 0, 1)], steps=[(0, 1, "e1", "sent")])
    b = result_of(runs=[(1, 1001, 0, 1)], steps=[(0, 1, "e1", "skipped")])
    markdown = Comparison({"A": a, "B": b}).report().to_markdown()
    assert "| 1001 | B | 1 | 0 | -1 |" in markdown
    assert "1,001" not in markdown


def test_the_comparison_report_has_the_periods_of_every_report():
    comparison = Comparison(
        {
            "A": result_of(runs=[(1, 1, 0, 1)], steps=[(0, 1, "e1", "sent")]),
            "B": result_of(runs=[(1, 1, 6, 7)], steps=[(6, 1, "e1", "sent")]),
        }
    )
    table = comparison.report()["sends_per_period"].table
    # no window recorded: whole Monday weeks from the first message's to the last's
    assert table[["A", "B"]].values.tolist() == [[1, 0], [0, 1]]
    assert table["period"].dt.strftime("%Y-%m-%d").tolist() == ["2025-12-29", "2026-01-05"]


def test_a_comparison_needs_results():
    with pytest.raises(ValueError):
        Comparison({})


# -- compare(): variants of a scenario ---------------------------------------------------------


PRO = Segment("Pro", attr("plan") == "pro")


@pytest.fixture(scope="module")
def scenario():
    rows = []
    for c in (1, 2):
        rows += [
            (c, day(-30), "email", f"c{c}@example.com"),
            (c, day(-30), "email_subscribed", True),
            (c, day(-30), "phone", f"+3361234567{c}"),
            (c, day(-30), "sms_subscribed", True),
            (c, day(-30), "plan", "free"),
            (c, day(2), "plan", "pro"),
        ]
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    frame["value"] = frame["value"].astype(object)
    store = Store()
    store.load_attributes(frame)
    flow = Flow(
        "Welcome",
        trigger=SegmentTrigger("Pro"),
        steps=[SendEmail("e1", template="hello"), Wait("w1", "1d")],
        settings=ActivationSettings(allow_reentry=True, reentry_wait="7d"),
    )
    return Scenario(store, segments=[PRO], flows=[flow], start=day(0), end=day(30), seed=3)


def test_a_variant_of_the_wrong_type_is_refused(scenario):
    with pytest.raises(TypeError, match="variant 'B' must be a Flow"):
        compare(scenario, {"B": 42})
    with pytest.raises(ValueError, match="non-empty"):
        compare(scenario, {})


def test_a_variant_scenario_must_keep_the_data_window_and_seed(scenario):
    def other(**changes):
        fields = {
            "segments": [PRO],
            "flows": list(scenario.flows),
            "start": day(0),
            "end": day(30),
            "seed": 3,
            **changes,
        }
        return Scenario(scenario.store, **fields)

    with pytest.raises(ValueError, match="seed: 3 vs 4"):
        compare(scenario, {"A": scenario, "B": other(seed=4)})
    with pytest.raises(ValueError, match="window: 2026-01-01 00:00 → 2026-01-31 00:00 vs"):
        compare(scenario, {"A": scenario, "B": other(end=day(20))})
    with pytest.raises(ValueError, match="data source"):
        compare(scenario, {"A": scenario, "B": other().with_store(Store())})


needs_engine = pytest.mark.skipif(
    not hasattr(segsim, "simulate"), reason="the engine is not exported yet"
)


@needs_engine
def test_reentry_mode_recheck_versus_event_end_to_end(scenario):
    cmp = compare(
        scenario,
        {
            "recheck": scenario,
            "event": lambda s: s.with_settings("Welcome", reentry_mode="event"),
        },
    )
    assert list(cmp.results) == ["recheck", "event"]
    recheck, event = cmp.results["recheck"], cmp.results["event"]
    # recheck: the contacts are still members 7 days after each run, so they re-enter
    assert set(recheck.runs["entry"]) == {"first", "recheck"}
    assert list(event.runs["entry"]) == ["first", "first"]
    summary = cmp.summary()
    assert summary.loc["runs", "recheck"] == len(recheck.runs) > summary.loc["runs", "event"] == 2
    assert summary.loc["email_sent", "event_delta"] < 0
    diff = cmp.contact_differences()
    assert sorted(diff["contact_id"]) == [1, 2]
    assert (diff["diverges_step"] == "e1").all()
    assert (diff["baseline_step"] == "Welcome/e1: sent").all()
    assert diff["variant_step"].isna().all()
    # same data, same seed: comparing a scenario with itself shows nothing
    again = compare(scenario, {"A": scenario, "B": scenario.flows[0]})
    assert again.contact_differences().empty
    assert (again.summary()["B_delta"] == 0).all()


# -- a variant and the scheduled edits of its flow: one rule (apply_variant) ----------------------


def _steps(flow):
    """A flow's step tree as nested ids, with durations of waits."""

    def walk(steps):
        out = []
        for step in steps:
            if step.kind == "branch":
                out.append((step.id, walk(step.then), walk(step.otherwise)))
            elif step.kind == "wait":
                out.append((step.id, step.duration.days))
            else:
                out.append(step.id)
        return out

    return walk(flow.steps)


BASE = Flow(
    "Welcome",
    trigger=SegmentTrigger("Pro"),
    steps=[
        SendEmail("e1", template="hello"),
        Wait("w1", "2d"),
        Branch("b1", when=attr("plan") == "pro", then=[SendEmail("e2", template="tips")]),
        Wait("w2", "5d"),
        SendSMS("s1", template="upsell"),
    ],
    settings=ActivationSettings(allow_reentry=True, reentry_wait="7d"),
)


def _scenario_with_edit(store, edited):
    return Scenario(
        store,
        segments=[PRO],
        flows=[BASE],
        start=day(0),
        end=day(30),
        seed=3,
        schedule=[Edit("Welcome", at=day(10), flow=edited)],
    )


def _edited(**changes):
    data = BASE.model_dump()
    data["version"] = 2
    for step in data["steps"]:
        if step["id"] in changes:
            step.update(changes[step["id"]])
    return Flow.model_validate(data)


def _variant(transform):
    data = BASE.model_dump()
    data["steps"] = list(data["steps"])
    transform(data)
    return Flow.model_validate(data)


def _edit_flow(scenario):
    (edit,) = [e for e in scenario.schedule if e.kind == "edit"]
    return edit.flow


def test_a_variant_keeps_what_the_edit_changed_and_adds_its_own_changes(scenario):
    # the notebook's case: the edit shortens w2; variant B drops the SMS and shortens w1
    edited = _edited(w2={"duration": "3d"})
    base = _scenario_with_edit(scenario.store, edited)

    def no_sms(data):
        data["steps"] = [s for s in data["steps"] if s["id"] != "s1"]
        data["steps"][1]["duration"] = "1d"

    varied = apply_variant(base, _variant(no_sms))
    assert _steps(varied.flows[0]) == ["e1", ("w1", 1), ("b1", ["e2"], []), ("w2", 5)]
    v2 = _edit_flow(varied)
    assert _steps(v2) == ["e1", ("w1", 1), ("b1", ["e2"], []), ("w2", 3)]
    assert v2.version == 2
    # the old rule, for contrast: with_flow kept the edit's version, SMS and all
    assert "s1" in _edit_flow(base.with_flow(_variant(no_sms))).step_ids


def test_a_variant_equal_to_the_flow_changes_nothing(scenario):
    base = _scenario_with_edit(scenario.store, _edited(w2={"duration": "3d"}))
    assert apply_variant(base, BASE) == base
    no_edit = Scenario(
        scenario.store, segments=[PRO], flows=[BASE], start=day(0), end=day(30), seed=3
    )
    changed = _variant(lambda d: d["steps"][1].update(duration="4d"))
    assert apply_variant(no_edit, changed) == no_edit.with_flow(changed)


def test_added_and_moved_steps_go_after_the_same_step_as_in_the_variant(scenario):
    # the edit inserts e0 first and removes w2; the variant adds x1 after w1, an email into
    # the branch's otherwise arm, and moves s1 to the front
    data = BASE.model_dump()
    data["version"] = 2
    data["steps"] = list(data["steps"])
    data["steps"].insert(0, {"kind": "send_email", "id": "e0", "template": "pre"})
    data["steps"] = [s for s in data["steps"] if s["id"] != "w2"]
    edited = Flow.model_validate(data)
    base = _scenario_with_edit(scenario.store, edited)

    def changes(d):
        s1 = d["steps"].pop()
        d["steps"].insert(0, s1)
        d["steps"].insert(3, {"kind": "send_email", "id": "x1", "template": "x"})
        d["steps"][4]["otherwise"] = [{"kind": "send_email", "id": "o1", "template": "o"}]

    variant = _variant(changes)
    assert _steps(variant) == [
        "s1",
        "e1",
        ("w1", 2),
        "x1",
        ("b1", ["e2"], ["o1"]),
        ("w2", 5),
    ]
    v2 = _edit_flow(apply_variant(base, variant))
    assert _steps(v2) == ["s1", "e0", "e1", ("w1", 2), "x1", ("b1", ["e2"], ["o1"])]


def test_field_changes_merge_field_by_field_and_the_variant_wins_a_conflict(scenario):
    edited = _edited(e1={"template": "hello-v2"}, w1={"duration": "3d"})
    edited = edited.replace(settings=edited.settings.replace(reentry_wait="14d", on_pause="drain"))
    base = _scenario_with_edit(scenario.store, edited)
    variant = _variant(lambda d: d["steps"][1].update(duration="1d"))
    variant = variant.replace(settings=variant.settings.replace(reentry_wait="1d"))
    v2 = _edit_flow(apply_variant(base, variant))
    steps = {s.id: s for s in v2.steps}
    assert steps["e1"].template == "hello-v2"  # the edit's change, untouched by the variant
    assert steps["w1"].duration.days == 1  # both changed it: the variant's wins
    assert v2.settings.reentry_wait.days == 1  # the same for a setting
    assert v2.settings.on_pause == "drain"  # the edit's own setting change is kept


def test_a_step_the_edit_removed_stays_removed(scenario):
    data = BASE.model_dump()
    data["version"] = 2
    data["steps"] = [s for s in data["steps"] if s["id"] != "s1"]
    base = _scenario_with_edit(scenario.store, Flow.model_validate(data))
    variant = _variant(lambda d: d["steps"][4].update(template="other"))
    assert "s1" not in _edit_flow(apply_variant(base, variant)).step_ids


def test_the_edit_and_the_variant_adding_the_same_id_give_the_variants_step(scenario):
    data = BASE.model_dump()
    data["version"] = 2
    data["steps"] = list(data["steps"])
    data["steps"].append({"kind": "send_email", "id": "z", "template": "edit"})
    base = _scenario_with_edit(scenario.store, Flow.model_validate(data))

    def add(d):
        d["steps"].insert(1, {"kind": "send_email", "id": "z", "template": "variant"})

    v2 = _edit_flow(apply_variant(base, _variant(add)))
    assert v2.step_ids.count("z") == 1
    assert [s.id for s in v2.steps][:2] == ["e1", "z"]
    assert next(s for s in v2.steps if s.id == "z").template == "variant"


def test_compare_warns_when_a_variants_flow_has_scheduled_edits(scenario):
    base = _scenario_with_edit(scenario.store, _edited(w2={"duration": "3d"}))
    variant = _variant(lambda d: d["steps"][1].update(duration="1d"))
    with pytest.warns(ScheduledEditWarning, match=r"'Welcome'.*2026-01-11 00:00"):
        cmp = compare(base, {"A": BASE, "B": variant})
    assert len(cmp.warnings) == 1 and "'B'" in cmp.warnings[0]
    assert cmp.report().sections[0].key == "warnings"
    no_edit = Scenario(
        scenario.store, segments=[PRO], flows=[BASE], start=day(0), end=day(30), seed=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compare(no_edit, {"A": BASE, "B": variant}).warnings == []


def test_a_variant_without_the_sms_sends_no_sms_after_the_edit_either():
    rows = []
    for c, entered in ((1, 2), (2, 12), (3, 20)):  # before and after the edit on day 10
        rows += [
            (c, day(-30), "email", f"c{c}@example.com"),
            (c, day(-30), "email_subscribed", True),
            (c, day(-30), "phone", f"+3361234567{c}"),
            (c, day(-30), "sms_subscribed", True),
            (c, day(-30), "plan", "free"),
            (c, day(entered), "plan", "pro"),
        ]
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    frame["value"] = frame["value"].astype(object)
    store = Store()
    store.load_attributes(frame)
    base = _scenario_with_edit(store, _edited(w2={"duration": "3d"}))
    no_sms = _variant(lambda d: d["steps"].pop())
    with pytest.warns(ScheduledEditWarning):
        cmp = compare(base, {"A": BASE, "B": no_sms})
    a, b = cmp.results["A"].actions, cmp.results["B"].actions
    after_edit = a[(a["version"] == 2) & (a["channel"] == "sms")]
    assert len(after_edit) > 0  # the flow sends its SMS in the edited version too
    assert (b["channel"] == "sms").sum() == 0  # and variant B sends none, before or after
    # B ran both versions: contact 1 entered before the edit, 2 and 3 after it
    runs = cmp.results["B"].runs
    first_versions = runs.groupby("contact_id")["version"].min().to_dict()
    assert first_versions == {1: 1, 2: 2, 3: 2}


def test_the_comparison_metrics_are_the_reports_headline_numbers(comparison):
    from segsim.compare import SUMMARY_METRICS
    from segsim.report import headline_numbers

    assert tuple(headline_numbers(comparison.results["A"])) == SUMMARY_METRICS


_TOP = ["e1", "w1", "b1", "w2", "s1"]


@given(
    removed=st.sets(st.sampled_from(_TOP)),
    variant_waits=st.dictionaries(st.sampled_from(["w1", "w2"]), st.integers(1, 9)),
    edit_waits=st.dictionaries(st.sampled_from(["w1", "w2"]), st.integers(1, 9)),
    edit_removes=st.sampled_from([None, *_TOP]),
    edit_adds=st.booleans(),
    variant_wait=st.sampled_from([None, "3d", "10d"]),
    edit_wait=st.sampled_from([None, "5d", "20d"]),
)
def test_the_variant_rule_on_random_edits_and_variants(
    scenario, removed, variant_waits, edit_waits, edit_removes, edit_adds, variant_wait, edit_wait
):
    def waits(data, durations):
        for step in data["steps"]:
            if step["id"] in durations:
                step["duration"] = f"{durations[step['id']]}d"

    edit = BASE.model_dump()
    edit["version"] = 2
    edit["steps"] = [s for s in edit["steps"] if s["id"] != edit_removes]
    waits(edit, edit_waits)
    if edit_adds:
        edit["steps"].insert(1, {"kind": "send_email", "id": "ex", "template": "x"})
    if edit_wait:
        edit["settings"] = {**edit["settings"], "reentry_wait": edit_wait}
    base = _scenario_with_edit(scenario.store, Flow.model_validate(edit))

    def change(data):
        data["steps"] = [s for s in data["steps"] if s["id"] not in removed]
        waits(data, variant_waits)
        if variant_wait:
            data["settings"] = {**data["settings"], "reentry_wait": variant_wait}

    variant = _variant(change)
    merged = _edit_flow(apply_variant(base, variant))
    ids = [s.id for s in merged.steps]
    # what the variant removed is gone; what the edit added or kept stays, in the variant's order
    in_edit = [s["id"] for s in edit["steps"]]
    assert ids == [s for s in in_edit if s not in removed]
    # a wait: the variant's duration where it changed it, else the edit's
    for step in merged.steps:
        if step.kind == "wait":
            own = {"w1": 2, "w2": 5}[step.id]
            changed = variant_waits.get(step.id, own) != own  # same as the flow: no change
            expected = variant_waits[step.id] if changed else edit_waits.get(step.id, own)
            assert step.duration.days == expected
    reentry = merged.settings.reentry_wait.days
    assert reentry == int((variant_wait or edit_wait or "7d").removesuffix("d"))
    assert merged.version == 2


def test_the_probability_of_beating_the_baseline_is_never_shown_as_money():
    """``p_higher`` on a cost row is a probability: shown as a number, not "0.50 EUR"."""
    from segsim._internal.formatting import format_frame

    summary = pd.DataFrame(
        {
            "metric": ["cost", "runs"],
            "A_mean": [38.57, 3526.0],
            "B_delta_mean": [0.0, 2.0],
            "B_p_higher": [0.5, 0.975],
        }
    )
    shown = format_frame(summary, currency="EUR").set_index("metric")
    assert shown.loc["cost"].tolist() == ["38.57 EUR", "0.00 EUR", "0.5"]
    assert shown.loc["runs"].tolist() == ["3,526", "2", "0.975"]
    deltas = format_frame(pd.DataFrame({"metric": ["cost"], "mean": [1.5], "p_higher": [0.25]}))
    assert deltas.loc[0].tolist() == ["cost", "1.50 EUR", "0.25"]
