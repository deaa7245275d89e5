"""Comparisons: side-by-side totals, contact differences, reports; hand-made results first."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import segsim
from segsim._internal.frames import FRAMES
from segsim.compare import Comparison, compare
from segsim.conditions import attr
from segsim.flows import ActivationSettings, Flow, SegmentTrigger, SendEmail, Wait
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
        "actions": FRAMES["actions"].from_rows(action_rows, "int64"),
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
        "webhook_sent",
        "skipped",
        "suppressed",
        "cost",
    ]
    assert summary.loc["runs"].tolist()[:3] == [3, 4, 1]
    assert summary.loc["runs", "B_change"] == pytest.approx(1 / 3)
    assert summary.loc["email_sent"].tolist() == [4, 7, 3, 0.75]
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
    assert keys == ["scenario", "summary", "sends", "per_flow", "contact_differences"]
    assert "Scenario not recorded" in report.to_markdown()
    assert "| email_sent | 4 | 7 | 3 | +75.0% |" in report.to_markdown()
    assert report.numbers()["B.sent_email"] == 7 and report.numbers()["A.runs"] == 3
    text = report.to_html(tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 1
    assert plt.get_fignums() == []
    assert repr(comparison) == "<Comparison 'A' (baseline) 4 messages, 'B' 7 (+75.0%)>"
    html = comparison._repr_html_()
    assert "email_sent" in html and "+75.0%" in html


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


def test_a_variant_scenario_must_keep_the_seed(scenario):
    other = Scenario(
        scenario.store,
        segments=[PRO],
        flows=list(scenario.flows),
        start=day(0),
        end=day(30),
        seed=4,
    )
    with pytest.raises(ValueError, match="seed 4"):
        compare(scenario, {"A": scenario, "B": other})


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
