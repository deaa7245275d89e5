"""Outcomes in every view (docs/design.md §10.4–10.5): outcome rates, responses per step,
uplift over the holdout, and the outcome rows of reports, comparisons and diagrams."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import segsim as ss
from segsim import attr
from segsim.analysis import (
    outcome_numbers,
    outcome_rates,
    step_responses,
    uplift,
    uplift_per_replication,
)
from segsim.engine.draws import uniform
from segsim.result import SUMMARY_METRICS
from tests.engine_helpers import day, make_store, reachable

VIP = ss.Segment("VIP", attr("plan") == "pro")


def _store(contacts, events=()):
    rows = [row for c in contacts for row in reachable(c)]
    rows += [(c, 1, "plan", "pro") for c in contacts]
    store = make_store(rows)
    if events:
        store.load_events(
            pd.DataFrame(
                [(c, day(d), name, amount) for c, d, name, amount in events],
                columns=["contact_id", "ts", "event", "amount"],
            )
        )
    return store


def _scenario(store, steps, responses=None, goal=None, holdout=None, seed=3, end=10):
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=steps, goal=goal)
    return ss.Scenario(
        store,
        segments=[VIP],
        flows=[flow],
        start=day(0),
        end=day(end),
        seed=seed,
        responses=responses,
        holdout=holdout,
    )


ALWAYS = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1), sms=ss.Funnel(delivered=0))


# -- rates -------------------------------------------------------------------------------------


def test_outcome_rates_count_responses_and_divide_by_what_they_follow():
    goal = ss.Goal(event="signup", within="1d", value=40, conversion_rate=1)
    steps = [ss.SendEmail("e1", template="t"), ss.SendSMS("s1", template="t")]
    result = ss.simulate(_scenario(_store([1]), steps, ALWAYS, goal=goal), progress=False)
    cost = float(result.actions["cost"].sum())
    table = outcome_rates(result.actions, result.responses, result.conversions)
    row = table.iloc[0].to_dict()
    assert row == {
        "flow": "F",
        "messages_sent": 2,
        "delivered": 1,  # the SMS bounced
        "bounced": 1,
        "opened": 1,
        "machine_opened": 0,
        "clicked": 1,
        "unsubscribed": 0,
        "converted": 1,
        "revenue": 40.0,
        "message_cost": cost,
        "delivery_rate": 0.5,
        "open_rate": 1.0,  # of delivered emails and WhatsApp messages: the SMS is never opened
        "click_rate": 1.0,
        "unsubscribe_rate": 0.0,
        "conversion_rate": 0.5,
        "cost_per_conversion": cost,
    }
    assert outcome_numbers(result) == {k: v for k, v in row.items() if k in outcome_numbers(result)}
    assert step_responses(result.actions, result.responses, result.conversions).to_dict(
        "records"
    ) == [
        {
            "flow": "F",
            "step_id": "e1",
            "channel": "email",
            "sent": 1,
            "delivered": 1,
            "bounced": 0,
            "opened": 1,
            "machine_opened": 0,
            "clicked": 1,
            "unsubscribed": 0,
            "converted": 1,
            "revenue": 40.0,
        },
        {
            "flow": "F",
            "step_id": "s1",
            "channel": "sms",
            "sent": 1,
            "delivered": 0,
            "bounced": 1,
            "opened": 0,
            "machine_opened": 0,
            "clicked": 0,
            "unsubscribed": 0,
            "converted": 0,
            "revenue": 0.0,
        },
    ]


def test_rates_are_nan_where_nothing_was_sent():
    result = ss.simulate(_scenario(_store([1]), [ss.Wait("w", duration="1d")]), progress=False)
    row = outcome_rates(result.actions, result.responses, result.conversions, flow="F").iloc[0]
    assert (row["messages_sent"], row["converted"]) == (0, 0)
    assert all(math.isnan(row[c]) for c in ("delivery_rate", "open_rate", "cost_per_conversion"))


# -- uplift over the holdout ------------------------------------------------------------------

SEED = 109  # holds out contacts 3 and 4 in replication 0, 1 and 4 in replication 1
EVENTS = [
    (1, 2, "purchase", 10.0),
    (2, -1, "purchase", 99.0),  # before the window
    (3, 2, "purchase", 30.0),
    (4, 1, "purchase", 99.0),  # at the entry instant: did not follow the entry
    (4, 12, "purchase", 99.0),  # after the window
]


def _uplift_scenario(seed=SEED):
    goal = ss.Goal(event="purchase", within="3d", value="amount", conversion_rate=1)
    return _scenario(
        _store([1, 2, 3, 4], EVENTS),
        [ss.SendEmail("e1", template="t")],
        ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1)),
        goal=goal,
        holdout=ss.Holdout(percent=50),
        seed=seed,
    )


def test_the_seed_holds_out_the_contacts_the_hand_computation_assumes():
    held = [
        [c for c in (1, 2, 3, 4) if uniform(SEED, r, None, None, c, "holdout") < 0.5]
        for r in (0, 1)
    ]
    assert held == [[3, 4], [1, 4]]


def test_uplift_of_one_replication_with_its_normal_interval():
    result = ss.simulate(_uplift_scenario(), progress=False)
    row = uplift(result).iloc[0].to_dict()
    # treated 1, 2: both click and convert (simulated) at the send; contact 1 also buys 10
    # holdout 3, 4: contact 3 buys 30; contact 4's purchases are at entry and after the end
    assert {k: row[k] for k in ("flow", "treated_contacts", "holdout_contacts")} == {
        "flow": "F",
        "treated_contacts": 2,
        "holdout_contacts": 2,
    }
    assert (row["treated_converted"], row["holdout_converted"]) == (2, 1)
    assert (row["treated_rate"], row["holdout_rate"], row["uplift"]) == (1.0, 0.5, 0.5)
    assert row["relative_uplift"] == 1.0
    assert (row["treated_revenue"], row["holdout_revenue"], row["revenue_uplift"]) == (
        5.0,
        15.0,
        -10.0,
    )
    # se = sqrt(1*0/2 + 0.5*0.5/2) = 0.353553; revenue: sqrt(50/2 + 450/2) = 15.811388
    assert row["uplift_low"] == pytest.approx(0.5 - 1.959964 * 0.353553, abs=1e-5)
    assert row["uplift_high"] == pytest.approx(0.5 + 1.959964 * 0.353553, abs=1e-5)
    assert row["revenue_uplift_low"] == pytest.approx(-10 - 1.959964 * 15.811388, abs=1e-4)
    assert row["revenue_uplift_high"] == pytest.approx(-10 + 1.959964 * 15.811388, abs=1e-4)
    assert (row["replications"], row["interval"]) == (1, "normal")


def test_uplift_over_replications_is_the_mean_and_the_spread_of_replications():
    result = ss.simulate(_uplift_scenario(), progress=False, replications=2)
    per = uplift_per_replication(result)
    assert per[["replication", "uplift", "revenue_uplift"]].values.tolist() == [
        [0, 0.5, -10.0],
        [1, 0.5, 10.0],  # treated 2, 3 (3 bought 30); holdout 1, 4 (1 bought 10)
    ]
    row = uplift(result).iloc[0]
    assert (row["uplift"], row["uplift_low"], row["uplift_high"]) == (0.5, 0.5, 0.5)
    assert (row["revenue_uplift"], row["revenue_uplift_low"], row["revenue_uplift_high"]) == (
        0.0,
        -9.5,
        9.5,
    )
    assert (row["treated_contacts"], row["replications"], row["interval"]) == (
        2.0,
        2,
        "replications",
    )
    one = uplift(result.replication(1)).iloc[0]
    assert (one["uplift"], one["revenue_uplift"]) == (0.5, 10.0)


def test_uplift_needs_a_holdout_and_a_goal_it_covers():
    plain = ss.simulate(_scenario(_store([1]), [ss.SendEmail("e1", template="t")]), progress=False)
    with pytest.raises(ss.SegsimError, match="no holdout"):
        uplift(plain)
    other = _scenario(
        _store([1]), [ss.SendEmail("e1", template="t")], holdout=ss.Holdout(percent=10)
    )
    with pytest.raises(ss.SegsimError, match="no flow with a goal is covered"):
        uplift(ss.simulate(other, progress=False))


def test_uplift_matches_the_conversion_rate_within_4_se():
    n, p, share = 1500, 0.3, 0.2
    goal = ss.Goal(event="signup", within="2d", conversion_rate=p)
    scenario = _scenario(
        _store(range(1, n + 1)),
        [ss.SendEmail("e1", template="t")],
        ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1)),
        goal=goal,
        holdout=ss.Holdout(percent=100 * share),
        seed=11,
    )
    row = uplift(ss.simulate(scenario, progress=False)).iloc[0]
    held = row["holdout_contacts"]
    assert row["treated_contacts"] + held == n
    assert abs(held / n - share) <= 4 * math.sqrt(share * (1 - share) / n)
    assert row["holdout_rate"] == 0.0  # the holdout gets no message, so no click
    se = math.sqrt(p * (1 - p) / row["treated_contacts"])
    assert abs(row["uplift"] - p) <= 4 * se
    rate = row["treated_rate"]  # the holdout's rate 0 adds no variance
    width = 2 * 1.959964 * math.sqrt(rate * (1 - rate) / row["treated_contacts"])
    assert row["uplift_high"] - row["uplift_low"] == pytest.approx(width, rel=1e-6)


# -- the summary's rates and uplift --------------------------------------------------------------

_RATES = [
    "delivery_rate",
    "open_rate",
    "click_rate",
    "unsubscribe_rate",
    "conversion_rate",
    "cost_per_conversion",
]
_UPLIFT = ["uplift", "uplift_low", "uplift_high"]


def _two_flow_scenario(seed):
    """F (a goal, covered by the holdout) and G (no goal), both emailing the four VIPs."""
    goal = ss.Goal(event="purchase", within="3d", value="amount", conversion_rate=1)
    trigger = ss.SegmentTrigger("VIP")
    return ss.Scenario(
        _store([1, 2, 3, 4], EVENTS),
        segments=[VIP],
        flows=[
            ss.Flow("F", trigger=trigger, steps=[ss.SendEmail("e1", template="t")], goal=goal),
            ss.Flow("G", trigger=trigger, steps=[ss.SendEmail("g1", template="t")]),
        ],
        start=day(0),
        end=day(10),
        seed=seed,
        responses=ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1)),
        holdout=ss.Holdout(percent=50),
    )


def test_summary_has_the_rates_and_the_uplift_with_its_normal_interval():
    result = ss.simulate(_two_flow_scenario(SEED), progress=False)
    summary = result.summary().set_index("flow")
    assert summary.columns[-len(_RATES) - 3 :].tolist() == [*_RATES, *_UPLIFT]
    f, g = summary.loc["F"], summary.loc["G"]
    # held out 3, 4: two emails (0.001 each) to 1 and 2, delivered, opened and clicked; F
    # converts both clicks and contact 1's purchase at day 2: 3 conversions
    assert f[["messages_sent", "delivered", "opened", "clicked", "converted"]].tolist() == [
        2,
        2,
        2,
        2,
        3,
    ]
    assert f[_RATES[:-1]].tolist() == [1.0, 1.0, 1.0, 0.0, 1.5]
    assert f["cost_per_conversion"] == pytest.approx(0.002 / 3)
    # uplift: treated 2/2 - holdout 1/2 (contact 3 bought), se = sqrt(0.5 * 0.5 / 2)
    assert f["uplift"] == 0.5
    assert f["uplift_low"] == pytest.approx(0.5 - 1.959964 * 0.353553, abs=1e-5)
    assert f["uplift_high"] == pytest.approx(0.5 + 1.959964 * 0.353553, abs=1e-5)
    # G has no goal: nothing converts, a cost per conversion and an uplift do not exist
    assert g[_RATES[:-1]].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert all(math.isnan(g[c]) for c in ("cost_per_conversion", *_UPLIFT))
    # one definition: the rates are those of analysis.outcome_rates
    rates = outcome_rates(result.actions, result.responses, result.conversions, flow=["F", "G"])
    pd.testing.assert_frame_equal(
        summary[_RATES].reset_index(), rates[["flow", *_RATES]], check_names=False
    )


def test_summary_over_replications_has_rows_for_the_rates_and_the_uplift():
    # seed 160 holds out contacts 3, 4 in replication 0 and 2, 4 in replication 1
    held = [
        [c for c in (1, 2, 3, 4) if uniform(160, r, None, None, c, "holdout") < 0.5] for r in (0, 1)
    ]
    assert held == [[3, 4], [2, 4]]
    result = ss.simulate(_two_flow_scenario(160), progress=False, replications=2)
    summary = result.summary().set_index(["flow", "metric"])
    assert "uplift_low" not in summary.index.get_level_values("metric")  # the interval: low, high
    f = summary.loc["F"]
    # replication 0: treated 1, 2 (3 conversions); uplift 1 - 1/2 = 0.5
    # replication 1: treated 1, 3 convert by click and buy at day 2 (4 conversions); the
    # holdout 2, 4 bought nothing in the window: uplift 1 - 0 = 1
    assert f.loc["conversion_rate", ["mean", "low", "high"]].tolist() == [1.75, 1.5125, 1.9875]
    assert f.loc["uplift", ["mean", "low", "high", "replications"]].tolist() == [
        0.75,
        0.5125,
        0.9875,
        2,
    ]
    assert f.loc["uplift", "std"] == pytest.approx(math.sqrt(0.125))
    # 0.002 / 3 and 0.002 / 4
    assert f.loc["cost_per_conversion", "mean"] == pytest.approx((0.002 / 3 + 0.0005) / 2)
    assert f.loc["open_rate", ["mean", "std"]].tolist() == [1.0, 0.0]
    g = summary.loc["G"]
    assert math.isnan(g.loc["uplift", "mean"]) and math.isnan(g.loc["cost_per_conversion", "mean"])
    assert g.loc["conversion_rate", "mean"] == 0.0
    for r in (0, 1):  # each replication's own summary has the uplift of its long-format row
        one = result.replication(r).summary().set_index("flow")
        assert one.loc["F", "uplift"] == [0.5, 1.0][r]


def test_summary_without_a_holdout_has_nan_uplift_and_without_outcomes_no_outcome_columns():
    goal = ss.Goal(event="purchase", within="3d", value="amount")
    store = _store([1], [(1, 2, "purchase", 10.0)])
    steps = [ss.SendEmail("e1", template="t")]
    row = ss.simulate(_scenario(store, steps, goal=goal), progress=False).summary().iloc[0]
    assert (row["converted"], row["conversion_rate"]) == (1, 1.0)
    assert all(math.isnan(row[c]) for c in _UPLIFT)
    plain = ss.simulate(_scenario(_store([1]), steps), progress=False).summary()
    assert plain.columns.tolist() == ["flow", *SUMMARY_METRICS]
    many = ss.simulate(_scenario(_store([1]), steps), progress=False, replications=2).summary()
    assert many["metric"].unique().tolist() == SUMMARY_METRICS


# -- report, funnel and diagram ----------------------------------------------------------------


def test_the_report_has_an_outcomes_section_and_the_uplift_with_its_interval():
    report = ss.simulate(_uplift_scenario(), progress=False).report()
    keys = [section.key for section in report]
    at = keys.index("messages_per_flow")
    assert keys[at + 1 : at + 4] == ["outcomes", "outcomes_per_step", "uplift"]
    outcomes = report["outcomes"].table
    assert outcomes["flow"].tolist() == ["F", "total"]
    # treated 1, 2 sent one email each; both click and convert; contact 1's purchase of 10
    # at day 2 is credited to its email too
    assert outcomes[
        ["messages_sent", "delivered", "opened", "clicked", "converted"]
    ].values.tolist() == [
        [2, 2, 2, 2, 3],
        [2, 2, 2, 2, 3],
    ]
    assert outcomes["revenue"].tolist() == [10.0, 10.0]
    assert outcomes["conversion_rate"].tolist() == [1.5, 1.5]
    assert "3 conversions" in report["outcomes"].text
    assert "uplift +50.0 points [-19.3, +119.3]" in report["uplift"].text
    assert report["uplift"].table["interval"].tolist() == ["normal"]
    numbers = report.numbers()
    assert (numbers["converted"], numbers["revenue"], numbers["click_rate"]) == (3, 10.0, 1.0)
    assert "Uplift over the holdout" in report.to_markdown()


def test_a_report_without_responses_or_goals_has_no_outcomes():
    result = ss.simulate(_scenario(_store([1]), [ss.SendEmail("e1", template="t")]), progress=False)
    report = result.report()
    keys = [section.key for section in report]
    assert not {"outcomes", "outcomes_per_step", "uplift"} & set(keys)
    assert "converted" not in report.numbers()
    assert "delivered" not in report["funnel"].table.columns


def test_a_goal_without_a_holdout_has_outcomes_but_no_uplift():
    goal = ss.Goal(event="purchase", within="3d", value="amount")
    store = _store([1], [(1, 2, "purchase", 10.0)])
    report = ss.simulate(
        _scenario(store, [ss.SendEmail("e1", template="t")], goal=goal), progress=False
    ).report()
    keys = [section.key for section in report]
    assert "outcomes" in keys and "uplift" not in keys
    assert report["outcomes"].table["converted"].tolist() == [1, 1]


def test_funnel_and_diagram_show_the_responses_per_step():
    from segsim.analysis import funnel
    from segsim.diagram import flow_svg, step_counts

    result = ss.simulate(_uplift_scenario(), progress=False)
    table = funnel(result.runs, result.steps, responses=result.responses)
    assert table[["stage", "runs", "delivered", "opened", "clicked"]].values.tolist() == [
        ["entered", 4, 0, 0, 0],
        ["e1", 4, 2, 2, 2],
        ["completed", 4, 0, 0, 0],
    ]
    counts = step_counts(result, "F")
    assert counts[
        ["step_id", "reached", "sent", "skipped", "delivered", "opened", "clicked", "converted"]
    ].values.tolist() == [["e1", 4, 2, 2, 2, 2, 2, 3]]
    assert step_counts(result, "F", version=1)["converted"].tolist() == [3]
    svg = flow_svg(result.scenario.flows[0], counts=counts)
    assert "2 delivered · 2 opened · 2 clicked" in svg and "3 converted" in svg
    plain = ss.simulate(_scenario(_store([1]), [ss.SendEmail("e1", template="t")]), progress=False)
    assert "delivered" not in step_counts(plain, "F").columns


# -- compare ---------------------------------------------------------------------------------


def _variants():
    scenario = _uplift_scenario()
    flow = scenario.flows[0]
    by_sms = flow.model_copy(update={"steps": [ss.SendSMS("s1", template="t")]})
    return scenario, {"email": flow, "sms": by_sms}  # the model has no SMS funnel


def test_compare_summary_has_the_outcome_rows_and_the_uplift_per_flow():
    scenario, variants = _variants()
    cmp = ss.compare(scenario, variants)
    summary = cmp.summary()
    rows = ["delivered", "clicked", "converted", "revenue", "conversion_rate", "uplift[F]"]
    assert summary.loc[rows, ["email", "sms", "sms_delta"]].values.tolist() == [
        [2, 0, -2],
        [2, 0, -2],
        [3, 1, -2],  # the SMS variant keeps contact 1's purchase, credited to its SMS
        [10.0, 10.0, 0.0],
        [1.5, 0.5, -1.0],
        [0.5, 0.0, -0.5],
    ]
    assert summary.index[-2:].tolist() == ["uplift[F]", "revenue_uplift[F]"]
    keys = [section.key for section in cmp.report()]
    assert keys[keys.index("per_flow") + 1 : keys.index("per_flow") + 3] == ["outcomes", "uplift"]
    assert cmp.report()["uplift"].table[["variant", "uplift"]].values.tolist() == [
        ["email", 0.5],
        ["sms", 0.0],
    ]


def test_compare_deltas_of_outcomes_over_replications_with_p_higher():
    scenario, variants = _variants()
    cmp = ss.compare(scenario, variants, replications=2)
    per = cmp.replications.set_index(["variant", "replication"])
    assert per["uplift[F]"].tolist() == [0.5, 0.5, 0.0, 0.0]
    assert per["revenue_uplift[F]"].tolist() == [-10.0, 10.0, -10.0, 10.0]
    deltas = cmp.deltas().set_index("metric")
    assert deltas.loc["uplift[F]", ["mean", "low", "high", "p_higher"]].tolist() == [
        -0.5,
        -0.5,
        -0.5,
        0.0,
    ]
    assert deltas.loc["revenue_uplift[F]", ["mean", "p_higher"]].tolist() == [0.0, 0.5]
    assert deltas.loc["converted", "mean"] == -2.0
    summary = cmp.summary()
    assert summary.loc["uplift[F]", ["email_mean", "sms_mean", "sms_p_higher"]].tolist() == [
        0.5,
        0.0,
        0.0,
    ]
    report = cmp.report()
    assert report["uplift"].table["interval"].tolist() == ["replications", "replications"]


def test_a_comparison_without_outcomes_has_no_outcome_rows():
    scenario = _scenario(_store([1]), [ss.SendEmail("e1", template="t")])
    flow = scenario.flows[0]
    cmp = ss.compare(scenario, {"A": flow, "B": flow})
    assert "converted" not in cmp.summary().index
    assert "outcomes" not in [section.key for section in cmp.report()]
